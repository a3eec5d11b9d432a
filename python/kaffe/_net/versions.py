"""ApiVersions: what kaffe asks for, and which version of every API a connection uses.

Every connection sends ApiVersions first (the highest version both kaffe and the broker know;
v3+ carries ``client_software_name``/``client_software_version``, KIP-511). Per API kaffe then
uses the highest version inside both its own range and the broker's. Its own range is what the
codec encodes and decodes (:func:`kaffe._core.api_versions_table`, generated from Kafka's specs),
capped, on the connections of kaffe's clients (``ConnectionOptions.cap_versions``), by
:data:`CLIENT_MAX_VERSION`: the versions kaffe's request bodies are written for, so regenerating
the codec from a newer Kafka never raises what kaffe sends. KIP-896 (Kafka 4.0) removed Produce
v0-v2, and brokers whose Produce max is 12 or more are treated as supporting Produce 3+ only,
whatever minimum they advertise.
"""

from __future__ import annotations

import functools
import re
import struct
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from kaffe._core import api_versions_table
from kaffe._protocol import ApiKey, ErrorCode

CLIENT_MAX_VERSION: Final[Mapping[int, int]] = MappingProxyType(
    {
        ApiKey.PRODUCE: 12,  # v13 names topics by id; kaffe names them
        ApiKey.FETCH: 12,  # v13+ names topics by id; v12 has everything else kaffe uses
        ApiKey.LIST_OFFSETS: 10,
        ApiKey.METADATA: 13,
        ApiKey.OFFSET_COMMIT: 9,
        ApiKey.OFFSET_FETCH: 9,
        ApiKey.FIND_COORDINATOR: 6,
        ApiKey.JOIN_GROUP: 9,
        ApiKey.HEARTBEAT: 4,
        ApiKey.LEAVE_GROUP: 5,
        ApiKey.SYNC_GROUP: 5,
        ApiKey.DESCRIBE_GROUPS: 6,
        ApiKey.LIST_GROUPS: 5,
        ApiKey.SASL_HANDSHAKE: 1,
        ApiKey.API_VERSIONS: 4,
        ApiKey.CREATE_TOPICS: 7,
        ApiKey.DELETE_TOPICS: 6,
        ApiKey.DELETE_RECORDS: 2,
        ApiKey.INIT_PRODUCER_ID: 5,
        ApiKey.ADD_PARTITIONS_TO_TXN: 3,  # v4+ is the broker-to-broker batched form
        ApiKey.ADD_OFFSETS_TO_TXN: 4,
        ApiKey.END_TXN: 4,
        ApiKey.TXN_OFFSET_COMMIT: 5,
        ApiKey.DESCRIBE_CONFIGS: 4,
        ApiKey.SASL_AUTHENTICATE: 2,
        ApiKey.CREATE_PARTITIONS: 3,
    }
)
"""Every API kaffe's clients send, and the highest version of each that they send.

Hand-written, the one place these versions are chosen: raising one means checking (and
testing) the request and response bodies kaffe writes and reads for that API. A client
connection negotiates only these APIs, each at most at this version (and at most at the codec's
and the broker's maximum).
"""

CLIENT_SOFTWARE_NAME = "kaffe"

_KIP511 = re.compile(r"[^a-zA-Z0-9.\-]")
_ERROR_CODE = struct.Struct(">h")


@functools.cache
def _table() -> dict[int, tuple[str, int, int]]:
    return dict(api_versions_table())


def client_ranges(capped: bool = False) -> dict[int, tuple[int, int]]:
    """kaffe's own ``api_key -> (min, max)``: what the codec encodes and decodes, or with
    ``capped`` only the APIs of :data:`CLIENT_MAX_VERSION`, each at most at its version there."""
    table = _table()
    if not capped:
        return {key: (lo, hi) for key, (_name, lo, hi) in table.items()}
    return {
        key: (table[key][1], min(table[key][2], cap)) for key, cap in CLIENT_MAX_VERSION.items()
    }


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
        return ErrorCode.UNKNOWN_SERVER_ERROR
    (code,) = _ERROR_CODE.unpack_from(payload, 4)
    return int(code)


def broker_ranges(body: Mapping[str, Any]) -> dict[int, tuple[int, int]]:
    """``api_key -> (min, max)`` from a decoded ApiVersions response body."""
    ranges: dict[int, tuple[int, int]] = {}
    for entry in body.get("api_keys") or []:
        key = int(entry["api_key"])
        lo = int(entry["min_version"])
        hi = int(entry["max_version"])
        if key == ApiKey.PRODUCE and hi >= 12:
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
