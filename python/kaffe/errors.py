"""The kaffe exception hierarchy.

Every error kaffe raises on purpose is a :class:`KafkaError`. Errors that a Kafka broker reports
with a numeric error code carry that code in :attr:`KafkaError.code`; errors detected on the
client side (bad configuration, a dropped connection, malformed bytes) have ``code = None``
unless they correspond exactly to a Kafka error code.

:attr:`KafkaError.retriable` says whether repeating the same operation may succeed. For the
per-error-code classes it follows Kafka's own table (``org.apache.kafka.common.protocol.Errors``).
An individual exception may override the class value, which kaffe does when the same Kafka error
means something different on the client side (see :class:`CorruptRecordError`).

Adding a class for a Kafka error code is one class statement::

    class OffsetOutOfRangeError(KafkaError):
        '''The requested offset is outside the range held by the broker.'''

        code = 1
        retriable = False

Any subclass that sets ``code`` in its own body is registered automatically, so
:func:`error_class_for_code` finds it; two classes claiming the same code is an import-time error.

Every code in Kafka's table (:mod:`kaffe._protocol_errors`) has its class here, named after
Kafka's name in CamelCase with an ``Error`` suffix (``NOT_LEADER_OR_FOLLOWER`` ->
:class:`NotLeaderOrFollowerError`; a trailing ``_EXCEPTION``/``_ERROR`` is dropped, and code 2 is
:class:`CorruptRecordError`). :func:`for_code` and :func:`raise_for_code` turn a code from a
response into the exception. A few codes also have a client-side base: the SASL codes are
subclasses of :class:`AuthenticationError`, the ``*_AUTHORIZATION_FAILED`` codes
subclasses of :class:`AuthorizationError`, and ``REQUEST_TIMED_OUT`` is a
:class:`KafkaTimeoutError`.

TLS handshake failures are :class:`TLSError` (a :class:`ConnectionError` that is not retriable):
:class:`BrokerCertificateError` when kaffe does not trust the broker's certificate,
:class:`ClientCertificateRejectedError` (also an :class:`AuthenticationError`) when the broker
refuses kaffe's client certificate.
"""

from __future__ import annotations

import builtins

from kaffe._protocol_errors import ERROR_CODES as _ERROR_CODES

__all__ = [
    "AuthenticationError",
    "AuthorizationError",
    "BrokerCertificateError",
    "BrokerIdNotRegisteredError",
    "BrokerNotAvailableError",
    "ClientCertificateRejectedError",
    "ClusterAuthorizationFailedError",
    "ConcurrentTransactionsError",
    "ConfigError",
    "ConnectionError",
    "CoordinatorLoadInProgressError",
    "CoordinatorNotAvailableError",
    "CorruptRecordError",
    "DelegationTokenAuthDisabledError",
    "DelegationTokenAuthorizationFailedError",
    "DelegationTokenExpiredError",
    "DelegationTokenNotFoundError",
    "DelegationTokenOwnerMismatchError",
    "DelegationTokenRequestNotAllowedError",
    "DuplicateBrokerRegistrationError",
    "DuplicateResourceError",
    "DuplicateSequenceNumberError",
    "DuplicateVoterError",
    "ElectionNotNeededError",
    "EligibleLeadersNotAvailableError",
    "FeatureUpdateFailedError",
    "FencedInstanceIdError",
    "FencedLeaderEpochError",
    "FencedMemberEpochError",
    "FencedStateEpochError",
    "FetchSessionIdNotFoundError",
    "FetchSessionTopicIdError",
    "GroupAuthorizationFailedError",
    "GroupIdNotFoundError",
    "GroupMaxSizeReachedError",
    "GroupSubscribedToTopicError",
    "IllegalGenerationError",
    "IllegalSaslStateError",
    "InconsistentClusterIdError",
    "InconsistentGroupProtocolError",
    "InconsistentTopicIdError",
    "InconsistentVoterSetError",
    "IneligibleReplicaError",
    "InvalidCommitOffsetSizeError",
    "InvalidConfigError",
    "InvalidFetchSessionEpochError",
    "InvalidFetchSizeError",
    "InvalidGroupIdError",
    "InvalidPartitionsError",
    "InvalidPrincipalTypeError",
    "InvalidProducerEpochError",
    "InvalidProducerIdMappingError",
    "InvalidRecordError",
    "InvalidRecordStateError",
    "InvalidRegistrationError",
    "InvalidRegularExpressionError",
    "InvalidReplicaAssignmentError",
    "InvalidReplicationFactorError",
    "InvalidRequestError",
    "InvalidRequiredAcksError",
    "InvalidSessionTimeoutError",
    "InvalidShareSessionEpochError",
    "InvalidTimestampError",
    "InvalidTopicError",
    "InvalidTransactionTimeoutError",
    "InvalidTxnStateError",
    "InvalidUpdateVersionError",
    "InvalidVoterKeyError",
    "KafkaConnectionError",
    "KafkaError",
    "KafkaStorageError",
    "KafkaTimeoutError",
    "LeaderNotAvailableError",
    "ListenerNotFoundError",
    "LogDirNotFoundError",
    "MemberIdRequiredError",
    "MessageTooLargeError",
    "MismatchedEndpointTypeError",
    "NetworkError",
    "NewLeaderElectedError",
    "NoReassignmentInProgressError",
    "NonEmptyGroupError",
    "NotControllerError",
    "NotCoordinatorError",
    "NotEnoughReplicasAfterAppendError",
    "NotEnoughReplicasError",
    "NotLeaderOrFollowerError",
    "OffsetMetadataTooLargeError",
    "OffsetMovedToTieredStorageError",
    "OffsetNotAvailableError",
    "OffsetOutOfRangeError",
    "OperationNotAttemptedError",
    "OutOfOrderSequenceNumberError",
    "PolicyViolationError",
    "PositionOutOfRangeError",
    "PreferredLeaderNotAvailableError",
    "PrincipalDeserializationFailureError",
    "ProducerFencedError",
    "ProtocolError",
    "ReassignmentInProgressError",
    "RebalanceInProgressError",
    "RebootstrapRequiredError",
    "RecordListTooLargeError",
    "ReplicaNotAvailableError",
    "RequestTimedOutError",
    "ResourceNotFoundError",
    "SaslAuthenticationFailedError",
    "SecurityDisabledError",
    "ShareSessionLimitReachedError",
    "ShareSessionNotFoundError",
    "SnapshotNotFoundError",
    "StaleBrokerEpochError",
    "StaleControllerEpochError",
    "StaleMemberEpochError",
    "StreamsInvalidTopologyEpochError",
    "StreamsInvalidTopologyError",
    "StreamsTopologyFencedError",
    "TLSError",
    "TelemetryTooLargeError",
    "ThrottlingQuotaExceededError",
    "TopicAlreadyExistsError",
    "TopicAuthorizationFailedError",
    "TopicDeletionDisabledError",
    "TransactionAbortableError",
    "TransactionCoordinatorFencedError",
    "TransactionalIdAuthorizationFailedError",
    "TransactionalIdNotFoundError",
    "UnacceptableCredentialError",
    "UnknownControllerIdError",
    "UnknownLeaderEpochError",
    "UnknownMemberIdError",
    "UnknownProducerIdError",
    "UnknownServerError",
    "UnknownSubscriptionIdError",
    "UnknownTopicIdError",
    "UnknownTopicOrPartitionError",
    "UnreleasedInstanceIdError",
    "UnstableOffsetCommitError",
    "UnsupportedAssignorError",
    "UnsupportedCompressionTypeError",
    "UnsupportedEndpointTypeError",
    "UnsupportedForMessageFormatError",
    "UnsupportedSaslMechanismError",
    "UnsupportedVersionError",
    "VoterNotFoundError",
    "error_class_for_code",
    "for_code",
    "raise_for_code",
]

_BY_CODE: dict[int, type[KafkaError]] = {}


class KafkaError(Exception):
    """Base class of every exception kaffe raises on purpose.

    Attributes:
        retriable: whether retrying the failed operation unchanged may succeed. The class
            attribute is the default for that kind of error; pass ``retriable=`` to the
            constructor to override it for one instance.
        code: the Kafka protocol error code this error stands for, or ``None`` for errors
            detected on the client side that have no Kafka error code. Subclasses for a
            specific Kafka error code set it as a class attribute; ``code=`` overrides it for
            one instance (for example a broker code that has no named subclass yet).
    """

    retriable: bool = False
    code: int | None = None

    def __init__(
        self, *args: object, code: int | None = None, retriable: bool | None = None
    ) -> None:
        """Create the error.

        Args:
            *args: the message (and any further arguments), as for :class:`Exception`.
            code: a Kafka error code for this instance, overriding the class value.
            retriable: overrides the class's ``retriable`` for this instance.
        """
        super().__init__(*args)
        if code is not None:
            self.code = code
        if retriable is not None:
            self.retriable = retriable

    def __init_subclass__(cls, **kwargs: object) -> None:
        """Register subclasses that define a Kafka error code in their own body."""
        super().__init_subclass__(**kwargs)
        code = cls.__dict__.get("code")
        if code is None:
            return
        if not isinstance(code, int) or isinstance(code, bool):
            raise TypeError(f"{cls.__qualname__}.code must be an int, got {code!r}")
        existing = _BY_CODE.get(code)
        if existing is not None:
            raise TypeError(
                f"Kafka error code {code} is claimed by both {existing.__qualname__} "
                f"and {cls.__qualname__}"
            )
        _BY_CODE[code] = cls


def error_class_for_code(code: int) -> type[KafkaError]:
    """Return the exception class registered for a Kafka error code.

    Unknown codes map to :class:`KafkaError` itself; the caller should then pass ``code=`` when
    raising, so the number is not lost.
    """
    return _BY_CODE.get(code, KafkaError)


class ProtocolError(KafkaError):
    """Bytes received from the network that do not follow the Kafka protocol.

    Raised for a malformed response frame, an impossible length field or an unknown version.
    Retrying the same request is unlikely to help, so ``retriable`` is ``False``.
    """


class CorruptRecordError(ProtocolError):
    """Record data that fails validation: a bad CRC, a truncated record, undecodable compression.

    This is Kafka error code 2, ``CORRUPT_MESSAGE``. Kafka marks that code retriable, and the
    class follows it: when a *broker* returns code 2 for a produce request, the bytes were
    damaged between the client and the broker's log, so sending them again can succeed.

    When kaffe's own record decoder finds corrupt data in a fetch response, the instance it raises
    has ``retriable = False``: the bytes came out of the broker's log, so fetching the same offset
    again returns the same bytes and fails the same way. The consumer has to skip past the batch
    (or stop), which is what the Java consumer does too.
    """

    code = 2
    retriable = True


class UnsupportedCompressionTypeError(KafkaError):
    """A record batch uses a compression codec that Kafka does not define (or kaffe lacks).

    This is Kafka error code 76, ``UNSUPPORTED_COMPRESSION_TYPE``. It is not retriable: the same
    data or request fails the same way again.
    """

    code = 76
    retriable = False


class ConfigError(KafkaError, ValueError):
    """A configuration key is unknown or has a value that is not allowed.

    The message names the key, the value given and what is allowed. It is also a
    :class:`ValueError`, so generic argument validation code catches it.
    """


class AuthenticationError(KafkaError):
    """TLS or SASL authentication with a broker failed.

    Not retriable: the same credentials fail the same way again.
    """


class ConnectionError(KafkaError):
    """A connection to a broker could not be made or was lost.

    The name deliberately matches kaffe's public API (``kaffe.ConnectionError``) and so shadows
    the builtin inside this module; :data:`KafkaConnectionError` is an alias for code that also
    uses the builtin. Retriable: another attempt (possibly to another broker) may succeed.
    """

    retriable = True


KafkaConnectionError = ConnectionError
"""Alias of :class:`kaffe.errors.ConnectionError` that does not shadow the builtin."""


class KafkaTimeoutError(KafkaError, builtins.TimeoutError):
    """An operation did not complete within its deadline.

    It is also a :class:`TimeoutError`. Retriable: the operation may complete given more time.
    """

    retriable = True


class AuthorizationError(KafkaError):
    """The broker refused an operation the authenticated principal is not allowed to do.

    Base class of the ``*_AUTHORIZATION_FAILED`` error codes. Not retriable.
    """


class TLSError(ConnectionError):
    """The TLS handshake with a broker failed.

    The message says why. Not retriable: the same certificates fail the same way again, so the
    connection pool backs off (``reconnect_backoff_max``) before trying that broker again.
    Subclasses tell the two sides apart: :class:`BrokerCertificateError` (kaffe did not trust the
    broker) and :class:`ClientCertificateRejectedError` (the broker did not accept kaffe).
    """

    retriable = False


class BrokerCertificateError(TLSError):
    """The broker's certificate failed verification.

    :attr:`reason` is ``"untrusted"`` (not signed by a trusted CA), ``"expired"`` (or not yet
    valid), ``"hostname"`` (does not name the host; see ``check_hostname``) or ``"other"``.
    """

    def __init__(
        self,
        *args: object,
        reason: str = "other",
        code: int | None = None,
        retriable: bool | None = None,
    ) -> None:
        """Create the error; ``reason`` is one of the values listed in the class docstring."""
        super().__init__(*args, code=code, retriable=retriable)
        self.reason = reason


class ClientCertificateRejectedError(TLSError, AuthenticationError):
    """The broker rejected kaffe's TLS client certificate (missing, untrusted or expired).

    It is both a :class:`TLSError` (so a :class:`ConnectionError`) and an
    :class:`AuthenticationError`: the broker refused to let kaffe in.
    """


# ------------------------------------------------------------------------ Kafka error codes
# One class per code of kafka._protocol_errors.ERROR_CODES (codes 2 and 76 are defined above).
# tests/unit/test_error_codes.py checks that the two stay in step.


class UnknownServerError(KafkaError):
    """The broker hit an unexpected error while handling the request.

    Kafka error code -1, ``UNKNOWN_SERVER_ERROR``; not retriable.
    """

    code = -1
    retriable = False


class OffsetOutOfRangeError(KafkaError):
    """The requested offset is outside the range of offsets the partition holds.

    Kafka error code 1, ``OFFSET_OUT_OF_RANGE``; not retriable.
    """

    code = 1
    retriable = False


class UnknownTopicOrPartitionError(KafkaError):
    """The broker does not know this topic or partition (it may not exist yet).

    Kafka error code 3, ``UNKNOWN_TOPIC_OR_PARTITION``; retriable.
    """

    code = 3
    retriable = True


class InvalidFetchSizeError(KafkaError):
    """Kafka error code 4, ``INVALID_FETCH_SIZE``; not retriable."""

    code = 4
    retriable = False


class LeaderNotAvailableError(KafkaError):
    """The partition has no leader right now, for example during an election.

    Kafka error code 5, ``LEADER_NOT_AVAILABLE``; retriable.
    """

    code = 5
    retriable = True


class NotLeaderOrFollowerError(KafkaError):
    """The broker is not the leader (or a follower) of the partition; refresh metadata.

    Kafka error code 6, ``NOT_LEADER_OR_FOLLOWER``; retriable.
    """

    code = 6
    retriable = True


class RequestTimedOutError(KafkaTimeoutError):
    """The broker did not complete the request within the request's own timeout.

    Kafka error code 7, ``REQUEST_TIMED_OUT``; retriable.
    """

    code = 7
    retriable = True


class BrokerNotAvailableError(KafkaError):
    """Kafka error code 8, ``BROKER_NOT_AVAILABLE``; not retriable."""

    code = 8
    retriable = False


class ReplicaNotAvailableError(KafkaError):
    """Kafka error code 9, ``REPLICA_NOT_AVAILABLE``; retriable."""

    code = 9
    retriable = True


class MessageTooLargeError(KafkaError):
    """The request or a record batch is larger than the broker accepts.

    Kafka error code 10, ``MESSAGE_TOO_LARGE``; not retriable.
    """

    code = 10
    retriable = False


class StaleControllerEpochError(KafkaError):
    """Kafka error code 11, ``STALE_CONTROLLER_EPOCH``; not retriable."""

    code = 11
    retriable = False


class OffsetMetadataTooLargeError(KafkaError):
    """Kafka error code 12, ``OFFSET_METADATA_TOO_LARGE``; not retriable."""

    code = 12
    retriable = False


class NetworkError(KafkaError):
    """The broker lost the connection while handling the request.

    Kafka error code 13, ``NETWORK_EXCEPTION``; retriable.
    """

    code = 13
    retriable = True


class CoordinatorLoadInProgressError(KafkaError):
    """The group or transaction coordinator is still loading its state.

    Kafka error code 14, ``COORDINATOR_LOAD_IN_PROGRESS``; retriable.
    """

    code = 14
    retriable = True


class CoordinatorNotAvailableError(KafkaError):
    """The group or transaction coordinator is not available.

    Kafka error code 15, ``COORDINATOR_NOT_AVAILABLE``; retriable.
    """

    code = 15
    retriable = True


class NotCoordinatorError(KafkaError):
    """The broker is not the coordinator for this group or transaction; look it up again.

    Kafka error code 16, ``NOT_COORDINATOR``; retriable.
    """

    code = 16
    retriable = True


class InvalidTopicError(KafkaError):
    """The topic name is invalid.

    Kafka error code 17, ``INVALID_TOPIC_EXCEPTION``; not retriable.
    """

    code = 17
    retriable = False


class RecordListTooLargeError(KafkaError):
    """Kafka error code 18, ``RECORD_LIST_TOO_LARGE``; not retriable."""

    code = 18
    retriable = False


class NotEnoughReplicasError(KafkaError):
    """Fewer in-sync replicas than ``min.insync.replicas``; the write was refused.

    Kafka error code 19, ``NOT_ENOUGH_REPLICAS``; retriable.
    """

    code = 19
    retriable = True


class NotEnoughReplicasAfterAppendError(KafkaError):
    """The write was appended but fewer in-sync replicas than required acknowledged it.

    Kafka error code 20, ``NOT_ENOUGH_REPLICAS_AFTER_APPEND``; retriable.
    """

    code = 20
    retriable = True


class InvalidRequiredAcksError(KafkaError):
    """Kafka error code 21, ``INVALID_REQUIRED_ACKS``; not retriable."""

    code = 21
    retriable = False


class IllegalGenerationError(KafkaError):
    """The group member's generation is stale; it must rejoin the group.

    Kafka error code 22, ``ILLEGAL_GENERATION``; not retriable.
    """

    code = 22
    retriable = False


class InconsistentGroupProtocolError(KafkaError):
    """Kafka error code 23, ``INCONSISTENT_GROUP_PROTOCOL``; not retriable."""

    code = 23
    retriable = False


class InvalidGroupIdError(KafkaError):
    """Kafka error code 24, ``INVALID_GROUP_ID``; not retriable."""

    code = 24
    retriable = False


class UnknownMemberIdError(KafkaError):
    """The coordinator does not know this member id; the member must rejoin.

    Kafka error code 25, ``UNKNOWN_MEMBER_ID``; not retriable.
    """

    code = 25
    retriable = False


class InvalidSessionTimeoutError(KafkaError):
    """Kafka error code 26, ``INVALID_SESSION_TIMEOUT``; not retriable."""

    code = 26
    retriable = False


class RebalanceInProgressError(KafkaError):
    """The group is rebalancing; the member must rejoin.

    Kafka error code 27, ``REBALANCE_IN_PROGRESS``; not retriable.
    """

    code = 27
    retriable = False


class InvalidCommitOffsetSizeError(KafkaError):
    """Kafka error code 28, ``INVALID_COMMIT_OFFSET_SIZE``; not retriable."""

    code = 28
    retriable = False


class TopicAuthorizationFailedError(AuthorizationError):
    """Not authorized to access the topic.

    Kafka error code 29, ``TOPIC_AUTHORIZATION_FAILED``; not retriable.
    """

    code = 29
    retriable = False


class GroupAuthorizationFailedError(AuthorizationError):
    """Not authorized to access the group.

    Kafka error code 30, ``GROUP_AUTHORIZATION_FAILED``; not retriable.
    """

    code = 30
    retriable = False


class ClusterAuthorizationFailedError(AuthorizationError):
    """Not authorized for the cluster operation.

    Kafka error code 31, ``CLUSTER_AUTHORIZATION_FAILED``; not retriable.
    """

    code = 31
    retriable = False


class InvalidTimestampError(KafkaError):
    """Kafka error code 32, ``INVALID_TIMESTAMP``; not retriable."""

    code = 32
    retriable = False


class UnsupportedSaslMechanismError(AuthenticationError):
    """The broker does not enable the requested SASL mechanism.

    Kafka error code 33, ``UNSUPPORTED_SASL_MECHANISM``; not retriable.
    """

    code = 33
    retriable = False


class IllegalSaslStateError(AuthenticationError):
    """A SASL request arrived in the wrong state of the authentication exchange.

    Kafka error code 34, ``ILLEGAL_SASL_STATE``; not retriable.
    """

    code = 34
    retriable = False


class UnsupportedVersionError(KafkaError):
    """The broker does not support this request version.

    Kafka error code 35, ``UNSUPPORTED_VERSION``; not retriable.
    """

    code = 35
    retriable = False


class TopicAlreadyExistsError(KafkaError):
    """A topic with this name already exists.

    Kafka error code 36, ``TOPIC_ALREADY_EXISTS``; not retriable.
    """

    code = 36
    retriable = False


class InvalidPartitionsError(KafkaError):
    """The partition count is invalid.

    Kafka error code 37, ``INVALID_PARTITIONS``; not retriable.
    """

    code = 37
    retriable = False


class InvalidReplicationFactorError(KafkaError):
    """The replication factor is invalid.

    Kafka error code 38, ``INVALID_REPLICATION_FACTOR``; not retriable.
    """

    code = 38
    retriable = False


class InvalidReplicaAssignmentError(KafkaError):
    """Kafka error code 39, ``INVALID_REPLICA_ASSIGNMENT``; not retriable."""

    code = 39
    retriable = False


class InvalidConfigError(KafkaError):
    """Kafka error code 40, ``INVALID_CONFIG``; not retriable."""

    code = 40
    retriable = False


class NotControllerError(KafkaError):
    """The broker is not the controller.

    Kafka error code 41, ``NOT_CONTROLLER``; retriable.
    """

    code = 41
    retriable = True


class InvalidRequestError(KafkaError):
    """Kafka error code 42, ``INVALID_REQUEST``; not retriable."""

    code = 42
    retriable = False


class UnsupportedForMessageFormatError(KafkaError):
    """Kafka error code 43, ``UNSUPPORTED_FOR_MESSAGE_FORMAT``; not retriable."""

    code = 43
    retriable = False


class PolicyViolationError(KafkaError):
    """Kafka error code 44, ``POLICY_VIOLATION``; not retriable."""

    code = 44
    retriable = False


class OutOfOrderSequenceNumberError(KafkaError):
    """The broker received a produce sequence number out of order.

    Kafka error code 45, ``OUT_OF_ORDER_SEQUENCE_NUMBER``; not retriable.
    """

    code = 45
    retriable = False


class DuplicateSequenceNumberError(KafkaError):
    """Kafka error code 46, ``DUPLICATE_SEQUENCE_NUMBER``; not retriable."""

    code = 46
    retriable = False


class InvalidProducerEpochError(KafkaError):
    """The producer's epoch is stale.

    Kafka error code 47, ``INVALID_PRODUCER_EPOCH``; not retriable.
    """

    code = 47
    retriable = False


class InvalidTxnStateError(KafkaError):
    """Kafka error code 48, ``INVALID_TXN_STATE``; not retriable."""

    code = 48
    retriable = False


class InvalidProducerIdMappingError(KafkaError):
    """Kafka error code 49, ``INVALID_PRODUCER_ID_MAPPING``; not retriable."""

    code = 49
    retriable = False


class InvalidTransactionTimeoutError(KafkaError):
    """Kafka error code 50, ``INVALID_TRANSACTION_TIMEOUT``; not retriable."""

    code = 50
    retriable = False


class ConcurrentTransactionsError(KafkaError):
    """Kafka error code 51, ``CONCURRENT_TRANSACTIONS``; retriable."""

    code = 51
    retriable = True


class TransactionCoordinatorFencedError(KafkaError):
    """Kafka error code 52, ``TRANSACTION_COORDINATOR_FENCED``; not retriable."""

    code = 52
    retriable = False


class TransactionalIdAuthorizationFailedError(AuthorizationError):
    """Kafka error code 53, ``TRANSACTIONAL_ID_AUTHORIZATION_FAILED``; not retriable."""

    code = 53
    retriable = False


class SecurityDisabledError(KafkaError):
    """Kafka error code 54, ``SECURITY_DISABLED``; not retriable."""

    code = 54
    retriable = False


class OperationNotAttemptedError(KafkaError):
    """Kafka error code 55, ``OPERATION_NOT_ATTEMPTED``; not retriable."""

    code = 55
    retriable = False


class KafkaStorageError(KafkaError):
    """Kafka error code 56, ``KAFKA_STORAGE_ERROR``; retriable."""

    code = 56
    retriable = True


class LogDirNotFoundError(KafkaError):
    """Kafka error code 57, ``LOG_DIR_NOT_FOUND``; not retriable."""

    code = 57
    retriable = False


class SaslAuthenticationFailedError(AuthenticationError):
    """SASL authentication failed: wrong credentials or a misconfigured mechanism.

    Kafka error code 58, ``SASL_AUTHENTICATION_FAILED``; not retriable.
    """

    code = 58
    retriable = False


class UnknownProducerIdError(KafkaError):
    """The broker no longer knows the producer id.

    Kafka error code 59, ``UNKNOWN_PRODUCER_ID``; not retriable.
    """

    code = 59
    retriable = False


class ReassignmentInProgressError(KafkaError):
    """Kafka error code 60, ``REASSIGNMENT_IN_PROGRESS``; not retriable."""

    code = 60
    retriable = False


class DelegationTokenAuthDisabledError(KafkaError):
    """Kafka error code 61, ``DELEGATION_TOKEN_AUTH_DISABLED``; not retriable."""

    code = 61
    retriable = False


class DelegationTokenNotFoundError(KafkaError):
    """Kafka error code 62, ``DELEGATION_TOKEN_NOT_FOUND``; not retriable."""

    code = 62
    retriable = False


class DelegationTokenOwnerMismatchError(KafkaError):
    """Kafka error code 63, ``DELEGATION_TOKEN_OWNER_MISMATCH``; not retriable."""

    code = 63
    retriable = False


class DelegationTokenRequestNotAllowedError(KafkaError):
    """Kafka error code 64, ``DELEGATION_TOKEN_REQUEST_NOT_ALLOWED``; not retriable."""

    code = 64
    retriable = False


class DelegationTokenAuthorizationFailedError(AuthorizationError):
    """Kafka error code 65, ``DELEGATION_TOKEN_AUTHORIZATION_FAILED``; not retriable."""

    code = 65
    retriable = False


class DelegationTokenExpiredError(KafkaError):
    """Kafka error code 66, ``DELEGATION_TOKEN_EXPIRED``; not retriable."""

    code = 66
    retriable = False


class InvalidPrincipalTypeError(KafkaError):
    """Kafka error code 67, ``INVALID_PRINCIPAL_TYPE``; not retriable."""

    code = 67
    retriable = False


class NonEmptyGroupError(KafkaError):
    """Kafka error code 68, ``NON_EMPTY_GROUP``; not retriable."""

    code = 68
    retriable = False


class GroupIdNotFoundError(KafkaError):
    """The group does not exist.

    Kafka error code 69, ``GROUP_ID_NOT_FOUND``; not retriable.
    """

    code = 69
    retriable = False


class FetchSessionIdNotFoundError(KafkaError):
    """Kafka error code 70, ``FETCH_SESSION_ID_NOT_FOUND``; retriable."""

    code = 70
    retriable = True


class InvalidFetchSessionEpochError(KafkaError):
    """Kafka error code 71, ``INVALID_FETCH_SESSION_EPOCH``; retriable."""

    code = 71
    retriable = True


class ListenerNotFoundError(KafkaError):
    """Kafka error code 72, ``LISTENER_NOT_FOUND``; retriable."""

    code = 72
    retriable = True


class TopicDeletionDisabledError(KafkaError):
    """Kafka error code 73, ``TOPIC_DELETION_DISABLED``; not retriable."""

    code = 73
    retriable = False


class FencedLeaderEpochError(KafkaError):
    """Kafka error code 74, ``FENCED_LEADER_EPOCH``; retriable."""

    code = 74
    retriable = True


class UnknownLeaderEpochError(KafkaError):
    """Kafka error code 75, ``UNKNOWN_LEADER_EPOCH``; retriable."""

    code = 75
    retriable = True


class StaleBrokerEpochError(KafkaError):
    """Kafka error code 77, ``STALE_BROKER_EPOCH``; not retriable."""

    code = 77
    retriable = False


class OffsetNotAvailableError(KafkaError):
    """Kafka error code 78, ``OFFSET_NOT_AVAILABLE``; retriable."""

    code = 78
    retriable = True


class MemberIdRequiredError(KafkaError):
    """The member must rejoin with the member id the coordinator assigned.

    Kafka error code 79, ``MEMBER_ID_REQUIRED``; not retriable.
    """

    code = 79
    retriable = False


class PreferredLeaderNotAvailableError(KafkaError):
    """Kafka error code 80, ``PREFERRED_LEADER_NOT_AVAILABLE``; retriable."""

    code = 80
    retriable = True


class GroupMaxSizeReachedError(KafkaError):
    """Kafka error code 81, ``GROUP_MAX_SIZE_REACHED``; not retriable."""

    code = 81
    retriable = False


class FencedInstanceIdError(KafkaError):
    """Another member with the same ``group.instance.id`` joined; this one was fenced.

    Kafka error code 82, ``FENCED_INSTANCE_ID``; not retriable.
    """

    code = 82
    retriable = False


class EligibleLeadersNotAvailableError(KafkaError):
    """Kafka error code 83, ``ELIGIBLE_LEADERS_NOT_AVAILABLE``; retriable."""

    code = 83
    retriable = True


class ElectionNotNeededError(KafkaError):
    """Kafka error code 84, ``ELECTION_NOT_NEEDED``; retriable."""

    code = 84
    retriable = True


class NoReassignmentInProgressError(KafkaError):
    """Kafka error code 85, ``NO_REASSIGNMENT_IN_PROGRESS``; not retriable."""

    code = 85
    retriable = False


class GroupSubscribedToTopicError(KafkaError):
    """Kafka error code 86, ``GROUP_SUBSCRIBED_TO_TOPIC``; not retriable."""

    code = 86
    retriable = False


class InvalidRecordError(KafkaError):
    """Kafka error code 87, ``INVALID_RECORD``; not retriable."""

    code = 87
    retriable = False


class UnstableOffsetCommitError(KafkaError):
    """Kafka error code 88, ``UNSTABLE_OFFSET_COMMIT``; retriable."""

    code = 88
    retriable = True


class ThrottlingQuotaExceededError(KafkaError):
    """Kafka error code 89, ``THROTTLING_QUOTA_EXCEEDED``; retriable."""

    code = 89
    retriable = True


class ProducerFencedError(KafkaError):
    """A newer producer with the same transactional id fenced this one.

    Kafka error code 90, ``PRODUCER_FENCED``; not retriable.
    """

    code = 90
    retriable = False


class ResourceNotFoundError(KafkaError):
    """Kafka error code 91, ``RESOURCE_NOT_FOUND``; not retriable."""

    code = 91
    retriable = False


class DuplicateResourceError(KafkaError):
    """Kafka error code 92, ``DUPLICATE_RESOURCE``; not retriable."""

    code = 92
    retriable = False


class UnacceptableCredentialError(KafkaError):
    """Kafka error code 93, ``UNACCEPTABLE_CREDENTIAL``; not retriable."""

    code = 93
    retriable = False


class InconsistentVoterSetError(KafkaError):
    """Kafka error code 94, ``INCONSISTENT_VOTER_SET``; not retriable."""

    code = 94
    retriable = False


class InvalidUpdateVersionError(KafkaError):
    """Kafka error code 95, ``INVALID_UPDATE_VERSION``; not retriable."""

    code = 95
    retriable = False


class FeatureUpdateFailedError(KafkaError):
    """Kafka error code 96, ``FEATURE_UPDATE_FAILED``; not retriable."""

    code = 96
    retriable = False


class PrincipalDeserializationFailureError(KafkaError):
    """Kafka error code 97, ``PRINCIPAL_DESERIALIZATION_FAILURE``; not retriable."""

    code = 97
    retriable = False


class SnapshotNotFoundError(KafkaError):
    """Kafka error code 98, ``SNAPSHOT_NOT_FOUND``; not retriable."""

    code = 98
    retriable = False


class PositionOutOfRangeError(KafkaError):
    """Kafka error code 99, ``POSITION_OUT_OF_RANGE``; not retriable."""

    code = 99
    retriable = False


class UnknownTopicIdError(KafkaError):
    """The broker does not know this topic id.

    Kafka error code 100, ``UNKNOWN_TOPIC_ID``; retriable.
    """

    code = 100
    retriable = True


class DuplicateBrokerRegistrationError(KafkaError):
    """Kafka error code 101, ``DUPLICATE_BROKER_REGISTRATION``; not retriable."""

    code = 101
    retriable = False


class BrokerIdNotRegisteredError(KafkaError):
    """Kafka error code 102, ``BROKER_ID_NOT_REGISTERED``; not retriable."""

    code = 102
    retriable = False


class InconsistentTopicIdError(KafkaError):
    """Kafka error code 103, ``INCONSISTENT_TOPIC_ID``; retriable."""

    code = 103
    retriable = True


class InconsistentClusterIdError(KafkaError):
    """Kafka error code 104, ``INCONSISTENT_CLUSTER_ID``; not retriable."""

    code = 104
    retriable = False


class TransactionalIdNotFoundError(KafkaError):
    """Kafka error code 105, ``TRANSACTIONAL_ID_NOT_FOUND``; not retriable."""

    code = 105
    retriable = False


class FetchSessionTopicIdError(KafkaError):
    """Kafka error code 106, ``FETCH_SESSION_TOPIC_ID_ERROR``; retriable."""

    code = 106
    retriable = True


class IneligibleReplicaError(KafkaError):
    """Kafka error code 107, ``INELIGIBLE_REPLICA``; not retriable."""

    code = 107
    retriable = False


class NewLeaderElectedError(KafkaError):
    """Kafka error code 108, ``NEW_LEADER_ELECTED``; not retriable."""

    code = 108
    retriable = False


class OffsetMovedToTieredStorageError(KafkaError):
    """Kafka error code 109, ``OFFSET_MOVED_TO_TIERED_STORAGE``; not retriable."""

    code = 109
    retriable = False


class FencedMemberEpochError(KafkaError):
    """Kafka error code 110, ``FENCED_MEMBER_EPOCH``; not retriable."""

    code = 110
    retriable = False


class UnreleasedInstanceIdError(KafkaError):
    """Kafka error code 111, ``UNRELEASED_INSTANCE_ID``; not retriable."""

    code = 111
    retriable = False


class UnsupportedAssignorError(KafkaError):
    """Kafka error code 112, ``UNSUPPORTED_ASSIGNOR``; not retriable."""

    code = 112
    retriable = False


class StaleMemberEpochError(KafkaError):
    """Kafka error code 113, ``STALE_MEMBER_EPOCH``; not retriable."""

    code = 113
    retriable = False


class MismatchedEndpointTypeError(KafkaError):
    """Kafka error code 114, ``MISMATCHED_ENDPOINT_TYPE``; not retriable."""

    code = 114
    retriable = False


class UnsupportedEndpointTypeError(KafkaError):
    """Kafka error code 115, ``UNSUPPORTED_ENDPOINT_TYPE``; not retriable."""

    code = 115
    retriable = False


class UnknownControllerIdError(KafkaError):
    """Kafka error code 116, ``UNKNOWN_CONTROLLER_ID``; not retriable."""

    code = 116
    retriable = False


class UnknownSubscriptionIdError(KafkaError):
    """Kafka error code 117, ``UNKNOWN_SUBSCRIPTION_ID``; not retriable."""

    code = 117
    retriable = False


class TelemetryTooLargeError(KafkaError):
    """Kafka error code 118, ``TELEMETRY_TOO_LARGE``; not retriable."""

    code = 118
    retriable = False


class InvalidRegistrationError(KafkaError):
    """Kafka error code 119, ``INVALID_REGISTRATION``; not retriable."""

    code = 119
    retriable = False


class TransactionAbortableError(KafkaError):
    """Kafka error code 120, ``TRANSACTION_ABORTABLE``; not retriable."""

    code = 120
    retriable = False


class InvalidRecordStateError(KafkaError):
    """Kafka error code 121, ``INVALID_RECORD_STATE``; not retriable."""

    code = 121
    retriable = False


class ShareSessionNotFoundError(KafkaError):
    """Kafka error code 122, ``SHARE_SESSION_NOT_FOUND``; retriable."""

    code = 122
    retriable = True


class InvalidShareSessionEpochError(KafkaError):
    """Kafka error code 123, ``INVALID_SHARE_SESSION_EPOCH``; retriable."""

    code = 123
    retriable = True


class FencedStateEpochError(KafkaError):
    """Kafka error code 124, ``FENCED_STATE_EPOCH``; not retriable."""

    code = 124
    retriable = False


class InvalidVoterKeyError(KafkaError):
    """Kafka error code 125, ``INVALID_VOTER_KEY``; not retriable."""

    code = 125
    retriable = False


class DuplicateVoterError(KafkaError):
    """Kafka error code 126, ``DUPLICATE_VOTER``; not retriable."""

    code = 126
    retriable = False


class VoterNotFoundError(KafkaError):
    """Kafka error code 127, ``VOTER_NOT_FOUND``; not retriable."""

    code = 127
    retriable = False


class InvalidRegularExpressionError(KafkaError):
    """Kafka error code 128, ``INVALID_REGULAR_EXPRESSION``; not retriable."""

    code = 128
    retriable = False


class RebootstrapRequiredError(KafkaError):
    """Kafka error code 129, ``REBOOTSTRAP_REQUIRED``; not retriable."""

    code = 129
    retriable = False


class StreamsInvalidTopologyError(KafkaError):
    """Kafka error code 130, ``STREAMS_INVALID_TOPOLOGY``; not retriable."""

    code = 130
    retriable = False


class StreamsInvalidTopologyEpochError(KafkaError):
    """Kafka error code 131, ``STREAMS_INVALID_TOPOLOGY_EPOCH``; not retriable."""

    code = 131
    retriable = False


class StreamsTopologyFencedError(KafkaError):
    """Kafka error code 132, ``STREAMS_TOPOLOGY_FENCED``; not retriable."""

    code = 132
    retriable = False


class ShareSessionLimitReachedError(KafkaError):
    """Kafka error code 133, ``SHARE_SESSION_LIMIT_REACHED``; retriable."""

    code = 133
    retriable = True


def for_code(code: int, message: str | None = None) -> KafkaError:
    """The exception for a Kafka error code, as an instance of its named subclass.

    Args:
        code: the error code from a response (not ``0``, which means success).
        message: the broker's error message, if the response carried one. The exception's text
            is ``"NAME (code N): message"``.

    A code kaffe does not know becomes a plain :class:`KafkaError` with ``code`` set, so it is
    never lost (a newer broker may send codes newer than kaffe's table).
    """
    if code == 0:
        raise ValueError("error code 0 (NONE) means success, not an error")
    cls = _BY_CODE.get(code)
    entry = _ERROR_CODES.get(code)
    name = entry[0] if entry is not None else "UNKNOWN_ERROR_CODE"
    text = f"{name} (code {code})"
    if message:
        text = f"{text}: {message}"
    if cls is None:
        return KafkaError(text, code=code)
    return cls(text)


def raise_for_code(code: int, message: str | None = None) -> None:
    """Raise :func:`for_code`'s exception, or do nothing when ``code`` is ``0``."""
    if code != 0:
        raise for_code(code, message)
