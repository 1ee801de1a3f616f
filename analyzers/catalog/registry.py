"""Static evaluation of a bridge's ``mapping_registry`` method into MappingRecords.

A small abstract interpreter over the stdlib ``ast``: it runs the method with ``self`` and the HF
config as unknowns, follows helper functions and methods of the tree (same module, other modules,
base classes), unrolls loops over literal data, evaluates both branches of an ``if`` whose test
depends on the runtime, and records every mapping object that reaches the returned registry.
Whatever cannot be resolved (a pattern from a runtime value, a call outside the tree) becomes an
``Unresolved`` entry; nothing is dropped silently. Depth, loop and step limits keep it from hanging.

>>> from pathlib import Path
>>> from analyzers.catalog.modules import ModuleLoader, build_module_info
>>> module = build_module_info("src/fam_bridge.py", '''
... class FamBridge:
...     def mapping_registry(self):
...         pairs = {"embedding.word_embeddings.weight": "model.embed_tokens.weight"}
...         if self.hf_config.tie_word_embeddings:
...             pairs["output_layer.weight"] = "lm_head.weight"
...         return MegatronMappingRegistry(*[AutoMapping(m, h) for m, h in pairs.items()])
... ''')
>>> registry = evaluate_registry(module.classes["FamBridge"], module, ModuleLoader(Path(".")), {"AutoMapping"})
>>> [(m.megatron_param, m.hf_params, m.condition) for m in registry.mappings]  # doctest: +NORMALIZE_WHITESPACE
[('embedding.word_embeddings.weight', {'arg1': 'model.embed_tokens.weight'}, None),
 ('output_layer.weight', {'arg1': 'lm_head.weight'}, 'self.hf_config.tie_word_embeddings')]
"""

from __future__ import annotations

import ast
import enum
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from analyzers.catalog._operators import (
    PLAIN,
    binop,
    compare,
    snapshot,
    subscript,
    template_call,
    truth_of,
    unary,
    unknown_part,
)
from analyzers.catalog._syntax import InitSignature, callee_name, function_value, read_init_signature
from analyzers.catalog._values import (
    Builtin,
    Choice,
    ClassValue,
    Cond,
    EvalLimit,
    FunctionValue,
    InheritedMarker,
    InheritedRegistry,
    MappingValue,
    ModuleRef,
    RegistryValue,
    SelfValue,
    SuperValue,
    Tally,
    Unknown,
    alternatives,
    disjunction,
    lift,
    make_choice,
    merge_conds,
    negate,
)
from analyzers.catalog.modules import ModuleInfo, ModuleLoader, resolve_relative
from analyzers.catalog.records import Location, MappingRecord, MappingRegistry, Unresolved

__all__ = ["evaluate_registry", "REGISTRY_CLASS"]

#: the registry class whose constructor arguments are the mappings
REGISTRY_CLASS = "MegatronMappingRegistry"
MAX_DEPTH = 12  #: nested helper calls
MAX_LOOP = 2000  #: iterations of one loop
_MISSING = object()

_STR_METHODS = frozenset(
    "replace format startswith endswith join split rsplit strip lstrip rstrip lower upper removeprefix "
    "removesuffix count find rfind partition rpartition title capitalize zfill isdigit".split()
)


class Flow(enum.Enum):
    """How a statement or block leaves the straight line (None: it runs on to the next statement)."""

    RETURN = "return"
    BREAK = "break"
    CONTINUE = "continue"
    RAISE = "raise"


@dataclass(frozen=True)
class OnlyIf:
    """An `if` whose other branch left the block: the rest of the block runs only where `atom` holds."""

    atom: str


@dataclass(frozen=True)
class _Returned:
    """A `return` the evaluation reached: the conditions in force, the value and where."""

    cond: Cond
    value: Any
    location: Location


@dataclass(frozen=True)
class _UnresolvedCount:
    """An unresolved piece of the registry and how many times the evaluation met it at one location."""

    reason: str
    source: str
    count: int = 1

    def at(self, location: Location) -> Unresolved:
        reason = self.reason if self.count == 1 else f"{self.reason} ({self.count} times)"
        return Unresolved(reason=reason, source=self.source, location=location)


@dataclass
class _Frame:
    module: ModuleInfo
    env: dict[str, Any]
    via: str | None  #: helper name (None in the evaluated method itself)
    owner: ClassValue | None  #: class defining the running function (for super())
    self_value: Any = None
    closure: dict[str, Any] | None = None
    returns: list[_Returned] = field(default_factory=list)


def evaluate_registry(
    bridge: ast.ClassDef, module: ModuleInfo, loader: ModuleLoader, mapping_classes: set[str]
) -> MappingRegistry:
    """Evaluate `bridge.mapping_registry` statically; an empty registry when the class does not define it."""
    method = next(
        (
            n
            for n in bridge.body
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == "mapping_registry"
        ),
        None,
    )
    if method is None:
        return MappingRegistry()
    return _Evaluator(loader, mapping_classes).run(ClassValue(module, bridge), method)  # type: ignore[arg-type]


@dataclass
class _Shared:
    """Facts about classes that do not change between evaluations over one loader (keyed by node id);
    the loader keeps them (`ModuleLoader.class_memo`) as long as the modules they describe.

    Except `instance_attrs` (read from the class's own syntax), each value is stored with the paths that
    computing it read (see `_Evaluator._memo`)."""

    mapping_classes: frozenset[str]
    is_mapping: dict[int, tuple[bool, frozenset[str]]] = field(default_factory=dict)
    bases: dict[int, tuple[list[ClassValue], frozenset[str]]] = field(default_factory=dict)
    instance_attrs: dict[int, set[str]] = field(default_factory=dict)
    signatures: dict[int, tuple[InitSignature | None, frozenset[str]]] = field(default_factory=dict)
    #: (module path, name) -> what loader.resolve / by_name gave (the loader stats files on each call)
    resolved: dict[tuple[str, str], tuple[Any, frozenset[str]]] = field(default_factory=dict)


def _shared(loader: ModuleLoader, mapping_classes: set[str]) -> _Shared:
    key = frozenset(mapping_classes)
    shared = loader.class_memo
    if not isinstance(shared, _Shared) or shared.mapping_classes != key:
        shared = loader.class_memo = _Shared(key)
    return shared


class _Evaluator:
    def __init__(self, loader: ModuleLoader, mapping_classes: set[str]) -> None:
        self.loader = loader
        self.mapping_classes = mapping_classes
        shared = _shared(loader, mapping_classes)
        self.conds: Cond = ()
        self.depth = 0
        self.tally = Tally()
        self.inherits: str | None = None
        #: "path::qualified name" of every function of the tree the evaluation ran
        self.functions: set[str] = set()
        self._globals: dict[tuple[str, str], Any] = {}
        self._in_progress: set[tuple[str, str]] = set()
        self._is_mapping = shared.is_mapping
        self._bases = shared.bases
        self._attrs = shared.instance_attrs
        self._signatures = shared.signatures
        self._resolved = shared.resolved
        self._unresolved: dict[Location, _UnresolvedCount] = {}

    # ------------------------------------------------------------------ entry point
    def run(self, bridge: ClassValue, method: ast.FunctionDef) -> MappingRegistry:
        self_value = SelfValue(bridge)
        fn = FunctionValue(bridge.module, method, owner=bridge, bound=self_value, kind="method")
        self._ran(fn)
        frame_loc = _loc(bridge.module, method)
        try:
            frame = self._make_frame(fn, [], {}, via=None)
            self._exec_block(frame, method.body)
            returns = frame.returns
        except EvalLimit as exc:
            self._unresolve(str(exc), bridge.module.segment(method, 80), frame_loc)
            returns = []
        except RecursionError:
            self._unresolve("evaluation too deep", bridge.module.segment(method, 80), frame_loc)
            returns = []
        items: list[tuple[Cond, MappingValue]] = []
        for returned in returns:
            self._collect(returned.value, returned.cond, returned.location, items)
        registry = MappingRegistry(
            mappings=self._records(items), inherits=self.inherits, functions=sorted(self.functions)
        )
        registry.unresolved = [entry.at(location) for location, entry in self._unresolved.items()]
        return registry

    # ------------------------------------------------------------------ results
    def _unresolve(self, reason: str, source: str, location: Location) -> None:
        entry = self._unresolved.get(location)
        self._unresolved[location] = (
            _UnresolvedCount(reason, source) if entry is None else replace(entry, count=entry.count + 1)
        )

    def _collect(self, value: Any, cond: Cond, loc: Location, out: list[tuple[Cond, MappingValue]]) -> None:
        for alt_cond, item in alternatives(value, cond):
            if isinstance(item, MappingValue):
                out.append((alt_cond, item))
            elif isinstance(item, list | tuple):
                for element in item:
                    self._collect(element, alt_cond, loc, out)
            elif isinstance(item, RegistryValue):
                for element in item.items:
                    self._collect(element, alt_cond, loc, out)
            elif isinstance(item, InheritedRegistry | InheritedMarker):
                self.inherits = item.base
            elif isinstance(item, Unknown):
                self._unresolve(
                    f"registry entry from a runtime value: {item.text}", item.text, item.location or loc
                )
            else:
                self._unresolve(
                    f"registry entry is not a mapping: {type(item).__name__}", _short(repr(item)), loc
                )

    def _records(self, items: list[tuple[Cond, MappingValue]]) -> list[MappingRecord]:
        records: list[MappingRecord] = []
        seen: dict[tuple, MappingRecord] = {}
        conds: dict[tuple, Cond | str] = {}
        for guard, mv in items:
            base = merge_conds(mv.cond, guard)
            if base is None:
                continue
            roles = ["megatron_param", *mv.hf]
            combined = lift(lambda *xs: xs, mv.megatron_param, *mv.hf.values())
            for cond, values in alternatives(combined, base):
                resolved = self._resolve_fields(mv, dict(zip(roles, values, strict=True)))
                if resolved is None:
                    continue
                megatron, hf = resolved
                key = (id(mv), megatron, tuple(hf.items()))
                if key in seen:
                    previous = conds[key]
                    either = disjunction(previous, cond) if isinstance(previous, tuple) else previous
                    conds[key] = either
                    text = either if isinstance(either, str) else " and ".join(either)
                    seen[key].condition = text or None
                    continue
                conds[key] = cond
                condition = " and ".join(cond) if cond else None
                record = MappingRecord(
                    mapping_class=mv.mapping_class,
                    megatron_param=megatron,
                    hf_params=hf,
                    location=mv.location,
                    condition=condition,
                    via=mv.via,
                )
                seen[key] = record
                records.append(record)
        return records

    def _resolve_fields(
        self, mv: MappingValue, fields: dict[str, Any]
    ) -> tuple[str | None, dict[str, str]] | None:
        flat: dict[str, Any] = {}
        for role, value in fields.items():
            if isinstance(value, dict):
                flat.update({f"{role}[{k}]": v for k, v in value.items()})
            elif isinstance(value, list) and role != "megatron_param":
                flat.update({f"{role}[{i}]": v for i, v in enumerate(value)})
            else:
                flat[role] = value
        bad = [(role, v) for role, v in flat.items() if not isinstance(v, str) and v is not None]
        if bad:
            role, value = bad[0]
            text = value.text if isinstance(value, Unknown) else _short(repr(value))
            self._unresolve(
                f"{role} of {mv.mapping_class} from a runtime value: {text}", mv.source, mv.location
            )
            return None
        megatron = flat.pop("megatron_param", None)
        return megatron, {k: v for k, v in flat.items() if v is not None}

    # ------------------------------------------------------------------ statements
    def _exec_block(self, frame: _Frame, stmts: list[ast.stmt]) -> Flow | None:
        saved = self.conds
        try:
            for stmt in stmts:
                status = self._exec(frame, stmt)
                if isinstance(status, OnlyIf):
                    merged = merge_conds(self.conds, (status.atom,))
                    if merged is None:
                        return Flow.RETURN
                    self.conds = merged
                elif status is not None:
                    return status
            return None
        finally:
            self.conds = saved

    def _exec(self, frame: _Frame, node: ast.stmt) -> Flow | OnlyIf | None:
        self.tally.step()
        if isinstance(node, ast.Expr):
            self._eval(frame, node.value)
        elif isinstance(node, ast.Assign):
            value = self._eval(frame, node.value)
            for target in node.targets:
                self._assign(frame, target, value)
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self._assign(frame, node.target, self._eval(frame, node.value))
        elif isinstance(node, ast.AugAssign):
            self._aug_assign(frame, node)
        elif isinstance(node, ast.Return):
            value = self._eval(frame, node.value) if node.value is not None else None
            frame.returns.append(_Returned(self.conds, value, _loc(frame.module, node)))
            return Flow.RETURN
        elif isinstance(node, ast.If):
            return self._exec_if(frame, node)
        elif isinstance(node, ast.For | ast.AsyncFor):
            return self._exec_for(frame, node)
        elif isinstance(node, ast.While):
            return self._exec_while(frame, node)
        elif isinstance(node, ast.Continue):
            return Flow.CONTINUE
        elif isinstance(node, ast.Break):
            return Flow.BREAK
        elif isinstance(node, ast.Raise):
            return Flow.RAISE
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            frame.env[node.name] = FunctionValue(
                frame.module,
                node,
                owner=frame.owner,
                closure=frame.env,  # type: ignore[arg-type]
            )
        elif isinstance(node, ast.ClassDef):
            frame.env[node.name] = ClassValue(frame.module, node, scope=frame.env)
        elif isinstance(node, ast.Try):
            status = self._exec_block(frame, node.body)
            if status is None:
                status = self._exec_block(frame, node.orelse)
            return self._exec_block(frame, node.finalbody) or status
        elif isinstance(node, ast.With | ast.AsyncWith):
            return self._exec_block(frame, node.body)
        elif isinstance(node, ast.ImportFrom):
            target = resolve_relative(frame.module.name, frame.module.is_package, node.level, node.module)
            for alias in node.names:
                if alias.name != "*":
                    frame.env[alias.asname or alias.name] = self._import(target, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                mod = self.loader.by_name(alias.name)
                frame.env[alias.asname or alias.name.split(".")[0]] = (
                    ModuleRef(mod) if mod else Unknown(alias.name)
                )
        return None

    def _import(self, module_name: str, name: str) -> Any:
        mod = self.loader.by_name(module_name)
        if mod is None:
            sub = self.loader.by_name(f"{module_name}.{name}")
            return ModuleRef(sub) if sub else Unknown(name)
        return self._global(mod, name)

    def _exec_if(self, frame: _Frame, node: ast.If) -> Flow | OnlyIf | None:
        truth = truth_of(self._eval(frame, node.test))
        if truth is True:
            return self._exec_block(frame, node.body)
        if truth is False:
            return self._exec_block(frame, node.orelse)
        atom = frame.module.segment(node.test)
        return self._branches(frame, atom, node.body, node.orelse)

    def _branches(
        self, frame: _Frame, atom: str, body: list[ast.stmt], orelse: list[ast.stmt]
    ) -> Flow | OnlyIf | None:
        saved, base_env = self.conds, frame.env
        results: list[tuple[Flow | None, Cond | None, dict[str, Any]]] = []
        for branch_atom, stmts in ((atom, body), (negate(atom), orelse)):
            frame.env = dict(base_env)
            cond = merge_conds(saved, (branch_atom,))
            if cond is None:  # the branch cannot run: it counts as one that left
                results.append((Flow.RETURN, None, frame.env))
                continue
            self.conds = cond
            try:
                status = self._exec_block(frame, stmts)
            finally:
                self.conds = saved
            results.append((status, cond, frame.env))
        (s_body, c_body, env_body), (s_else, c_else, env_else) = results
        if s_body and s_else:
            frame.env = env_body
            return s_body
        if s_body:
            frame.env = env_else
            return OnlyIf(negate(atom))
        if s_else:
            frame.env = env_body
            return OnlyIf(atom)
        merged: dict[str, Any] = {}
        for name in env_body.keys() | env_else.keys():
            vb, ve = env_body.get(name, _MISSING), env_else.get(name, _MISSING)
            if vb is ve:
                merged[name] = vb
                continue
            alts = [(c, v) for c, v in ((c_body, vb), (c_else, ve)) if v is not _MISSING and c is not None]
            merged[name] = make_choice(alts, base=saved)
        frame.env = merged
        return None

    def _exec_for(self, frame: _Frame, node: ast.For | ast.AsyncFor) -> Flow | None:
        iterable = self._eval(frame, node.iter)
        elements = self._iterate(iterable)
        if elements is None:  # a loop over a runtime value: run the body once, its variable unknown
            atom = f"for {frame.module.segment(node.target)} in {frame.module.segment(node.iter)}"
            self._assign(frame, node.target, Unknown(frame.module.segment(node.target)))
            cond = merge_conds(self.conds, (atom,))
            saved, self.conds = self.conds, cond or self.conds
            try:
                self._exec_block(frame, node.body)
            finally:
                self.conds = saved
            return None  # the body may run zero times: a return inside does not end the function
        if len(elements) > MAX_LOOP:
            self._unresolve(
                f"loop truncated at {MAX_LOOP} iterations",
                frame.module.segment(node.iter),
                _loc(frame.module, node),
            )
            elements = elements[:MAX_LOOP]
        saved = self.conds
        for cond, element in elements:
            merged = merge_conds(saved, cond)
            if merged is None:
                continue
            self.conds = merged
            try:
                self._assign(frame, node.target, element)
                status = self._exec_block(frame, node.body)
            finally:
                self.conds = saved
            if status is Flow.BREAK:
                return None
            if status in (Flow.RETURN, Flow.RAISE):
                return status
        return self._exec_block(frame, node.orelse)

    def _exec_while(self, frame: _Frame, node: ast.While) -> Flow | None:
        if truth_of(self._eval(frame, node.test)) is False:
            return self._exec_block(frame, node.orelse)
        atom = f"while {frame.module.segment(node.test)}"
        saved = self.conds
        self.conds = merge_conds(saved, (atom,)) or saved
        try:
            self._exec_block(frame, node.body)
        finally:
            self.conds = saved
        return None

    def _iterate(self, value: Any) -> list[tuple[Cond, Any]] | None:
        """The guarded elements of an iterable value, or None when it is not known statically."""
        out: list[tuple[Cond, Any]] = []
        for cond, item in alternatives(value):
            if isinstance(item, list | tuple | set | frozenset):
                for element in item:
                    out.extend(alternatives(element, cond))
            elif isinstance(item, dict):
                for key, val in item.items():
                    out.extend(
                        alternatives(
                            lift(lambda k, _v: k, key, val) if isinstance(val, Choice) else key, cond
                        )
                    )
            elif isinstance(item, str):
                out.extend((cond, ch) for ch in item)
            else:
                return None
            if len(out) > 10 * MAX_LOOP:
                break
        return out

    def _assign(self, frame: _Frame, target: ast.expr, value: Any) -> None:
        if isinstance(target, ast.Name):
            frame.env[target.id] = value
        elif isinstance(target, ast.Tuple | ast.List):
            n = len(target.elts)
            for i, element in enumerate(target.elts):
                if isinstance(element, ast.Starred):
                    self._assign(frame, element.value, Unknown(frame.module.segment(element)))
                    continue
                if isinstance(value, Unknown):
                    part: Any = Unknown(frame.module.segment(element))
                else:
                    part = lift(
                        lambda v, i=i: (
                            v[i] if isinstance(v, tuple | list) and len(v) == n else unknown_part(v, i)
                        ),
                        value,
                    )
                self._assign(frame, element, part)
        elif isinstance(target, ast.Attribute):
            obj = self._eval(frame, target.value)
            for _, item in alternatives(obj):
                if isinstance(item, MappingValue):
                    item.set_attr(target.attr, value)
        elif isinstance(target, ast.Subscript):
            obj = self._eval(frame, target.value)
            key = self._eval(frame, target.slice)
            for _, item in alternatives(obj):
                if isinstance(item, dict) and not isinstance(key, Choice | Unknown | list | dict):
                    self._set_item(item, key, value)
                elif isinstance(item, list) and isinstance(key, int) and -len(item) <= key < len(item):
                    item[key] = self._guard(value)

    def _set_item(self, d: dict, key: Any, value: Any) -> None:
        if not self.conds:
            d[key] = value
        elif key in d:
            other = self.conds[:-1] + (negate(self.conds[-1]),)
            d[key] = make_choice([(self.conds, value), (other, d[key])])
        else:
            d[key] = Choice([(self.conds, value)])

    def _guard(self, value: Any) -> Any:
        return Choice([(self.conds, value)]) if self.conds else value

    def _aug_assign(self, frame: _Frame, node: ast.AugAssign) -> None:
        current = self._eval(frame, node.target)
        value = self._eval(frame, node.value)
        if isinstance(node.op, ast.Add) and isinstance(current, list):
            self._extend(current, value)
            return
        if isinstance(node.op, ast.BitOr) and isinstance(current, dict):
            self._update(current, value)
            return
        self._assign(frame, node.target, lift(lambda a, b: binop(node.op, a, b), current, value))

    # ------------------------------------------------------------------ containers
    def _extend(self, target: list, value: Any) -> None:
        for cond, item in alternatives(value):
            merged = merge_conds(self.conds, cond)
            if merged is None:
                continue
            if isinstance(item, list | tuple):
                for element in item:
                    target.append(Choice([(merged, element)]) if merged else element)
            elif isinstance(item, dict):
                target.extend(Choice([(merged, k)]) if merged else k for k in item)
            else:  # an unknown iterable: keep it so the registry reports it
                target.append(Choice([(merged, item)]) if merged else item)

    def _update(self, target: dict, value: Any) -> None:
        saved = self.conds
        for cond, item in alternatives(value):
            merged = merge_conds(saved, cond)
            if merged is None:
                continue
            self.conds = merged
            try:
                if isinstance(item, dict):
                    for key, val in item.items():
                        self._set_item(target, key, val)
                else:
                    self._set_item(target, Unknown(getattr(item, "text", "<update>")), item)
            finally:
                self.conds = saved

    # ------------------------------------------------------------------ expressions
    def _eval(self, frame: _Frame, node: ast.expr) -> Any:
        self.tally.step()
        value = self._eval_node(frame, node)
        if isinstance(value, Unknown) and value.location is None:
            value.location = _loc(frame.module, node)
        return value

    def _eval_node(self, frame: _Frame, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self._lookup(frame, node.id)
        if isinstance(node, ast.JoinedStr):
            return self._fstring(frame, node)
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            items: list[Any] = []
            for element in node.elts:
                if isinstance(element, ast.Starred):
                    self._extend_plain(items, self._eval(frame, element.value), frame, element)
                else:
                    items.append(self._eval(frame, element))
            if isinstance(node, ast.Tuple):
                return tuple(items)
            if isinstance(node, ast.Set):
                return set(items) if all(isinstance(i, PLAIN) for i in items) else items
            return items
        if isinstance(node, ast.Dict):
            out: dict[Any, Any] = {}
            for key_node, value_node in zip(node.keys, node.values, strict=True):
                if key_node is None:
                    self._update(out, self._eval(frame, value_node))
                else:
                    out[self._eval(frame, key_node)] = self._eval(frame, value_node)
            return out
        if isinstance(node, ast.Attribute):
            return self._attribute(frame, self._eval(frame, node.value), node.attr, node)
        if isinstance(node, ast.Subscript):
            obj = self._eval(frame, node.value)
            key = self._eval(frame, node.slice)
            return lift(lambda o, k: subscript(o, k, frame.module.segment(node)), obj, key)
        if isinstance(node, ast.Slice):
            parts = [
                self._eval(frame, p) if p is not None else None for p in (node.lower, node.upper, node.step)
            ]
            return (
                slice(*parts) if all(isinstance(p, int | type(None)) for p in parts) else Unknown("<slice>")
            )
        if isinstance(node, ast.Call):
            return self._call(frame, node)
        if isinstance(node, ast.BinOp):
            left, right = self._eval(frame, node.left), self._eval(frame, node.right)
            text = frame.module.segment(node)
            return lift(lambda a, b: binop(node.op, a, b, text), left, right)
        if isinstance(node, ast.UnaryOp):
            operand = self._eval(frame, node.operand)
            if isinstance(node.op, ast.Not):
                truth = truth_of(operand)
                return Unknown(frame.module.segment(node)) if truth is None else not truth
            return lift(lambda v: unary(node.op, v, frame.module.segment(node)), operand)
        if isinstance(node, ast.BoolOp):
            return self._boolop(frame, node)
        if isinstance(node, ast.Compare):
            return self._compare(frame, node)
        if isinstance(node, ast.IfExp):
            truth = truth_of(self._eval(frame, node.test))
            if truth is True:
                return self._eval(frame, node.body)
            if truth is False:
                return self._eval(frame, node.orelse)
            atom = frame.module.segment(node.test)
            saved, alts = self.conds, []
            for branch_atom, branch in ((atom, node.body), (negate(atom), node.orelse)):
                cond = merge_conds(saved, (branch_atom,))
                if cond is None:
                    continue
                self.conds = cond
                try:
                    alts.append((cond, self._eval(frame, branch)))
                finally:
                    self.conds = saved
            return make_choice(alts, base=saved)
        if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp):
            out_list: list[Any] = []
            self._comprehension(
                frame, node.generators, lambda: out_list.append(self._guard(self._eval(frame, node.elt)))
            )
            return out_list
        if isinstance(node, ast.DictComp):
            out_dict: dict[Any, Any] = {}
            self._comprehension(
                frame,
                node.generators,
                lambda: self._set_item(out_dict, self._eval(frame, node.key), self._eval(frame, node.value)),
            )
            return out_dict
        if isinstance(node, ast.NamedExpr):
            value = self._eval(frame, node.value)
            self._assign(frame, node.target, value)
            return value
        if isinstance(node, ast.Starred):
            return self._eval(frame, node.value)
        return Unknown(frame.module.segment(node))

    def _extend_plain(self, items: list, value: Any, frame: _Frame, node: ast.expr) -> None:
        if isinstance(value, list | tuple):
            items.extend(value)
        elif isinstance(value, dict):
            items.extend(value)
        else:  # a Choice or unknown spread: kept whole, flattened where it is consumed
            items.append(value if not isinstance(value, Unknown) else Unknown(frame.module.segment(node)))

    def _fstring(self, frame: _Frame, node: ast.JoinedStr) -> Any:
        parts: list[Any] = []
        texts: list[str] = []
        for part in node.values:
            if isinstance(part, ast.Constant):
                parts.append(str(part.value))
                texts.append(str(part.value))
                continue
            assert isinstance(part, ast.FormattedValue)
            value = self._eval(frame, part.value)
            spec = self._eval(frame, part.format_spec) if part.format_spec is not None else ""
            conversion = part.conversion

            def fmt(
                v: Any, s: Any, conversion: int = conversion, text: str = frame.module.segment(part.value)
            ) -> Any:
                if isinstance(v, Unknown) and v.template and s == "":
                    return v
                if isinstance(v, Unknown) or not isinstance(v, PLAIN) or not isinstance(s, str):
                    return Unknown("{" + (v.text if isinstance(v, Unknown) else text) + "}", template=True)
                if conversion == ord("r"):
                    v = repr(v)
                elif conversion in (ord("s"), ord("a")):
                    v = str(v)
                try:
                    return format(v, s)
                except (TypeError, ValueError):
                    return Unknown("{" + text + "}")

            parts.append(lift(fmt, value, spec))
            texts.append("{" + frame.module.segment(part.value) + "}")

        def join(*pieces: Any) -> Any:
            if any(isinstance(p, Unknown) for p in pieces):
                return Unknown(
                    "".join(p.text if isinstance(p, Unknown) else p for p in pieces), template=True
                )
            return "".join(pieces)

        return lift(join, *parts)

    def _boolop(self, frame: _Frame, node: ast.BoolOp) -> Any:
        is_and = isinstance(node.op, ast.And)
        value: Any = None
        for operand in node.values:
            value = self._eval(frame, operand)
            truth = truth_of(value)
            if truth is None:
                return Unknown(frame.module.segment(node))
            if truth is not is_and:
                return value
        return value

    def _compare(self, frame: _Frame, node: ast.Compare) -> Any:
        left = self._eval(frame, node.left)
        text = frame.module.segment(node)
        result: Any = True
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self._eval(frame, comparator)
            step = lift(lambda a, b, op=op: compare(op, a, b, text), left, right)
            truth = truth_of(step)
            if truth is None:
                return Unknown(text) if not isinstance(step, Choice) else step
            if not truth:
                return False
            result, left = step, right
        return result

    def _comprehension(self, frame: _Frame, generators: list[ast.comprehension], emit: Any) -> None:
        saved_env = dict(frame.env)
        try:
            self._comp_level(frame, generators, 0, emit)
        finally:
            frame.env = saved_env

    def _comp_level(self, frame: _Frame, generators: list[ast.comprehension], level: int, emit: Any) -> None:
        if level == len(generators):
            emit()
            return
        gen = generators[level]
        elements = self._iterate(self._eval(frame, gen.iter))
        saved = self.conds
        if elements is None:
            elements = [
                (
                    (f"for {frame.module.segment(gen.target)} in {frame.module.segment(gen.iter)}",),
                    Unknown(frame.module.segment(gen.target)),
                )
            ]
        for cond, element in elements[:MAX_LOOP]:
            merged = merge_conds(saved, cond)
            if merged is None:
                continue
            self.conds = merged
            try:
                self._assign(frame, gen.target, element)
                keep = True
                for test in gen.ifs:
                    truth = truth_of(self._eval(frame, test))
                    if truth is False:
                        keep = False
                        break
                    if truth is None:
                        self.conds = merge_conds(self.conds, (frame.module.segment(test),)) or self.conds
                if keep:
                    self._comp_level(frame, generators, level + 1, emit)
            finally:
                self.conds = saved

    # ------------------------------------------------------------------ names and attributes
    def _lookup(self, frame: _Frame, name: str) -> Any:
        if name in frame.env:
            return frame.env[name]
        if frame.closure is not None and name in frame.closure:
            return frame.closure[name]
        if name in (
            frame.module.functions.keys()
            | frame.module.classes.keys()
            | frame.module.assignments.keys()
            | frame.module.imports.keys()
        ):
            return self._global(frame.module, name)
        builtin = _BUILTINS.get(name)
        if builtin is not None:
            return Builtin(name, builtin.__get__(self))
        return Unknown(name)

    def _global(self, module: ModuleInfo, name: str) -> Any:
        """A module-level name: function, class, constant (evaluated), or an import followed through the tree."""
        resolved = self._memo(self._resolved, (module.path, name), lambda: self.loader.resolve(module, name))
        if resolved is None:
            target = module.imports.get(name)
            if target is not None and not target[1]:
                mod = self.loader.by_name(target[0])
                return ModuleRef(mod) if mod else Unknown(name)
            if target is not None:  # `from pkg import submodule`
                sub = self.loader.by_name(f"{target[0]}.{target[1]}")
                if sub is not None:
                    return ModuleRef(sub)
            return Unknown(name)
        mod, real = resolved
        if real in mod.classes:
            return ClassValue(mod, mod.classes[real])
        if real in mod.functions:
            return function_value(mod, mod.functions[real], owner=None)
        key = (mod.path, real)
        if key in self._globals:
            return self._globals[key]
        if key in self._in_progress:
            return Unknown(real)
        self._in_progress.add(key)
        try:
            saved, self.conds = self.conds, ()
            value = self._eval(_Frame(mod, {}, None, None), mod.assignments[real])
        finally:
            self.conds = saved
            self._in_progress.discard(key)
        self._globals[key] = value
        return value

    def _attribute(self, frame: _Frame, obj: Any, attr: str, node: ast.expr) -> Any:
        if isinstance(obj, Choice):
            return lift(lambda o: self._attribute(frame, o, attr, node), obj)
        text = frame.module.segment(node)
        if isinstance(obj, Unknown) and not obj.template:
            return Unknown(text)
        if isinstance(obj, SelfValue):
            member = self._member(obj.cls, attr, obj)
            # `hf_config = None` on the class is a placeholder; attributes methods set on `self` are runtime state
            if not obj.is_class and (member is None or attr in self._instance_attrs(obj.cls)):
                return Unknown(text)
            return Unknown(text) if member is _MISSING else member
        if isinstance(obj, ClassValue):
            if self._is_mapping_class(obj) or obj.name == REGISTRY_CLASS:
                return Unknown(text)  # e.g. AutoMapping.register_module_type: no effect on the registry
            member = self._member(obj, attr, SelfValue(obj, is_class=True))
            return Unknown(text) if member is _MISSING else member
        if isinstance(obj, ModuleRef):
            return self._global(obj.module, attr)
        if isinstance(obj, SuperValue):
            if attr == "mapping_registry":
                base = obj.owner.node.bases[0] if obj.owner.node.bases else None
                name = ast.unparse(base) if base is not None else "object"
                return Builtin("super.mapping_registry", lambda *a, **k: InheritedRegistry(name))
            for base_cv in self._class_bases(obj.owner):
                member = self._member(base_cv, attr, obj.self_value)
                if member is not _MISSING:
                    return member
            return Unknown(text)
        if isinstance(obj, MappingValue):
            return obj.get_attr(attr)
        if isinstance(obj, RegistryValue) and attr == "mappings":
            out: list[Any] = []
            for item in obj.items:
                self._extend_plain(out, item, frame, node)
            return out
        if isinstance(obj, InheritedRegistry):
            return [InheritedMarker(obj.base)] if attr == "mappings" else Unknown(text)
        method = _plain_method(self, obj, attr)
        return method if method is not None else Unknown(text)

    def _member(self, cv: ClassValue, attr: str, self_value: Any, _seen: frozenset = frozenset()) -> Any:
        """Look `attr` up on a class and its bases: a method (bound to `self_value`) or a class constant."""
        if id(cv.node) in _seen:
            return _MISSING
        for stmt in cv.node.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.name == attr:
                fn = function_value(cv.module, stmt, owner=cv)  # type: ignore[arg-type]
                if fn.kind == "staticmethod":
                    return fn
                if fn.kind == "classmethod":
                    fn.bound = SelfValue(
                        self_value.cls if isinstance(self_value, SelfValue) else cv, is_class=True
                    )
                    return fn
                if isinstance(self_value, SelfValue) and self_value.is_class:
                    return fn  # a plain function reached through the class: called with an explicit self
                fn.bound = self_value
                if fn.kind == "property":
                    return self._call_function(fn, [], {}, cv.module, stmt)
                return fn
            if isinstance(stmt, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == attr for t in stmt.targets
            ):
                return self._eval(_Frame(cv.module, {}, None, cv), stmt.value)
            if (
                isinstance(stmt, ast.AnnAssign)
                and isinstance(stmt.target, ast.Name)
                and stmt.target.id == attr
                and stmt.value
            ):
                return self._eval(_Frame(cv.module, {}, None, cv), stmt.value)
        for base in self._class_bases(cv):
            member = self._member(base, attr, self_value, _seen | {id(cv.node)})
            if member is not _MISSING:
                return member
        return _MISSING

    def _instance_attrs(self, cv: ClassValue) -> set[str]:
        """Attributes some method of the class (or a base) assigns on ``self``."""
        names: set[str] = set()
        for klass in self._mro(cv):
            key = id(klass.node)
            if key not in self._attrs:
                own: set[str] = set()
                for node in ast.walk(klass.node):
                    if isinstance(node, ast.Assign):
                        targets = node.targets
                    elif isinstance(node, ast.AnnAssign | ast.AugAssign):
                        targets = [node.target]
                    else:
                        continue
                    own.update(
                        t.attr
                        for t in targets
                        if isinstance(t, ast.Attribute)
                        and isinstance(t.value, ast.Name)
                        and t.value.id == "self"
                    )
                self._attrs[key] = own
            names |= self._attrs[key]
        return names

    def _memo(self, table: dict, key: object, compute: Callable[[], Any], cycle_value: Any = None) -> Any:
        """`compute()` memoised in a table shared by every file of this loader, with the paths computing it
        read: a hit counts them as read again, so each file's dependencies stay complete.
        `cycle_value` answers a recursive request for the same key while it is being computed."""
        hit = table.get(key)
        if hit is not None:
            self.loader.touch(hit[1])
            return hit[0]
        if cycle_value is not None:
            table[key] = (cycle_value, frozenset())
        with self.loader.recording() as paths:
            value = compute()
        table[key] = (value, frozenset(paths))
        return value

    def _class_bases(self, cv: ClassValue) -> list[ClassValue]:
        def compute() -> list[ClassValue]:
            out = []
            for base in cv.node.bases:
                if isinstance(base, ast.Subscript):
                    base = base.value
                value = self._eval(_Frame(cv.module, dict(cv.scope or {}), None, None), base)
                if isinstance(value, ClassValue):
                    out.append(value)
            return out

        return self._memo(self._bases, id(cv.node), compute, cycle_value=[])

    def _is_mapping_class(self, cv: ClassValue) -> bool:
        return self._memo(
            self._is_mapping,
            id(cv.node),
            lambda: (
                cv.name in self.mapping_classes
                or any(self._is_mapping_class(b) for b in self._class_bases(cv))
            ),
            cycle_value=False,
        )

    def _is_subclass(self, cv: ClassValue, other: ClassValue, seen: frozenset = frozenset()) -> bool:
        if cv.node is other.node or (cv.name == other.name and cv.module.path == other.module.path):
            return True
        if id(cv.node) in seen:
            return False
        return any(self._is_subclass(b, other, seen | {id(cv.node)}) for b in self._class_bases(cv))

    # ------------------------------------------------------------------ calls
    def _call(self, frame: _Frame, node: ast.Call) -> Any:
        if isinstance(node.func, ast.Name) and node.func.id == "super" and "super" not in frame.env:
            return (
                SuperValue(frame.owner, frame.self_value) if frame.owner is not None else Unknown("super()")
            )
        func = self._eval(frame, node.func)
        args: list[tuple[bool, Any]] = []
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                args.append((True, self._eval(frame, arg.value)))
            else:
                args.append((False, self._eval(frame, arg)))
        kwargs: dict[str, Any] = {}
        unknown_kwargs = False
        for kw in node.keywords:
            value = self._eval(frame, kw.value)
            if kw.arg is not None:
                kwargs[kw.arg] = value
            elif isinstance(value, dict) and all(isinstance(k, str) for k in value):
                kwargs.update(value)
            else:
                unknown_kwargs = True
        callee = callee_name(node.func)
        if isinstance(func, ClassValue):
            if func.name == REGISTRY_CLASS:
                return RegistryValue([snapshot(value) for _, value in args])
            if self._is_mapping_class(func):
                return self._construct(frame, node, func, func.name, args, kwargs)
            return Unknown(frame.module.segment(node))
        if isinstance(func, Unknown) and callee in self.mapping_classes:
            return self._construct(frame, node, None, callee, args, kwargs)
        if isinstance(func, Unknown) and callee == REGISTRY_CLASS:
            return RegistryValue([snapshot(value) for _, value in args])
        positional = self._spread(args)
        if isinstance(func, FunctionValue):
            if positional is None or unknown_kwargs:
                positional = [v for starred, v in args if not starred]
            return self._call_function(func, positional, kwargs, frame.module, node)
        if isinstance(func, Builtin):
            if positional is None:
                return Unknown(frame.module.segment(node))
            try:
                return func.fn(*positional, **kwargs)
            except EvalLimit:
                raise
            except Exception:  # a builtin applied to values it cannot take statically
                return Unknown(frame.module.segment(node))
        if isinstance(func, Choice):
            return lift(
                lambda f: (
                    self._call_function(f, positional or [], kwargs, frame.module, node)
                    if isinstance(f, FunctionValue)
                    else Unknown(frame.module.segment(node))
                ),
                func,
            )
        return Unknown(frame.module.segment(node))

    @staticmethod
    def _spread(args: list[tuple[bool, Any]]) -> list[Any] | None:
        out: list[Any] = []
        for starred, value in args:
            if not starred:
                out.append(value)
            elif isinstance(value, list | tuple):
                out.extend(value)
            else:
                return None
        return out

    def _make_frame(
        self, fn: FunctionValue, args: list[Any], kwargs: dict[str, Any], via: str | None
    ) -> _Frame:
        spec = fn.node.args
        env: dict[str, Any] = {}
        if fn.bound is not None:
            args = [fn.bound, *args]
        positional = [*spec.posonlyargs, *spec.args]
        defaults = dict(
            zip(
                [p.arg for p in positional[len(positional) - len(spec.defaults) :]],
                spec.defaults,
                strict=True,
            )
        )
        defaults.update(
            {p.arg: d for p, d in zip(spec.kwonlyargs, spec.kw_defaults, strict=True) if d is not None}
        )
        for param, value in zip(positional, args, strict=False):
            env[param.arg] = value
        if spec.vararg is not None:
            env[spec.vararg.arg] = tuple(args[len(positional) :])
        extra: dict[str, Any] = {}
        names = {p.arg for p in [*positional, *spec.kwonlyargs]}
        for key, value in kwargs.items():
            if key in names:
                env[key] = value
            else:
                extra[key] = value
        if spec.kwarg is not None:
            env[spec.kwarg.arg] = extra
        for param in [*positional, *spec.kwonlyargs]:
            if param.arg not in env:
                if param.arg in defaults:
                    env[param.arg] = self._eval(_Frame(fn.module, {}, None, None), defaults[param.arg])
                else:
                    env[param.arg] = Unknown(param.arg)
        self_value = fn.bound if fn.bound is not None else None
        return _Frame(fn.module, env, via, fn.owner, self_value=self_value, closure=fn.closure)

    def _call_function(
        self, fn: FunctionValue, args: list[Any], kwargs: dict[str, Any], module: ModuleInfo, node: ast.AST
    ) -> Any:
        if self.depth >= MAX_DEPTH:
            self._unresolve("helper calls nested too deep", module.segment(node), _loc(module, node))
            return Unknown(module.segment(node))
        self.depth += 1
        self._ran(fn)
        call_conds = self.conds
        try:
            frame = self._make_frame(fn, args, kwargs, via=fn.node.name)
            self._exec_block(frame, fn.node.body)
        finally:
            self.depth -= 1
            self.conds = call_conds
        if not frame.returns:
            return None
        return make_choice([(r.cond, r.value) for r in frame.returns], base=call_conds)

    def _ran(self, fn: FunctionValue) -> None:
        """Record a function the evaluation runs (one defined inside another is part of its definer)."""
        if fn.closure is None:
            name = f"{fn.owner.name}.{fn.node.name}" if fn.owner is not None else fn.node.name
            self.functions.add(f"{fn.module.path}::{name}")

    def _construct(
        self,
        frame: _Frame,
        node: ast.Call,
        cls: ClassValue | None,
        name: str,
        args: list[tuple[bool, Any]],
        kwargs: dict[str, Any],
    ) -> MappingValue:
        positional = self._spread(args) or [v for starred, v in args if not starred]
        signature = self._init_signature(cls) if cls is not None else None
        megatron: Any = None
        hf: dict[str, Any] = {}
        if signature is None:
            megatron = kwargs.get("megatron_param", positional[0] if positional else None)
            rest = positional[1:] if "megatron_param" not in kwargs else positional
            for i, value in enumerate(rest, start=1):
                if _hf_like(value):
                    hf[f"arg{i}"] = value
            for key, value in kwargs.items():
                if key != "megatron_param" and not key.startswith("megatron") and _hf_like(value):
                    hf[key] = value
        else:
            bound: dict[str, Any] = dict(zip(signature.params, positional, strict=False))
            for i, value in enumerate(positional[len(signature.params) :], start=1):
                bound[f"{signature.vararg or 'arg'}{i}"] = value
            bound.update(kwargs)
            megatron = bound.pop(signature.megatron_name, None)
            passed = signature.passed
            for key, value in bound.items():
                annotation = signature.annotations.get(key)
                if key.startswith("megatron") or (annotation is not None and "str" not in annotation):
                    continue
                if passed is not None and key in signature.params and key not in passed:
                    continue
                if _hf_like(value):
                    hf[key] = value
        return MappingValue(
            mapping_class=name,
            megatron_param=megatron,
            hf=hf,
            location=_loc(frame.module, node),
            cond=self.conds,
            via=frame.via,
            source=frame.module.segment(node, 160),
        )

    def _init_signature(self, cls: ClassValue) -> InitSignature | None:
        """The signature of the nearest named ``__init__`` of `cls` or its bases (memoised per class)."""
        return self._memo(self._signatures, id(cls.node), lambda: self._find_signature(cls))

    def _find_signature(self, cls: ClassValue) -> InitSignature | None:
        init = None
        for candidate in self._mro(cls):
            init = next(
                (s for s in candidate.node.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"),
                None,
            )
            named = (
                init is not None and len([*init.args.posonlyargs, *init.args.args, *init.args.kwonlyargs]) > 1
            )
            if named:  # an `__init__(self, *args, **kwargs)` passthrough says nothing: look further up
                break
            init = None
        if init is None:
            return None
        return read_init_signature(init)

    def _mro(self, cls: ClassValue) -> list[ClassValue]:
        out, queue, seen = [], [cls], set()
        while queue and len(out) < 50:
            current = queue.pop(0)
            if id(current.node) in seen:
                continue
            seen.add(id(current.node))
            out.append(current)
            queue.extend(self._class_bases(current))
        return out

    # ------------------------------------------------------------------ builtins
    def _b_range(self, *args: Any) -> Any:
        if all(isinstance(a, int) and not isinstance(a, bool) for a in args):
            r = range(*args)
            return list(r) if len(r) <= MAX_LOOP else Unknown("range(...)")
        return Unknown("range(...)")

    def _b_len(self, value: Any) -> Any:
        return lift(
            lambda v: len(v) if isinstance(v, str | list | tuple | dict | set) else Unknown("len(...)"), value
        )

    def _b_list(self, value: Any = ()) -> Any:
        if isinstance(value, list | tuple | set):
            return list(value)
        if isinstance(value, dict):
            return list(value)
        if isinstance(value, Choice):
            out: list[Any] = []
            self._extend(out, value)
            return out
        return Unknown("list(...)")

    def _b_tuple(self, value: Any = ()) -> Any:
        result = self._b_list(value)
        return tuple(result) if isinstance(result, list) else result

    def _b_dict(self, value: Any = None, **kwargs: Any) -> Any:
        out: dict[Any, Any] = {}
        if isinstance(value, dict):
            out.update(value)
        elif isinstance(value, list | tuple):
            for item in value:
                if not (isinstance(item, tuple | list) and len(item) == 2):
                    return Unknown("dict(...)")
                out[item[0]] = item[1]
        elif value is not None:
            return Unknown("dict(...)")
        out.update(kwargs)
        return out

    def _b_set(self, value: Any = ()) -> Any:
        result = self._b_list(value)
        if isinstance(result, list) and all(isinstance(i, PLAIN) for i in result):
            return set(result)
        return Unknown("set(...)")

    def _b_enumerate(self, value: Any, start: int = 0) -> Any:
        items = self._iterate(value)
        if items is None or not isinstance(start, int):
            return Unknown("enumerate(...)")
        return [Choice([(c, (start + i, v))]) if c else (start + i, v) for i, (c, v) in enumerate(items)]

    def _b_zip(self, *values: Any) -> Any:
        lists = [self._iterate(v) for v in values]
        if any(items is None or any(c for c, _ in items) for items in lists):
            return Unknown("zip(...)")
        return [tuple(parts) for parts in zip(*[[v for _, v in items] for items in lists], strict=False)]

    def _b_isinstance(self, value: Any, classes: Any) -> Any:
        options = classes if isinstance(classes, tuple) else (classes,)

        def check(v: Any) -> Any:
            results = []
            for option in options:
                if isinstance(option, Builtin) and option.name in _TYPES:
                    results.append(isinstance(v, _TYPES[option.name]) if not isinstance(v, Unknown) else None)
                elif isinstance(option, ClassValue) and isinstance(v, MappingValue):
                    own = self._mapping_class_value(v)
                    results.append(
                        self._is_subclass(own, option) if own is not None else v.mapping_class == option.name
                    )
                elif isinstance(option, ClassValue) and isinstance(v, PLAIN | list | dict | tuple):
                    results.append(False)
                else:
                    results.append(None)
            if any(r is True for r in results):
                return True
            return False if all(r is False for r in results) else Unknown("isinstance(...)")

        return lift(check, value)

    def _mapping_class_value(self, mv: MappingValue) -> ClassValue | None:
        module = self.loader.by_path(mv.location.path)
        if module is None:
            return None
        value = self._lookup(_Frame(module, {}, None, None), mv.mapping_class)
        return value if isinstance(value, ClassValue) else None

    def _b_getattr(self, obj: Any, name: Any, *default: Any) -> Any:
        if not isinstance(name, str):
            return Unknown("getattr(...)")
        if isinstance(obj, MappingValue):
            return obj.get_attr(name)
        if isinstance(obj, SelfValue):
            member = self._member(obj.cls, name, obj)
            return (
                Unknown(f"self.{name}")
                if member is _MISSING or not isinstance(member, FunctionValue)
                else member
            )
        if obj is None and default:
            return default[0]
        return Unknown(f"getattr(..., {name!r})")

    def _b_hasattr(self, obj: Any, name: Any) -> Any:
        if isinstance(obj, MappingValue) and isinstance(name, str):
            return name in ("megatron_param", "hf_param") or name in obj.hf
        if obj is None:
            return False
        return Unknown(f"hasattr(..., {name!r})")

    def _b_bool(self, value: Any = False) -> Any:
        truth = truth_of(value)
        return Unknown("bool(...)") if truth is None else truth

    def _b_str(self, value: Any = "") -> Any:
        return lift(lambda v: str(v) if isinstance(v, PLAIN) else Unknown("str(...)"), value)

    def _b_int(self, value: Any = 0) -> Any:
        return lift(
            lambda v: int(v) if isinstance(v, str | int | float | bool) else Unknown("int(...)"), value
        )

    def _b_any_all(self, value: Any, want: bool) -> Any:
        items = self._iterate(value)
        if items is None:
            return Unknown("any(...)")
        truths = [truth_of(v) for c, v in items if not c]
        if any(t is want for t in truths):
            return want
        if len(truths) == len(items) and all(t is not None for t in truths):
            return not want
        return Unknown("any(...)")

    def _b_sorted(self, value: Any, key: Any = None, reverse: Any = False) -> Any:
        items = self._iterate(value)
        if key is not None or items is None or any(c for c, _ in items):
            return Unknown("sorted(...)")
        plain = [v for _, v in items]
        try:
            return sorted(plain, reverse=bool(reverse))
        except TypeError:
            return Unknown("sorted(...)")

    def _b_minmax(self, fn: Any, *values: Any) -> Any:
        items = values[0] if len(values) == 1 and isinstance(values[0], list | tuple) else values
        if all(isinstance(v, int | float | str) for v in items):
            return fn(items)
        return Unknown("min/max(...)")


def _b(name: str) -> Any:
    return getattr(_Evaluator, name)


_TYPES: dict[str, type | tuple[type, ...]] = {
    "str": str, "int": int, "float": float, "bool": bool, "list": list, "tuple": tuple, "dict": dict, "set": set,
}  # fmt: skip
_BUILTINS: dict[str, Any] = {
    "range": _b("_b_range"),
    "len": _b("_b_len"),
    "list": _b("_b_list"),
    "tuple": _b("_b_tuple"),
    "dict": _b("_b_dict"),
    "set": _b("_b_set"),
    "frozenset": _b("_b_set"),
    "enumerate": _b("_b_enumerate"),
    "zip": _b("_b_zip"),
    "isinstance": _b("_b_isinstance"),
    "getattr": _b("_b_getattr"),
    "hasattr": _b("_b_hasattr"),
    "bool": _b("_b_bool"),
    "str": _b("_b_str"),
    "int": _b("_b_int"),
    "float": _b("_b_int"),
    "any": lambda self, value: self._b_any_all(value, True),
    "all": lambda self, value: self._b_any_all(value, False),
    "sorted": _b("_b_sorted"),
    "min": lambda self, *v: self._b_minmax(min, *v),
    "max": lambda self, *v: self._b_minmax(max, *v),
    "print": lambda self, *a, **k: None,
}


def _plain_method(ev: _Evaluator, obj: Any, attr: str) -> Builtin | None:
    """Methods of plain values; mutating list/dict methods record the conditions in force."""
    if (isinstance(obj, str) or (isinstance(obj, Unknown) and obj.template)) and attr in _STR_METHODS:

        def call(*args: Any, **kwargs: Any) -> Any:
            def apply(*xs: Any) -> Any:
                n = len(args)
                pos, kws = xs[:n], dict(zip(kwargs, xs[n:], strict=True))
                if any(isinstance(x, Unknown) and x.template for x in xs) or isinstance(obj, Unknown):
                    return template_call(obj, attr, pos, kws)
                if any(not isinstance(x, PLAIN | list | tuple) for x in xs):
                    return Unknown(f"{obj!r}.{attr}(...)")
                if attr == "join" and not all(isinstance(x, str) for x in (pos[0] if pos else [])):
                    return Unknown(f"{obj!r}.join(...)")
                return getattr(obj, attr)(*pos, **kws)

            return lift(apply, *args, *kwargs.values())

        return Builtin(f"str.{attr}", call)
    if isinstance(obj, list):
        methods = {
            "append": lambda v: obj.append(ev._guard(v)),
            "extend": lambda v: ev._extend(obj, v),
            "insert": lambda i, v: obj.insert(i, ev._guard(v)),
            "copy": lambda: list(obj),
            "pop": lambda *i: obj.pop(*i) if obj else Unknown("pop"),
            "index": lambda v: obj.index(v),
            "count": lambda v: obj.count(v),
            "reverse": lambda: obj.reverse(),
            "remove": lambda v: obj.remove(v) if v in obj else None,
        }
        fn = methods.get(attr)
        return Builtin(f"list.{attr}", fn) if fn else None
    if isinstance(obj, dict):

        def items() -> list[Any]:
            return [lift(lambda k, v: (k, v), key, val) for key, val in obj.items()]

        def values() -> list[Any]:
            return list(obj.values())

        def get(key: Any, default: Any = None) -> Any:
            if isinstance(key, Unknown | Choice | list | dict):
                return Unknown("dict.get(...)")
            return obj.get(key, default)

        methods = {
            "items": items,
            "keys": lambda: ev._b_list(obj),
            "values": values,
            "get": get,
            "update": lambda *v, **kw: [ev._update(obj, x) for x in (*v, kw) if x] and None,
            "copy": lambda: dict(obj),
            "pop": lambda key, *d: obj.pop(key, *d) if key in obj or d else Unknown("pop"),
            "setdefault": lambda key, d=None: obj.setdefault(key, d),
        }
        fn = methods.get(attr)
        return Builtin(f"dict.{attr}", fn) if fn else None
    return None


def _hf_like(value: Any) -> bool:
    """Whether an argument value can be an HF name (not a flag, a number or a tuple of dims)."""
    for _, v in alternatives(value):
        if isinstance(v, bool | int | float) or v is None:
            return False
        if isinstance(v, tuple) and not all(isinstance(x, str) for x in v):
            return False
        if isinstance(v, MappingValue | ClassValue | FunctionValue):
            return False
    return True


def _loc(module: ModuleInfo, node: ast.AST) -> Location:
    return Location(module.path, getattr(node, "lineno", 1), getattr(node, "col_offset", 0))


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
