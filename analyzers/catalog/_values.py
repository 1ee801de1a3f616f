"""Abstract values of the static registry evaluator (see ``registry.py``).

Plain Python values stand for themselves: ``str``, ``int``, ``float``, ``bool``, ``None``, ``list``,
``tuple``, ``dict`` and ``set``. The classes here stand for what the evaluator cannot hold as a plain
value: a runtime value (``Unknown``), a value that depends on a condition (``Choice``), a mapping
object (``MappingValue``), a registry (``RegistryValue``) and the callables it meets on the way.

A condition is a tuple of atoms (source text of an ``if`` test, or ``not (<test>)``), read as their
conjunction; conditions are absolute (they hold every enclosing test), so combining two is a union.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from analyzers.catalog.modules import ModuleInfo
from analyzers.catalog.records import Location

Cond = tuple[str, ...]

#: alternatives kept in one Choice before it collapses to Unknown
MAX_ALTERNATIVES = 64


def negate(atom: str) -> str:
    return atom[5:-1] if atom.startswith("not (") and atom.endswith(")") else f"not ({atom})"


def merge_conds(a: Cond, b: Cond) -> Cond | None:
    """Conjunction of two conditions, or None when it holds an atom and its negation.

    >>> merge_conds(("x",), ("y", "x"))
    ('x', 'y')
    >>> merge_conds(("x",), ("not (x)",)) is None
    True
    """
    if not b or a == b:
        return a
    out = list(a)
    for atom in b:
        if atom not in out:
            out.append(atom)
    atoms = set(out)
    if any(negate(atom) in atoms for atom in out):
        return None
    return tuple(out)


def disjunction(a: Cond, b: Cond) -> Cond | str:
    """The disjunction of two conditions, simplified where one implies the other or they differ by a negation.

    >>> disjunction(("x", "y"), ("x", "not (y)"))
    ('x',)
    >>> disjunction(("x",), ("y",))
    '(x) or (y)'
    """
    if not a or not b:
        return ()
    sa, sb = set(a), set(b)
    if sa <= sb:
        return a
    if sb <= sa:
        return b
    only_a, only_b = sa - sb, sb - sa
    if len(only_a) == 1 and len(only_b) == 1 and negate(next(iter(only_a))) == next(iter(only_b)):
        return tuple(x for x in a if x in sb)
    return f"({' and '.join(a)}) or ({' and '.join(b)})"


class EvalLimit(Exception):
    """Raised when the evaluation budget is spent (keeps the evaluator from hanging)."""


@dataclass(eq=False)
class Unknown:
    """A value only known at runtime; `text` is its source or a template such as ``mtp.layers.{i}.x``."""

    text: str
    location: Location | None = None  #: where it was first produced
    #: `text` is a string with placeholders (``mtp.layers.{mtp_layer}.x``), not an expression
    template: bool = False


@dataclass(eq=False)
class Choice:
    """A value that depends on conditions: each alternative holds under its (absolute) condition."""

    alts: list[tuple[Cond, Any]]


@dataclass(eq=False)
class MappingValue:
    """A mapping object built by a constructor call of a mapping class."""

    mapping_class: str
    megatron_param: Any
    hf: dict[str, Any]  #: role -> value (str, Unknown, Choice, dict, list)
    location: Location
    cond: Cond  #: conditions in force at the constructor call
    via: str | None
    source: str

    def get_attr(self, name: str) -> Any:
        if name == "megatron_param":
            return self.megatron_param
        if name == "hf_param":
            return self.hf["hf_param"] if set(self.hf) == {"hf_param"} else self.hf
        return self.hf.get(name, Unknown(f"<{self.mapping_class}>.{name}"))

    def set_attr(self, name: str, value: Any) -> None:
        if name == "megatron_param":
            self.megatron_param = value
        elif name == "hf_param" and isinstance(value, dict):
            self.hf = value
        elif name == "hf_param" or name in self.hf:
            self.hf[name] = value


@dataclass(eq=False)
class RegistryValue:
    """``MegatronMappingRegistry(...)``: its arguments, not yet flattened."""

    items: list[Any]


@dataclass(eq=False)
class InheritedRegistry:
    """``super().mapping_registry()``: the base's mappings, which the catalog builder merges."""

    base: str


@dataclass(eq=False)
class InheritedMarker:
    """Stands for the base registry's mappings inside a list (``list(super().mapping_registry().mappings)``)."""

    base: str


@dataclass(eq=False)
class ClassValue:
    """A class of the tree (or one defined inside a function); `scope` resolves names in its bases."""

    module: ModuleInfo
    node: ast.ClassDef
    scope: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return self.node.name


@dataclass(eq=False)
class SelfValue:
    """``self`` (or ``cls``) inside the bridge's methods: attribute lookups dispatch on `cls`."""

    cls: ClassValue
    is_class: bool = False


@dataclass(eq=False)
class FunctionValue:
    module: ModuleInfo
    node: ast.FunctionDef
    owner: ClassValue | None = None  #: class defining it (for super() inside it)
    bound: Any = None  #: self / cls bound as first argument, when any
    kind: str = "function"  #: "function" | "method" | "staticmethod" | "classmethod"
    closure: dict[str, Any] | None = None


@dataclass(eq=False)
class ModuleRef:
    module: ModuleInfo


@dataclass(eq=False)
class Builtin:
    """A builtin function or a method of a plain value (``list.append`` bound to its list)."""

    name: str
    fn: Callable[..., Any]


@dataclass(eq=False)
class SuperValue:
    owner: ClassValue
    self_value: Any


@dataclass
class Tally:
    """The step budget of one evaluation."""

    steps: int = 0
    limit: int = 300_000

    def step(self) -> None:
        self.steps += 1
        if self.steps > self.limit:
            raise EvalLimit("evaluation budget exceeded")


def alternatives(value: Any, cond: Cond = ()) -> list[tuple[Cond, Any]]:
    """The (condition, plain value) alternatives of a value; nested Choices are flattened."""
    if not isinstance(value, Choice):
        return [(cond, value)]
    out: list[tuple[Cond, Any]] = []
    for alt_cond, alt in value.alts:
        merged = merge_conds(cond, alt_cond)
        if merged is not None:
            out.extend(alternatives(alt, merged))
    return out


def make_choice(alts: list[tuple[Cond, Any]], base: Cond = ()) -> Any:
    """A Choice of `alts`, simplified: equal alternatives fold, a single one under `base` is plain."""
    flat: list[tuple[Cond, Any]] = []
    for cond, value in alts:
        flat.extend(alternatives(value, cond))
    if not flat:
        return Unknown("<no value>")
    first = flat[0][1]
    if all(_same(v, first) for _, v in flat) and any(c == base for c, _ in flat):
        return first
    if len(flat) == 1 and flat[0][0] == base:
        return first
    if len(flat) > MAX_ALTERNATIVES:
        return Unknown("<too many alternatives>")
    return Choice(flat)


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    return type(a) is type(b) and isinstance(a, str | int | float | bool) and a == b


def lift(fn: Callable[..., Any], *values: Any) -> Any:
    """Apply `fn` to every combination of the alternatives of `values` (a Choice in, a Choice out)."""
    if not any(isinstance(v, Choice) for v in values):
        return fn(*values)
    combos: list[tuple[Cond, Any]] = []
    for parts in itertools.islice(
        itertools.product(*(alternatives(v) for v in values)), MAX_ALTERNATIVES + 1
    ):
        cond: Cond | None = ()
        for part_cond, _ in parts:
            cond = merge_conds(cond, part_cond) if cond is not None else None
        if cond is not None:
            combos.append((cond, fn(*(v for _, v in parts))))
    if len(combos) > MAX_ALTERNATIVES:
        return Unknown("<too many alternatives>")
    return make_choice(combos)
