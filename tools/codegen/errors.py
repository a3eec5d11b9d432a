"""Kafka's error-code table as read from the jar, and the kaffe class each code becomes.

The facts (code, name, retriable, default message) come from ``java/KafkaErrorCodes.java`` run
against the pinned jar. The two choices here are kaffe's own: the class name (Kafka's name in
CamelCase with an ``Error`` suffix, a trailing ``_EXCEPTION``/``_ERROR`` dropped; code 2 is
``CorruptRecordError``) and the base class (``kaffe.errors.KafkaError`` unless a rule below
puts the code under a client-side base too).
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import SpecError

KAFKA_BASE = "KafkaError"

CLASS_NAMES = {"CORRUPT_MESSAGE": "CorruptRecordError"}
"""Codes whose class is not named by the CamelCase rule."""

BASES = {
    "CORRUPT_MESSAGE": "ProtocolError",
    "REQUEST_TIMED_OUT": "KafkaTimeoutError",
}
"""Codes whose class derives from a kaffe base named here (besides the rules of :func:`base`)."""


@dataclass(frozen=True)
class ErrorSpec:
    """One entry of ``org.apache.kafka.common.protocol.Errors``."""

    code: int
    name: str
    retriable: bool
    message: str

    @property
    def class_name(self) -> str:
        """The kaffe class of this code (``NOT_COORDINATOR`` -> ``NotCoordinatorError``)."""
        special = CLASS_NAMES.get(self.name)
        if special is not None:
            return special
        stem = self.name
        for suffix in ("_EXCEPTION", "_ERROR"):
            stem = stem.removesuffix(suffix)
        return "".join(part.capitalize() for part in stem.split("_")) + "Error"

    @property
    def base(self) -> str:
        """The ``kaffe.errors`` base class of :attr:`class_name`."""
        if self.name in BASES:
            return BASES[self.name]
        if self.name.endswith("_AUTHORIZATION_FAILED"):
            return "AuthorizationError"
        if "SASL" in self.name.split("_"):
            return "AuthenticationError"
        return KAFKA_BASE


def parse_error_table(text: str) -> list[ErrorSpec]:
    """Parse ``KafkaErrorCodes.java``'s output (code, NAME, retriable, message; tab separated)."""
    specs: list[ErrorSpec] = []
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.split("\t")
        if len(parts) != 4 or parts[2] not in ("true", "false") or not parts[1].isupper():
            raise SpecError(f"KafkaErrorCodes line {number}: cannot parse {line!r}")
        try:
            code = int(parts[0])
        except ValueError as exc:
            raise SpecError(f"KafkaErrorCodes line {number}: bad code {parts[0]!r}") from exc
        specs.append(ErrorSpec(code, parts[1], parts[2] == "true", parts[3].strip()))
    if not specs:
        raise SpecError("KafkaErrorCodes printed no error codes")
    for what, values in (
        ("code", [s.code for s in specs]),
        ("name", [s.name for s in specs]),
        ("class name", [s.class_name for s in specs]),
    ):
        if len(set(values)) != len(values):
            raise SpecError(f"KafkaErrorCodes: two error codes share a {what}")
    if not any(s.code == 0 and s.name == "NONE" for s in specs):
        raise SpecError("KafkaErrorCodes: no code 0 NONE")
    return sorted(specs, key=lambda s: s.code)
