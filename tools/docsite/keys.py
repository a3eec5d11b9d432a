"""What each configuration key means, for the generated configuration pages.

The pages take each key's name, default and allowed values from the key tables in the code
(:data:`kaffe.config.CLIENT_KEYS`, ``CONSUMER_KEYS``, ``PRODUCER_KEYS``); this module adds only
what the code cannot say: the meaning, and where the key comes from. ``configpages --check``
fails when a key of the code has no entry here, or an entry names a key the code does not have.

``origin`` is where the key comes from: ``"Kaffe"`` (a key of Elixir Kaffe's configuration),
``"brod"`` (an option of brod, the Erlang client Kaffe is built on, that Kaffe does not expose)
or ``"kaffe"`` (new here). ``upstream`` is Kaffe's (or brod's) default for that key, when it
has one; a default that differs from kaffe's must be explained in ``docs/coming-from-kaffe.md``
(the check looks for the key's row there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Origin = Literal["Kaffe", "brod", "kaffe"]

NO_DEFAULT: Any = object()
"""``upstream`` when Kaffe has the key but no default (it is required there, or unset)."""


@dataclass(frozen=True)
class KeyDoc:
    """The meaning of one key, in Markdown."""

    text: str
    origin: Origin
    upstream: Any = NO_DEFAULT


CLIENT: dict[str, KeyDoc] = {
    "endpoints": KeyDoc(
        "The bootstrap brokers: kaffe asks them for the cluster's metadata and then talks to "
        "whichever brokers lead the partitions. Any of these forms: a list of `(host, port)` "
        'pairs (`[("kafka-1", 9092), ("kafka-2", 9092)]`), a mapping `{"kafka-1": 9092}`, a '
        'string `"kafka-1:9092,kafka-2:9092"`, or URLs `"kafka+ssl://kafka-1:9096,..."`. A '
        "`kafka+ssl://` URL turns TLS on (as `ssl=True` would); IPv6 addresses go in brackets "
        "(`[::1]:9092`). Required, unless [`heroku_kafka_env`](#heroku_kafka_env) is `True`, "
        "which takes them from `KAFKA_URL`.",
        "Kaffe",
    ),
    "heroku_kafka_env": KeyDoc(
        "Take the brokers and the TLS settings from Heroku Kafka's environment variables: "
        "`KAFKA_URL` (the endpoints), `KAFKA_TRUSTED_CERT` (the broker CA, PEM), "
        "`KAFKA_CLIENT_CERT` and `KAFKA_CLIENT_CERT_KEY` (the client certificate and key, PEM) "
        "and `KAFKA_PREFIX` (put in front of every topic name and consumer group id that does "
        "not already start with it). They replace `endpoints` and `ssl`. The broker's host "
        "name is not checked against its certificate (Heroku's certificates do not name the "
        "brokers); the chain still is. See [Security](../security.md#heroku-kafka).",
        "Kaffe",
        False,
    ),
    "ssl": KeyDoc(
        "TLS for every connection. `False` or absent: plaintext (unless the endpoints are "
        "`kafka+ssl://` URLs). `True`: TLS with the system's CAs, host name checked. An "
        "`ssl.SSLContext` of your own is used as it is. A mapping takes `cafile`, `certfile`, "
        "`keyfile` (paths to PEM files), `cadata`, `certdata`, `keydata` (PEM text) and "
        "`check_hostname` (default `True`; `False` still verifies the certificate chain). "
        "Files are read and checked when the client is created, so a missing file is a "
        "`kaffe.ConfigError` at once. See [Security](../security.md#tls).",
        "Kaffe",
        False,
    ),
    "sasl": KeyDoc(
        'SASL authentication, Kaffe\'s map: `{"mechanism": "plain", "login": "alice", '
        '"password": "..."}`; the mechanisms are `"plain"`, `"scram_sha_256"` and '
        '`"scram_sha_512"` (`"scram-sha-256"` is accepted too). `None` or `{}`: no SASL. '
        "Combine it with `ssl` for SASL_SSL. The password never appears in `repr()`, errors "
        "or logs. See [Security](../security.md#sasl).",
        "Kaffe",
        {},
    ),
    "client_id": KeyDoc(
        "Sent in every request's header; brokers show it in their logs, metrics and quotas.",
        "kaffe",
    ),
    "connect_timeout": KeyDoc(
        "Milliseconds one connection attempt may take: TCP connect, TLS handshake, API "
        "version negotiation and SASL authentication together.",
        "brod",
        5000,
    ),
    "request_timeout": KeyDoc(
        "Milliseconds a request may wait for its answer unless the operation has a deadline "
        "of its own (a produce call's delivery deadline, an admin call's `timeout`). A fetch "
        "waits up to `max_wait_time` plus 30 s instead.",
        "brod",
        240000,
    ),
    "allow_topic_auto_creation": KeyDoc(
        "Sent in metadata requests: whether asking for a topic that does not exist may create "
        "it (when the broker's `auto.create.topics.enable` allows it). `False` never creates "
        "topics by accident; create them with [`AdminClient`](../admin.md).",
        "Kaffe",
        False,
    ),
    "metadata_max_age_ms": KeyDoc(
        "Milliseconds between periodic metadata refreshes. Metadata is also refreshed at once "
        "whenever a broker says it is not the leader, a partition is unknown, or a connection "
        "is lost, so this only bounds how late a change nobody ran into is seen (a new "
        "partition, for example).",
        "kaffe",
    ),
    "get_metadata_timeout_seconds": KeyDoc(
        "Seconds one metadata lookup may take (bootstrap, refreshes, looking up a topic).",
        "brod",
        5,
    ),
}

CONSUMER: dict[str, KeyDoc] = {
    "consumer_group": KeyDoc(
        "The consumer group id. Members with the same group id share the topics' partitions, "
        "and the group's committed offsets say where each partition resumes. Required.",
        "Kaffe",
    ),
    "topics": KeyDoc(
        "The topics to consume, a list of names (one name alone is accepted). More can be added "
        "while running with `subscribe_to_topics`. Required.",
        "Kaffe",
    ),
    "message_handler": KeyDoc(
        "What handles the messages. For `GroupMemberSupervisor`: an object (or module) with "
        "`handle_messages(messages)`, or a plain callable taking the list. For `Consumer`: an "
        "object with `handle_message(message)` (`handle_message(consumer, message)` with "
        "[`async_message_ack`](#async_message_ack)), or a callable. In `kaffe.aio` the handler "
        "may be a coroutine function. It may also have `on_assigned(partitions)` and "
        "`on_revoked(partitions)`. Required. See [Consumers](../consumers.md#handlers).",
        "Kaffe",
    ),
    "subscriber_name": KeyDoc(
        "The member's name in logs and thread names. `None`: the consumer group id.",
        "Kaffe",
    ),
    "async_message_ack": KeyDoc(
        "`Consumer` only. `False`: a message counts as processed when `handle_message` "
        "returns. `True`: the handler is called as `handle_message(consumer, message)` and the "
        "application calls `consumer.ack(message)` later, from any thread; offsets are "
        "committed up to the first message not yet acknowledged, and at most "
        "`max(1, prefetch_count)` messages per partition are outstanding. "
        "`GroupMemberSupervisor` refuses `True`.",
        "Kaffe",
        False,
    ),
    "start_with_earliest_message": KeyDoc(
        "Where a partition starts when the group has no committed offset for it: `False` at "
        "the end (only messages produced from now on), `True` at the earliest message still "
        "in the log. Once the group has committed an offset, the partition always resumes "
        "there.",
        "Kaffe",
        False,
    ),
    "offset_commit_interval_seconds": KeyDoc(
        "Seconds between two commits of the offsets the handlers have finished. Offsets are "
        "also committed before partitions are revoked and when the member stops, so a clean "
        "stop or rebalance loses nothing; a crash re-delivers at most this much.",
        "Kaffe",
        5,
    ),
    "rebalance_delay_ms": KeyDoc(
        "Milliseconds to wait after an assignment before consuming it. Kaffe waits 10 s to "
        "work around a brod bug with stale generations; kaffe drops stale assignments itself.",
        "Kaffe",
        10000,
    ),
    "max_bytes": KeyDoc(
        "Bytes one fetch may return per partition. A record batch larger than this is still "
        "fetched: the partition's limit doubles for the next request (and shrinks back after).",
        "Kaffe",
        1000000,
    ),
    "min_bytes": KeyDoc(
        "Bytes the broker waits for before answering a fetch (up to "
        "[`max_wait_time`](#max_wait_time)). `1`: long-poll, answered the moment a record "
        "lands. `0`: answered at once, with nothing when nothing is there; the partition then "
        "sleeps [`sleep_timeout`](#sleep_timeout).",
        "Kaffe",
        0,
    ),
    "max_wait_time": KeyDoc(
        "Milliseconds the broker may hold a fetch waiting for [`min_bytes`](#min_bytes).",
        "Kaffe",
        10000,
    ),
    "sleep_timeout": KeyDoc(
        "Milliseconds a partition waits before it is fetched again after an empty answer "
        "(with `min_bytes` 1, only after a long poll that came back with nothing at all). "
        "Only that partition sleeps; the broker's others are fetched as usual.",
        "Kaffe",
        1000,
    ),
    "prefetch_count": KeyDoc(
        "Messages per partition fetched ahead of the handler: a partition is fetched again "
        "while fewer than this many messages, or fewer than "
        "[`prefetch_bytes`](#prefetch_bytes) bytes, wait unhandled. With "
        "[`async_message_ack`](#async_message_ack) also the most messages per partition "
        "delivered and not yet acknowledged (`max(1, prefetch_count)`).",
        "Kaffe",
        10,
    ),
    "prefetch_bytes": KeyDoc(
        "Bytes per partition fetched ahead of the handler (see "
        "[`prefetch_count`](#prefetch_count): fetching goes on while either is not reached).",
        "Kaffe",
        102400,
    ),
    "subscriber_retries": KeyDoc(
        "How many times in a row fetching a partition (or reading its committed offset) may "
        "fail with an error retrying cannot fix (a lost authorization, say) before the member "
        "stops with the error. Each retry waits "
        "[`subscriber_retry_delay_ms`](#subscriber_retry_delay_ms). Retriable errors (leader and "
        "coordinator moves, lost connections, timeouts) are retried without counting, 100 ms "
        "apart at first and up to 2 s, for as long as the member holds the partition.",
        "Kaffe",
        5,
    ),
    "subscriber_retry_delay_ms": KeyDoc(
        "Milliseconds before a failed fetch is retried, and before a batch whose handler "
        "raised is delivered again.",
        "Kaffe",
        5000,
    ),
    "client_down_retry_expire": KeyDoc(
        "Milliseconds `start()` keeps trying to reach the cluster (exponential backoff) before "
        "it raises `kaffe.ConnectionError`.",
        "Kaffe",
        30000,
    ),
    "offset_reset_policy": KeyDoc(
        "What happens when a partition's offset is out of range (the messages were deleted by "
        "retention, or the offset is past the end): `reset_to_earliest`, `reset_to_latest`, or "
        "`reset_by_subscriber`, which resets where "
        "[`start_with_earliest_message`](#start_with_earliest_message) says. Each reset is "
        "logged as a warning.",
        "Kaffe",
        "reset_by_subscriber",
    ),
    "worker_allocation_strategy": KeyDoc(
        "Which partitions share a worker (a thread; a task in `kaffe.aio`). A worker handles "
        "its batches one after another; workers run concurrently. "
        "`worker_per_partition`: one worker per partition *number*, shared by the topics "
        "(partition 0 of every topic in one worker). `worker_per_topic_partition`: one worker "
        "per topic and partition.",
        "Kaffe",
        "worker_per_partition",
    ),
    "isolation_level": KeyDoc(
        "`read_committed`: messages of aborted transactions are never delivered, and a "
        "partition is read only up to its first open transaction. `read_uncommitted`: "
        "everything written, as it is written.",
        "brod",
        "read_committed",
    ),
    "session_timeout_seconds": KeyDoc(
        "Seconds the group coordinator waits for a heartbeat before it declares the member "
        "dead and gives its partitions to the others. Must be more than "
        "[`heartbeat_rate_seconds`](#heartbeat_rate_seconds).",
        "brod",
        30,
    ),
    "rebalance_timeout_seconds": KeyDoc(
        "Seconds the members have to rejoin during a rebalance; also how long revoking "
        "partitions waits for the running handlers before it goes on (a handler still running "
        "then is reported with `logging.error` and its result discarded).",
        "brod",
        30,
    ),
    "heartbeat_rate_seconds": KeyDoc(
        "Seconds between heartbeats. With the classic group protocol a member hears of a "
        "rebalance only in a heartbeat (or commit) answer, so this bounds how long a leaving "
        "member's partitions wait for their new owner.",
        "brod",
        5,
    ),
    "max_rejoin_attempts": KeyDoc(
        "Failed attempts to rejoin the group after which a non-retriable error stops the "
        "member (retriable errors keep being retried, logged louder).",
        "brod",
        5,
    ),
    "rejoin_delay_seconds": KeyDoc(
        "Seconds before retrying a failed join, doubling with each failure up to 10 s. A "
        "member asked to rejoin does so at once.",
        "brod",
        1,
    ),
    "offset_retention_seconds": KeyDoc(
        "Accepted for brod configurations, not sent: the broker's `offsets.retention.minutes` "
        "decides how long committed offsets are kept (the commit requests of current "
        "brokers have no retention field).",
        "brod",
        -1,
    ),
    "group_instance_id": KeyDoc(
        "Static membership (KIP-345): a member that restarts with the same id within the "
        "session timeout gets its partitions back without a rebalance. Such a member does not "
        "leave the group when it stops. Two running members with the same id: the older one "
        "stops with `kaffe.FencedInstanceIdError`.",
        "brod",
    ),
    "partition_assignment_strategy": KeyDoc(
        'The assignors this member supports, preferred first: the built-in `"range"`, '
        '`"roundrobin"` (brod\'s `roundrobin_v2` is accepted as its name) and '
        '`"cooperative-sticky"` (partitions that stay with a member keep being consumed '
        "through a rebalance), and instances of your own `kaffe.Assignor` classes, alone or "
        "in a list with the names. The built-ins' names and byte formats are Java's, so "
        "kaffe, Java and librdkafka members can share a group. A class instead of an "
        "instance, an object missing `name`, `rebalance`, `assign` or `user_data`, or two "
        "different assignors with one name is a `kaffe.ConfigError`. See "
        "[Consumers](../consumers.md#rebalances) and "
        "[your own assignor](../consumers.md#your-own-assignor).",
        "brod",
        ("roundrobin_v2",),
    ),
    "on_assigned": KeyDoc(
        "A callable given the list of `(topic, partition)` pairs just assigned, once their "
        "consumption has started (it may run while their first batches are handled). Runs in "
        "a callback worker thread (a task in `kaffe.aio`), never on the event loop; one still "
        "running after `rebalance_timeout_seconds` is reported. `None`: the handler's "
        "`on_assigned` method, if it has one.",
        "kaffe",
    ),
    "on_revoked": KeyDoc(
        "A callable given the `(topic, partition)` pairs being taken away, after their last "
        "batches finished and their offsets were committed. `None`: the handler's `on_revoked` "
        "method, if it has one.",
        "kaffe",
    ),
    "auto_start_producers": KeyDoc(
        "Accepted so that Kaffe configurations load; a consumer starts no producer.",
        "Kaffe",
        False,
    ),
}

PRODUCER: dict[str, KeyDoc] = {
    "topics": KeyDoc(
        "Topic names; the first is where `produce_sync(key, value)` sends. Any topic can be "
        "produced to by naming it in the call.",
        "Kaffe",
    ),
    "partition_strategy": KeyDoc(
        'How a message\'s partition is chosen when the call does not name one: `"md5"` '
        "(Kaffe's: md5 of the key, modulo the partition count; a `None` key hashes as empty), "
        '`"murmur2"` (the Java client\'s, byte for byte, so kaffe and Java producers put a key '
        'in the same partition), `"random"`, or a callable `(topic, partitions_count, key, '
        "value) -> int`. `produce(..., partition_strategy=...)` overrides it for one call.",
        "Kaffe",
        "md5",
    ),
    "client_name": KeyDoc(
        "Accepted so that Kaffe configurations load (Kaffe's name for its brod client); "
        "use [`client_id`](client.md#client_id) for the name brokers see.",
        "Kaffe",
        "kaffe_producer_client",
    ),
    "auto_start_producers": KeyDoc(
        "Accepted so that Kaffe configurations load; kaffe's producer always sends to any "
        "partition it is given.",
        "Kaffe",
        True,
    ),
    "required_acks": KeyDoc(
        "Acknowledgement the broker gives before a produce call succeeds: `-1` once every "
        "in-sync replica has the messages, `1` once the leader has written them, `0` none "
        "(the call succeeds when the request is sent; offsets are then `-1`). Idempotence and "
        "transactions need `-1`.",
        "Kaffe",
        -1,
    ),
    "ack_timeout": KeyDoc(
        "Milliseconds the broker may wait for the replicas' acknowledgements "
        "(`required_acks=-1`) before answering with a timeout, which kaffe retries.",
        "Kaffe",
        1000,
    ),
    "partition_buffer_limit": KeyDoc(
        "Produce calls (batch-sized parts of them) queued per partition. Beyond it a produce "
        "call waits for room (back-pressure, for example while a partition's leader is "
        "unreachable), at most until its delivery deadline.",
        "Kaffe",
        512,
    ),
    "partition_onwire_limit": KeyDoc(
        "Batches in flight per partition. `None`: 5 with idempotence (the broker checks "
        "their sequence numbers, so they keep their order), 1 without (more may reorder on a "
        "retry). With idempotence a larger value is capped at 5.",
        "Kaffe",
        1,
    ),
    "max_batch_size": KeyDoc(
        "Bytes of one record batch (before compression). A list bigger than this is sent as "
        "several batches, in order. A batch the broker refuses as too large is cut in two and "
        "sent again.",
        "Kaffe",
        1048576,
    ),
    "max_retries": KeyDoc(
        "A count of retries, for a batch that failed with a retriable error (the leader "
        "moved, a connection dropped or could not be made, a request timed out, "
        "`NOT_ENOUGH_REPLICAS`...). `None` (or `-1`): no count, a batch is retried until its "
        "[delivery deadline](#delivery_timeout_ms), which rides through a leader election. "
        "A number: give up after that many retries, or at the deadline, whichever comes "
        "first (`3` is Kaffe's behaviour; `0` gives up at the first failure). The waits "
        "between retries: [`retry_backoff_ms`](#retry_backoff_ms) to "
        "[`retry_backoff_max_ms`](#retry_backoff_max_ms). See "
        "[Producer](../producer.md#delivery-acks-retries-and-the-deadline).",
        "Kaffe",
        3,
    ),
    "retry_backoff_ms": KeyDoc(
        "Milliseconds a failed batch waits before its first retry. The wait doubles after "
        "each retry up to [`retry_backoff_max_ms`](#retry_backoff_max_ms) and every wait is "
        "jittered by ±20 %. A batch is re-sent before its wait is over once metadata names a "
        "leader other than the broker that failed it.",
        "Kaffe",
        500,
    ),
    "retry_backoff_max_ms": KeyDoc(
        "The cap, in milliseconds, of the doubling wait between retries of a batch (the Java "
        "client's `retry.backoff.max.ms`, KIP-580): the waits are `retry_backoff_ms`, twice "
        "that, ... up to this, each ±20 %. A `retry_backoff_ms` above it is kept as it is "
        "(every wait is then `retry_backoff_ms`). It also caps the spacing of metadata "
        "refreshes asked for in a row while a leader is being elected. Kaffe waits "
        "`retry_backoff_ms` before every retry: `retry_backoff_max_ms=500` does the same "
        "with the default `retry_backoff_ms`.",
        "kaffe",
    ),
    "compression": KeyDoc(
        'The codec of record batches: `"none"` (Kaffe\'s `"no_compression"` and `None`, '
        'kafka-python\'s and aiokafka\'s spelling, mean the same), `"gzip"`, `"snappy"`, '
        '`"lz4"` or `"zstd"`. Consumers read every codec whatever this says.',
        "Kaffe",
        "no_compression",
    ),
    "min_compression_batch_size": KeyDoc(
        "Bytes below which a batch is sent uncompressed even with `compression` set.",
        "Kaffe",
        1024,
    ),
    "max_linger_ms": KeyDoc(
        "Milliseconds a partition's first queued message may wait for more before its batch "
        "is sent. `0`: send at once (batches still form while earlier ones are in flight).",
        "brod",
        0,
    ),
    "max_linger_count": KeyDoc(
        "With [`max_linger_ms`](#max_linger_ms): send as soon as this many messages are "
        "queued for the partition, without waiting out the linger. `0`: no count.",
        "brod",
        0,
    ),
    "enable_idempotence": KeyDoc(
        "Idempotent producing: the broker drops a batch it already wrote, so a retry after a "
        "lost answer never writes a message twice or out of order. `None`: on when "
        "`required_acks` is `-1` and the broker supports it. `True`: required (start fails "
        "otherwise). `False`: off.",
        "kaffe",
    ),
    "transactional_id": KeyDoc(
        "Turns on transactions: `begin_transaction`, produce, "
        "`send_offsets_to_transaction`, `commit_transaction` or `abort_transaction`. The id "
        "identifies the producer across restarts: starting a producer with the same id "
        "fences the older one (`kaffe.ProducerFencedError`) and aborts its open "
        "transaction. Needs idempotence and `required_acks=-1`. See "
        "[Producer](../producer.md#transactions).",
        "kaffe",
    ),
    "transaction_timeout_ms": KeyDoc(
        "Milliseconds a transaction may stay open before the coordinator aborts it (at most "
        "the broker's `transaction.max.timeout.ms`).",
        "kaffe",
    ),
    "delivery_timeout_ms": KeyDoc(
        "Milliseconds within which every produce call succeeds or fails, retries included "
        "(the Java client's `delivery.timeout.ms`, with its default): `produce_sync` returns "
        "or raises, futures complete. Retries stop when the next one would start after it; "
        "a batch still queued then (no leader known, its broker unreachable) fails with "
        "`kaffe.KafkaTimeoutError`. It also bounds how long a produce call waits for room "
        "([back-pressure](../producer.md#back-pressure)) and `close()`'s default wait. "
        "`None` means the default.",
        "kaffe",
    ),
}
