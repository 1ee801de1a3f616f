"""rename-symbol: rename a module-level class, function or constant everywhere it is used.

rope renames the Python occurrences (imports keep their `from x import y` style, aliases stay, references
follow); this module adds what rope leaves: strings and comments (dotted paths such as
`"megatron.bridge.models.qwen.qwen3_bridge.Qwen3Bridge"`, `__all__` entries, docstrings) and code in Markdown
(inline spans and fenced blocks). Matching is by whole identifier, so `Qwen3Bridge` never touches
`Qwen3MoEBridge`.

>>> plan = plan_rename_symbol(checkout, "Qwen3Bridge", "Qwen3TextBridge")
>>> print(plan.preview().splitlines()[6])
+Dense Qwen models (`Qwen2ForCausalLM`, `Qwen3ForCausalLM`) convert through `Qwen2Bridge` and `Qwen3TextBridge`.
"""

from __future__ import annotations

import ast
import keyword
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from analyzers.catalog.modules import module_name
from analyzers.errors import ParseError, PlanConflictError, ResolveError
from analyzers.source_index import SourceIndex
from codemods.plan import Plan
from codemods.refactors import _rope, _text
from codemods.refactors._done import already_done

PY = (".py",)
#: docs snapshots of released versions (`docs/fern/versions/0.4.2/...`) describe that release: never edited
FROZEN_DOCS = re.compile(r"(^|/)versions/v?\d")


@dataclass(frozen=True)
class Definition:
    """A module-level binding of a name: where rope must start."""

    module: str  #: dotted module name
    path: str  #: relative POSIX path
    line: int
    offset: int  #: character offset of the name in the file (what rope takes)
    kind: str  #: "class" | "function" | "assignment"


def _offset(text: str, line: int, col: int) -> int:
    lines = text.splitlines(keepends=True)
    return sum(len(x) for x in lines[: line - 1]) + col


def find_definitions(
    root: Path, name: str, sources: dict[str, str] | None = None, index: SourceIndex | None = None
) -> list[Definition]:
    """Module-level definitions of `name` in the tree's `src/` (classes, functions, plain assignments).

    `index`: the run's sources (a plan that searches the tree again reads and parses nothing twice).
    """
    if sources is None:
        index = index or SourceIndex(root)
        sources = index.mentioning(_text.word_pattern(name), PY, name, under="src")
    return _definitions(
        name, sources, parse_sources({p: t for p, t in sources.items() if p.startswith("src/")}, index)
    )


def parse_sources(sources: dict[str, str], index: SourceIndex | None = None) -> dict[str, ast.Module]:
    """Each Python file of `sources` parsed once (through `index` when given, whose texts they are);
    ParseError naming the first that does not parse."""
    trees: dict[str, ast.Module] = {}
    for path, text in sorted(sources.items()):
        if path.endswith(".py"):
            if index is not None:
                trees[path] = index.ast(path)
                continue
            try:
                trees[path] = ast.parse(text, filename=path)
            except SyntaxError as exc:
                raise ParseError(f"cannot parse: {exc.msg} (line {exc.lineno})", path) from None
    return trees


def _definitions(name: str, sources: dict[str, str], trees: dict[str, ast.Module]) -> list[Definition]:
    found: list[Definition] = []
    for path, tree in sorted(trees.items()):
        if not path.startswith("src/"):
            continue
        text = sources[path]
        for node in tree.body:
            if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
                line_start = _offset(text, node.lineno, 0)
                header = re.compile(rf"(class|def)\s+({re.escape(name)})\b")
                match = header.search(text, line_start)
                assert match is not None
                kind = "class" if isinstance(node, ast.ClassDef) else "function"
                found.append(Definition(module_name(path), path, node.lineno, match.start(2), kind))
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AnnAssign):
                targets = [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id == name:
                    offset = _offset(text, target.lineno, target.col_offset)
                    found.append(Definition(module_name(path), path, target.lineno, offset, "assignment"))
                    break
    return found


def _reexporters(trees: dict[str, ast.Module], name: str) -> set[str]:
    """Modules under src/ that import `name` by that name (so `that.module.name` is a valid dotted path)."""
    modules: set[str] = set()
    for path, tree in trees.items():
        if not path.startswith("src/"):
            continue
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and any(
                a.name == name and a.asname is None for a in node.names
            ):
                modules.add(module_name(path))
    return modules


def _module_bindings(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def check_identifier(name: str, what: str) -> str:
    """`name` when it is an ASCII-safe Python identifier: Python folds full-width letters (NFKC), so
    `\uff31wen3Bridge` would name `Qwen3Bridge` in code while strings keep the full-width spelling."""
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ResolveError(f"{what} {name!r} is not a Python identifier")
    folded = unicodedata.normalize("NFKC", name)
    if folded != name:
        raise ResolveError(f"{what} {name!r} is not a plain identifier: Python reads it as {folded!r}")
    return name


def resolve_definition(root: Path, old: str, sources: dict[str, str]) -> Definition:
    """The one definition `old` (a bare name or a dotted path) names; ResolveError when none or several."""
    return _the_definition(old, find_definitions(root, old.rpartition(".")[2], sources))


def _the_definition(old: str, definitions: list[Definition]) -> Definition:
    module, _, name = old.rpartition(".")
    if module:
        definitions = [d for d in definitions if d.module == module]
    if not definitions:
        where = f" in {module}" if module else " under src/"
        raise ResolveError(f"no module-level class, function or assignment named '{name}'{where}")
    if len(definitions) > 1:
        listed = ", ".join(f"{d.module}.{name} ({d.path}:{d.line})" for d in definitions)
        raise ResolveError(f"'{old}' is ambiguous, pass a dotted path; candidates: {listed}")
    return definitions[0]


def plan_rename_symbol(root: Path, old: str, new: str, *, narrow: bool = True) -> Plan:
    """Plan renaming `old` (bare name or dotted path) to `new`; never writes.

    `narrow=False` hands rope the whole tree, as plain rope does (for the benchmark's comparison).
    """
    root = Path(root)
    name = old.rpartition(".")[2]
    check_identifier(new, "NEW")
    check_identifier(name, "OLD")
    if new == name:
        raise ResolveError(f"'{old}' already has the name '{new}'")
    pattern = _text.word_pattern(name)
    index = SourceIndex(root)  # the tree is searched for both names: each file read and parsed once
    py_sources = index.mentioning(pattern, PY, name)
    trees = parse_sources(py_sources, index)
    definitions = _definitions(name, py_sources, trees)
    try:
        definition = _the_definition(old, definitions)
    except ResolveError as exc:
        done = find_definitions(root, new, index=index) if "no module-level" in exc.message else []
        if done:
            return already_done(
                root, f"{exc.message}; '{new}' is defined at {done[0].path}:{done[0].line} (already renamed)"
            )
        raise

    existing = find_definitions(root, new, index=index)
    if existing:
        listed = ", ".join(f"{d.path}:{d.line}" for d in existing)
        raise PlanConflictError(f"target already exists: '{new}' is defined at {listed}", existing[0].path)
    for path in py_sources:
        if new in _module_bindings(trees[path]):
            raise PlanConflictError(f"target already exists: '{new}' is already bound in this module", path)

    files = sorted(py_sources) if narrow else None
    renamed = _rope.rename_changes(root, definition.path, definition.offset, new, files)

    plan = Plan(root)
    plan.report.append(
        f"rename {definition.kind} {definition.module}.{name} -> {new} ({definition.path}:{definition.line})"
    )
    accepted = {definition.module} | _reexporters(trees, name)
    skipped: list[str] = []

    unique = len(definitions) == 1

    def replace(text: str, start: int, end: int, path: str) -> str | None:
        # a dotted path must name the defining module or a re-exporter; a bare word counts only where the
        # name is known to mean this symbol: a file rope changed, or anywhere when no other module defines it
        chain = re.search(r"([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\.$", text[max(0, start - 300) : start])
        if chain and chain.group(1).startswith("megatron."):
            if chain.group(1) in accepted:
                return new
            skipped.append(f"{path}:{_text.line_of(text, start)}: {chain.group(1)}.{name}")
            return None
        if unique or path in renamed:
            return new
        skipped.append(f"{path}:{_text.line_of(text, start)}: {name}")
        return None

    for path in sorted(py_sources):
        code = renamed.get(path, py_sources[path])
        after, n = _text.replace_in_python_docs(code, pattern, lambda t, s, e, p=path: replace(t, s, e, p))
        if after != py_sources[path]:
            reasons = []
            if path in renamed:
                reasons.append("python references (rope)")
            if n:
                reasons.append(f"{n} in strings/comments")
            plan.modify(path, after, *reasons)
    md_sources = index.mentioning(pattern, _text.MARKDOWN_SUFFIXES, name)
    for path, text in md_sources.items():
        if FROZEN_DOCS.search(path):
            plan.report.append(f"left frozen docs of a released version: {path}")
            continue
        after, n, prose = _text.replace_in_markdown_code(
            text, pattern, lambda t, s, e, p=path: replace(t, s, e, p)
        )
        if n:
            plan.modify(path, after, f"{n} in Markdown code")
        if prose:
            plan.report.append(f"left prose mentions in {path}: lines {', '.join(map(str, prose))}")
    for item in skipped:
        plan.report.append(f"left (names another definition or is ambiguous): {item}")
    plan.report.append(f"{len(plan.changes)} files changed")
    check_compiles(plan)
    return plan


def check_compiles(plan: Plan) -> None:
    """Refuse a plan that leaves any changed Python file unparsable."""
    for edit in plan.changes:
        if edit.after is not None and edit.path.endswith(".py"):
            try:
                compile(edit.after, edit.path, "exec", dont_inherit=True, flags=ast.PyCF_ONLY_AST)
            except SyntaxError as exc:
                raise PlanConflictError(
                    f"the plan would not compile: {exc.msg} (line {exc.lineno})", edit.path
                ) from None
