"""Child processes (JVMs) that can never outlive the harness by accident.

Every :class:`ManagedProcess`:

* runs in its own session / process group, and is signalled as a group, so helper children of
  the JVM go with it;
* unless ``detached``, is started through ``setpriv --pdeathsig KILL`` (when available) so the
  kernel kills it if the Python process dies without running any cleanup (e.g. SIGKILL);
* unless ``detached``, is registered in a module-level registry that :func:`stop_all` empties;
  :func:`stop_all` runs from ``atexit`` and from SIGTERM/SIGHUP handlers installed on first use.

Note that the parent-death signal fires when the *thread* that started the process exits, so
start long-lived processes from the main thread (pytest fixtures and the CLI do).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, TypeVar

log = logging.getLogger("kaffe.harness.process")

T = TypeVar("T")

DEFAULT_STOP_TIMEOUT_S = 20.0


class ProcessError(RuntimeError):
    """A managed process failed to start, died early or did not stop in time."""


def tail(path: Path, lines: int = 40) -> str:
    """Return the last ``lines`` lines of a text file (empty string if it does not exist)."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read()
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


class ManagedProcess:
    """One child process with its output in a log file and group-wide signalling."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        cwd: Path,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        detached: bool = False,
        pipes: bool = False,
    ) -> None:
        """Describe a process; nothing starts until :meth:`start`.

        ``log_path`` receives stdout and stderr (only stderr when ``pipes`` is true, in which
        case :attr:`stdin`/:attr:`stdout` are text pipes).  ``detached`` processes survive the
        harness (used by ``python -m kafka_harness up``) and are not in the cleanup registry.
        """
        self.name = name
        self.argv = list(argv)
        self.cwd = cwd
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.detached = detached
        self.pipes = pipes
        self._popen: subprocess.Popen[str] | None = None
        self._log_fh: IO[bytes] | None = None

    # ---------------------------------------------------------------- state

    @property
    def popen(self) -> subprocess.Popen[str]:
        """The running :class:`subprocess.Popen` (raises if never started)."""
        if self._popen is None:
            raise ProcessError(f"{self.name} was never started")
        return self._popen

    @property
    def pid(self) -> int:
        """Process id (also the process-group id)."""
        return self.popen.pid

    @property
    def stdin(self) -> IO[str]:
        """Text pipe to the child's stdin (only with ``pipes=True``)."""
        stream = self.popen.stdin
        if stream is None:
            raise ProcessError(f"{self.name} has no stdin pipe")
        return stream

    @property
    def stdout(self) -> IO[str]:
        """Text pipe from the child's stdout (only with ``pipes=True``)."""
        stream = self.popen.stdout
        if stream is None:
            raise ProcessError(f"{self.name} has no stdout pipe")
        return stream

    def returncode(self) -> int | None:
        """Exit status if the process has ended, else ``None``."""
        if self._popen is None:
            return None
        return self._popen.poll()

    def running(self) -> bool:
        """True if started and not yet exited."""
        return self._popen is not None and self._popen.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of this process's output log."""
        return tail(self.log_path, lines)

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Start the process (in a new session / process group)."""
        if self._popen is not None:
            raise ProcessError(f"{self.name} already started")
        _install_handlers()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_fh = self.log_path.open("ab")
        argv = list(self.argv)
        setpriv = shutil.which("setpriv")
        if not self.detached and setpriv is not None:
            argv = [setpriv, "--pdeathsig", "KILL", "--", *argv]
        log.debug("starting %s: %s", self.name, " ".join(self.argv))
        try:
            self._popen = subprocess.Popen(
                argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.PIPE if self.pipes else subprocess.DEVNULL,
                stdout=subprocess.PIPE if self.pipes else self._log_fh,
                stderr=self._log_fh,
                start_new_session=True,
                text=True,
                encoding="utf-8",
                bufsize=1 if self.pipes else -1,
                close_fds=True,
            )
        except OSError as exc:
            self._log_fh.close()
            self._log_fh = None
            raise ProcessError(f"cannot start {self.name}: {exc}") from exc
        if not self.detached:
            _register(self)

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the whole process group (no-op if it already exited)."""
        if self._popen is None or self._popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._popen.pid, sig)

    def wait(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds for exit; raise :class:`ProcessError` on timeout."""
        try:
            code = self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ProcessError(
                f"{self.name} (pid {self.pid}) still running after {timeout}s"
            ) from None
        self._finished()
        return code

    def kill(self, timeout: float = 10.0) -> int | None:
        """SIGKILL the process group and reap it."""
        if self._popen is None:
            return None
        self.signal(signal.SIGKILL)
        return self.wait(timeout)

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT_S) -> int | None:
        """SIGTERM the process group, wait up to ``timeout``, then SIGKILL if still alive."""
        if self._popen is None:
            return None
        self.signal(signal.SIGTERM)
        try:
            return self.wait(timeout)
        except ProcessError:
            log.warning("%s ignored SIGTERM for %.0f s; sending SIGKILL", self.name, timeout)
            return self.kill()

    def _finished(self) -> None:
        if self._popen is not None:
            for stream in (self._popen.stdin, self._popen.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
        if self._log_fh is not None:
            self._log_fh.close()
            self._log_fh = None
        _unregister(self)

    def __repr__(self) -> str:
        pid = self._popen.pid if self._popen is not None else None
        return f"<ManagedProcess {self.name} pid={pid}>"


def start_and_wait(
    name: str,
    argv: Sequence[str],
    *,
    cwd: Path,
    log_path: Path,
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> None:
    """Run a short-lived command as a :class:`ManagedProcess`; raise with its log if it fails."""
    proc = ManagedProcess(name, argv, cwd=cwd, log_path=log_path, env=env)
    proc.start()
    try:
        code = proc.wait(timeout)
    except ProcessError:
        proc.kill()
        raise ProcessError(
            f"{name} did not finish within {timeout:.0f} s; log {log_path}:\n{proc.log_tail()}"
        ) from None
    if code != 0:
        raise ProcessError(f"{name} exited with {code}; log {log_path}:\n{proc.log_tail()}")


# -------------------------------------------------------------------- registry and cleanup

_LOCK = threading.RLock()
_LIVE: dict[int, ManagedProcess] = {}
_HANDLERS_INSTALLED = False


def _register(proc: ManagedProcess) -> None:
    with _LOCK:
        _LIVE[id(proc)] = proc


def _unregister(proc: ManagedProcess) -> None:
    with _LOCK:
        _LIVE.pop(id(proc), None)


def live_processes() -> list[ManagedProcess]:
    """Registered processes that have been started and not yet reaped."""
    with _LOCK:
        return list(_LIVE.values())


def stop_all(timeout: float = 10.0, *, force: bool = False) -> None:
    """Stop every registered process: SIGTERM all groups, wait, then SIGKILL stragglers.

    With ``force`` every group gets SIGKILL at once (used from signal handlers).
    """
    procs = live_processes()
    if not procs:
        return
    log.info("stopping %d harness process(es)", len(procs))
    first = signal.SIGKILL if force else signal.SIGTERM
    for proc in procs:
        proc.signal(first)
    deadline = time.monotonic() + timeout
    for proc in procs:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except ProcessError:
            proc.signal(signal.SIGKILL)
            try:
                proc.wait(5.0)
            except ProcessError:
                log.error("could not reap %r", proc)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    stop_all(timeout=5.0, force=True)
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_handlers() -> None:
    global _HANDLERS_INSTALLED
    with _LOCK:
        if _HANDLERS_INSTALLED:
            return
        _HANDLERS_INSTALLED = True
    atexit.register(stop_all)
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) in (signal.SIG_DFL, None):
            signal.signal(sig, _on_signal)


def poll_until(
    condition: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    interval: float = 0.1,
    check: Callable[[], None] | None = None,
) -> T:
    """Call ``condition`` until it returns something other than ``None``; return that.

    ``check`` runs before every attempt and may raise (e.g. "the JVM died").  Raises
    :class:`TimeoutError` naming ``what`` when ``timeout`` seconds pass.  The short sleep
    between attempts is the polling interval, never a stand-in for synchronisation.
    """
    deadline = time.monotonic() + timeout
    while True:
        if check is not None:
            check()
        result = condition()
        if result is not None:
            return result
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(min(interval, remaining))
