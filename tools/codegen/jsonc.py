"""Parse Kafka's message specs: JSON with ``//`` line comments.

The comments must be removed before :func:`json.loads` sees the text, but a ``//`` inside a
string literal (there are URLs in some ``about`` texts) is data, not a comment.
"""

from __future__ import annotations

import json
from typing import Any


def strip_comments(text: str) -> str:
    """Return ``text`` with every ``//`` comment removed, leaving string literals intact.

    Newlines are kept, so line numbers in JSON error messages still match the source file.
    """
    out: list[str] = []
    i = 0
    n = len(text)
    in_string = False
    while i < n:
        ch = text[i]
        if in_string:
            out.append(ch)
            if ch == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if ch == '"':
                in_string = False
            i += 1
            continue
        if ch == '"':
            in_string = True
            out.append(ch)
            i += 1
            continue
        if ch == "/" and i + 1 < n and text[i + 1] == "/":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        out.append(ch)
        i += 1
    if in_string:
        raise ValueError("unterminated string literal")
    return "".join(out)


def loads(text: str) -> Any:
    """Parse one commented JSON document."""
    return json.loads(strip_comments(text))
