"""Import arithmetic of the refactors: rebuild an import relative, keep the style (resolving one is
`analyzers.cst_edits.absolute_module`)."""

from __future__ import annotations

import libcst as cst

from analyzers.cst_edits import dotted_expr


def relative_parts(package: str, target: str) -> tuple[int, str]:
    """(level, module) of `target` as a relative import from `package` (module '' means `from . import`)."""
    pkg = package.split(".")
    tgt = target.split(".")
    common = 0
    while common < min(len(pkg), len(tgt)) and pkg[common] == tgt[common]:
        common += 1
    return len(pkg) - common + 1, ".".join(tgt[common:])


def set_from_module(node: cst.ImportFrom, target: str, package: str) -> cst.ImportFrom:
    """`node` reading from `target`, relative when `node` was relative (same style), absolute otherwise."""
    if not node.relative:
        return node.with_changes(module=dotted_expr(target))
    level, rest = relative_parts(package, target)
    return node.with_changes(relative=[cst.Dot()] * level, module=dotted_expr(rest) if rest else None)
