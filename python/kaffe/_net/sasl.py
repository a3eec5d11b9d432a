"""SASL authentication on a broker connection: SaslHandshake v1, then SaslAuthenticate.

Mechanisms: ``PLAIN`` and ``SCRAM-SHA-256``/``SCRAM-SHA-512`` (see :mod:`kaffe._net.scram`).
The caller passes a ``send(api_key, body)`` coroutine that performs one request on the
connection; this module only knows the exchange. It returns the session lifetime the broker
granted (KIP-368), ``0`` if none.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from kaffe._net.scram import ScramClient
from kaffe._protocol import ApiKey
from kaffe.config import SaslSettings
from kaffe.errors import (
    AuthenticationError,
    SaslAuthenticationFailedError,
    UnsupportedSaslMechanismError,
    for_code,
)

log = logging.getLogger("kaffe.net")

Send = Callable[[int, dict[str, Any]], Awaitable[dict[str, Any]]]
"""``send(api_key, body) -> response body``: one request on the connection being set up."""

MECHANISMS = {
    "plain": "PLAIN",
    "scram_sha_256": "SCRAM-SHA-256",
    "scram_sha_512": "SCRAM-SHA-512",
}
_SCRAM_HASH = {"scram_sha_256": "sha256", "scram_sha_512": "sha512"}


def plain_message(login: str, password: str) -> bytes:
    """RFC 4616 PLAIN: empty authorization id, NUL, login, NUL, password."""
    return b"\x00" + login.encode("utf-8") + b"\x00" + password.encode("utf-8")


async def _authenticate(send: Send, mechanism: str, login: str, auth_bytes: bytes) -> Any:
    body = await send(ApiKey.SASL_AUTHENTICATE, {"auth_bytes": auth_bytes})
    code = int(body.get("error_code", 0))
    if code != 0:
        message = body.get("error_message") or "no message"
        detail = f"{message} (mechanism {mechanism}, user {login!r})"
        err = for_code(code, detail)
        if not isinstance(err, AuthenticationError):
            err = SaslAuthenticationFailedError(str(err))
        raise err
    return body


async def authenticate(send: Send, options: SaslSettings) -> int:
    """Run the whole SASL exchange; returns the session lifetime in ms (``0``: unlimited).

    Raises:
        kaffe.UnsupportedSaslMechanismError: the broker does not enable the mechanism.
        kaffe.SaslAuthenticationFailedError: wrong credentials; carries the broker's message.
        kaffe.AuthenticationError: a SCRAM message from the broker fails the checks.
    """
    mechanism = MECHANISMS.get(options.mechanism)
    if mechanism is None:
        raise AuthenticationError(f"unknown SASL mechanism {options.mechanism!r}")
    handshake = await send(ApiKey.SASL_HANDSHAKE, {"mechanism": mechanism})
    code = int(handshake.get("error_code", 0))
    if code != 0:
        enabled = ", ".join(handshake.get("mechanisms") or []) or "none"
        err = for_code(code, f"the broker does not enable {mechanism}; it enables: {enabled}")
        if not isinstance(err, AuthenticationError):
            err = UnsupportedSaslMechanismError(str(err))
        raise err
    if options.mechanism == "plain":
        body = await _authenticate(
            send, mechanism, options.login, plain_message(options.login, options.password)
        )
    else:
        scram = ScramClient(_SCRAM_HASH[options.mechanism], options.login, options.password)
        first = await _authenticate(send, mechanism, options.login, scram.client_first())
        final = scram.client_final(bytes(first.get("auth_bytes") or b""))
        body = await _authenticate(send, mechanism, options.login, final)
        scram.verify_server_final(bytes(body.get("auth_bytes") or b""))
    lifetime = int(body.get("session_lifetime_ms") or 0)
    log.debug(
        "SASL %s authenticated as %r (session lifetime %d ms)", mechanism, options.login, lifetime
    )
    return lifetime
