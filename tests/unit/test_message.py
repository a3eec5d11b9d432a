"""kaffe.Message, kaffe.OK / NO_COMMIT / commit_offset."""

from __future__ import annotations

import gc
import pickle
import sys

import pytest

import kaffe
from kaffe import _core
from kaffe.message import wrap_records


def _decoded_message() -> kaffe.Message:
    batch = _core.encode_record_batch(
        [(b"k", b"v", [("h1", b"x"), ("h2", None)], 1234)], base_offset=41
    )
    batches, _ = _core.decode_record_batches(batch)
    rec = batches[0].records[0]
    return kaffe.Message._from_record("orders", 3, rec, batches[0].timestamp_type)


def test_fields_from_a_decoded_record() -> None:
    m = _decoded_message()
    assert (m.topic, m.partition, m.offset) == ("orders", 3, 41)
    assert (m.key, m.value, m.ts, m.ts_type) == (b"k", b"v", 1234, "create")
    assert m.headers == [("h1", b"x"), ("h2", None)]
    assert isinstance(m.headers, list)


def test_mapping_style_access() -> None:
    m = _decoded_message()
    for name in ("topic", "partition", "offset", "key", "value", "headers", "ts", "ts_type"):
        assert m[name] == getattr(m, name)
    with pytest.raises(KeyError):
        m["nope"]
    assert m.get("nope", 7) == 7
    assert dict(m)["value"] == b"v"  # type: ignore[call-overload]


def test_immutable() -> None:
    m = _decoded_message()
    with pytest.raises(AttributeError):
        m.value = b"other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del m.key  # type: ignore[misc]
    m.headers.append(("x", b"y"))
    assert len(m.headers) == 2  # a fresh list each time


def test_equality_hash_and_pickle() -> None:
    a = _decoded_message()
    b = kaffe.Message("orders", 3, 41, b"k", b"v", [("h1", b"x"), ("h2", None)], 1234, "create")
    assert a == b
    assert hash(a) == hash(b)
    assert pickle.loads(pickle.dumps(a)) == a
    assert a != kaffe.Message("orders", 3, 42, b"k", b"v")
    assert "offset=41" in repr(a)
    assert "1 bytes" in repr(a)


def test_constructor_accepts_header_mapping_and_str_values() -> None:
    m = kaffe.Message("t", 0, 5, None, None, {"a": "b"}, ts_type=None)
    assert m.headers == [("a", b"b")]
    assert m.ts_type is None
    assert m.key is None


def test_return_values() -> None:
    assert kaffe.commit_offset(5).offset == 5
    assert kaffe.commit_offset(5) == kaffe.commit_offset(5)
    assert kaffe.commit_offset(5) != kaffe.commit_offset(6)
    assert repr(kaffe.commit_offset(2)) == "kaffe.commit_offset(2)"
    assert kaffe.OK is not kaffe.NO_COMMIT
    assert pickle.loads(pickle.dumps(kaffe.OK)) is kaffe.OK
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(ValueError):
            kaffe.commit_offset(bad)  # type: ignore[arg-type]


def test_wrap_records_builds_the_same_messages() -> None:
    data = _core.encode_record_batch(
        [(b"a", b"1", [], 5), (None, None, [("h", b"v")], 6)], base_offset=10
    )
    batches, _ = _core.decode_record_batches(data)
    msgs = wrap_records("t", 2, batches[0].records, "append")
    assert msgs == [
        kaffe.Message("t", 2, 10, b"a", b"1", [], 5, "append"),
        kaffe.Message("t", 2, 11, None, None, [("h", b"v")], 6, "append"),
    ]
    assert all(type(m) is kaffe.Message for m in msgs)
    assert msgs[1].headers == [("h", b"v")]
    # any iterable of records works, not only the decoder's list
    assert wrap_records("t", 2, iter(batches[0].records), None)[0].ts_type is None


def test_wrapped_messages_cost_the_cycle_collector_nothing() -> None:
    data = _core.encode_record_batch([(b"k%d" % i, b"v", [], i) for i in range(50)])
    batches, _ = _core.decode_record_batches(data)
    msgs = wrap_records("t", 0, batches[0].records, "create")
    assert not any(gc.is_tracked(m) for m in msgs)
    assert gc.is_tracked(kaffe.Message("t", 0, 1))  # built in Python: tracked as usual
    # they stay alive and whole without the records list, and are freed with no leak
    del batches
    gc.collect()
    assert [m.offset for m in msgs] == list(range(50))
    topic = "topic-" + "x" * 3  # a fresh string whose references can be counted
    before = sys.getrefcount(topic)
    data_msgs = _core.decode_record_batches(data)[0][0].records
    for _ in range(100):
        wrap_records(topic, 0, data_msgs, "create")
    assert sys.getrefcount(topic) == before


def test_wrap_records_refuses_what_it_cannot_wrap() -> None:
    class WithDict(tuple):  # type: ignore[type-arg]
        pass

    with pytest.raises(TypeError, match="tuple subclass"):
        _core.wrap_records(WithDict, "t", 0, [], None)
    with pytest.raises(TypeError, match="tuple subclass"):
        _core.wrap_records(dict, "t", 0, [], None)  # type: ignore[type-var]
    with pytest.raises(TypeError, match=r"records\[1\]: expected a decoded record tuple"):
        _core.wrap_records(kaffe.Message, "t", 0, [(1, 2, None, None, ()), [1]], None)  # type: ignore[list-item]
    with pytest.raises(TypeError):
        _core.wrap_records(kaffe.Message, 7, 0, [], None)  # type: ignore[arg-type]


def test_mapping_protocol() -> None:
    m = _decoded_message()
    assert list(m) == list(m.keys())
    assert len(m) == 8
    assert dict(m)["offset"] == 41  # type: ignore[call-overload]
    assert {m: 1}[m] == 1  # hashable
