"""What importing a test file imports, read from the sources rather than by importing it:
tests/conftest.py marks tests from it, and must know before importing a module whether that
would need Qt (scripts/test-without-qt.sh collects none that does)."""

from __future__ import annotations

import ast
import functools
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

ROOT = Path(__file__).resolve().parent.parent
OURS = frozenset({"tests", "pos_app", "pos_sandbox"})


@functools.cache
def imports(file: Path) -> frozenset[str]:
    """The modules a source file imports when it is imported, not those its functions or
    ``if TYPE_CHECKING:`` import (with each name ``from`` a module, in case it is one too)."""
    package = file.relative_to(ROOT).parent.parts
    found: set[str] = set()

    def visit(body: Iterable[ast.AST]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the file's package, or one up per extra dot
                    base = ".".join([*package[: len(package) + 1 - node.level], base]).strip(".")
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
            elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for field in ("body", "orelse", "finalbody", "handlers"):
                    visit(getattr(node, field, ()))

    visit(ast.parse(file.read_bytes()).body)
    return frozenset(found)


@functools.cache
def files(module: str) -> tuple[Path, ...]:
    """The source files of ours importing a module runs: its packages' __init__.py, then its
    own (none for another's module, or a name that is no module)."""
    if module.partition(".")[0] not in OURS:
        return ()
    found: list[Path] = []
    where = ROOT
    for part in module.split("."):
        where /= part
        found.extend(f for f in (where / "__init__.py", where.with_suffix(".py")) if f.is_file())
    return tuple(found)


@functools.cache
def reached(file: Path, follow: frozenset[str] = OURS) -> frozenset[str]:
    """Every module imported when pytest imports a test file and the conftest.py files above
    it, following imports through the sources of the packages in ``follow``."""
    tests = ROOT / "tests"
    todo = [file, *(d / "conftest.py" for d in file.parents if d.is_relative_to(tests))]
    seen = {str(source) for source in todo if not source.is_file()}
    found: set[str] = set()
    while todo:
        if (name := str(source := todo.pop())) in seen:
            continue
        seen.add(name)
        for module in imports(source) - found:
            found.add(module)
            if module.partition(".")[0] in follow:
                todo.extend(files(module))
    return frozenset(found)
