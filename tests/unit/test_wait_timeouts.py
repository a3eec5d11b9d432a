"""Timed-out waits are caught on every supported Python (3.10-3.13).

On Python 3.10 ``asyncio.wait_for`` raises :class:`asyncio.TimeoutError` and ``Future.result``
raises :class:`concurrent.futures.TimeoutError`, and neither is the builtin :class:`TimeoutError`
(they are from 3.11 on), so ``except TimeoutError`` lets a deadline escape as an unexpected error
there. kaffe catches :data:`kaffe._util.WAIT_TIMEOUTS` instead; these tests check the tuple and scan
the package source for the 3.11-only spellings, so they fail under any interpreter.
"""

from __future__ import annotations

import ast
import asyncio
import concurrent.futures
import pathlib

import pytest

import kaffe
from kaffe._util import WAIT_TIMEOUTS
from kaffe.errors import KafkaTimeoutError

PACKAGE = pathlib.Path(kaffe.__file__).parent


def test_wait_timeouts_cover_every_flavour() -> None:
    for exc in (
        asyncio.TimeoutError(),
        concurrent.futures.TimeoutError(),
        TimeoutError(),
        KafkaTimeoutError("own deadline"),
    ):
        assert isinstance(exc, WAIT_TIMEOUTS), exc


def test_wait_for_deadline_is_caught() -> None:
    async def main() -> str:
        try:
            await asyncio.wait_for(asyncio.Event().wait(), 0.01)
        except WAIT_TIMEOUTS:
            return "caught"
        return "not reached"

    assert asyncio.run(main()) == "caught"


def test_future_result_deadline_is_caught() -> None:
    fut: concurrent.futures.Future[int] = concurrent.futures.Future()
    with pytest.raises(WAIT_TIMEOUTS):
        fut.result(0.01)


def _bare_timeout_names(node: ast.expr | None) -> bool:
    """Whether ``node`` (an ``except`` type or a ``suppress`` argument) names the builtin."""
    if isinstance(node, ast.Name):
        return node.id == "TimeoutError"
    if isinstance(node, ast.Tuple):
        return any(_bare_timeout_names(e) for e in node.elts)
    return False


def _offences(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler) and _bare_timeout_names(node.type):
            found.append((node.lineno, "except TimeoutError"))
        elif isinstance(node, ast.Call):
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
            if name == "suppress" and any(_bare_timeout_names(a) for a in node.args):
                found.append((node.lineno, "suppress(TimeoutError)"))
            if name == "isinstance" and len(node.args) == 2 and _bare_timeout_names(node.args[1]):
                found.append((node.lineno, "isinstance(..., TimeoutError)"))
            if (
                isinstance(fn, ast.Attribute)
                and fn.attr in ("timeout", "timeout_at")
                and isinstance(fn.value, ast.Name)
                and fn.value.id == "asyncio"
            ):
                found.append((node.lineno, "asyncio.timeout (Python 3.11+)"))
        elif isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if _bare_timeout_names(exc):
                found.append((node.lineno, "raise TimeoutError (use a kaffe or futures error)"))
    return found


def test_scanner_spots_the_3_11_only_spellings() -> None:
    bad = (
        "try:\n    pass\nexcept TimeoutError:\n    pass\n"
        "with contextlib.suppress(TimeoutError):\n    pass\n"
        "async def f():\n    async with asyncio.timeout(1):\n        pass\n"
        "isinstance(e, (OSError, TimeoutError))\n"
        "raise TimeoutError()\n"
    )
    assert sorted(what for _, what in _offences(ast.parse(bad))) == [
        "asyncio.timeout (Python 3.11+)",
        "except TimeoutError",
        "isinstance(..., TimeoutError)",
        "raise TimeoutError (use a kaffe or futures error)",
        "suppress(TimeoutError)",
    ]


def test_package_catches_timeouts_the_3_10_way() -> None:
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) > 20
    offences = [
        f"{path.relative_to(PACKAGE)}:{line}: {what}"
        for path in sources
        for line, what in _offences(ast.parse(path.read_text(), str(path)))
    ]
    assert offences == []
