"""The idempotent producer's identity: producer id, epoch and per-partition sequences.

``InitProducerId`` gives a producer id and epoch; every batch carries the sequence number of its
first record, counted per partition from 0 (wrapping at 2**31). The broker writes a batch only if
its sequence follows the last one it wrote for that producer and partition, and answers a re-sent
batch it already wrote with the original offset (or ``DUPLICATE_SEQUENCE_NUMBER``, which kaffe
counts as success), so retries never duplicate.

What kaffe does when its sequences and the broker's disagree (a simplified KIP-360). A batch
the broker answers ``OUT_OF_ORDER_SEQUENCE_NUMBER`` or ``UNKNOWN_PRODUCER_ID`` was not written.

* ``OUT_OF_ORDER_SEQUENCE_NUMBER`` while an earlier batch of the same partition is still
  unacknowledged (in flight or waiting to be re-sent), or for a batch that was renumbered (see
  below), only means the batches arrived out of order: the batch is retried after the earlier
  one, without counting a retry.
* ``OUT_OF_ORDER_SEQUENCE_NUMBER`` for a batch that directly follows the last acknowledged one
  (it reached the broker before the batch ahead of it, which has been acknowledged since, as
  the Java client's ``isNextSequence`` check): retried, counting a retry.
* A batch the broker refused with another non-retriable error (a record too large, an invalid
  record...) was not written either: its sequence numbers are given back, and the partition's
  later batches under the same producer id are renumbered (re-encoded) to close the gap.
* A batch given up on (no retries left, delivery deadline) may or may not have been written, so
  its sequences can be neither reused nor skipped: the producer fetches a new producer id before
  its next batch (sequences restart at 0). Batches already encoded with the old id keep it (the
  broker still knows it), so nothing is re-sent under a new identity that could duplicate it.
* ``OUT_OF_ORDER_SEQUENCE_NUMBER`` otherwise, and ``UNKNOWN_PRODUCER_ID``, fail the affected batch
  loudly (kaffe cannot tell what the broker has), fail the partition's batches that were waiting
  to be re-sent, and make the producer fetch a new producer id before its next batch.
* A broker that expired the producer id (``producer.id.expiration.ms``) has no state for it and,
  since KIP-360, accepts the next batch whatever its sequence: kaffe's next batch is simply
  written (no ``UNKNOWN_PRODUCER_ID`` from Kafka 2.5 on).
* ``DUPLICATE_SEQUENCE_NUMBER`` counts as success (offset -1); current brokers answer a re-sent
  batch they still remember with its original offset instead.
* A transactional producer cannot change its id within a transaction: a batch given up on or
  failed with a sequence error fails, and the transaction must be aborted.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from kaffe._cluster.client import Cluster, CoordinatorType
from kaffe._cluster.errors import COORDINATOR_ERRORS, error_for, is_retriable
from kaffe._protocol import ApiKey, ErrorCode
from kaffe._util import Deadline, backoff
from kaffe.errors import ConnectionError, KafkaError, KafkaTimeoutError

__all__ = [
    "ProducerIdentity",
    "init_producer_id",
    "is_fatal_sequence_error",
    "next_sequence",
    "sequence_error",
    "supports_idempotence",
]

log = logging.getLogger("kaffe.producer")

_MAX_SEQUENCE = 2**31


@dataclass(frozen=True)
class ProducerIdentity:
    """A producer id and epoch from ``InitProducerId`` (``-1, -1`` when not idempotent)."""

    producer_id: int = -1
    epoch: int = -1


def next_sequence(sequence: int, count: int) -> int:
    """The sequence after ``count`` records starting at ``sequence`` (wrapping at 2**31)."""
    return (sequence + count) % _MAX_SEQUENCE


async def init_producer_id(
    cluster: Cluster,
    *,
    transactional_id: str | None,
    transaction_timeout_ms: int,
    deadline: Deadline,
    current: ProducerIdentity | None = None,
) -> ProducerIdentity:
    """Ask for a producer id (at the transaction coordinator when ``transactional_id`` is set,
    else at any broker), retrying retriable errors until ``deadline``.

    Raises:
        kaffe.UnsupportedVersionError: the broker has no InitProducerId.
        kaffe.KafkaError: the subclass for a non-retriable error code.
        kaffe.KafkaTimeoutError: no answer by the deadline.
    """
    attempt = 0
    last: BaseException | None = None
    while True:
        try:
            if transactional_id is None:
                conn = await cluster.any_connection(timeout=deadline.remaining())
            else:
                conn = await cluster.coordinator(
                    transactional_id, CoordinatorType.TRANSACTION, timeout=deadline.remaining()
                )
            version = conn.api_version(ApiKey.INIT_PRODUCER_ID)
            body = {
                "transactional_id": transactional_id,
                "transaction_timeout_ms": transaction_timeout_ms,
            }
            if version >= 3 and current is not None:
                body["producer_id"] = current.producer_id
                body["producer_epoch"] = current.epoch
            resp = await conn.request(
                ApiKey.INIT_PRODUCER_ID, body, timeout=max(0.001, deadline.remaining())
            )
        except (ConnectionError, KafkaTimeoutError) as exc:
            if not exc.retriable:  # TLS / authentication failures: retrying will not help
                raise
            if transactional_id is not None:
                cluster.invalidate_coordinator(transactional_id, CoordinatorType.TRANSACTION)
            last = exc
        else:
            code = int(resp.get("error_code", 0))
            if code == 0:
                ident = ProducerIdentity(int(resp["producer_id"]), int(resp["producer_epoch"]))
                log.debug("producer id %d epoch %d", ident.producer_id, ident.epoch)
                return ident
            err = error_for(code, "InitProducerId")
            if code in COORDINATOR_ERRORS and transactional_id is not None:
                cluster.invalidate_coordinator(transactional_id, CoordinatorType.TRANSACTION)
            elif not (is_retriable(code) or code == ErrorCode.CONCURRENT_TRANSACTIONS):
                raise err
            last = err
        if deadline.expired:
            raise deadline.timeout_error("getting a producer id", last)
        await asyncio.sleep(backoff(attempt, deadline))
        attempt += 1


def supports_idempotence(api_versions: dict[int, tuple[int, int]]) -> bool:
    """Whether a broker's ApiVersions include InitProducerId."""
    return ApiKey.INIT_PRODUCER_ID in api_versions


def is_fatal_sequence_error(code: int) -> bool:
    """Codes after which the producer needs a new id (see the module docs)."""
    return code in (ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, ErrorCode.UNKNOWN_PRODUCER_ID)


def sequence_error(code: int, what: str) -> KafkaError:
    """The exception for a sequence error that cannot be retried."""
    return error_for(
        code,
        what,
        "the broker lost track of this producer's sequence; the batch may or may not have been "
        "written, so it is failed rather than re-sent",
    )
