"""Locate (or fetch through Maven) the pinned ``kafka-clients`` jar and read its message specs."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

from kafka_harness.paths import cache_root

from . import KAFKA_CLIENTS_SHA256, KAFKA_VERSION

log = logging.getLogger("kaffe.codegen")

SPEC_DIR = "common/message/"
MVN_TIMEOUT_S = 600.0


def _jar_name() -> str:
    return f"kafka-clients-{KAFKA_VERSION}.jar"


def candidate_paths() -> list[Path]:
    """Places the jar may already be, most specific first."""
    paths: list[Path] = []
    explicit = os.environ.get("KAFFE_KAFKA_CLIENTS_JAR")
    if explicit:
        paths.append(Path(explicit).expanduser())
    paths.append(cache_root() / "kafka" / KAFKA_VERSION / "lib" / _jar_name())
    paths.append(_m2_path())
    return paths


def _m2_path() -> Path:
    repo = os.environ.get("MAVEN_REPO_LOCAL")
    base = Path(repo).expanduser() if repo else Path.home() / ".m2" / "repository"
    return base / "org" / "apache" / "kafka" / "kafka-clients" / KAFKA_VERSION / _jar_name()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch_with_maven() -> Path:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeError(
            f"{_jar_name()} is not cached and `mvn` is not on PATH; install Maven or set "
            "KAFFE_KAFKA_CLIENTS_JAR to the jar"
        )
    artifact = f"org.apache.kafka:kafka-clients:{KAFKA_VERSION}"
    log.info("fetching %s through Maven", artifact)
    subprocess.run(
        [mvn, "-B", "-q", "dependency:get", f"-Dartifact={artifact}", "-Dtransitive=false"],
        check=True,
        timeout=MVN_TIMEOUT_S,
    )
    return _m2_path()


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
    path = _fetch_with_maven()
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
