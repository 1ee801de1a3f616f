"""A spec's Transformer Engine modules -> their Megatron-Core local twins, shared by the layer-spec swap
(`_te_free`) and the VLM `provide()` patches (`_te_free_vision`).

`te_twins` names each TE wrapper's twin (one for one, the same parameter names); `Relinker` replaces the TE
wrappers in a spec and rebuilds a bridge class whose base is a TE wrapper from its own class body
(`class_body`) on the twin, its functions reading the relinked module globals (`with_globals`).
"""

from __future__ import annotations

import dataclasses
import inspect
import types
from collections.abc import Callable
from functools import partial
from typing import Any

from codemods.smoke._errors import SmokeSetupError

__all__ = ["TE_MODULE", "Relinker", "class_body", "te_twins", "with_globals"]

#: Megatron-Core's TE wrappers (in `megatron.core.extensions.transformer_engine`) -> their local twins.
_TWIN_NAMES = {
    "TENorm": ("codemods.smoke._local_modules", "TEFreeNorm"),
    "TELayerNormColumnParallelLinear": ("codemods.smoke._local_modules", "LayerNormColumnParallelLinear"),
    "TEColumnParallelLinear": ("megatron.core.tensor_parallel", "ColumnParallelLinear"),
    "TERowParallelLinear": ("megatron.core.tensor_parallel", "RowParallelLinear"),
    "TEDotProductAttention": ("codemods.smoke._local_modules", "LocalDotProductAttention"),
}
TE_MODULE = "megatron.core.extensions.transformer_engine"


def te_twins() -> dict[int, tuple[Any, type, str]]:
    """id(TE wrapper) -> (the wrapper, its local twin, its name), for the wrappers with a twin."""
    import importlib

    te_ext = importlib.import_module(TE_MODULE)
    twins = {}
    for te_name, (module, name) in _TWIN_NAMES.items():
        te_obj = getattr(te_ext, te_name, None)
        if te_obj is not None:
            twins[id(te_obj)] = (te_obj, getattr(importlib.import_module(module), name), te_name)
    return twins


def class_body(obj: Any) -> tuple[str, str, tuple[Any, ...], dict[str, Any]] | None:
    """(module, qualname, bases, namespace) of a class whose base was a TE mock, else None.

    Without TE, Megatron-Core defines its TE wrappers on `unittest.mock.MagicMock` objects, so a
    `class X(TEWrapper): ...` statement calls `MagicMock("X", bases, namespace)`: the result is a
    mock whose spec is the name, whose side effect iterates the bases and whose return value is the
    class namespace, with its methods and an unfilled `__class__` cell.
    """
    from unittest import mock

    if not isinstance(obj, mock.NonCallableMock):
        return None
    namespace = obj._mock_return_value
    effect = obj._mock_side_effect
    if not isinstance(namespace, dict) or "__qualname__" not in namespace or effect is None:
        return None
    reduced = effect.__reduce__()  # (iter, (bases,), position): the bases, however far it was consumed
    bases = reduced[1][0] if len(reduced) > 1 and reduced[1] else ()
    return namespace.get("__module__", "?"), namespace["__qualname__"], tuple(bases), namespace


class Relinker:
    """Replaces TE wrappers in a spec by their twins and rebuilds bridge classes on those twins."""

    _rebuilt: dict[int, type] = {}  # one rebuild per TE-based class per process (its __class__ cell)
    _globals: dict[str, dict[str, Any]] = {}

    def __init__(self, note: Callable[[str], None], config: Any = None) -> None:
        self.note = note
        self.config = config
        self.twins = te_twins()

    def spec(self, obj: Any) -> Any:
        """`obj` (a spec, submodules, partial, list ...) with every TE module replaced."""
        if isinstance(obj, type) or class_body(obj) is not None or id(obj) in self.twins:
            return self.local(obj)
        if isinstance(obj, partial):
            return partial(
                self.spec(obj.func),
                *(self.spec(a) for a in obj.args),
                **{k: self.spec(v) for k, v in obj.keywords.items()},
            )
        if isinstance(obj, list | tuple):
            return type(obj)(self.spec(v) for v in obj)
        if isinstance(obj, dict):
            return {k: self.spec(v) for k, v in obj.items()}
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            changes = {}
            for field in dataclasses.fields(obj):
                value = getattr(obj, field.name)
                new = self.spec(value)
                if new is not value:
                    changes[field.name] = new
            return dataclasses.replace(obj, **changes) if changes else obj
        return obj

    def local(self, obj: Any) -> Any:
        """The local twin of a TE wrapper, a bridge class rebuilt on twins, or `obj` itself."""
        entry = self.twins.get(id(obj))
        if entry is not None and entry[0] is obj:
            twin = entry[1]
            self.note(f"{entry[2]} -> {twin.__name__} (Megatron-Core local, same function)")
            return twin
        body = class_body(obj)
        if body is None:
            return obj
        if id(obj) in self._rebuilt:
            cls = self._rebuilt[id(obj)]
            self.note(
                f"{body[1]} rebuilt on {', '.join(b.__name__ for b in cls.__bases__)} (its own class body)"
            )
            self._check_norm_eps(body[1], body[3])
            return cls
        module, qualname, bases, namespace = body
        if module == TE_MODULE or not bases:
            # A TE wrapper without a twin, or a mock called twice (its bases iterator is then spent).
            raise SmokeSetupError(
                f"needs Transformer Engine's {qualname} (no Megatron-Core local equivalent)"
            )
        local_bases = tuple(self.local(b) for b in bases)
        for base in local_bases:
            if not isinstance(base, type):
                raise SmokeSetupError(f"{qualname}: its base {_name(base)} needs Transformer Engine")
        ns = dict(namespace)
        cls = type(qualname.rsplit(".", 1)[-1], local_bases, ns)  # fills the body's __class__ cell
        self._rebuilt[id(obj)] = cls
        relinked = self._module_globals(module, _global_names(namespace))
        for attr, value in namespace.items():
            new = with_globals(value, relinked)
            if new is not value:
                setattr(cls, attr, new)
        self.note(f"{qualname} rebuilt on {', '.join(b.__name__ for b in local_bases)} (its own class body)")
        self._check_norm_eps(qualname, namespace)
        return cls

    def _check_norm_eps(self, qualname: str, namespace: dict[str, Any]) -> None:
        """Name a `TENorm(...)` built without eps (TE's default 1e-5) where the config says otherwise:
        the twin computes what TE computes, so the report says why HF may differ."""
        eps = getattr(self.config, "layernorm_epsilon", None)
        if eps is None or eps == _TENORM_DEFAULT_EPS:
            return
        for value in namespace.values():
            if _calls_tenorm_without_eps(value):
                self.note(
                    f"{qualname} builds TENorm without eps: TE's default {_TENORM_DEFAULT_EPS:g}, not "
                    f"layernorm_epsilon {eps:g} (kept as TE computes it; a Megatron-Bridge defect where HF uses "
                    "the config's eps)"
                )
                return

    def _module_globals(self, module: str, names: set[str]) -> dict[str, Any]:
        """`module`'s globals (one shared copy) in which the `names` a rebuilt class uses that are TE
        wrappers or TE-based classes are the local ones."""
        import sys

        source = vars(sys.modules[module]) if module in sys.modules else {}
        relinked = self._globals.setdefault(module, dict(source))
        for name in sorted(names & source.keys()):
            value = source[name]
            if relinked[name] is value and (
                _hashable_id_in(value, self.twins) or class_body(value) is not None
            ):
                relinked[name] = self.local(value)
        return relinked


def _global_names(namespace: dict[str, Any]) -> set[str]:
    """Names the functions of a class body (and the code nested in them) read as globals."""
    codes = []
    for value in namespace.values():
        if isinstance(value, staticmethod | classmethod):
            value = value.__func__
        if isinstance(value, property):
            codes += [f.__code__ for f in (value.fget, value.fset, value.fdel) if f]
        elif isinstance(value, types.FunctionType):
            codes.append(value.__code__)
    names: set[str] = set()
    while codes:
        code = codes.pop()
        names.update(code.co_names)
        codes += [c for c in code.co_consts if isinstance(c, types.CodeType)]
    return names


#: `TENorm.__new__`'s default eps (megatron-core 0.19.2).
_TENORM_DEFAULT_EPS = 1e-5


def _calls_tenorm_without_eps(fn: Any) -> bool:
    """True if function `fn`'s source calls `TENorm(...)` with neither a third argument nor `eps=`."""
    import ast
    import textwrap

    if not isinstance(fn, types.FunctionType):
        return False
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return False
    return any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "TENorm"
        and len(node.args) < 3
        and not any(k.arg in ("eps", None) for k in node.keywords)
        for node in ast.walk(tree)
    )


def _name(obj: Any) -> str:
    return getattr(obj, "__name__", None) or type(obj).__name__


def _hashable_id_in(value: Any, twins: dict[int, tuple[Any, type, str]]) -> bool:
    entry = twins.get(id(value))
    return entry is not None and entry[0] is value


def with_globals(value: Any, new_globals: dict[str, Any]) -> Any:
    """A function (or static/class method, property) like `value` whose globals are `new_globals`."""
    if isinstance(value, types.FunctionType):
        fn = types.FunctionType(
            value.__code__, new_globals, value.__name__, value.__defaults__, value.__closure__
        )
        fn.__kwdefaults__ = value.__kwdefaults__
        fn.__qualname__, fn.__doc__, fn.__module__ = value.__qualname__, value.__doc__, value.__module__
        fn.__dict__.update(value.__dict__)
        return fn
    if isinstance(value, staticmethod | classmethod):
        inner = with_globals(value.__func__, new_globals)
        return value if inner is value.__func__ else type(value)(inner)
    if isinstance(value, property):
        parts = [with_globals(f, new_globals) if f else f for f in (value.fget, value.fset, value.fdel)]
        return property(*parts, value.__doc__)
    return value
