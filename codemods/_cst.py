"""Small libcst helpers shared by every codemod: dotted names (from `analyzers.cst_edits`, which the lint's
fixes share), the last name of a chain, string and other literals."""

from __future__ import annotations

import math
from collections.abc import Iterable

import libcst as cst

from analyzers.cst_edits import dotted, dotted_expr

__all__ = ["InNamedFunctions", "dotted", "dotted_expr", "last_name", "literal_node", "string_literal"]


def last_name(node: cst.BaseExpression) -> str | None:
    """`c` of a Name `c` or an Attribute `a.b.c`; None for any other expression (a call's callee name)."""
    if isinstance(node, cst.Attribute):
        return node.attr.value
    if isinstance(node, cst.Name):
        return node.value
    return None


def string_literal(value: str) -> cst.SimpleString:
    r"""A double-quoted Python literal whose value is exactly `value` (escapes, never code).

    >>> print(string_literal('say "hi"').value)
    "say \"hi\""
    """
    import ast

    body = []
    for char in value:
        if char in '\\"':
            body.append("\\" + char)
        elif char == "\n":
            body.append("\\n")
        elif char.isprintable():
            body.append(char)
        else:
            body.append(f"\\U{ord(char):08x}")
    literal = '"' + "".join(body) + '"'
    assert ast.literal_eval(literal) == value
    return cst.SimpleString(literal)


def literal_node(value: object) -> cst.BaseExpression | None:
    """`value` (str, bool, None, finite int/float, or lists/tuples of them) as a libcst literal; else None.

    >>> cst.Module([]).code_for_node(literal_node(["a\\"b", 1, 2.5, None]))
    '["a\\\\"b", 1, 2.5, None]'
    """
    if isinstance(value, str):
        return string_literal(value)
    if value is None or isinstance(value, bool):
        return cst.Name(repr(value))
    if isinstance(value, int):
        node: cst.BaseExpression = cst.Integer(str(abs(value)))
        return cst.UnaryOperation(cst.Minus(), node) if value < 0 else node
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        node = cst.Float(repr(abs(value)))
        return cst.UnaryOperation(cst.Minus(), node) if value < 0 else node
    if isinstance(value, list | tuple):
        items = [literal_node(v) for v in value]
        if any(i is None for i in items):
            return None
        elements = [cst.Element(i) for i in items]
        return cst.List(elements) if isinstance(value, list) else cst.Tuple(elements)
    return None


class InNamedFunctions(cst.CSTTransformer):
    """A transformer that knows how deep it is inside functions of the given names (`in_named`): the
    rename engine's frozen registry hooks, the post-norm stage's layer-spec builders."""

    def __init__(self, functions: Iterable[str]) -> None:
        super().__init__()
        self.named_functions = frozenset(functions)
        self.named_depth = 0

    @property
    def in_named(self) -> bool:
        return self.named_depth > 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        if node.name.value in self.named_functions:
            self.named_depth += 1
        return True

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        if original.name.value in self.named_functions:
            self.named_depth -= 1
        return updated
