"""MBR040: a public recipe function that no `__init__.py` of its recipe family exports."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cached_property

from analyzers.catalog.modules import module_candidates, resolve_relative
from analyzers.catalog.records import RecipeFamily
from analyzers.lint.rule import Finding, Invalid, LintRule
from analyzers.rules._common import all_entry_nodes

_R = "src/megatron/bridge/recipes"


class RecipeNotExported(LintRule):
    """Flags recipe functions (`*_config`) that the recipe family's `__init__.py` files do not export.

    ## What it does
    For each public `<name>_config` function defined under `recipes/<family>/` (including the
    hardware folders `h100/`, `gb200/`, ...), checks that the family `__init__.py` or the hardware
    folder's `__init__.py` exports it: its `__all__` when it has one (that is what a wildcard import
    of the package re-exports), else its imports (by name, or by a wildcard import of the module).

    ## Why is this bad?
    `recipes/__init__.py` wildcard-imports the family packages; a recipe they do not export is
    missing from `megatron.bridge.recipes`, so `run_recipe.py --recipe <name>` and the recipe tables
    cannot find it.

    ## Use instead
    Import it in the family (or hardware) `__init__.py` and list it in `__all__` when there is one.
    """

    CODE = "MBR040"
    NAME = "recipe-not-exported"
    MESSAGE = "recipe `{function}` is not exported by `{init}`"
    VALID = [
        {
            f"{_R}/foo/__init__.py": "from megatron.bridge.recipes.foo.h100.foo import foo_7b_pretrain_config\n\n__all__ = ['foo_7b_pretrain_config']\n",
            f"{_R}/foo/h100/__init__.py": "",
            f"{_R}/foo/h100/foo.py": "def foo_7b_pretrain_config():\n    return 1\n\n\ndef _common_config():\n    return 2\n",
        },
        {
            f"{_R}/foo/__init__.py": "",
            f"{_R}/foo/h100/__init__.py": "from .foo import *\n",
            f"{_R}/foo/h100/foo.py": "def foo_7b_pretrain_config():\n    return 1\n",
        },
    ]
    INVALID = [
        Invalid(
            {
                f"{_R}/foo/__init__.py": "from megatron.bridge.recipes.foo.h100.foo import foo_7b_pretrain_config\n",
                f"{_R}/foo/h100/__init__.py": "",
                f"{_R}/foo/h100/foo.py": "def foo_7b_pretrain_config():\n    return 1\n\n\ndef foo_7b_sft_config():\n    return 2\n",
            },
            expected_message="foo_7b_sft_config",
        ),
        Invalid(
            {
                f"{_R}/foo/__init__.py": "",
                f"{_R}/foo/h100/__init__.py": "from .foo import *\n\n__all__ = ['foo_7b_pretrain_config']\n",
                f"{_R}/foo/h100/foo.py": "def foo_7b_pretrain_config():\n    return 1\n\n\ndef foo_7b_sft_config():\n    return 2\n",
            },
            expected_message="foo_7b_sft_config",
        ),
    ]

    @cached_property
    def _inits(self) -> dict[str, list[str]]:
        """recipe family -> __init__.py paths under it."""
        out: dict[str, list[str]] = {}
        prefix = f"{_R}/"
        for rel in self.ctx.files.paths:
            if rel.startswith(prefix) and rel.endswith("/__init__.py"):
                parts = rel[len(prefix) :].split("/")
                if len(parts) >= 2:
                    out.setdefault(parts[0], []).append(rel)
        return out

    def _init_imports(self, init: str) -> tuple[list[str], list[str], list[str] | None]:
        """(explicitly imported names, wildcard-imported modules, `__all__` or None) of one module."""
        module = self.ctx.module(init)
        if module is None:
            return [], [], None
        names: list[str] = []
        stars: list[str] = []
        for node in module.tree.body:
            if isinstance(node, ast.ImportFrom):
                if node.names[0].name == "*":
                    stars.append(resolve_relative(module.name, True, node.level, node.module))
                else:
                    names.extend(a.asname or a.name for a in node.names)
        entries = [n.value for n in all_entry_nodes(module)]
        has_all = any(
            isinstance(n, ast.Assign | ast.AugAssign)
            and isinstance(getattr(n, "target", None) or n.targets[0], ast.Name)
            and (getattr(n, "target", None) or n.targets[0]).id == "__all__"
            for n in module.tree.body
        )
        return names, stars, entries if has_all else None

    def _exported(self, recipe: RecipeFamily) -> set[str]:
        names: set[str] = set()
        for init in self._inits.get(recipe.name, []):
            explicit, stars, entries = self.ctx.fact(
                f"{self.CODE}.imports", init, lambda i=init: self._init_imports(i)
            )
            if entries is not None:
                # With `__all__`, `recipes/__init__.py`'s wildcard import re-exports exactly those names.
                names.update(entries)
                continue
            names.update(explicit)
            for star in stars:
                # A wildcard import exports the module's public functions (as the catalog lists them).
                names.update(
                    f.name for r in self.ctx.catalog.recipes for f in r.functions if f.module == star
                )
                names.update(self._star_aliases(star))
        return names

    def _star_aliases(self, dotted: str) -> list[str]:
        path = module_candidates(dotted)[0]
        if path not in self.ctx.files.data:
            return []
        return self.ctx.fact(f"{self.CODE}.aliases", path, lambda: self._init_imports(path)[0])

    def check_recipe_family(self, recipe: RecipeFamily) -> Iterator[Finding]:
        if not recipe.functions:
            return
        exported = self._exported(recipe)
        init = f"{recipe.path}/__init__.py"
        for fn in recipe.functions:
            if fn.name in exported:
                continue
            where = f"{recipe.path}/{fn.hardware}/__init__.py" if fn.hardware else init
            yield self.finding(
                fn.location, related=self._inits.get(recipe.name, []), function=fn.name, init=where
            )
