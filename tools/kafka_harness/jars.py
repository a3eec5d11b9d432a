"""Fetch pinned Apache Kafka jars from Maven Central with ``mvn`` into the kaffe cache.

One directory per Kafka version, outside the checkout (see :mod:`kafka_harness.paths`)::

    <cache>/kafka/<version>/pom.xml      generated here, packaging "pom"
    <cache>/kafka/<version>/lib/*.jar    dependency:copy-dependencies output
    <cache>/kafka/<version>/stamp.json   written last; if it matches, no mvn runs at all

The POM pulls ``kafka_2.13`` (broker ``kafka.Kafka`` and ``kafka.tools.StorageTool``),
``kafka-tools`` without Kafka Connect, and the logging backend that the published POMs leave
out: log4j2 with its SLF4J binding for 4.x, reload4j for 3.9.  Which SLF4J binding is right
depends on the ``slf4j-api`` version Kafka pulls (1.x -> ``log4j-slf4j-impl``, 2.x ->
``log4j-slf4j2-impl``); this module checks that after every download and corrects itself.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from xml.sax.saxutils import escape

from .paths import file_lock, kafka_cache_dir

log = logging.getLogger("kaffe.harness.jars")

DEFAULT_LINE = "4.1"
DEPENDENCY_PLUGIN_VERSION = "3.8.1"
"""Pinned ``maven-dependency-plugin`` (Maven 3.8's default binding is the ancient 2.8)."""
MVN_TIMEOUT_S = 900.0
STAMP_FORMAT = 1

LoggingKind = Literal["log4j2", "reload4j"]


@dataclass(frozen=True)
class KafkaLine:
    """A Kafka release line the harness supports and its pinned versions."""

    line: str
    versions: tuple[str, ...]
    """Preferred version first; later entries are fallbacks if Maven cannot resolve it."""
    logging: LoggingKind
    log4j2_version: str | None = None
    """For log4j2 lines: the log4j2 version Kafka's own ``kafka-server`` POM pulls."""


LINES: dict[str, KafkaLine] = {
    "4.1": KafkaLine("4.1", ("4.1.2",), "log4j2", log4j2_version="2.25.3"),
    "3.9": KafkaLine("3.9", ("3.9.2", "3.9.1"), "reload4j"),
}

_CONNECT_ARTIFACTS = ("connect-runtime", "connect-api", "connect-json", "connect-transforms")
_RELOAD4J_SLF4J_VERSION = "1.7.36"
_RELOAD4J_VERSION = "1.2.25"


class JarFetchError(RuntimeError):
    """Maven could not produce a usable set of Kafka jars."""


class MavenResolutionError(JarFetchError):
    """Maven ran but could not resolve the requested Kafka version."""


@dataclass(frozen=True)
class KafkaJars:
    """A fetched, verified set of Kafka jars for one version."""

    line: str
    version: str
    home: Path
    """``<cache>/kafka/<version>``."""
    logging: LoggingKind

    @property
    def lib(self) -> Path:
        """Directory holding every jar."""
        return self.home / "lib"

    @property
    def classpath(self) -> str:
        """A JVM ``-cp`` value covering every jar (Java expands ``dir/*``)."""
        return str(self.lib / "*")

    def kafka_clients_jar(self) -> Path:
        """Path of ``kafka-clients-<version>.jar`` (holds ``common/message/*.json``)."""
        return kafka_clients_jar(self)

    def jar_paths(self) -> list[Path]:
        """Every jar in :attr:`lib`, sorted by name."""
        return sorted(self.lib.glob("*.jar"))

    def stamp(self) -> dict[str, object]:
        """The stamp written after the download (sizes, counts, timings)."""
        data: dict[str, object] = json.loads((self.home / "stamp.json").read_text())
        return data


def selected_line(line: str | None = None) -> KafkaLine:
    """Return the :class:`KafkaLine` for ``line`` or ``$KAFKA_LINE`` (default 4.1)."""
    name = line or os.environ.get("KAFKA_LINE") or DEFAULT_LINE
    try:
        return LINES[name]
    except KeyError:
        known = ", ".join(sorted(LINES))
        raise JarFetchError(f"unsupported KAFKA_LINE={name!r}; supported: {known}") from None


def kafka_clients_jar(jars: KafkaJars) -> Path:
    """Return the ``kafka-clients`` jar of ``jars`` (the protocol JSON specs live inside)."""
    path = jars.lib / f"kafka-clients-{jars.version}.jar"
    if not path.is_file():
        raise JarFetchError(f"{path} is missing; run `python -m kafka_harness fetch`")
    return path


def message_spec_names(jar: Path) -> list[str]:
    """Names of the ``common/message/*.json`` protocol specs inside a kafka-clients jar."""
    with zipfile.ZipFile(jar) as zf:
        return sorted(
            n
            for n in zf.namelist()
            if n.startswith("common/message/") and n.endswith(".json") and n.count("/") == 2
        )


def fetch(line: str | None = None) -> KafkaJars:
    """Make sure the jars for ``line`` are in the cache and return them.

    A valid stamp means nothing runs (no ``mvn``, no network).  Otherwise the preferred
    version is resolved, then the fallbacks if Maven cannot find it.
    """
    kline = selected_line(line)
    for version in kline.versions:
        cached = _cached(kline, version)
        if cached is not None:
            log.debug("Kafka %s jars already cached in %s", version, cached.home)
            return cached
    errors: list[str] = []
    for version in kline.versions:
        try:
            return _fetch_version(kline, version)
        except MavenResolutionError as exc:
            log.warning("Kafka %s did not resolve, trying the next pinned version", version)
            errors.append(f"{version}: {exc}")
    raise JarFetchError("no pinned Kafka version resolved:\n" + "\n".join(errors))


def cached(line: str | None = None) -> KafkaJars | None:
    """Return the cached jars for ``line`` without running Maven, or ``None``."""
    kline = selected_line(line)
    for version in kline.versions:
        found = _cached(kline, version)
        if found is not None:
            return found
    return None


# --------------------------------------------------------------------------- internals


def _binding_for(kline: KafkaLine, slf4j_major: int) -> list[tuple[str, str, str]]:
    """(group, artifact, version) of the logging jars to add for this line."""
    if kline.logging == "reload4j":
        return [
            ("org.slf4j", "slf4j-reload4j", _RELOAD4J_SLF4J_VERSION),
            ("ch.qos.reload4j", "reload4j", _RELOAD4J_VERSION),
        ]
    v = kline.log4j2_version or ""
    binding = "log4j-slf4j2-impl" if slf4j_major >= 2 else "log4j-slf4j-impl"
    return [
        ("org.apache.logging.log4j", "log4j-api", v),
        ("org.apache.logging.log4j", "log4j-core", v),
        ("org.apache.logging.log4j", binding, v),
    ]


def _dependency_xml(
    group: str, artifact: str, version: str, exclusions: list[tuple[str, str]]
) -> str:
    lines = [
        "    <dependency>",
        f"      <groupId>{escape(group)}</groupId>",
        f"      <artifactId>{escape(artifact)}</artifactId>",
        f"      <version>{escape(version)}</version>",
    ]
    if exclusions:
        lines.append("      <exclusions>")
        for g, a in exclusions:
            lines.append(
                f"        <exclusion><groupId>{escape(g)}</groupId>"
                f"<artifactId>{escape(a)}</artifactId></exclusion>"
            )
        lines.append("      </exclusions>")
    lines.append("    </dependency>")
    return "\n".join(lines)


def render_pom(kline: KafkaLine, version: str, slf4j_major: int = 1) -> str:
    """Return the generated ``pom.xml`` for one Kafka version (packaging ``pom``)."""
    # Maven 3 does not honour partial wildcards such as "connect-*" in exclusions, so the
    # Connect artifacts are listed one by one.
    tool_exclusions = [("org.apache.kafka", a) for a in _CONNECT_ARTIFACTS]
    if kline.logging == "log4j2":
        tool_exclusions += [("org.slf4j", "slf4j-reload4j"), ("ch.qos.reload4j", "reload4j")]
    deps = [
        _dependency_xml("org.apache.kafka", "kafka_2.13", version, []),
        _dependency_xml("org.apache.kafka", "kafka-tools", version, tool_exclusions),
    ]
    deps += [_dependency_xml(g, a, v, []) for g, a, v in _binding_for(kline, slf4j_major)]
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by kafka_harness.jars; only used to copy Kafka {version}'s jars into lib/. -->
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.kaffe</groupId>
  <artifactId>kafka-runtime-{escape(version)}</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <properties>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <dependencies>
{chr(10).join(deps)}
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>{DEPENDENCY_PLUGIN_VERSION}</version>
      </plugin>
    </plugins>
  </build>
</project>
"""


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _cached(kline: KafkaLine, version: str) -> KafkaJars | None:
    home = kafka_cache_dir(version)
    stamp_path = home / "stamp.json"
    try:
        stamp = json.loads(stamp_path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(stamp, dict) or stamp.get("format") != STAMP_FORMAT:
        return None
    slf4j_major = stamp.get("slf4j_major")
    jars = stamp.get("jars")
    if not isinstance(slf4j_major, int) or not isinstance(jars, list):
        return None
    if stamp.get("pom_sha256") != _sha256(render_pom(kline, version, slf4j_major)):
        log.info("pom for Kafka %s changed since the last download; refetching", version)
        return None
    lib = home / "lib"
    if not all(isinstance(j, str) and (lib / j).is_file() for j in jars):
        return None
    return KafkaJars(kline.line, version, home, kline.logging)


def _run_mvn(pom: Path, out_dir: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise JarFetchError("`mvn` is not on PATH; install Apache Maven 3.6+")
    argv = [
        mvn,
        "-B",
        "-q",
        "-f",
        str(pom),
        f"org.apache.maven.plugins:maven-dependency-plugin:{DEPENDENCY_PLUGIN_VERSION}"
        ":copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={out_dir}",
    ]
    log.info("running: %s", " ".join(argv))
    try:
        proc = subprocess.run(
            argv,
            cwd=pom.parent,
            capture_output=True,
            text=True,
            timeout=MVN_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise JarFetchError(f"mvn did not finish within {MVN_TIMEOUT_S:.0f} s") from exc
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).strip()
        tail = "\n".join(output.splitlines()[-30:])
        if re.search(r"Could not (resolve|find artifact)|was not found in", output):
            raise MavenResolutionError(tail)
        raise JarFetchError(f"mvn failed with exit code {proc.returncode}:\n{tail}")


def _slf4j_major(lib: Path) -> int:
    found = sorted(lib.glob("slf4j-api-*.jar"))
    if len(found) != 1:
        raise JarFetchError(f"expected exactly one slf4j-api jar in {lib}, found {found}")
    m = re.match(r"slf4j-api-(\d+)\.", found[0].name)
    if m is None:
        raise JarFetchError(f"cannot read the slf4j-api version from {found[0].name}")
    return int(m.group(1))


def _verify(kline: KafkaLine, version: str, lib: Path) -> None:
    names = {p.name for p in lib.glob("*.jar")}
    for required in (f"kafka_2.13-{version}.jar", f"kafka-clients-{version}.jar"):
        if required not in names:
            raise JarFetchError(f"{required} missing from {lib}")
    if f"kafka-tools-{version}.jar" not in names:
        raise JarFetchError(f"kafka-tools-{version}.jar missing from {lib}")
    unwanted = sorted(n for n in names if re.match(r"(connect-|jetty-|jersey-)", n))
    if unwanted:
        raise JarFetchError(f"Connect/Jetty/Jersey jars were not excluded: {unwanted}")
    if kline.logging == "log4j2":
        bindings = sorted(n for n in names if n.startswith("log4j-slf4j"))
    else:
        bindings = sorted(n for n in names if n.startswith("slf4j-reload4j"))
    if len(bindings) != 1:
        raise JarFetchError(f"expected exactly one SLF4J binding, found {bindings}")
    specs = message_spec_names(lib / f"kafka-clients-{version}.jar")
    if "common/message/ProduceRequest.json" not in specs:
        raise JarFetchError("kafka-clients jar has no common/message/ProduceRequest.json")


def _fetch_version(kline: KafkaLine, version: str) -> KafkaJars:
    home = kafka_cache_dir(version)
    with file_lock(home.parent / f".{version}.lock"):
        found = _cached(kline, version)  # another process may have finished meanwhile
        if found is not None:
            return found
        home.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        lib = home / "lib"
        slf4j_major = 1
        for _attempt in range(2):
            pom_text = render_pom(kline, version, slf4j_major)
            pom = home / "pom.xml"
            pom.write_text(pom_text)
            staging = Path(tempfile.mkdtemp(prefix="lib-", dir=home))
            try:
                _run_mvn(pom, staging)
                actual = _slf4j_major(staging)
                if kline.logging == "log4j2" and actual != slf4j_major:
                    log.warning(
                        "Kafka %s pulls slf4j-api %d.x; switching the log4j2 binding",
                        version,
                        actual,
                    )
                    slf4j_major = actual
                    continue
                _verify(kline, version, staging)
                if lib.exists():
                    shutil.rmtree(lib)
                staging.rename(lib)
            finally:
                if staging.exists():
                    shutil.rmtree(staging, ignore_errors=True)
            break
        else:
            raise JarFetchError("could not settle on an SLF4J binding")
        jars = sorted(p.name for p in lib.glob("*.jar"))
        total = sum((lib / j).stat().st_size for j in jars)
        stamp = {
            "format": STAMP_FORMAT,
            "line": kline.line,
            "version": version,
            "pom_sha256": _sha256(pom_text),
            "slf4j_major": slf4j_major,
            "jars": jars,
            "jar_count": len(jars),
            "total_bytes": total,
            "message_specs": len(message_spec_names(lib / f"kafka-clients-{version}.jar")),
            "mvn_seconds": round(time.monotonic() - started, 1),
            "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        tmp = home / "stamp.json.tmp"
        tmp.write_text(json.dumps(stamp, indent=2) + "\n")
        tmp.rename(home / "stamp.json")
        log.info("Kafka %s: %d jars, %.1f MB in %s", version, len(jars), total / 1e6, home / "lib")
        return KafkaJars(kline.line, version, home, kline.logging)
