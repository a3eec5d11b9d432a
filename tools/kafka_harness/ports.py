"""Free TCP ports on 127.0.0.1 and a small "does it accept connections" check."""

from __future__ import annotations

import socket
from contextlib import ExitStack

LOOPBACK = "127.0.0.1"


def free_ports(count: int) -> list[int]:
    """Return ``count`` distinct ports the kernel just handed out for 127.0.0.1.

    All sockets stay bound until every port is chosen, so the ports differ from each other.
    Another process could still take one before the broker binds it; that is rare on a
    test machine and shows up as a clear "Address already in use" in the broker log.
    """
    ports: list[int] = []
    with ExitStack() as stack:
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((LOOPBACK, 0))
            ports.append(int(sock.getsockname()[1]))
    return ports


def accepts(host: str, port: int, timeout: float = 1.0) -> bool:
    """True if a TCP connection to ``host:port`` succeeds within ``timeout`` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
