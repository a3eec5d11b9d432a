"""``python -m kafka_harness``: fetch jars, start/stop a background broker, create topics.

Commands::

    fetch                          download the pinned jars for $KAFKA_LINE (no-op when cached)
    up                             start a single-node broker in the background,
                                   write .kafka-local/current.json and print the listeners
    status                         show the background broker and whether it answers
    down [--keep]                  stop it (and delete its run dir unless --keep)
    create-topic NAME PARTITIONS   create a topic on it (or on --bootstrap / KAFFE_TEST_BOOTSTRAP)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import probe
from .admin import AdminError, AdminTool
from .broker import LocalBroker
from .jars import JarFetchError, fetch, message_spec_names
from .paths import new_run_dir, run_root
from .process import ProcessError, poll_until

log = logging.getLogger("kaffe.harness.cli")


def state_file() -> Path:
    """``.kafka-local/current.json``: connection info of the ``up`` broker."""
    return run_root() / "current.json"


def _read_state() -> dict[str, Any] | None:
    try:
        data = json.loads(state_file().read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _is_our_broker(state: dict[str, Any]) -> bool:
    pid = state.get("pid")
    if not isinstance(pid, int):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    return "kafka.Kafka" in cmdline and str(state.get("run_dir")) in cmdline


def _print_info(state: dict[str, Any]) -> None:
    print(f"Kafka {state['version']} (line {state['line']}), pid {state['pid']}")
    print(f"  bootstrap      {state['bootstrap']}")
    for name, addr in state["listeners"].items():
        print(f"  {name:<14} {addr}")
    print(f"  SASL users     {', '.join(sorted(state['users']))} (passwords in {state_file()})")
    print(f"  TLS CA         {state['certs']['ca']}")
    print(f"  client cert    {state['certs']['client_cert']}")
    print(f"  logs           {state['logs']}")


def cmd_fetch(args: argparse.Namespace) -> int:
    """Download (or confirm) the jars and print what is there."""
    jars = fetch(args.line)
    stamp = jars.stamp()
    clients = jars.kafka_clients_jar()
    print(
        f"Kafka {jars.version} ({jars.line}): {stamp['jar_count']} jars, "
        f"{int(str(stamp['total_bytes'])) / 1e6:.1f} MB in {jars.lib}"
    )
    print(f"kafka-clients: {clients} ({len(message_spec_names(clients))} message specs)")
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    """Start a detached broker and record it in current.json."""
    state = _read_state()
    if state is not None and _is_our_broker(state):
        print("a broker is already running:")
        _print_info(state)
        return 0
    broker = LocalBroker(fetch(args.line), run_dir=new_run_dir("up"), detached=True)
    broker.start()
    try:
        info = broker.connection_info(include_secrets=True)
        path = state_file()
        tmp = path.with_suffix(".tmp")
        tmp.touch(mode=0o600)
        tmp.write_text(json.dumps(info, indent=2) + "\n")
        tmp.rename(path)
    except BaseException:
        broker.stop()
        raise
    broker.close_admins()
    _print_info(info)
    print(f"stop it with: python -m kafka_harness down   (state: {state_file()})")
    return 0


def _pid_gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    # A zombie ("Z") has exited; whoever reaps it (init) will do so shortly.
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def cmd_down(args: argparse.Namespace) -> int:
    """Stop the broker from current.json."""
    state = _read_state()
    if state is None:
        print("no background broker recorded; nothing to stop")
        return 0
    pid = state.get("pid")
    if isinstance(pid, int) and _is_our_broker(state):
        os.killpg(pid, signal.SIGTERM)
        try:
            poll_until(lambda: True if _pid_gone(pid) else None, timeout=30.0, what="broker exit")
        except TimeoutError:
            log.warning("broker pid %d ignored SIGTERM; sending SIGKILL", pid)
            os.killpg(pid, signal.SIGKILL)
            poll_until(lambda: True if _pid_gone(pid) else None, timeout=10.0, what="kill")
        print(f"stopped broker pid {pid}")
    else:
        print(f"broker pid {pid} is not running any more")
    state_file().unlink(missing_ok=True)
    run_dir = Path(str(state.get("run_dir")))
    if args.keep:
        print(f"kept {run_dir}")
    elif run_dir.is_dir() and run_dir.parent == run_root():
        shutil.rmtree(run_dir, ignore_errors=True)
        print(f"removed {run_dir}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Print the recorded broker and check it answers ApiVersions."""
    state = _read_state()
    if state is None or not _is_our_broker(state):
        print("no background broker running")
        return 1
    _print_info(state)
    host, _, port = str(state["bootstrap"]).rpartition(":")
    result = probe.api_versions(host, int(port))
    print(f"ApiVersions: error_code {result.error_code}, {len(result.apis)} APIs")
    return 0 if result.error_code == 0 else 1


def cmd_create_topic(args: argparse.Namespace) -> int:
    """Create a topic through the Java admin tool and print its partitions."""
    bootstrap = args.bootstrap or os.environ.get("KAFFE_TEST_BOOTSTRAP")
    work_dir: Path | None = None
    if not bootstrap:
        state = _read_state()
        if state is None or not _is_our_broker(state):
            print(
                "no broker: run `python -m kafka_harness up` or pass --bootstrap", file=sys.stderr
            )
            return 2
        bootstrap = str(state["bootstrap"])
        work_dir = Path(str(state["logs"]))
    with tempfile.TemporaryDirectory(prefix="kaffe-admin-") as tmp:
        tool = AdminTool(fetch(args.line), bootstrap, work_dir=work_dir or Path(tmp), name="cli")
        with tool:
            tool.create_topic(args.name, args.partitions, args.replication_factor)
            desc = tool.describe_topic(args.name)
    print(f"created {desc.name} ({desc.topic_id}) with {len(desc.partitions)} partitions:")
    for p in desc.partitions:
        print(f"  partition {p.partition}: leader {p.leader}, replicas {list(p.replicas)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m kafka_harness``."""
    parser = argparse.ArgumentParser(
        prog="python -m kafka_harness",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--line", help="Kafka line (default: $KAFKA_LINE or 4.1)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("fetch", help="download the pinned Kafka jars").set_defaults(func=cmd_fetch)
    sub.add_parser("up", help="start a background single-node broker").set_defaults(func=cmd_up)
    down = sub.add_parser("down", help="stop the background broker")
    down.add_argument("--keep", action="store_true", help="keep its run dir (logs, data)")
    down.set_defaults(func=cmd_down)
    sub.add_parser("status", help="show the background broker").set_defaults(func=cmd_status)
    create = sub.add_parser("create-topic", help="create a topic")
    create.add_argument("name")
    create.add_argument("partitions", type=int)
    create.add_argument("--replication-factor", type=int, default=1)
    create.add_argument("--bootstrap", help="host:port (default: the `up` broker)")
    create.set_defaults(func=cmd_create_topic)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    started = time.monotonic()
    try:
        code: int = args.func(args)
    except (JarFetchError, ProcessError, AdminError, TimeoutError, OSError) as exc:
        print(f"kafka_harness {args.command} failed: {exc}", file=sys.stderr)
        return 1
    log.debug("%s took %.1f s", args.command, time.monotonic() - started)
    return code


if __name__ == "__main__":
    sys.exit(main())
