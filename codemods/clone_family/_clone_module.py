"""Clone one Python module under new names, in the syntax tree (libcst).

Renamed: identifiers (case-preserving, token boundaries, via `Renamer`), imports of cloned modules,
docstrings, comments, prose strings, identifier-like strings (`"qwen3"`, `"Qwen3Bridge"`), dotted
`megatron.bridge...` paths and HF hub ids (`"Qwen/Qwen3-8B"`). Never renamed: weight-name strings
(`"model.layers.*.self_attn.q_norm.weight"`), names imported from modules that are not cloned (kept
as imported), and HF classes the installed transformers does not have (kept, with a TODO).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import libcst as cst

from analyzers.catalog.modules import resolve_relative
from analyzers.cst_edits import drop_imported, used_names
from analyzers.errors import ParseError
from codemods._cst import last_name, string_literal
from codemods.clone_family._templates import TODO, current_year, license_header
from codemods.clone_family._transformers_index import transformers_has, transformers_module_exists
from codemods.naming import Renamer
from codemods.rename_engine import ModuleNames, RenameTransformer, StringPolicy

REGISTER_CALLS = {"register_bridge", "register_bridge_implementation"}
_QUOTED_HF_ID = re.compile(r"""(["'])([A-Za-z0-9][\w.-]*/[\w.-]+)\1""")
_HF_ID = re.compile(r"^([A-Za-z0-9][\w.-]*)/([\w.-]+)$")
_HEX_REVISION = re.compile(r"^[0-9a-f]{40}$")
_COPYRIGHT = re.compile(r"(Copyright \(c\) )(\d{4})(?:-\d{4})?")


@dataclass(frozen=True)
class Registration:
    """What a cloned bridge class registers: HF source (class or string) and model_type."""

    source: str
    as_string: bool
    model_type: str | None


@dataclass(frozen=True)
class CloneContext:
    """Everything the module transform needs; shared by all files of one clone."""

    renamer: Renamer
    #: old dotted module -> new dotted module, for every cloned module and package
    module_map: dict[str, str]
    #: new bridge class name -> its registration
    registrations: dict[str, Registration] = field(default_factory=dict)
    hf_org: tuple[str, str] | None = None  #: (old org, new org) for hub ids, when the org changes
    #: old package -> {old name: new name} it re-exports after registration (the family package)
    package_names: dict[str, dict[str, str]] = field(default_factory=dict)
    #: old package -> new package (differs with --family-dir)
    package_map: dict[str, str] = field(default_factory=dict)
    #: SRC's transformers classes -> the new model_type's in transformers' registry (`Gemma3TextConfig` ->
    #: `Exaone4Config`): the spelling renamed would be a class transformers does not have
    hf_classes: dict[str, str] = field(default_factory=dict)
    #: no `--hf-id`: a hub id the rename would invent (`Qwen/Qwen4-8B`) becomes a TODO placeholder
    hub_placeholders: bool = False

    def _cloned_prefix(self, dotted: str) -> str | None:
        """The longest cloned module that `dotted` is or lies inside."""
        return max(
            (old for old in self.module_map if dotted == old or dotted.startswith(old + ".")),
            key=len,
            default=None,
        )

    def module(self, dotted: str) -> str | None:
        """The new name of a cloned module (or of a module inside a cloned package)."""
        best = self._cloned_prefix(dotted)
        if best is None:
            return None
        return self.module_map[best] + dotted[len(best) :]

    def prose(self, text: str) -> str:
        """Free text renamed; hub ids the rename changed move to the new organisation (`--hf-id`)."""
        new = self.renamer.prose(text)
        if self.hub_placeholders and new != text:
            # A quoted hub id the rename changed names a checkpoint nobody published.
            new = _QUOTED_HF_ID.sub(
                lambda m: m.group(0) if m.group(2) in text else f"{m.group(1)}{TODO}: hub id{m.group(1)}", new
            )
        if self.hf_org is None or new == text:
            return new
        old_org, new_org = self.hf_org
        return re.sub(
            rf"(?<![\w.-]){re.escape(old_org)}/[\w.-]+",
            lambda m: f"{new_org}/{m.group(0).split('/', 1)[1]}" if m.group(0) not in text else m.group(0),
            new,
        )

    def dotted_string(self, text: str) -> str:
        """A dotted `megatron.bridge...` path (module or module.attr) renamed."""
        best = self._cloned_prefix(text)
        if best is None:
            return text
        rest = [self.renamer.identifier(p) for p in text[len(best) + 1 :].split(".")] if text != best else []
        return ".".join([self.module_map[best], *rest])


class _Bindings:
    """Which imported names keep their spelling, and which external ones are renamed (read with stdlib ast)."""

    def __init__(self, ctx: CloneContext, module_name: str, is_package: bool, path: str) -> None:
        self.ctx, self.module_name, self.is_package, self.path = ctx, module_name, is_package, path
        self.keep: set[str] = set()
        self.module_roots: set[str] = set()
        self.external_renamed: dict[str, str] = {}
        self.external_modules: dict[str, str] = {}
        self.used: set[str] = set()
        self.kept_notes: list[tuple[str, str, str]] = []

    def read(self, source: str) -> None:
        try:
            tree = ast.parse(source)
        except SyntaxError as exc:
            raise ParseError(f"syntax error at line {exc.lineno}: {exc.msg}", self.path) from None
        self.tree = tree
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                self.used.add(node.id)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    self.module_roots.add(alias.asname or alias.name.split(".")[0])
            elif isinstance(node, ast.ImportFrom):
                self._import_from(node)

    def _import_from(self, node: ast.ImportFrom) -> None:
        mod = resolve_relative(self.module_name, self.is_package, node.level, node.module)
        if self.ctx.module(mod) is not None:
            return
        for alias in node.names:
            if alias.name == "*":
                continue
            local = alias.asname or alias.name
            new = self.ctx.renamer.identifier(local)
            if new == local:
                self.keep.add(local)
                continue
            exported = self.ctx.package_names.get(mod, {})
            if alias.asname is None and local in exported:
                self.external_renamed[local] = exported[local]
                if self.ctx.package_map.get(mod, mod) != mod:
                    self.external_modules[mod] = self.ctx.package_map[mod]
                continue
            if mod.split(".")[0] == "transformers" and alias.asname is None and local in self.ctx.hf_classes:
                # The registry's class lives at transformers' top level, whatever SRC imported it from.
                self.external_renamed[local] = self.ctx.hf_classes[local]
                if mod != "transformers":
                    self.external_modules[mod] = "transformers"
                continue
            if mod.split(".")[0] == "transformers" and new in self.ctx.hf_classes.values():
                self.keep.add(local)  # another SRC class becomes the registry's `new`
                continue
            if mod.split(".")[0] == "transformers" and alias.asname is None and transformers_has(new):
                new_mod = self.ctx.renamer.identifier(mod)
                if new_mod != mod and transformers_module_exists(new_mod):
                    self.external_modules[mod] = new_mod
                self.external_renamed[local] = new
                continue
            self.keep.add(local)
            self.kept_notes.append((local, mod, new))

    def names(self) -> ModuleNames:
        """The module's names object: what is kept, what follows the clone from outside."""
        return ModuleNames(
            renamer=self.ctx.renamer,
            module_parts=self.ctx.renamer,
            module=self.module_name,
            is_package=self.is_package,
            owned=self.ctx.module,
            kept=frozenset(self.keep | self.module_roots),
            renamed=self.external_renamed,
            moved=self.external_modules,
        )


class _CloneStrings(StringPolicy):
    """clone-family's strings: prose moves hub ids to `--hf-id`'s organisation, identifiers follow the module's
    names, dotted paths the module map, and hub ids (`"Qwen/Qwen3-8B"`) the new model."""

    def __init__(self, ctx: CloneContext, names: ModuleNames) -> None:
        super().__init__(ctx.renamer)
        self.ctx, self.names = ctx, names

    def prose(self, text: str) -> str:
        return self.ctx.prose(text)

    def identifier(self, text: str) -> str:
        return self.names.name(text)

    def dotted(self, text: str) -> str:
        return self.ctx.dotted_string(text)

    def other(self, text: str) -> str:
        match = _HF_ID.match(text)
        if match and not text.endswith((".py", ".json", ".md", ".sh", ".yaml")):
            org, name = match.groups()
            new_name = self.ctx.renamer.prose(name)
            if new_name != name:
                if self.ctx.hub_placeholders:
                    return f"{TODO}: the new model's published checkpoint (the source loads {text})"
                if self.ctx.hf_org and org == self.ctx.hf_org[0]:
                    org = self.ctx.hf_org[1]
                return f"{org}/{new_name}"
        return text


class _CloneTransformer(RenameTransformer):
    """The rename engine plus what only a clone does: registrations take the new HF source and model type,
    keyword arguments keep the callee's spelling, every bare string statement is prose, pinned hub
    revisions of SRC's checkpoint are unpinned."""

    def __init__(self, ctx: CloneContext, names: ModuleNames) -> None:
        super().__init__(names, _CloneStrings(ctx, names))
        self.ctx = ctx
        self.class_stack: list[str] = []
        self.dropped_names = False

    def leave_Arg(self, original: cst.Arg, updated: cst.Arg) -> cst.Arg:
        # Keyword names belong to the callee's signature, which is usually not cloned.
        if original.keyword is not None:
            return updated.with_changes(keyword=original.keyword)
        return updated

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
        if len(node.body) == 1 and isinstance(node.body[0], cst.Expr):
            value = node.body[0].value
            parts = _concat_parts(value) if isinstance(value, cst.ConcatenatedString) else [value]
            for part in parts:
                if isinstance(part, cst.SimpleString):
                    self.prose_strings.add(id(part))
        return True

    def leave_SimpleStatementLine(
        self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        # A pinned hub revision of SRC's checkpoint means nothing for the new model: unpin it, loudly.
        if len(updated.body) == 1 and isinstance(updated.body[0], cst.Assign):
            node = updated.body[0]
            target = node.targets[0].target if len(node.targets) == 1 else None
            value = node.value
            if (
                isinstance(target, cst.Name)
                and target.value.endswith("_REVISION")
                and isinstance(value, cst.SimpleString)
                and _HEX_REVISION.match(value.value.strip("\"'"))
            ):
                comment = cst.Comment(f"# {TODO}: pin the revision of the new checkpoint (was {value.value})")
                return updated.with_changes(
                    body=[node.with_changes(value=cst.Name("None"))],
                    trailing_whitespace=cst.TrailingWhitespace(
                        whitespace=cst.SimpleWhitespace("  "), comment=comment
                    ),
                )
        return updated

    # --- registrations ------------------------------------------------------------------------
    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.class_stack.append(self.names.name(node.name.value))
        return super().visit_ClassDef(node)

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        self.class_stack.pop()
        return updated

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        func = updated.func
        if last_name(func) in REGISTER_CALLS:
            bridge = self._bridge_arg(updated) or (self.class_stack[-1] if self.class_stack else None)
            if bridge is not None:
                return self._registration(updated, bridge)
            return updated
        # `register_bridge(...)(Cls)`: the class is the outer call's argument.
        if isinstance(func, cst.Call) and updated.args and isinstance(updated.args[0].value, cst.Name):
            if last_name(func.func) in REGISTER_CALLS:
                bridge = updated.args[0].value.value
                return updated.with_changes(func=self._registration(func, bridge))
        return updated

    @staticmethod
    def _bridge_arg(call: cst.Call) -> str | None:
        for arg in call.args:
            if (
                arg.keyword is not None
                and arg.keyword.value == "bridge_class"
                and isinstance(arg.value, cst.Name)
            ):
                return arg.value.value
        return None

    def _registration(self, call: cst.Call, bridge: str) -> cst.Call:
        reg = self.ctx.registrations.get(bridge)
        if reg is None:
            return call
        args = list(call.args)
        for i, arg in enumerate(args):
            keyword = arg.keyword.value if arg.keyword is not None else None
            if keyword == "source" or (keyword is None and i == 0):
                if reg.as_string:
                    value: cst.BaseExpression = string_literal(reg.source)
                    self.dropped_names = self.dropped_names or isinstance(arg.value, cst.Name)
                else:
                    value = cst.Name(reg.source)
                args[i] = arg.with_changes(value=value)
            elif keyword == "model_type" and reg.model_type is not None:
                args[i] = arg.with_changes(value=string_literal(reg.model_type))
        return call.with_changes(args=args)


def _concat_parts(node: cst.ConcatenatedString) -> list[cst.BaseExpression]:
    out: list[cst.BaseExpression] = []
    for side in (node.left, node.right):
        if isinstance(side, cst.ConcatenatedString):
            out.extend(_concat_parts(side))
        else:
            out.append(side)
    return out


def _header(module: cst.Module, year: int) -> cst.Module:
    lines = list(module.header)
    found = False
    for i, line in enumerate(lines):
        if line.comment is not None and _COPYRIGHT.search(line.comment.value):
            lines[i] = line.with_changes(
                comment=cst.Comment(
                    _COPYRIGHT.sub(lambda m: f"{m.group(1)}{year}", line.comment.value, count=1)
                )
            )
            found = True
            break
    if found:
        return module.with_changes(header=lines)
    fresh = cst.parse_module(license_header(year) + "\n")
    return module.with_changes(header=list(fresh.header) + lines)


def _touched_lines(source: str, renamer: Renamer) -> set[int]:
    """1-based numbers of the lines where some old spelling occurs (the only places a rename can happen)."""
    pattern = renamer.search_pattern()
    if pattern is None:
        return set()
    return {number for number, line in enumerate(source.splitlines(), 1) if pattern.search(line)}


def _span(node: ast.stmt, previous_end: int) -> range:
    # The gap after the previous statement holds this statement's leading comments.
    return range(previous_end + 1, (node.end_lineno or node.lineno) + 1)


def _visit_block(
    statements: Sequence[cst.BaseStatement],
    nodes: Sequence[ast.stmt],
    previous_end: int,
    touched: set[int],
    transformer: _CloneTransformer,
) -> list[cst.BaseStatement] | None:
    """Visit only the statements whose lines hold an old spelling; None when cst and ast blocks do not align."""
    if len(statements) != len(nodes):
        return None
    out: list[cst.BaseStatement] = []
    for stmt, node in zip(statements, nodes, strict=True):
        span = _span(node, previous_end)
        previous_end = node.end_lineno or node.lineno
        if not any(line in touched for line in span):
            out.append(stmt)
            continue
        out.append(_visit_statement(stmt, node, span.start - 1, touched, transformer))
    return out


def _visit_statement(
    stmt: cst.BaseStatement,
    node: ast.stmt,
    previous_end: int,
    touched: set[int],
    transformer: _CloneTransformer,
) -> cst.BaseStatement:
    compound = isinstance(stmt, cst.ClassDef | cst.FunctionDef) and isinstance(
        node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
    )
    if not compound or not isinstance(stmt.body, cst.IndentedBlock):
        return stmt.visit(transformer)  # type: ignore[return-value]
    body_start = node.body[0].lineno if node.body else node.lineno
    header_end = body_start - 1
    is_class = isinstance(stmt, cst.ClassDef)
    if is_class:
        transformer.class_stack.append(transformer.names.name(stmt.name.value))
    try:
        inner = _visit_block(stmt.body.body, node.body, header_end, touched, transformer)
    finally:
        if is_class:
            transformer.class_stack.pop()
    if inner is None:
        return stmt.visit(transformer)  # type: ignore[return-value]
    # The header (decorators, name, bases, signature) is visited with a stub body, then the body put back.
    stub = stmt.with_changes(body=stmt.body.with_changes(body=[cst.SimpleStatementLine([cst.Pass()])]))
    header = stub.visit(transformer)
    return header.with_changes(body=header.body.with_changes(body=inner))  # type: ignore[union-attr]


def _visit_touched(
    tree: cst.Module, ast_tree: ast.Module, source: str, transformer: _CloneTransformer, renamer: Renamer
) -> cst.Module:
    touched = _touched_lines(source, renamer)
    body = _visit_block(tree.body, ast_tree.body, 0, touched, transformer)
    if body is None:
        return tree.visit(transformer)
    return tree.with_changes(body=body)


@dataclass(frozen=True)
class ClonedModule:
    """A module's clone and what the clone kept on purpose."""

    text: str
    notes: tuple[str, ...] = ()  #: one line per name kept under its old spelling, and why


def clone_module(
    source: str,
    *,
    path: str,
    module_name: str,
    ctx: CloneContext,
    year: int | None = None,
    extra: Callable[[cst.Module], cst.Module] | None = None,
) -> ClonedModule:
    """Module `source` (at `path`, dotted `module_name`) cloned under the new names."""
    if (
        extra is None
        and not _touched_lines(source, ctx.renamer)
        and _COPYRIGHT.search(source.split("\n", 1)[0])
    ):
        # Nothing to rename (a helper module of a cloned package): only the license year changes.
        first, _, rest = source.partition("\n")
        year_only = _COPYRIGHT.sub(lambda m: f"{m.group(1)}{year or current_year()}", first, count=1)
        return ClonedModule(year_only + "\n" + rest)
    try:
        tree = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise ParseError(f"syntax error at line {exc.raw_line}: {exc.message}", path) from None
    bindings = _Bindings(ctx, module_name, path.endswith("__init__.py"), path)
    bindings.read(source)
    transformer = _CloneTransformer(ctx, bindings.names())
    tree = _visit_touched(tree, bindings.tree, source, transformer, ctx.renamer)
    if transformer.dropped_names:
        # Imports the clone stopped using (an HF class now registered by string) go; nothing else is dropped.
        candidates = {n for n in bindings.keep if n in bindings.used} | set(
            bindings.external_renamed.values()
        )
        dropped = candidates - used_names(tree)
        tree = drop_imported(tree, dropped)
    else:
        dropped = set()
    notes = []
    for local, mod, new in bindings.kept_notes:
        if local in dropped:
            continue
        origin = (
            "the installed transformers has no"
            if mod.startswith("transformers")
            else f"{mod} is not cloned; no"
        )
        notes.append(f"kept {local} ({origin} {new})")
    tree = _header(tree, year or current_year())
    if extra is not None:
        tree = extra(tree)
    return ClonedModule(tree.code, tuple(notes))
