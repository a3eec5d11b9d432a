"""``make soak``: the fault workload for a set time with faults at random (seeded) intervals,
sampling the client processes' RSS, open FDs, threads and asyncio tasks; a PNG and a summary
at the end. See ``python -m soak --help``."""
