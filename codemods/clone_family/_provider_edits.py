"""Write a `ProviderPlan` into a cloned bridge module and its cloned provider module (libcst).

A setting is found wherever SRC writes it, in every style: ``provider.x = v``, a keyword of the provider
class call (or of ``partial(...)``), a kwargs dict (``d["x"] = v``, ``d.update(x=v)``, a dict literal), a
field default of a cloned provider dataclass. Each site takes the new value (or goes, for a setting that
would read a field the config lacks); a setting SRC writes nowhere is added in the style of the method
that builds the provider. Locals left reading a missing field and imports left unused go too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, ImportItem

from analyzers.cst_edits import bound_name, drop_imported, imported_names, used_names
from codemods._cst import last_name
from codemods.clone_family._provider_plan import AttrWrite, ProviderPlan

__all__ = ["apply_provider_defaults", "apply_provider_plan", "drop_unused_imports"]

#: methods that never set the provider (they read it, or map weights)
_SKIP_METHODS = frozenset({"mapping_registry", "megatron_to_hf_config", "maybe_modify_loaded_hf_weight"})
#: callees whose keywords are provider settings (a provider class, a partial of it, a kwargs dict)
_FACTORIES = frozenset({"cls", "partial", "provider_class", "provider_cls", "dict", "update"})
SPEC = "transformer_layer_spec"


@dataclass
class _Edits:
    """What one module's edit did (for the unused-import sweep and the report)."""

    removed_names: set[str] = field(default_factory=set)  #: names the removed code used
    written: set[str] = field(default_factory=set)  #: attributes written or removed at a site
    todos: list[str] = field(default_factory=list)


def _names_in(node: cst.CSTNode) -> set[str]:
    out: set[str] = set()

    class _V(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            out.add(n.value)

    node.visit(_V())
    return out


def _reads_missing(node: cst.CSTNode, missing: set[str]) -> str | None:
    """A plain ``hf_config.<field>`` read (not a getattr) of a missing field inside `node`."""
    found: list[str] = []

    class _V(cst.CSTVisitor):
        def visit_Attribute(self, n: cst.Attribute) -> None:
            if isinstance(n.value, cst.Name) and n.value.value == "hf_config" and n.attr.value in missing:
                found.append(n.attr.value)

    node.visit(_V())
    return found[0] if found else None


def _module_names(module: cst.Module) -> set[str]:
    """Names bound at module level (imports, definitions, assignments)."""
    out: set[str] = set()
    for stmt in module.body:
        if isinstance(stmt, cst.ClassDef | cst.FunctionDef):
            out.add(stmt.name.value)
        elif isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Import | cst.ImportFrom) and not isinstance(
                    small.names, cst.ImportStar
                ):
                    for alias in small.names:  # type: ignore[union-attr]
                        name = alias.asname.name if alias.asname else alias.name
                        out.add(cst.Module([]).code_for_node(name).split(".")[0])  # type: ignore[arg-type]
                elif isinstance(small, cst.Assign):
                    for t in small.targets:
                        if isinstance(t.target, cst.Name):
                            out.add(t.target.value)
    return out


def _params(fn: cst.FunctionDef) -> set[str]:
    return {p.name.value for p in [*fn.params.params, *fn.params.kwonly_params, *fn.params.posonly_params]}


def _assigns_name(stmt: cst.BaseStatement, name: str) -> bool:
    if not isinstance(stmt, cst.SimpleStatementLine):
        return False
    return any(
        isinstance(s, cst.Assign)
        and any(isinstance(t.target, cst.Name) and t.target.value == name for t in s.targets)
        for s in stmt.body
    )


class _Method:
    """Site edits inside one method of the bridge class."""

    def __init__(
        self, fn: cst.FunctionDef, plan: ProviderPlan, module_names: set[str], edits: _Edits
    ) -> None:
        self.fn, self.plan, self.module_names, self.edits = fn, plan, module_names, edits
        self.targets = {a: w for a, w in plan.writes.items() if w.default_of is None or not w.removes}
        if plan.spec_reset:
            self.targets[SPEC] = AttrWrite(SPEC, None, None, plan.spec_reset)
        body = list(fn.body.body)  # type: ignore[union-attr]
        params = _params(fn)
        self.cfg_from = -1 if "hf_config" in params else next(
            (i for i, s in enumerate(body) if _assigns_name(s, "hf_config")), None
        )  # fmt: skip
        self.pretrained = "hf_pretrained" in params

    def value(self, write: AttrWrite, index: int | None) -> cst.BaseExpression | None:
        """The spelling of `write` usable at top-level statement `index` (None: at the method's end)."""
        bound = self.cfg_from is not None and (index is None or self.cfg_from < index)
        if write.expr and bound and all(n in self.module_names for n in write.needs):
            return cst.parse_expression(write.expr)
        if write.expr and self.pretrained and not write.needs and self.cfg_from is None:
            # no hf_config bound in the method: read the config through hf_pretrained, so that the value
            # follows the checkpoint loaded (a literal holds this config's values: its window, its layer count)
            return cst.parse_expression(write.expr).visit(_ReadPretrained())
        if write.literal is not None:
            return cst.parse_expression(write.literal)
        return None

    def run(self) -> cst.FunctionDef:
        body = list(self.fn.body.body)  # type: ignore[union-attr]
        out: list[cst.BaseStatement] = []
        for index, stmt in enumerate(body):
            new = _SiteEditor(self, index).edit_statement(stmt)
            if new is not None:
                out.append(new)
        out = self._dead_locals(out)
        if not out:
            out = [cst.SimpleStatementLine([cst.Pass()])]
        return self.fn.with_changes(body=self.fn.body.with_changes(body=out))

    def _dead_locals(self, body: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
        """Top-level locals that read a missing field and that nothing uses any more go (repeatedly): plain
        assignments, and `if` statements that only assign (ExaoneMoE's `moe_layer_freq` from
        `first_k_dense_replace` in its last branch); then the locals only the removed code read."""
        missing = self.plan.missing_fields
        if not missing:
            return body
        freed: set[str] = set()  # names the removed statements read
        changed = True
        while changed:
            changed = False
            for i, stmt in enumerate(body):
                bound = _bound_by(stmt)
                if not bound:
                    continue
                if _reads_missing(stmt, missing) is None and not (
                    isinstance(stmt, cst.SimpleStatementLine) and bound <= freed
                ):
                    continue
                rest = [s for j, s in enumerate(body) if j != i]
                if any(bound & _loads_in(s) for s in rest):
                    continue
                self.edits.removed_names |= _names_in(stmt)
                freed |= _loads_in(stmt)
                body = rest
                changed = True
                break
        return body


def _bound_by(stmt: cst.BaseStatement) -> set[str]:
    """The names a statement binds when all it does is assign names: `x = v`, or an `if` whose every branch
    only does that; empty otherwise."""
    if isinstance(stmt, cst.SimpleStatementLine):
        if len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Assign) and len(stmt.body[0].targets) == 1:
            target = stmt.body[0].targets[0].target
            return {target.value} if isinstance(target, cst.Name) else set()
        return set()
    if isinstance(stmt, cst.If):
        out: set[str] = set()
        branch: cst.If | cst.Else | None = stmt
        while branch is not None:
            for inner in branch.body.body:  # type: ignore[union-attr]
                names = _bound_by(inner)
                if not names:
                    return set()
                out |= names
            branch = branch.orelse if isinstance(branch, cst.If) else None
        return out
    return set()


def _loads_in(node: cst.CSTNode) -> set[str]:
    """Names `node` reads (a keyword's name and an attribute's are no reads of a local)."""
    out: set[str] = set()

    class _V(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            out.add(n.value)

        def visit_Attribute(self, n: cst.Attribute) -> bool:
            n.value.visit(self)
            return False

        def visit_Arg(self, n: cst.Arg) -> bool:
            n.value.visit(self)
            return False

    node.visit(_V())
    return out


class _ReadPretrained(cst.CSTTransformer):
    """``hf_config`` -> ``hf_pretrained.config``."""

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.BaseExpression:
        if updated.value == "hf_config":
            return cst.Attribute(value=cst.Name("hf_pretrained"), attr=cst.Name("config"))
        return updated


class _SiteEditor(cst.CSTTransformer):
    """Rewrites (or removes) every setting site of the plan's attributes inside one top-level statement."""

    def __init__(self, method: _Method, index: int) -> None:
        self.m, self.index = method, index

    def edit_statement(self, stmt: cst.BaseStatement) -> cst.BaseStatement | None:
        result = stmt.visit(self)
        if isinstance(result, cst.RemovalSentinel):
            return None
        return result  # type: ignore[return-value]

    def _new(self, attr: str, old: cst.BaseExpression) -> cst.BaseExpression | None | bool:
        """The site's new value; None: remove the site; False: not a site of the plan."""
        write = self.m.targets.get(attr)
        if write is None:
            return False
        self.m.edits.written.add(attr)
        if write.removes:
            self.m.edits.removed_names |= _names_in(old)
            return None
        value = self.m.value(write, self.index)
        if value is None:
            return False
        self.m.edits.removed_names |= _names_in(old)
        return value

    # provider.x = v
    def leave_SimpleStatementLine(
        self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.RemovalSentinel:
        if len(updated.body) != 1:
            return updated
        small = updated.body[0]
        attr = None
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            target = small.targets[0].target
            if (
                isinstance(target, cst.Attribute)
                and isinstance(target.value, cst.Name)
                and target.value.value not in ("self", "hf_config", "cls")
            ):
                attr = target.attr.value
            elif isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name):
                if target.value.value != "hf_config" and len(target.slice) == 1:
                    index = target.slice[0].slice
                    if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
                        key = index.value.evaluated_value
                        attr = key if isinstance(key, str) else None
        if attr is None:
            return updated
        new = self._new(attr, small.value)  # type: ignore[union-attr]
        if new is False:
            return updated
        if new is None:
            return cst.RemoveFromParent()
        return updated.with_changes(body=[small.with_changes(value=new)])

    # cls(x=v), partial(Cls, x=v), d.update(x=v), dict(x=v)
    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        callee = last_name(updated.func)
        if callee is None or not (callee in _FACTORIES or callee.endswith("Provider")):
            return updated
        args = self._rewritten(updated.args, lambda a: a.keyword.value if a.keyword is not None else None)
        return updated if args is None else updated.with_changes(args=args)

    # {"x": v}
    def leave_Dict(self, original: cst.Dict, updated: cst.Dict) -> cst.Dict:
        elements = self._rewritten(updated.elements, _string_key)
        return updated if elements is None else updated.with_changes(elements=elements)

    def _rewritten(self, items: Sequence[Any], key_of: Callable[[Any], str | None]) -> list[Any] | None:
        """`items` (keyword arguments, dict entries) with each keyed one's value as `_new` gives it (None drops
        the item, False keeps it), the last comma as it was; None when nothing changed."""
        out: list[Any] = []
        changed = False
        for item in items:
            key = key_of(item)
            new = self._new(key, item.value) if key is not None else False
            if new is None:
                changed = True
                continue
            if new is not False:
                item = item.with_changes(value=new)
                changed = True
            out.append(item)
        if not changed:
            return None
        if out:
            out[-1] = out[-1].with_changes(comma=items[-1].comma)
        return out

    def leave_If(self, original: cst.If, updated: cst.If) -> cst.BaseStatement | cst.RemovalSentinel:
        # a branch emptied by a removal: the branch goes (or becomes `pass` where an else follows)
        if isinstance(updated.body, cst.IndentedBlock) and not updated.body.body:
            if updated.orelse is None:
                return cst.RemoveFromParent()
            return updated.with_changes(
                body=updated.body.with_changes(body=[cst.SimpleStatementLine([cst.Pass()])])
            )
        return updated


def _additions(
    fn: cst.FunctionDef, pending: list[AttrWrite], method: _Method
) -> tuple[cst.FunctionDef, list[str]]:
    """Settings no site holds, added where `fn` builds the provider, in its style."""
    body = list(fn.body.body)  # type: ignore[union-attr]
    todos: list[str] = []
    returns = [i for i, s in enumerate(body) if _return_of(s) is not None]
    if not returns:
        return fn, [
            f"provider.{w.attr}: {fn.name.value} returns no provider at its top level" for w in pending
        ]
    at = returns[-1]
    returned = _return_of(body[at])
    # keyword style: the provider is built by a call with keywords in this method (a constructor, an update)
    call_index = _keyword_call(body)
    pairs = []
    for write in pending:
        value = method.value(write, at if call_index is None else call_index)
        if value is None:
            todos.append(f"provider.{write.attr}: no spelling of the value fits here")
            continue
        pairs.append((write.attr, value))
    if not pairs:
        return fn, todos
    spread = _spread_dict(body, returned)
    if spread is not None:
        # kwargs style: `d["x"] = v` lines before the `return Provider(**d)`
        new = [
            cst.parse_statement(f'{spread}["{a}"] = {cst.Module([]).code_for_node(v)}\n') for a, v in pairs
        ]
        body[at:at] = new
        return fn.with_changes(body=fn.body.with_changes(body=body)), todos
    if call_index is not None:
        body[call_index] = body[call_index].visit(_AddKeywords(pairs))  # type: ignore[assignment]
        return fn.with_changes(body=fn.body.with_changes(body=body)), todos
    if isinstance(returned, cst.Name):
        name = returned.value
        new = [cst.parse_statement(f"{name}.{a} = {cst.Module([]).code_for_node(v)}\n") for a, v in pairs]
        body[at:at] = new
    else:
        stmt = body[at]
        assign = cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name("provider"))], returned)])
        new = [cst.parse_statement(f"provider.{a} = {cst.Module([]).code_for_node(v)}\n") for a, v in pairs]
        body[at : at + 1] = [
            assign.with_changes(leading_lines=stmt.leading_lines),  # type: ignore[union-attr]
            *new,
            cst.SimpleStatementLine([cst.Return(cst.Name("provider"))]),
        ]
    return fn.with_changes(body=fn.body.with_changes(body=body)), todos


def _spread_dict(body: Sequence[cst.BaseStatement], returned: cst.BaseExpression | None) -> str | None:
    """`d` when the method returns `Provider(**d)` and fills `d` with `d["x"] = v` lines."""
    if not isinstance(returned, cst.Call):
        return None
    spread = [a.value.value for a in returned.args if a.star == "**" and isinstance(a.value, cst.Name)]
    for name in spread:
        for stmt in body:
            if isinstance(stmt, cst.SimpleStatementLine) and any(
                isinstance(s, cst.Assign)
                and isinstance(s.targets[0].target, cst.Subscript)
                and isinstance(s.targets[0].target.value, cst.Name)
                and s.targets[0].target.value.value == name
                for s in stmt.body
            ):
                return name
    return None


def _return_of(stmt: cst.BaseStatement) -> cst.BaseExpression | None:
    if (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Return)
    ):
        return stmt.body[0].value
    return None


class _KeywordCalls(cst.CSTVisitor):
    def __init__(self) -> None:
        self.count = 0

    def visit_Call(self, node: cst.Call) -> None:
        callee = last_name(node.func)
        if callee is not None and (
            callee.endswith("Provider") or callee in ("cls", "update", "provider_class", "dict")
        ):
            keywords = sum(a.keyword is not None for a in node.args)
            if keywords >= 3 or (callee == "update" and keywords):
                self.count += 1


def _keyword_call(body: Sequence[cst.BaseStatement]) -> int | None:
    """The last top-level statement holding the provider's keyword call (constructor or `.update`)."""
    found = None
    for i, stmt in enumerate(body):
        visitor = _KeywordCalls()
        stmt.visit(visitor)
        if visitor.count:
            found = i
    return found


class _AddKeywords(cst.CSTTransformer):
    """Adds keywords to the last provider keyword call of a statement."""

    def __init__(self, pairs: list[tuple[str, cst.BaseExpression]]) -> None:
        self.pairs = pairs
        self.done = False

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        if self.done:
            return updated
        visitor = _KeywordCalls()
        cst.Module([cst.SimpleStatementLine([cst.Expr(updated)])]).visit(visitor)
        if not visitor.count:
            return updated
        self.done = True
        args = list(updated.args)
        sep = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        # the source's commas stay as they are: they hold its line breaks and trailing comments
        trailing = (
            cst.Comma() if args and isinstance(args[-1].comma, cst.Comma) else cst.MaybeSentinel.DEFAULT
        )
        if args and not isinstance(args[-1].comma, cst.Comma):
            args[-1] = args[-1].with_changes(comma=sep)
        args += [
            cst.Arg(
                value=v,
                keyword=cst.Name(a),
                equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
                comma=sep,
            )
            for a, v in self.pairs
        ]
        args[-1] = args[-1].with_changes(comma=trailing)
        return updated.with_changes(args=args)


class _BridgeClass(cst.CSTTransformer):
    def __init__(self, bridge_class: str, plan: ProviderPlan, module_names: set[str], edits: _Edits) -> None:
        self.bridge_class, self.plan, self.module_names, self.edits = bridge_class, plan, module_names, edits

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return node.name.value == self.bridge_class

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        if updated.name.value != self.bridge_class or not isinstance(updated.body, cst.IndentedBlock):
            return updated
        body = list(updated.body.body)
        methods: dict[str, int] = {}
        for i, stmt in enumerate(body):
            if isinstance(stmt, cst.FunctionDef) and stmt.name.value not in _SKIP_METHODS:
                method = _Method(stmt, self.plan, self.module_names, self.edits)
                body[i] = method.run()
                methods[stmt.name.value] = i
        pending = [
            w for a, w in self.plan.writes.items()
            if a not in self.edits.written and not w.removes and w.default_of is None
        ]  # fmt: skip
        home = next(
            (methods[n] for n in ("provider_bridge", "hf_config_to_model_config_kwargs", "hf_config_to_provider_kwargs")
             if n in methods),
            None,
        )  # fmt: skip
        if pending and home is not None:
            fn = body[home]
            method = _Method(fn, self.plan, self.module_names, self.edits)  # type: ignore[arg-type]
            body[home], todos = _additions(fn, pending, method)  # type: ignore[arg-type]
            self.edits.todos.extend(todos)
        elif pending:
            self.edits.todos.extend(
                f"provider.{w.attr}: {self.bridge_class} defines no provider_bridge" for w in pending
            )
        return updated.with_changes(body=updated.body.with_changes(body=body))


def _add_imports(module: cst.Module, plan: ProviderPlan, written: set[str]) -> cst.Module:
    # only names the written code uses and the module does not bind yet are imported
    items = {imp for attr, write in plan.writes.items() if attr in written for imp in write.imports}
    bound = _module_names(module)
    wanted = [
        ImportItem(mod, obj_name=obj, alias=alias)
        for mod, obj, alias in sorted(items, key=str)
        if (alias or obj or mod.split(".")[0]) not in bound
    ]
    if not wanted:
        return module
    used = used_names(module, strings=True)
    wanted = [i for i in wanted if (i.alias or i.obj_name or i.module_name.split(".")[0]) in used]
    if not wanted:
        return module
    for item in wanted:
        module = _insert_import(module, item)
    return module


def _insert_import(module: cst.Module, item: ImportItem) -> cst.Module:
    """`from m import n` merged into an existing import from `m`, else placed in isort order among the
    module's `from` imports of the same top package (ruff's I001 holds); other forms via AddImportsVisitor."""
    if item.obj_name is None:
        return AddImportsVisitor(CodemodContext(), [item]).transform_module(module)
    body = list(module.body)
    froms = [
        (i, cst.Module([]).code_for_node(s.body[0].module))  # type: ignore[union-attr, arg-type]
        for i, s in enumerate(body)
        if isinstance(s, cst.SimpleStatementLine)
        and isinstance(s.body[0], cst.ImportFrom)
        and s.body[0].module
    ]
    for _, mod in froms:
        if mod == item.module_name:
            return module.with_changes(body=body).visit(_MergeName(item.module_name, item.obj_name))
    group = [(i, mod) for i, mod in froms if mod.split(".")[0] == item.module_name.split(".")[0]]
    if not group:
        return AddImportsVisitor(CodemodContext(), [item]).transform_module(module)
    after = [i for i, mod in group if mod < item.module_name]
    at = (after[-1] + 1) if after else group[0][0]
    stmt = cst.parse_statement(f"from {item.module_name} import {item.obj_name}\n")
    if not after:
        # the new first import of the group takes over the group's leading blank lines
        stmt = stmt.with_changes(leading_lines=body[at].leading_lines)  # type: ignore[union-attr]
        body[at] = body[at].with_changes(leading_lines=[])  # type: ignore[union-attr]
    body.insert(at, stmt)
    return module.with_changes(body=body)


class _MergeName(cst.CSTTransformer):
    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def leave_ImportFrom(self, original: cst.ImportFrom, updated: cst.ImportFrom) -> cst.ImportFrom:
        if updated.module is None or isinstance(updated.names, cst.ImportStar):
            return updated
        if cst.Module([]).code_for_node(updated.module) != self.module:
            return updated
        names = sorted([*updated.names, cst.ImportAlias(cst.Name(self.name))], key=bound_name)
        names = [n.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for n in names]
        names[-1] = names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated.with_changes(names=names)


def apply_provider_plan(
    module: cst.Module, bridge_class: str, plan: ProviderPlan
) -> tuple[cst.Module, list[str]]:
    """The cloned bridge module with the plan written into class `bridge_class`; also the TODOs left."""
    edits = _Edits()
    before = used_names(module, strings=True)
    module = module.visit(_BridgeClass(bridge_class, plan, _module_names(module), edits))
    module = _add_imports(module, plan, edits.written | set(plan.writes))
    unused = (edits.removed_names & before) - used_names(module, strings=True)
    if unused:
        imported = imported_names(module)
        module = drop_imported(module, unused & imported)
    return module, edits.todos


def drop_unused_imports(before: cst.Module, after: cst.Module) -> cst.Module:
    """`after` without the imported names `before` used and `after` no longer does (edits removed their use)."""
    unused = (used_names(before, strings=True) - used_names(after, strings=True)) & imported_names(after)
    return drop_imported(after, unused)


# --- provider dataclass defaults -------------------------------------------------------------------


class _Defaults(cst.CSTTransformer):
    def __init__(self, classes: dict[str, dict[str, str]]) -> None:
        self.classes = classes
        self.stack: list[str] = []
        self.written: set[tuple[str, str]] = set()

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.stack.append(node.name.value)
        return True

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        self.stack.pop()
        return updated

    def leave_AnnAssign(self, original: cst.AnnAssign, updated: cst.AnnAssign) -> cst.AnnAssign:
        if not self.stack or not isinstance(updated.target, cst.Name) or updated.value is None:
            return updated
        wanted = self.classes.get(self.stack[-1], {})
        attr = updated.target.value
        if attr not in wanted:
            return updated
        self.written.add((self.stack[-1], attr))
        return updated.with_changes(value=cst.parse_expression(wanted[attr]))


def apply_provider_defaults(
    module: cst.Module, classes: dict[str, dict[str, str]], plan: ProviderPlan
) -> cst.Module:
    """The cloned provider module with the field defaults of `classes` ({class: {attr: literal}}) rewritten."""
    editor = _Defaults(classes)
    module = module.visit(editor)
    written = {a for _, a in editor.written}
    return _add_imports(
        module, ProviderPlan(writes={a: w for a, w in plan.writes.items() if a in written}), written
    )


def _string_key(element: cst.BaseDictElement) -> str | None:
    """A dict entry's key when it is a string literal."""
    if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString):
        key = element.key.evaluated_value
        return key if isinstance(key, str) else None
    return None
