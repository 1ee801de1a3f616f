"""move-module: move a module file and fix every import, re-export, dotted path and file path naming it.

Imports are rewritten with libcst, keeping each statement's style as written: `from a.b import X` stays a
from-import (relative ones stay relative, re-based on the new location), `import a.b as m` stays an aliased
import, `from pkg import mod` keeps binding `mod`. rope's own move is not used: it rewrites import styles
and adds top-level imports. Strings, comments and docs get the new dotted module and the new file path.

>>> plan = plan_move_module(root, "megatron.bridge.models.qwen.qwen3_next_bridge",
...                         "megatron.bridge.models.qwen3_next.qwen3_next_bridge")
>>> plan.report[-1]
'4 files changed'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import libcst as cst

from analyzers import cst_edits
from analyzers.catalog.modules import module_name, package_of
from analyzers.errors import PlanConflictError, ResolveError
from analyzers.repo import BRIDGE_PKG
from analyzers.source_index import SourceIndex
from codemods.plan import Plan
from codemods.refactors import _imports, _ruff, _text
from codemods.refactors._done import already_done
from codemods.refactors.rename_symbol import FROZEN_DOCS, check_compiles

#: text files outside Python whose dotted paths and file paths follow a move
TEXT_SUFFIXES = (".md", ".mdx", ".rst", ".txt", ".yaml", ".yml", ".toml", ".json", ".sh", ".cfg", ".ini")


def _as_module_path(root: Path, spec: str) -> tuple[str, str]:
    """(dotted module, relative path) of SPEC/DST given as a dotted module or a path to a .py file."""
    if spec.endswith(".py") or "/" in spec:
        path = Path(spec)
        if path.is_absolute():
            try:
                path = path.resolve().relative_to(root.resolve())
            except ValueError:
                raise ResolveError(f"'{spec}' is not inside the tree {root}") from None
        rel = path.as_posix()
        if not rel.startswith("src/"):
            rel = f"src/{rel}" if rel.startswith("megatron/") else rel
        if not rel.startswith("src/") or not rel.endswith(".py"):
            raise ResolveError(f"'{spec}' is not a module under src/")
        parts = rel.removesuffix(".py").split("/")[1:]
        if not all(part.isidentifier() for part in parts):
            raise ResolveError(f"'{spec}' is not a module path inside the tree (a part is not an identifier)")
        rel = "src/" + "/".join(parts) + ".py"
        if not rel.startswith(f"{BRIDGE_PKG}/"):
            raise ResolveError(f"'{spec}' is not a module under {BRIDGE_PKG}/")
        return module_name(rel), rel
    if not all(part.isidentifier() for part in spec.split(".")):
        raise ResolveError(f"'{spec}' is not a dotted module name")
    if not spec.startswith("megatron.bridge."):
        raise ResolveError(f"'{spec}' is not a module under megatron.bridge")
    return spec, "src/" + spec.replace(".", "/") + ".py"


class _ImportMover(cst.CSTTransformer):
    """Point every import of `old` at `new` in one module, keeping each statement's style."""

    def __init__(self, old: str, new: str, package: str, self_package: str | None = None) -> None:
        super().__init__()
        self.old, self.new = old, new
        self.old_parent, _, self.old_base = old.rpartition(".")
        self.new_parent, _, self.new_base = new.rpartition(".")
        #: the importing module's package (its relative imports start there)
        self.package = package
        #: for the moved module itself: its package before the move (relative imports resolve there)
        self.self_package = self_package
        self.changed = 0
        self._plain_imports = False

    def _resolve(self, node: cst.ImportFrom) -> str:
        return cst_edits.absolute_module(node, self.self_package or self.package)

    def leave_SimpleStatementLine(
        self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.FlattenSentinel[cst.SimpleStatementLine]:
        if len(original.body) != 1 or not isinstance(original.body[0], cst.ImportFrom):
            return updated
        node = original.body[0]
        source = self._resolve(node)
        if source == self.old:
            self.changed += 1
            return updated.with_changes(body=[_imports.set_from_module(node, self.new, self.package)])
        if self.self_package is not None and node.relative:
            # the moved module's own relative imports: same target, re-based on the new package
            self.changed += 1
            return updated.with_changes(body=[_imports.set_from_module(node, source, self.package)])
        if source != self.old_parent or isinstance(node.names, cst.ImportStar):
            return updated
        moved = [a for a in node.names if isinstance(a.name, cst.Name) and a.name.value == self.old_base]
        if not moved:
            return updated
        self.changed += 1
        alias = moved[0]
        asname = alias.asname
        if asname is None and self.new_base != self.old_base:
            asname = cst.AsName(name=cst.Name(self.old_base))
        new_alias = cst.ImportAlias(name=cst.Name(self.new_base), asname=asname)
        new_from = _imports.set_from_module(node, self.new_parent, self.package).with_changes(
            names=[new_alias], lpar=None, rpar=None
        )
        if len(node.names) == 1:
            return updated.with_changes(body=[new_from])
        rest = [a for a in node.names if a is not alias]
        if alias is node.names[-1]:
            # the new last name ends as the removed one did: no comma, or a parenthesised list's trailing one
            rest[-1] = rest[-1].with_changes(comma=alias.comma)
        kept = updated.with_changes(body=[node.with_changes(names=rest)])
        added = cst.SimpleStatementLine(body=[new_from], trailing_whitespace=updated.trailing_whitespace)
        return cst.FlattenSentinel([kept, added])

    def leave_ImportAlias(self, original: cst.ImportAlias, updated: cst.ImportAlias) -> cst.ImportAlias:
        if cst_edits.dotted(original.name) != self.old:
            return updated
        self.changed += 1
        if original.asname is None:
            self._plain_imports = True
        return updated.with_changes(name=cst_edits.dotted_expr(self.new))

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        # `import a.b.mod` binds `a`; its uses spell the full dotted path
        if cst_edits.dotted(original) == self.old:
            self.changed += 1
            return cst_edits.dotted_expr(self.new).with_changes(lpar=updated.lpar, rpar=updated.rpar)
        return updated


def _license_header(text: str) -> str:
    lines = []
    for line in text.splitlines(keepends=True):
        if not line.startswith("#"):
            break
        lines.append(line)
    return "".join(lines)


def plan_move_module(root: Path, src: str, dst: str) -> Plan:
    """Plan moving module `src` to `dst` (dotted names or paths); never writes."""
    root = Path(root)
    old, old_path = _as_module_path(root, src)
    new, new_path = _as_module_path(root, dst)
    if not (root / old_path).is_file():
        if (root / new_path).is_file():
            return already_done(root, f"no module {old} ({old_path}); {new_path} exists (already moved)")
        raise ResolveError(f"no module {old} ({old_path})")
    if (root / new_path.removesuffix(".py")).is_dir():
        raise PlanConflictError(
            f"target would be hidden by the package {new_path.removesuffix('.py')}/ of the same name",
            new_path,
        )
    if old_path.endswith("__init__.py"):
        raise ResolveError(f"{old} is a package; move-module moves module files")
    if (root / new_path).exists():
        raise PlanConflictError("target already exists", new_path)
    package_dir = (root / new_path).parent
    if (package_dir.with_suffix(".py")).exists():
        raise PlanConflictError(
            "target package is a module", package_dir.with_suffix(".py").relative_to(root)
        )
    plan = Plan(root)
    plan.report.append(f"move {old} -> {new} ({old_path} -> {new_path})")
    index = SourceIndex(root)  # one read and one parse per file for the whole plan
    original = index.source(old_path)
    new_packages = _new_packages(root, package_dir)
    with _ruff.workspace(root, [p.relative_to(root).as_posix() for p in new_packages]) as ruff_cwd:
        _plan_python(plan, index, old, new, old_path, new_path, ruff_cwd)
    _plan_text(plan, index, old, new, old_path, new_path)
    header = _license_header(original)
    for folder in new_packages:
        init = (folder / "__init__.py").relative_to(root).as_posix()
        plan.add(init, None, header, "new package")
        plan.report.append(f"created package {init} (empty): export or import its bridges there if needed")
    plan.report.append(f"{len(plan.changes)} files changed")
    check_compiles(plan)
    return plan


def _rewriters(
    old: str, new: str, old_path: str, new_path: str
) -> tuple[re.Pattern[str], re.Pattern[str], _text.Replacer, _text.Replacer]:
    """Patterns for the old dotted module and the old file path, with replacers giving the new ones."""
    dotted = _text.dotted_pattern(old)
    slashed = re.compile(rf"(?<![\w]){re.escape(old_path[len('src/') :])}")
    return dotted, slashed, (lambda _t, _s, _e: new), (lambda _t, _s, _e: new_path[len("src/") :])


def _plan_python(
    plan: Plan, index: SourceIndex, old: str, new: str, old_path: str, new_path: str, ruff_cwd: Path
) -> None:
    dotted, slashed, dotted_to_new, slashed_to_new = _rewriters(old, new, old_path, new_path)
    old_base = old.rpartition(".")[2]
    py_sources = index.mentioning(_text.word_pattern(old_base), (".py",), old_base)
    py_sources.setdefault(old_path, index.source(old_path))
    for path, text in sorted(py_sources.items()):
        is_self = path == old_path
        package = package_of(new_path if is_self else path)
        self_package = package_of(old_path) if is_self else None
        tree = index.cst(path)
        mover = _ImportMover(old, new, package, self_package)
        code = tree.visit(mover).code
        code, n_doc = _text.replace_in_python_docs(code, dotted, dotted_to_new)
        code, n_path = _text.replace_in_python_docs(code, slashed, slashed_to_new)
        if is_self:
            plan.move(old_path, new_path, code, f"moved from {old_path}")
            continue
        if code != text:
            code = _ruff.sort_changed_imports(ruff_cwd, path, text, code)
            reasons = [r for r, n in (("imports", mover.changed), ("strings/comments", n_doc + n_path)) if n]
            plan.modify(path, code, *reasons)

    for test in (p for p in py_sources if p.startswith("tests/") and Path(p).stem == f"test_{old_base}"):
        plan.report.append(f"test module stays where it is: {test}")


def _plan_text(plan: Plan, index: SourceIndex, old: str, new: str, old_path: str, new_path: str) -> None:
    dotted, slashed, dotted_to_new, slashed_to_new = _rewriters(old, new, old_path, new_path)
    old_base = old.rpartition(".")[2]
    for path, text in index.mentioning(re.compile(re.escape(old_base)), TEXT_SUFFIXES, old_base).items():
        if FROZEN_DOCS.search(path):
            plan.report.append(f"left frozen docs of a released version: {path}")
            continue
        after, n1 = _text.replace_everywhere(text, dotted, dotted_to_new)
        after, n2 = _text.replace_everywhere(after, slashed, slashed_to_new)
        if n1 + n2:
            plan.modify(path, after, f"{n1 + n2} module paths")


def _new_packages(root: Path, package_dir: Path) -> Sequence[Path]:
    """Folders from the first missing one down to `package_dir` (each needs an `__init__.py`)."""
    missing: list[Path] = []
    current = package_dir
    while not (current / "__init__.py").exists() and current != root / "src" / "megatron":
        if current.with_suffix(".py").is_file():
            raise PlanConflictError(
                "target package would shadow the module of the same name",
                current.with_suffix(".py").relative_to(root),
            )
        missing.append(current)
        current = current.parent
    return list(reversed(missing))
