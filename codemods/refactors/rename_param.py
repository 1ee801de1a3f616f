"""rename-param: rewrite a parameter-name pattern, or a dotted prefix of it, in every mapping registry.

The catalog says which bridges have a mapping whose Megatron or HF pattern contains OLD (on whole dotted
segments: `mtp.layers.*.transformer_layer.` matches `language_model.mtp.layers.*.transformer_layer.mlp...`
but `layers.1` never matches `layers.10`). Only string literals inside those bridges' `mapping_registry`
methods and the helpers they call are edited (libcst), so the same text in tests, quantization tables or
modeling code is left alone and listed in the report.

A `*` segment in OLD is a wildcard: it matches `*`, a layer index or an f-string field (`{mtp_layer}`), and
NEW must carry the same number of `*` segments, which keep the matched text.

>>> pattern = ParamPattern("mtp.layers.*.mtp_model_layer.", "mtp.layers.*.transformer_layer.")
>>> pattern.in_source.sub(pattern.substitute, 'f"mtp.layers.{i}.mtp_model_layer.mlp.weight"')
'f"mtp.layers.{i}.transformer_layer.mlp.weight"'
>>> plan = plan_rename_param(root, build_catalog(root), pattern.old, pattern.new)
>>> plan.report[-1]
'8 files changed'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from analyzers.catalog.records import BridgeRecord, Catalog, MappingRecord
from analyzers.errors import PlanConflictError, ResolveError
from analyzers.repo import MODELS_DIR
from analyzers.source_index import SourceIndex
from codemods.plan import Plan
from codemods.refactors import _text
from codemods.refactors._done import already_done, refuse_unreadable
from codemods.refactors.rename_symbol import check_compiles

SIDES = ("megatron", "hf")
_WILDCARD = r"(\*|\d+|\{[^{}]*\})"


@dataclass(frozen=True)
class ParamPattern:
    """OLD -> NEW over whole dotted segments, with `*` wildcards kept from the matched text."""

    old: str
    new: str

    def __post_init__(self) -> None:
        for value, what in ((self.old, "OLD"), (self.new, "NEW")):
            if not value or any(c.isspace() or c in "\"'{}" for c in value) or ".." in value:
                raise ResolveError(f"{what} {value!r} is not a parameter-name pattern")
        if self.old.split(".").count("*") != self.new.split(".").count("*"):
            raise ResolveError(
                f"OLD and NEW must have the same number of '*' segments: {self.old!r} -> {self.new!r}"
            )
        if self.old == self.new:
            raise ResolveError("OLD and NEW are the same")

    def _regex(self, wildcard: str) -> re.Pattern[str]:
        segments = [wildcard if s == "*" else re.escape(s) for s in self.old.split(".")]
        body = r"\.".join(segments)
        tail = "" if self.old.endswith(".") else r"(?=[.{*\"']|$)"
        return re.compile(rf"(?:(?<=[.}}\"'])|^){body}{tail}")

    @property
    def in_source(self) -> re.Pattern[str]:
        """Matches OLD inside a string literal's source text (wildcards also match f-string fields)."""
        return self._regex(_WILDCARD)

    @property
    def in_value(self) -> re.Pattern[str]:
        """Matches OLD inside an evaluated pattern from the catalog."""
        return self._regex(r"(\*|\d+)")

    def substitute(self, match: re.Match[str]) -> str:
        wild = iter(match.groups())
        return ".".join(next(wild) if s == "*" else s for s in self.new.split("."))

    def matches(self, value: str | None) -> bool:
        return bool(value) and bool(self.in_value.search(value))


@dataclass
class _Touched:
    bridge: BridgeRecord
    mappings: list[tuple[MappingRecord, list[str]]]  #: record and the sides that matched


def find_touched(
    catalog: Catalog, pattern: ParamPattern, side: str | None, family: str | None
) -> list[_Touched]:
    """Bridges (and their mappings) whose registry names OLD on `side` (both sides when None)."""
    touched: list[_Touched] = []
    for bridge in catalog.bridges:
        if family is not None and bridge.family != family:
            continue
        hits: list[tuple[MappingRecord, list[str]]] = []
        for record in bridge.registry.mappings:
            sides = []
            if side in (None, "megatron") and pattern.matches(record.megatron_param):
                sides.append("megatron")
            if side in (None, "hf") and any(pattern.matches(v) for v in record.hf_params.values()):
                sides.append("hf")
            if sides:
                hits.append((record, sides))
        if hits:
            touched.append(_Touched(bridge, hits))
    return touched


def _refuse_collisions(item: _Touched, pattern: ParamPattern, side: str | None, rewritten) -> None:
    """PlanConflictError when a rewritten mapping's new name equals a name another mapping of the bridge
    already has (`rewritten(record)`: whether the plan edits the record's line)."""

    def names(record: MappingRecord) -> list[str]:
        out = [record.megatron_param] if side in (None, "megatron") and record.megatron_param else []
        if side in (None, "hf"):
            out.extend(v for v in record.hf_params.values() if v)
        return out

    touched = {id(record) for record, _ in item.mappings}
    existing = {
        name: record
        for record in item.bridge.registry.mappings
        if id(record) not in touched
        for name in names(record)
    }
    for record, _ in item.mappings:
        if not rewritten(record):
            continue
        for name in names(record):
            renamed = pattern.in_value.sub(pattern.substitute, name)
            if renamed != name and renamed in existing:
                other = existing[renamed].location
                raise PlanConflictError(
                    f"target already exists: {item.bridge.name} already maps {renamed!r} ({other.path}:{other.line}); "
                    f"renaming {name!r} onto it would map it twice",
                    f"{record.location.path}:{record.location.line}",
                )


class _SideFinder(cst.CSTVisitor):
    """Which side (megatron/hf) each string literal of a module stands for, from where it is written."""

    def __init__(self) -> None:
        super().__init__()
        self.side: dict[int, str] = {}

    def _mark(self, node: cst.BaseExpression, side: str) -> None:
        if isinstance(node, (cst.SimpleString, cst.FormattedString)):
            self.side.setdefault(id(node), side)
        elif isinstance(node, cst.ConcatenatedString):
            self._mark(node.left, side)
            self._mark(node.right, side)
        elif isinstance(node, cst.BinaryOperation):  # "prefix" + "name"
            self._mark(node.left, side)
            self._mark(node.right, side)

    def visit_Call(self, node: cst.Call) -> None:
        positional = 0
        for arg in node.args:
            if arg.keyword is not None:
                name = arg.keyword.value
                if name == "megatron_param":
                    self._mark(arg.value, "megatron")
                elif name.startswith("hf_") or name in ("q", "k", "v", "gate", "up", "hf_param"):
                    self._mark(arg.value, "hf")
            elif arg.star == "":
                self._mark(arg.value, "megatron" if positional == 0 else "hf")
                positional += 1

    def visit_DictElement(self, node: cst.DictElement) -> None:
        # registries write {megatron_pattern: hf_pattern} and loop them into AutoMapping
        self._mark(node.key, "megatron")
        self._mark(node.value, "hf")


class _Rewriter(cst.CSTTransformer):
    """Rewrite matching string literals inside the named functions (`Class.method` or `function`)."""

    def __init__(
        self, pattern: ParamPattern, scope: set[str], sides: dict[int, str], side: str | None
    ) -> None:
        super().__init__()
        self.pattern, self.scope, self.sides, self.side = pattern, scope, sides, side
        self._names: list[str] = []
        self._inside = 0
        self.edits: list[tuple[str, str]] = []  #: (old literal, new literal)
        self.functions: set[str] = set()  #: qualified functions that got an edit
        self._current: list[str] = []
        self.skipped: list[str] = []

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._names.append(node.name.value)

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        self._names.pop()
        return updated

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._names.append(node.name.value)
        if ".".join(self._names) in self.scope or node.name.value in self.scope:
            self._inside += 1
            self._current.append(".".join(self._names))

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        if ".".join(self._names) in self.scope or original.name.value in self.scope:
            self._inside -= 1
            self._current.pop()
        self._names.pop()
        return updated

    def _rewrite(self, original: cst.BaseExpression, updated: cst.BaseExpression) -> cst.BaseExpression:
        if not self._inside:
            return updated
        code = cst.Module(body=[]).code_for_node(original)
        new_code = self.pattern.in_source.sub(self.pattern.substitute, code)
        if new_code == code:
            return updated
        written = self.sides.get(id(original))
        if self.side is not None and written is not None and written != self.side:
            return updated
        if self.side is not None and written is None:
            self.skipped.append(code)
            return updated
        self.edits.append((code, new_code))
        self.functions.add(self._current[-1])
        return cst.parse_expression(new_code)

    def leave_SimpleString(self, original: cst.SimpleString, updated: cst.SimpleString) -> cst.BaseExpression:
        return self._rewrite(original, updated)

    def leave_FormattedString(
        self, original: cst.FormattedString, updated: cst.FormattedString
    ) -> cst.BaseExpression:
        return self._rewrite(original, updated)


def registry_scope(bridge: BridgeRecord) -> set[tuple[str, str]]:
    """(path, qualified function) of the bridge's `mapping_registry` and every helper it runs, as the
    catalog's registry evaluator recorded them."""
    return {(path, name) for path, _, name in (entry.partition("::") for entry in bridge.registry.functions)}


def plan_rename_param(
    root: Path,
    catalog: Catalog,
    old: str,
    new: str,
    *,
    side: str | None = None,
    family: str | None = None,
) -> Plan:
    """Plan rewriting parameter pattern `old` to `new` in mapping registries; never writes."""
    root = Path(root)
    pattern = ParamPattern(old, new)
    if side is not None and side not in SIDES:
        raise ResolveError(f"unknown side '{side}' (megatron or hf)")
    if family is not None and catalog.family(family) is None:
        known = ", ".join(sorted(f.name for f in catalog.families))
        raise ResolveError(f"unknown family '{family}' (known: {known})")
    refuse_unreadable(catalog, f"{MODELS_DIR}/", "rename-param")
    touched = find_touched(catalog, pattern, side, family)
    reverse = ParamPattern(new, old)
    scopes: dict[str, set[str]] = {}
    bridge_scopes: dict[str, set[tuple[str, str]]] = {}
    for bridge in catalog.bridges:
        if family is None or bridge.family == family:
            bridge_scopes[bridge.name] = registry_scope(bridge)
            for path, name in bridge_scopes[bridge.name]:
                scopes.setdefault(path, set()).add(name)
    plan = Plan(root)
    plan.report.append(f"rename parameter pattern {old!r} -> {new!r}" + (f" ({side} side)" if side else ""))
    for item in touched:
        plan.report.append(f"bridge {item.bridge.name} ({item.bridge.path}): {len(item.mappings)} mappings")
        for record, sides in item.mappings:
            hf = ", ".join(f"{k}={v}" for k, v in record.hf_params.items())
            plan.report.append(
                f"  {record.location}: {record.mapping_class}({record.megatron_param} <- {hf}) [{'+'.join(sides)}]"
            )
    edited: set[str] = set()
    edited_functions: set[tuple[str, str]] = set()
    needle = max(pattern.old.split("."), key=len)
    index = SourceIndex(root)  # one read and one parse per file for the whole plan
    for path, names in sorted(scopes.items()):
        text = index.source(path)
        if needle not in text:
            continue
        module = index.cst(path)
        finder = _SideFinder()
        module.visit(finder)
        rewriter = _Rewriter(pattern, names, finder.side, side)
        after = module.visit(rewriter).code
        for literal in rewriter.skipped:
            plan.report.append(f"left (side unknown): {path}: {literal}")
        if after != text:
            plan.modify(path, after, f"{len(rewriter.edits)} pattern strings")
            edited.add(path)
            edited_functions.update((path, f) for f in rewriter.functions)

    def rewritten(record: MappingRecord) -> bool:
        path, line = record.location.path, record.location.line
        if path not in edited:
            return False
        before, after = (
            index.source(path).splitlines(),
            plan.current(path).splitlines(),
        )
        # the location is the mapping's constructor; its literals follow on the next lines
        return before[line - 1 : line + 10] != after[line - 1 : line + 10]

    for item in touched:
        _refuse_collisions(item, pattern, side, rewritten)
    if not plan.changes:
        where = f" of family {family}" if family else ""
        if find_touched(catalog, reverse, side, family):
            return already_done(
                root, f"no mapping registry{where} names '{old}' and some name '{new}' (already renamed)"
            )
        raise ResolveError(
            f"no mapping registry{where} names '{old}'" + (f" on the {side} side" if side else "")
        )
    if family is not None:
        for bridge in catalog.bridges:
            if bridge.family != family and registry_scope(bridge) & edited_functions:
                plan.report.append(
                    f"also changes {bridge.name} (family {bridge.family}): it calls a helper edited for {family}"
                )
    for name, bridge_scope in sorted(bridge_scopes.items()):
        hit = sorted(f"{p}::{f}" for p, f in bridge_scope & edited_functions)
        if hit:
            plan.report.append(f"edited registry of {name}: {', '.join(hit)}")
    for item in touched:
        if not bridge_scopes.get(item.bridge.name, set()) & edited_functions and not any(
            r.location.path in edited for r, _ in item.mappings
        ):
            plan.report.append(
                f"TODO {item.bridge.name}: its registry builds these names from pieces; no literal spells "
                f"'{old}', edit {item.bridge.path} by hand"
            )
    _report_elsewhere(index, pattern, edited, plan)
    plan.report.append(f"{len(plan.changes)} files changed")
    check_compiles(plan)
    return plan


def _report_elsewhere(index: SourceIndex, pattern: ParamPattern, edited: set[str], plan: Plan) -> None:
    """List the places outside the edited registries that still spell OLD (left as they are, by design)."""
    needle = max(pattern.old.split("."), key=len)
    sources = index.mentioning(re.compile(re.escape(needle)), (".py",), needle)
    for path, text in sorted(sources.items()):
        current = plan.current(path) if path in edited else text
        assert current is not None
        lines = sorted({_text.line_of(current, m.start()) for m in _string_matches(current, pattern)})
        if lines:
            shown = ", ".join(map(str, lines[:8])) + (" ..." if len(lines) > 8 else "")
            plan.report.append(f"not changed (outside mapping registries): {path}: lines {shown}")


def _string_matches(source: str, pattern: ParamPattern) -> list[re.Match[str]]:
    found: list[re.Match[str]] = []
    for start, end, kind in _text.python_doc_regions(source):
        if kind != "string":
            continue
        for match in pattern.in_source.finditer(source, start, end):
            found.append(match)
    return found
