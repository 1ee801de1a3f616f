"""What the registry evaluator reads from syntax alone: callee names, decorator kinds, `__init__` signatures."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from analyzers.catalog._values import ClassValue, FunctionValue
from analyzers.catalog.modules import ModuleInfo


@dataclass(frozen=True)
class InitSignature:
    """What the nearest named ``__init__`` of a mapping class says about its arguments."""

    params: list[str]  #: positional parameters, without self
    annotations: dict[str, str]  #: parameter -> annotation source text
    megatron_name: str  #: the parameter that is the Megatron pattern
    vararg: str | None  #: name of `*args`, when present
    #: names passed on to ``super().__init__`` (only those can be HF patterns); None without such a call
    passed: set[str] | None


def function_value(module: ModuleInfo, node: ast.FunctionDef, owner: ClassValue | None) -> FunctionValue:
    """A function or method of the tree, of the kind its decorators make it (staticmethod, property, ...)."""
    kind = "method" if owner is not None else "function"
    for decorator in node.decorator_list:
        name = callee_name(decorator)
        if name in ("staticmethod", "classmethod", "property"):
            kind = name
        elif name in ("cached_property",):
            kind = "property"
    return FunctionValue(module, node, owner=owner, kind=kind)


def _super_init_call(init: ast.FunctionDef) -> ast.Call | None:
    for node in ast.walk(init):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "__init__"
            and isinstance(node.func.value, ast.Call)
            and callee_name(node.func.value.func) == "super"
        ):
            return node
    return None


def _super_init_names(init: ast.FunctionDef) -> set[str] | None:
    """Names an ``__init__`` passes on to ``super().__init__`` (None without such a call).

    Only those can be parameter patterns: the others configure the mapping (``slice_name="text"``).
    """
    call = _super_init_call(init)
    if call is None:
        return None
    parts = [*call.args, *(kw.value for kw in call.keywords)]
    return {n.id for part in parts for n in ast.walk(part) if isinstance(n, ast.Name)}


def _super_megatron_arg(init: ast.FunctionDef) -> str | None:
    """The parameter an ``__init__`` passes on as ``megatron_param`` to ``super().__init__``."""
    node = _super_init_call(init)
    if node is None:
        return None
    for kw in node.keywords:
        if kw.arg == "megatron_param" and isinstance(kw.value, ast.Name):
            return kw.value.id
    if node.args and isinstance(node.args[0], ast.Name):
        return node.args[0].id
    return None


def callee_name(node: ast.expr) -> str:
    """The last name of a callee or decorator.

    >>> callee_name(ast.parse("functools.cached_property(f)", mode="eval").body)
    'cached_property'
    """
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):
        return callee_name(node.func)
    return ""


def read_init_signature(init: ast.FunctionDef) -> InitSignature:
    """What a mapping class's `__init__` says about its arguments (which one is the Megatron pattern).

    >>> init = ast.parse("def __init__(self, megatron_param, q, k, v, slice_name='x'):\\n"
    ...                  "    super().__init__(megatron_param, {'q': q, 'k': k, 'v': v})").body[0]
    >>> signature = read_init_signature(init)
    >>> signature.params, signature.megatron_name, sorted(signature.passed)
    (['megatron_param', 'q', 'k', 'v', 'slice_name'], 'megatron_param', ['k', 'megatron_param', 'q', 'v'])
    """
    spec = init.args
    params = [p.arg for p in [*spec.posonlyargs, *spec.args][1:]]
    every = [*spec.posonlyargs, *spec.args, *spec.kwonlyargs]
    annotations = {p.arg: ast.unparse(p.annotation) for p in every if p.annotation is not None}
    names = params + [p.arg for p in spec.kwonlyargs]
    megatron_name = (
        "megatron_param"
        if "megatron_param" in names
        else _super_megatron_arg(init) or (names[0] if names else "")
    )
    return InitSignature(
        params=params,
        annotations=annotations,
        megatron_name=megatron_name,
        vararg=spec.vararg.arg if spec.vararg else None,
        passed=_super_init_names(init),
    )


def attribute_reads(tree: ast.AST) -> Iterator[tuple[ast.expr, ast.expr, str]]:
    """(node, owner, name) of every read of a named attribute in `tree`: `owner.name` loads and
    `getattr(owner, "name", ...)` / `hasattr(owner, "name")` calls (the HF config reads of a bridge)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            yield node, node.value, node.attr
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "hasattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
        ):
            yield node, node.args[0], node.args[1].value
