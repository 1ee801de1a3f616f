"""libcst edits of registration files (package `__init__`s, `__all__`, module-level tables) and of unused
imports, shared by the lint's fixes and the codemods.

Every function takes a module's source text and returns the edited text; none reads or writes files.
Each is idempotent (a second call returns its input unchanged) and places what it adds beside its
neighbours in their own style: the same relative/absolute form, parentheses and trailing `# noqa`, in
sorted position when the neighbours are sorted, else right after the anchor. A missing anchor raises
PlanConflictError: nothing is ever appended blindly.

>>> src = "from a.qwen3_bridge import Qwen3Bridge  # noqa: F401\\n"
>>> print(add_import(src, module="a.qwen4_bridge", names=["Qwen4Bridge"], anchor="a.qwen3_bridge", path="x"), end="")
from a.qwen3_bridge import Qwen3Bridge  # noqa: F401
from a.qwen4_bridge import Qwen4Bridge  # noqa: F401
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence, Set
from typing import Any

import libcst as cst

from analyzers.catalog.modules import package_of, resolve_relative
from analyzers.errors import ParseError, PlanConflictError

__all__ = [
    "Comment",
    "absolute_module",
    "add_all_entries",
    "add_dict_entry",
    "add_import",
    "add_import_names",
    "add_set_member",
    "add_wildcard_import",
    "all_entries",
    "bound_name",
    "dotted",
    "dotted_expr",
    "drop_imported",
    "from_imports",
    "imported_modules",
    "imported_names",
    "natural_key",
    "remove_duplicate_all_entries",
    "used_names",
]

#: rewrites a comment carried over from an anchor (the source model's name -> the new one)
Comment = Callable[[str], str]


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


def absolute_module(node: cst.ImportFrom, package: str) -> str:
    """Absolute module an ImportFrom reads from, seen in the package `package` (where its dots start)."""
    return resolve_relative(package, True, len(node.relative), dotted(node.module) or None)


def _natord(a: str, b: str) -> int:
    """Natural comparison as ruff's isort does it: digit runs by value, everything else char by char."""
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i].isdigit() and b[j].isdigit():
            i2, j2 = i, j
            while i2 < len(a) and a[i2].isdigit():
                i2 += 1
            while j2 < len(b) and b[j2].isdigit():
                j2 += 1
            x, y = int(a[i:i2]), int(b[j:j2])
            if x != y:
                return -1 if x < y else 1
            i, j = i2, j2
            continue
        if a[i] != b[j]:
            return -1 if a[i] < b[j] else 1
        i += 1
        j += 1
    return (len(a) - i > 0) - (len(b) - j > 0)


def natural_key(text: str) -> Any:
    """Case-insensitive natural sort key (`qwen3` < `qwen4` < `qwen35`, `gemma.h100` < `gemma3`), as isort/ruff order.

    >>> sorted(["qwen4", "qwen35", "qwen3_moe", "qwen3"], key=natural_key)
    ['qwen3', 'qwen3_moe', 'qwen4', 'qwen35']
    """
    return _NATORD_KEY(text.lower())


_NATORD_KEY = functools.cmp_to_key(_natord)


def _member_key(name: str) -> tuple[int, Any]:
    """isort's order-by-type: CONSTANTS, then Classes, then functions/variables."""
    kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return kind, natural_key(name)


def _parse(source: str, path: str) -> cst.Module:
    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise ParseError(f"syntax error at line {exc.raw_line}: {exc.message}", path) from None


def _import_lines(
    module: cst.Module, package: str
) -> list[tuple[int, cst.SimpleStatementLine, cst.ImportFrom, str]]:
    out = []
    for index, stmt in enumerate(module.body):
        if (
            isinstance(stmt, cst.SimpleStatementLine)
            and len(stmt.body) == 1
            and isinstance(stmt.body[0], cst.ImportFrom)
        ):
            imp = stmt.body[0]
            out.append((index, stmt, imp, absolute_module(imp, package)))
    return out


def _names(imp: cst.ImportFrom) -> list[str] | None:
    if isinstance(imp.names, cst.ImportStar):
        return None
    return [dotted(alias.name) if alias.asname is None else alias.asname.name.value for alias in imp.names]


def from_imports(source: str, package: str, path: str = "<string>") -> list[tuple[str, list[str] | None]]:
    """(absolute module, imported names or None for a wildcard) of each top-level `from` import, in order."""
    return [(mod, _names(imp)) for _, _, imp, mod in _import_lines(_parse(source, path), package)]


def imported_modules(source: str, package: str, path: str = "<string>") -> dict[str, list[str] | None]:
    """Absolute module -> imported names (None for a wildcard) of a module's top-level `from` imports."""
    out: dict[str, list[str] | None] = {}
    for mod, names in from_imports(source, package, path):
        if names is None:
            out[mod] = None
        elif out.get(mod, []) is not None:
            out[mod] = (out.get(mod) or []) + names
    return out


def _relative_form(target: str, package: str, level: int) -> tuple[int, str] | None:
    """`target` written relative to `package` with the anchor's `level`, or None when not expressible."""
    base = package.split(".")
    if level > 1:
        base = base[: len(base) - (level - 1)]
    prefix = ".".join(base)
    if target == prefix:
        return level, ""
    if target.startswith(prefix + "."):
        return level, target[len(prefix) + 1 :]
    return None


def _comment_lines(stmt: cst.SimpleStatementLine) -> list[cst.EmptyLine]:
    return [line for line in stmt.leading_lines if line.comment is not None]


def _insert_position(
    lines: list[tuple[int, cst.SimpleStatementLine, cst.ImportFrom, str]], anchor_pos: int, new_module: str
) -> int:
    """Body index to insert at: the sorted position in the anchor's run of imports when that run is sorted,
    else right after the anchor."""
    anchor_rel = bool(lines[anchor_pos][2].relative)

    def same_run(a: int, b: int) -> bool:
        return lines[b][0] == lines[a][0] + 1 and bool(lines[b][2].relative) == anchor_rel

    start = anchor_pos
    while start > 0 and same_run(start - 1, start):
        start -= 1
    end = anchor_pos
    while end + 1 < len(lines) and same_run(end, end + 1):
        end += 1
    run = lines[start : end + 1]
    keys = [natural_key(mod) for _, _, _, mod in run]
    if keys == sorted(keys):
        new_key = natural_key(new_module)
        for (index, _, _, _), key in zip(run, keys, strict=True):
            if new_key < key:
                return index
        return run[-1][0] + 1
    return lines[anchor_pos][0] + 1


def add_import(
    source: str,
    *,
    module: str,
    names: Sequence[str] | None,
    anchor: str,
    path: str,
    comment: Comment | None = None,
) -> str:
    """Add `from module import names` (or `import *` when `names` is None) in the style of the import of `anchor`.

    Placed in sorted position among the anchor's neighbours when they are sorted, else right after it. A
    leading comment of the anchor (`# Qwen3 models`) is carried over through `comment` when given. When
    `module` is already imported, only the missing names are added to that statement.
    """
    tree = _parse(source, path)
    package = package_of(path)
    lines = _import_lines(tree, package)
    existing = [entry for entry in lines if entry[3] == module]
    if existing:
        if names is None:
            if any(isinstance(e[2].names, cst.ImportStar) for e in existing):
                return source
        else:
            have = {n for e in existing for n in (_names(e[2]) or [])}
            missing = [n for n in names if n not in have]
            if not missing:
                return source
            if any(isinstance(e[2].names, cst.ImportStar) for e in existing) and not any(
                not isinstance(e[2].names, cst.ImportStar) for e in existing
            ):
                pass  # a wildcard import does not bind explicit names for re-export checks; add a statement
            else:
                target = next(e for e in existing if not isinstance(e[2].names, cst.ImportStar))
                return _add_names(tree, target, missing, None).code
    anchors = [i for i, entry in enumerate(lines) if entry[3] == anchor]
    if not anchors:
        raise PlanConflictError(f"no import of {anchor} to place {module} beside", path)
    anchor_pos = anchors[-1]
    index, stmt, imp, _ = lines[anchor_pos]
    if imp.relative:
        rel = _relative_form(module, package, len(imp.relative))
        if rel is None:
            new_module_expr, relative = dotted_expr(module), ()
        else:
            level, rest = rel
            new_module_expr = dotted_expr(rest) if rest else None
            relative = tuple(cst.Dot() for _ in range(level))
    else:
        new_module_expr, relative = dotted_expr(module), ()
    if names is None:
        new_names: cst.ImportStar | list[cst.ImportAlias] = cst.ImportStar()
    else:
        new_names = _aliases_like(imp, list(names))
    new_imp = imp.with_changes(module=new_module_expr, relative=relative, names=new_names)
    if names is None:
        new_imp = new_imp.with_changes(lpar=None, rpar=None)
    elif isinstance(imp.names, cst.ImportStar) and len(names) > 1:
        new_imp = new_imp.with_changes(lpar=cst.LeftParen(), rpar=cst.RightParen())
    position = _insert_position(lines, anchor_pos, module)
    leading: list[cst.EmptyLine] = []
    anchor_comments = _comment_lines(stmt)
    if anchor_comments and comment is not None:
        leading = [cst.EmptyLine()] + [
            line.with_changes(comment=cst.Comment(comment(line.comment.value))) for line in anchor_comments
        ]
    new_stmt = stmt.with_changes(body=[new_imp], leading_lines=leading)
    body = list(tree.body)
    body.insert(position, new_stmt)
    return tree.with_changes(body=body).code


def add_wildcard_import(
    source: str, *, module: str, anchor: str, path: str, comment: Comment | None = None
) -> str:
    """Add `from module import *` beside the wildcard import of `anchor` (recipes/__init__.py style)."""
    return add_import(source, module=module, names=None, anchor=anchor, path=path, comment=comment)


def _aliases_like(imp: cst.ImportFrom, names: list[str]) -> list[cst.ImportAlias]:
    if isinstance(imp.names, cst.ImportStar) or not imp.names:
        return [
            cst.ImportAlias(name=cst.Name(n), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            if i < len(names) - 1
            else cst.ImportAlias(name=cst.Name(n))
            for i, n in enumerate(names)
        ]
    template = list(imp.names)
    middle = template[0].comma if len(template) > 1 else cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    last = template[-1].comma
    return [
        cst.ImportAlias(name=cst.Name(n), comma=middle if i < len(names) - 1 else last)
        for i, n in enumerate(names)
    ]


def _add_names(
    tree: cst.Module,
    target: tuple[int, cst.SimpleStatementLine, cst.ImportFrom, str],
    names: list[str],
    after: str | None,
) -> cst.Module:
    index, stmt, imp, _ = target
    aliases = list(imp.names)
    current = _names(imp) or []
    keys = [_member_key(n) for n in current]
    sorted_run = keys == sorted(keys)
    middle = aliases[0].comma if len(aliases) > 1 else cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    last_comma = aliases[-1].comma
    for name in names:
        if sorted_run:
            pos = sum(1 for n in current if _member_key(n) <= _member_key(name))
        elif after is not None and after in current:
            pos = current.index(after) + 1
        else:
            pos = len(current)
        current.insert(pos, name)
        aliases.insert(pos, cst.ImportAlias(name=cst.Name(name), comma=middle))
    aliases = [a.with_changes(comma=middle) for a in aliases[:-1]] + [
        aliases[-1].with_changes(comma=last_comma)
    ]
    new_imp = imp.with_changes(names=aliases)
    if len(aliases) > 1 and imp.lpar is None:
        new_imp = new_imp.with_changes(lpar=cst.LeftParen(), rpar=cst.RightParen())
    body = list(tree.body)
    body[index] = stmt.with_changes(body=[new_imp])
    return tree.with_changes(body=body)


def add_import_names(source: str, *, module: str, names: Sequence[str], after: str, path: str) -> str:
    """Add `names` to the existing `from module import ...` that imports `after` (sorted when it is sorted)."""
    tree = _parse(source, path)
    lines = _import_lines(tree, package_of(path))
    targets = [e for e in lines if e[3] == module and after in (_names(e[2]) or [])]
    if not targets:
        raise PlanConflictError(f"no `from {module} import {after}` to add {', '.join(names)} to", path)
    have = {n for e in lines if e[3] == module for n in (_names(e[2]) or [])}
    missing = [n for n in names if n not in have]
    if not missing:
        return source
    return _add_names(tree, targets[0], missing, after).code


# --- __all__ -------------------------------------------------------------------------------------


def _all_list(
    tree: cst.Module,
) -> tuple[int, cst.SimpleStatementLine, cst.Assign | cst.AnnAssign, cst.List] | None:
    for index, stmt in enumerate(tree.body):
        if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
            continue
        node = stmt.body[0]
        if isinstance(node, cst.Assign) and any(
            isinstance(t.target, cst.Name) and t.target.value == "__all__" for t in node.targets
        ):
            value = node.value
        elif (
            isinstance(node, cst.AnnAssign)
            and isinstance(node.target, cst.Name)
            and node.target.value == "__all__"
        ):
            value = node.value
        else:
            continue
        if isinstance(value, cst.List | cst.Tuple):
            return index, stmt, node, value
    return None


def all_entries(source: str, path: str = "<string>") -> list[str] | None:
    """The string entries of the module's `__all__` list or tuple; None when it has none."""
    found = _all_list(_parse(source, path))
    if found is None:
        return None
    return [v for e in found[3].elements if (v := _string_value(e.value)) is not None]


def _string_value(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString):
        return node.evaluated_value if isinstance(node.evaluated_value, str) else None
    return None


def _plain_comma(elements: Sequence[cst.BaseElement | cst.BaseDictElement], multiline: bool) -> cst.Comma:
    """A comma whose whitespace carries no comment lines (so moving it moves no comment)."""
    for element in elements[:-1]:
        comma = element.comma
        if isinstance(comma, cst.Comma):
            after = comma.whitespace_after
            if isinstance(after, cst.ParenthesizedWhitespace):
                return comma.with_changes(whitespace_after=after.with_changes(empty_lines=[]))
            return comma
    if multiline:
        return cst.Comma(
            whitespace_after=cst.ParenthesizedWhitespace(
                first_line=cst.TrailingWhitespace(), indent=True, last_line=cst.SimpleWhitespace("    ")
            )
        )
    return cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


def _is_multiline(node: cst.List | cst.Tuple | cst.Set | cst.Dict) -> bool:
    closing = (
        getattr(node, "rbracket", None) or getattr(node, "rbrace", None) or getattr(node, "rpar", [None])
    )
    if isinstance(closing, list | tuple):
        closing = closing[0] if closing else None
    return closing is not None and isinstance(
        getattr(closing, "whitespace_before", None), cst.ParenthesizedWhitespace
    )


def _insert_element(elements: list, pos: int, new_el: Any, plain: cst.Comma) -> None:
    """Insert `new_el` at `pos`; it inherits the previous element's comma (and any comment after it)."""
    if pos == 0:
        new_el = new_el.with_changes(comma=plain)
    else:
        prev = elements[pos - 1]
        new_el = new_el.with_changes(comma=prev.comma)
        elements[pos - 1] = prev.with_changes(comma=plain)
    elements.insert(pos, new_el)


def _insert_elements(
    elements: list[cst.Element],
    pairs: Sequence[tuple[str | None, str]],
    quote: str,
    path: str,
    multiline: bool,
) -> list[cst.Element]:
    values = [_string_value(e.value) for e in elements]
    have = {v for v in values if v is not None}
    keys = [natural_key(v) for v in values if v is not None]
    sorted_list = len(keys) > 1 and keys == sorted(keys)
    plain = _plain_comma(elements, multiline)
    for anchor, new in pairs:
        if new in have:
            continue
        if sorted_list:
            pos = sum(1 for v in values if v is not None and natural_key(v) <= natural_key(new))
        elif anchor is None:
            pos = len(elements)
        else:
            # The new names stay together, after the last of their anchors (the source's group).
            if anchor not in values:
                raise PlanConflictError(f"__all__ has no {anchor!r} to place {new!r} beside", path)
            anchors = [a for a, _ in pairs if a in values]
            pos = max(values.index(a) for a in anchors) + 1
            news = {p[1] for p in pairs}
            while pos < len(values) and values[pos] in news:
                pos += 1
        _insert_element(elements, pos, cst.Element(value=cst.SimpleString(f"{quote}{new}{quote}")), plain)
        values.insert(pos, new)
        have.add(new)
    return elements


def add_all_entries(source: str, pairs: Sequence[tuple[str | None, str]], *, path: str) -> str:
    """Add each `(anchor, new)` name to `__all__`: after `anchor` (None: at the end), or sorted when sorted.

    Raises PlanConflictError when the module has no `__all__` list or an anchor is not in it.
    """
    tree = _parse(source, path)
    found = _all_list(tree)
    if found is None:
        raise PlanConflictError("no __all__ list to add to", path)
    index, stmt, node, value = found
    elements = list(value.elements)
    if all(new in {_string_value(e.value) for e in elements} for _, new in pairs):
        return source
    quote = '"'
    first = next((e.value for e in elements if isinstance(e.value, cst.SimpleString)), None)
    if first is not None and first.value.startswith("'"):
        quote = "'"
    elements = _insert_elements(elements, pairs, quote, path, _is_multiline(value))
    new_node = node.with_changes(value=value.with_changes(elements=elements))
    body = list(tree.body)
    body[index] = stmt.with_changes(body=[new_node])
    return tree.with_changes(body=body).code


def remove_duplicate_all_entries(source: str, *, path: str) -> str:
    """Drop repeated entries of `__all__` (the first occurrence stays)."""
    tree = _parse(source, path)
    found = _all_list(tree)
    if found is None:
        return source
    index, stmt, node, value = found
    seen: set[str] = set()
    kept: list[cst.Element] = []
    for element in value.elements:
        text = _string_value(element.value)
        if text is not None and text in seen:
            continue
        if text is not None:
            seen.add(text)
        kept.append(element)
    if len(kept) == len(value.elements):
        return source
    if isinstance(value.elements[-1].comma, cst.MaybeSentinel) and kept:
        kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    body = list(tree.body)
    body[index] = stmt.with_changes(body=[node.with_changes(value=value.with_changes(elements=kept))])
    return tree.with_changes(body=body).code


# --- module-level tables -------------------------------------------------------------------------


class _DictEntry(cst.CSTTransformer):
    def __init__(self, anchor_key: str, key: str, value: cst.BaseExpression) -> None:
        self.anchor_key, self.key, self.value = anchor_key, key, value
        self.found = False
        self.present = False

    def leave_Dict(self, original: cst.Dict, updated: cst.Dict) -> cst.Dict:
        elements = list(updated.elements)
        keys = [_string_value(e.key) if isinstance(e, cst.DictElement) else None for e in elements]
        if self.anchor_key not in keys:
            return updated
        self.found = True
        if self.key in keys:
            self.present = True
            return updated
        known = [k for k in keys if k is not None]
        sorted_keys = known == sorted(known)
        if sorted_keys:
            pos = sum(1 for k in known if k <= self.key)
        else:
            pos = keys.index(self.anchor_key) + 1
        anchor_el = elements[keys.index(self.anchor_key)]
        plain = _plain_comma(elements, _is_multiline(updated))
        quote = (
            "'"
            if isinstance(anchor_el.key, cst.SimpleString) and anchor_el.key.value.startswith("'")
            else '"'
        )
        new_el = cst.DictElement(key=cst.SimpleString(f"{quote}{self.key}{quote}"), value=self.value)
        _insert_element(elements, pos, new_el, plain)
        return updated.with_changes(elements=elements)


def add_dict_entry(source: str, *, anchor_key: str, key: str, value: str, path: str) -> str:
    """In every dict literal that has the string key `anchor_key`, add `key: value` (sorted or after it).

    `value` is Python source for the value (`"megatron.bridge.models.qwen.qwen4_bridge.Qwen4Bridge"`).
    """
    tree = _parse(source, path)
    editor = _DictEntry(anchor_key, key, cst.parse_expression(value))
    new = tree.visit(editor)
    if not editor.found:
        raise PlanConflictError(f"no dict with key {anchor_key!r}", path)
    return source if editor.present else new.code


def add_set_member(source: str, *, variable: str, value: str, path: str) -> str:
    """Add the string `value` to the module-level set/list/tuple literal bound to `variable` (sorted when sorted)."""
    tree = _parse(source, path)
    for index, stmt in enumerate(tree.body):
        if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
            continue
        node = stmt.body[0]
        target = node.targets[0].target if isinstance(node, cst.Assign) and len(node.targets) == 1 else None
        if isinstance(node, cst.AnnAssign):
            target = node.target
        if not (isinstance(target, cst.Name) and target.value == variable):
            continue
        literal = node.value
        if not isinstance(literal, cst.Set | cst.List | cst.Tuple):
            raise PlanConflictError(f"{variable} is not a set, list or tuple literal", path)
        elements = list(literal.elements)
        if value in {_string_value(e.value) for e in elements}:
            return source
        elements = _insert_elements(elements, [(None, value)], '"', path, _is_multiline(literal))
        body = list(tree.body)
        body[index] = stmt.with_changes(
            body=[node.with_changes(value=literal.with_changes(elements=elements))]
        )
        return tree.with_changes(body=body).code
    raise PlanConflictError(f"no module-level {variable} to add {value!r} to", path)


# --- unused imports -----------------------------------------------------------------------------


def bound_name(alias: cst.ImportAlias) -> str:
    """The name an import alias binds: its `as` name, else the first part of its dotted name."""
    if alias.asname is not None:
        return cst.Module([]).code_for_node(alias.asname.name)
    return cst.Module([]).code_for_node(alias.name).split(".")[0]


def used_names(module: cst.Module, *, strings: bool = False) -> set[str]:
    """Every name the module uses outside its import statements; with `strings`, identifier-like string
    literals count too (the names an `__all__` lists stay imported)."""
    used: set[str] = set()

    class _Usage(cst.CSTVisitor):
        def visit_Import(self, node: cst.Import) -> bool:
            return False

        def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
            return False

        def visit_Name(self, node: cst.Name) -> None:
            used.add(node.value)

        def visit_SimpleString(self, node: cst.SimpleString) -> None:
            value = node.evaluated_value if strings else None
            if isinstance(value, str) and value.isidentifier():
                used.add(value)

    module.visit(_Usage())
    return used


def imported_names(module: cst.Module) -> set[str]:
    """The names the module's top-level import statements bind (star imports aside)."""
    out: set[str] = set()
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Import | cst.ImportFrom) and not isinstance(
                    small.names, cst.ImportStar
                ):
                    out.update(bound_name(a) for a in small.names)
    return out


class _DropImported(cst.CSTTransformer):
    def __init__(self, names: Set[str]) -> None:
        self.names = names

    def leave_SimpleStatementLine(
        self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.RemovalSentinel:
        if len(updated.body) != 1 or not isinstance(updated.body[0], cst.ImportFrom | cst.Import):
            return updated
        imp = updated.body[0]
        if isinstance(imp.names, cst.ImportStar):
            return updated
        keep = [a for a in imp.names if bound_name(a) not in self.names]
        if len(keep) == len(imp.names):
            return updated
        if not keep:
            return cst.RemoveFromParent()
        keep[-1] = keep[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated.with_changes(body=[imp.with_changes(names=keep)])


def drop_imported(module: cst.Module, names: Set[str]) -> cst.Module:
    """`module` without the import aliases that bind a name in `names`; a statement left empty goes.

    >>> tree = cst.parse_module("from a import B, C\\nimport d.e\\n")
    >>> print(drop_imported(tree, {"C", "d"}).code, end="")
    from a import B
    """
    return module.visit(_DropImported(names)) if names else module
