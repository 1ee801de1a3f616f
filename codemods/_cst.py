"""Small libcst helpers shared by every codemod: dotted names to and from Name/Attribute chains."""

from __future__ import annotations

import libcst as cst


def dotted(node: cst.BaseExpression | None) -> str:
    """`a.b.c` of a Name/Attribute chain ('' for None or any other expression)."""
    if node is None:
        return ""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{dotted(node.value)}.{node.attr.value}"
    return ""


def dotted_expr(name: str) -> cst.Attribute | cst.Name:
    """The Name/Attribute chain for `a.b.c`."""
    parts = name.split(".")
    expr: cst.Attribute | cst.Name = cst.Name(parts[0])
    for part in parts[1:]:
        expr = cst.Attribute(value=expr, attr=cst.Name(part))
    return expr


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
