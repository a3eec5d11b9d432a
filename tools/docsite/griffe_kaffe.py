"""A griffe extension for the API reference (``mkdocs.yml`` lists this file): when the kaffe
package is loaded, every docstring's Sphinx-style markup becomes Markdown
(:mod:`docsite.markup`), with cross-reference targets resolved as Sphinx does (from the
docstring's object outwards, aliases followed to where the API pages render them), and a
method written ``@_same_doc(other)`` takes ``other``'s docstring, as it does at run time.

The docstrings themselves are not changed: only the copy the site is built from.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from griffe import Alias, Docstring, Extension, GriffeLoader, Module, Object

if str(Path(__file__).resolve().parents[1]) not in sys.path:  # griffe loads this file by path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from docsite.markup import to_markdown

SAME_DOC = re.compile(r"^_same_doc\((?:[\w.]+\.)?(\w+)\)$")


def _walk(obj: Object) -> Iterator[Object]:
    """``obj`` and every object defined in it (aliases are skipped: their target is walked)."""
    yield obj
    for member in list(obj.members.values()):
        if not member.is_alias:
            yield from _walk(member)  # type: ignore[arg-type]


def _lookup(loader: GriffeLoader, path: str) -> Object | Alias | None:
    try:
        found: Object | Alias = loader.modules_collection[path]
    except Exception:  # not there, or behind an alias that does not resolve yet
        return None
    return found


def _canonical(loader: GriffeLoader, path: str) -> str:
    """``path`` with a leading alias replaced by what it points at (``kaffe.Consumer.ack`` ->
    ``kaffe.consumer.Consumer.ack``), as the API pages render it."""
    parts = path.split(".")
    for end in range(len(parts), 1, -1):
        found = _lookup(loader, ".".join(parts[:end]))
        if found is None:
            continue
        if found.is_alias and end < len(parts):
            target = found.target_path  # type: ignore[union-attr]
            if target.startswith("kaffe.") and target != ".".join(parts[:end]):
                return _canonical(loader, ".".join([target, *parts[end:]]))
        return path
    return path


def _resolve(loader: GriffeLoader, obj: Object, target: str) -> str:
    """The full path of ``target`` as seen from ``obj``; ``target`` itself when nothing
    matches or it names something outside kaffe (``concurrent.futures.Future``)."""
    target = target.rstrip("()")
    if target.startswith("kaffe."):
        return _canonical(loader, target)
    first = target.split(".")[0]
    scope: Object | None = obj
    while scope is not None:
        head = _lookup(loader, f"{scope.path}.{first}")
        if head is not None:
            if head.is_alias and not head.target_path.startswith("kaffe"):  # type: ignore[union-attr]
                return target
            return _canonical(loader, f"{scope.path}.{target}")
        scope = scope.parent
    return target


class KaffeDocstrings(Extension):
    """Sphinx-style markup in kaffe's docstrings to Markdown (see the module docs)."""

    def on_package(self, *, pkg: Module, loader: GriffeLoader, **kwargs: Any) -> None:
        """Rewrite every docstring of the package once it is loaded."""
        if pkg.name != "kaffe":
            return
        for obj in _walk(pkg):
            self._copy_same_doc(obj)
        for obj in _walk(pkg):
            doc = obj.docstring
            if doc is not None:

                def resolve(target: str, obj: Object = obj) -> str:
                    return _resolve(loader, obj, target)

                obj.docstring = Docstring(
                    to_markdown(doc.value, resolve),
                    lineno=doc.lineno,
                    endlineno=doc.endlineno,
                    parent=obj,
                    parser=doc.parser,
                    parser_options=doc.parser_options,
                )

    @staticmethod
    def _copy_same_doc(obj: Object) -> None:
        """``@_same_doc(_A.name)`` on a method of ``kaffe.<module>.<Class>``: the docstring of
        ``name`` in the asyncio twin ``kaffe.aio.<module>.<Class>``, which the decorator copies
        at run time (the synchronous admin client's methods)."""
        if not obj.is_function or obj.docstring is not None or obj.parent is None:
            return
        for decorator in getattr(obj, "decorators", []):
            match = SAME_DOC.match(str(decorator.value))
            if match is None:
                continue
            source = _twin_member(obj, match.group(1))
            if source is not None and source.docstring is not None:
                obj.docstring = Docstring(
                    source.docstring.value,
                    lineno=source.docstring.lineno,
                    endlineno=source.docstring.endlineno,
                    parent=obj,
                    parser=source.docstring.parser,
                    parser_options=source.docstring.parser_options,
                )


def _twin_member(obj: Object, name: str) -> Object | None:
    """The member ``name`` of the asyncio twin of ``obj``'s class (``kaffe.aio.<module>``)."""
    cls = obj.parent
    module = cls.parent if cls is not None else None
    if cls is None or module is None or module.parent is None:
        return None
    package = module.parent
    try:
        twin = package.members["aio"].members[module.name].members[cls.name]
        member: Object = twin.members[name]  # type: ignore[assignment]
    except KeyError:
        return None
    return member
