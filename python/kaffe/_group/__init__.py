"""The consumer group engine: membership, assignors, offsets and handler workers (internal)."""
