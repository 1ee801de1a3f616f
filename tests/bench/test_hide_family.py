"""bench/hide_family.py on the pinned real tree: the family is gone from the catalog, the rest still imports.

The import checks are done with `ast`, independently of the libcst edits they check.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from analyzers.catalog import build_catalog
from bench.hide_family import family_recipe_modules, hide_family, module_of

M = "megatron.bridge.models."


def _imports(path: Path, src: Path) -> list[tuple[str, list[str]]]:
    """(absolute module, imported names) of every import statement in `path`."""
    return [i for node in ast.walk(ast.parse(path.read_text())) for i in _imports_of(node, path, src)]


def _imports_of(node: ast.AST, path: Path, src: Path) -> list[tuple[str, list[str]]]:
    """(absolute module, imported names) of one node, when it is an import statement."""
    module = module_of(src, path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    if isinstance(node, ast.ImportFrom):
        base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
        return [(".".join([*base, node.module] if node.module else base), [a.name for a in node.names])]
    if isinstance(node, ast.Import):
        return [(a.name, []) for a in node.names]
    return []


def _all(path: Path) -> list[str]:
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return [e.value for e in node.value.elts]
    return []


def _bound(path: Path, src: Path) -> set[str]:
    """Top-level names of `path`, those its star imports bring from the tree included."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.names[0].name == "*":
            (target, _), *_ = _imports_of(node, path, src)
            file = src.joinpath(*target.split("."))
            file = file / "__init__.py" if file.is_dir() else file.with_suffix(".py")
            names |= set(_all(file)) or _bound(file, src)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.ClassDef | ast.FunctionDef):
            names.add(node.name)
    return names


@pytest.fixture
def tree(real_tree: Path, tmp_path: Path) -> Path:
    shutil.copytree(real_tree / "src", tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


@pytest.mark.parametrize(
    ("modules", "gone", "kept"),
    [
        # a family of modules inside a shared package, with recipes of its own
        ([M + "gemma.gemma2_bridge", M + "gemma.gemma2_provider"], {"Gemma2Bridge"}, {"GemmaBridge", "Gemma3ModelBridge"}),
        # a subpackage, with the sibling that imports its layer spec
        ([M + "exaone.exaone4", M + "exaone.exaone45"], {"Exaone4Bridge", "Exaone45Bridge"}, {"ExaoneMoeBridge"}),
    ],
)  # fmt: skip
def test_hidden_family_leaves_an_importable_tree(tree: Path, real_catalog, modules, gone, kept) -> None:
    recipes = family_recipe_modules(real_catalog, modules)
    assert recipes, "the family's recipes are found"
    hidden = hide_family(tree, [*modules, *recipes])
    src = tree / "src"
    catalog = build_catalog(tree)
    names = {b.name for b in catalog.bridges}
    assert not names & gone and kept <= names
    assert not [m for r in catalog.recipes for m in r.modules if m in recipes]
    deleted = tuple(hidden.deleted)
    removed = {n for ns in hidden.removed.values() for n in ns}
    assert gone <= removed  # their re-exports went with them
    for rel in hidden.edited:  # an edited module still exports only what it binds
        assert set(_all(tree / rel)) <= _bound(tree / rel, src), rel

    init = src / "megatron/bridge/models/__init__.py"
    ast.parse(init.read_text())
    init_imports = _imports(init, src)
    assert not [t for t, _ in init_imports if t.startswith(deleted)]
    assert not [n for t, ns in init_imports for n in ns if n in hidden.removed.get(t, ())]
    assert not set(_all(init)) & gone
    assert set(_all(init)) <= _bound(init, src)  # every export is still bound

    for path in src.rglob("*.py"):  # nothing left imports what is gone
        for target, imported in _imports(path, src):
            assert not any(target == d or target.startswith(d + ".") for d in deleted), (path, target)
            assert not any(f"{target}.{n}" in deleted for n in imported), (path, target)
            if target in hidden.removed:
                assert not set(imported) & hidden.removed[target], (path, target)
