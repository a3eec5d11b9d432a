"""Every Kafka error code has a named kaffe exception with the right ``code`` and ``retriable``."""

from __future__ import annotations

import pytest

from kaffe import errors
from kaffe._protocol.error_codes import ERROR_CODES

_SPECIAL_NAMES = {2: "CorruptRecordError"}


def _expected_name(code: int, kafka_name: str) -> str:
    if code in _SPECIAL_NAMES:
        return _SPECIAL_NAMES[code]
    for suffix in ("_EXCEPTION", "_ERROR"):
        kafka_name = kafka_name.removesuffix(suffix)
    return "".join(part.capitalize() for part in kafka_name.split("_")) + "Error"


@pytest.mark.parametrize(
    ("code", "name", "retriable"),
    [(code, name, retriable) for code, (name, retriable) in sorted(ERROR_CODES.items()) if code],
)
def test_every_code_has_a_named_class(code: int, name: str, retriable: bool) -> None:
    cls = errors.error_class_for_code(code)

    assert cls is not errors.KafkaError
    assert issubclass(cls, errors.KafkaError)
    assert cls.__name__ == _expected_name(code, name)
    assert getattr(errors, cls.__name__) is cls
    assert cls.__name__ in errors.__all__
    assert cls.code == code
    assert cls.retriable is retriable
    assert cls.__doc__ is not None
    assert name in cls.__doc__


def test_commonly_used_names() -> None:
    expected = {
        "UnknownTopicOrPartitionError": 3,
        "NotLeaderOrFollowerError": 6,
        "LeaderNotAvailableError": 5,
        "NotCoordinatorError": 16,
        "CoordinatorNotAvailableError": 15,
        "CoordinatorLoadInProgressError": 14,
        "RebalanceInProgressError": 27,
        "IllegalGenerationError": 22,
        "UnknownMemberIdError": 25,
        "MemberIdRequiredError": 79,
        "FencedInstanceIdError": 82,
        "OffsetOutOfRangeError": 1,
        "RequestTimedOutError": 7,
        "NotEnoughReplicasError": 19,
        "OutOfOrderSequenceNumberError": 45,
        "UnknownProducerIdError": 59,
        "InvalidProducerEpochError": 47,
        "ProducerFencedError": 90,
        "TopicAlreadyExistsError": 36,
        "SaslAuthenticationFailedError": 58,
        "UnsupportedVersionError": 35,
        "UnsupportedSaslMechanismError": 33,
        "GroupAuthorizationFailedError": 30,
        "TopicAuthorizationFailedError": 29,
        "UnknownServerError": -1,
        "InvalidTopicError": 17,
        "NetworkError": 13,
        "UnsupportedCompressionTypeError": 76,
    }
    for name, code in expected.items():
        assert getattr(errors, name).code == code, name


def test_client_side_bases() -> None:
    assert issubclass(errors.SaslAuthenticationFailedError, errors.AuthenticationError)
    assert issubclass(errors.UnsupportedSaslMechanismError, errors.AuthenticationError)
    assert issubclass(errors.TopicAuthorizationFailedError, errors.AuthorizationError)
    assert issubclass(errors.RequestTimedOutError, errors.KafkaTimeoutError)
    assert issubclass(errors.TLSError, errors.ConnectionError)
    assert errors.TLSError.retriable is False
    assert issubclass(errors.ClientCertificateRejectedError, errors.AuthenticationError)
    assert issubclass(errors.BrokerCertificateError, errors.TLSError)
    assert errors.BrokerCertificateError("x", reason="expired").reason == "expired"


def test_for_code_builds_the_named_exception_with_the_brokers_message() -> None:
    err = errors.for_code(58, "Authentication failed: Invalid username or password")

    assert type(err) is errors.SaslAuthenticationFailedError
    assert err.code == 58
    assert err.retriable is False
    assert "SASL_AUTHENTICATION_FAILED" in str(err)
    assert "Invalid username or password" in str(err)
    assert str(errors.for_code(6)) == "NOT_LEADER_OR_FOLLOWER (code 6)"


def test_for_code_keeps_unknown_codes() -> None:
    err = errors.for_code(31337, "from the future")

    assert type(err) is errors.KafkaError
    assert err.code == 31337
    assert "31337" in str(err)
    assert "from the future" in str(err)


def test_raise_for_code() -> None:
    errors.raise_for_code(0)
    errors.raise_for_code(0, "ignored")
    with pytest.raises(errors.NotCoordinatorError) as info:
        errors.raise_for_code(16, "moved")
    assert info.value.retriable is True
    with pytest.raises(ValueError, match="success"):
        errors.for_code(0)
