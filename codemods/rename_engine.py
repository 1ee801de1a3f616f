"""The libcst rename engine clone-family and rename-family share: a names object says what each identifier
and import of one module becomes (`ModuleNames`), a string policy what each string literal and comment
becomes (`StringPolicy`), and `RenameTransformer` walks the module with both.

Each codemod subclasses the transformer for what only it does (clone-family: registrations, keyword
arguments, revision pins; rename-family: dotted attribute paths, `import` statements).

>>> from codemods.naming import Renamer, Variant
>>> renamer = Renamer([Variant("qwen3", "qwen4"), Variant("Qwen3", "Qwen4")])
>>> names = ModuleNames(renamer, renamer, "pkg.mod", False, owned=lambda m: None, kept=frozenset({"Qwen3Config"}))
>>> source = "from transformers import Qwen3Config\\nclass Qwen3Bridge:  # the Qwen3 bridge\\n    config = Qwen3Config\\n"
>>> print(rename_module(source, RenameTransformer(names, StringPolicy(renamer))), end="")
from transformers import Qwen3Config
class Qwen4Bridge:  # the Qwen4 bridge
    config = Qwen3Config
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import libcst as cst

from analyzers.catalog.modules import module_name, resolve_relative
from codemods._cst import InNamedFunctions, dotted, dotted_expr
from codemods.naming import Renamer

__all__ = ["IDENT", "ModuleNames", "RenameTransformer", "StringPolicy", "dotted_module", "rename_module"]

IDENT = re.compile(r"^[A-Za-z_]\w*$")
DOTTED = re.compile(r"^megatron\.bridge(\.[A-Za-z_]\w*)+$")


def dotted_module(path: str) -> str:
    """The dotted module of a tree path: `megatron.bridge...` under src/, the path itself elsewhere.

    >>> dotted_module("src/megatron/bridge/models/qwen/__init__.py"), dotted_module("tests/unit/test_a.py")
    ('megatron.bridge.models.qwen', 'tests.unit.test_a')
    """
    return module_name(path) if path.startswith("src/") else path.removesuffix(".py").replace("/", ".")


@dataclass(frozen=True)
class ModuleNames:
    """What one module's identifiers and imports become."""

    renamer: Renamer  #: identifiers, and the names imported from a module the rename owns
    module_parts: Renamer  #: the parts of a relative import's module path
    module: str  #: this module's dotted name (relative imports resolve against it)
    is_package: bool
    #: absolute module -> its new name; None for a module the rename does not own (its names are kept)
    owned: Callable[[str], str | None]
    #: names bound from outside that keep their spelling, with the attribute chains rooted at them
    kept: frozenset[str] = frozenset()
    renamed: Mapping[str, str] = field(
        default_factory=dict
    )  #: names bound from outside with a known new name
    moved: Mapping[str, str] = field(default_factory=dict)  #: modules not owned whose new name is known

    def name(self, name: str) -> str:
        if name in self.kept:
            return name
        if name in self.renamed:
            return self.renamed[name]
        return self.renamer.identifier(name)


class StringPolicy:
    """What a rename does to the text of string literals, f-strings and comments.

    A string is prose when it is a docstring (or the transformer says so) or holds whitespace; otherwise an
    identifier, a dotted `megatron.bridge...` path, or something else (`other`, kept by default).
    Subclasses refine each kind.
    """

    def __init__(self, renamer: Renamer) -> None:
        self.renamer = renamer

    def prose(self, text: str) -> str:
        return self.renamer.prose(text)

    def identifier(self, text: str) -> str:
        return self.renamer.identifier(text)

    def dotted(self, text: str) -> str:
        return text

    def other(self, text: str) -> str:
        return text

    def string(self, body: str, prose: bool) -> str:
        """The new body of a string literal whose body (between the quotes) is `body`."""
        if prose or any(c.isspace() for c in body):
            return self.prose(body)
        if IDENT.match(body):
            return self.identifier(body)
        if DOTTED.match(body):
            return self.dotted(body)
        return self.other(body)


class RenameTransformer(InNamedFunctions):
    """Renames one module: identifiers and imports through `names`, strings and comments through `strings`.

    `frozen_functions` name functions whose string literals (docstrings aside) are data, never renamed:
    a mapping registry's weight names.
    """

    def __init__(
        self, names: ModuleNames, strings: StringPolicy, *, frozen_functions: Iterable[str] = ()
    ) -> None:
        super().__init__(frozen_functions)
        self.names, self.strings = names, strings
        self.prose_strings: set[int] = set()  #: ids of the string nodes that are prose

    # --- names --------------------------------------------------------------------------------
    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
        new = self.names.name(updated.value)
        return updated if new == updated.value else updated.with_changes(value=new)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        root: cst.BaseExpression = node
        while isinstance(root, cst.Attribute):
            root = root.value
        # `transformers.models.qwen3...`, `torch.nn...`: chains rooted at a kept name stay as written.
        return not (isinstance(root, cst.Name) and root.value in self.names.kept)

    # --- imports ------------------------------------------------------------------------------
    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def leave_ImportFrom(self, original: cst.ImportFrom, updated: cst.ImportFrom) -> cst.ImportFrom:
        names = self.names
        tail = dotted(original.module)
        mod = resolve_relative(names.module, names.is_package, len(original.relative), tail or None)
        new_mod = names.owned(mod)
        if new_mod is None:
            return self._foreign_import(updated, mod)
        if original.relative:
            # Relative imports stay relative (the packages move together); only their spelled parts change.
            new_tail = ".".join(names.module_parts.identifier(p) for p in tail.split(".")) if tail else ""
            if new_tail != tail:
                updated = updated.with_changes(module=dotted_expr(new_tail) if new_tail else None)
        elif new_mod != mod:
            updated = updated.with_changes(module=dotted_expr(new_mod))
        if isinstance(updated.names, cst.ImportStar):
            return updated
        aliases = []
        for alias in updated.names:
            alias = alias.with_changes(name=cst.Name(names.renamer.identifier(dotted(alias.name))))
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = names.renamer.identifier(alias.asname.name.value)
                alias = alias.with_changes(asname=alias.asname.with_changes(name=cst.Name(local)))
            aliases.append(alias)
        return updated.with_changes(names=aliases)

    def _foreign_import(self, updated: cst.ImportFrom, mod: str) -> cst.ImportFrom:
        """An import from a module the rename does not own: kept, unless its new spelling is known."""
        if isinstance(updated.names, cst.ImportStar):
            return updated
        if mod in self.names.moved:
            updated = updated.with_changes(module=dotted_expr(self.names.moved[mod]))
        renamed = self.names.renamed
        aliases = [
            a.with_changes(name=cst.Name(renamed[dotted(a.name)]))
            if a.asname is None and dotted(a.name) in renamed
            else a
            for a in updated.names
        ]
        return updated.with_changes(names=aliases)

    # --- docstrings and frozen functions ------------------------------------------------------
    def _mark_docstring(self, body: Iterable[cst.BaseStatement] | cst.BaseSuite) -> None:
        statements = getattr(body, "body", body)
        first = next(iter(statements), None) if not isinstance(statements, cst.BaseSuite) else None
        if (
            isinstance(first, cst.SimpleStatementLine)
            and len(first.body) == 1
            and isinstance(first.body[0], cst.Expr)
        ):
            value = first.body[0].value
            if isinstance(value, (cst.SimpleString, cst.ConcatenatedString)):
                self.prose_strings.add(id(value))
                if isinstance(value, cst.ConcatenatedString):
                    self.prose_strings |= {id(value.left), id(value.right)}

    def visit_Module(self, node: cst.Module) -> bool:
        self._mark_docstring(node.body)
        return True

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self._mark_docstring(node.body)
        return True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self._mark_docstring(node.body)
        return super().visit_FunctionDef(node)  # inside a frozen function: `in_named`

    # --- strings and comments -----------------------------------------------------------------
    def leave_SimpleString(self, original: cst.SimpleString, updated: cst.SimpleString) -> cst.SimpleString:
        prefix = updated.prefix
        prose = id(original) in self.prose_strings
        if "b" in prefix.lower() or (self.in_named and not prose):
            return updated
        quote = updated.quote
        body = updated.value[len(prefix) + len(quote) : len(updated.value) - len(quote)]
        new = self.strings.string(body, prose)
        return updated if new == body else updated.with_changes(value=f"{prefix}{quote}{new}{quote}")

    def leave_FormattedStringText(
        self, original: cst.FormattedStringText, updated: cst.FormattedStringText
    ) -> cst.FormattedStringText:
        # Only prose-like text (messages); f-string weight names never contain whitespace.
        if self.in_named or not any(c.isspace() for c in updated.value):
            return updated
        return updated.with_changes(value=self.strings.prose(updated.value))

    def leave_Comment(self, original: cst.Comment, updated: cst.Comment) -> cst.Comment:
        new = self.strings.prose(updated.value)
        return updated if new == updated.value else updated.with_changes(value=new)


def rename_module(source: str, transformer: RenameTransformer) -> str:
    """`source` parsed, walked by `transformer` and printed (ParserSyntaxError when it does not parse)."""
    return cst.parse_module(source).visit(transformer).code
