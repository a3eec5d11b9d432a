"""The workload's message values: ``<key>|<seq>|<padding>``."""

from __future__ import annotations


def split_value(value: bytes | None) -> tuple[str, int] | None:
    """``(key, seq)`` of a workload value, or ``None`` if it is not one."""
    if value is None:
        return None
    parts = value.split(b"|", 2)
    if len(parts) < 2:
        return None
    try:
        return parts[0].decode(), int(parts[1])
    except (UnicodeDecodeError, ValueError):
        return None
