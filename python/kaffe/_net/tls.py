"""TLS for broker connections: building the ``SSLContext`` and explaining handshake failures.

:func:`build_ssl_context` turns the ``ssl`` setting of ``docs/api.md`` into a context:

* ``None``/``False``: no TLS (returns ``None``);
* ``True``: the system's CAs, the broker's hostname checked;
* an :class:`ssl.SSLContext`: used as is;
* a mapping (or :class:`kaffe.config.SslSettings`) with ``cafile``/``certfile``/``keyfile``
  (paths) or ``cadata``/``certdata``/``keydata`` (PEM contents, may be mixed with paths) and
  ``check_hostname`` (default ``True``). Without ``cafile``/``cadata`` the system CAs are used.
  PEM certificate/key *strings* are loaded through private temporary files (mode 0600) that are
  deleted right after loading.

``check_hostname=False`` (Heroku's case: ``KAFKA_TRUSTED_CERT`` as ``cadata``, certificates that
do not name the hosts) still verifies the broker's chain (``CERT_REQUIRED``); connections always
pass ``server_hostname=host``, so SNI is sent either way.

Handshake failures become :class:`kaffe.errors.TLSError` subclasses (see
:func:`classify_handshake_error` and :func:`client_certificate_rejected`).
"""

from __future__ import annotations

import os
import ssl
import tempfile
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any

from kaffe.errors import (
    BrokerCertificateError,
    ClientCertificateRejectedError,
    ConfigError,
    TLSError,
)

_KEYS = ("cafile", "certfile", "keyfile", "cadata", "certdata", "keydata", "check_hostname")

# Contexts built here -> whether they carry a client certificate (unknown for user contexts).
_HAS_CLIENT_CERT: weakref.WeakKeyDictionary[ssl.SSLContext, bool] = weakref.WeakKeyDictionary()

# OpenSSL X509_V_ERR_* codes
_X509_CERT_NOT_YET_VALID = 9
_X509_CERT_HAS_EXPIRED = 10
_X509_HOSTNAME_MISMATCH = 62
_X509_EMAIL_MISMATCH = 63
_X509_IP_ADDRESS_MISMATCH = 64

REJECTED_MESSAGE = "the broker rejected the TLS client certificate (missing, untrusted or expired?)"


def _get(setting: Any, name: str) -> Any:
    if isinstance(setting, Mapping):
        return setting.get(name)
    return getattr(setting, name, None)


@contextmanager
def _pem_file(pem: str, what: str) -> Iterator[str]:
    """A private temporary file holding ``pem``; deleted when the block ends."""
    fd, path = tempfile.mkstemp(prefix="kaffe-", suffix=".pem")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(pem)
        yield path
    except UnicodeEncodeError:
        raise ConfigError(f"config key 'ssl': {what} is not an ASCII PEM string") from None
    finally:
        with suppress(FileNotFoundError):
            os.unlink(path)


def build_ssl_context(setting: Any) -> ssl.SSLContext | None:
    """The :class:`ssl.SSLContext` for the ``ssl`` setting (see the module docstring).

    Args:
        setting: ``None``, ``False``, ``True``, an ``SSLContext``, a mapping with the keys
            ``cafile``, ``certfile``, ``keyfile``, ``cadata``, ``certdata``, ``keydata``,
            ``check_hostname``, or an object with those attributes (``SslSettings``).

    Returns:
        ``None`` for no TLS, otherwise a client context that verifies the broker.

    Raises:
        kaffe.ConfigError: a file or PEM string cannot be loaded, or an unknown mapping key. The
            message names the key, never PEM contents.
    """
    if setting is None or setting is False:
        return None
    if setting is True:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        _HAS_CLIENT_CERT[ctx] = False
        return ctx
    if isinstance(setting, ssl.SSLContext):
        return setting
    if isinstance(setting, Mapping):
        unknown = sorted(str(k) for k in setting if k not in _KEYS)
        if unknown:
            raise ConfigError(
                f"config key 'ssl': unknown key(s) {', '.join(unknown)}; allowed: "
                f"{', '.join(_KEYS)}"
            )
    cafile = _get(setting, "cafile")
    cadata = _get(setting, "cadata")
    certfile = _get(setting, "certfile")
    certdata = _get(setting, "certdata")
    keyfile = _get(setting, "keyfile")
    keydata = _get(setting, "keydata")
    check_hostname = _get(setting, "check_hostname")
    try:
        ctx = ssl.create_default_context(
            ssl.Purpose.SERVER_AUTH,
            cafile=os.fspath(cafile) if cafile is not None else None,
            cadata=cadata,
        )
    except (OSError, ssl.SSLError, ValueError) as exc:
        which = "cafile " + repr(os.fspath(cafile)) if cafile is not None else "cadata"
        raise ConfigError(
            f"config key 'ssl': could not load the CA certificates from {which}: {exc}"
        ) from None
    ctx.check_hostname = check_hostname is None or bool(check_hostname)
    ctx.verify_mode = ssl.CERT_REQUIRED
    has_cert = certfile is not None or certdata is not None
    if not has_cert and (keyfile is not None or keydata is not None):
        raise ConfigError(
            "config key 'ssl': a client key is set but no client certificate; allowed: "
            "certfile or certdata together with keyfile or keydata"
        )
    if has_cert:
        _load_client_cert(ctx, certfile, certdata, keyfile, keydata)
    _HAS_CLIENT_CERT[ctx] = has_cert
    return ctx


def _load_client_cert(
    ctx: ssl.SSLContext, certfile: Any, certdata: Any, keyfile: Any, keydata: Any
) -> None:
    what = "certfile " + repr(os.fspath(certfile)) if certfile is not None else "certdata"
    if keyfile is not None:
        what += " with keyfile " + repr(os.fspath(keyfile))
    elif keydata is not None:
        what += " with keydata"
    try:
        if certdata is not None and certfile is None:
            with _pem_file(str(certdata), "certdata") as cert_path:
                _load_key(ctx, cert_path, keyfile, keydata)
        else:
            _load_key(ctx, os.fspath(certfile), keyfile, keydata)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or type(exc)
        raise ConfigError(
            f"config key 'ssl': could not load the client certificate ({what}): {reason}"
        ) from None


def _load_key(ctx: ssl.SSLContext, cert_path: str, keyfile: Any, keydata: Any) -> None:
    if keyfile is not None:
        ctx.load_cert_chain(cert_path, os.fspath(keyfile))
    elif keydata is not None:
        with _pem_file(str(keydata), "keydata") as key_path:
            ctx.load_cert_chain(cert_path, key_path)
    else:
        ctx.load_cert_chain(cert_path)


def has_client_certificate(ctx: ssl.SSLContext) -> bool | None:
    """Whether ``ctx`` carries a client certificate; ``None`` if unknown (a user's context)."""
    return _HAS_CLIENT_CERT.get(ctx)


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
