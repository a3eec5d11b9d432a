"""TLS failures on broker connections: turning handshake errors into kaffe's TLS errors.

The ``SSLContext`` itself is built from the ``ssl`` setting by
:func:`kaffe.config.build_ssl_context` (when the configuration is checked, so an unreadable file
is a ``ConfigError`` before any connection). Connections always pass ``server_hostname=host``,
so SNI is sent whether or not the hostname is checked.

Handshake failures become :class:`kaffe.errors.TLSError` subclasses (see
:func:`classify_handshake_error` and :func:`client_certificate_rejected`).
"""

from __future__ import annotations

import ssl

from kaffe.config import has_client_certificate
from kaffe.errors import (
    BrokerCertificateError,
    ClientCertificateRejectedError,
    TLSError,
)

# OpenSSL X509_V_ERR_* codes
_X509_CERT_NOT_YET_VALID = 9
_X509_CERT_HAS_EXPIRED = 10
_X509_HOSTNAME_MISMATCH = 62
_X509_EMAIL_MISMATCH = 63
_X509_IP_ADDRESS_MISMATCH = 64

REJECTED_MESSAGE = "the broker rejected the TLS client certificate (missing, untrusted or expired?)"


def _alert(exc: BaseException) -> str | None:
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str) and "ALERT" in reason:
        return reason
    return None


def classify_handshake_error(
    exc: BaseException, host: str, port: int, ctx: ssl.SSLContext | None = None
) -> TLSError | None:
    """A kaffe error for an exception raised by the TLS handshake, or ``None`` if not TLS.

    A certificate verification failure on kaffe's side is a :class:`BrokerCertificateError`
    (reason ``untrusted``, ``expired`` or ``hostname``); a certificate alert from the broker
    (``bad_certificate``, ``certificate_unknown``, ``certificate_required``, ``unknown_ca``,
    ``certificate_expired``) a :class:`ClientCertificateRejectedError`.
    """
    where = f"{host}:{port}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        code = exc.verify_code
        message = exc.verify_message or str(exc)
        if code in (_X509_CERT_HAS_EXPIRED, _X509_CERT_NOT_YET_VALID):
            return BrokerCertificateError(
                f"the TLS certificate of broker {where} is expired or not yet valid ({message})",
                reason="expired",
            )
        if code in (_X509_HOSTNAME_MISMATCH, _X509_IP_ADDRESS_MISMATCH, _X509_EMAIL_MISMATCH):
            return BrokerCertificateError(
                f"the TLS certificate of broker {where} does not name {host!r} ({message}); "
                "set ssl check_hostname=False to verify the CA chain only",
                reason="hostname",
            )
        return BrokerCertificateError(
            f"the TLS certificate of broker {where} is not trusted: {message} (wrong CA? set "
            "ssl cafile or cadata to the broker's CA)",
            reason="untrusted",
        )
    if isinstance(exc, ssl.SSLError):
        alert = _alert(exc)
        if alert is not None and ("CERTIFICATE" in alert or "UNKNOWN_CA" in alert):
            return client_certificate_rejected(host, port, ctx, detail=alert)
        hint = ""
        if isinstance(exc, ssl.SSLEOFError) or getattr(exc, "reason", None) in (
            "WRONG_VERSION_NUMBER",
            "RECORD_LAYER_FAILURE",
            "UNEXPECTED_EOF_WHILE_READING",
        ):
            hint = " (is this a plaintext listener? then leave ssl off)"
        return TLSError(f"TLS handshake with broker {where} failed: {exc}{hint}")
    return None


def client_certificate_rejected(
    host: str, port: int, ctx: ssl.SSLContext | None, *, detail: str | None = None
) -> ClientCertificateRejectedError:
    """The error for a broker that ended the connection during or right after the handshake."""
    message = f"{REJECTED_MESSAGE}: broker {host}:{port}"
    if ctx is not None and has_client_certificate(ctx) is False:
        message += " (no client certificate is configured: set ssl certfile/keyfile or "
        message += "certdata/keydata)"
    if detail:
        message += f" [{detail}]"
    return ClientCertificateRejectedError(message)


def is_tls_alert(exc: BaseException) -> bool:
    """Whether ``exc`` is a TLS alert received from the peer."""
    return isinstance(exc, ssl.SSLError) and _alert(exc) is not None
