"""SCRAM against the RFCs' published examples, plus the checks on hostile server messages."""

from __future__ import annotations

import base64

import pytest

from kaffe import errors
from kaffe._net.sasl import plain_message
from kaffe._net.scram import ScramClient, saslname

# RFC 7677, section 3 (SCRAM-SHA-256), user "user", password "pencil".
RFC7677_CLIENT_NONCE = "rOprNGfwEbeRWgbNEkqO"
RFC7677_CLIENT_FIRST = b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
RFC7677_SERVER_FIRST = (
    b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
)
RFC7677_CLIENT_FINAL = (
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
)
RFC7677_SERVER_FINAL = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

# RFC 5802, section 5 (SCRAM-SHA-1), same user and password.
RFC5802_CLIENT_NONCE = "fyko+d2lbbFgONRv9qkxdawL"
RFC5802_CLIENT_FIRST = b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"
RFC5802_SERVER_FIRST = b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"
RFC5802_CLIENT_FINAL = (
    b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
)
RFC5802_SERVER_FINAL = b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="


def _client(hash_name: str, nonce: str, password: str = "pencil") -> ScramClient:
    return ScramClient(hash_name, "user", password, nonce=lambda: nonce)


def test_rfc7677_sha256_example() -> None:
    client = _client("sha256", RFC7677_CLIENT_NONCE)

    assert client.client_first() == RFC7677_CLIENT_FIRST
    assert client.client_final(RFC7677_SERVER_FIRST) == RFC7677_CLIENT_FINAL
    client.verify_server_final(RFC7677_SERVER_FINAL)


def test_rfc5802_sha1_example() -> None:
    client = _client("sha1", RFC5802_CLIENT_NONCE)

    assert client.client_first() == RFC5802_CLIENT_FIRST
    assert client.client_final(RFC5802_SERVER_FIRST) == RFC5802_CLIENT_FINAL
    client.verify_server_final(RFC5802_SERVER_FINAL)


def test_wrong_password_gives_a_different_proof() -> None:
    client = _client("sha256", RFC7677_CLIENT_NONCE, password="pencil2")

    assert client.client_final(RFC7677_SERVER_FIRST) != RFC7677_CLIENT_FINAL


def test_forged_server_signature_is_rejected() -> None:
    client = _client("sha256", RFC7677_CLIENT_NONCE)
    client.client_final(RFC7677_SERVER_FIRST)
    forged = b"v=" + base64.b64encode(bytes(32))

    with pytest.raises(errors.AuthenticationError, match="signature"):
        client.verify_server_final(forged)


def test_server_final_error_attribute() -> None:
    client = _client("sha256", RFC7677_CLIENT_NONCE)
    client.client_final(RFC7677_SERVER_FIRST)

    with pytest.raises(errors.SaslAuthenticationFailedError, match="invalid-proof"):
        client.verify_server_final(b"e=invalid-proof")


def test_server_final_before_client_final() -> None:
    with pytest.raises(errors.AuthenticationError):
        _client("sha256", RFC7677_CLIENT_NONCE).verify_server_final(RFC7677_SERVER_FINAL)


@pytest.mark.parametrize(
    ("server_first", "match"),
    [
        (b"r=someoneElsesNonce123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "nonce"),
        (b"r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "nonce"),
        (b"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4095", "iteration"),
        (b"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999", "iteration"),
        (b"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-5", "iteration"),
        (b"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==", "iteration"),
        (b"r=rOprNGfwEbeRWgbNEkqOxyz,s=***,i=4096", "base64"),
        (b"r=rOprNGfwEbeRWgbNEkqOxyz,i=4096", "salt"),
        (b"m=ext,r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "extension"),
        (b"garbage", "malformed"),
        (b"\xff\xfe", "UTF-8"),
    ],
)
def test_hostile_server_first_is_rejected(server_first: bytes, match: str) -> None:
    client = _client("sha256", RFC7677_CLIENT_NONCE)

    with pytest.raises(errors.AuthenticationError, match=match):
        client.client_final(server_first)


def test_saslname_escaping() -> None:
    assert saslname("a=b,c") == "a=3Db=2Cc"
    client = ScramClient("sha512", "us=er,1", "pw", nonce=lambda: "abc")
    assert client.client_first() == b"n,,n=us=3Der=2C1,r=abc"


def test_nonce_must_not_contain_a_comma() -> None:
    with pytest.raises(ValueError, match="nonce"):
        ScramClient("sha256", "user", "pw", nonce=lambda: "a,b")


def test_default_nonces_are_fresh() -> None:
    first = ScramClient("sha256", "user", "pw").client_first()
    second = ScramClient("sha256", "user", "pw").client_first()
    assert first != second
    assert b"," not in first.split(b",r=")[1]


def test_repr_hides_the_password() -> None:
    assert "secret" not in repr(ScramClient("sha256", "user", "secret"))


def test_plain_message() -> None:
    assert plain_message("alice", "pw") == b"\x00alice\x00pw"
