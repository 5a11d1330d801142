"""The rules of DESIGN.md that import-linter cannot check (rules 1 and 3 are in .importlinter):

- rule 2: no module reaches for another module's ``_private`` name;
- rule 5: a ``def`` and its ``async def`` twin have bodies of at most 5 lines that differ only by
  ``await`` (longer logic is a generator run by the drivers); in the adapters, where the two
  clients' APIs differ, the twins may call different client methods, still in 5 lines;
- rule 6: one name per concept: configuration classes are ``*Settings``, one ``OutageLog``, no
  module named after a standard-library module;
- rule 7: modules stay under 350 lines (exceptions listed below, each with its reason).

Each test reads the source with :mod:`ast`; none imports the code it checks.
"""

from __future__ import annotations

import ast
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

#: The checkout checked (another one with CACHE_BRIDGE_ROOT=/path/to/checkout).
ROOT = Path(os.environ.get("CACHE_BRIDGE_ROOT") or Path(__file__).resolve().parents[2])
PACKAGES = (
    ROOT / "cache_bridge",
    ROOT / "integrations" / "django_cache_bridge",
    ROOT / "integrations" / "flask_cache_bridge",
)
MAX_LINES = 350
#: Modules allowed over MAX_LINES, and why.
LONG_MODULES: dict[str, str] = {
    # A test-support module shipped for third-party adapters: the contract suite is one list of
    # cases, each a few lines; splitting it would scatter one table over files.
    "cache_bridge/testing/contract.py": "the shipped contract suite: one table of cases",
}
#: Private names of other libraries that are documented for use from outside.
FOREIGN_PRIVATE = {
    "_get_current_object",  # werkzeug.local.LocalProxy: the documented way to unwrap a proxy
    "_getframe",  # sys._getframe: the session outage check reads the caller's frame
    "_sock",  # redis-py Connection._sock: the executor checks a parked socket before reuse
}
BODY_LINES = 5


def _modules() -> Iterator[Path]:
    for package in PACKAGES:
        yield from sorted(package.rglob("*.py"))


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT)).removeprefix("integrations/")


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _defined_private(tree: ast.Module) -> set[str]:
    """Private names a module defines: functions, classes, and attributes it assigns."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return {name for name in names if name.startswith("_")}


def _private_reaches(path: Path) -> list[str]:
    tree = _tree(path)
    own = _defined_private(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            ours = node.module.split(".")[0] in {p.name for p in PACKAGES}
            found += [
                f"{_name(path)}:{node.lineno} imports {node.module}.{alias.name}"
                for alias in node.names
                if ours and alias.name.startswith("_") and not alias.name.startswith("__")
            ]
        elif isinstance(node, ast.Attribute):
            attr = node.attr
            if not attr.startswith("_") or attr.startswith("__") or attr in own:
                continue
            if attr in FOREIGN_PRIVATE:
                continue
            if isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"}:
                continue  # a class's own (or its base class's) attribute
            found.append(f"{_name(path)}:{node.lineno} reaches {ast.unparse(node)}")
    return found


def test_rule_2_no_module_reaches_for_another_modules_private_names() -> None:
    found = [line for path in _modules() for line in _private_reaches(path)]
    assert found == [], "use a public seam instead:\n" + "\n".join(found)


def _body(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.stmt]:
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    return body


def _lines(body: list[ast.stmt]) -> int:
    if not body:
        return 0
    last = max(getattr(n, "end_lineno", n.lineno) or n.lineno for n in body)
    return last - body[0].lineno + 1


_TOKEN = re.compile(r"\w+|[^\w\s]")


def _tokens(body: list[ast.stmt]) -> list[str]:
    text = "\n".join(ast.unparse(statement) for statement in body)
    text = re.sub(r"\bawait\s+", "", text)
    text = re.sub(r"\basync\s+(for|with)\b", r"\1", text)
    return _TOKEN.findall(text)


def _face_variants(sync: str, async_: str) -> bool:
    """Whether two names differ only as a blocking and an async face's names do: ``get`` /
    ``aget``, ``_run`` / ``_arun``, ``drive_sync`` / ``drive_async``, ``SyncCache`` /
    ``AsyncCache``."""
    return (
        sync == async_
        or async_ == "a" + sync
        or (sync.startswith("_") and async_ == "_a" + sync.lstrip("_"))
        or async_ == sync.replace("sync", "async")
        or async_ == sync.replace("Sync", "Async")
        or async_ == "Async" + sync
        or sync == "Sync" + async_
        or async_ == sync + "_async"
        or (sync, async_) == ("True", "False")  # a flag that names the face: blocking=True
    )


def _differ_only_by_await(sync: list[ast.stmt], async_: list[ast.stmt]) -> bool:
    left, right = _tokens(sync), _tokens(async_)
    return len(left) == len(right) and all(map(_face_variants, left, right))


def _functions(tree: ast.Module) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function with the name of the class it is in (``""`` at module level)."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield "", node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    yield node.name, item


def _twins(tree: ast.Module) -> Iterator[tuple[ast.FunctionDef, ast.AsyncFunctionDef]]:
    """Each ``async def`` with the ``def`` of the same name (or its name without a leading
    ``a``: ``aget`` / ``get``) in the same class or in its blocking twin class
    (``SyncCache`` / ``AsyncCache``), or both at module level."""
    functions = list(_functions(tree))
    for async_class, node in functions:
        if not isinstance(node, ast.AsyncFunctionDef):
            continue
        name = node.name
        names = {name, name[1:] if name.startswith("a") else name}
        if name.startswith("__a") and name.endswith("__"):
            names = {"__" + name[3:]}
        for sync_class, twin in functions:
            if (
                isinstance(twin, ast.FunctionDef)
                and twin.name in names
                and _face_variants(sync_class, async_class)
            ):
                yield twin, node


def _io_edge(path: Path) -> bool:
    """The adapters are where the blocking and the asyncio clients meet, and their APIs
    differ (redis-py's cluster pipelines, pool teardown): there a twin may call different
    client methods, but still in at most 5 lines, with no logic of its own."""
    return (ROOT / "cache_bridge" / "adapters") in path.parents


def _pair_problems(path: Path) -> list[str]:
    found = []
    for sync, async_ in _twins(_tree(path)):
        where = f"{_name(path)}:{sync.lineno}/{async_.lineno} {sync.name}/{async_.name}"
        sync_body, async_body = _body(sync), _body(async_)
        if sync.name in _tokens(async_body):
            continue  # the async one calls the blocking one: one body, not two
        longest = max(_lines(sync_body), _lines(async_body))
        if longest > BODY_LINES:
            found.append(f"{where}: {longest} lines (at most {BODY_LINES})")
        elif not _differ_only_by_await(sync_body, async_body) and not _io_edge(path):
            found.append(f"{where}: the bodies differ by more than await")
    return found


def test_rule_5_a_def_and_its_async_twin_are_short_and_differ_only_by_await() -> None:
    found = [line for path in _modules() for line in _pair_problems(path)]
    assert found == [], "make the logic a generator run by the drivers:\n" + "\n".join(found)


def test_rule_6_no_module_is_named_after_a_standard_library_module() -> None:
    clashes = [
        _name(path)
        for path in _modules()
        if path.stem in sys.stdlib_module_names and path.parent.name not in {"management"}
    ]
    assert clashes == []


def test_rule_6_one_name_per_concept() -> None:
    """Configuration classes are ``*Settings``; outage logging is ``OutageLog`` alone."""
    found = []
    for path in _modules():
        for node in ast.walk(_tree(path)):
            if not isinstance(node, ast.ClassDef):
                continue
            bases = {ast.unparse(base) for base in node.bases}
            if bases & {"AppConfig"}:
                continue  # Django names an application's class *Config
            if re.search(r"(Config|Configuration|Options)$", node.name):
                found.append(f"{_name(path)}:{node.lineno} class {node.name}: call it *Settings")
            if re.search(r"FailureLog$|ErrorLog$", node.name):
                found.append(f"{_name(path)}:{node.lineno} class {node.name}: use OutageLog")
    assert found == []


@pytest.mark.parametrize("path", list(_modules()), ids=_name)
def test_rule_7_modules_stay_short(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    if _name(path) in LONG_MODULES:
        return
    assert lines <= MAX_LINES, f"{_name(path)} has {lines} lines: split it by job"


def test_rule_7_every_listed_exception_is_still_long() -> None:
    """An exception that no longer applies is removed from the list."""
    for name in LONG_MODULES:
        path = ROOT / ("" if name.startswith("cache_bridge") else "integrations") / name
        assert len(path.read_text(encoding="utf-8").splitlines()) > MAX_LINES, name
