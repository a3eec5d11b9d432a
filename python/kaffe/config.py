"""Client configuration shared by every kaffe component.

Every component takes keyword arguments named like Kaffe's config keys, and a mapping with the same
keys. This module parses and validates the keys every client has (connection, security, metadata);
components add their own keys to :data:`CLIENT_KEYS` with :meth:`KeyTable.extend` and reuse the
same parsing, so errors look the same everywhere::

    PRODUCER_KEYS = CLIENT_KEYS.extend(
        ConfigKey("required_acks", -1, one_of(-1, 0, 1), "-1, 0 or 1"),
    )
    values = PRODUCER_KEYS.parse(kwargs, component="Producer")
    client = ClientConfig.from_parsed(values)

Unknown keys and bad values raise :class:`kaffe.ConfigError` naming the key, the value (secrets
masked) and what is allowed. Secrets (SASL passwords, private keys) never appear in ``repr()``,
``str()``, exceptions or logs.

Each concern has one settings type, validated here and only here: :class:`SslSettings` (the
``ssl`` option; :func:`build_ssl_context` turns it into an ``SSLContext``), :class:`SaslSettings`
(the ``sasl`` option), :class:`ClientConfig` (every client key) and :class:`ConnectionOptions`
(what each broker connection is made with, derived from a ``ClientConfig``). This module imports
nothing of kaffe but :mod:`kaffe.errors`, so every layer can use it.

Units follow brod, whose client keys these are: ``connect_timeout`` and ``request_timeout`` are in
milliseconds; keys with a unit suffix (``_ms``, ``_seconds``) say theirs.
"""

from __future__ import annotations

import difflib
import logging
import os
import ssl as _ssl
import tempfile
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, cast
from urllib.parse import urlsplit

from kaffe.errors import ConfigError

__all__ = [
    "CLIENT_KEYS",
    "REQUIRED",
    "ClientConfig",
    "ConfigKey",
    "ConnectionOptions",
    "Endpoint",
    "KeyTable",
    "SaslSettings",
    "SslSettings",
    "build_ssl_context",
    "has_client_certificate",
    "mask_value",
]

log = logging.getLogger("kaffe.config")

Endpoint = tuple[str, int]
"""A broker address: ``(host, port)``."""

SaslMechanism = Literal["plain", "scram_sha_256", "scram_sha_512"]
"""The SASL mechanisms kaffe speaks, in Kaffe's spelling."""

DEFAULT_MAX_FRAME_BYTES = 256 * 1024 * 1024
"""Largest response frame accepted (256 MiB); a bigger size prefix is a ``ProtocolError``."""

_MASK = "'***'"
REQUIRED: Any = object()
"""The default of a :class:`ConfigKey` that has none: :meth:`KeyTable.parse` gives it ``None``
when absent, and the component raises the "missing config key" error."""


# ------------------------------------------------------------------------------ plain settings


@dataclass(frozen=True)
class SslSettings:
    """TLS settings from the ``ssl`` option (or from Heroku's environment).

    Paths (``cafile``, ``certfile``, ``keyfile``) and PEM contents (``cadata``, ``certdata``,
    ``keydata``) may be mixed. No CA at all means the system's default CAs. ``check_hostname=False``
    still verifies the broker's certificate chain and still sends SNI.
    """

    cafile: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    cadata: str | None = None
    certdata: str | None = field(default=None, repr=False)
    keydata: str | None = field(default=None, repr=False)
    check_hostname: bool = True

    def __repr__(self) -> str:
        """Show which parts are set; never the PEM contents."""
        parts = [
            f"{name}={getattr(self, name)!r}"
            for name in ("cafile", "certfile", "keyfile")
            if getattr(self, name) is not None
        ]
        parts += [
            f"{name}=<{len(getattr(self, name))} chars>"
            for name in ("cadata", "certdata")
            if getattr(self, name) is not None
        ]
        if self.keydata is not None:
            parts.append("keydata=***")
        parts.append(f"check_hostname={self.check_hostname!r}")
        return f"SslSettings({', '.join(parts)})"


@dataclass(frozen=True)
class SaslSettings:
    """SASL credentials from the ``sasl`` option; the password never appears in ``repr()``."""

    mechanism: SaslMechanism
    login: str
    password: str = field(repr=False)

    def __repr__(self) -> str:
        """Mechanism and login only."""
        return f"SaslSettings(mechanism={self.mechanism!r}, login={self.login!r}, password=***)"


@dataclass(frozen=True)
class ConnectionOptions:
    """What every connection of a client is made with (see :meth:`ClientConfig.connection_options`).

    Attributes:
        client_id: sent in every request header.
        ssl_context: ``None`` for plaintext; see :func:`build_ssl_context`.
        sasl: SASL credentials, or ``None``.
        connect_timeout: seconds for TCP connect + TLS handshake + ApiVersions + SASL.
        request_timeout: default deadline of one request, in seconds.
        reconnect_backoff: first delay before reconnecting to a broker that failed, in seconds.
        reconnect_backoff_max: cap of the (exponential, jittered) reconnect delay, in seconds.
            Authentication failures wait at least this long before the next attempt.
        cap_versions: negotiate only the APIs kaffe's clients send, each at most at its
            :data:`kaffe._net.versions.CLIENT_MAX_VERSION` (``ClientConfig.connection_options``
            sets it). Off, every version the codec knows is negotiated (protocol tests, tools).
        api_version_overrides: ``api_key -> highest version to use``; only for exotic brokers.
        max_frame_bytes: the largest response frame accepted.
    """

    client_id: str = "kaffe"
    ssl_context: _ssl.SSLContext | None = None
    sasl: SaslSettings | None = None
    connect_timeout: float = 5.0
    request_timeout: float = 240.0
    reconnect_backoff: float = 0.1
    reconnect_backoff_max: float = 10.0
    cap_versions: bool = False
    api_version_overrides: Mapping[int, int] = field(default_factory=lambda: MappingProxyType({}))
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES


# ------------------------------------------------------------------------------ key table


Parser = Callable[[str, Any], Any]
"""``parser(key, value) -> normalised value``; raises :class:`ConfigError` (use :func:`bad`)."""


@dataclass(frozen=True)
class ConfigKey:
    """One configuration key: its default, its parser and what it allows.

    Attributes:
        name: the key, exactly as users spell it.
        default: the value when the key is absent (``None`` allowed); :data:`REQUIRED` makes it
            required (checked by the component, which knows the alternatives, e.g. Heroku's
            variables).
        parse: ``parse(key, value)`` returns the normalised value or raises ``ConfigError``.
        allowed: human text for errors ("an int >= 1", ...).
        secret: the value is never shown in errors or logs.
    """

    name: str
    default: Any
    parse: Parser
    allowed: str
    secret: bool = False


def mask_value(value: object, *, secret: bool = False) -> str:
    """``repr()`` of a config value for errors and logs, with secrets replaced by ``***``.

    Mappings have the values of secret-looking keys (password, key data, ...) masked.
    """
    if secret:
        return _MASK
    if isinstance(value, Mapping):
        shown = []
        for k, v in value.items():
            hidden = isinstance(k, str) and k.lower() in _SECRET_FIELDS
            shown.append(f"{k!r}: {_MASK if hidden else mask_value(v)}")
        return "{" + ", ".join(shown) + "}"
    text = repr(value)
    if len(text) > 200:
        text = text[:197] + "..."
    return text


_SECRET_FIELDS = frozenset({"password", "keydata", "key_password", "secret", "token"})


def bad(
    key: str, value: object, allowed: str, *, secret: bool = False, why: str = ""
) -> ConfigError:
    """The :class:`ConfigError` for a bad value: names the key, the (masked) value, what is
    allowed and optionally why."""
    reason = f" ({why})" if why else ""
    return ConfigError(
        f"invalid value for config key {key!r}: {mask_value(value, secret=secret)}{reason}; "
        f"allowed: {allowed}"
    )


class KeyTable:
    """An ordered, immutable set of :class:`ConfigKey` that parses a mapping of values."""

    def __init__(self, keys: Iterable[ConfigKey]) -> None:
        """Build the table; duplicate names are a programming error."""
        self._keys: dict[str, ConfigKey] = {}
        for key in keys:
            if key.name in self._keys:
                raise ValueError(f"config key {key.name!r} defined twice")
            self._keys[key.name] = key

    def extend(self, *keys: ConfigKey) -> KeyTable:
        """A new table with ``keys`` added (a key of the same name replaces the old one, so a
        component can change a default)."""
        merged = dict(self._keys)
        for key in keys:
            merged[key.name] = key
        return KeyTable(merged.values())

    def __contains__(self, name: object) -> bool:
        """Whether ``name`` is a key of this table."""
        return name in self._keys

    def __getitem__(self, name: str) -> ConfigKey:
        """The key called ``name``."""
        return self._keys[name]

    @property
    def names(self) -> tuple[str, ...]:
        """Every key name, in definition order."""
        return tuple(self._keys)

    def parse(self, values: Mapping[str, Any], *, component: str = "client") -> dict[str, Any]:
        """Validate ``values`` and return every key of the table, defaults filled in.

        Raises:
            ConfigError: for a key the table does not know (with close matches) or a bad value.
        """
        if not isinstance(values, Mapping):
            raise ConfigError(
                f"{component} configuration must be a mapping of key -> value, "
                f"got {type(values).__name__}"
            )
        out: dict[str, Any] = {}
        for name, raw in values.items():
            key = self._keys.get(name) if isinstance(name, str) else None
            if key is None:
                secret = isinstance(name, str) and name.lower() in _SECRET_FIELDS
                close = (
                    difflib.get_close_matches(name, self._keys, n=3)
                    if isinstance(name, str)
                    else []
                )
                hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
                raise ConfigError(
                    f"unknown config key {name!r} for {component} "
                    f"(value {mask_value(raw, secret=secret)}).{hint} "
                    f"Known keys: {', '.join(sorted(self._keys))}"
                )
            out[name] = key.parse(name, raw)
        for name, key in self._keys.items():
            if name not in out:
                out[name] = None if key.default is REQUIRED else key.default
        return out


# ------------------------------------------------------------------------------ parsers


def boolean(key: str, value: Any) -> bool:
    """A real ``bool`` (not ``0``/``1``, not a string)."""
    if not isinstance(value, bool):
        raise bad(key, value, "True or False")
    return value


def number(
    minimum: float, *, inclusive: bool = True, integer: bool = False, unit: str = ""
) -> Parser:
    """A parser for an int (or float unless ``integer``) ``>= minimum`` (``>`` if not inclusive);
    ``unit`` ("milliseconds") goes into the error text."""
    kind = "an int" if integer else "a number"
    op = ">=" if inclusive else ">"
    allowed = f"{kind}{f' of {unit}' if unit else ''} {op} {minimum:g}"

    def parse(key: str, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad(key, value, allowed)
        if integer and not isinstance(value, int):
            raise bad(key, value, allowed)
        num = float(value)
        ok = num >= minimum if inclusive else num > minimum
        if not ok or num != num or num in (float("inf"), float("-inf")):
            raise bad(key, value, allowed)
        return value

    return parse


def text(*, non_empty: bool = True, max_len: int = 32767) -> Parser:
    """A parser for a ``str`` (non-empty unless told otherwise, at most ``max_len`` chars)."""
    allowed = f"a {'non-empty ' if non_empty else ''}string of at most {max_len} characters"

    def parse(key: str, value: Any) -> str:
        if not isinstance(value, str) or (non_empty and not value) or len(value) > max_len:
            raise bad(key, value, allowed)
        return value

    return parse


def one_of(*choices: Any) -> Parser:
    """A parser accepting exactly one of ``choices`` (compared with ``==``, bools excluded)."""
    allowed = " | ".join(repr(c) for c in choices)

    def parse(key: str, value: Any) -> Any:
        for choice in choices:
            if type(value) is type(choice) and value == choice:
                return choice
        raise bad(key, value, allowed)

    return parse


# endpoints ---------------------------------------------------------------------------------

_ENDPOINTS_ALLOWED = (
    'a list of ("host", port) pairs, a mapping {"host": port}, a string "host:port,host2:port" '
    'or a URL string "kafka+ssl://host:port,kafka://host2:port"'
)
_SCHEMES = {"kafka": False, "kafka+ssl": True}


@dataclass(frozen=True)
class ParsedEndpoints:
    """The ``endpoints`` value: addresses and whether a URL scheme asked for TLS.

    ``tls`` is ``True`` if any entry used ``kafka+ssl://``, ``False`` if entries used only
    ``kafka://``, ``None`` if no entry had a scheme.
    """

    addresses: tuple[Endpoint, ...]
    tls: bool | None = None


def _port(key: str, whole: object, port: object) -> int:
    if isinstance(port, str):
        if not port.strip().isdigit():
            raise bad(key, whole, _ENDPOINTS_ALLOWED, why=f"port {port!r} is not a number")
        port = int(port.strip())
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise bad(key, whole, _ENDPOINTS_ALLOWED, why=f"port {port!r} is not in 1..65535")
    return port


def _host(key: str, whole: object, host: object) -> str:
    if not isinstance(host, str) or not host.strip() or any(c.isspace() for c in host.strip()):
        raise bad(key, whole, _ENDPOINTS_ALLOWED, why=f"host {host!r} is not a host name")
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host


def _split_host_port(key: str, whole: object, item: str) -> Endpoint:
    item = item.strip()
    host, sep, port = item.rpartition(":")
    if not sep or not host:
        raise bad(key, whole, _ENDPOINTS_ALLOWED, why=f"{item!r} is not host:port")
    if ":" in host and not (host.startswith("[") and host.endswith("]")):
        raise bad(key, whole, _ENDPOINTS_ALLOWED, why=f"IPv6 address in {item!r} needs [brackets]")
    return _host(key, whole, host), _port(key, whole, port)


def parse_endpoints(key: str, value: Any) -> ParsedEndpoints:
    """Parse every ``endpoints`` form of the API (see the module docs of :mod:`kaffe.config`)."""
    addresses: list[Endpoint] = []
    tls: bool | None = None
    if isinstance(value, str):
        items = [part for part in value.split(",") if part.strip()]
        if not items:
            raise bad(key, value, _ENDPOINTS_ALLOWED, why="no endpoint in it")
        for item in items:
            item = item.strip()
            if "://" in item:
                url = urlsplit(item)
                scheme = url.scheme.lower()
                if scheme not in _SCHEMES:
                    raise bad(
                        key,
                        value,
                        _ENDPOINTS_ALLOWED,
                        why=f"scheme {url.scheme!r} is not kafka:// or kafka+ssl://",
                    )
                if url.path not in ("", "/") or url.query or url.fragment:
                    raise bad(key, value, _ENDPOINTS_ALLOWED, why=f"{item!r} has a path or query")
                tls = bool(tls) or _SCHEMES[scheme]
                item = url.netloc.rpartition("@")[2]
            addresses.append(_split_host_port(key, value, item))
    elif isinstance(value, Mapping):
        if not value:
            raise bad(key, value, _ENDPOINTS_ALLOWED, why="empty")
        for host, port in value.items():
            addresses.append((_host(key, value, host), _port(key, value, port)))
    elif isinstance(value, list | tuple):
        if not value:
            raise bad(key, value, _ENDPOINTS_ALLOWED, why="empty")
        for item in value:
            if isinstance(item, str):
                addresses.append(_split_host_port(key, value, item))
            elif isinstance(item, list | tuple) and len(item) == 2:
                addresses.append((_host(key, value, item[0]), _port(key, value, item[1])))
            else:
                raise bad(key, value, _ENDPOINTS_ALLOWED, why=f"entry {item!r} is not (host, port)")
    else:
        raise bad(key, value, _ENDPOINTS_ALLOWED)
    unique = tuple(dict.fromkeys(addresses))  # keep order, drop repeats
    return ParsedEndpoints(unique, tls)


# ssl ---------------------------------------------------------------------------------------

_SSL_ALLOWED = (
    "False, True, an ssl.SSLContext, or a mapping with cafile/certfile/keyfile (paths) or "
    "cadata/certdata/keydata (PEM strings) and check_hostname"
)
_SSL_KEYS = ("cafile", "certfile", "keyfile", "cadata", "certdata", "keydata", "check_hostname")

SslOption = bool | _ssl.SSLContext | SslSettings | None
"""A parsed ``ssl`` value; ``None`` means the key was not given (treated as ``False``)."""


def _pem(key: str, name: str, raw: Any, marker: str, *, secret: bool) -> str:
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("ascii")
        except UnicodeDecodeError:
            raise bad(f"{key}.{name}", raw, "PEM text", secret=secret, why="not ASCII") from None
    if not isinstance(raw, str) or "-----BEGIN" not in raw or marker not in raw:
        block = marker.strip("-")
        raise bad(f"{key}.{name}", raw, f"PEM text with a {block} block", secret=secret)
    return raw


def _path(key: str, name: str, raw: Any) -> str:
    if not isinstance(raw, str | os.PathLike):
        raise bad(f"{key}.{name}", raw, "a path (str or os.PathLike) to a PEM file")
    path = os.fspath(raw)
    if not isinstance(path, str) or not os.path.isfile(path):
        raise bad(f"{key}.{name}", raw, "a path to an existing PEM file", why="no such file")
    return path


def parse_ssl(key: str, value: Any) -> SslOption:
    """Parse the ``ssl`` option into ``False``/``True``/an ``SSLContext``/:class:`SslSettings`.

    The one place TLS settings are checked: a mapping, and an :class:`SslSettings` built by
    hand, are checked alike (known keys, files that exist, PEM text, a key only with its
    certificate); loading them is :func:`build_ssl_context`'s job.
    """
    if isinstance(value, bool) or value is None:
        return bool(value)
    if isinstance(value, _ssl.SSLContext):
        return value
    if isinstance(value, SslSettings):
        value = {name: getattr(value, name) for name in _SSL_KEYS}
        value = {name: item for name, item in value.items() if item is not None}
    if not isinstance(value, Mapping):
        raise bad(key, value, _SSL_ALLOWED)
    for name in value:
        if name not in _SSL_KEYS:
            raise bad(
                key,
                value,
                _SSL_ALLOWED,
                why=(
                    f"unknown ssl key {name!r}: an unknown key is refused, not ignored; "
                    f"known: {', '.join(_SSL_KEYS)}"
                ),
            )
    check_hostname = value.get("check_hostname", True)
    if not isinstance(check_hostname, bool):
        raise bad(f"{key}.check_hostname", check_hostname, "True or False")
    cafile = _path(key, "cafile", value["cafile"]) if value.get("cafile") is not None else None
    certfile = (
        _path(key, "certfile", value["certfile"]) if value.get("certfile") is not None else None
    )
    keyfile = _path(key, "keyfile", value["keyfile"]) if value.get("keyfile") is not None else None
    cadata = (
        _pem(key, "cadata", value["cadata"], "CERTIFICATE-----", secret=False)
        if value.get("cadata") is not None
        else None
    )
    certdata = (
        _pem(key, "certdata", value["certdata"], "CERTIFICATE-----", secret=False)
        if value.get("certdata") is not None
        else None
    )
    keydata = (
        _pem(key, "keydata", value["keydata"], "PRIVATE KEY-----", secret=True)
        if value.get("keydata") is not None
        else None
    )
    if certfile is not None and certdata is not None:
        raise bad(key, value, _SSL_ALLOWED, why="give certfile or certdata, not both")
    if keyfile is not None and keydata is not None:
        raise bad(key, value, _SSL_ALLOWED, why="give keyfile or keydata, not both")
    if (keyfile is not None or keydata is not None) and certfile is None and certdata is None:
        raise bad(
            key,
            value,
            _SSL_ALLOWED,
            why="a private key needs its certificate: no client certificate (certfile or "
            "certdata) is set",
        )
    if (
        certdata is not None
        and keydata is None
        and keyfile is None
        and ("PRIVATE KEY-----" not in certdata)
    ):
        raise bad(key, value, _SSL_ALLOWED, why="certdata needs keydata (or a key inside it)")
    return SslSettings(
        cafile=cafile,
        certfile=certfile,
        keyfile=keyfile,
        cadata=cadata,
        certdata=certdata,
        keydata=keydata,
        check_hostname=check_hostname,
    )


# Contexts built here -> whether they carry a client certificate (unknown for user contexts).
_HAS_CLIENT_CERT: weakref.WeakKeyDictionary[_ssl.SSLContext, bool] = weakref.WeakKeyDictionary()


def build_ssl_context(setting: Any) -> _ssl.SSLContext | None:
    """The :class:`ssl.SSLContext` for an ``ssl`` setting.

    Args:
        setting: ``None`` or ``False`` (no TLS); ``True`` (the system's CAs, the broker's
            hostname checked); an ``SSLContext`` (used as is); a mapping with the keys
            ``cafile``, ``certfile``, ``keyfile`` (paths), ``cadata``, ``certdata``,
            ``keydata`` (PEM contents, may be mixed with paths) and ``check_hostname`` (default
            ``True``), or an :class:`SslSettings` (or any object with those attributes).
            Without ``cafile``/``cadata`` the system CAs are used. ``check_hostname=False``
            (Heroku's case: certificates that do not name the hosts) still verifies the
            broker's chain (``CERT_REQUIRED``); connections always send SNI.

    Returns:
        ``None`` for no TLS, otherwise a client context that verifies the broker. PEM strings
        are loaded through private temporary files (mode 0600) deleted right after loading.

    Raises:
        kaffe.ConfigError: the setting fails :func:`parse_ssl`'s checks, or a file or PEM
            string cannot be loaded. The message names the key, never PEM contents.
    """
    if setting is None or setting is False:
        return None
    if isinstance(setting, _ssl.SSLContext):
        return setting
    if setting is True:
        setting = SslSettings()
    elif not isinstance(setting, Mapping | SslSettings):
        found = {name: getattr(setting, name, None) for name in _SSL_KEYS}
        setting = {name: item for name, item in found.items() if item is not None}
    parsed = parse_ssl("ssl", setting)
    assert isinstance(parsed, SslSettings)
    return _context_for(parsed)


def has_client_certificate(ctx: _ssl.SSLContext) -> bool | None:
    """Whether ``ctx`` carries a client certificate; ``None`` if unknown (a user's context)."""
    return _HAS_CLIENT_CERT.get(ctx)


def _context_for(settings: SslSettings) -> _ssl.SSLContext:
    """Load checked settings into a new context (``ConfigError`` if a file or PEM won't load)."""
    try:
        ctx = _ssl.create_default_context(
            _ssl.Purpose.SERVER_AUTH, cafile=settings.cafile, cadata=settings.cadata
        )
    except (OSError, _ssl.SSLError, ValueError) as exc:
        which = f"cafile {settings.cafile!r}" if settings.cafile is not None else "cadata"
        raise ConfigError(
            f"config key 'ssl': could not load the CA certificates from {which}: {exc}"
        ) from None
    ctx.check_hostname = settings.check_hostname
    ctx.verify_mode = _ssl.CERT_REQUIRED
    has_cert = settings.certfile is not None or settings.certdata is not None
    if has_cert:
        _load_client_cert(ctx, settings)
    _HAS_CLIENT_CERT[ctx] = has_cert
    return ctx


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


def _load_client_cert(ctx: _ssl.SSLContext, settings: SslSettings) -> None:
    certfile, keyfile, keydata = settings.certfile, settings.keyfile, settings.keydata
    what = f"certfile {certfile!r}" if certfile is not None else "certdata"
    if keyfile is not None:
        what += f" with keyfile {keyfile!r}"
    elif keydata is not None:
        what += " with keydata"
    try:
        if certfile is None:
            with _pem_file(str(settings.certdata), "certdata") as cert_path:
                _load_key(ctx, cert_path, keyfile, keydata)
        else:
            _load_key(ctx, certfile, keyfile, keydata)
    except (OSError, _ssl.SSLError) as exc:
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or type(exc)
        raise ConfigError(
            f"config key 'ssl': could not load the client certificate ({what}): {reason}"
        ) from None


def _load_key(
    ctx: _ssl.SSLContext, cert_path: str, keyfile: str | None, keydata: str | None
) -> None:
    if keyfile is not None:
        ctx.load_cert_chain(cert_path, keyfile)
    elif keydata is not None:
        with _pem_file(keydata, "keydata") as key_path:
            ctx.load_cert_chain(cert_path, key_path)
    else:
        ctx.load_cert_chain(cert_path)


# sasl --------------------------------------------------------------------------------------

_SASL_ALLOWED = (
    '{"mechanism": "plain" | "scram_sha_256" | "scram_sha_512", "login": str, "password": str} '
    "or an empty mapping/None for no SASL"
)
_MECHANISMS: dict[str, SaslMechanism] = {
    "plain": "plain",
    "scram_sha_256": "scram_sha_256",
    "scram_sha_512": "scram_sha_512",
    "scram-sha-256": "scram_sha_256",
    "scram-sha-512": "scram_sha_512",
}


def parse_sasl(key: str, value: Any) -> SaslSettings | None:
    """Parse the ``sasl`` option (Kaffe's map form); ``None`` or ``{}`` means no SASL."""
    if value is None:
        return None
    if isinstance(value, SaslSettings):
        return value
    if not isinstance(value, Mapping):
        # Any other shape may still hold the password: show only its type.
        raise bad(key, value, _SASL_ALLOWED, secret=True, why=f"a {type(value).__name__}")
    if not value:
        return None
    unknown = [k for k in value if k not in ("mechanism", "login", "password")]
    if unknown:
        raise bad(key, value, _SASL_ALLOWED, why=f"unknown sasl key(s) {unknown!r}")
    missing = [k for k in ("mechanism", "login", "password") if k not in value]
    if missing:
        raise bad(key, value, _SASL_ALLOWED, why=f"missing {', '.join(missing)}")
    mech_raw = value["mechanism"]
    mechanism = _MECHANISMS.get(mech_raw.lower()) if isinstance(mech_raw, str) else None
    if mechanism is None:
        raise bad(f"{key}.mechanism", mech_raw, '"plain", "scram_sha_256" or "scram_sha_512"')
    login = value["login"]
    if not isinstance(login, str) or not login:
        raise bad(f"{key}.login", login, "a non-empty string")
    password = value["password"]
    if not isinstance(password, str) or not password:
        raise bad(f"{key}.password", password, "a non-empty string", secret=True)
    return SaslSettings(mechanism, login, password)


def parse_heroku(key: str, value: Any) -> bool:
    """``heroku_kafka_env``: a bool."""
    return boolean(key, value)


# ------------------------------------------------------------------------------ the client table

CLIENT_KEYS = KeyTable(
    [
        ConfigKey("endpoints", REQUIRED, parse_endpoints, _ENDPOINTS_ALLOWED),
        ConfigKey("heroku_kafka_env", False, parse_heroku, "True or False"),
        ConfigKey("ssl", None, parse_ssl, _SSL_ALLOWED),
        ConfigKey("sasl", None, parse_sasl, _SASL_ALLOWED),
        ConfigKey("client_id", "kaffe", text(), "a non-empty string"),
        ConfigKey(
            "connect_timeout",
            5000,
            number(0, inclusive=False, unit="milliseconds"),
            "milliseconds > 0",
        ),
        ConfigKey(
            "request_timeout", 240000, number(1000, unit="milliseconds"), "milliseconds >= 1000"
        ),
        ConfigKey("allow_topic_auto_creation", False, boolean, "True or False"),
        ConfigKey(
            "metadata_max_age_ms", 300000, number(100, unit="milliseconds"), "milliseconds >= 100"
        ),
        ConfigKey(
            "get_metadata_timeout_seconds",
            5,
            number(0, inclusive=False, unit="seconds"),
            "seconds > 0",
        ),
    ]
)
"""The keys every kaffe client accepts. Components :meth:`~KeyTable.extend` it."""


# ------------------------------------------------------------------------------ ClientConfig


@dataclass(frozen=True)
class ClientConfig:
    """The validated client configuration (connections, security, metadata).

    Build it with :meth:`from_kwargs` or :meth:`from_mapping`; components with more keys parse
    with their own :class:`KeyTable` and call :meth:`from_parsed`.

    Attributes:
        endpoints: bootstrap addresses, in the order given.
        ssl: ``None`` (plaintext), an ``SSLContext`` supplied by the user, or
            :class:`SslSettings` (``ssl=True`` is ``SslSettings()``: system CAs, hostname checked).
        sasl: SASL credentials or ``None``.
        client_id: sent in every request header.
        connect_timeout: seconds.
        request_timeout: seconds.
        allow_topic_auto_creation: sent in Metadata requests.
        metadata_max_age: seconds between periodic metadata refreshes.
        metadata_timeout: seconds a metadata lookup may take (brod's
            ``get_metadata_timeout_seconds``).
        topic_prefix: Heroku's ``KAFKA_PREFIX`` (or ``None``); see :meth:`apply_prefix`.
    """

    endpoints: tuple[Endpoint, ...]
    ssl: _ssl.SSLContext | SslSettings | None = None
    sasl: SaslSettings | None = None
    client_id: str = "kaffe"
    connect_timeout: float = 5.0
    request_timeout: float = 240.0
    allow_topic_auto_creation: bool = False
    metadata_max_age: float = 300.0
    metadata_timeout: float = 5.0
    topic_prefix: str | None = None
    built_ssl_context: _ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    # -------------------------------------------------------------- construction

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> ClientConfig:
        """Build from keyword arguments named like Kaffe's keys (see :data:`CLIENT_KEYS`)."""
        return cls.from_mapping(kwargs)

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, Any], *, environ: Mapping[str, str] | None = None
    ) -> ClientConfig:
        """Build from a mapping of Kaffe keys.

        ``environ`` replaces ``os.environ`` for ``heroku_kafka_env`` (tests use it).
        """
        return cls.from_parsed(CLIENT_KEYS.parse(values), environ=environ)

    @classmethod
    def from_parsed(
        cls, values: Mapping[str, Any], *, environ: Mapping[str, str] | None = None
    ) -> ClientConfig:
        """Build from values already checked by a :class:`KeyTable` that includes
        :data:`CLIENT_KEYS` (other keys in ``values`` are ignored)."""
        endpoints = cast("ParsedEndpoints | None", values.get("endpoints"))
        ssl_opt = cast("SslOption", values.get("ssl"))
        topic_prefix: str | None = None
        if values.get("heroku_kafka_env"):
            env = os.environ if environ is None else environ
            heroku_endpoints, heroku_ssl, topic_prefix = _from_heroku_env(env)
            if endpoints is not None:
                log.info("heroku_kafka_env=True: endpoints come from KAFKA_URL, not 'endpoints'")
            if ssl_opt not in (None, False):
                log.info("heroku_kafka_env=True: TLS settings come from KAFKA_* variables")
            endpoints, ssl_opt = heroku_endpoints, heroku_ssl
        if endpoints is None:
            raise ConfigError(
                "missing config key 'endpoints'; allowed: "
                f"{_ENDPOINTS_ALLOWED} (or heroku_kafka_env=True with KAFKA_URL set)"
            )
        tls: _ssl.SSLContext | SslSettings | None
        if ssl_opt is None:
            tls = SslSettings() if endpoints.tls else None
        elif ssl_opt is False:
            if endpoints.tls:
                raise ConfigError(
                    f"config key 'ssl' is False but 'endpoints' "
                    f"{', '.join(f'{h}:{p}' for h, p in endpoints.addresses)} use kafka+ssl://; "
                    "allowed: drop 'ssl' (the scheme turns TLS on) or use kafka:// URLs"
                )
            tls = None
        elif ssl_opt is True:
            tls = SslSettings()
        else:
            tls = ssl_opt
        # Build the context now, so an unreadable file or PEM is a ConfigError here and not at
        # the first connection.
        context = tls if isinstance(tls, _ssl.SSLContext | None) else _context_for(tls)
        return cls(
            endpoints=endpoints.addresses,
            ssl=tls,
            built_ssl_context=context,
            sasl=cast("SaslSettings | None", values.get("sasl")),
            client_id=str(values.get("client_id", "kaffe")),
            connect_timeout=float(values.get("connect_timeout", 5000)) / 1000.0,
            request_timeout=float(values.get("request_timeout", 240000)) / 1000.0,
            allow_topic_auto_creation=bool(values.get("allow_topic_auto_creation", False)),
            metadata_max_age=float(values.get("metadata_max_age_ms", 300000)) / 1000.0,
            metadata_timeout=float(values.get("get_metadata_timeout_seconds", 5)),
            topic_prefix=topic_prefix,
        )

    # -------------------------------------------------------------- use

    def apply_prefix(self, name: str) -> str:
        """``name`` with Heroku's ``KAFKA_PREFIX`` in front, unless it already starts with it
        (or there is no prefix). Used for topic names and consumer group ids."""
        prefix = self.topic_prefix
        if not prefix or name.startswith(prefix):
            return name
        return prefix + name

    def ssl_context(self) -> _ssl.SSLContext | None:
        """The ``SSLContext`` for connections (built from :attr:`ssl`), or ``None``."""
        if self.ssl is None or isinstance(self.ssl, _ssl.SSLContext):
            return self.ssl
        if self.built_ssl_context is not None:
            return self.built_ssl_context
        return _context_for(self.ssl)

    def connection_options(self) -> ConnectionOptions:
        """The options :mod:`kaffe._net` connections are made with."""
        return ConnectionOptions(
            client_id=self.client_id,
            ssl_context=self.ssl_context(),
            sasl=self.sasl,
            connect_timeout=self.connect_timeout,
            request_timeout=self.request_timeout,
            cap_versions=True,
        )


def _from_heroku_env(
    env: Mapping[str, str],
) -> tuple[ParsedEndpoints, SslSettings | None, str | None]:
    """Endpoints, TLS settings and topic prefix from Heroku's ``KAFKA_*`` variables."""
    url = env.get("KAFKA_URL")
    if not url:
        raise ConfigError(
            "config key 'heroku_kafka_env' is True but the environment variable KAFKA_URL is "
            "not set; allowed: set KAFKA_URL (kafka+ssl://host:port,...) or use 'endpoints'"
        )
    endpoints = parse_endpoints("KAFKA_URL", url)
    trusted = env.get("KAFKA_TRUSTED_CERT") or None
    cert = env.get("KAFKA_CLIENT_CERT") or None
    key = env.get("KAFKA_CLIENT_CERT_KEY") or None
    if (cert is None) != (key is None):
        raise ConfigError(
            "config key 'heroku_kafka_env': KAFKA_CLIENT_CERT and KAFKA_CLIENT_CERT_KEY must be "
            f"set together (KAFKA_CLIENT_CERT is {'set' if cert else 'missing'}, "
            f"KAFKA_CLIENT_CERT_KEY is {'set' if key else 'missing'})"
        )
    tls: SslSettings | None = None
    if endpoints.tls or trusted is not None or cert is not None:
        if trusted is None:
            raise ConfigError(
                "config key 'heroku_kafka_env': KAFKA_URL uses kafka+ssl:// but "
                "KAFKA_TRUSTED_CERT (the broker CA, PEM contents) is not set"
            )
        pems: dict[str, Any] = {"cadata": trusted, "check_hostname": False}
        if cert is not None:
            pems["certdata"] = cert
            pems["keydata"] = key
        parsed = parse_ssl("heroku_kafka_env", pems)
        assert isinstance(parsed, SslSettings)
        tls = parsed
    prefix = env.get("KAFKA_PREFIX") or None
    return ParsedEndpoints(endpoints.addresses, tls is not None), tls, prefix
