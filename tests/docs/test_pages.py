"""Every ```python block of the documentation pages (docs/) runs as written.

The pages' runnable examples are ```python blocks (```py blocks are illustrations, not run).
Those naming ``127.0.0.1:9092`` run against the session's real broker (marked ``broker``), in
page order, so an example may use what an earlier one on its page created.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _doc_examples import needs_broker, point_at, python_blocks, run_block

DOCS = Path(__file__).resolve().parents[2] / "docs"
EXAMPLES = [
    pytest.param(
        page,
        source,
        id=f"{page.relative_to(DOCS)}#{index}",
        marks=[pytest.mark.broker] if needs_broker(source) else [],
    )
    for page in sorted(DOCS.rglob("*.md"))
    for index, source in enumerate(python_blocks(page))
]


def test_pages_have_runnable_examples() -> None:
    pages = {param.values[0].name for param in EXAMPLES}  # type: ignore[union-attr]
    for page in ("index.md", "getting-started.md", "producer.md", "consumers.md", "aio.md"):
        assert page in pages, f"docs/{page} should carry a runnable ```python example"


@pytest.mark.parametrize(("page", "source"), EXAMPLES)
def test_page_example_runs(page: Path, source: str, request: pytest.FixtureRequest) -> None:
    if needs_broker(source):
        broker = request.getfixturevalue("kafka_broker")
        host, port = broker.listener("PLAINTEXT")
        real = point_at(source, host, port)
        assert real != source, "the example should name the documented broker address"
        source = real
    run_block(source, page)
