"""The kaffe exception hierarchy.

Every error kaffe raises on purpose is a :class:`KafkaError`. Errors that a Kafka broker reports
with a numeric error code carry that code in :attr:`KafkaError.code`; errors detected on the
client side (bad configuration, a dropped connection, malformed bytes) have ``code = None``
unless they correspond exactly to a Kafka error code.

:attr:`KafkaError.retriable` says whether repeating the same operation may succeed. For the
per-error-code classes it follows Kafka's own table (``org.apache.kafka.common.protocol.Errors``).
An individual exception may override the class value, which kaffe does when the same Kafka error
means something different on the client side: ``CORRUPT_MESSAGE`` (:class:`CorruptRecordError`,
a :class:`ProtocolError`) is retriable as Kafka marks it, since a broker that returns it for a
produce request got bytes damaged on the way and a resend can succeed; but when kaffe's own record
decoder finds corrupt data in a fetch response, the instance it raises has ``retriable = False``:
the bytes came out of the broker's log, so fetching the same offset again fails the same way and
the consumer has to skip past the batch (or stop), as the Java consumer does.

Any subclass that sets ``code`` in its own body is registered automatically, so
:func:`error_class_for_code` finds it; two classes claiming the same code is an import-time error.

Every code in Kafka's table (:class:`kaffe._protocol.error_codes.ErrorCode`) has its class, named
after Kafka's name in CamelCase with an ``Error`` suffix (``NOT_LEADER_OR_FOLLOWER`` ->
:class:`NotLeaderOrFollowerError`; a trailing ``_EXCEPTION``/``_ERROR`` is dropped, and code 2 is
:class:`CorruptRecordError`). Those classes are generated from the pinned kafka-clients jar
(``make codegen`` writes ``kaffe/_protocol/error_classes.py``, documented with Kafka's default
message) and re-exported here; this module holds the bases they derive from and the lookups.
:func:`for_code` and :func:`raise_for_code` turn a code from a response into the exception. A few
codes also have a client-side base: the SASL codes are subclasses of :class:`AuthenticationError`,
the ``*_AUTHORIZATION_FAILED`` codes subclasses of :class:`AuthorizationError`,
``REQUEST_TIMED_OUT`` is a :class:`KafkaTimeoutError` and ``CORRUPT_MESSAGE`` a
:class:`ProtocolError`.

TLS handshake failures are :class:`TLSError` (a :class:`ConnectionError` that is not retriable):
:class:`BrokerCertificateError` when kaffe does not trust the broker's certificate,
:class:`ClientCertificateRejectedError` (also an :class:`AuthenticationError`) when the broker
refuses kaffe's client certificate.
"""

from __future__ import annotations

import builtins

from kaffe._protocol.error_codes import ERROR_CODES as _ERROR_CODES

__all__ = [
    "AuthenticationError",
    "AuthorizationError",
    "BrokerCertificateError",
    "ClientCertificateRejectedError",
    "ConfigError",
    "ConnectionError",
    "KafkaConnectionError",
    "KafkaError",
    "KafkaTimeoutError",
    "ProtocolError",
    "TLSError",
    "error_class_for_code",
    "for_code",
    "raise_for_code",
]
"""The hand-written names; the generated per-code classes are added at the end of the module."""

_BY_CODE: dict[int, type[KafkaError]] = {}


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


def error_class_for_code(code: int) -> type[KafkaError]:
    """Return the exception class registered for a Kafka error code.

    Unknown codes map to :class:`KafkaError` itself; the caller should then pass ``code=`` when
    raising, so the number is not lost.
    """
    return _BY_CODE.get(code, KafkaError)


class ProtocolError(KafkaError):
    """Bytes received from the network that do not follow the Kafka protocol.

    Raised for a malformed response frame, an impossible length field or an unknown version.
    Retrying the same request is unlikely to help, so ``retriable`` is ``False``.
    """


class ConfigError(KafkaError, ValueError):
    """A configuration key is unknown or has a value that is not allowed.

    The message names the key, the value given and what is allowed. It is also a
    :class:`ValueError`, so generic argument validation code catches it.
    """


class AuthenticationError(KafkaError):
    """TLS or SASL authentication with a broker failed.

    Not retriable: the same credentials fail the same way again.
    """


class ConnectionError(KafkaError):
    """A connection to a broker could not be made or was lost.

    The name deliberately matches kaffe's public API (``kaffe.ConnectionError``) and so shadows
    the builtin inside this module; :data:`KafkaConnectionError` is an alias for code that also
    uses the builtin. Retriable: another attempt (possibly to another broker) may succeed.
    """

    retriable = True


KafkaConnectionError = ConnectionError
"""Alias of :class:`kaffe.errors.ConnectionError` that does not shadow the builtin."""


class KafkaTimeoutError(KafkaError, builtins.TimeoutError):
    """An operation did not complete within its deadline.

    It is also a :class:`TimeoutError`. Retriable: the operation may complete given more time.
    """

    retriable = True


class AuthorizationError(KafkaError):
    """The broker refused an operation the authenticated principal is not allowed to do.

    Base class of the ``*_AUTHORIZATION_FAILED`` error codes. Not retriable.
    """


class TLSError(ConnectionError):
    """The TLS handshake with a broker failed.

    The message says why. Not retriable: the same certificates fail the same way again, so the
    connection pool backs off (``reconnect_backoff_max``) before trying that broker again.
    Subclasses tell the two sides apart: :class:`BrokerCertificateError` (kaffe did not trust the
    broker) and :class:`ClientCertificateRejectedError` (the broker did not accept kaffe).
    """

    retriable = False


class BrokerCertificateError(TLSError):
    """The broker's certificate failed verification.

    :attr:`reason` is ``"untrusted"`` (not signed by a trusted CA), ``"expired"`` (or not yet
    valid), ``"hostname"`` (does not name the host; see ``check_hostname``) or ``"other"``.
    """

    def __init__(
        self,
        *args: object,
        reason: str = "other",
        code: int | None = None,
        retriable: bool | None = None,
    ) -> None:
        """Create the error; ``reason`` is one of the values listed in the class docstring."""
        super().__init__(*args, code=code, retriable=retriable)
        self.reason = reason


class ClientCertificateRejectedError(TLSError, AuthenticationError):
    """The broker rejected kaffe's TLS client certificate (missing, untrusted or expired).

    It is both a :class:`TLSError` (so a :class:`ConnectionError`) and an
    :class:`AuthenticationError`: the broker refused to let kaffe in.
    """


def for_code(code: int, message: str | None = None, *, context: str | None = None) -> KafkaError:
    """The exception for a Kafka error code, as an instance of its named subclass.

    Args:
        code: the error code from a response (not ``0``, which means success).
        message: the broker's error message, if the response carried one. The exception's text
            is ``"NAME (code N): message"``.
        context: what failed (``"topic 'orders' partition 2"``), for kaffe's own layers; the
            text is then ``"context: NAME (error code N): message"``.

    A code kaffe does not know becomes a plain :class:`KafkaError` with ``code`` set, so it is
    never lost (a newer broker may send codes newer than kaffe's table). Its name in the text is
    ``UNKNOWN_ERROR_CODE`` (``UNKNOWN_ERROR_CODE_N`` with a ``context``).
    """
    if code == 0:
        raise ValueError("error code 0 (NONE) means success, not an error")
    cls = _BY_CODE.get(code)
    entry = _ERROR_CODES.get(code)
    if context is None:
        name = entry[0] if entry is not None else "UNKNOWN_ERROR_CODE"
        text = f"{name} (code {code})"
    else:
        name = entry[0] if entry is not None else f"UNKNOWN_ERROR_CODE_{code}"
        text = f"{context}: {name} (error code {code})"
    if message:
        text = f"{text}: {message}"
    if cls is None:
        return KafkaError(text, code=code)
    return cls(text)


def raise_for_code(code: int, message: str | None = None) -> None:
    """Raise :func:`for_code`'s exception, or do nothing when ``code`` is ``0``."""
    if code != 0:
        raise for_code(code, message)


# The per-code classes derive from the bases above, so they are imported last (the generated
# module imports those bases back from this one).
from kaffe._protocol import error_classes as _error_classes  # noqa: E402
from kaffe._protocol.error_classes import *  # noqa: E402, F403

__all__ += _error_classes.__all__
for _name in _error_classes.__all__:
    # Their public home is this module: tracebacks, reprs and pickles name kaffe.errors.
    getattr(_error_classes, _name).__module__ = __name__
del _name
