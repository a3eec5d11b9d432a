"""The producer engine behind :class:`kaffe.Producer` and :class:`kaffe.aio.Producer`.

One job per module: ``settings`` (the producer's config keys), ``messages`` (Kaffe's message
forms to record tuples), ``partitioner`` (md5, murmur2, random, callables), ``accumulator``
(per-partition queues and batches), ``idempotence`` (producer id, epoch, sequences), ``sender``
(Produce requests, retries, deadlines) and ``transactions`` (the transaction coordinator).
"""
