"""The kaffe exception hierarchy."""

from __future__ import annotations

import builtins

import pytest

import kaffe
from kaffe import errors


def test_everything_is_a_kafka_error() -> None:
    for cls in (
        errors.ProtocolError,
        errors.CorruptRecordError,
        errors.UnsupportedCompressionTypeError,
        errors.ConfigError,
        errors.AuthenticationError,
        errors.ConnectionError,
        errors.KafkaTimeoutError,
    ):
        assert issubclass(cls, errors.KafkaError)
        assert issubclass(cls, Exception)
        assert cls.__doc__


def test_specific_bases() -> None:
    assert issubclass(errors.CorruptRecordError, errors.ProtocolError)
    assert issubclass(errors.ConfigError, ValueError)
    assert issubclass(errors.KafkaTimeoutError, builtins.TimeoutError)
    assert not issubclass(errors.ConnectionError, builtins.ConnectionError)
    assert errors.KafkaConnectionError is errors.ConnectionError
    assert errors.ConnectionError is not builtins.ConnectionError


def test_codes_and_retriable_defaults() -> None:
    assert errors.KafkaError.code is None
    assert errors.KafkaError.retriable is False
    assert errors.CorruptRecordError.code == 2
    assert errors.CorruptRecordError.retriable is True  # as Kafka's CORRUPT_MESSAGE
    assert errors.UnsupportedCompressionTypeError.code == 76
    assert errors.UnsupportedCompressionTypeError.retriable is False
    assert errors.ConnectionError.retriable is True
    assert errors.KafkaTimeoutError.retriable is True
    assert errors.ConfigError.retriable is False
    assert errors.AuthenticationError.retriable is False


def test_instance_overrides() -> None:
    err = errors.CorruptRecordError("bad crc", retriable=False)
    assert err.retriable is False
    assert errors.CorruptRecordError.retriable is True
    assert str(err) == "bad crc"
    assert err.args == ("bad crc",)
    unknown = errors.KafkaError("broker said 9999", code=9999)
    assert unknown.code == 9999
    assert errors.KafkaError.code is None


def test_error_class_for_code() -> None:
    assert errors.error_class_for_code(2) is errors.CorruptRecordError
    assert errors.error_class_for_code(76) is errors.UnsupportedCompressionTypeError
    assert errors.error_class_for_code(123456) is errors.KafkaError


def test_subclasses_with_a_code_register_and_duplicates_are_refused() -> None:
    class ExampleError(errors.KafkaError):
        code = 987654

    try:
        assert errors.error_class_for_code(987654) is ExampleError
        with pytest.raises(TypeError, match="987654"):

            class DuplicateError(errors.KafkaError):
                code = 987654

        with pytest.raises(TypeError, match="must be an int"):

            class BadCodeError(errors.KafkaError):
                code = "2"  # type: ignore[assignment]

        # Subclassing a coded class without restating the code does not re-register it.
        class NarrowerError(ExampleError):
            pass

        assert errors.error_class_for_code(987654) is ExampleError
        assert NarrowerError.code == 987654
    finally:
        errors._BY_CODE.pop(987654, None)


def test_catching_by_builtin_bases() -> None:
    with pytest.raises(ValueError, match="bad key"):
        raise errors.ConfigError("bad key")
    with pytest.raises(TimeoutError):
        raise errors.KafkaTimeoutError("deadline passed")


def test_package_exports() -> None:
    for name in (
        "KafkaError",
        "ProtocolError",
        "CorruptRecordError",
        "UnsupportedCompressionTypeError",
        "ConfigError",
        "AuthenticationError",
        "ConnectionError",
        "KafkaConnectionError",
        "KafkaTimeoutError",
    ):
        assert getattr(kaffe, name) is getattr(errors, name)
        assert name in kaffe.__all__
    assert isinstance(kaffe.__version__, str)
    assert kaffe.__version__


def test_decoder_errors_are_not_retriable_instances() -> None:
    from kaffe import _core

    data = bytearray(_core.encode_record_batch([(b"k", b"v", [], 1)]))
    data[-1] ^= 0xFF
    with pytest.raises(errors.CorruptRecordError) as info:
        _core.decode_record_batches(bytes(data))
    assert info.value.retriable is False
    assert info.value.code == 2
    assert "CRC" in str(info.value)


def test_errors_pickle_with_their_instance_state() -> None:
    import pickle

    err = errors.CorruptRecordError("bad batch", retriable=False)
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is errors.CorruptRecordError
    assert copy.args == ("bad batch",)
    assert copy.retriable is False
    coded = pickle.loads(pickle.dumps(errors.KafkaError("x", code=42)))
    assert coded.code == 42


def test_every_public_class_names_kaffe_errors_as_its_home() -> None:
    import pickle

    classes = [obj for name in errors.__all__ if isinstance(obj := getattr(errors, name), type)]
    # The hand-written bases, the other client-side classes and every generated per-code class.
    assert errors.KafkaError in classes
    assert errors.NotCoordinatorError in classes
    assert errors.ConnectionError in classes
    for cls in classes:
        assert cls.__module__ == "kaffe.errors", cls
        assert getattr(kaffe, cls.__name__) is cls
        err = cls("message")
        copy = pickle.loads(pickle.dumps(err))
        assert type(copy) is cls
        assert copy.args == ("message",)
        assert copy.code == cls.code
    # The per-code classes derive from the very bases kaffe.errors exports.
    assert errors.SaslAuthenticationFailedError.__mro__[1] is errors.AuthenticationError
    assert errors.TopicAuthorizationFailedError.__mro__[1] is errors.AuthorizationError
    assert errors.RequestTimedOutError.__mro__[1] is errors.KafkaTimeoutError
    assert errors.CorruptRecordError.__mro__[1] is errors.ProtocolError
    assert errors.for_code(16, "moved").__class__ is errors.NotCoordinatorError
