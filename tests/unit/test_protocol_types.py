"""The generated ``TypedDict`` classes (``kaffe._protocol_types``) against the native codec.

The types come from ``tools/codegen`` (Kafka's JSON specs); the dicts come from ``kaffe._core``
(the Rust tables). For every API, every version the codec accepts and both directions, a body is
grown from ``{}`` by round-tripping it through ``encode_*``/``decode_*`` and filling, one at a
time, each empty list with one element and each ``None`` with a value, keeping whatever the
codec accepts. Every decoded dict along the way must match its ``TypedDict`` (no unknown keys,
values of the annotated types), and every field of every ``TypedDict`` must turn up in some
decoded dict, in exactly the versions its ``# v1+`` comment states. Then each field of the
fullest body is set to ``None`` in turn: where the codec accepts that, the annotation must admit
``None``, and every ``X | None`` annotation must have met a ``None``. So a field the generator
dropped, misnamed, mistyped, mis-versioned or got the nullability of wrong fails here.
"""

from __future__ import annotations

import copy
import inspect
import re
import sys
import types
import typing
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import pytest

from kaffe import _core
from kaffe import _protocol_types as pt

UNKNOWN_TAGGED = "_unknown_tagged_fields"
"""The key under which the codec keeps tagged fields the spec does not know."""
MAX_PROBE_VERSION = 64
"""Versions above every Kafka API's latest one; probing stops here."""
UNKNOWN_TAG = 4242
"""A tag no spec defines."""

Path = tuple[str | int, ...]
RoundTrip = Callable[[dict[str, Any]], dict[str, Any]]

# Values tried, in order, in place of an empty list and of a None. The codec rejects those that
# do not fit the field's type, so what is left exercises the non-empty, non-null branches.
LIST_FILLERS: tuple[object, ...] = ([{}], [0], [""], [b""], [bytes(16)])
NONE_FILLERS: tuple[object, ...] = ({}, [], "", b"")


@cache
def hints(cls: type) -> dict[str, Any]:
    """The resolved annotations of a ``TypedDict`` (inherited ones included)."""
    return typing.get_type_hints(cls)


def typeddict(name: str) -> type:
    """A generated class by name, failing the test if it is missing or not a ``TypedDict``."""
    cls = getattr(pt, name, None)
    assert isinstance(cls, type), f"kaffe._protocol_types has no class {name}"
    assert typing.is_typeddict(cls), f"{name} is not a TypedDict"
    return cls


def check(value: object, hint: object, where: str, seen: set[tuple[type, str]]) -> None:
    """Assert that ``value`` has the type ``hint``; record the ``TypedDict`` fields met."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if isinstance(hint, type) and typing.is_typeddict(hint):
        assert type(value) is dict, f"{where}: expected a dict for {hint.__name__}, got {value!r}"
        fields = hints(hint)
        unknown = sorted(set(value) - set(fields))
        assert not unknown, f"{where}: {hint.__name__} has no field(s) {unknown}"
        for key, item in value.items():
            seen.add((hint, key))
            check(item, fields[key], f"{where}.{key}", seen)
    elif origin in (types.UnionType, typing.Union):
        others = [a for a in args if a is not type(None)]
        if value is None:
            assert type(None) in args, f"{where}: None where {hint} is not nullable"
        else:
            assert len(others) == 1, f"{where}: unexpected union {hint}"
            check(value, others[0], where, seen)
    elif origin is list:
        assert type(value) is list, f"{where}: expected a list, got {value!r}"
        for i, item in enumerate(value):
            check(item, args[0], f"{where}[{i}]", seen)
    elif origin is dict:
        assert type(value) is dict, f"{where}: expected a dict, got {value!r}"
        for key, item in value.items():
            check(key, args[0], f"{where} key", seen)
            check(item, args[1], f"{where}[{key!r}]", seen)
    elif hint in (bool, int, float, str, bytes):
        # Exact types: a bool is not an int field's value, and the other way round.
        assert type(value) is hint, f"{where}: expected {hint}, got {value!r}"
    else:
        pytest.fail(f"{where}: the generated annotation {hint!r} is not one the codec produces")


def reachable(cls: type) -> set[type]:
    """``cls`` and every ``TypedDict`` its fields refer to, however deeply."""
    visited: set[type] = set()
    pending = [cls]
    while pending:
        current = pending.pop()
        if current in visited:
            continue
        visited.add(current)
        stack = list(hints(current).values())
        while stack:
            hint = stack.pop()
            if isinstance(hint, type) and typing.is_typeddict(hint):
                pending.append(hint)
            stack.extend(typing.get_args(hint))
    return visited


def all_fields(cls: type) -> set[tuple[type, str]]:
    """Every ``(TypedDict, field)`` reachable from ``cls``, leaving out unknown tagged fields."""
    return {(c, name) for c in reachable(cls) for name in hints(c) if name != UNKNOWN_TAGGED}


def generated_classes() -> dict[str, type]:
    """Every ``TypedDict`` the package exports, by name (the tagged-fields base left out)."""
    out: dict[str, type] = {}
    for name in pt.__all__:
        obj = getattr(pt, name)
        if isinstance(obj, type) and typing.is_typeddict(obj) and obj is not pt.TaggedFields:
            out[name] = obj
    return out


def openings(value: object, hint: object, path: Path = ()) -> Iterator[tuple[Path, object, object]]:
    """Places a decoded body can grow, with their annotations: empty lists, ``None`` values and
    dicts (which can take unknown tagged fields)."""
    if isinstance(value, dict):
        fields = hints(hint) if isinstance(hint, type) and typing.is_typeddict(hint) else {}
        if UNKNOWN_TAGGED not in value:
            yield (*path, UNKNOWN_TAGGED), value, hint
        for key, item in value.items():
            if key != UNKNOWN_TAGGED:
                yield from openings(item, _strip_none(fields.get(key)), (*path, key))
    elif isinstance(value, list):
        if not value:
            yield path, value, hint
        (element,) = typing.get_args(hint) or (None,)
        for i, item in enumerate(value):
            yield from openings(item, _strip_none(element), (*path, i))
    elif value is None:
        yield path, value, hint


def _strip_none(hint: object) -> object:
    """``X`` for ``X | None``; anything else unchanged."""
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        others = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(others) == 1:
            return others[0]
    return hint


def struct_fillers(hint: object) -> list[dict[str, Any]]:
    """Dicts to try for a struct of type ``hint``: ``{}``, then ones with ``bytes`` fields set
    to ``b""``. (A ``records`` field defaults to null, which some versions do not allow.)"""
    if not (isinstance(hint, type) and typing.is_typeddict(hint)):
        return [{}]
    binary = [k for k, h in hints(hint).items() if h in (bytes, bytes | None)]
    out: list[dict[str, Any]] = [{}, *({k: b""} for k in binary)]
    if len(binary) > 1:
        out.append(dict.fromkeys(binary, b""))
    return out


def fillers_for(leaf: object, hint: object) -> list[object]:
    """What to try in place of ``leaf`` (an empty list, a None, or a dict without tags)."""
    if isinstance(leaf, dict):
        return [{UNKNOWN_TAG: b"\x00kaffe"}]  # goes under the dict's UNKNOWN_TAGGED key
    if isinstance(leaf, list):
        (element,) = typing.get_args(hint) or (None,)
        return [*LIST_FILLERS, *([f] for f in struct_fillers(element)[1:])]
    return [*NONE_FILLERS, *struct_fillers(hint)[1:]]


def fields_in(value: object, hint: object, path: Path = ()) -> Iterator[tuple[Path, type, str]]:
    """``(path, TypedDict, field)`` for every non-None field of a decoded body."""
    if isinstance(value, dict) and isinstance(hint, type) and typing.is_typeddict(hint):
        fields = hints(hint)
        for key, item in value.items():
            if key == UNKNOWN_TAGGED or item is None:
                continue
            yield (*path, key), hint, key
            yield from fields_in(item, _strip_none(fields[key]), (*path, key))
    elif isinstance(value, list):
        (element,) = typing.get_args(hint) or (None,)
        for i, item in enumerate(value):
            yield from fields_in(item, _strip_none(element), (*path, i))


def replaced(body: dict[str, Any], path: Path, new: object) -> dict[str, Any]:
    """A deep copy of ``body`` with the value at ``path`` set to ``new``."""
    out = copy.deepcopy(body)
    node: Any = out
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = new
    return out


def grow(cls: type, roundtrip: RoundTrip) -> list[dict[str, Any]]:
    """Every body decoded while growing one from ``{}``, as described in the module docstring."""
    body = roundtrip({})
    bodies = [body]
    tried: set[tuple[Path, str]] = set()
    progress = True
    while progress:
        progress = False
        for path, leaf, hint in openings(body, cls):
            # A None may become [] first, and then the empty list is a new opening.
            attempt = (path, type(leaf).__name__)
            if attempt in tried:
                continue
            tried.add(attempt)
            for filler in fillers_for(leaf, hint):
                try:
                    body = roundtrip(replaced(body, path, copy.deepcopy(filler)))
                except (TypeError, ValueError):
                    continue
                bodies.append(body)
                progress = True
                break
            if progress:
                break
    return bodies


def supported_versions(roundtrip_at: Callable[[int], RoundTrip]) -> list[int]:
    """The versions at which the codec round-trips ``{}`` (it raises ``ValueError`` otherwise)."""
    found: list[int] = []
    for version in range(MAX_PROBE_VERSION):
        try:
            roundtrip_at(version)({})
        except ValueError:
            continue
        found.append(version)
    return found


def request_roundtrip(api_key: int) -> Callable[[int], RoundTrip]:
    def at(version: int) -> RoundTrip:
        def roundtrip(body: dict[str, Any]) -> dict[str, Any]:
            frame = _core.encode_request(api_key, version, 17, "kaffe-types", body)
            key, got_version, correlation_id, _, decoded = _core.decode_request(frame)
            assert (key, got_version, correlation_id) == (api_key, version, 17)
            return decoded

        return roundtrip

    return at


def response_roundtrip(api_key: int) -> Callable[[int], RoundTrip]:
    def at(version: int) -> RoundTrip:
        def roundtrip(body: dict[str, Any]) -> dict[str, Any]:
            frame = _core.encode_response(api_key, version, 23, body)
            correlation_id, decoded = _core.decode_response(api_key, version, frame)
            assert correlation_id == 23
            return decoded

        return roundtrip

    return at


def data_roundtrip(name: str) -> Callable[[int], RoundTrip]:
    def at(version: int) -> RoundTrip:
        def roundtrip(body: dict[str, Any]) -> dict[str, Any]:
            return _core.decode_data(name, version, _core.encode_data(name, version, body))

        return roundtrip

    return at


def exercise(cls: type, roundtrip_at: Callable[[int], RoundTrip], versions: list[int]) -> None:
    """Grow bodies at every version; check their types, that every field turned up, and that it
    turned up in exactly the versions its comment in the generated source gives."""
    seen_at: dict[tuple[type, str], set[int]] = {}
    nullable_seen: set[tuple[type, str]] = set()
    tagged = 0
    for version in versions:
        seen: set[tuple[type, str]] = set()
        bodies = grow(cls, roundtrip_at(version))
        for body in bodies:
            check(body, cls, f"{cls.__name__} v{version}", seen)
            tagged += UNKNOWN_TAGGED in body
        for owner_field in seen:
            seen_at.setdefault(owner_field, set()).add(version)
        # Null every field of the fullest body in turn: where the codec takes None, the
        # annotation must admit it (check), and every ``X | None`` must meet a None somewhere.
        roundtrip = roundtrip_at(version)
        fullest = bodies[-1]
        for path, owner, field in fields_in(fullest, cls):
            try:
                nulled = roundtrip(replaced(fullest, path, None))
            except (TypeError, ValueError):
                continue
            check(nulled, cls, f"{cls.__name__} v{version} with {path} = None", set())
            nullable_seen.add((owner, field))
    missing = sorted(f"{owner.__name__}.{field}" for owner, field in all_fields(cls) - set(seen_at))
    assert not missing, f"{cls.__name__}: fields never decoded at v{versions}: {missing}"
    # Flexible versions carry unknown tagged fields, and the TypedDict admitted them (above).
    if UNKNOWN_TAGGED in hints(cls):
        assert tagged, f"{cls.__name__}: unknown tagged fields never round-tripped"
    never_null = sorted(
        f"{owner.__name__}.{field}"
        for owner, field in all_fields(cls) - nullable_seen
        if type(None) in typing.get_args(hints(owner)[field])
    )
    assert not never_null, f"{cls.__name__}: annotated nullable, but never null: {never_null}"
    comments = version_comments(sys.modules[cls.__module__], max(versions))
    for (owner, field), found in sorted(seen_at.items(), key=lambda item: str(item[0])):
        if field == UNKNOWN_TAGGED:
            continue
        stated = comments[owner.__name__][field]
        assert stated == found, (
            f"{owner.__name__}.{field}: comment says v{sorted(stated)}, decoded at v{sorted(found)}"
        )


FIELD_LINE = re.compile(r"^    (\w+): (?:.*?)(?:  # (v\d+(?:\+|-\d+)?))?$")
COMMENT_LINE = re.compile(r"^    # (v\d+(?:\+|-\d+)?)$")
CLASS_LINE = re.compile(r"^class (\w+)\(")


@cache
def version_comments(module: types.ModuleType, latest: int) -> dict[str, dict[str, set[int]]]:
    """``{class: {field: versions}}`` read from the ``# v1+`` comments of a generated module."""
    out: dict[str, dict[str, set[int]]] = {}
    current: dict[str, set[int]] = {}
    pending: str | None = None
    for line in inspect.getsource(module).splitlines():
        if m := CLASS_LINE.match(line):
            current = out.setdefault(m.group(1), {})
        elif m := COMMENT_LINE.match(line):
            pending = m.group(1)
        elif (m := FIELD_LINE.match(line)) and not line.startswith('    """'):
            text = m.group(2) or pending
            assert text is not None, f"{module.__name__}: no version comment for {line.strip()}"
            pending = None
            lo_text, _, hi_text = text[1:].partition("-")
            if lo_text.endswith("+"):
                lo, hi = int(lo_text[:-1]), latest
            else:
                lo, hi = int(lo_text), int(hi_text or lo_text)
            current[m.group(1)] = set(range(lo, hi + 1))
    return out


def api_names() -> list[tuple[str, int]]:
    return sorted(pt.API_KEYS.items(), key=lambda item: item[1])


def api_classes() -> list[type]:
    return [typeddict(f"{n}{side}") for n in pt.API_KEYS for side in ("Request", "Response")]


def data_message_names() -> list[str]:
    """Generated classes that are no API's body and that no other class uses: data messages.

    A class the generator emitted but no body uses would land here too, and then fail
    :func:`test_data_message_types_match_decoded_bodies`: ``kaffe._core`` does not know it.
    """
    classes = generated_classes()
    nested = {inner for cls in classes.values() for inner in reachable(cls) - {cls}}
    apis = set(api_classes())
    return sorted(n for n, c in classes.items() if c not in nested and c not in apis)


def test_api_keys_match_the_codec() -> None:
    table = _core.api_versions_table()
    assert table, "the codec lists no APIs"
    for key, (name, _lo, _hi) in table.items():
        assert pt.API_KEYS.get(name) == key, f"API_KEYS[{name!r}] should be {key}"
    for name, key in pt.API_KEYS.items():
        constant = "API_" + re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).upper()
        assert getattr(pt, constant) == key, f"{constant} should be {key}"
        # An API the table leaves out (only unstable versions) must still be one the codec knows.
        if key not in table:
            assert supported_versions(request_roundtrip(key)), f"{name}: codec rejects it"


@pytest.mark.parametrize(("name", "api_key"), api_names())
def test_request_types_match_decoded_bodies(name: str, api_key: int) -> None:
    versions = supported_versions(request_roundtrip(api_key))
    table = _core.api_versions_table()
    if api_key in table:
        _, lo, hi = table[api_key]
        assert set(range(lo, hi + 1)) <= set(versions), f"{name}: versions {versions}"
    assert versions, f"{name}: the codec encodes no version of the request"
    exercise(typeddict(f"{name}Request"), request_roundtrip(api_key), versions)


@pytest.mark.parametrize(("name", "api_key"), api_names())
def test_response_types_match_decoded_bodies(name: str, api_key: int) -> None:
    versions = supported_versions(response_roundtrip(api_key))
    assert versions, f"{name}: the codec encodes no version of the response"
    exercise(typeddict(f"{name}Response"), response_roundtrip(api_key), versions)


def test_data_messages_are_found() -> None:
    names = data_message_names()
    # The consumer group protocol's messages are among them; kaffe's group code uses both.
    assert {"ConsumerProtocolAssignment", "ConsumerProtocolSubscription"} <= set(names)


@pytest.mark.parametrize("name", data_message_names())
def test_data_message_types_match_decoded_bodies(name: str) -> None:
    versions = supported_versions(data_roundtrip(name))
    assert versions, f"{name}: kaffe._core does not know this data message"
    exercise(typeddict(name), data_roundtrip(name), versions)


def test_uuid_and_records_annotations() -> None:
    """Spot checks: a UUID is 16 ``bytes``; records are ``bytes``, nullable where the spec says."""
    assert hints(pt.MetadataResponseTopic)["topic_id"] is bytes
    frame = _core.encode_response(3, 12, 1, {"topics": [{"topic_id": bytes(range(16))}]})
    _, body = _core.decode_response(3, 12, frame)
    assert body["topics"][0]["topic_id"] == bytes(range(16))
    assert hints(pt.PartitionProduceData)["records"] == bytes | None  # nullable 0+
    assert hints(pt.ShareFetchResponsePartitionData)["records"] is bytes  # nullable only in v0
    assert hints(pt.MetadataRequest)["topics"] == list[pt.MetadataRequestTopic] | None
