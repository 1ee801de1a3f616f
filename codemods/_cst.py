"""Small libcst helpers shared by every codemod: dotted names (from `analyzers.cst_edits`, which the lint's
fixes share), the last name of a chain, string literals."""

from __future__ import annotations

import libcst as cst

from analyzers.cst_edits import dotted, dotted_expr

__all__ = ["dotted", "dotted_expr", "last_name", "string_literal"]


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
