"""kaffe's one version table (``CLIENT_MAX_VERSION``) against the codec, and its use in
negotiation."""

from __future__ import annotations

from kaffe import _core
from kaffe._net import versions
from kaffe._protocol import ApiKey
from kaffe.config import ClientConfig


def test_every_cap_is_a_version_the_codec_speaks() -> None:
    table = _core.api_versions_table()
    for key, cap in versions.CLIENT_MAX_VERSION.items():
        assert key in table, ApiKey(key).name
        _name, lo, hi = table[key]
        assert lo <= cap <= hi, ApiKey(key).name


def test_capped_ranges_are_the_table_within_the_codec() -> None:
    table = _core.api_versions_table()
    capped = versions.client_ranges(capped=True)

    assert set(capped) == set(versions.CLIENT_MAX_VERSION)
    for key, (lo, hi) in capped.items():
        assert (lo, hi) == (table[key][1], min(table[key][2], versions.CLIENT_MAX_VERSION[key]))
    uncapped = versions.client_ranges()
    assert set(uncapped) == set(table)
    assert all(uncapped[key] == (lo, hi) for key, (_n, lo, hi) in table.items())


def test_negotiation_applies_the_caps_and_leaves_out_apis_kaffe_does_not_send() -> None:
    broker = {
        ApiKey.PRODUCE: (3, 13),
        ApiKey.FETCH: (4, 18),
        ApiKey.DESCRIBE_PRODUCERS: (0, 0),
    }

    chosen = versions.negotiate(broker, versions.client_ranges(capped=True))

    assert chosen == {
        ApiKey.PRODUCE: versions.CLIENT_MAX_VERSION[ApiKey.PRODUCE],
        ApiKey.FETCH: versions.CLIENT_MAX_VERSION[ApiKey.FETCH],
    }
    assert chosen[ApiKey.PRODUCE] < 13  # v13 names topics by id, which kaffe's bodies do not
    assert versions.negotiate(broker, versions.client_ranges())[ApiKey.DESCRIBE_PRODUCERS] == 0


def test_client_connections_are_capped() -> None:
    assert ClientConfig.from_kwargs(endpoints="h:1").connection_options().cap_versions is True
