"""SCRAM client (RFC 5802, with SHA-256/SHA-512 as in RFC 7677 and Kafka's KIP-84).

Pure computation, no I/O: :class:`ScramClient` produces the client messages and checks the
server's. Kafka sends no channel binding (``gs2-header`` is ``n,,``) and does not apply SASLprep
to names or passwords, so neither does kaffe; ``=`` and ``,`` in the user name are escaped as
``=3D`` and ``=2C`` (RFC 5802 ``saslname``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable

from kaffe.errors import AuthenticationError, SaslAuthenticationFailedError

MIN_ITERATIONS = 4096
"""Fewer iterations than this (RFC 7677's minimum, also Kafka's) are refused."""

MAX_ITERATIONS = 1_000_000
"""More iterations than this are refused too: a hostile server must not make kaffe spin."""

_GS2_HEADER = "n,,"
_HASHES = {"sha1": "sha1", "sha256": "sha256", "sha512": "sha512"}


def default_nonce() -> str:
    """A fresh random client nonce (32 printable characters without ``,``)."""
    return secrets.token_urlsafe(24)


def saslname(name: str) -> str:
    """``name`` escaped for a SCRAM ``n=`` attribute."""
    return name.replace("=", "=3D").replace(",", "=2C")


def _attributes(message: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in message.split(","):
        key, sep, value = part.partition("=")
        if not sep or len(key) != 1:
            raise AuthenticationError(f"malformed SCRAM message from the broker: {part[:40]!r}")
        out.setdefault(key, value)
    return out


class ScramClient:
    """One SCRAM exchange: :meth:`client_first`, :meth:`client_final`, :meth:`verify_server_final`.

    Args:
        hash_name: ``"sha256"`` or ``"sha512"`` (``"sha1"`` for RFC 5802's test vector).
        login: the user name.
        password: the password.
        nonce: callable returning the client nonce; injectable for tests.
    """

    def __init__(
        self,
        hash_name: str,
        login: str,
        password: str,
        *,
        nonce: Callable[[], str] = default_nonce,
    ) -> None:
        """Prepare the exchange; nothing is computed until the messages are asked for."""
        if hash_name not in _HASHES:
            raise ValueError(f"unknown SCRAM hash {hash_name!r}")
        self._hash = _HASHES[hash_name]
        self._login = login
        self._password = password
        self._nonce = nonce()
        if not self._nonce or "," in self._nonce:
            raise ValueError("a SCRAM nonce must be non-empty and must not contain ','")
        self._client_first_bare = f"n={saslname(login)},r={self._nonce}"
        self._server_signature: bytes | None = None

    def __repr__(self) -> str:
        """Hash and login only."""
        return f"ScramClient({self._hash!r}, login={self._login!r})"

    def client_first(self) -> bytes:
        """The client-first message."""
        return (_GS2_HEADER + self._client_first_bare).encode("utf-8")

    def _hmac(self, key: bytes, data: bytes) -> bytes:
        return hmac.new(key, data, self._hash).digest()

    def client_final(self, server_first: bytes) -> bytes:
        """Check the server-first message and return the client-final message (with the proof).

        Raises:
            kaffe.AuthenticationError: malformed message, a server nonce that does not extend
                ours, a bad salt or an iteration count outside the accepted range.
            kaffe.SaslAuthenticationFailedError: the server sent an ``e=`` error.
        """
        try:
            text = server_first.decode("utf-8")
        except UnicodeDecodeError:
            raise AuthenticationError("SCRAM server-first message is not UTF-8") from None
        attrs = _attributes(text)
        if "e" in attrs:
            raise SaslAuthenticationFailedError(f"SCRAM server error: {attrs['e']}")
        if "m" in attrs:
            raise AuthenticationError("SCRAM server-first message has an unsupported extension")
        nonce = attrs.get("r", "")
        salt_b64 = attrs.get("s")
        iterations_text = attrs.get("i", "")
        if not nonce.startswith(self._nonce) or len(nonce) <= len(self._nonce):
            raise AuthenticationError("SCRAM server nonce does not extend the client nonce")
        if salt_b64 is None:
            raise AuthenticationError("SCRAM server-first message has no salt")
        try:
            salt = base64.b64decode(salt_b64, validate=True)
        except ValueError:
            raise AuthenticationError("SCRAM salt is not valid base64") from None
        if not iterations_text.isdigit():
            raise AuthenticationError("SCRAM iteration count is not a number")
        iterations = int(iterations_text)
        if iterations < MIN_ITERATIONS or iterations > MAX_ITERATIONS:
            raise AuthenticationError(
                f"SCRAM iteration count {iterations} is outside {MIN_ITERATIONS}..{MAX_ITERATIONS}"
            )
        salted = hashlib.pbkdf2_hmac(self._hash, self._password.encode("utf-8"), salt, iterations)
        client_key = self._hmac(salted, b"Client Key")
        stored_key = hashlib.new(self._hash, client_key).digest()
        channel = base64.b64encode(_GS2_HEADER.encode("ascii")).decode("ascii")
        without_proof = f"c={channel},r={nonce}"
        auth_message = f"{self._client_first_bare},{text},{without_proof}".encode()
        signature = self._hmac(stored_key, auth_message)
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        server_key = self._hmac(salted, b"Server Key")
        self._server_signature = self._hmac(server_key, auth_message)
        proof_b64 = base64.b64encode(proof).decode("ascii")
        return f"{without_proof},p={proof_b64}".encode("ascii")

    def verify_server_final(self, server_final: bytes) -> None:
        """Check the server's signature; raises :class:`kaffe.AuthenticationError` if wrong."""
        if self._server_signature is None:
            raise AuthenticationError("SCRAM server-final message before client-final")
        try:
            attrs = _attributes(server_final.decode("utf-8"))
        except UnicodeDecodeError:
            raise AuthenticationError("SCRAM server-final message is not UTF-8") from None
        if "e" in attrs:
            raise SaslAuthenticationFailedError(f"SCRAM server error: {attrs['e']}")
        try:
            verifier = base64.b64decode(attrs.get("v", ""), validate=True)
        except ValueError:
            raise AuthenticationError("SCRAM server signature is not valid base64") from None
        if not verifier or not hmac.compare_digest(verifier, self._server_signature):
            raise AuthenticationError(
                "SCRAM server signature does not match: the broker does not know the password "
                "(or is not the broker it claims to be)"
            )
