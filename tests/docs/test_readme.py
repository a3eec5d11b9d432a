"""Every ```python block in README.md runs as written (examples that rot are worse than none).

Blocks that talk to Kafka name the README's address, ``127.0.0.1:9092``; the test points them at
the session's real broker instead.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
README_ADDRESS = ("127.0.0.1", 9092)


def _needs_broker(source: str) -> bool:
    return "9092" in source


def _run(source: str) -> None:
    exec(compile(source, str(README), "exec"), {"__name__": "readme_example"})


def test_readme_has_examples() -> None:
    assert BLOCKS, "README.md should carry at least one runnable ```python example"


@pytest.mark.parametrize(
    "source",
    [b for b in BLOCKS if not _needs_broker(b)],
)
def test_readme_example_runs(source: str) -> None:
    _run(source)


@pytest.mark.broker
@pytest.mark.parametrize(
    "source",
    [b for b in BLOCKS if _needs_broker(b)],
)
def test_readme_broker_example_runs(source: str, kafka_broker: object) -> None:
    host, port = kafka_broker.listener("PLAINTEXT")  # type: ignore[attr-defined]
    real = source.replace(f"{README_ADDRESS[0]}:{README_ADDRESS[1]}", f"{host}:{port}").replace(
        f'("{README_ADDRESS[0]}", {README_ADDRESS[1]})', f'("{host}", {port})'
    )
    assert real != source, "the example should name the README's broker address"
    _run(real)
