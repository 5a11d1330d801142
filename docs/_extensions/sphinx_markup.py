"""A griffe extension for the API reference (mkdocs.yml loads it): the package's docstrings
are written with a little reStructuredText (``:class:`X```, literal blocks after ``::``) and its
constants are documented by ``#:`` comments; this turns both into what mkdocstrings renders.

It changes only what the docs site shows, never the code.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

# :class:`~cache_bridge.errors.CacheError`, :func:`create_cache`, :mod:`cache_bridge.testing.tls`
_ROLE = re.compile(
    r":(?:class|func|meth|mod|attr|exc|data|obj|const):`(~?)([^`<]*?)(?:\s*<[^>]*>)?`"
)


def _role(match: re.Match[str]) -> str:
    short, target = match.group(1), match.group(2).strip()
    return f"`{target.rsplit('.', 1)[-1] if short else target}`"


def _literal_blocks(text: str) -> str:
    """``Paragraph::`` + an indented block becomes ``Paragraph:`` + a fenced Python block."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.rstrip().endswith("::"):
            out.append(line)
            i += 1
            continue
        stripped = line.rstrip()[:-2].rstrip()
        base = len(line) - len(line.lstrip())
        if stripped.strip():
            out.append(stripped + ":")
        i += 1
        block: list[str] = []
        while i < len(lines) and (
            not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > base
        ):
            block.append(lines[i])
            i += 1
        while block and not block[-1].strip():
            block.pop()
        body = [b for b in block if b.strip()]
        if not body:
            continue
        indent = min(len(b) - len(b.lstrip()) for b in body)
        pad = " " * base
        out.append("")
        out.append(f"{pad}```python")
        out.extend(pad + b[indent:] if b.strip() else "" for b in block)
        out.append(f"{pad}```")
        out.append("")
    return "\n".join(out).replace("```python\n\n", "```python\n")


def markdown(text: str) -> str:
    """The docstring ``text`` with its reStructuredText markup turned into Markdown."""
    text = _ROLE.sub(_role, text).replace("\\ ", "")
    return _literal_blocks(text)


def _comment_docstring(attr: griffe.Attribute) -> str | None:
    """The ``#:`` comment lines right above an attribute, as its docstring."""
    module = attr.module
    if attr.lineno is None or not module.filepath or isinstance(module.filepath, list):
        return None
    lines = module.lines
    found: list[str] = []
    number = attr.lineno - 2  # the line above, 0-based
    while number >= 0 and lines[number].lstrip().startswith("#:"):
        found.insert(0, lines[number].lstrip()[2:].strip())
        number -= 1
    return " ".join(found) or None


class SphinxMarkup(griffe.Extension):
    """Rewrites docstrings as each package finishes loading."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        self._visit(pkg, set())

    def _visit(self, obj: griffe.Object, seen: set[str]) -> None:
        if obj.path in seen:
            return
        seen.add(obj.path)
        if isinstance(obj, griffe.Attribute) and obj.docstring is None:
            comment = _comment_docstring(obj)
            if comment:
                obj.docstring = griffe.Docstring(comment, parent=obj)
        if obj.docstring is not None:
            obj.docstring.value = markdown(obj.docstring.value)
        for member in obj.members.values():
            if not member.is_alias:
                self._visit(member, seen)  # type: ignore[arg-type]
