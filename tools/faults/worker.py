"""The workload's processes: ``python -m faults.worker {producer,member,transformer} ARGS``.

Each reads its settings as one JSON object (argument ``--config``), writes its events as JSON
lines to ``--out`` (flushed per line, so the parent can follow them while it runs) and stops
when a line ``stop`` arrives on stdin, or stdin closes (the parent died). :mod:`faults.workload`
starts them; nothing else should.

Events (``t`` is ``time.monotonic()``, which is system-wide on Linux, so the parent compares
it with its own clock):

* producer: ``{"e": "ack", "t", "m": [[key, seq], ...], "po": [[partition, offset], ...]?}``
  per acknowledged call (``po`` for single-message ``produce_async`` calls),
  ``{"e": "fail", "t", "m", "err", "dur"}`` per failed call, ``{"e": "end", "t"}``;
* member: ``{"e": "h", "t", "p", "o": [offsets], "m": [[key, seq], ...]}`` per handled batch,
  ``{"e": "assigned" | "revoked", "t", "parts"}``, ``{"e": "failure", "t", "err"}``;
* transformer: like a member, plus ``{"e": "txn", "t", "n"}`` per committed transaction and
  ``{"e": "txn_fail", "t", "err", "step"}`` per failed one;
* all: ``{"e": "hang", "t", "what"}`` when a call outlived its own deadline (stacks go to the
  process's stderr log), ``{"e": "end", "t"}`` on a clean exit.

Message values are ``<key>|<seq>|<padding>``; keys are ``<producer>.<thread>.k<n>``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import faulthandler
import json
import logging
import random
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import kaffe
from soak.sampler import client_loops, sampler_from_env

from .values import split_value

log = logging.getLogger("kaffe.faults.worker")

_CLIENTS: list[Any] = []
"""The kaffe clients of this process, for the soak run's sampler (:mod:`soak.sampler`)."""

HANG_MARGIN_S = 30.0


class Events:
    """A JSON-lines event file shared by the threads of one process."""

    def __init__(self, path: str) -> None:
        self._fh: IO[str] = open(path, "a", encoding="utf-8")  # noqa: SIM115
        self._lock = threading.Lock()

    def emit(self, event: str, **fields: Any) -> None:
        line = json.dumps({"e": event, "t": time.monotonic(), **fields}, separators=(",", ":"))
        with self._lock:
            self._fh.write(line + "\n")
            self._fh.flush()

    def close(self) -> None:
        with self._lock:
            self._fh.close()


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _wait_for_stop(stop: threading.Event) -> None:
    """Set ``stop`` when stdin says ``stop`` or closes."""

    def read() -> None:
        for line in sys.stdin:
            if line.strip() == "stop":
                break
        stop.set()

    threading.Thread(target=read, name="stdin", daemon=True).start()


class _Watchdog:
    """Reports (once per call) a call that outlives ``limit`` seconds, dumping every stack."""

    def __init__(self, events: Events, limit: float) -> None:
        self.events = events
        self.limit = limit
        self._calls: dict[int, tuple[str, float]] = {}
        self._reported: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        threading.Thread(target=self._run, name="watchdog", daemon=True).start()

    def begin(self, what: str) -> None:
        with self._lock:
            self._calls[threading.get_ident()] = (what, time.monotonic())

    def end(self) -> None:
        with self._lock:
            self._calls.pop(threading.get_ident(), None)
            self._reported.discard(threading.get_ident())

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            now = time.monotonic()
            with self._lock:
                late = [
                    (ident, what, now - t0)
                    for ident, (what, t0) in self._calls.items()
                    if now - t0 > self.limit and ident not in self._reported
                ]
                self._reported.update(ident for ident, _, _ in late)
            for _ident, what, age in late:
                self.events.emit("hang", what=what, age=age)
                faulthandler.dump_traceback(all_threads=True)

    def close(self) -> None:
        self._stop.set()


# ---------------------------------------------------------------------- producer


class _Keys:
    """Per-key sequence numbers of one producing thread."""

    def __init__(self, prefix: str, count: int, rng: random.Random) -> None:
        self.names = [f"{prefix}.k{i:03d}" for i in range(count)]
        self.next = dict.fromkeys(self.names, 0)
        self.rng = rng

    def take(self, n: int, pad: bytes) -> tuple[list[tuple[str, bytes]], list[list[Any]]]:
        msgs: list[tuple[str, bytes]] = []
        ids: list[list[Any]] = []
        for _ in range(n):
            key = self.rng.choice(self.names)
            seq = self.next[key]
            self.next[key] = seq + 1
            msgs.append((key, f"{key}|{seq}|".encode() + pad))
            ids.append([key, seq])
        return msgs, ids


def run_producer(cfg: dict[str, Any], events: Events) -> int:
    """Two threads on one default ``kaffe.Producer``: ``produce_sync`` of keyed lists and
    ``produce_async`` per message, each on keys of its own; see the module docs."""
    stop = threading.Event()
    _wait_for_stop(stop)
    topic: str = cfg["topic"]
    name: str = cfg["name"]
    rate = float(cfg["rate"]) / 2  # per thread
    pad = b"x" * int(cfg["value_bytes"])
    producer = kaffe.Producer(endpoints=cfg["bootstrap"], **cfg.get("producer_config", {}))
    _CLIENTS.append(producer)
    producer.start(timeout=60)
    limit = producer.settings.delivery_timeout + HANG_MARGIN_S
    dog = _Watchdog(events, limit)
    events.emit("started", delivery_timeout=producer.settings.delivery_timeout)
    rng = random.Random(cfg.get("seed"))

    def pace(t0: float, n: int) -> None:
        left = n / rate - (time.monotonic() - t0)
        if left > 0:
            stop.wait(left)

    def sync_lists() -> None:
        keys = _Keys(f"{name}.s", int(cfg["keys"]), random.Random(rng.random()))
        while not stop.is_set():
            msgs, ids = keys.take(keys.rng.randint(cfg["batch_min"], cfg["batch_max"]), pad)
            t0 = time.monotonic()
            dog.begin(f"produce_sync of {len(msgs)}")
            try:
                producer.produce_sync(topic, msgs)
            except Exception as exc:  # every failure is an event, the thread goes on
                events.emit("fail", m=ids, err=_error(exc), dur=time.monotonic() - t0)
            else:
                events.emit("ack", m=ids)
            finally:
                dog.end()
            pace(t0, len(msgs))

    def async_singles() -> None:
        keys = _Keys(f"{name}.a", int(cfg["keys"]), random.Random(rng.random()))
        while not stop.is_set():
            msgs, ids = keys.take(int(cfg["async_burst"]), pad)
            t0 = time.monotonic()
            futs = [producer.produce_async(topic, k, v) for k, v in msgs]
            dog.begin(f"{len(futs)} produce_async futures")
            acked, acked_po = [], []
            try:
                for mid, fut in zip(ids, futs, strict=True):
                    assert fut is not None
                    try:
                        result = fut.result(max(0.0, t0 + limit - time.monotonic()))
                    except concurrent.futures.TimeoutError as exc:
                        if fut.done():  # the produce failed with a timeout error of its own
                            events.emit("fail", m=[mid], err=_error(exc), dur=time.monotonic() - t0)
                            continue
                        events.emit("hang", what=f"produce_async future of {mid}", age=limit)
                        events.emit("fail", m=[mid], err="future never completed", dur=limit)
                        continue
                    except Exception as exc:
                        events.emit("fail", m=[mid], err=_error(exc), dur=time.monotonic() - t0)
                        continue
                    acked.append(mid)
                    acked_po.append(list(result[0]))
            finally:
                dog.end()
            if acked:
                events.emit("ack", m=acked, po=acked_po)
            pace(t0, len(msgs))

    threads = [
        threading.Thread(target=_guarded(fn, events), name=fn.__name__)
        for fn in (sync_lists, async_singles)
    ]
    for t in threads:
        t.start()
    stop.wait()
    code = 0
    for t in threads:
        t.join(limit)
        if t.is_alive():
            events.emit("hang", what=f"thread {t.name} did not stop", age=limit)
            faulthandler.dump_traceback(all_threads=True)
            code = 3
    try:
        producer.close()
    except Exception as exc:
        events.emit("fail", m=[], err=f"close: {_error(exc)}", dur=0.0)
    dog.close()
    return code


def _guarded(fn: Callable[[], None], events: Events) -> Callable[[], None]:
    def run() -> None:
        try:
            fn()
        except BaseException as exc:
            events.emit("crash", what=fn.__name__, err=_error(exc))
            raise

    return run


# ---------------------------------------------------------------------- group members


class _Recorder:
    """A ``GroupMemberSupervisor`` handler that records every message it is given."""

    def __init__(self, events: Events) -> None:
        self.events = events

    def handle_messages(self, messages: list[kaffe.Message]) -> Any:
        ids = [split_value(m.value) for m in messages]
        self.events.emit(
            "h",
            p=messages[0].partition,
            o=[m.offset for m in messages],
            m=[list(i) if i is not None else None for i in ids],
        )
        return kaffe.OK

    def on_assigned(self, partitions: list[tuple[str, int]]) -> None:
        self.events.emit("assigned", parts=sorted(p for _, p in partitions))

    def on_revoked(self, partitions: list[tuple[str, int]]) -> None:
        self.events.emit("revoked", parts=sorted(p for _, p in partitions))


class _Transformer(_Recorder):
    """Consume-transform-produce: each batch is one transaction that writes the batch to the
    output topic and commits the input offsets with ``send_offsets_to_transaction``."""

    def __init__(self, events: Events, cfg: dict[str, Any]) -> None:
        super().__init__(events)
        self.cfg = cfg
        self.lock = threading.Lock()  # one transaction at a time
        self.producer = self._new_producer()

    def _new_producer(self) -> kaffe.Producer:
        p = kaffe.Producer(
            endpoints=self.cfg["bootstrap"],
            transactional_id=self.cfg["transactional_id"],
            **self.cfg.get("producer_config", {}),
        )
        p.start(timeout=60)
        return p

    def handle_messages(self, messages: list[kaffe.Message]) -> Any:
        with self.lock:
            p = self.producer
            step = "begin"
            try:
                p.begin_transaction()
                step = "produce"
                p.produce_sync(self.cfg["output"], [(m.key, m.value) for m in messages])
                step = "send_offsets"
                last = messages[-1]
                p.send_offsets_to_transaction(
                    {(last.topic, last.partition): last.offset + 1}, self.cfg["group"]
                )
                step = "commit"
                p.commit_transaction()
            except Exception as exc:
                self.events.emit("txn_fail", step=step, err=_error(exc))
                try:
                    p.abort_transaction()
                except Exception as abort_exc:
                    self.events.emit("txn_fail", step="abort", err=_error(abort_exc))
                    try:
                        p.close(timeout=5)
                    except Exception as close_exc:
                        self.events.emit("txn_fail", step="close", err=_error(close_exc))
                    self.producer = self._new_producer()
                raise  # the batch comes again after subscriber_retry_delay_ms
        super().handle_messages(messages)
        self.events.emit("txn", n=len(messages))
        return kaffe.NO_COMMIT

    def close(self) -> None:
        self.producer.close()


def run_member(cfg: dict[str, Any], events: Events, *, transform: bool) -> int:
    """One ``GroupMemberSupervisor`` (default settings plus ``consumer_config``)."""
    stop = threading.Event()
    _wait_for_stop(stop)
    handler = _Transformer(events, cfg) if transform else _Recorder(events)
    sup = kaffe.GroupMemberSupervisor(
        endpoints=cfg["bootstrap"],
        topics=[cfg["topic"]],
        consumer_group=cfg["group"],
        message_handler=handler,
        **cfg.get("consumer_config", {}),
    )
    _CLIENTS.append(sup)
    sup.start()
    events.emit("started")
    reported = False
    while not stop.wait(1.0):
        if sup.failure is not None and not reported:
            events.emit("failure", err=_error(sup.failure))
            reported = True
    code = 0
    try:
        sup.stop()
    except Exception as exc:
        events.emit("failure", err=f"stop: {_error(exc)}")
        code = 1
    if sup.failure is not None and not reported:
        events.emit("failure", err=_error(sup.failure))
    if isinstance(handler, _Transformer):
        handler.close()
    return code


def main(argv: list[str] | None = None) -> int:
    """Entry point; see the module docs."""
    parser = argparse.ArgumentParser(prog="python -m faults.worker")
    parser.add_argument("role", choices=("producer", "member", "transformer"))
    parser.add_argument("--config", required=True, help="settings as a JSON object")
    parser.add_argument("--out", required=True, help="events file (JSON lines)")
    args = parser.parse_args(argv)
    cfg = json.loads(args.config)
    logging.basicConfig(
        level=getattr(logging, str(cfg.get("log_level", "WARNING")).upper(), logging.WARNING),
        format="%(asctime)s %(threadName)s %(name)s %(levelname)s %(message)s",
    )
    faulthandler.enable()
    events = Events(args.out)
    # With KAFFE_SOAK_SAMPLES set (make soak): RSS, FDs, threads, asyncio tasks every 10 s.
    sampler = sampler_from_env(Path(args.out).stem, client_loops(_CLIENTS))
    try:
        if args.role == "producer":
            code = run_producer(cfg, events)
        else:
            code = run_member(cfg, events, transform=args.role == "transformer")
    except BaseException as exc:
        events.emit("crash", what=args.role, err=_error(exc))
        raise
    finally:
        if sampler is not None:
            sampler.stop()
    events.emit("end")
    events.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
