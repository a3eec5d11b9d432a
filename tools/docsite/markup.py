"""kaffe's docstrings are written with Sphinx-style markup; the API reference is rendered from
Markdown. These functions turn the one into the other (pure text; the griffe extension
:mod:`docsite.griffe_kaffe` applies them to every docstring of the package):

* ``:role:`target``` and ``:role:`~target``` (``class``, ``meth``, ``func``, ...) become
  cross-references (``<autoref ... optional>``: a link when the target is rendered in the API
  reference, plain code otherwise, never a warning) for targets in kaffe, and code otherwise.
* A paragraph ending in ``::`` followed by an indented block becomes a fenced Python block.
* A definition list (a term line, then its text indented by four spaces) becomes a bold term
  and a paragraph.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

ROLE = re.compile(r":(?:class|meth|func|mod|data|attr|exc|obj|const):`(~?)([^`]+)`")

Resolver = Callable[[str], str]
"""``resolve(target) -> full dotted path`` (the target itself when it cannot be resolved)."""


def roles(text: str, resolve: Resolver) -> str:
    """Replace every Sphinx role in ``text`` (see the module docs)."""

    def replace(match: re.Match[str]) -> str:
        short, target = match.group(1) == "~", match.group(2).strip()
        full = resolve(target.rstrip("()"))
        shown = target.rstrip("()").rsplit(".", 1)[-1] if short else target
        if not full.startswith("kaffe"):
            return f"`{shown}`"
        code = f"<code>{html.escape(shown)}</code>"
        return f'<autoref identifier="{html.escape(full)}" optional>{code}</autoref>'

    return ROLE.sub(replace, text)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _literal_block(lines: list[str], i: int, out: list[str]) -> int | None:
    """If line ``i`` ends with ``::`` and an indented block follows, append the paragraph and
    a fenced block to ``out`` and return the index after the block; else ``None``."""
    line = lines[i]
    stripped = line.rstrip()
    if not stripped.endswith("::"):
        return None
    base = _indent(line)
    j = i + 1
    while j < len(lines) and not lines[j].strip():
        j += 1
    body: list[str] = []
    while j < len(lines) and (not lines[j].strip() or _indent(lines[j]) > base):
        body.append(lines[j])
        j += 1
    while body and not body[-1].strip():
        body.pop()
    if not body:
        return None
    head = stripped[:-1]  # "Example::" -> "Example:"; a lone "::" disappears
    if head.strip() != ":":
        out.append(head)
    cut = min(_indent(b) for b in body if b.strip())
    pad = " " * base
    out += ["", f"{pad}```python", *(pad + b[cut:] if b.strip() else "" for b in body)]
    out += [f"{pad}```", ""]
    return j


def _definition(lines: list[str], i: int, out: list[str]) -> int | None:
    """If line ``i`` is a definition-list term (unindented, after a blank line, not a Google
    section header such as ``Raises:``, followed by text indented by four spaces), append a
    bold term and its text to ``out`` and return the index after it; else ``None``."""
    line = lines[i].rstrip()
    nxt = lines[i + 1] if i + 1 < len(lines) else ""
    if (
        not line
        or _indent(line) != 0
        or line.endswith(":")
        or line.startswith(("*", "-", "```", ">>>", "|"))
        or (i > 0 and lines[i - 1].strip())
        or not nxt.strip()
        or _indent(nxt) < 4
    ):
        return None
    out += [f"**{line}**", ""]
    j = i + 1
    while j < len(lines) and lines[j].strip() and _indent(lines[j]) >= 4:
        out.append(lines[j][4:])
        j += 1
    return j


def blocks(text: str) -> str:
    """Literal blocks to fenced code and definition lists to bold terms (see the module docs)."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        nxt = _literal_block(lines, i, out)
        if nxt is None:
            nxt = _definition(lines, i, out)
        if nxt is None:
            out.append(lines[i])
            nxt = i + 1
        i = nxt
    return "\n".join(out)


def to_markdown(text: str, resolve: Resolver) -> str:
    """A Sphinx-style docstring as Markdown."""
    return roles(blocks(text), resolve)
