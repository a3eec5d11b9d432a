"""Locate (or fetch through Maven) the pinned ``kafka-clients`` jar; read its message specs and,
through ``java/KafkaErrorCodes.java``, its error-code table."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

from kafka_harness.paths import cache_root

from . import KAFKA_CLIENTS_SHA256, KAFKA_VERSION, SLF4J_API_VERSION

log = logging.getLogger("kaffe.codegen")

SPEC_DIR = "common/message/"
MVN_TIMEOUT_S = 600.0
JAVA_TIMEOUT_S = 120.0
ERROR_CODES_JAVA = Path(__file__).resolve().parent / "java" / "KafkaErrorCodes.java"


def _jar_name() -> str:
    return f"kafka-clients-{KAFKA_VERSION}.jar"


def candidate_paths() -> list[Path]:
    """Places the jar may already be, most specific first."""
    paths: list[Path] = []
    explicit = os.environ.get("KAFFE_KAFKA_CLIENTS_JAR")
    if explicit:
        paths.append(Path(explicit).expanduser())
    paths.append(cache_root() / "kafka" / KAFKA_VERSION / "lib" / _jar_name())
    paths.append(_m2_path("org.apache.kafka", "kafka-clients", KAFKA_VERSION))
    return paths


def _m2_path(group: str, artifact: str, version: str) -> Path:
    repo = os.environ.get("MAVEN_REPO_LOCAL")
    base = Path(repo).expanduser() if repo else Path.home() / ".m2" / "repository"
    return base.joinpath(*group.split("."), artifact, version, f"{artifact}-{version}.jar")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch_with_maven(group: str, artifact: str, version: str) -> Path:
    name = f"{artifact}-{version}.jar"
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeError(
            f"{name} is not cached and `mvn` is not on PATH; install Maven or set "
            "KAFFE_KAFKA_CLIENTS_JAR to the kafka-clients jar (with slf4j-api beside it)"
        )
    coordinates = f"{group}:{artifact}:{version}"
    log.info("fetching %s through Maven", coordinates)
    subprocess.run(
        [mvn, "-B", "-q", "dependency:get", f"-Dartifact={coordinates}", "-Dtransitive=false"],
        check=True,
        timeout=MVN_TIMEOUT_S,
    )
    return _m2_path(group, artifact, version)


def find_jar(explicit: Path | None = None) -> Path:
    """Return the path of a ``kafka-clients`` jar whose SHA-256 matches the pin.

    Looks at ``explicit``, ``$KAFFE_KAFKA_CLIENTS_JAR``, the kaffe cache (where the broker harness
    puts it) and the local Maven repository; downloads it with ``mvn dependency:get`` if none of
    them has it.
    """
    candidates = [explicit] if explicit is not None else candidate_paths()
    for path in candidates:
        if path.is_file():
            actual = _sha256(path)
            if actual != KAFKA_CLIENTS_SHA256:
                raise RuntimeError(
                    f"{path} has SHA-256 {actual}, expected {KAFKA_CLIENTS_SHA256} "
                    f"(the published {_jar_name()})"
                )
            return path
    if explicit is not None:
        raise RuntimeError(f"{explicit} does not exist")
    path = _fetch_with_maven("org.apache.kafka", "kafka-clients", KAFKA_VERSION)
    if not path.is_file():
        raise RuntimeError(f"Maven finished but {path} does not exist")
    return find_jar(path)


def read_specs(jar: Path) -> dict[str, str]:
    """Return ``{file name: text}`` for every ``common/message/*.json`` in the jar."""
    specs: dict[str, str] = {}
    with zipfile.ZipFile(jar) as archive:
        for info in archive.infolist():
            name = info.filename
            if not name.startswith(SPEC_DIR) or not name.endswith(".json"):
                continue
            base = name[len(SPEC_DIR) :]
            if "/" in base:
                continue
            specs[base] = archive.read(info).decode("utf-8")
    if not specs:
        raise RuntimeError(f"{jar} contains no {SPEC_DIR}*.json files")
    return specs


def find_slf4j_api(kafka_clients: Path) -> Path:
    """Return the ``slf4j-api`` jar that ``kafka-clients`` needs at run time.

    Looks beside ``kafka_clients`` (the broker harness keeps every Kafka jar in one folder) and in
    the local Maven repository; downloads it with ``mvn dependency:get`` if neither has it.
    """
    name = f"slf4j-api-{SLF4J_API_VERSION}.jar"
    for path in (
        kafka_clients.parent / name,
        _m2_path("org.slf4j", "slf4j-api", SLF4J_API_VERSION),
    ):
        if path.is_file():
            return path
    path = _fetch_with_maven("org.slf4j", "slf4j-api", SLF4J_API_VERSION)
    if not path.is_file():
        raise RuntimeError(f"Maven finished but {path} does not exist")
    return path


def read_error_table(kafka_clients: Path) -> str:
    """Run ``java/KafkaErrorCodes.java`` against ``kafka_clients`` and return what it prints."""
    java = shutil.which("java")
    if java is None:
        raise RuntimeError("`java` is not on PATH; the error-code table is read with it")
    class_path = os.pathsep.join([str(kafka_clients), str(find_slf4j_api(kafka_clients))])
    done = subprocess.run(
        [java, "-cp", class_path, str(ERROR_CODES_JAVA)],
        check=False,
        capture_output=True,
        text=True,
        timeout=JAVA_TIMEOUT_S,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{ERROR_CODES_JAVA.name} failed with exit code {done.returncode}: "
            f"{done.stderr.strip()[-2000:]}"
        )
    return done.stdout
