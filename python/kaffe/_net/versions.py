"""ApiVersions: what kaffe asks for, and which version of every API a connection uses.

Every connection sends ApiVersions first (the highest version both kaffe and the broker know;
v3+ carries ``client_software_name``/``client_software_version``, KIP-511). Per API kaffe then
uses the highest version inside both its own range (:func:`kaffe._core.api_versions_table`) and
the broker's. KIP-896 (Kafka 4.0) removed Produce v0-v2, and brokers whose Produce max is 12 or
more are treated as supporting Produce 3+ only, whatever minimum they advertise.
"""

from __future__ import annotations

import functools
import re
import struct
from collections.abc import Mapping
from typing import Any

from kaffe._core import api_versions_table

API_PRODUCE = 0
API_FETCH = 1
API_METADATA = 3
API_SASL_HANDSHAKE = 17
API_API_VERSIONS = 18
API_SASL_AUTHENTICATE = 36

UNSUPPORTED_VERSION = 35
"""Kafka error code the broker answers an ApiVersions version it does not know with."""

CLIENT_SOFTWARE_NAME = "kaffe"

_KIP511 = re.compile(r"[^a-zA-Z0-9.\-]")
_ERROR_CODE = struct.Struct(">h")


@functools.cache
def _table() -> dict[int, tuple[str, int, int]]:
    return dict(api_versions_table())


def client_ranges() -> dict[int, tuple[int, int]]:
    """kaffe's own ``api_key -> (min, max)`` (what the codec encodes and decodes)."""
    return {key: (lo, hi) for key, (_name, lo, hi) in _table().items()}


def api_name(api_key: int) -> str:
    """The API's name (``"Produce"``), or ``"api <key>"`` if kaffe does not know it."""
    entry = _table().get(api_key)
    return entry[0] if entry is not None else f"api {api_key}"


def software_version(version: str) -> str:
    """``version`` made valid for KIP-511 (letters, digits, ``.`` and ``-``; alnum at the ends)."""
    cleaned = _KIP511.sub("-", version).strip(".-")
    return cleaned or "unknown"


def api_versions_request(version: int, kaffe_version: str) -> dict[str, Any]:
    """The ApiVersions request body at ``version``."""
    if version >= 3:
        return {
            "client_software_name": CLIENT_SOFTWARE_NAME,
            "client_software_version": software_version(kaffe_version),
        }
    return {}


def peek_error_code(payload: bytes) -> int:
    """The error code of an ApiVersions response frame, in any version.

    ApiVersions responses always use header v0 (just the correlation id), and every version's
    body starts with the int16 error code, so this works before the body format is known.
    """
    if len(payload) < 6:
        return -1
    (code,) = _ERROR_CODE.unpack_from(payload, 4)
    return int(code)


def broker_ranges(body: Mapping[str, Any]) -> dict[int, tuple[int, int]]:
    """``api_key -> (min, max)`` from a decoded ApiVersions response body."""
    ranges: dict[int, tuple[int, int]] = {}
    for entry in body.get("api_keys") or []:
        key = int(entry["api_key"])
        lo = int(entry["min_version"])
        hi = int(entry["max_version"])
        if key == API_PRODUCE and hi >= 12:
            lo = max(lo, 3)  # KIP-896
        ranges[key] = (lo, hi)
    return ranges


def negotiate(
    broker: Mapping[int, tuple[int, int]],
    client: Mapping[int, tuple[int, int]],
    overrides: Mapping[int, int] | None = None,
) -> dict[int, int]:
    """``api_key -> version`` for every API both sides support.

    The version is the highest inside both ranges; an override lowers the cap for its API (it
    never raises kaffe's own maximum). APIs with no common version are left out.
    """
    chosen: dict[int, int] = {}
    for key, (b_lo, b_hi) in broker.items():
        mine = client.get(key)
        if mine is None:
            continue
        lo = max(b_lo, mine[0])
        hi = min(b_hi, mine[1])
        if overrides is not None and key in overrides:
            hi = min(hi, overrides[key])
        if lo <= hi:
            chosen[key] = hi
    return chosen
