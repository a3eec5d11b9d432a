"""Golden record batches: real Kafka log segments written by the Java client and librdkafka.

``python -m golden`` (with ``tools/`` on ``PYTHONPATH``) starts the harness's broker, produces
the fixed records of :mod:`golden.records` with both clients and every codec, and writes the
segment files, ``expected.json`` and ``README.md`` into ``tests/fixtures/golden/``.
"""
