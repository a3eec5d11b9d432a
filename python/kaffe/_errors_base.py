"""The bases of the kaffe exception hierarchy; import them from :mod:`kaffe.errors`.

This module holds what the generated per-code classes (``kaffe._protocol.error_classes``) derive
from: :class:`KafkaError` with its code registry, and the client-side bases tools/codegen/errors.py
puts some codes under (:class:`ProtocolError`, :class:`AuthenticationError`,
:class:`AuthorizationError`, :class:`KafkaTimeoutError`). It sits below both that module and
:mod:`kaffe.errors`, so neither imports the other back. :mod:`kaffe.errors` re-exports every class
here and names itself their module, so tracebacks, reprs and pickles say ``kaffe.errors``.
"""

from __future__ import annotations

import builtins

__all__ = [
    "AuthenticationError",
    "AuthorizationError",
    "KafkaError",
    "KafkaTimeoutError",
    "ProtocolError",
]

_BY_CODE: dict[int, type[KafkaError]] = {}
"""Every class that sets ``code`` in its own body, by that code (``__init_subclass__`` fills it)."""


class KafkaError(Exception):
    """Base class of every exception kaffe raises on purpose.

    Attributes:
        retriable: whether retrying the failed operation unchanged may succeed. The class
            attribute is the default for that kind of error; pass ``retriable=`` to the
            constructor to override it for one instance.
        code: the Kafka protocol error code this error stands for, or ``None`` for errors
            detected on the client side that have no Kafka error code. Subclasses for a
            specific Kafka error code set it as a class attribute; ``code=`` overrides it for
            one instance (for example a broker code that has no named subclass yet).
    """

    retriable: bool = False
    code: int | None = None

    def __init__(
        self, *args: object, code: int | None = None, retriable: bool | None = None
    ) -> None:
        """Create the error.

        Args:
            *args: the message (and any further arguments), as for :class:`Exception`.
            code: a Kafka error code for this instance, overriding the class value.
            retriable: overrides the class's ``retriable`` for this instance.
        """
        super().__init__(*args)
        if code is not None:
            self.code = code
        if retriable is not None:
            self.retriable = retriable

    def __init_subclass__(cls, **kwargs: object) -> None:
        """Register subclasses that define a Kafka error code in their own body."""
        super().__init_subclass__(**kwargs)
        code = cls.__dict__.get("code")
        if code is None:
            return
        if not isinstance(code, int) or isinstance(code, bool):
            raise TypeError(f"{cls.__qualname__}.code must be an int, got {code!r}")
        existing = _BY_CODE.get(code)
        if existing is not None:
            raise TypeError(
                f"Kafka error code {code} is claimed by both {existing.__qualname__} "
                f"and {cls.__qualname__}"
            )
        _BY_CODE[code] = cls


class ProtocolError(KafkaError):
    """Bytes received from the network that do not follow the Kafka protocol.

    Raised for a malformed response frame, an impossible length field or an unknown version.
    Retrying the same request is unlikely to help, so ``retriable`` is ``False``.
    """


class AuthenticationError(KafkaError):
    """TLS or SASL authentication with a broker failed.

    Not retriable: the same credentials fail the same way again.
    """


class KafkaTimeoutError(KafkaError, builtins.TimeoutError):
    """An operation did not complete within its deadline.

    It is also a :class:`TimeoutError`. Retriable: the operation may complete given more time.
    """

    retriable = True


class AuthorizationError(KafkaError):
    """The broker refused an operation the authenticated principal is not allowed to do.

    Base class of the ``*_AUTHORIZATION_FAILED`` error codes. Not retriable.
    """
