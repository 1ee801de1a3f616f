"""Evaluate a recorded provider setting (an expression over ``hf_config``) against a new model's config.

Safe by construction: the expression is walked node by node (stdlib ast), never compiled; only literals,
arithmetic, comparisons, boolean logic, conditionals, subscripts, comprehensions over known values,
`getattr`/`hasattr`/`isinstance`/`len` and a few builtins, and the Megatron-Bridge helpers the catalog keeps as
calls (`rope_theta_from_hf`, `self.hf_to_megatron_activation`, ...) are evaluated. Everything else is
`UNKNOWN`, which spreads. A plain attribute read of a field the config lacks raises `MissingField`, as it
raises AttributeError when the bridge loads the model; `getattr(cfg, "x", d)` and `hasattr` do not.

The config is read as transformers 5 exposes it: `rope_scaling` answers with `rope_parameters` (and the
reverse), sub-configs (`text_config`, ...) are objects, other dicts are dicts.

>>> cfg = {"model_type": "x", "rms_norm_eps": 1e-6, "rope_parameters": {"rope_theta": 1e4, "rope_type": "default"}}
>>> evaluate("hf_config.rms_norm_eps", cfg).value
1e-06
>>> evaluate("rope_theta_from_hf(hf_config)", cfg).value
10000.0
>>> evaluate("hf_config.layer_norm_eps", cfg).missing
'layer_norm_eps'
"""

from __future__ import annotations

import ast
import math
import operator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from analyzers.catalog.provider_settings import CFG, SUB_CONFIGS


class _Unknown:
    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        raise TypeError("UNKNOWN has no truth value")


UNKNOWN: Any = _Unknown()


@dataclass(frozen=True)
class Symbol:
    """A module-level name the expression uses as a value (``F.silu``, ``torch.bfloat16``, ``"RMSNorm"`` is a str)."""

    name: str

    def __repr__(self) -> str:
        return self.name


class MissingField(Exception):
    """A plain read of a config field the config lacks (AttributeError at load time)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class Unsupported(Exception):
    """A helper the bridge calls rejects the value (an activation MB's ACTIVATION_FUNC_MAP lacks)."""


#: fields every transformers config answers (PretrainedConfig attributes), read as unknown when absent
ALWAYS_PRESENT = frozenset(
    """tie_word_embeddings torch_dtype dtype architectures model_type use_cache output_attentions
    output_hidden_states return_dict is_encoder_decoder bos_token_id eos_token_id pad_token_id
    initializer_range name_or_path""".split()
)
#: transformers 5 keeps rope settings in `rope_parameters` and answers `rope_scaling` with the same dict
ALIASES = {"rope_scaling": "rope_parameters", "rope_parameters": "rope_scaling"}


@dataclass
class Outcome:
    """What a setting comes to for one config."""

    value: Any = UNKNOWN  #: the value, or UNKNOWN
    applies: bool | None = True  #: whether its condition holds (None: cannot tell)
    missing: str | None = None  #: a field a plain read needs and the config lacks
    unsupported: str | None = None  #: why a helper of the bridge rejects the config
    #: config fields read that the config has, with a value that is not a dict (what the value came from)
    read: set[str] = field(default_factory=set)
    #: fields the config lacks whose default (`getattr(cfg, "x", d)`, `d.get("k", d)`) the value used
    defaulted: set[str] = field(default_factory=set)
    #: the same for the condition (a branch chosen because the config lacks a field)
    condition_defaulted: set[str] = field(default_factory=set)


class Config:
    """A config dict read as a transformers config object."""

    def __init__(self, data: dict[str, Any], path: str = "", reads: set[str] | None = None) -> None:
        self.data = data
        self.path = path
        self.reads = reads if reads is not None else set()

    def lookup(self, name: str) -> tuple[bool, Any]:
        key = name if name in self.data else ALIASES.get(name) if ALIASES.get(name) in self.data else None
        if key is None:
            return False, None
        value = self.data[key]
        if name in SUB_CONFIGS or name.endswith("_config"):
            if isinstance(value, dict):
                return True, Config(value, name, self.reads)
        if not isinstance(value, dict):
            self.reads.add(name)
        return True, _Dict(value, name, self.reads) if isinstance(value, dict) else value


class _Dict(dict):
    """A dict-valued field; reading a key records ``field.key``."""

    def __init__(self, data: dict, path: str, reads: set[str]) -> None:
        super().__init__(data)
        self.path = path
        self.reads = reads

    def read(self, key: Any) -> None:
        if key in self and not isinstance(dict.__getitem__(self, key), dict):
            self.reads.add(f"{self.path}.{key}")


_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}  # fmt: skip
_CMPOPS = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
           ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Is: operator.is_, ast.IsNot: operator.is_not,
           ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b}  # fmt: skip
_BUILTINS = {"len": len, "int": int, "float": float, "bool": bool, "str": str, "list": list, "tuple": tuple,
             "min": min, "max": max, "abs": abs, "sum": sum, "any": any, "all": all, "sorted": sorted,
             "round": round, "dict": dict, "set": set}  # fmt: skip


@lru_cache(maxsize=8192)
def _parse(text: str) -> ast.expr | None:
    try:
        return ast.parse(text, mode="eval").body
    except SyntaxError:
        return None


@dataclass(frozen=True)
class BridgeContext:
    """What `self` answers while a bridge's settings are evaluated: its PROVIDER_CLASS and whether that is MLA."""

    provider_class: str | None = None
    mla: bool = False


class Evaluator:
    def __init__(
        self,
        config: dict[str, Any],
        activation_map: dict[str, str] | None = None,
        bridge: BridgeContext | None = None,
    ) -> None:
        self.bridge = bridge
        self.reads: set[str] = set()
        #: absent fields whose non-empty default the value took (a None / {} / [] default is only a probe)
        self.defaulted: set[str] = set()
        #: absent config fields a getattr looked up, whatever its default (a condition's branch choice)
        self.probed: set[str] = set()
        self.root = Config(config, "", self.reads)
        self.activation_map = activation_map or {}
        self.env: dict[str, Any] = {}

    # -- entry points

    def value(self, text: str) -> Any:
        node = _parse(text)
        return UNKNOWN if node is None else self.eval(node)

    def eval(self, node: ast.expr) -> Any:
        method = getattr(self, f"_{type(node).__name__}", None)
        return method(node) if method else UNKNOWN

    # -- nodes

    def _Constant(self, node: ast.Constant) -> Any:
        return node.value

    def _Name(self, node: ast.Name) -> Any:
        if node.id == CFG:
            return self.root
        if node.id in self.env:
            return self.env[node.id]
        if node.id.startswith("<") or node.id in ("self", "provider", "_", "cls"):
            return UNKNOWN
        return Symbol(node.id)

    def _Attribute(self, node: ast.Attribute) -> Any:
        if _is_self(node.value) and node.attr == "PROVIDER_CLASS" and self.bridge is not None:
            return Symbol(self.bridge.provider_class) if self.bridge.provider_class else None
        owner = self.eval(node.value)
        if isinstance(owner, Config):
            found, value = owner.lookup(node.attr)
            if found:
                return value
            if node.attr in ALWAYS_PRESENT or node.attr.startswith("_"):
                return UNKNOWN
            raise MissingField(node.attr)
        if isinstance(owner, Symbol):
            return Symbol(f"{owner.name}.{node.attr}")
        return UNKNOWN

    def _Subscript(self, node: ast.Subscript) -> Any:
        owner = self.eval(node.value)
        key = self.eval(node.slice)
        if owner is UNKNOWN or key is UNKNOWN:
            return UNKNOWN
        if isinstance(owner, _Dict):
            owner.read(key)
            if key not in owner:
                raise MissingField(f"{owner.path}.{key}")
            value = dict.__getitem__(owner, key)
            return _Dict(value, f"{owner.path}.{key}", owner.reads) if isinstance(value, dict) else value
        try:
            return owner[key]
        except (TypeError, KeyError, IndexError):
            return UNKNOWN

    def _Tuple(self, node: ast.Tuple) -> Any:
        return tuple(self.eval(e) for e in node.elts)

    def _List(self, node: ast.List) -> Any:
        return [self.eval(e) for e in node.elts]

    def _Dict(self, node: ast.Dict) -> Any:
        out = {}
        for k, v in zip(node.keys, node.values, strict=True):
            if k is None:
                return UNKNOWN
            key = self.eval(k)
            if key is UNKNOWN:
                return UNKNOWN
            out[key] = self.eval(v)
        return out

    def _UnaryOp(self, node: ast.UnaryOp) -> Any:
        value = self.eval(node.operand)
        if value is UNKNOWN:
            return UNKNOWN
        if isinstance(node.op, ast.Not):
            return not _truth(value)
        if isinstance(node.op, ast.USub) and isinstance(value, int | float):
            return -value
        return UNKNOWN

    def _BinOp(self, node: ast.BinOp) -> Any:
        a, b = self.eval(node.left), self.eval(node.right)
        op = _BINOPS.get(type(node.op))
        if a is UNKNOWN or b is UNKNOWN or op is None or _unknown_inside(a) or _unknown_inside(b):
            return UNKNOWN
        try:
            return op(a, b)
        except Exception:  # noqa: BLE001 - a type or arithmetic error of the config's values: unknown
            return UNKNOWN

    def _BoolOp(self, node: ast.BoolOp) -> Any:
        is_and = isinstance(node.op, ast.And)
        result: Any = None
        unsure = False
        for sub in node.values:
            result = self.eval(sub)
            if result is UNKNOWN:
                unsure = True
                continue
            truth = _truth(result)
            if is_and and not truth or not is_and and truth:
                return result
        return UNKNOWN if unsure else result

    def _Compare(self, node: ast.Compare) -> Any:
        left = self.eval(node.left)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = self.eval(right_node)
            if left is UNKNOWN or right is UNKNOWN:
                return UNKNOWN
            if isinstance(op, ast.In | ast.NotIn):
                if isinstance(right, Config):
                    found = right.lookup(left)[0] if isinstance(left, str) else False
                    ok = found if isinstance(op, ast.In) else not found
                elif isinstance(right, _Dict):
                    right.read(left)
                    ok = _CMPOPS[type(op)](left, right)
                else:
                    try:
                        ok = _CMPOPS[type(op)](left, right)
                    except TypeError:
                        return UNKNOWN
            else:
                try:
                    ok = _CMPOPS[type(op)](left, right)
                except TypeError:
                    return UNKNOWN
            if not ok:
                return False
            left = right
        return True

    def _IfExp(self, node: ast.IfExp) -> Any:
        test = self.eval(node.test)
        if test is UNKNOWN:
            return UNKNOWN
        return self.eval(node.body if _truth(test) else node.orelse)

    def _ListComp(self, node: ast.ListComp) -> Any:
        if len(node.generators) != 1 or not isinstance(node.generators[0].target, ast.Name):
            return UNKNOWN
        gen = node.generators[0]
        items = self.eval(gen.iter)
        if items is UNKNOWN or not isinstance(items, list | tuple | range):
            return UNKNOWN
        name, out = gen.target.id, []
        saved = self.env.get(name)
        for item in items:
            self.env[name] = item
            if all(_truth(self.eval(c)) for c in gen.ifs):
                out.append(self.eval(node.elt))
        if saved is None:
            self.env.pop(name, None)
        else:
            self.env[name] = saved
        return out

    def _Call(self, node: ast.Call) -> Any:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else None
        if name in ("getattr", "hasattr") and len(node.args) >= 2:
            owner, key = self.eval(node.args[0]), self.eval(node.args[1])
            if isinstance(owner, Config) and isinstance(key, str):
                found, value = owner.lookup(key)
                if name == "hasattr":
                    return found or (UNKNOWN if key in ALWAYS_PRESENT else False)
                if found:
                    return value
                if len(node.args) > 2:
                    self.probed.add(key)
                    default = self.eval(node.args[2])
                    if not _probe(default):
                        self.defaulted.add(key)
                    return default
                return UNKNOWN if key in ALWAYS_PRESENT else self._missing(key)
            return UNKNOWN
        if name == "issubclass" and len(node.args) == 2 and self.bridge is not None:
            base = ast.unparse(node.args[1])
            return self.bridge.mla if base.endswith("MLAModelProvider") else UNKNOWN
        if name == "isinstance" and len(node.args) == 2:
            value, kind = self.eval(node.args[0]), node.args[1]
            kinds = {
                "dict": dict,
                "list": list,
                "int": int,
                "float": float,
                "str": str,
                "tuple": tuple,
                "bool": bool,
            }
            names = [e.id for e in kind.elts] if isinstance(kind, ast.Tuple) else [getattr(kind, "id", "")]
            if value is UNKNOWN or not all(n in kinds for n in names):
                return UNKNOWN
            return isinstance(value, tuple(kinds[n] for n in names))
        if isinstance(func, ast.Attribute):
            owner = self.eval(func.value) if not _is_self(func.value) else None
            if _is_self(func.value):
                return self._bridge_method(func.attr, node)
            if isinstance(owner, dict) and func.attr in ("get", "keys", "values", "items"):
                args = [self.eval(a) for a in node.args]
                if any(a is UNKNOWN for a in args):
                    return UNKNOWN
                if func.attr == "get":
                    if isinstance(owner, _Dict):
                        owner.read(args[0])
                        if args and args[0] not in owner and len(args) > 1 and not _probe(args[1]):
                            self.defaulted.add(f"{owner.path}.{args[0]}")
                    value = owner.get(*args)
                    if isinstance(value, dict) and isinstance(owner, _Dict):
                        return _Dict(value, f"{owner.path}.{args[0]}", owner.reads)
                    return value
                return list(getattr(owner, func.attr)())
            if isinstance(owner, Config) and func.attr in ("to_dict", "to_json_string", "get_text_config"):
                return UNKNOWN
            return self._opaque(node)
        if name in HELPERS:
            return HELPERS[name](self, node)
        if name in _BUILTINS:
            args = [self.eval(a) for a in node.args]
            if any(a is UNKNOWN or _unknown_inside(a) for a in args) or node.keywords:
                return UNKNOWN
            try:
                return _BUILTINS[name](*args)
            except Exception:  # noqa: BLE001 - a builtin refusing the config's value: unknown
                return UNKNOWN
        return self._opaque(node)

    def _opaque(self, node: ast.Call) -> Any:
        """A call whose result is unknown (``math.sqrt(...)``): its arguments are still evaluated, as Python
        does before the call, so a plain read of a field the config lacks is reported as missing."""
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            self.eval(arg.value if isinstance(arg, ast.Starred) else arg)
        return UNKNOWN

    def _missing(self, key: str) -> Any:
        raise MissingField(key)

    def _bridge_method(self, name: str, node: ast.Call) -> Any:
        if name == "hf_to_megatron_activation" and node.args:
            act = self.eval(node.args[0])
            if act is UNKNOWN or not self.activation_map:
                return UNKNOWN
            if act not in self.activation_map:
                raise Unsupported(f"activation {act!r} is not in MB's ACTIVATION_FUNC_MAP")
            return Symbol(self.activation_map[act])
        return UNKNOWN


def _probe(default: Any) -> bool:
    """A default that only marks absence (None, {}, [], ()), not a value of the teacher's own model."""
    return default is None or (isinstance(default, dict | list | tuple) and not default)


def _is_self(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id in ("self", "cls")


def _truth(value: Any) -> bool:
    if isinstance(value, Config):
        return True
    return bool(value)


def _unknown_inside(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return any(v is UNKNOWN or _unknown_inside(v) for v in value)
    return False


# -------------------------------------------------------------------------------- MB helpers, by name


def _rope_params(ev: Evaluator, node: ast.Call) -> tuple[Config | None, dict]:
    cfg = ev.eval(node.args[0]) if node.args else None
    if not isinstance(cfg, Config):
        return None, {}
    found, params = cfg.lookup("rope_parameters")
    return cfg, params if found and isinstance(params, dict) else {}


def _rope_theta(ev: Evaluator, node: ast.Call) -> Any:
    """`rope_theta_from_hf`: `rope_theta`, else `rope_parameters["rope_theta"]` (also its global / full
    attention entry)."""
    cfg, params = _rope_params(ev, node)
    if cfg is None:
        return UNKNOWN
    if cfg.lookup("rope_theta")[0] and "rope_theta" in cfg.data:
        return cfg.lookup("rope_theta")[1]
    for scope in (params, params.get("global"), params.get("full_attention")):
        if isinstance(scope, dict) and "rope_theta" in scope:
            if isinstance(scope, _Dict):
                scope.read("rope_theta")
            else:
                ev.reads.add("rope_parameters.rope_theta")
            return dict.__getitem__(scope, "rope_theta") if isinstance(scope, _Dict) else scope["rope_theta"]
    return UNKNOWN


def _rope_local_base(ev: Evaluator, node: ast.Call) -> Any:
    """`rope_local_base_freq_from_hf`: `rope_local_base_freq`, else the local / sliding attention theta."""
    cfg, params = _rope_params(ev, node)
    if cfg is None:
        return UNKNOWN
    if "rope_local_base_freq" in cfg.data:
        return cfg.lookup("rope_local_base_freq")[1]
    for key in ("local", "sliding_attention"):
        scope = params.get(key)
        if isinstance(scope, dict) and "rope_theta" in scope:
            ev.reads.add(f"rope_parameters.{key}.rope_theta")
            return scope["rope_theta"]
    return UNKNOWN


def _rope_factor(ev: Evaluator, node: ast.Call) -> Any:
    """`rope_scaling_factor_from_hf(cfg, default)`: `rope_scaling["factor"]` / `rope_parameters["factor"]`."""
    cfg, params = _rope_params(ev, node)
    default = next((ev.eval(k.value) for k in node.keywords if k.arg == "default"), None)
    if default is None:
        default = ev.eval(node.args[1]) if len(node.args) > 1 else 1.0
    if cfg is None:
        return UNKNOWN
    if "factor" in params:
        ev.reads.add("rope_parameters.factor")
        return params["factor"]
    return default


def _full_attention_interval(ev: Evaluator, node: ast.Call) -> Any:
    cfg = ev.eval(node.args[0]) if node.args else None
    if not isinstance(cfg, Config):
        return UNKNOWN
    found, types = cfg.lookup("layer_types")
    if found and isinstance(types, list) and "full_attention" in types:
        return types.index("full_attention") + 1
    found, interval = cfg.lookup("full_attention_interval")
    return interval if found else UNKNOWN


HELPERS = {
    "rope_theta_from_hf": _rope_theta,
    "rope_local_base_freq_from_hf": _rope_local_base,
    "rope_scaling_factor_from_hf": _rope_factor,
    "full_attention_interval_from_hf": _full_attention_interval,
}


def evaluate(
    value: str,
    config: dict[str, Any],
    condition: str | None = None,
    activation_map: dict[str, str] | None = None,
    bridge: BridgeContext | None = None,
) -> Outcome:
    """What `value` (applied under `condition`) comes to for `config`."""
    out = Outcome()
    if condition:
        cond_ev = Evaluator(config, activation_map, bridge)
        try:
            result = cond_ev.value(condition)
            out.applies = None if result is UNKNOWN else bool(_truth(result))
            out.condition_defaulted = set(cond_ev.probed)
        except MissingField as exc:
            out.applies, out.missing = None, exc.name
        except Unsupported:
            out.applies = None
        if out.applies is False:
            return out
    ev = Evaluator(config, activation_map, bridge)
    try:
        out.value = ev.value(value)
    except MissingField as exc:
        out.missing = out.missing or exc.name
        out.value = UNKNOWN
    except Unsupported as exc:
        out.unsupported = str(exc)
        out.value = UNKNOWN
    out.read = set(ev.reads)
    out.defaulted = set(ev.defaulted)
    if isinstance(out.value, _Dict):
        out.value = dict(out.value)
    return out


def plain(value: Any) -> Any:
    """A JSON-ready form of an evaluated value (symbols by name, floats kept, UNKNOWN as None)."""
    if value is UNKNOWN:
        return None
    if isinstance(value, Symbol):
        return value.name
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def same(a: Any, b: Any) -> bool:
    """Equal as provider values (tuples and lists alike, ints and floats alike)."""
    if a is UNKNOWN or b is UNKNOWN:
        return False
    return plain(a) == plain(b)
