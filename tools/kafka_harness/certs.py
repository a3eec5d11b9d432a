"""Test certificates for the broker's SSL listeners, made with the ``cryptography`` package.

What :func:`make_certs` produces (all keys RSA-2048, unencrypted PKCS#8 PEM, which is the only
unencrypted form Kafka's PEM key store accepts):

* ``ca``            the test CA the broker trusts for client certificates
* ``broker``        server certificate, CN=localhost, SAN DNS:localhost + IP:127.0.0.1
* ``client``        client certificate signed by ``ca``
* ``rogue_ca``      a second CA the broker does NOT trust
* ``rogue_client``  client certificate signed by ``rogue_ca``
* ``expired_client`` client certificate signed by ``ca`` whose validity ended in the past
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_KEY_BITS = 2048


@dataclass(frozen=True)
class CertKey:
    """One certificate with its private key, as PEM strings and as files on disk."""

    name: str
    cert_pem: str
    key_pem: str
    cert_path: Path
    key_path: Path


@dataclass(frozen=True)
class CertBundle:
    """Every certificate the harness uses; see the module docstring."""

    directory: Path
    ca: CertKey
    broker: CertKey
    client: CertKey
    rogue_ca: CertKey
    rogue_client: CertKey
    expired_client: CertKey


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=_KEY_BITS)


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "kaffe test harness"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _key_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    ).decode("ascii")


def _cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _ca(cn: str, now: dt.datetime) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    key = _new_key()
    name = _name(cn)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _leaf(
    cn: str,
    issuer: x509.Certificate,
    issuer_key: rsa.RSAPrivateKey,
    *,
    server: bool,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    key = _new_key()
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256()), key


def _write(directory: Path, name: str, cert: x509.Certificate, key: rsa.RSAPrivateKey) -> CertKey:
    cert_pem = _cert_pem(cert)
    key_pem = _key_pem(key)
    cert_path = directory / f"{name}.pem"
    key_path = directory / f"{name}.key"
    cert_path.write_text(cert_pem)
    key_path.touch(mode=0o600)
    key_path.write_text(key_pem)
    return CertKey(name, cert_pem, key_pem, cert_path, key_path)


def make_certs(directory: Path) -> CertBundle:
    """Generate the full certificate set into ``directory`` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc)
    valid_from = now - dt.timedelta(days=1)
    valid_to = now + dt.timedelta(days=365)

    ca_cert, ca_key = _ca("kaffe-test-ca", now)
    rogue_cert, rogue_key = _ca("kaffe-untrusted-ca", now)
    broker = _leaf(
        "localhost", ca_cert, ca_key, server=True, not_before=valid_from, not_after=valid_to
    )
    client = _leaf(
        "kaffe-client", ca_cert, ca_key, server=False, not_before=valid_from, not_after=valid_to
    )
    rogue_client = _leaf(
        "kaffe-rogue-client",
        rogue_cert,
        rogue_key,
        server=False,
        not_before=valid_from,
        not_after=valid_to,
    )
    expired = _leaf(
        "kaffe-expired-client",
        ca_cert,
        ca_key,
        server=False,
        not_before=now - dt.timedelta(days=30),
        not_after=now - dt.timedelta(days=1),
    )
    return CertBundle(
        directory=directory,
        ca=_write(directory, "ca", ca_cert, ca_key),
        broker=_write(directory, "broker", *broker),
        client=_write(directory, "client", *client),
        rogue_ca=_write(directory, "rogue-ca", rogue_cert, rogue_key),
        rogue_client=_write(directory, "rogue-client", *rogue_client),
        expired_client=_write(directory, "expired-client", *expired),
    )
