"""Hide a model family from a Megatron-Bridge tree so that the rest still imports: the regeneration setup of
bench/onboard.py (a bridge rebuilt from the config alone, with nothing of its own left to copy).

    >>> hidden = hide_family(tree, ["megatron.bridge.models.gemma.gemma2_bridge",
    ...                             "megatron.bridge.models.gemma.gemma2_provider"])  # doctest: +SKIP

The named modules (a package: its whole folder) are deleted. Then, until nothing changes, every module
that imports from a deleted module, or imports a name its source no longer binds, loses those imports
(and their `__all__` entries, and so stops binding the names itself); a module that *uses* such a name
beyond re-exporting it (a base class, a call) is deleted as well, since it cannot work without it. Edits are
libcst transforms; files are found by reading imports (a cheap text test only skips files that cannot
mention anything hidden).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst
from libcst.helpers import get_full_name_for_node

from analyzers.catalog.records import Catalog

__all__ = ["HiddenFamily", "family_recipe_modules", "hide_family", "module_of"]


@dataclass
class HiddenFamily:
    """What hiding removed."""

    deleted: list[str] = field(default_factory=list)  #: dotted modules deleted (named and dependent ones)
    #: module -> names it no longer binds (imports dropped, with their `__all__` entries)
    removed: dict[str, set[str]] = field(default_factory=dict)
    edited: list[str] = field(default_factory=list)  #: files edited, relative to the tree


def module_of(src: Path, path: Path) -> str:
    """Dotted module of `path` under `src` (a package's `__init__.py` is the package)."""
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def family_recipe_modules(catalog: Catalog, models: list[str]) -> list[str]:
    """The recipe modules of the families `models` name (`...models.gemma.gemma2_bridge` -> `gemma2`): those
    the catalog's recipe families hold under that stem, per hardware too (`recipes.gemma.h100.gemma2`).

    Recipes build their models through AutoBridge and a hub id, so no import ties them to the bridge; left in
    the tree they would make a regeneration collide with the family's own recipe files.
    """
    stems = {m.rsplit(".", 1)[-1].removesuffix("_bridge").removesuffix("_provider") for m in models}
    return sorted({m for r in catalog.recipes for m in r.modules if m.rsplit(".", 1)[-1] in stems})


def _under(module: str, hidden: set[str]) -> bool:
    return any(module == h or module.startswith(h + ".") for h in hidden)


def _absolute(node: cst.ImportFrom, module: str, is_package: bool) -> str:
    """The module an ImportFrom reads from, relative levels resolved against `module`."""
    target = get_full_name_for_node(node.module) if node.module is not None else ""
    level = len(node.relative)
    if not level:
        return target or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, target] if target else base)


def _bound(alias: cst.ImportAlias) -> str:
    if alias.asname is not None:
        return cst.ensure_type(alias.asname.name, cst.Name).value
    return get_full_name_for_node(alias.name).split(".")[0]


class _DropImports(cst.CSTTransformer):
    """Drop imports of hidden modules and of names their sources no longer bind; collect what they bound."""

    def __init__(
        self,
        module: str,
        is_package: bool,
        hidden: set[str],
        removed: dict[str, set[str]],
        defined: dict[str, set[str]],
    ) -> None:
        self.module, self.is_package, self.hidden, self.removed = module, is_package, hidden, removed
        self.defined = defined
        self.lost: set[str] = set()

    def leave_ImportFrom(self, original: cst.ImportFrom, updated: cst.ImportFrom):
        source = _absolute(original, self.module, self.is_package)
        if _under(source, self.hidden):
            if isinstance(updated.names, cst.ImportStar):
                self.lost |= self.defined.get(source, set())  # what the star brought in
            else:
                self.lost |= {_bound(a) for a in updated.names}
            return cst.RemoveFromParent()
        if isinstance(updated.names, cst.ImportStar):
            self.lost |= self.removed.get(source, set())  # they no longer come through the star
            return updated
        gone = self.removed.get(source, set())
        keep = [
            a
            for a in updated.names
            if not (_under(f"{source}.{get_full_name_for_node(a.name)}", self.hidden) or a.name.value in gone)
        ]
        if len(keep) == len(updated.names):
            return updated
        self.lost |= {_bound(a) for a in updated.names if a not in keep}
        if not keep:
            return cst.RemoveFromParent()
        keep[-1] = keep[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated.with_changes(names=keep)

    def leave_Import(self, original: cst.Import, updated: cst.Import):
        keep = [a for a in updated.names if not _under(get_full_name_for_node(a.name), self.hidden)]
        if len(keep) == len(updated.names):
            return updated
        self.lost |= {_bound(a) for a in updated.names if a not in keep and a.asname is not None}
        if not keep:
            return cst.RemoveFromParent()
        keep[-1] = keep[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated.with_changes(names=keep)

    def leave_SimpleStatementLine(self, original, updated):
        # a line whose only statement was removed goes with it (libcst leaves an empty line otherwise)
        return cst.RemoveFromParent() if not updated.body else updated

    def leave_IndentedBlock(self, original, updated):
        # a `try:` or `if` whose body was only those imports keeps a valid body
        return (
            updated.with_changes(body=[cst.SimpleStatementLine([cst.Pass()])])
            if not updated.body
            else updated
        )


def _all_strings(node: cst.BaseExpression) -> list[cst.SimpleString]:
    if isinstance(node, cst.List | cst.Tuple):
        return [e.value for e in node.elements if isinstance(e.value, cst.SimpleString)]
    return []


class _DropFromAll(cst.CSTTransformer):
    """Remove `names` from `__all__ = [...]` / `__all__ += [...]`."""

    def __init__(self, names: set[str]) -> None:
        self.names = names

    def _filter(self, value: cst.BaseExpression) -> cst.BaseExpression:
        if not isinstance(value, cst.List | cst.Tuple):
            return value
        keep = [
            e
            for e in value.elements
            if not (isinstance(e.value, cst.SimpleString) and e.value.evaluated_value in self.names)
        ]
        if len(keep) == len(value.elements):
            return value
        if keep and isinstance(value, cst.List) and value.elements[-1].comma == cst.MaybeSentinel.DEFAULT:
            keep[-1] = keep[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return value.with_changes(elements=keep)

    def leave_Assign(self, original: cst.Assign, updated: cst.Assign):
        if any(isinstance(t.target, cst.Name) and t.target.value == "__all__" for t in updated.targets):
            return updated.with_changes(value=self._filter(updated.value))
        return updated

    def leave_AugAssign(self, original: cst.AugAssign, updated: cst.AugAssign):
        if isinstance(updated.target, cst.Name) and updated.target.value == "__all__":
            return updated.with_changes(value=self._filter(updated.value))
        return updated


class _Uses(cst.CSTVisitor):
    """Names read outside import statements and `__all__` (string entries are not reads)."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)


def _top_level_names(module: cst.Module) -> set[str]:
    """What `from it import *` brings: its `__all__`, else the public names it binds at top level."""
    names: set[str] = set()
    exported: set[str] | None = None
    for stmt in module.body:
        if isinstance(stmt, cst.ClassDef | cst.FunctionDef):
            names.add(stmt.name.value)
            continue
        for small in stmt.body if isinstance(stmt, cst.SimpleStatementLine) else ():
            if isinstance(small, cst.Import | cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                names |= {_bound(a) for a in small.names}
            elif isinstance(small, cst.Assign | cst.AnnAssign):
                targets = (
                    [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                )
                names |= {t.value for t in targets if isinstance(t, cst.Name)}
                if any(isinstance(t, cst.Name) and t.value == "__all__" for t in targets) and small.value:
                    exported = {e.evaluated_value for e in _all_strings(small.value)}
    return exported if exported is not None else {n for n in names if not n.startswith("_")}


def _delete(src: Path, path: Path, defined: dict[str, set[str]]) -> None:
    """Delete a module or a package folder, first noting what each module in it defined."""
    for file in [path] if path.is_file() else sorted(path.rglob("*.py")):
        defined[module_of(src, file)] = _top_level_names(cst.parse_module(file.read_text()))
    shutil.rmtree(path) if path.is_dir() else path.unlink()


def _mentions(text: str, hidden: set[str], removed: dict[str, set[str]]) -> bool:
    """Whether `text` can import anything hidden: a hidden module's name, or a module's name with one of the
    names it lost (a cheap test that spares parsing the files that cannot)."""
    if any(h.rsplit(".", 1)[-1] in text for h in hidden):
        return True
    return any(m.rsplit(".", 1)[-1] in text and any(n in text for n in ns) for m, ns in removed.items() if ns)


def hide_family(tree: Path, modules: list[str]) -> HiddenFamily:
    """Delete `modules` (dotted, under the tree's `src/`) and everything that needs them; keep the rest importable."""
    src = tree / "src"
    result = HiddenFamily()
    hidden: set[str] = set()
    defined: dict[str, set[str]] = {}  #: deleted module -> the names it bound
    for module in modules:
        path = src.joinpath(*module.split("."))
        if path.is_dir():
            _delete(src, path, defined)
        elif path.with_suffix(".py").is_file():
            _delete(src, path.with_suffix(".py"), defined)
        else:
            raise FileNotFoundError(f"{module}: no such module under {src}")
        hidden.add(module)
        result.deleted.append(module)
    removed = result.removed
    changed = True
    while changed:  # a dropped re-export can orphan the next importer: repeat to the fixpoint
        changed = False
        for path in sorted(src.rglob("*.py")):
            if not path.is_file():
                continue  # deleted in this pass
            module = module_of(src, path)
            text = path.read_text()
            if not _mentions(text, hidden, removed):
                continue
            tree_cst = cst.parse_module(text)
            dropper = _DropImports(module, path.name == "__init__.py", hidden, removed, defined)
            updated = tree_cst.visit(dropper)
            lost = dropper.lost - removed.get(module, set())
            if updated.code == text and not lost:
                continue
            uses = _Uses()
            updated.visit(_DropFromAll(lost)).visit(uses)
            if lost & uses.names - {"__all__"}:
                # it uses what is gone: the module (a package: the whole folder) goes as well
                _delete(src, path.parent if path.name == "__init__.py" else path, defined)
                hidden.add(module)
                result.deleted.append(module)
            else:
                updated = updated.visit(_DropFromAll(lost))
                path.write_text(updated.code)
                removed.setdefault(module, set()).update(lost)
                rel = str(path.relative_to(tree))
                if rel not in result.edited:
                    result.edited.append(rel)
            changed = True
    return result
