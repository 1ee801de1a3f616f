"""The import graph has one direction: `codemods` may import `analyzers`, `analyzers` never imports `codemods`;
and the rule contract (with every rule) never imports the lint engine that runs it.

Imports are read statically from every module, at any depth (module level, inside functions, under
`TYPE_CHECKING`), along with `importlib.import_module(...)` / `__import__(...)` of a literal name.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from analyzers.catalog.modules import module_name, resolve_relative

PROJECT = Path(__file__).resolve().parents[1]
ANALYZERS = PROJECT / "analyzers"
#: the modules a rule is written against, and the rules themselves
CONTRACT = [
    ANALYZERS / "lint" / "__init__.py",
    ANALYZERS / "lint" / "rule.py",
    ANALYZERS / "lint" / "mbr000_unparsable_file.py",
    ANALYZERS / "lint" / "mbr900_unused_suppression.py",
    *sorted((ANALYZERS / "rules").glob("*.py")),
]
ENGINE = "analyzers.lint.engine"


def _literal_prefix(node: ast.expr) -> str | None:
    """The name a dynamic import call is given: a string literal, or the literal start of an f-string."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        return str(node.values[0].value)
    return None


def imported(source: str, rel: str) -> Iterator[tuple[int, str]]:
    """(line, dotted module) of every import in the module `rel` (relative imports made absolute; for a
    `from a import b`, both `a` and `a.b`, since `b` may be a module)."""
    here = module_name(rel)
    is_package = rel.endswith("__init__.py")
    for node in ast.walk(ast.parse(source, filename=rel)):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = resolve_relative(here, is_package, node.level, node.module)
            yield node.lineno, base
            yield from ((node.lineno, f"{base}.{alias.name}") for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in ("import_module", "__import__") and (target := _literal_prefix(node.args[0])):
                yield node.lineno, target


def _violations(paths: list[Path], forbidden: str) -> list[str]:
    out = []
    for path in paths:
        rel = path.relative_to(PROJECT).as_posix()
        for line, module in imported(path.read_text(encoding="utf-8"), rel):
            if module == forbidden or module.startswith(forbidden + "."):
                out.append(f"{rel}:{line}: imports {module}")
    return sorted(set(out))


def test_analyzers_never_imports_codemods() -> None:
    modules = sorted(ANALYZERS.rglob("*.py"))
    assert len(modules) > 80  # the whole package is read, not a sample
    assert _violations(modules, "codemods") == []


def test_the_rule_contract_and_the_rules_never_import_the_engine() -> None:
    assert len(CONTRACT) > 30
    assert _violations(CONTRACT, ENGINE) == []


def test_importing_every_analyzers_module_loads_no_codemods_and_the_rules_load_no_engine() -> None:
    code = (
        "import pkgutil, sys, importlib\n"
        "import analyzers.rules, analyzers.lint\n"
        f"assert {ENGINE!r} not in sys.modules, 'the rules loaded the engine'\n"
        "for info in pkgutil.walk_packages(analyzers.__path__, 'analyzers.'):\n"
        "    if not info.name.endswith('__main__'):\n"
        "        importlib.import_module(info.name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'codemods'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("import codemods.plan\n", "codemods.plan"),
        ("def f():\n    from codemods import registrations\n", "codemods.registrations"),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from codemods.plan import Plan\n",
            "codemods.plan",
        ),
        ("import importlib\nimportlib.import_module('codemods.cli')\n", "codemods.cli"),
        ("def f(name):\n    return __import__(f'codemods.{name}')\n", "codemods."),
        ("from .. import codemods\n", "analyzers.codemods"),  # relative: inside analyzers, not the package
    ],
)
def test_the_scan_sees_imports_at_any_depth(source: str, found: str) -> None:
    assert found in {module for _, module in imported(source, "analyzers/lint/x.py")}
