"""kaffe.config: every endpoints form, ssl, sasl, Heroku's environment, and every error."""

from __future__ import annotations

import ssl
import sys
from pathlib import Path
from typing import Any

import pytest

import kaffe
from kaffe.config import (
    CLIENT_KEYS,
    ClientConfig,
    ConfigKey,
    KeyTable,
    SaslSettings,
    SslSettings,
    number,
)

_TOOLS = Path(__file__).resolve().parents[2] / "tools"
if str(_TOOLS) not in sys.path:
    sys.path.insert(0, str(_TOOLS))

from kafka_harness.certs import CertBundle, make_certs  # noqa: E402

SECRET = "s3cr3t-pa55w0rd"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertBundle:
    return make_certs(tmp_path_factory.mktemp("certs"))


def cfg(**kw: Any) -> ClientConfig:
    return ClientConfig.from_kwargs(**kw)


def config_error(**kw: Any) -> str:
    with pytest.raises(kaffe.ConfigError) as info:
        ClientConfig.from_kwargs(**kw)
    return str(info.value)


# ------------------------------------------------------------------------------ endpoints


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([("127.0.0.1", 9092)], (("127.0.0.1", 9092),)),
        ([("h1", 9092), ("h2", 9093)], (("h1", 9092), ("h2", 9093))),
        ([["h1", 9092]], (("h1", 9092),)),
        ((("h1", 9092),), (("h1", 9092),)),
        (["h1:9092", "h2:9093"], (("h1", 9092), ("h2", 9093))),
        ({"h1": 9092, "h2": 9093}, (("h1", 9092), ("h2", 9093))),
        ("h1:9092", (("h1", 9092),)),
        ("h1:9092,h2:9093", (("h1", 9092), ("h2", 9093))),
        (" h1:9092 , h2:9093 ,", (("h1", 9092), ("h2", 9093))),
        ("[::1]:9092", (("::1", 9092),)),
        ("kafka://h1:9092,kafka://h2:9093", (("h1", 9092), ("h2", 9093))),
        ("h1:9092,h1:9092,h2:1", (("h1", 9092), ("h2", 1))),
    ],
)
def test_endpoint_forms_without_tls(value: Any, expected: tuple[tuple[str, int], ...]) -> None:
    config = cfg(endpoints=value)

    assert config.endpoints == expected
    assert config.ssl is None


def test_kafka_ssl_url_turns_tls_on() -> None:
    config = cfg(endpoints="kafka+ssl://h1:9096,kafka://h2:9092")

    assert config.endpoints == (("h1", 9096), ("h2", 9092))
    assert config.ssl == SslSettings()
    assert isinstance(config.ssl, SslSettings)
    assert config.ssl.check_hostname is True


def test_kafka_ssl_url_keeps_explicit_ssl_settings(certs: CertBundle) -> None:
    config = cfg(endpoints="kafka+ssl://h1:9096", ssl={"cafile": str(certs.ca.cert_path)})

    assert config.ssl == SslSettings(cafile=str(certs.ca.cert_path))


def test_kafka_ssl_url_conflicts_with_ssl_false() -> None:
    message = config_error(endpoints="kafka+ssl://h1:9096", ssl=False)

    assert "'ssl'" in message
    assert "kafka+ssl" in message


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ([], "empty"),
        ({}, "empty"),
        ("", "no endpoint"),
        (",,", "no endpoint"),
        ("h1", "not host:port"),
        ("h1:", "not a number"),
        ("h1:abc", "not a number"),
        ("h1:0", "not in 1..65535"),
        ("h1:65536", "not in 1..65535"),
        ([("h1", 0)], "not in 1..65535"),
        ([("h1", True)], "not in 1..65535"),
        ([("h1", 9092.5)], "not in 1..65535"),
        ([("", 9092)], "not a host name"),
        ([("bad host", 9092)], "not a host name"),
        ([(9092, "h1")], "not a host name"),
        ([("h1", 9092, "x")], "is not (host, port)"),
        ([9092], "is not (host, port)"),
        ("http://h1:9092", "scheme 'http'"),
        ("kafka://h1:9092/path", "has a path or query"),
        ("::1:9092", "needs [brackets]"),
        (9092, ""),
        (None, ""),
    ],
)
def test_bad_endpoints(value: Any, why: str) -> None:
    message = config_error(endpoints=value)

    assert "'endpoints'" in message
    assert repr(value)[:20] in message or "{}" in message
    assert 'a list of ("host", port) pairs' in message  # what is allowed
    assert why in message


def test_endpoints_are_required() -> None:
    message = config_error(client_id="x")

    assert "missing config key 'endpoints'" in message


# ------------------------------------------------------------------------------ unknown keys


def test_unknown_key_names_it_and_suggests() -> None:
    message = config_error(endpoints="h:1", endpoint="h:2")

    assert "unknown config key 'endpoint'" in message
    assert "'h:2'" in message
    assert "Did you mean 'endpoints'" in message
    assert "client_id" in message  # the known keys are listed


def test_unknown_secret_key_is_masked() -> None:
    message = config_error(endpoints="h:1", password=SECRET)

    assert "'password'" in message
    assert SECRET not in message
    assert "***" in message


def test_from_mapping_requires_a_mapping() -> None:
    with pytest.raises(kaffe.ConfigError, match="must be a mapping"):
        ClientConfig.from_mapping([("endpoints", "h:1")])  # type: ignore[arg-type]


def test_from_kwargs_and_from_mapping_agree() -> None:
    kw = {"endpoints": "h:1", "client_id": "me", "request_timeout": 5000}

    assert ClientConfig.from_kwargs(**kw) == ClientConfig.from_mapping(kw)


def test_config_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="client_id"):
        cfg(endpoints="h:1", client_id="")


# ------------------------------------------------------------------------------ scalar keys


def test_defaults() -> None:
    config = cfg(endpoints="h:1")

    assert config.client_id == "kaffe"
    assert config.connect_timeout == 5.0  # brod: 5000 ms
    assert config.request_timeout == 240.0  # brod: 240000 ms
    assert config.allow_topic_auto_creation is False  # Kaffe's default
    assert config.metadata_max_age == 300.0
    assert config.metadata_timeout == 5.0  # brod get_metadata_timeout_seconds
    assert config.sasl is None
    assert config.topic_prefix is None


def test_scalar_keys_are_converted() -> None:
    config = cfg(
        endpoints="h:1",
        client_id="billing",
        connect_timeout=1500,
        request_timeout=30000,
        allow_topic_auto_creation=True,
        metadata_max_age_ms=1000,
        get_metadata_timeout_seconds=2.5,
    )

    assert config.client_id == "billing"
    assert config.connect_timeout == 1.5
    assert config.request_timeout == 30.0
    assert config.allow_topic_auto_creation is True
    assert config.metadata_max_age == 1.0
    assert config.metadata_timeout == 2.5


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("client_id", "", "non-empty string"),
        ("client_id", 5, "non-empty string"),
        ("client_id", "x" * 40000, "non-empty string"),
        ("connect_timeout", 0, "milliseconds > 0"),
        ("connect_timeout", -5, "milliseconds > 0"),
        ("connect_timeout", "5000", "milliseconds > 0"),
        ("connect_timeout", True, "milliseconds > 0"),
        ("connect_timeout", float("nan"), "milliseconds > 0"),
        ("connect_timeout", float("inf"), "milliseconds > 0"),
        ("request_timeout", 999, "milliseconds >= 1000"),
        ("allow_topic_auto_creation", 1, "True or False"),
        ("allow_topic_auto_creation", "true", "True or False"),
        ("heroku_kafka_env", "yes", "True or False"),
        ("metadata_max_age_ms", 10, "milliseconds >= 100"),
        ("get_metadata_timeout_seconds", 0, "seconds > 0"),
    ],
)
def test_bad_scalar_values(key: str, value: Any, allowed: str) -> None:
    message = config_error(endpoints="h:1", **{key: value})

    assert f"config key {key!r}" in message
    assert allowed in message
    assert repr(value)[:10] in message


# ------------------------------------------------------------------------------ ssl


def test_ssl_false_and_true() -> None:
    assert cfg(endpoints="h:1", ssl=False).ssl is None
    on = cfg(endpoints="h:1", ssl=True).ssl
    assert on == SslSettings(check_hostname=True)


def test_ssl_context_is_kept() -> None:
    context = ssl.create_default_context()

    assert cfg(endpoints="h:1", ssl=context).ssl is context


def test_ssl_paths(certs: CertBundle) -> None:
    config = cfg(
        endpoints="h:1",
        ssl={
            "cafile": str(certs.ca.cert_path),
            "certfile": certs.client.cert_path,  # os.PathLike works too
            "keyfile": str(certs.client.key_path),
            "check_hostname": False,
        },
    )

    assert config.ssl == SslSettings(
        cafile=str(certs.ca.cert_path),
        certfile=str(certs.client.cert_path),
        keyfile=str(certs.client.key_path),
        check_hostname=False,
    )


def test_ssl_pem_strings_and_repr_hides_the_key(certs: CertBundle) -> None:
    config = cfg(
        endpoints="h:1",
        ssl={
            "cadata": certs.ca.cert_pem,
            "certdata": certs.client.cert_pem,
            "keydata": certs.client.key_pem,
        },
    )

    assert isinstance(config.ssl, SslSettings)
    assert config.ssl.keydata == certs.client.key_pem
    assert config.ssl.certdata == certs.client.cert_pem
    assert config.ssl.check_hostname is True
    key_body = certs.client.key_pem.splitlines()[1]
    for text in (repr(config), str(config), repr(config.ssl)):
        assert key_body not in text
        assert "PRIVATE KEY" not in text
    assert "keydata=***" in repr(config.ssl)


@pytest.mark.parametrize(
    ("ssl_value", "fragment"),
    [
        ("yes", "False, True, an ssl.SSLContext"),
        (1, "False, True, an ssl.SSLContext"),
        ({"verify": False}, "unknown ssl key 'verify'"),
        ({"check_hostname": "no"}, "'ssl.check_hostname'"),
        ({"cafile": "/nonexistent/ca.pem"}, "no such file"),
        ({"cafile": 42}, "a path"),
        ({"cadata": "not a pem"}, "'ssl.cadata'"),
        ({"certdata": "-----BEGIN CERTIFICATE-----\n"}, "certdata needs keydata"),
    ],
)
def test_bad_ssl(ssl_value: Any, fragment: str) -> None:
    message = config_error(endpoints="h:1", ssl=ssl_value)

    assert "'ssl" in message
    assert fragment in message


def test_ssl_key_without_certificate(certs: CertBundle) -> None:
    message = config_error(endpoints="h:1", ssl={"keydata": certs.client.key_pem})

    assert "a private key needs its certificate" in message
    assert certs.client.key_pem.splitlines()[1] not in message


def test_ssl_bad_keydata_is_masked(certs: CertBundle) -> None:
    bogus = f"{SECRET}-not-a-key"
    message = config_error(
        endpoints="h:1", ssl={"certdata": certs.client.cert_pem, "keydata": bogus}
    )

    assert "'ssl.keydata'" in message
    assert SECRET not in message
    assert "***" in message


def test_ssl_both_forms_of_one_item(certs: CertBundle) -> None:
    message = config_error(
        endpoints="h:1",
        ssl={
            "certfile": str(certs.client.cert_path),
            "certdata": certs.client.cert_pem,
            "keyfile": str(certs.client.key_path),
        },
    )

    assert "certfile or certdata, not both" in message


# ------------------------------------------------------------------------------ sasl


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("plain", "plain"),
        ("scram_sha_256", "scram_sha_256"),
        ("scram_sha_512", "scram_sha_512"),
        ("SCRAM-SHA-512", "scram_sha_512"),
    ],
)
def test_sasl_mechanisms(given: str, expected: str) -> None:
    config = cfg(endpoints="h:1", sasl={"mechanism": given, "login": "alice", "password": SECRET})

    assert config.sasl == SaslSettings(expected, "alice", SECRET)  # type: ignore[arg-type]
    assert SECRET not in repr(config)
    assert SECRET not in str(config)
    assert SECRET not in repr(config.sasl)


def test_empty_sasl_means_none() -> None:
    assert cfg(endpoints="h:1", sasl={}).sasl is None
    assert cfg(endpoints="h:1", sasl=None).sasl is None


@pytest.mark.parametrize(
    ("sasl", "fragment"),
    [
        ({"mechanism": "gssapi", "login": "a", "password": SECRET}, "'sasl.mechanism'"),
        ({"mechanism": "plain", "login": "a"}, "missing password"),
        ({"mechanism": "plain", "password": SECRET}, "missing login"),
        ({"mechanism": "plain", "login": "", "password": SECRET}, "'sasl.login'"),
        ({"mechanism": "plain", "login": "a", "password": ""}, "'sasl.password'"),
        ({"mechanism": "plain", "login": "a", "password": 123}, "'sasl.password'"),
        ({"mechanism": "plain", "login": "a", "password": SECRET, "x": 1}, "unknown sasl key"),
        (("plain", "a", SECRET), "'sasl'"),
    ],
)
def test_bad_sasl_never_shows_the_password(sasl: Any, fragment: str) -> None:
    message = config_error(endpoints="h:1", sasl=sasl)

    assert fragment in message
    assert SECRET not in message
    assert "allowed" in message


# ------------------------------------------------------------------------------ heroku


def heroku_env(certs: CertBundle, **extra: str) -> dict[str, str]:
    env = {
        "KAFKA_URL": "kafka+ssl://ec2-1.example.com:9096,kafka+ssl://ec2-2.example.com:9096",
        "KAFKA_TRUSTED_CERT": certs.ca.cert_pem,
        "KAFKA_CLIENT_CERT": certs.client.cert_pem,
        "KAFKA_CLIENT_CERT_KEY": certs.client.key_pem,
    }
    env.update(extra)
    return env


def test_heroku_env(certs: CertBundle) -> None:
    config = ClientConfig.from_mapping({"heroku_kafka_env": True}, environ=heroku_env(certs))

    assert config.endpoints == (("ec2-1.example.com", 9096), ("ec2-2.example.com", 9096))
    assert config.ssl == SslSettings(
        cadata=certs.ca.cert_pem,
        certdata=certs.client.cert_pem,
        keydata=certs.client.key_pem,
        check_hostname=False,  # Heroku's certificates do not name the hosts
    )
    assert config.topic_prefix is None
    assert config.apply_prefix("orders") == "orders"
    assert "PRIVATE KEY" not in repr(config)


def test_heroku_env_from_os_environ(certs: CertBundle, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in heroku_env(certs, KAFKA_PREFIX="tenant-").items():
        monkeypatch.setenv(name, value)

    config = cfg(heroku_kafka_env=True)

    assert config.endpoints[0] == ("ec2-1.example.com", 9096)
    assert config.topic_prefix == "tenant-"


def test_heroku_prefix(certs: CertBundle) -> None:
    config = ClientConfig.from_mapping(
        {"heroku_kafka_env": True}, environ=heroku_env(certs, KAFKA_PREFIX="tenant-")
    )

    assert config.apply_prefix("orders") == "tenant-orders"
    assert config.apply_prefix("tenant-orders") == "tenant-orders"


def test_heroku_wins_over_endpoints(certs: CertBundle) -> None:
    config = ClientConfig.from_mapping(
        {"heroku_kafka_env": True, "endpoints": "localhost:9092"}, environ=heroku_env(certs)
    )

    assert config.endpoints[0] == ("ec2-1.example.com", 9096)


def test_heroku_without_kafka_url() -> None:
    with pytest.raises(kaffe.ConfigError, match="KAFKA_URL is not set"):
        ClientConfig.from_mapping({"heroku_kafka_env": True}, environ={})


def test_heroku_cert_without_key(certs: CertBundle) -> None:
    env = heroku_env(certs)
    del env["KAFKA_CLIENT_CERT_KEY"]

    with pytest.raises(kaffe.ConfigError, match="must be set together") as info:
        ClientConfig.from_mapping({"heroku_kafka_env": True}, environ=env)
    assert certs.client.cert_pem.splitlines()[1] not in str(info.value)


def test_heroku_tls_without_trusted_cert(certs: CertBundle) -> None:
    env = heroku_env(certs)
    del env["KAFKA_TRUSTED_CERT"]

    with pytest.raises(kaffe.ConfigError, match="KAFKA_TRUSTED_CERT"):
        ClientConfig.from_mapping({"heroku_kafka_env": True}, environ=env)


def test_heroku_bad_key_is_masked(certs: CertBundle) -> None:
    env = heroku_env(certs, KAFKA_CLIENT_CERT_KEY=f"{SECRET} garbage")

    with pytest.raises(kaffe.ConfigError) as info:
        ClientConfig.from_mapping({"heroku_kafka_env": True}, environ=env)
    assert "keydata" in str(info.value)
    assert SECRET not in str(info.value)


# ------------------------------------------------------------------------------ key tables


def test_components_extend_the_client_keys() -> None:
    table = CLIENT_KEYS.extend(ConfigKey("max_bytes", 1_000_000, number(1, integer=True), "int"))

    values = table.parse({"endpoints": "h:1", "max_bytes": 10}, component="Consumer")

    assert values["max_bytes"] == 10
    assert ClientConfig.from_parsed(values).endpoints == (("h", 1),)
    assert table.parse({"endpoints": "h:1"})["max_bytes"] == 1_000_000
    assert "max_bytes" not in CLIENT_KEYS
    assert "max_bytes" in table.names


def test_extended_table_errors_name_the_component() -> None:
    table = CLIENT_KEYS.extend(ConfigKey("max_bytes", 1, number(1, integer=True), "an int >= 1"))

    with pytest.raises(kaffe.ConfigError, match="for Consumer"):
        table.parse({"endpoints": "h:1", "max_byts": 5}, component="Consumer")
    with pytest.raises(kaffe.ConfigError, match=r"'max_bytes'.*2\.5"):
        table.parse({"endpoints": "h:1", "max_bytes": 2.5}, component="Consumer")


def test_extend_can_replace_a_default() -> None:
    table = CLIENT_KEYS.extend(
        ConfigKey("client_id", "producer", CLIENT_KEYS["client_id"].parse, "")
    )

    assert ClientConfig.from_parsed(table.parse({"endpoints": "h:1"})).client_id == "producer"


def test_duplicate_keys_in_a_table_are_refused() -> None:
    key = ConfigKey("a", 1, number(0), "n")

    with pytest.raises(ValueError, match="defined twice"):
        KeyTable([key, key])


def test_config_is_frozen() -> None:
    config = cfg(endpoints="h:1")

    with pytest.raises(AttributeError):
        config.client_id = "other"  # type: ignore[misc]


# ------------------------------------------------------------------------------ connection options


def test_connection_options_carry_the_settings(certs: CertBundle) -> None:
    config = cfg(
        endpoints="h:1",
        client_id="billing",
        connect_timeout=1500,
        request_timeout=20000,
        sasl={"mechanism": "scram_sha_512", "login": "alice", "password": SECRET},
        ssl={"cadata": certs.ca.cert_pem, "check_hostname": False},
    )

    options = config.connection_options()

    assert options.client_id == "billing"
    assert options.connect_timeout == 1.5
    assert options.request_timeout == 20.0
    assert options.sasl is not None
    assert options.sasl.mechanism == "scram_sha_512"
    assert options.sasl.login == "alice"
    assert options.sasl.password == SECRET
    assert SECRET not in repr(options)
    context = options.ssl_context
    assert isinstance(context, ssl.SSLContext)
    assert context.check_hostname is False
    assert context.verify_mode == ssl.CERT_REQUIRED  # the CA chain is still verified


def test_plaintext_has_no_ssl_context() -> None:
    assert cfg(endpoints="h:1").connection_options().ssl_context is None


def test_heroku_context_verifies_the_chain_without_hostname(certs: CertBundle) -> None:
    config = ClientConfig.from_mapping({"heroku_kafka_env": True}, environ=heroku_env(certs))

    context = config.ssl_context()

    assert context is not None
    assert context.check_hostname is False
    assert context.verify_mode == ssl.CERT_REQUIRED


def test_unloadable_ca_file_is_a_config_error(tmp_path: Path) -> None:
    bogus = tmp_path / "ca.pem"
    bogus.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")

    message = config_error(endpoints="h:1", ssl={"cafile": str(bogus)})

    assert "'ssl'" in message
    assert str(bogus) in message


def test_mismatched_key_is_a_config_error_without_the_key(certs: CertBundle) -> None:
    message = config_error(
        endpoints="h:1",
        ssl={"certdata": certs.client.cert_pem, "keydata": certs.rogue_client.key_pem},
    )

    assert "client certificate" in message
    assert certs.rogue_client.key_pem.splitlines()[1] not in message
