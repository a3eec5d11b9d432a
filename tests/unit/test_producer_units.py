"""The producer's pure parts: message forms, partitioners, produce_sync forms, batch splitting
and configuration (no broker)."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import logging
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kafka.partitioner.default import murmur2 as kafka_python_murmur2

import kaffe
from kaffe import _core
from kaffe._producer.accumulator import split
from kaffe._producer.handoff import Call, Sink
from kaffe._producer.messages import RECORD_OVERHEAD, normalize
from kaffe._producer.partitioner import assign_partitions
from kaffe._producer.settings import ProducerSettings
from kaffe.aio.producer import resolve_form


def settings(**kw: Any) -> ProducerSettings:
    return ProducerSettings.from_mapping({"endpoints": "127.0.0.1:9092", **kw})


# ------------------------------------------------------------------ messages


def test_message_forms_normalised() -> None:
    records, sizes = normalize(
        [
            ("k", "v"),
            (b"k", None, [("h", "x")]),
            ["k", b"v", {"a": b"1"}],
            {"key": None, "value": bytearray(b"v"), "ts": 5},
            {"value": "ü", "headers": [("n", None)]},
        ],
        ts=42,
    )
    assert records == [
        (b"k", b"v", (), 42),
        (b"k", None, [("h", b"x")], 42),
        (b"k", b"v", [("a", b"1")], 42),
        (None, b"v", (), 5),
        (None, "ü".encode(), [("n", None)], 42),
    ]
    assert sizes[0] == RECORD_OVERHEAD + 2
    assert all(s >= RECORD_OVERHEAD for s in sizes)


_pair_part = st.one_of(st.none(), st.binary(max_size=40), st.text(max_size=20))


@given(pairs=st.lists(st.tuples(_pair_part, _pair_part), max_size=30), ts=st.integers(0, 2**62))
def test_native_pair_path_equals_the_python_path(
    pairs: list[tuple[bytes | str | None, bytes | str | None]], ts: int
) -> None:
    native = _core.normalize_pairs(pairs, ts, RECORD_OVERHEAD)
    assert native is not None
    # a tuple of messages is not a list: normalize takes its general Python path
    assert native == normalize(tuple(pairs), ts=ts)
    assert normalize(pairs, ts=ts) == native
    assert not any(gc.is_tracked(r) for r in native[0])


@pytest.mark.parametrize(
    "messages",
    [
        [(b"k", b"v"), (b"k", b"v", [])],  # a 3-tuple
        [[b"k", b"v"]],  # a list, not a tuple
        [{"value": b"v"}],
        [(bytearray(b"k"), b"v")],  # only exact bytes/str/None natively
        [(b"k", 1)],  # the Python path raises the TypeError
        [("\ud800", b"v")],  # a lone surrogate: the Python path raises UnicodeEncodeError
    ],
)
def test_native_pair_path_declines_other_forms(messages: list[Any]) -> None:
    assert _core.normalize_pairs(messages, 1, RECORD_OVERHEAD) is None
    assert _core.normalize_pairs(tuple(messages), 1, RECORD_OVERHEAD) is None


def test_declined_forms_still_fail_with_the_precise_error() -> None:
    with pytest.raises(TypeError, match="message 1: value must be bytes, str or None, not int"):
        normalize([(b"k", b"v"), (b"k", 1)], ts=1)
    with pytest.raises(UnicodeEncodeError):
        normalize([("\ud800", b"v")], ts=1)


def test_missing_ts_is_now_in_ms() -> None:
    import time

    before = time.time_ns() // 1_000_000
    (record,), _ = normalize([("k", "v")])
    assert before <= record[3] <= time.time_ns() // 1_000_000


@pytest.mark.parametrize(
    ("message", "match"),
    [
        (("k", 5), "message 0: value must be bytes, str or None, not int"),
        ((1, "v"), "message 0: key must be"),
        ("kv", "message 0 is a str"),
        (("k", "v", "h"), "headers must be"),
        (("k", "v", [("h",)]), "not a \\(name, value\\) pair"),
        (("k", "v", [(1, b"x")]), "header name 1 is not a str"),
        ({"key": "k", "vale": "v"}, "unknown field"),
    ],
)
def test_bad_messages_are_type_errors(message: Any, match: str) -> None:
    with pytest.raises(TypeError, match=match):
        normalize([message])


def test_bad_ts_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="ts must be"):
        normalize([{"key": "k", "value": "v", "ts": -1}])


# ------------------------------------------------------------------ partitioners


def test_md5_is_kaffes_formula() -> None:
    keys = [f"key{i}".encode() for i in range(200)] + [b""]
    records = [(k, b"v", (), 0) for k in keys]
    got = assign_partitions("md5", "t", 32, records)
    assert got == [sum(hashlib.md5(k).digest()) % 32 for k in keys]
    assert got[8] == got[12] == 17


def test_md5_none_key_is_empty_bytes() -> None:
    assert assign_partitions("md5", "t", 9, [(None, b"v", (), 0)]) == [
        sum(hashlib.md5(b"").digest()) % 9
    ]


@given(st.lists(st.binary(max_size=40), min_size=1, max_size=50), st.integers(1, 100))
def test_murmur2_matches_kafka_python(keys: list[bytes], count: int) -> None:
    records = [(k, None, (), 0) for k in keys]
    expected = [(kafka_python_murmur2(k) & 0x7FFFFFFF) % count for k in keys]
    assert assign_partitions("murmur2", "t", count, records) == expected


def test_murmur2_keyless_messages_of_a_call_share_one_partition() -> None:
    records = [(None, b"v", (), 0)] * 20 + [(b"key", b"v", (), 0)]
    got = assign_partitions("murmur2", "t", 8, records)
    assert len(set(got[:20])) == 1
    assert got[20] == (kafka_python_murmur2(b"key") & 0x7FFFFFFF) % 8


def test_random_stays_in_range() -> None:
    got = assign_partitions("random", "t", 3, [(b"k", b"v", (), 0)] * 300)
    assert set(got) == {0, 1, 2}


def test_callable_is_validated() -> None:
    rec = [(b"k", b"v", (), 0)]
    assert assign_partitions(lambda t, n, k, v: n - 1, "t", 4, rec) == [3]
    for bad in (4, -1, True, "1", 1.0):
        with pytest.raises(ValueError, match=r"must return an int in 0\.\.3"):
            assign_partitions(lambda t, n, k, v, bad=bad: bad, "t", 4, rec)


# ------------------------------------------------------------------ produce_sync forms


def test_the_five_forms() -> None:
    assert resolve_form(("t", [("k", "v")]), ()) == ("t", None, [("k", "v")], None)
    assert resolve_form(("t", 2, [("k", "v")]), ()) == ("t", 2, [("k", "v")], None)
    assert resolve_form(("k", "v"), ("first", "second")) == ("first", None, None, ("k", "v"))
    assert resolve_form(("t", "k", "v"), ()) == ("t", None, None, ("k", "v"))
    assert resolve_form(("t", 2, "k", "v"), ()) == ("t", 2, None, ("k", "v"))
    assert resolve_form(("t", b"k", None), ()) == ("t", None, None, (b"k", None))


def test_bad_forms() -> None:
    with pytest.raises(TypeError, match="no 'topics'"):
        resolve_form(("k", "v"), ())
    with pytest.raises(TypeError, match="got 5 argument"):
        resolve_form(("t", 1, "k", "v", "x"), ())
    with pytest.raises(ValueError, match="partition must be >= 0"):
        resolve_form(("t", -1, "k", "v"), ())
    with pytest.raises(TypeError, match="bad partition"):
        resolve_form(("t", "1", "k", "v"), ())


# ------------------------------------------------------------------ batching


@given(st.lists(st.integers(1, 500), min_size=1, max_size=100), st.integers(100, 2000))
def test_split_keeps_order_and_limit(sizes: list[int], limit: int) -> None:
    records = [(None, bytes([i % 256]), (), i) for i in range(len(sizes))]
    parts = split(records, sizes, limit)  # type: ignore[arg-type]
    assert [r for part, _ in parts for r in part] == records
    for part, size in parts:
        assert size == sum(sizes[r[3]] for r in part)
        assert size <= limit or len(part) == 1


# ------------------------------------------------------------------ configuration


def test_defaults_are_kaffes_except_onwire_and_retries() -> None:
    s = settings()
    assert s.required_acks == -1
    assert s.ack_timeout_ms == 1000
    assert s.partition_buffer_limit == 512
    assert s.partition_onwire_limit is None  # automatic: 5 with idempotence, 1 without
    assert s.max_batch_size == 1_048_576
    assert s.max_retries is None  # Kaffe's is 3; kaffe retries until the delivery deadline
    assert s.retry_backoff_ms == 500
    assert s.retry_backoff_max_ms == 1000
    assert s.compression == "none"
    assert s.max_linger_ms == 0
    assert s.max_linger_count == 0
    assert s.partition_strategy == "md5"
    assert s.enable_idempotence is None
    assert s.delivery_timeout == 120.0  # the Java client's delivery.timeout.ms


def test_delivery_timeout_is_its_own_key_not_derived_from_retries() -> None:
    assert settings(delivery_timeout_ms=2500).delivery_timeout == 2.5
    assert settings(delivery_timeout_ms=None).delivery_timeout == 120.0
    assert settings(max_retries=10, retry_backoff_ms=900, ack_timeout=5000).delivery_timeout == 120
    assert settings(max_retries=0).max_retries == 0
    assert settings(max_retries=3).max_retries == 3
    assert settings(max_retries=-1).max_retries is None  # the old spelling of "no count"
    assert settings(max_retries=None).max_retries is None


@pytest.mark.parametrize("retries", [1, 2, 3, 4, 5, 8, 30, 1000])
def test_retry_backoff_is_exponential_jittered_and_capped(retries: int) -> None:
    s = settings(retry_backoff_ms=100, retry_backoff_max_ms=1000)
    nominal = min(1.0, 0.1 * 2 ** (retries - 1))  # doubled per retry, capped
    waits = [s.retry_backoff(retries) for _ in range(300)]
    assert min(waits) >= nominal * 0.8
    assert max(waits) <= nominal * 1.2
    assert max(waits) <= 1.0 * 1.2  # never beyond the cap plus the jitter
    assert len(set(waits)) > 250  # jittered, not a constant
    assert max(waits) - min(waits) > nominal * 0.2  # spread over the +-20 % band


def test_retry_backoff_defaults_and_edge_settings() -> None:
    s = settings()  # Kaffe's 500 ms, doubled to the 1 s cap
    assert all(0.4 <= s.retry_backoff(1) <= 0.6 for _ in range(100))
    assert all(0.8 <= s.retry_backoff(n) <= 1.2 for n in (2, 3, 50) for _ in range(100))
    # a base above the cap is kept (a Kaffe config with a long backoff is not shortened)
    slow = settings(retry_backoff_ms=3000)
    assert all(2.4 <= slow.retry_backoff(n) <= 3.6 for n in (1, 2, 10) for _ in range(100))
    assert settings(retry_backoff_ms=0).retry_backoff(5) == 0.0


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("required_acks", 2, "-1 \\| 0 \\| 1"),
        ("compression", "brotli", "gzip"),
        ("partition_strategy", "hash", "md5"),
        ("max_retries", -2, "None"),
        ("max_retries", 1.5, "an int >= 0"),
        ("retry_backoff_max_ms", -1, ">= 0"),
        ("delivery_timeout_ms", 0, ">= 1"),
        ("ack_timeout", 0, ">= 1"),
        ("max_batch_size", 10, ">= 1024"),
        ("max_linger_ms", -1, ">= 0"),
        ("partition_onwire_limit", 0, ">= 1"),
        ("enable_idempotence", "yes", "True"),
        ("topics", "", "topic names"),
    ],
)
def test_bad_values_name_key_value_and_allowed(key: str, value: Any, allowed: str) -> None:
    with pytest.raises(kaffe.ConfigError, match=f"{key}.*{value!r}.*allowed: .*{allowed}"):
        settings(**{key: value})


def test_unknown_key_suggests() -> None:
    with pytest.raises(kaffe.ConfigError, match="Did you mean 'required_acks'"):
        settings(required_ack=1)


def test_compression_aliases_and_from_config() -> None:
    assert settings(compression="no_compression").compression == "none"
    assert settings(compression="LZ4").compression == "lz4"
    p = kaffe.Producer.from_config({"endpoints": "127.0.0.1:9092", "topics": ["a"]})
    assert p.settings.topics == ("a",)
    p.close()


def test_compression_none_means_no_compression() -> None:
    assert settings(compression=None).compression == "none"
    p = kaffe.Producer(endpoints="127.0.0.1:9092", compression=None)
    assert p.settings.compression == "none"
    p.close()
    with pytest.raises(kaffe.ConfigError, match=r"compression.*False.*allowed: .*None"):
        settings(compression=False)


def test_heroku_prefix_applies_to_topics(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_URL", "kafka://127.0.0.1:9092")
    monkeypatch.setenv("KAFKA_PREFIX", "pre.")
    s = ProducerSettings.from_mapping({"heroku_kafka_env": True, "topics": ["a", "pre.b"]})
    assert s.topics == ("pre.a", "pre.b")


def test_idempotence_needs_acks_all() -> None:
    with pytest.raises(kaffe.ConfigError, match="required_acks"):
        settings(enable_idempotence=True, required_acks=1)
    assert settings(transactional_id="t").enable_idempotence is True


def test_not_started_producer_refuses() -> None:
    p = kaffe.Producer(endpoints="127.0.0.1:9092")
    with pytest.raises(kaffe.KafkaError, match="not started"):
        p.produce_sync("t", "k", "v")
    with pytest.raises(kaffe.KafkaError, match="not started"):
        p.produce_async("t", "k", "v")
    p.close()
    assert "127.0.0.1:9092" in repr(p)


def test_a_call_whose_parts_all_fail_retrieves_every_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A list spanning partitions whose parts all fail (a leader gone, say) fails its call
    with the first error; the later parts' errors must still be read, or asyncio logs
    "Future exception was never retrieved" for each when the futures are collected."""
    loop = asyncio.new_event_loop()
    try:
        result: asyncio.Future[Any] = loop.create_future()
        call = Call(Sink(result))
        parts = [loop.create_future() for _ in range(3)]
        for partition, fut in enumerate(parts):
            call.add(partition, fut)
        call.seal()
        for n, fut in enumerate(parts):
            fut.set_exception(kaffe.KafkaError(f"part {n} failed"))
        loop.run_until_complete(asyncio.sleep(0))
        assert str(result.exception()) == "part 0 failed"
        with caplog.at_level(logging.ERROR, logger="asyncio"):
            del parts, call, fut
            gc.collect()
        assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]
    finally:
        loop.close()
