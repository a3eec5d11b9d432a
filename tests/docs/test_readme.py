"""Every ```python block in README.md runs as written (examples that rot are worse than none).

Blocks that talk to Kafka name the README's address, ``127.0.0.1:9092``; the test points them at
the session's real broker instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _doc_examples import needs_broker, point_at, python_blocks, run_block

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = python_blocks(README)


def test_readme_has_examples() -> None:
    assert BLOCKS, "README.md should carry at least one runnable ```python example"


@pytest.mark.parametrize(
    "source",
    [b for b in BLOCKS if not needs_broker(b)],
)
def test_readme_example_runs(source: str) -> None:
    run_block(source, README)


@pytest.mark.broker
@pytest.mark.parametrize(
    "source",
    [b for b in BLOCKS if needs_broker(b)],
)
def test_readme_broker_example_runs(source: str, kafka_broker: object) -> None:
    host, port = kafka_broker.listener("PLAINTEXT")  # type: ignore[attr-defined]
    real = point_at(source, host, port)
    assert real != source, "the example should name the README's broker address"
    run_block(real, README)
