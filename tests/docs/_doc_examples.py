"""Running the ```python blocks of Markdown files as written (README.md, docs/).

Blocks that talk to Kafka name the documented address, ``127.0.0.1:9092`` (or
``("127.0.0.1", 9092)``); :func:`point_at` points them at the session's real broker instead.
Illustrations that are not meant to run stand in ```py blocks, which are left alone.
"""

from __future__ import annotations

import re
from pathlib import Path

FENCE = re.compile(r"```python\n(.*?)```", flags=re.S)
ADDRESS = ("127.0.0.1", 9092)


def python_blocks(path: Path) -> list[str]:
    """The source of every ```python block of ``path``, in order."""
    return FENCE.findall(path.read_text(encoding="utf-8"))


def needs_broker(source: str) -> bool:
    """Whether the block names the documented broker address."""
    return str(ADDRESS[1]) in source


def point_at(source: str, host: str, port: int) -> str:
    """``source`` with the documented address replaced by ``host:port``, in both forms."""
    return source.replace(f"{ADDRESS[0]}:{ADDRESS[1]}", f"{host}:{port}").replace(
        f'("{ADDRESS[0]}", {ADDRESS[1]})', f'("{host}", {port})'
    )


def run_block(source: str, filename: Path) -> None:
    """Execute one block as a module of its own (tracebacks name ``filename``)."""
    exec(compile(source, str(filename), "exec"), {"__name__": "doc_example"})
