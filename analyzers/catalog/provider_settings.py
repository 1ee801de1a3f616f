"""Provider settings: every attribute a bridge's `provider_bridge` gives its provider, in every style MB writes.

The method is run symbolically (stdlib ast, nothing imported): local variables are inlined into the values
they feed, so each setting is one expression over the HF config, spelt ``hf_config`` (``hf_pretrained.config``
and every local alias of it), with the `if` tests around it as its condition. Styles recorded:

- ``assign``: ``provider.x = v`` and ``setattr(provider, "x", v)``, also inside helpers the provider is passed to;
- ``constructor``: keyword arguments of the provider class call, or of a ``partial(ProviderClass, ...)``;
- ``kwargs``: entries of a dict that reaches the call as ``**kwargs`` (dict literals, ``dict(...)``,
  ``d["x"] = v``, ``d.update(...)``), also when a helper builds the dict;
- ``removed``: ``d.pop("x")`` / ``del d["x"]`` (the provider class default applies again).

Calls reach the rest of the tree: `self.method(...)` and `super().provider_bridge(...)` run the method where
it is defined (own class, tree ancestors), module functions run where they are defined. Two calls into the
base `MegatronModelBridge` are not run but named (`ProviderRun.base`): its `provider_bridge` and its
`hf_config_to_provider_kwargs` (CONFIG_MAPPING plus a few computed fields), which the catalog records once.
"""

from __future__ import annotations

import ast
import builtins
import copy
from collections.abc import Iterator
from dataclasses import dataclass, field

from analyzers.catalog.modules import ModuleInfo, ModuleLoader
from analyzers.catalog.records import Location, ProviderSetting

#: how a recorded expression spells the HF config object
CFG = "hf_config"
#: the base bridge, whose provider_bridge / hf_config_to_provider_kwargs are recorded once for the catalog
BASE_MODULE = "megatron.bridge.models.conversion.model_bridge"
BASE_CLASS = "MegatronModelBridge"
#: HF config attributes that hold a sub-config (the fields are read inside them)
SUB_CONFIGS = frozenset({"text_config", "llm_config", "language_config", "thinker_config", "vision_config",
                         "audio_config", "talker_config", "sound_config", "speech_config"})  # fmt: skip
#: module whose helpers the value evaluator knows by name (their bodies are not inlined)
COMPAT_MODULE = "megatron.bridge.models.conversion.transformers_compat"
#: longest expression kept whole (a longer one keeps its fields but is shortened, and no longer evaluated)
MAX_EXPR = 2000
MAX_DEPTH = 6
MAX_STEPS = 20_000


class _Budget(Exception):
    """The run took more steps than MAX_STEPS (what was found until then is kept)."""


@dataclass(eq=False)
class Sym:
    """A value as an expression over ``hf_config``; `extra` holds fields read by opaque helper calls."""

    expr: ast.expr
    extra: frozenset[str] = frozenset()


@dataclass(eq=False)
class Pretrained:
    """The `hf_pretrained` argument (its `.config` is the HF config)."""


@dataclass(eq=False)
class Collector:
    """A provider object or a kwargs dict being filled in."""

    kind: str  #: "provider" | "kwargs"
    settings: list[ProviderSetting] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)  #: provider classes called to build it
    #: the base bridge's part it starts from: "provider_bridge" | "kwargs" | None
    base: str | None = None
    scope: str | None = None  #: the config expression hf_config_to_provider_kwargs was given


@dataclass(eq=False)
class Factory:
    """A provider class, or ``partial(ProviderClass, ...)``, not called yet."""

    classes: list[str]
    settings: list[ProviderSetting] = field(default_factory=list)


Value = Sym | Pretrained | Collector | Factory


@dataclass
class ProviderRun:
    """What running one class's `provider_bridge` found."""

    settings: list[ProviderSetting] = field(default_factory=list)
    classes: list[str] = field(
        default_factory=list
    )  #: provider classes it calls (qualified where resolvable)
    base: str | None = None  #: "provider_bridge" | "kwargs" | None (built without the base bridge)
    scope: str | None = None  #: the config expression CONFIG_MAPPING is read from (``hf_config.text_config``)


@dataclass
class _Frame:
    info: ModuleInfo  #: module of the function being run (locations, names)
    owner: tuple[ModuleInfo, ast.ClassDef] | None  #: class that defines it (for super())
    env: dict[str, Value]
    conds: list[str]
    via: str | None
    returns: list[tuple[list[str], Value]] = field(default_factory=list)
    #: the loop whose body runs (target, inlined iterable, conditions at its top level), for `.append`
    loop: tuple[ast.expr, ast.expr, int] | None = None


def negate(text: str) -> str:
    return text[5:-1] if text.startswith("not (") and text.endswith(")") else f"not ({text})"


def _unparse(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= MAX_EXPR else text[: MAX_EXPR - 3] + "..."


# ------------------------------------------------------------------------------------------ fields read


def fields_of(expr: ast.AST) -> set[str]:
    """HF config fields an expression over ``hf_config`` reads (dotted for dict keys: ``rope_scaling.factor``).

    >>> sorted(fields_of(ast.parse('getattr(hf_config.text_config, "x", 1) + hf_config.rope_scaling.get("factor")').body[0].value))
    ['rope_scaling', 'rope_scaling.factor', 'x']
    """
    out: set[str] = set()
    for node in ast.walk(expr):
        if isinstance(node, ast.Attribute):
            owner = _config_path(node.value)
            if owner is not None and node.attr not in SUB_CONFIGS and not node.attr.startswith("_"):
                if node.attr not in _CONFIG_METHODS:
                    out.add(node.attr)
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in ("getattr", "hasattr") and len(node.args) >= 2:
                key = node.args[1]
                if _config_path(node.args[0]) is not None and isinstance(key, ast.Constant):
                    if isinstance(key.value, str) and key.value not in SUB_CONFIGS:
                        out.add(key.value)
            elif isinstance(func, ast.Attribute) and func.attr in ("get", "pop") and node.args:
                key = node.args[0]
                parent = _field_name(func.value)
                if parent and isinstance(key, ast.Constant) and isinstance(key.value, str):
                    out.add(f"{parent}.{key.value}")
        elif isinstance(node, ast.Subscript):
            parent = _field_name(node.value)
            key = node.slice
            if parent and isinstance(key, ast.Constant) and isinstance(key.value, str):
                out.add(f"{parent}.{key.value}")
        elif (
            isinstance(node, ast.Compare)
            and len(node.ops) == 1
            and isinstance(node.ops[0], ast.In | ast.NotIn)
        ):
            key, container = node.left, node.comparators[0]
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                if _config_path(container) is not None:
                    out.add(key.value)
                elif parent := _field_name(container):
                    out.add(f"{parent}.{key.value}")
    return out


#: attribute reads on a config that are methods, not fields
_CONFIG_METHODS = frozenset(
    {"get", "to_dict", "to_json_string", "get_text_config", "keys", "items", "values"}
)


def _config_path(node: ast.AST) -> str | None:
    """``hf_config`` or ``hf_config.<sub-config>...`` (also through getattr(hf_config, "text_config", ...))."""
    if isinstance(node, ast.Name):
        return node.id if node.id == CFG else None
    if isinstance(node, ast.Attribute) and node.attr in SUB_CONFIGS:
        return _config_path(node.value)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "getattr"
        and len(node.args) >= 2
        and isinstance(node.args[1], ast.Constant)
        and node.args[1].value in SUB_CONFIGS
    ):
        return _config_path(node.args[0])
    if isinstance(node, ast.IfExp):
        return _config_path(node.body) or _config_path(node.orelse)
    if isinstance(node, ast.BoolOp):
        return next((p for v in node.values if (p := _config_path(v))), None)
    return None


def _field_name(node: ast.AST) -> str | None:
    """The field a dict-valued read names: ``hf_config.rope_scaling`` / ``getattr(hf_config, "rope_scaling", {})``."""
    if (
        isinstance(node, ast.Attribute)
        and _config_path(node.value) is not None
        and node.attr not in SUB_CONFIGS
    ):
        return node.attr
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "getattr"
        and len(node.args) >= 2
        and _config_path(node.args[0]) is not None
        and isinstance(node.args[1], ast.Constant)
        and isinstance(node.args[1].value, str)
    ):
        return node.args[1].value
    if isinstance(node, ast.BoolOp):  # getattr(cfg, "rope_scaling", None) or {}
        return next((f for v in node.values if (f := _field_name(v))), None)
    return None


def _reads_config(fn: ast.FunctionDef) -> frozenset[str]:
    """Fields an opaque helper reads from its parameters (read as if each parameter were the config)."""
    params = {a.arg for a in fn.args.args + fn.args.kwonlyargs if a.arg not in ("self", "cls")}
    body = _Rename(params).visit(copy.deepcopy(ast.Module(body=fn.body, type_ignores=[])))
    return frozenset(fields_of(body))


class _Rename(ast.NodeTransformer):
    def __init__(self, names: set[str]) -> None:
        self.names = names

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return ast.copy_location(ast.Name(CFG, node.ctx), node) if node.id in self.names else node


# ------------------------------------------------------------------------------------------ the runner


class ProviderRunner:
    """Runs `provider_bridge` of one class (the `self` of every method it reaches)."""

    def __init__(
        self, info: ModuleInfo, cls: ast.ClassDef, loader: ModuleLoader, *, base: bool = False
    ) -> None:
        self.info = info
        self.cls = cls
        self.loader = loader
        #: running the base bridge itself: its hf_config_to_provider_kwargs is run, not named
        self.is_base = base
        self.steps = 0
        self.stack: list[int] = []
        self._mro: list[tuple[ModuleInfo, ast.ClassDef]] | None = None

    # -- classes and functions of the tree

    def mro(self) -> list[tuple[ModuleInfo, ast.ClassDef]]:
        """The class and its tree ancestors, depth first (what `self.x` can resolve to)."""
        if self._mro is None:
            out: list[tuple[ModuleInfo, ast.ClassDef]] = []
            self._ancestors(self.info, self.cls, out)
            self._mro = out
        return self._mro

    def _ancestors(self, info: ModuleInfo, cls: ast.ClassDef, out: list) -> None:
        if any(c is cls for _, c in out) or len(out) > 16:
            return
        out.append((info, cls))
        for base in cls.bases:
            found = self._resolve(info, ast.unparse(base))
            if found and isinstance(found[1], ast.ClassDef):
                self._ancestors(found[0], found[1], out)

    def _resolve(self, info: ModuleInfo, dotted: str) -> tuple[ModuleInfo, ast.AST] | None:
        head, _, rest = dotted.partition(".")
        found = self.loader.resolve(info, head)
        if found is None:
            return None
        mod, name = found
        node: ast.AST | None = mod.classes.get(name) or mod.functions.get(name)
        if node is None and name in mod.imports and not mod.imports[name][1]:
            target = self.loader.by_name(mod.imports[name][0])
            return self._resolve(target, rest) if target and rest else None
        if rest:
            if isinstance(node, ast.ClassDef):
                member = next(
                    (n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == rest), None
                )
                return (mod, member) if member else None
            return None
        return (mod, node) if node is not None else None

    def method(
        self, name: str, after: ast.ClassDef | None = None
    ) -> tuple[ModuleInfo, ast.ClassDef, ast.FunctionDef] | None:
        """Where `self.name` (or `super().name` inside class `after`) is defined."""
        classes = self.mro()
        if after is not None:
            index = next((i for i, (_, c) in enumerate(classes) if c is after), None)
            classes = classes[index + 1 :] if index is not None else []
        for info, cls in classes:
            for item in cls.body:
                if isinstance(item, ast.FunctionDef) and item.name == name:
                    return info, cls, item
        return None

    @staticmethod
    def is_base_class(info: ModuleInfo, cls: ast.ClassDef) -> bool:
        return info.name == BASE_MODULE and cls.name == BASE_CLASS

    # -- entry

    def run(self) -> ProviderRun:
        found = self.method("provider_bridge")
        result = ProviderRun()
        if found is None:
            return result
        info, cls, fn = found
        via = None if cls is self.cls else cls.name
        try:
            value = self.call_function(info, (info, cls), fn, [Pretrained()], {}, [], via)
        except _Budget:
            value = None
        collectors = list(_collectors(value))
        for c in collectors:
            result.settings.extend(c.settings)
            result.classes.extend(x for x in c.classes if x not in result.classes)
            result.base = result.base or c.base
            result.scope = result.scope or c.scope
        return result

    def tick(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise _Budget

    # -- functions

    def call_function(
        self,
        info: ModuleInfo,
        owner: tuple[ModuleInfo, ast.ClassDef] | None,
        fn: ast.FunctionDef,
        args: list[Value],
        kwargs: dict[str, Value],
        conds: list[str],
        via: str | None,
    ) -> Value | None:
        """Run `fn` with the given arguments (its `self` is the runner's class); its return value."""
        if len(self.stack) >= MAX_DEPTH or id(fn) in self.stack:
            return None
        params = [a.arg for a in fn.args.posonlyargs + fn.args.args]
        if params and params[0] in ("self", "cls") and owner is not None:
            params = params[1:]
        env: dict[str, Value] = {}
        defaults = fn.args.defaults
        for i, name in enumerate(params):
            if i < len(args):
                env[name] = args[i]
            elif name in kwargs:
                env[name] = kwargs[name]
            else:
                at = i - (len(params) - len(defaults))
                if at >= 0:
                    env[name] = Sym(defaults[at])
        for arg, default in zip(fn.args.kwonlyargs, fn.args.kw_defaults, strict=True):
            if arg.arg in kwargs:
                env[arg.arg] = kwargs[arg.arg]
            elif default is not None:
                env[arg.arg] = Sym(default)
        frame = _Frame(info=info, owner=owner, env=env, conds=list(conds), via=via)
        self.stack.append(id(fn))
        try:
            self.block(fn.body, frame)
        finally:
            self.stack.pop()
        return _merge_returns(frame.returns, len(conds))

    # -- statements

    def block(self, body: list[ast.stmt], frame: _Frame) -> bool:
        """Run statements; True when the block always returns (or raises)."""
        for stmt in body:
            self.tick()
            if self.stmt(stmt, frame):
                return True
        return False

    def stmt(self, stmt: ast.stmt, frame: _Frame) -> bool:
        if isinstance(stmt, ast.Return):
            frame.returns.append(
                (list(frame.conds), self.value(stmt.value, frame) if stmt.value else Sym(ast.Constant(None)))
            )
            return True
        if isinstance(stmt, ast.Raise):
            return True
        if isinstance(stmt, ast.Assign):
            value = self.value(stmt.value, frame)
            for target in stmt.targets:
                self.assign(target, value, stmt.value, frame, stmt)
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            self.assign(stmt.target, self.value(stmt.value, frame), stmt.value, frame, stmt)
        elif isinstance(stmt, ast.AugAssign):
            current = ast.Name(stmt.target.id) if isinstance(stmt.target, ast.Name) else stmt.target
            combined = ast.BinOp(copy.deepcopy(current), stmt.op, stmt.value)
            ast.copy_location(combined, stmt)
            self.assign(stmt.target, self.value(combined, frame), combined, frame, stmt)
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            self.value(stmt.value, frame)
        elif isinstance(stmt, ast.Delete):
            for target in stmt.targets:
                if isinstance(target, ast.Subscript):
                    owner = self.value(target.value, frame)
                    key = self.key(target.slice, frame)
                    if isinstance(owner, Collector) and key:
                        self.record(owner, key, None, frame, stmt, "removed")
        elif isinstance(stmt, ast.If):
            return self.if_stmt(stmt, frame)
        elif isinstance(stmt, ast.For | ast.AsyncFor | ast.While):
            self.loop(stmt, frame)
        elif isinstance(stmt, ast.Try):
            if self.block(stmt.body, frame) and not stmt.handlers:
                return True
            for handler in stmt.handlers:
                inner = _Frame(
                    frame.info, frame.owner, frame.env, frame.conds + ["except"], frame.via, frame.returns
                )
                self.block(handler.body, inner)
            self.block(stmt.orelse, frame)
            return self.block(stmt.finalbody, frame)
        elif isinstance(stmt, ast.With):
            return self.block(stmt.body, frame)
        return False

    def loop(self, stmt: ast.For | ast.AsyncFor | ast.While, frame: _Frame) -> None:
        """A loop over a literal list of constant tuples (`YARN_ROPE_SCALING_MAPPING`) is unrolled; any
        other runs once with its target unknown, and `lst.append(x)` at its top level makes `lst` the
        comprehension ``[x for target in iterable]``."""
        if isinstance(stmt, ast.While):
            inner = _Frame(frame.info, frame.owner, frame.env, frame.conds + [f"while {_unparse(stmt.test)}"],
                           frame.via, frame.returns)  # fmt: skip
            self.block(stmt.body, inner)
            return
        items = self.literal_items(stmt.iter, frame)
        if items is not None:
            for item in items:
                self.assign(stmt.target, Sym(item), item, frame, stmt)
                self.block(stmt.body, frame)
            self.block(stmt.orelse, frame)
            return
        iterable = self.sym(stmt.iter, frame)
        assigned = {n for node in stmt.body for n in _assigned_names(node)}
        for name in _target_names(stmt.target):
            frame.env[name] = Sym(ast.Name(name))
        conds = frame.conds + [f"for {ast.unparse(stmt.target)} in {_unparse(iterable.expr)}"]
        inner = _Frame(frame.info, frame.owner, frame.env, conds, frame.via, frame.returns,
                       loop=(stmt.target, iterable.expr, len(conds)))  # fmt: skip
        self.block(stmt.body, inner)
        for name in assigned | set(_target_names(stmt.target)):
            # a value the loop accumulates is not the last iteration's expression
            if name in frame.env and not isinstance(frame.env[name], Collector | _Built):
                frame.env[name] = Sym(ast.Name("<loop>"))
        for name, value in list(frame.env.items()):
            if type(value) is _Built:
                frame.env[name] = Sym(value.expr, value.extra)
        self.block(stmt.orelse, frame)

    def literal_items(self, node: ast.expr, frame: _Frame) -> list[ast.expr] | None:
        """The elements of a literal list of constant tuples the loop iterates (a class attribute, a
        module constant or written in place); None for anything else. CONFIG_MAPPING is the catalog's own."""
        literal: ast.AST | None = node
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in ("self", "cls")
        ):
            if node.attr == "CONFIG_MAPPING":
                return None
            literal = next((stmt.value for _, cls in self.mro() for stmt in cls.body
                            if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == node.attr for t in stmt.targets)),
                           None)  # fmt: skip
        elif isinstance(node, ast.Name) and node.id not in frame.env:
            literal = frame.info.assignments.get(node.id)
        if not isinstance(literal, ast.List | ast.Tuple) or not 0 < len(literal.elts) <= 64:
            return None
        if not all(
            isinstance(e, ast.Tuple) and all(isinstance(x, ast.Constant) for x in e.elts)
            for e in literal.elts
        ):
            return None
        return list(literal.elts)

    def if_stmt(self, stmt: ast.If, frame: _Frame) -> bool:
        test = self.sym(stmt.test, frame)
        text = _unparse(test.expr)
        then_env, else_env = dict(frame.env), dict(frame.env)
        then = _Frame(frame.info, frame.owner, then_env, frame.conds + [text], frame.via, frame.returns)
        other = _Frame(
            frame.info, frame.owner, else_env, frame.conds + [negate(text)], frame.via, frame.returns
        )
        t_done = self.block(stmt.body, then)
        e_done = self.block(stmt.orelse, other)
        if t_done and e_done:
            return True
        if t_done:  # the rest of the block runs only when the test failed
            frame.env.clear()
            frame.env.update(else_env)
            frame.conds.append(negate(text))
        elif e_done:
            frame.env.clear()
            frame.env.update(then_env)
            frame.conds.append(text)
        else:
            for name in set(then_env) | set(else_env):
                a, b = then_env.get(name), else_env.get(name)
                if a is b:
                    continue
                frame.env[name] = _merge(test.expr, a, b)
        return False

    def assign(self, target: ast.expr, value: Value, source: ast.expr, frame: _Frame, stmt: ast.stmt) -> None:
        if isinstance(target, ast.Name):
            frame.env[target.id] = value
        elif isinstance(target, ast.Tuple | ast.List):
            items = (
                source.elts
                if isinstance(source, ast.Tuple | ast.List) and len(source.elts) == len(target.elts)
                else None
            )
            for i, sub in enumerate(target.elts):
                if items is not None:
                    part: Value = self.value(items[i], frame)
                elif isinstance(value, Sym):
                    part = Sym(ast.Subscript(value.expr, ast.Constant(i)), value.extra)
                else:
                    part = Sym(ast.Name("_"))
                self.assign(sub, part, items[i] if items is not None else source, frame, stmt)
        elif isinstance(target, ast.Attribute):
            owner = self.value(target.value, frame)
            if isinstance(owner, Collector) and owner.kind == "provider":
                self.record(owner, target.attr, value, frame, stmt, "assign")
        elif isinstance(target, ast.Subscript):
            owner = self.value(target.value, frame)
            key = self.key(target.slice, frame)
            if isinstance(owner, Collector) and key:
                self.record(owner, key, value, frame, stmt, "kwargs")

    def record(
        self, owner: Collector, attr: str, value: Value | None, frame: _Frame, node: ast.AST, style: str
    ) -> None:
        if attr.startswith("_"):
            return  # a private kwargs key the method pops again (`_mla_rope_params`), not a provider attribute
        if value is None:
            expr, extra = ast.Constant(None), frozenset()
        elif isinstance(value, Sym):
            expr, extra = value.expr, value.extra
        else:
            expr, extra = ast.Name(f"<{type(value).__name__.lower()}>"), frozenset()
        cond = " and ".join(frame.conds) or None
        fields = fields_of(expr) | set(extra)
        if cond:
            fields |= fields_of(ast.parse(cond, mode="eval").body) if _parses(cond) else set()
        owner.settings.append(
            ProviderSetting(
                attr=attr,
                style=style,
                value="" if style == "removed" else _unparse(expr),
                fields=sorted(fields),
                constant=style != "removed"
                and not fields_of(expr)
                and not extra
                and _is_constant(expr, frame.info),
                condition=cond,
                location=Location(
                    frame.info.path, getattr(node, "lineno", 1), getattr(node, "col_offset", 0)
                ),
                via=frame.via,
            )
        )

    # -- expressions

    def sym(self, expr: ast.expr, frame: _Frame) -> Sym:
        value = self.value(expr, frame)
        return value if isinstance(value, Sym) else Sym(ast.Name(f"<{type(value).__name__.lower()}>"))

    def value(self, expr: ast.expr, frame: _Frame) -> Value:
        self.tick()
        if isinstance(expr, ast.Name):
            if expr.id in frame.env:
                return frame.env[expr.id]
            if expr.id.endswith("Provider"):
                return Factory([expr.id])
            return Sym(ast.Name(expr.id))
        if isinstance(expr, ast.Attribute):
            owner = self.value(expr.value, frame)
            if isinstance(owner, Pretrained):
                return Sym(ast.Name(CFG)) if expr.attr == "config" else Sym(ast.Name("<hf_pretrained>"))
            if isinstance(owner, Collector):
                got = self.entry(owner, expr.attr)
                return (
                    got
                    if not _is_name(got.expr, "<unknown>")
                    else Sym(ast.Attribute(ast.Name("provider"), expr.attr))
                )
            if isinstance(owner, Sym):
                return Sym(ast.Attribute(owner.expr, expr.attr), owner.extra)
            return Sym(ast.Name("<unknown>"))
        if isinstance(expr, ast.Subscript):
            owner = self.value(expr.value, frame)
            if isinstance(owner, Collector):
                return self.entry(owner, self.key(expr.slice, frame))
        if isinstance(expr, ast.Call):
            return self.call(expr, frame)
        if isinstance(expr, ast.Dict):
            return self.dict_literal(expr, frame)
        if isinstance(expr, ast.DictComp) and len(expr.generators) == 1:
            gen = expr.generators[0].iter
            if isinstance(gen, ast.Call) and isinstance(gen.func, ast.Attribute) and gen.func.attr == "items":
                source = self.value(gen.func.value, frame)
                if isinstance(source, Collector):
                    return source  # a filter over the kwargs keeps them (fields the provider does not accept drop out)
        if isinstance(expr, ast.IfExp):
            test = self.sym(expr.test, frame)
            return _merge(test.expr, self.value(expr.body, frame), self.value(expr.orelse, frame))
        inliner = _Inline(self, frame)
        out = inliner.visit(copy.deepcopy(expr))
        return Sym(out, frozenset(inliner.extra))

    def key(self, node: ast.expr, frame: _Frame) -> str | None:
        """A constant string key, also through a local bound to one (an unrolled loop's target)."""
        if isinstance(node, ast.Name) and isinstance(frame.env.get(node.id), Sym):
            return _const_str(frame.env[node.id].expr)
        return _const_str(node)

    @staticmethod
    def entry(owner: Collector, key: str | None) -> Sym:
        """What `owner[key]` / `owner.key` holds so far (unknown when not set here or the key is computed)."""
        last = (
            next((s for s in reversed(owner.settings) if s.attr == key and s.style != "removed"), None)
            if key
            else None
        )
        if last is not None and _parses(last.value):
            return Sym(ast.parse(last.value, mode="eval").body)
        return Sym(ast.Name("<unknown>"))

    def dict_literal(self, expr: ast.Dict, frame: _Frame) -> Value:
        if not all(k is None or _const_str(k) for k in expr.keys):
            inliner = _Inline(self, frame)
            return Sym(inliner.visit(copy.deepcopy(expr)), frozenset(inliner.extra))
        out = Collector("kwargs")
        for key, val in zip(expr.keys, expr.values, strict=True):
            if key is None:
                self.spread(out, self.value(val, frame))
            else:
                self.record(out, _const_str(key), self.value(val, frame), frame, val, "kwargs")
        return out

    def spread(self, into: Collector, source: Value) -> None:
        """`**source` into a call or dict: its entries, in their own styles, and where it starts from."""
        if isinstance(source, Collector | Factory):
            into.settings.extend(source.settings)
        if isinstance(source, Collector):
            into.base = into.base or source.base
            into.scope = into.scope or source.scope

    def call(self, call: ast.Call, frame: _Frame) -> Value:
        func = call.func
        # super().name(...)
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Call)
            and _is_name(func.value.func, "super")
        ):
            after = frame.owner[1] if frame.owner else self.cls
            return self.call_method(func.attr, call, frame, after)
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in ("self", "cls")
        ):
            if func.attr == "PROVIDER_CLASS":
                return self.construct(Factory(["self.PROVIDER_CLASS"]), call, frame)
            return self.call_method(func.attr, call, frame, None)
        if isinstance(func, ast.Attribute):
            owner = self.value(func.value, frame)
            if isinstance(owner, Collector):
                return self.collector_method(owner, func.attr, call, frame)
            if func.attr == "append" and isinstance(func.value, ast.Name) and frame.loop and call.args:
                target, iterable, depth = frame.loop
                current = frame.env.get(func.value.id)
                empty = (
                    isinstance(current, Sym) and isinstance(current.expr, ast.List) and not current.expr.elts
                )
                if empty and len(frame.conds) == depth:
                    item = self.sym(call.args[0], frame)
                    comp = ast.ListComp(
                        item.expr, [ast.comprehension(copy.deepcopy(target), iterable, [], 0)]
                    )
                    frame.env[func.value.id] = _Built(comp, item.extra)
                    return Sym(ast.Constant(None))
        if _is_name(func, "setattr") and len(call.args) == 3:
            owner = self.value(call.args[0], frame)
            key = _const_str(call.args[1])
            if isinstance(owner, Collector) and key:
                self.record(owner, key, self.value(call.args[2], frame), frame, call, "assign")
            return Sym(ast.Constant(None))
        if _is_name(func, "dict"):
            out = Collector("kwargs")
            for arg in call.args:
                self.spread(out, self.value(arg, frame))
            for kw in call.keywords:
                if kw.arg is None:
                    self.spread(out, self.value(kw.value, frame))
                else:
                    self.record(out, kw.arg, self.value(kw.value, frame), frame, kw.value, "kwargs")
            return out
        if _is_name(func, "partial") and call.args:
            target = self.value(call.args[0], frame)
            if isinstance(target, Factory):
                made = Factory(list(target.classes), list(target.settings))
                holder = Collector("provider")
                for kw in call.keywords:
                    if kw.arg:
                        self.record(
                            holder, kw.arg, self.value(kw.value, frame), frame, kw.value, "constructor"
                        )
                made.settings.extend(holder.settings)
                return made
        callee = self.value(func, frame) if isinstance(func, ast.Name | ast.Attribute) else None
        if isinstance(callee, Factory):
            return self.construct(callee, call, frame)
        if isinstance(callee, Sym) and _names_provider(callee.expr):
            return self.construct(Factory([_unparse(callee.expr)]), call, frame)
        if isinstance(func, ast.Name):
            found = self._resolve(frame.info, func.id)
            if found and isinstance(found[1], ast.FunctionDef):
                return self.call_tree_function(found[0], None, found[1], call, frame, func.id)
        return self.opaque(call, frame)

    def construct(self, factory: Factory, call: ast.Call, frame: _Frame) -> Collector:
        out = Collector("provider", settings=list(factory.settings), classes=list(factory.classes))
        for arg in call.args:
            self.value(arg, frame)
        for kw in call.keywords:
            if kw.arg is None:
                self.spread(out, self.value(kw.value, frame))
            else:
                self.record(out, kw.arg, self.value(kw.value, frame), frame, kw.value, "constructor")
        return out

    def collector_method(self, owner: Collector, name: str, call: ast.Call, frame: _Frame) -> Value:
        if name == "update":
            for arg in call.args:
                source = self.value(arg, frame)
                if isinstance(source, Collector):
                    for s in source.settings:
                        owner.settings.append(s)
                    owner.base = owner.base or source.base
                    owner.scope = owner.scope or source.scope
            for kw in call.keywords:
                if kw.arg is None:
                    self.spread(owner, self.value(kw.value, frame))
                else:
                    self.record(owner, kw.arg, self.value(kw.value, frame), frame, kw.value, "kwargs")
            return Sym(ast.Constant(None))
        if name in ("pop", "setdefault") and call.args and (key := _const_str(call.args[0])):
            if name == "pop":
                self.record(owner, key, None, frame, call, "removed")
                return Sym(ast.Name("<unknown>"))
            if not any(s.attr == key and s.style != "removed" for s in owner.settings):
                value = self.value(call.args[1], frame) if len(call.args) > 1 else Sym(ast.Constant(None))
                self.record(owner, key, value, frame, call, "kwargs")
            return Sym(ast.Name("<unknown>"))
        if name == "get" and call.args:
            return self.entry(owner, _const_str(call.args[0]))
        return Sym(ast.Name("<unknown>"))

    def call_method(self, name: str, call: ast.Call, frame: _Frame, after: ast.ClassDef | None) -> Value:
        found = self.method(name, after)
        if found is None:
            return self.opaque(call, frame)
        info, cls, fn = found
        if self.is_base_class(info, cls):
            if name == "provider_bridge" and not self.is_base and not _kwargs_hooks(self.cls):
                return Collector("provider", base="provider_bridge", scope=CFG)
            if _is_kwargs_hook(name) and not self.is_base:
                scope = self.sym(call.args[0], frame) if call.args else Sym(ast.Name(CFG))
                return Collector("kwargs", base="kwargs", scope=_unparse(scope.expr))
            if name != "provider_bridge" and not _is_kwargs_hook(name):
                return self.opaque(call, frame, fn)  # the base's helpers: dtype, activation, vocab padding
        # where a setting was written, when not in the bridge's own provider_bridge: the ancestor class,
        # the helper method, or both (`Qwen3VLBridge > self._text_settings`)
        own = None if cls is self.cls else cls.name if name == "provider_bridge" else f"{cls.name}.{name}"
        if cls is self.cls and name != "provider_bridge":
            own = f"self.{name}"
        via = f"{frame.via} > {own}" if frame.via and own else frame.via or own
        return self.call_tree_function(info, (info, cls), fn, call, frame, via)

    def call_tree_function(
        self,
        info: ModuleInfo,
        owner: tuple[ModuleInfo, ast.ClassDef] | None,
        fn: ast.FunctionDef,
        call: ast.Call,
        frame: _Frame,
        via: str | None,
    ) -> Value:
        if info.name == COMPAT_MODULE:
            return self.opaque(call, frame, fn)
        args = [self.value(a, frame) for a in call.args if not isinstance(a, ast.Starred)]
        kwargs = {kw.arg: self.value(kw.value, frame) for kw in call.keywords if kw.arg}
        if owner is None and via and frame.via:
            via = f"{frame.via} > {via}"
        result = self.call_function(info, owner, fn, args, kwargs, frame.conds, via)
        if result is None:
            return self.opaque(call, frame, fn)
        # a value computed by a loop is not one expression: keep the call (its fields still count)
        if isinstance(result, Sym) and (len(ast.unparse(result.expr)) > 400 or _loops(fn)):
            return self.opaque(call, frame, fn)
        return result

    def opaque(self, call: ast.Call, frame: _Frame, fn: ast.FunctionDef | None = None) -> Sym:
        """The call kept as written (its arguments inlined); the fields the callee reads ride along."""
        inliner = _Inline(self, frame, calls=False)
        node = inliner.visit(copy.deepcopy(call))
        extra = set(inliner.extra)
        if fn is not None:
            # only parameters that receive the config count as config reads in the callee
            if any(
                isinstance(v, Sym) and _config_path(v.expr) is not None for v in _call_args(self, call, frame)
            ):
                extra |= _reads_config(fn)
        return Sym(node, frozenset(extra))


def _call_args(runner: ProviderRunner, call: ast.Call, frame: _Frame) -> Iterator[Value]:
    for arg in call.args:
        if not isinstance(arg, ast.Starred):
            yield runner.value(arg, frame)
    for kw in call.keywords:
        yield runner.value(kw.value, frame)


class _Inline(ast.NodeTransformer):
    """Replace local names by their values and calls by what running them gives, inside one expression."""

    def __init__(self, runner: ProviderRunner, frame: _Frame, calls: bool = True) -> None:
        self.runner = runner
        self.frame = frame
        self.calls = calls
        self.extra: set[str] = set()

    def _as_expr(self, value: Value, node: ast.AST) -> ast.expr:
        if isinstance(value, Sym):
            self.extra |= value.extra
            return copy.deepcopy(value.expr)
        return node  # type: ignore[return-value]

    def visit_Name(self, node: ast.Name) -> ast.AST:
        value = self.frame.env.get(node.id)
        return self._as_expr(value, node) if value is not None else node

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        value = self.runner.value(node, self.frame)
        if isinstance(value, Sym):
            return self._as_expr(value, node)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if self.calls:
            return self._as_expr(self.runner.call(node, self.frame), node)
        return self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        value = self.runner.value(node.value, self.frame)
        if isinstance(value, Collector):
            return self._as_expr(self.runner.entry(value, _const_str(node.slice)), node)
        return self.generic_visit(node)

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        return node  # its names are its own

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = visit_Lambda  # type: ignore[assignment]


# ------------------------------------------------------------------------------------------ helpers


def _merge(test: ast.expr, a: Value | None, b: Value | None) -> Value:
    """The value of a name after `if test:` assigned `a` in one branch and `b` in the other."""
    if a is None:
        return b  # type: ignore[return-value]
    if b is None or a is b:
        return a
    if isinstance(a, Sym) and isinstance(b, Sym):
        return Sym(ast.IfExp(copy.deepcopy(test), a.expr, b.expr), a.extra | b.extra)
    if (
        isinstance(a, Factory | Sym)
        and isinstance(b, Factory | Sym)
        and (isinstance(a, Factory) or isinstance(b, Factory))
    ):
        fa = a if isinstance(a, Factory) else Factory([_unparse(a.expr)])
        fb = b if isinstance(b, Factory) else Factory([_unparse(b.expr)])
        return Factory(list(dict.fromkeys(fa.classes + fb.classes)), fa.settings + fb.settings)
    if isinstance(a, Collector) and isinstance(b, Collector):
        return Collector(a.kind, a.settings + [s for s in b.settings if s not in a.settings],
                         list(dict.fromkeys(a.classes + b.classes)), a.base or b.base, a.scope or b.scope)  # fmt: skip
    return a


def _merge_returns(returns: list[tuple[list[str], Value]], entry: int) -> Value | None:
    """One value for a function's returns: collectors merged; expressions as a chain of conditionals."""
    if not returns:
        return None
    collectors = [v for _, v in returns if isinstance(v, Collector)]
    if collectors:
        out = collectors[0]
        for other in collectors[1:]:
            out = _merge(ast.Constant(True), out, other)  # type: ignore[assignment]
        return out
    factories = [v for _, v in returns if isinstance(v, Factory)]
    if factories:
        return factories[0]
    result: Value = returns[-1][1]
    for conds, value in reversed(returns[:-1]):
        own = conds[entry:]
        if not own or not isinstance(value, Sym) or not isinstance(result, Sym):
            continue
        tests = [ast.parse(c, mode="eval").body for c in own if _parses(c)]
        if len(tests) != len(own):
            continue
        test = tests[0] if len(tests) == 1 else ast.BoolOp(ast.And(), tests)
        result = Sym(ast.IfExp(test, value.expr, result.expr), value.extra | result.extra)
    return result


class _Built(Sym):
    """A list a loop builds with `.append` (kept through the end of the loop, unlike other loop locals)."""


def _assigned_names(node: ast.AST) -> set[str]:
    out = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = sub.targets if isinstance(sub, ast.Assign) else [sub.target]
            for t in targets:
                out |= {n.id for n in ast.walk(t) if isinstance(n, ast.Name)}
    return out


def _collectors(value: Value | None) -> Iterator[Collector]:
    if isinstance(value, Collector) and value.kind == "provider":
        yield value


def _names_provider(expr: ast.expr) -> bool:
    """An expression naming a provider class (`XModelProvider`, `self.PROVIDER_CLASS`, a choice of them)."""
    for node in ast.walk(expr):
        name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
        if name.endswith("Provider") or name == "PROVIDER_CLASS":
            return True
    return False


def _is_constant(expr: ast.expr, info: ModuleInfo) -> bool:
    """Reads nothing at runtime that depends on the model: literals and module-level names (F.silu, torch.bfloat16)."""
    bound = set()
    for node in ast.walk(expr):
        if isinstance(node, ast.comprehension | ast.Lambda):
            bound |= {n.id for n in ast.walk(node.target if isinstance(node, ast.comprehension) else node.args)
                      if isinstance(n, ast.Name | ast.arg) and hasattr(n, "id")}  # fmt: skip
    for node in ast.walk(expr):
        if isinstance(node, ast.Name) and node.id not in bound:
            if node.id.startswith("<") or node.id in ("self", "provider", "_"):
                return False
            module_level = node.id in info.imports or node.id in info.assignments or node.id in info.functions
            if not module_level and node.id not in info.classes and not hasattr(builtins, node.id):
                return False  # a local of the method the runner could not follow (a loop variable)
    return True


def _is_kwargs_hook(name: str) -> bool:
    """The base's HF config -> kwargs translations (`hf_config_to_provider_kwargs`, newer trees'
    `hf_config_to_model_config_kwargs`): CONFIG_MAPPING and the computed fields."""
    return name.startswith("hf_config_to_") and name.endswith("_kwargs")


def _kwargs_hooks(cls: ast.ClassDef) -> list[str]:
    return [n.name for n in cls.body if isinstance(n, ast.FunctionDef) and _is_kwargs_hook(n.name)]


def _loops(fn: ast.FunctionDef) -> bool:
    return any(isinstance(n, ast.For | ast.While | ast.comprehension) for n in ast.walk(fn))


def _is_name(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _const_str(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _target_names(target: ast.expr) -> list[str]:
    return [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]


def _parses(text: str) -> bool:
    try:
        ast.parse(text, mode="eval")
    except SyntaxError:
        return False
    return True


# ------------------------------------------------------------------------------------------ class-level facts


def provider_run(info: ModuleInfo, cls: ast.ClassDef, loader: ModuleLoader) -> ProviderRun | None:
    """The provider settings of `cls`'s own `provider_bridge`, or of the one it inherits when it overrides
    the HF config -> kwargs hook the inherited one calls; None when it defines neither."""
    if not any(
        isinstance(n, ast.FunctionDef) and n.name == "provider_bridge" for n in cls.body
    ) and not _kwargs_hooks(cls):
        return None
    runner = ProviderRunner(info, cls, loader, base=ProviderRunner.is_base_class(info, cls))
    run = runner.run()
    run.classes = [_qualify_class(runner, info, c) for c in run.classes]
    return run


def _qualify_class(runner: ProviderRunner, info: ModuleInfo, written: str) -> str:
    if not written.replace(".", "").isidentifier():
        return written
    found = runner._resolve(info, written)
    if found and isinstance(found[1], ast.ClassDef):
        return f"{found[0].name}.{found[1].name}"
    return written


def config_mapping_pairs(
    info: ModuleInfo, cls: ast.ClassDef, loader: ModuleLoader
) -> list[tuple[str, str]] | None:
    """The class's CONFIG_MAPPING when it (re)defines one: list literals of pairs, `Base.CONFIG_MAPPING + [...]`."""
    for stmt in cls.body:
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "CONFIG_MAPPING" for t in stmt.targets
        ):
            return _pairs(info, stmt.value, loader, 0)
    return None


def _pairs(info: ModuleInfo, node: ast.expr, loader: ModuleLoader, depth: int) -> list[tuple[str, str]]:
    if depth > 8:
        return []
    if isinstance(node, ast.List | ast.Tuple):
        out = []
        for elt in node.elts:
            if isinstance(elt, ast.Tuple) and len(elt.elts) == 2:
                a, b = elt.elts
                if isinstance(a, ast.Constant) and isinstance(b, ast.Constant):
                    out.append((str(a.value), str(b.value)))
        return out
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _pairs(info, node.left, loader, depth + 1) + _pairs(info, node.right, loader, depth + 1)
    if isinstance(node, ast.Attribute) and node.attr == "CONFIG_MAPPING" and isinstance(node.value, ast.Name):
        found = loader.resolve(info, node.value.id)
        if found and found[1] in found[0].classes:
            pairs = config_mapping_pairs(found[0], found[0].classes[found[1]], loader)
            return pairs or []
    return []


def field_defaults(info: ModuleInfo, cls: ast.ClassDef) -> dict[str, str]:
    """Dataclass field defaults written in a class body (`name: type = value`), as source text."""
    out = {}
    for stmt in cls.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            if isinstance(stmt.value, ast.Call) and _is_name(stmt.value.func, "field"):
                default = next((kw.value for kw in stmt.value.keywords if kw.arg == "default"), None)
                if default is None:
                    continue
                out[stmt.target.id] = info.segment(default, MAX_EXPR)
            else:
                out[stmt.target.id] = info.segment(stmt.value, MAX_EXPR)
    return out
