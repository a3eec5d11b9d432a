"""Produce the golden record batches with real clients against a real broker, then keep them.

Steps (:func:`generate`):

1. start the harness's single-node broker (:class:`kafka_harness.broker.LocalBroker`, exactly as
   ``tests/conftest.py`` does) and create one single-partition topic per file;
2. replay the scripts of :mod:`golden.records` with the Java client (``GoldenProducer.java``
   run by the ``java`` source launcher against the harness's cached jars) and with librdkafka
   (through confluent-kafka), once per codec, plus an idempotent and a transactional topic each;
3. stop the broker cleanly, copy every partition's first segment file into the fixtures
   directory, and write ``expected.json`` (derived from the scripts, never from a decoder) and
   ``README.md`` (provenance).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import confluent_kafka

from kafka_harness.admin import AdminError
from kafka_harness.broker import LocalBroker
from kafka_harness.config import write_log_config
from kafka_harness.jars import KafkaJars, fetch
from kafka_harness.node import java
from kafka_harness.process import poll_until, start_and_wait

from .records import (
    CODECS,
    ExpectedBatch,
    Mode,
    Op,
    Record,
    control_key,
    expected_batches,
    script,
    script_lines,
)

log = logging.getLogger("kaffe.golden")

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "tests" / "fixtures" / "golden"
JAVA_SOURCE = Path(__file__).resolve().with_name("GoldenProducer.java")
SEGMENT = "00000000000000000000.log"
COMMAND = "PYTHONPATH=tools .venv/bin/python -m golden"
#: Seconds any one client operation (flush, commit, init) may take.
WAIT_S = 60.0
#: Seconds the whole Java run may take (7 producers, JVM start, in-memory compile).
JAVA_TIMEOUT_S = 300.0
#: The record timestamps are from 2023: time retention must not delete them, and the broker must
#: not roll a new segment when a control record stamped "now" follows them (``segment.ms`` is
#: measured from the first timestamp in the segment), so both are off or ~100 years.
TOPIC_CONFIGS = {
    "retention.ms": "-1",
    "segment.ms": str(100 * 365 * 86_400_000),
    "retention.bytes": "-1",
    "cleanup.policy": "delete",
    "compression.type": "producer",
    "message.timestamp.type": "CreateTime",
}

Client = Literal["java", "rdkafka"]


class GoldenError(RuntimeError):
    """Producing or collecting the golden files failed."""


@dataclass(frozen=True)
class Job:
    """One producer run: a client, a codec and a mode, into its own topic."""

    client: Client
    codec: str
    mode: Mode

    @property
    def name(self) -> str:
        """``<client>-<codec>`` for plain runs, ``<client>-<mode>`` otherwise."""
        return f"{self.client}-{self.codec if self.mode == 'plain' else self.mode}"

    @property
    def topic(self) -> str:
        """The topic (one partition) this job writes to."""
        return f"golden-{self.name}"

    @property
    def file_name(self) -> str:
        """The fixture file the partition's segment is copied to."""
        return f"{self.name}.log"


def all_jobs() -> list[Job]:
    """Every run: each client with each codec, then idempotent and transactional (no codec)."""
    jobs: list[Job] = []
    for client in ("java", "rdkafka"):
        jobs += [Job(client, codec, "plain") for codec in CODECS]
        jobs += [Job(client, "none", "idempotent"), Job(client, "none", "transactional")]
    return jobs


# --------------------------------------------------------------------------- producing


def create_topics(broker: LocalBroker, jobs: Sequence[Job]) -> None:
    """Create one single-partition topic per job and wait until each has a leader."""
    admin = broker.admin
    for job in jobs:
        admin.create_topic(job.topic, 1, 1, TOPIC_CONFIGS)

    def leaders() -> bool | None:
        for job in jobs:
            try:
                desc = admin.describe_topic(job.topic, timeout=10.0)
            except AdminError:
                return None
            if len(desc.partitions) != 1 or desc.partitions[0].leader is None:
                return None
        return True

    poll_until(leaders, timeout=WAIT_S, what="a leader for every golden topic")


def produce_java(jars: KafkaJars, bootstrap: str, jobs: Sequence[Job], work: Path) -> None:
    """Replay every job's script with the Java client, in one JVM."""
    specs: list[str] = []
    for job in jobs:
        path = work / f"{job.name}.script"
        path.write_text("\n".join(script_lines(script(job.mode))) + "\n", encoding="ascii")
        specs.append(f"{job.topic},{job.codec},{job.mode},{path}")
    flags = write_log_config(jars.logging, work, tool=True)
    argv = [java(), "-Xmx256m", *flags, "-cp", jars.classpath, str(JAVA_SOURCE), bootstrap]
    start_and_wait(
        "GoldenProducer (Java client)",
        [*argv, *specs],
        cwd=work,
        log_path=work / "java-producer.log",
        timeout=JAVA_TIMEOUT_S,
    )
    log.info("Java client done:\n%s", (work / "java-producer.log").read_text().strip())


def _rdkafka_config(bootstrap: str, job: Job) -> dict[str, Any]:
    conf: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "client.id": f"kaffe-golden-{job.topic}",
        "compression.codec": job.codec,
        "linger.ms": 30_000,
        "batch.num.messages": 10_000,
        "batch.size": 1_000_000,
        "acks": "all",
        "max.in.flight.requests.per.connection": 1,
        "message.timeout.ms": 60_000,
        "enable.idempotence": job.mode != "plain",
        "logger": logging.getLogger("kaffe.golden.rdkafka"),
    }
    if job.mode == "transactional":
        conf["transactional.id"] = f"kaffe-golden-{job.topic}"
    return conf


def produce_rdkafka(bootstrap: str, job: Job, ops: Sequence[Op]) -> None:
    """Replay ``ops`` with librdkafka (confluent-kafka) into ``job.topic``, partition 0."""
    failures: list[str] = []

    def delivered(err: confluent_kafka.KafkaError | None, _msg: confluent_kafka.Message) -> None:
        if err is not None:
            failures.append(str(err))

    producer = confluent_kafka.Producer(_rdkafka_config(bootstrap, job))

    def flush() -> None:
        left = producer.flush(WAIT_S)
        if left:
            raise GoldenError(f"{job.name}: {left} message(s) still queued after {WAIT_S:.0f} s")
        if failures:
            raise GoldenError(f"{job.name}: delivery failed: {failures}")

    if job.mode == "transactional":
        producer.init_transactions(WAIT_S)
    for op in ops:
        if op.kind == "SEND":
            rec = op.record
            if rec is None:
                raise GoldenError("SEND without a record")
            producer.produce(
                job.topic,
                value=rec.value,
                key=rec.key,
                partition=0,
                timestamp=rec.timestamp,
                headers=list(rec.headers),
                on_delivery=delivered,
            )
        elif op.kind == "FLUSH":
            flush()
        elif op.kind == "BEGIN":
            producer.begin_transaction()
        elif op.kind == "COMMIT":
            producer.commit_transaction(WAIT_S)
        else:
            producer.abort_transaction(WAIT_S)
    flush()
    log.info("librdkafka done: %s", job.name)


# --------------------------------------------------------------------------- collecting


def collect_segments(broker: LocalBroker, jobs: Sequence[Job], out: Path) -> None:
    """Copy each topic's only segment file (the broker is stopped) into ``out``."""
    data = broker.dirs.data
    if not (data / ".kafka_cleanshutdown").is_file():
        raise GoldenError(f"the broker did not shut down cleanly (no marker in {data})")
    for job in jobs:
        part = data / f"{job.topic}-0"
        segments = sorted(p.name for p in part.glob("*.log"))
        if segments != [SEGMENT]:
            raise GoldenError(f"{part}: expected exactly one segment {SEGMENT}, got {segments}")
        shutil.copyfile(part / SEGMENT, out / job.file_name)


class _Payloads:
    """Every distinct payload once, as base64, referenced by id (``p0``, ``p1``...)."""

    def __init__(self) -> None:
        self.table: dict[str, str] = {}
        self._ids: dict[bytes, str] = {}

    def ref(self, data: bytes | None) -> str | None:
        if data is None:
            return None
        ident = self._ids.get(data)
        if ident is None:
            ident = f"p{len(self._ids)}"
            self._ids[data] = ident
            self.table[ident] = base64.b64encode(data).decode("ascii")
        return ident


def _record_json(payloads: _Payloads, offset: int, rec: Record, txn: str | None) -> dict[str, Any]:
    return {
        "offset": offset,
        "timestamp": rec.timestamp,
        "key": payloads.ref(rec.key),
        "value": payloads.ref(rec.value),
        "headers": [[name, payloads.ref(value)] for name, value in rec.headers],
        "transaction": txn,
    }


def _batch_json(
    payloads: _Payloads, job: Job, batch: ExpectedBatch, sequence: int
) -> dict[str, Any]:
    transactional = job.mode == "transactional"
    out: dict[str, Any] = {
        "base_offset": batch.base_offset,
        "last_offset": batch.last_offset,
        "control": batch.control,
        "transactional": transactional,
    }
    if batch.control is not None:
        out["compression"] = "none"
        out["base_sequence"] = -1
        out["records"] = [
            {
                "offset": batch.control_offset,
                "key": payloads.ref(control_key(batch.control)),
                "value_version": 0,
                "headers": [],
            }
        ]
        return out
    out["compression"] = job.codec
    if job.mode == "plain":
        out["base_sequence"] = -1
    elif job.mode == "idempotent":
        out["base_sequence"] = sequence
    else:
        out["base_sequence"] = None  # resets when the epoch is bumped (transaction version 2)
    out["records"] = [
        _record_json(payloads, r.offset, r.record, r.transaction) for r in batch.records
    ]
    return out


def expected_json(
    jobs: Sequence[Job],
    *,
    windows: dict[str, tuple[int, int]],
    versions: dict[str, Any],
    out: Path,
) -> dict[str, Any]:
    """The document ``tests/codec/test_golden.py`` checks every file against."""
    payloads = _Payloads()
    files: dict[str, Any] = {}
    for job in jobs:
        batches = expected_batches(script(job.mode))
        sequence = 0
        batch_docs = []
        for batch in batches:
            batch_docs.append(_batch_json(payloads, job, batch, sequence))
            sequence += len(batch.records)
        data = (out / job.file_name).read_bytes()
        files[job.file_name] = {
            "client": job.client,
            "codec": job.codec,
            "mode": job.mode,
            "topic": job.topic,
            "partition": 0,
            "partition_leader_epoch": 0,
            "timestamp_type": "create",
            "producer_id": "none" if job.mode == "plain" else "assigned",
            "produced_between_ms": list(windows[job.name]),
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "batches": batch_docs,
        }
    return {
        "format": 1,
        "about": "see README.md; payloads are base64, referenced by id; null means null",
        **versions,
        "files": files,
        "payloads": payloads.table,
    }


def _readme(doc: dict[str, Any]) -> str:
    rows = []
    for name, info in doc["files"].items():
        batches = info["batches"]
        records = sum(len(b["records"]) for b in batches)
        control = sum(1 for b in batches if b["control"])
        rows.append(
            f"| `{name}` | {info['client']} | {info['codec']} | {info['mode']} | "
            f"{len(batches)} ({control} control) | {records} | {info['size']} |"
        )
    table = "\n".join(rows)
    java_client = doc["clients"]["java"]
    rdkafka = doc["clients"]["rdkafka"]
    return f"""# Golden record batches

Real Kafka log segments: record batches written by the official Java client and by librdkafka,
exactly as an Apache Kafka broker stored them. `tests/codec/test_golden.py` decodes every file
with kaffe and compares it with `expected.json`; it needs no broker.

## How they were made

- Generated {doc["generated_at"]} by running, from the repository root:

  ```
  {COMMAND}
  ```

  Sources in `tools/golden/`: `records.py` holds the fixed input, `generate.py` drives the
  run, `GoldenProducer.java` is the Java producer. It needs the venv (confluent-kafka), a
  JDK 17+ and the harness's Kafka jars (`make kafka-fetch`), and takes about 15 seconds.
- Broker: Apache Kafka {doc["kafka_version"]}, the harness's single KRaft node
  (`tools/kafka_harness`, started as `tests/conftest.py` starts it), jars from Maven Central.
- Java client: `kafka-clients` {java_client["version"]} (the harness's cached jar), with
  `GoldenProducer.java` run by the `java` source launcher ({java_client["jvm"]}).
- librdkafka {rdkafka["version"]}, as bundled with the Python binding confluent-kafka
  {rdkafka["binding_version"]}.
- One topic per file, one partition, `compression.type=producer` (the broker keeps the
  producer's batches; it only stamps base offset, partition leader epoch, max timestamp and
  the CRC), time and size retention disabled (the record timestamps are from 2023).
- Producers: `acks=all`, one request in flight, `linger.ms` long and batch size large; every
  group of records is followed by a flush, so each group is exactly one batch. Plain runs have
  idempotence off (producer id -1); `*-idempotent` has it on; `*-transactional` commits one
  transaction, aborts one (its data was flushed first, so it is in the log) and commits one more.
- After producing, the broker was stopped with SIGTERM (clean shutdown marker checked) and each
  partition's `{SEGMENT}` was copied here unchanged.

`expected.json` is derived from the producers' input only (`tools/golden/records.py`): offsets,
timestamps, keys, values and headers of every record, each batch's offset range, codec,
control marker type and transactional flag, and the base sequences of the idempotent file.
Values the broker or the client chooses (producer ids and epochs, control record timestamps and
coordinator epochs, CRCs) are checked by rule, not by value. `size` and `sha256` only guard the
files against accidental edits.

## Files

| file | client | codec | mode | batches | records | bytes |
|---|---|---|---|---|---|---|
{table}

Regenerating changes producer ids, control timestamps and (for that reason) CRCs, but not the
records; commit the `.log` files, `expected.json` and this README together.
"""


# --------------------------------------------------------------------------- driver


def _clear_outputs(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.log"):
        old.unlink()


def generate(out: Path = DEFAULT_OUT, *, keep_run_dir: bool = False) -> dict[str, Any]:
    """Run everything; return the ``expected.json`` document written into ``out``."""
    jars = fetch()
    jobs = all_jobs()
    broker = LocalBroker(jars)
    ok = False
    try:
        broker.start()
        create_topics(broker, jobs)
        work = broker.run_dir / "golden"
        work.mkdir(parents=True, exist_ok=True)

        # Each job's window runs from its start until the broker stopped: a transaction
        # coordinator may write the last marker after the client's commit call returned.
        starts: dict[str, int] = {}
        java_jobs = [j for j in jobs if j.client == "java"]
        starts.update(dict.fromkeys((j.name for j in java_jobs), _now_ms()))
        produce_java(jars, broker.bootstrap, java_jobs, work)
        for job in jobs:
            if job.client == "rdkafka":
                starts[job.name] = _now_ms()
                produce_rdkafka(broker.bootstrap, job, script(job.mode))

        broker.stop(timeout=WAIT_S)
        stopped = _now_ms()
        windows = {name: (start, stopped) for name, start in starts.items()}
        _clear_outputs(out)
        collect_segments(broker, jobs, out)
        java_version = _java_version(work).splitlines()[0].strip()
        versions = {
            "kafka_version": jars.version,
            "generated_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "command": COMMAND,
            "clients": {
                "java": {"library": "kafka-clients", "version": jars.version, "jvm": java_version},
                "rdkafka": {
                    "library": "librdkafka",
                    "version": confluent_kafka.libversion()[0],
                    "binding": "confluent-kafka",
                    "binding_version": metadata.version("confluent-kafka"),
                },
            },
        }
        doc = expected_json(jobs, windows=windows, versions=versions, out=out)
        (out / "expected.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
        (out / "README.md").write_text(_readme(doc))
        ok = True
        return doc
    finally:
        broker.stop(timeout=WAIT_S)
        if ok and not keep_run_dir:
            broker.remove_run_dir()
        else:
            log.warning("broker run dir kept: %s", broker.run_dir)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _java_version(work: Path) -> str:
    log_path = work / "java-version.log"
    start_and_wait("java -version", [java(), "-version"], cwd=work, log_path=log_path, timeout=60)
    return log_path.read_text()
