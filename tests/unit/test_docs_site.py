"""The documentation site's generated parts stay true to the code: the configuration pages
(tools/docsite/configpages.py) and the docstring markup conversion (tools/docsite/markup.py)."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from docsite import configpages, markup
from docsite.keys import CONSUMER, KeyDoc


def test_the_committed_pages_match_the_code() -> None:
    assert configpages.problems() == []


def test_every_key_of_every_table_has_its_own_heading_with_its_default() -> None:
    for group in configpages.GROUPS:
        page = configpages.render(group)
        for name in group.names():
            key = group.table[name]
            section = page.split(f"## `{name}` {{#{name}}}\n", 1)[1].split("\n## ", 1)[0]
            expected = (
                "required" if configpages._is_required(key) else f"`{configpages.fmt(key.default)}`"
            )
            assert f"Default\n:   {expected}\n" in section, name
            assert group.docs[name].text in section


def _copy_docs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    docs = tmp_path / "docs"
    shutil.copytree(configpages.DOCS / "configuration", docs / "configuration")
    shutil.copy(configpages.COMING_FROM_KAFFE, docs / "coming-from-kaffe.md")
    monkeypatch.setattr(configpages, "DOCS", docs)
    monkeypatch.setattr(configpages, "REPO", tmp_path)
    monkeypatch.setattr(configpages, "COMING_FROM_KAFFE", docs / "coming-from-kaffe.md")
    return docs


def test_a_page_edited_by_hand_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = _copy_docs(tmp_path, monkeypatch)
    assert configpages.problems() == []
    page = docs / "configuration" / "consumer.md"
    page.write_text(page.read_text().replace("Default\n:   `1`", "Default\n:   `0`", 1))
    assert configpages.problems() == [
        "docs/configuration/consumer.md is not what the code gives: run `make docs`"
    ]
    configpages.write()
    assert configpages.problems() == []


def test_a_key_without_a_description_and_a_stale_description_are_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    docs = dict(CONSUMER)
    docs.pop("sleep_timeout")
    docs["no_such_key"] = KeyDoc("gone", "kaffe")
    consumer = next(g for g in configpages.GROUPS if g.page == "consumer")
    groups = [
        dataclasses.replace(consumer, docs=docs) if g is consumer else g for g in configpages.GROUPS
    ]
    monkeypatch.setattr(configpages, "GROUPS", tuple(groups))
    found = configpages.problems()
    assert "consumer: key 'sleep_timeout' has no description in tools/docsite/keys.py" in found
    assert "consumer: tools/docsite/keys.py describes 'no_such_key', not a key" in found


def test_a_default_that_differs_from_kaffes_must_be_in_coming_from_kaffe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = _copy_docs(tmp_path, monkeypatch)
    text = (docs / "coming-from-kaffe.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| `min_bytes` |"))
    (docs / "coming-from-kaffe.md").write_text(text.replace(row + "\n", ""))
    configpages.write()  # the pages' links follow the file; the missing row is the problem
    assert configpages.problems() == [
        "min_bytes: kaffe's default 1 differs from Kaffe's 0 but docs/coming-from-kaffe.md has "
        "no row for it"
    ]


def test_equal_spellings_of_a_default_are_not_a_difference() -> None:
    producer = next(g for g in configpages.GROUPS if g.page == "producer")
    key, doc = producer.table["compression"], producer.docs["compression"]
    assert (doc.upstream, key.default) == ("no_compression", "none")
    assert not configpages.differs_from_upstream(key, doc)
    assert configpages.differs_from_upstream(
        producer.table["partition_onwire_limit"], producer.docs["partition_onwire_limit"]
    )


def test_assignors_compare_by_name_with_brods_default() -> None:
    consumer = next(g for g in configpages.GROUPS if g.page == "consumer")
    key = consumer.table["partition_assignment_strategy"]
    doc = consumer.docs["partition_assignment_strategy"]
    # kaffe's ("roundrobin",) parses to an assignor object, brod's "roundrobin_v2" to another
    # one of the same name: the same default
    assert (doc.upstream, key.default) == (("roundrobin_v2",), ("roundrobin",))
    assert not configpages.differs_from_upstream(key, doc)
    assert configpages.differs_from_upstream(key, dataclasses.replace(doc, upstream=("range",)))


def test_values_are_shown_as_python() -> None:
    assert configpages.fmt("md5") == '"md5"'
    assert configpages.fmt(("roundrobin",)) == '("roundrobin",)'
    assert configpages.fmt(None) == "None"
    assert configpages.fmt(0.5) == "0.5"


def _resolve(target: str) -> str:
    return {"Producer.flush": "kaffe.producer.Producer.flush"}.get(target, target)


def test_roles_become_optional_cross_references_or_code() -> None:
    text = markup.roles(
        "See :class:`kaffe.Message`, :meth:`~Producer.flush` and :class:`TypeError`.", _resolve
    )
    assert text == (
        'See <autoref identifier="kaffe.Message" optional><code>kaffe.Message</code></autoref>, '
        '<autoref identifier="kaffe.producer.Producer.flush" optional><code>flush</code>'
        "</autoref> and `TypeError`."
    )


def test_literal_blocks_become_fenced_python() -> None:
    text = "Use it like this::\n\n    with x:\n        y()\n\nThen more."
    assert markup.blocks(text) == (
        "Use it like this:\n\n```python\nwith x:\n    y()\n```\n\nThen more."
    )


def test_definition_lists_become_bold_terms_and_sections_stay() -> None:
    text = "Intro.\n\nMessages\n    are tuples\n    or mappings.\n\nRaises:\n    ValueError: bad."
    assert markup.blocks(text) == (
        "Intro.\n\n**Messages**\n\nare tuples\nor mappings.\n\nRaises:\n    ValueError: bad."
    )
