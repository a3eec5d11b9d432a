"""The facts kept from Kafka's message specs, and their validation.

Only what a codec needs survives: names, types, version ranges, nullability, tags, defaults and
the ``ignorable`` flag. The specs' prose (``about``), ``mapKey``, ``entityType``, ``zeroCopy`` and
``listeners`` are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

MAX_VERSION = 32767
"""An open-ended range such as ``"3+"`` ends at ``i16::MAX``."""

PRIMITIVES = (
    "bool",
    "int8",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "float64",
    "string",
    "bytes",
    "records",
    "uuid",
)

INT_RANGES: dict[str, tuple[int, int]] = {
    "int8": (-(1 << 7), (1 << 7) - 1),
    "int16": (-(1 << 15), (1 << 15) - 1),
    "uint16": (0, (1 << 16) - 1),
    "int32": (-(1 << 31), (1 << 31) - 1),
    "uint32": (0, (1 << 32) - 1),
    "int64": (-(1 << 63), (1 << 63) - 1),
}

MessageKind = Literal["request", "response", "header", "data"]


class SpecError(ValueError):
    """A message spec that this generator cannot represent faithfully."""


@dataclass(frozen=True)
class Versions:
    """An inclusive version range; ``lo > hi`` means no version at all."""

    lo: int
    hi: int

    @classmethod
    def parse(cls, text: object, what: str) -> Versions:
        """Parse ``"none"``, ``"N"``, ``"N+"`` or ``"N-M"``."""
        if not isinstance(text, str):
            raise SpecError(f"{what}: version range must be a string, got {text!r}")
        s = text.strip()
        if s == "none":
            return NONE
        m = re.fullmatch(r"(\d+)(\+|-(\d+))?", s)
        if m is None:
            raise SpecError(f"{what}: bad version range {text!r}")
        lo = int(m.group(1))
        if m.group(2) is None:
            hi = lo
        elif m.group(2) == "+":
            hi = MAX_VERSION
        else:
            hi = int(m.group(3))
        if lo > MAX_VERSION or hi > MAX_VERSION or lo > hi:
            raise SpecError(f"{what}: bad version range {text!r}")
        return cls(lo, hi)

    @property
    def empty(self) -> bool:
        """True for the range that contains no version."""
        return self.lo > self.hi

    def contains(self, other: Versions) -> bool:
        """True if every version of ``other`` is in this range."""
        return other.empty or (self.lo <= other.lo and other.hi <= self.hi)

    def intersect(self, other: Versions) -> Versions:
        """The versions in both ranges."""
        lo = max(self.lo, other.lo)
        hi = min(self.hi, other.hi)
        return Versions(lo, hi) if lo <= hi else NONE


NONE = Versions(0, -1)


@dataclass(frozen=True)
class Default:
    """A field default: ``kind`` is ``zero`` (the type's zero value), ``null``, or a literal."""

    kind: Literal["zero", "null", "bool", "int", "float", "str"]
    value: bool | int | float | str | None = None


@dataclass
class FieldSpec:
    """One field of a struct, as far as the wire format is concerned."""

    name: str
    """snake_case name (the spec's PascalCase name converted)."""
    spec_name: str
    type: str
    """A primitive name, a struct name, or ``[]`` followed by either."""
    versions: Versions
    nullable_versions: Versions
    tagged_versions: Versions
    tag: int | None
    flexible_versions: Versions | None
    default: Default
    ignorable: bool

    @property
    def is_array(self) -> bool:
        """True for ``[]X`` fields."""
        return self.type.startswith("[]")

    @property
    def element_type(self) -> str:
        """The element type of an array, or the type itself."""
        return self.type[2:] if self.is_array else self.type


@dataclass
class StructSpec:
    """A struct: the message body, an inline struct or one of the ``commonStructs``."""

    name: str
    versions: Versions
    fields: list[FieldSpec] = field(default_factory=list)


@dataclass
class MessageSpec:
    """One ``*.json`` file: a request, a response, a header or a data message."""

    file_name: str
    name: str
    kind: MessageKind
    api_key: int | None
    valid_versions: Versions
    flexible_versions: Versions
    deprecated_versions: Versions
    latest_version_unstable: bool
    body: StructSpec
    structs: dict[str, StructSpec]
    """Every named struct of the file (inline and common), in definition order."""


def snake_case(name: str) -> str:
    """Convert a spec field name (``ThrottleTimeMs``, ``KRaftVersion``) to snake_case.

    An underscore goes before each capital that follows a lower-case letter or a digit, so runs of
    capitals stay together: ``KRaftVersion`` -> ``kraft_version``, ``IsrNodes`` -> ``isr_nodes``.
    """
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", name):
        raise SpecError(f"unexpected field name {name!r}")
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _parse_int(text: object, what: str) -> int:
    if isinstance(text, bool):
        raise SpecError(f"{what}: boolean where an integer default was expected")
    if isinstance(text, int):
        return text
    if not isinstance(text, str):
        raise SpecError(f"{what}: bad integer default {text!r}")
    s = text.strip()
    neg = s.startswith("-")
    body = s[1:] if neg else s
    if re.fullmatch(r"0[xX][0-9a-fA-F]+", body):
        value = int(body, 16)
    elif re.fullmatch(r"0[0-7]+", body):
        value = int(body, 8)
    elif re.fullmatch(r"\d+", body):
        value = int(body, 10)
    else:
        raise SpecError(f"{what}: bad integer default {text!r}")
    return -value if neg else value


def _parse_default(raw: dict[str, Any], type_name: str, what: str) -> Default:
    if "default" not in raw:
        # Kafka: records default to null; everything else to the type's zero value.
        return Default("null") if type_name == "records" else Default("zero")
    value = raw["default"]
    if value == "null" or value is None:
        if type_name in ("bool", "float64") or type_name in INT_RANGES:
            raise SpecError(f"{what}: null default on a {type_name} field")
        return Default("null")
    if type_name in INT_RANGES:
        number = _parse_int(value, what)
        lo, hi = INT_RANGES[type_name]
        if not lo <= number <= hi:
            raise SpecError(f"{what}: default {number} out of range for {type_name}")
        return Default("int", number)
    if type_name == "bool":
        if isinstance(value, bool):
            return Default("bool", value)
        if value in ("true", "false"):
            return Default("bool", value == "true")
        raise SpecError(f"{what}: bad boolean default {value!r}")
    if type_name == "float64":
        try:
            return Default("float", float(value))
        except (TypeError, ValueError) as exc:
            raise SpecError(f"{what}: bad float default {value!r}") from exc
    if type_name == "string":
        if not isinstance(value, str):
            raise SpecError(f"{what}: bad string default {value!r}")
        return Default("str", value)
    raise SpecError(f"{what}: a default of {value!r} is not supported for {type_name}")


class _Parser:
    """Parses one spec file; collects its named structs."""

    def __init__(self, file_name: str, flexible: Versions) -> None:
        self.file_name = file_name
        self.flexible = flexible
        self.structs: dict[str, StructSpec] = {}
        self.common: dict[str, dict[str, Any]] = {}

    def parse_fields(
        self, raw_fields: object, owner: str, owner_versions: Versions
    ) -> list[FieldSpec]:
        if not isinstance(raw_fields, list):
            raise SpecError(f"{self.file_name}: {owner}: 'fields' must be a list")
        fields: list[FieldSpec] = []
        seen_names: set[str] = set()
        seen_tags: set[int] = set()
        for raw in raw_fields:
            spec = self.parse_field(raw, owner, owner_versions)
            if spec.name in seen_names:
                raise SpecError(f"{self.file_name}: {owner}: duplicate field {spec.name}")
            seen_names.add(spec.name)
            if spec.tag is not None:
                if spec.tag in seen_tags:
                    raise SpecError(f"{self.file_name}: {owner}: duplicate tag {spec.tag}")
                seen_tags.add(spec.tag)
            fields.append(spec)
        return fields

    def parse_field(self, raw: object, owner: str, owner_versions: Versions) -> FieldSpec:
        if not isinstance(raw, dict):
            raise SpecError(f"{self.file_name}: {owner}: field is not an object")
        spec_name = raw.get("name")
        type_name = raw.get("type")
        if not isinstance(spec_name, str) or not isinstance(type_name, str):
            raise SpecError(f"{self.file_name}: {owner}: field without name or type")
        what = f"{self.file_name}: {owner}.{spec_name}"
        versions = Versions.parse(raw.get("versions"), what + " versions")
        nullable = (
            Versions.parse(raw["nullableVersions"], what + " nullableVersions")
            if "nullableVersions" in raw
            else NONE
        )
        tagged = (
            Versions.parse(raw["taggedVersions"], what + " taggedVersions")
            if "taggedVersions" in raw
            else NONE
        )
        tag: int | None = None
        if "tag" in raw:
            tag_value = raw["tag"]
            if not isinstance(tag_value, int) or isinstance(tag_value, bool) or tag_value < 0:
                raise SpecError(f"{what}: bad tag {tag_value!r}")
            tag = tag_value
        if (tag is None) != tagged.empty:
            raise SpecError(f"{what}: 'tag' and 'taggedVersions' must be given together")
        flexible_override = (
            Versions.parse(raw["flexibleVersions"], what + " flexibleVersions")
            if "flexibleVersions" in raw
            else None
        )
        field_flexible = flexible_override if flexible_override is not None else self.flexible
        if not field_flexible.contains(tagged):
            raise SpecError(f"{what}: taggedVersions outside the flexible versions")
        is_array = type_name.startswith("[]")
        element = type_name[2:] if is_array else type_name
        if element.startswith("[]"):
            raise SpecError(f"{what}: nested arrays are not part of the protocol")
        if flexible_override is not None and element not in ("string", "bytes"):
            raise SpecError(f"{what}: a field-level flexibleVersions only applies to strings/bytes")
        if element not in PRIMITIVES:
            self.define_struct(element, raw.get("fields"), versions, what)
        elif "fields" in raw:
            raise SpecError(f"{what}: primitive type {element} with nested fields")
        if element == "records" and is_array:
            raise SpecError(f"{what}: arrays of records are not supported")
        if not nullable.empty and not is_array and element in ("bool", "float64", *INT_RANGES):
            raise SpecError(f"{what}: {element} fields cannot be nullable")
        default = _parse_default(raw, "array" if is_array else element, what)
        # Kafka's rule: a null default needs the field nullable in all its versions. Records
        # default to null implicitly; Kafka lets that pass, and so do we.
        present = versions.intersect(owner_versions)
        if default.kind == "null" and element != "records" and not nullable.contains(present):
            raise SpecError(f"{what}: null default but not nullable in every version")
        ignorable = raw.get("ignorable", False)
        if not isinstance(ignorable, bool):
            raise SpecError(f"{what}: 'ignorable' must be a boolean")
        return FieldSpec(
            name=snake_case(spec_name),
            spec_name=spec_name,
            type=type_name,
            versions=versions,
            nullable_versions=nullable,
            tagged_versions=tagged,
            tag=tag,
            flexible_versions=flexible_override,
            default=default,
            ignorable=ignorable,
        )

    def define_struct(self, name: str, raw_fields: object, versions: Versions, what: str) -> None:
        if raw_fields is None:
            # A reference to one of the file's commonStructs.
            if name not in self.common:
                raise SpecError(f"{what}: unknown struct type {name}")
            if name not in self.structs:
                common = self.common[name]
                struct = StructSpec(
                    name, Versions.parse(common.get("versions"), f"{what} ({name} versions)")
                )
                self.structs[name] = struct
                struct.fields = self.parse_fields(common.get("fields"), name, struct.versions)
            return
        if name in self.structs or name in self.common:
            raise SpecError(f"{what}: struct {name} is defined twice")
        struct = StructSpec(name, versions)
        self.structs[name] = struct
        struct.fields = self.parse_fields(raw_fields, name, versions)


def parse_message(file_name: str, doc: object) -> MessageSpec:
    """Build a :class:`MessageSpec` from one parsed spec file."""
    if not isinstance(doc, dict):
        raise SpecError(f"{file_name}: top level is not an object")
    kind = doc.get("type")
    if kind not in ("request", "response", "header", "data"):
        raise SpecError(f"{file_name}: unknown message type {kind!r}")
    name = doc.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Z][A-Za-z0-9]*", name):
        raise SpecError(f"{file_name}: bad message name {name!r}")
    api_key = doc.get("apiKey")
    if kind in ("request", "response"):
        if not isinstance(api_key, int) or isinstance(api_key, bool) or not 0 <= api_key < 32768:
            raise SpecError(f"{file_name}: bad apiKey {api_key!r}")
    elif api_key is not None:
        raise SpecError(f"{file_name}: apiKey on a {kind} message")
    valid = Versions.parse(doc.get("validVersions"), f"{file_name} validVersions")
    flexible = Versions.parse(doc.get("flexibleVersions", "none"), f"{file_name} flexibleVersions")
    deprecated = Versions.parse(
        doc.get("deprecatedVersions", "none"), f"{file_name} deprecatedVersions"
    )
    unstable = doc.get("latestVersionUnstable", False)
    if not isinstance(unstable, bool):
        raise SpecError(f"{file_name}: latestVersionUnstable must be a boolean")
    parser = _Parser(file_name, flexible)
    raw_common = doc.get("commonStructs", [])
    if not isinstance(raw_common, list):
        raise SpecError(f"{file_name}: commonStructs must be a list")
    for common in raw_common:
        if not isinstance(common, dict) or not isinstance(common.get("name"), str):
            raise SpecError(f"{file_name}: bad commonStructs entry")
        parser.common[common["name"]] = common
    body = StructSpec(name, valid)
    body.fields = parser.parse_fields(doc.get("fields", []), name, valid)
    if name in parser.structs:
        raise SpecError(f"{file_name}: a struct has the same name as the message")
    _check_acyclic(file_name, parser.structs)
    return MessageSpec(
        file_name=file_name,
        name=name,
        kind=kind,
        api_key=api_key if isinstance(api_key, int) else None,
        valid_versions=valid,
        flexible_versions=flexible,
        deprecated_versions=deprecated,
        latest_version_unstable=unstable,
        body=body,
        structs=parser.structs,
    )


def _check_acyclic(file_name: str, structs: dict[str, StructSpec]) -> None:
    """Reject a struct that contains itself: the codec's recursion must be bounded."""
    state: dict[str, int] = {}

    def visit(name: str) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise SpecError(f"{file_name}: struct {name} contains itself")
        state[name] = 1
        for spec in structs[name].fields:
            if spec.element_type in structs:
                visit(spec.element_type)
        state[name] = 2

    for struct_name in structs:
        visit(struct_name)
