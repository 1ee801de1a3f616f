"""Operators, truth, subscripts and string templates on the registry evaluator's abstract values.

Each takes plain values (a Choice is split by the caller, with `lift`) and answers `Unknown` for what is
only known at runtime.
"""

from __future__ import annotations

import ast
import operator
from typing import Any

from analyzers.catalog._values import Choice, SelfValue, SuperValue, Unknown, alternatives, lift

#: values the evaluator holds as themselves
PLAIN = str | int | float | bool | type(None)


def template_call(obj: Any, attr: str, pos: tuple, kws: dict) -> Any:
    """A string method applied with placeholders standing for the unknown parts (a template out)."""
    if attr not in ("replace", "removeprefix", "removesuffix", "strip", "lstrip", "rstrip", "lower", "upper"):
        return Unknown(f"{getattr(obj, 'text', obj)}.{attr}(...)")
    if attr == "replace" and isinstance(obj, str) and pos and isinstance(pos[0], str) and pos[0] not in obj:
        return obj  # nothing to replace: the placeholders in the other arguments do not matter
    text = lambda x: x.text if isinstance(x, Unknown) else x  # noqa: E731
    if not all(isinstance(text(x), str | int) for x in (obj, *pos, *kws.values())):
        return Unknown(f"{text(obj)}.{attr}(...)")
    try:
        result = getattr(text(obj), attr)(*(text(x) for x in pos), **{k: text(v) for k, v in kws.items()})
    except (TypeError, ValueError):
        return Unknown(f"{text(obj)}.{attr}(...)")
    return Unknown(result, template=True)


def truth_of(value: Any) -> bool | None:
    if isinstance(value, Unknown | SelfValue | SuperValue):
        return None if isinstance(value, Unknown) else True
    if isinstance(value, Choice):
        truths = {truth_of(v) for _, v in alternatives(value)}
        return truths.pop() if len(truths) == 1 else None
    if isinstance(value, list | tuple | dict | set):
        if any(isinstance(v, Choice) for v in (value.values() if isinstance(value, dict) else value)):
            return True if any(not isinstance(v, Choice) for v in value) else None
        return bool(value)
    if isinstance(value, PLAIN):
        return bool(value)
    return True


def binop(op: ast.operator, a: Any, b: Any, text: str = "<expr>") -> Any:
    if isinstance(a, Unknown) or isinstance(b, Unknown):
        return Unknown(text)
    if isinstance(op, ast.Add) and isinstance(a, list) and isinstance(b, list):
        return a + b
    if isinstance(op, ast.Add) and isinstance(a, tuple) and isinstance(b, tuple):
        return a + b
    if isinstance(op, ast.BitOr) and isinstance(a, dict) and isinstance(b, dict):
        return {**a, **b}
    if not (isinstance(a, PLAIN) and isinstance(b, PLAIN | tuple)):
        return Unknown(text)
    table = {
        ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Mod: operator.mod,
        ast.FloorDiv: operator.floordiv, ast.Div: operator.truediv, ast.BitOr: operator.or_,
    }  # fmt: skip
    fn = table.get(type(op))
    if fn is None:
        return Unknown(text)
    try:
        result = fn(a, b)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return Unknown(text)
    if isinstance(result, str) and len(result) > 10_000:
        return Unknown(text)
    return result


def unary(op: ast.unaryop, v: Any, text: str) -> Any:
    if isinstance(v, int | float) and not isinstance(v, bool):
        return -v if isinstance(op, ast.USub) else (+v if isinstance(op, ast.UAdd) else ~v)
    return Unknown(text)


def compare(op: ast.cmpop, a: Any, b: Any, text: str) -> Any:
    if isinstance(op, ast.Is | ast.IsNot):
        if isinstance(a, Unknown) or isinstance(b, Unknown):
            return Unknown(text)
        if a is None or b is None:
            same = a is None and b is None
            return same if isinstance(op, ast.Is) else not same
        return Unknown(text)
    if isinstance(op, ast.In | ast.NotIn):
        if isinstance(a, Unknown) or not isinstance(b, str | list | tuple | set | frozenset | dict):
            return Unknown(text)
        members = list(b)
        if isinstance(b, str) and not isinstance(a, str):
            return Unknown(text)
        if any(isinstance(m, Unknown | Choice) for m in members) and a not in members:
            return Unknown(text)
        found = a in b if isinstance(b, str) else any(_same_value(a, m) for m in members)
        return found if isinstance(op, ast.In) else not found
    if not (isinstance(a, PLAIN) and isinstance(b, PLAIN)):
        if (
            isinstance(op, ast.Eq | ast.NotEq)
            and isinstance(a, list | tuple | dict)
            and isinstance(b, list | tuple | dict)
        ):
            pass
        else:
            return Unknown(text)
    table = {
        ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
        ast.Gt: operator.gt, ast.GtE: operator.ge,
    }  # fmt: skip
    try:
        return table[type(op)](a, b)
    except (TypeError, KeyError):
        return Unknown(text)


def _same_value(a: Any, b: Any) -> bool:
    try:
        return a is b or (isinstance(a, PLAIN | tuple) and isinstance(b, PLAIN | tuple) and a == b)
    except Exception:
        return False


def subscript(obj: Any, key: Any, text: str) -> Any:
    if isinstance(obj, dict):
        if isinstance(key, Unknown | list | dict):
            return Unknown(text)
        return obj[key] if key in obj else Unknown(text)
    if isinstance(obj, list | tuple | str) and isinstance(key, int | slice) and not isinstance(key, bool):
        try:
            return obj[key]
        except IndexError:
            return Unknown(text)
    return Unknown(text)


def unknown_part(value: Any, index: int) -> Unknown:
    return Unknown(f"{value.text}[{index}]" if isinstance(value, Unknown) else "<unpack>")


def snapshot(value: Any) -> Any:
    """The value as a call sees it: a list passed with `*` is copied, later appends do not reach it."""
    return lift(lambda v: list(v) if isinstance(v, list) else v, value)
