"""``build_ssl_context``: every form of the ``ssl`` setting, PEM strings via private temp files."""

from __future__ import annotations

import os
import ssl
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kaffe import errors
from kaffe.config import build_ssl_context, has_client_certificate
from kafka_harness.certs import CertBundle, make_certs


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertBundle:
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Temp files go to an empty directory of our own, so leftovers can be seen."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


def _ca_subjects(ctx: ssl.SSLContext) -> list[str]:
    out = []
    for cert in ctx.get_ca_certs():
        subject: Any = cert["subject"]
        for rdn in subject:
            for key, value in rdn:
                if key == "commonName":
                    out.append(value)
    return out


def test_off_forms() -> None:
    assert build_ssl_context(None) is None
    assert build_ssl_context(False) is None


def test_true_is_system_cas_with_hostname_check() -> None:
    ctx = build_ssl_context(True)

    assert ctx is not None
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname is True
    assert has_client_certificate(ctx) is False


def test_a_context_is_used_as_is() -> None:
    mine = ssl.create_default_context()
    assert build_ssl_context(mine) is mine
    assert has_client_certificate(mine) is None


def test_mapping_with_paths(certs: CertBundle) -> None:
    ctx = build_ssl_context(
        {
            "cafile": str(certs.ca.cert_path),
            "certfile": str(certs.client.cert_path),
            "keyfile": certs.client.key_path,  # a Path works too
        }
    )

    assert ctx is not None
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname is True
    assert _ca_subjects(ctx) == [_ca_subjects_of(certs)]
    assert has_client_certificate(ctx) is True


def _ca_subjects_of(certs: CertBundle) -> str:
    ctx = ssl.create_default_context(cadata=certs.ca.cert_pem)
    return _ca_subjects(ctx)[0]


def test_mapping_with_pem_strings_uses_private_temp_files(
    certs: CertBundle, private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, int]] = []
    original = ssl.SSLContext.load_cert_chain

    def spy(self: ssl.SSLContext, certfile: Any, keyfile: Any = None, password: Any = None) -> None:
        for path in (certfile, keyfile):
            if path is not None:
                seen.append((str(path), stat.S_IMODE(os.stat(path).st_mode)))
        original(self, certfile, keyfile, password)

    monkeypatch.setattr(ssl.SSLContext, "load_cert_chain", spy)

    ctx = build_ssl_context(
        {
            "cadata": certs.ca.cert_pem,
            "certdata": certs.client.cert_pem,
            "keydata": certs.client.key_pem,
            "check_hostname": False,
        }
    )

    assert ctx is not None
    assert ctx.check_hostname is False
    assert ctx.verify_mode == ssl.CERT_REQUIRED  # the chain is still verified
    assert has_client_certificate(ctx) is True
    assert len(seen) == 2
    for path, mode in seen:
        assert Path(path).parent == private_tmp
        assert mode == 0o600
    assert list(private_tmp.iterdir()) == []  # deleted right after loading


@dataclass(frozen=True)
class _Settings:
    cafile: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    cadata: str | None = None
    certdata: str | None = None
    keydata: str | None = None
    check_hostname: bool = True


def test_settings_object_with_mixed_forms(certs: CertBundle, private_tmp: Path) -> None:
    ctx = build_ssl_context(
        _Settings(
            cadata=certs.ca.cert_pem,
            certfile=str(certs.client.cert_path),
            keydata=certs.client.key_pem,
        )
    )

    assert ctx is not None
    assert ctx.check_hostname is True
    assert has_client_certificate(ctx) is True
    assert list(private_tmp.iterdir()) == []


def test_heroku_style_trusted_cert_only(certs: CertBundle) -> None:
    ctx = build_ssl_context(_Settings(cadata=certs.ca.cert_pem, check_hostname=False))

    assert ctx is not None
    assert ctx.check_hostname is False
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert has_client_certificate(ctx) is False


def test_key_that_does_not_match_the_certificate(certs: CertBundle, private_tmp: Path) -> None:
    with pytest.raises(errors.ConfigError) as info:
        build_ssl_context({"certdata": certs.client.cert_pem, "keydata": certs.rogue_ca.key_pem})

    assert "BEGIN" not in str(info.value)
    assert "certdata" in str(info.value)
    assert list(private_tmp.iterdir()) == []


@pytest.mark.parametrize(
    ("setting", "match"),
    [
        ({"cafile": "/nonexistent/ca.pem"}, "cafile"),
        ({"cadata": "not a certificate"}, "cadata"),
        ({"certfile": "/nonexistent/c.pem", "keyfile": "/nonexistent/k.pem"}, "certfile"),
        ({"keydata": "-----BEGIN PRIVATE KEY-----"}, "no client certificate"),
        ({"cafile": "x", "password": "y"}, "unknown key"),
    ],
)
def test_bad_settings_are_config_errors(setting: dict[str, Any], match: str) -> None:
    with pytest.raises(errors.ConfigError, match=match) as info:
        build_ssl_context(setting)
    assert "BEGIN" not in str(info.value)
