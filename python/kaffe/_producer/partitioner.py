"""Choosing partitions: Kaffe's md5, Java's murmur2, random, or a user callable.

* ``md5`` (the default): Kaffe's exact formula, the sum of the 16 bytes of ``md5(key)`` modulo
  the partition count. Kaffe hashes whatever key it gets; a ``None`` key is hashed as ``b""``,
  so keyless messages all go to one partition (``md5(b"")``'s).
* ``murmur2``: the Java client's default partitioner for keyed messages,
  ``(murmur2(key) & 0x7fffffff) % count``, byte for byte. Keyless messages (``None`` key) are
  spread like Java's sticky partitioner: all keyless messages of one produce call go to one
  randomly chosen partition.
* ``random``: each message to a uniformly random partition.
* a callable ``(topic, partitions_count, key, value) -> int``: its result must be an int in
  ``range(partitions_count)``, otherwise :class:`ValueError` names the callable and the result.

Hashing runs in Rust over the whole list at once.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from kaffe._core import partitions_md5, partitions_murmur2
from kaffe._producer.messages import Record
from kaffe._producer.settings import PartitionStrategy

__all__ = ["assign_partitions"]


def assign_partitions(
    strategy: PartitionStrategy, topic: str, count: int, records: Sequence[Record]
) -> list[int]:
    """The partition of every record under ``strategy`` for a topic of ``count`` partitions."""
    if count < 1:
        raise ValueError(f"topic {topic!r} has no partitions")
    if strategy == "md5":
        if count == 1:
            return [0] * len(records)
        return partitions_md5([r[0] if r[0] is not None else b"" for r in records], count)
    if strategy == "murmur2":
        sticky = random.randrange(count)
        keyed = [r[0] for r in records if r[0] is not None]
        hashed = iter(partitions_murmur2(keyed, count))
        return [next(hashed) if r[0] is not None else sticky for r in records]
    if strategy == "random":
        return [random.randrange(count) for _ in records]
    if isinstance(strategy, str):
        raise ValueError(f"unknown partition strategy {strategy!r}")
    out: list[int] = []
    for record in records:
        chosen = strategy(topic, count, record[0], record[1])
        if isinstance(chosen, bool) or not isinstance(chosen, int) or not 0 <= chosen < count:
            name = getattr(strategy, "__qualname__", repr(strategy))
            raise ValueError(
                f"partition_strategy {name} returned {chosen!r} for topic {topic!r}; it must "
                f"return an int in 0..{count - 1} (the topic has {count} partitions)"
            )
        out.append(chosen)
    return out
