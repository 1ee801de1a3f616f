"""The import graph has one direction: `codemods` may import `analyzers`, `analyzers` never imports `codemods`;
the rule contract (with every rule) never imports the lint engine that runs it; and no modules import
each other at module level (a cycle means a concept two modules share belongs to a third).

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
CODEMODS = PROJECT / "codemods"
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


def module_level_imports(source: str, rel: str, known: set[str]) -> Iterator[str]:
    """The modules of `known` that the module `rel` imports when it is imported: statements of the module
    and class bodies, under `if` (`TYPE_CHECKING` included: it names a dependency too), `try` and `with`,
    not inside functions. `from a import b` is `a.b` when that is a module, else `a`."""
    here = module_name(rel)
    is_package = rel.endswith("__init__.py")

    def statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
        for node in body:
            yield node
            if isinstance(node, ast.If | ast.With | ast.ClassDef):
                yield from statements(node.body)
            if isinstance(node, ast.If):
                yield from statements(node.orelse)
            elif isinstance(node, ast.Try):
                for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                    yield from statements(block)

    for node in statements(ast.parse(source, filename=rel).body):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = resolve_relative(here, is_package, node.level, node.module)
            for alias in node.names:
                if f"{base}.{alias.name}" in known:
                    yield f"{base}.{alias.name}"
                elif base in known:
                    yield base


def _executed(target: str, importer: str, known: set[str]) -> Iterator[str]:
    """The modules of `known` that importing `target` from `importer` runs: `target`, and each package
    `__init__` above it but for those `importer` is inside (Python began them before `importer`)."""
    parts = target.split(".")
    for depth in range(1, len(parts)):
        name = ".".join(parts[:depth])
        if name in known and not importer.startswith(name + "."):
            yield name
    if target in known:
        yield target


def import_cycles(sources: dict[str, str]) -> list[list[str]]:
    """Each set of modules (of `sources`, path -> text) that import one another at module level, sorted;
    a module importing itself does not count."""
    names = {module_name(rel): rel for rel in sources}
    graph = {
        name: sorted(
            {
                imported_name
                for target in module_level_imports(sources[rel], rel, set(names))
                for imported_name in _executed(target, name, set(names))
            }
            - {name}
        )
        for name, rel in names.items()
    }
    # Tarjan's strongly connected components, iteratively (no recursion limit to meet)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(graph[target])))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return sorted(cycles)


def test_no_module_level_import_cycle_in_analyzers_or_codemods() -> None:
    paths = sorted(ANALYZERS.rglob("*.py")) + sorted(CODEMODS.rglob("*.py"))
    sources = {path.relative_to(PROJECT).as_posix(): path.read_text(encoding="utf-8") for path in paths}
    assert len(sources) > 150  # both packages are read, not a sample
    assert import_cycles(sources) == []


def hoisted(source: str) -> str:
    """The module's import statements at any depth (inside functions too), as one module-level block."""
    tree = ast.parse(source)
    imports = [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]
    return ast.unparse(ast.Module(body=imports, type_ignores=[]))


def test_no_import_cycle_even_through_imports_inside_functions() -> None:
    """A function-level import does not hide a cycle either (the issue's circle hid in 46 of them)."""
    paths = sorted(ANALYZERS.rglob("*.py")) + sorted(CODEMODS.rglob("*.py"))
    sources = {
        path.relative_to(PROJECT).as_posix(): hoisted(path.read_text(encoding="utf-8")) for path in paths
    }
    assert import_cycles(sources) == []


@pytest.mark.parametrize(
    ("sources", "cycles"),
    [
        ({"pkg/a.py": "from pkg.b import x\n", "pkg/b.py": "import pkg.a\n"}, [["pkg.a", "pkg.b"]]),
        (  # through a package's __init__, relative imports, and three modules round
            {
                "pkg/__init__.py": "from .a import x\n",
                "pkg/a.py": "from . import b\n",
                "pkg/b.py": "from pkg import x\n",
            },
            [["pkg", "pkg.a", "pkg.b"]],
        ),
        (  # TYPE_CHECKING names a dependency too
            {
                "pkg/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\n",
                "pkg/b.py": "from pkg.a import A\n",
            },
            [["pkg.a", "pkg.b"]],
        ),
        (  # importing pkg.sub.modules runs pkg/sub/__init__.py first, which imports back
            {
                "pkg/__init__.py": "",
                "pkg/sub/__init__.py": "from pkg.sub.build import build\n",
                "pkg/sub/build.py": "from pkg.index import Index\n",
                "pkg/sub/modules.py": "",
                "pkg/index.py": "from pkg.sub.modules import parse\n",
            },
            [["pkg.index", "pkg.sub", "pkg.sub.build"]],
        ),
        (  # a package's own modules importing each other through it is how packages work
            {"pkg/__init__.py": "from pkg.a import x\n", "pkg/a.py": "from pkg.b import y\n", "pkg/b.py": ""},
            [],
        ),
        ({"pkg/a.py": "def f():\n    from pkg.b import x\n", "pkg/b.py": "from pkg.a import f\n"}, []),
        ({"pkg/a.py": "from pkg.b import x\n", "pkg/b.py": "import os\n"}, []),
    ],
)
def test_the_cycle_check_finds_cycles_at_module_level_only(
    sources: dict[str, str], cycles: list[list[str]]
) -> None:
    assert import_cycles(sources) == cycles
