"""MBR041: a recipe family (or its h100 folder) that `recipes/__init__.py` does not wildcard-import."""

from __future__ import annotations

from collections.abc import Iterator

from analyzers.catalog.records import RecipeFamily
from analyzers.lint.rule import Edit, Finding, Invalid, LintRule
from analyzers.rules._common import RECIPES_INIT, start

_R = "src/megatron/bridge/recipes"
_FOO = {
    f"{_R}/foo/__init__.py": "from megatron.bridge.recipes.foo.foo import foo_7b_pretrain_config\n",
    f"{_R}/foo/foo.py": "def foo_7b_pretrain_config():\n    return 1\n",
}


class RecipeFamilyNotWildcardImported(LintRule):
    """Flags recipe families that `recipes/__init__.py` does not wildcard-import.

    ## What it does
    Checks that `recipes/__init__.py` has `from megatron.bridge.recipes.<family> import *` for every
    recipe family package, and `... .<family>.h100 import *` when the family has an `h100/` package.

    ## Why is this bad?
    `megatron.bridge.recipes` is the index every launcher and the recipe tables read; a family
    missing there exists on disk but cannot be selected by name.

    ## Use instead
    Add the wildcard imports beside the other families'.
    """

    CODE = "MBR041"
    NAME = "recipe-family-not-wildcard-imported"
    MESSAGE = "`recipes/__init__.py` does not wildcard-import `{module}`"
    FIX_TITLE = "add `from megatron.bridge.recipes.{module} import *`"
    VALID = [{**_FOO, RECIPES_INIT: "from megatron.bridge.recipes.foo import *\n"}]
    INVALID = [
        Invalid(
            {
                **_FOO,
                RECIPES_INIT: "from megatron.bridge.recipes.bar import *\n",
                f"{_R}/bar/__init__.py": "",
            },
            expected_message="`foo`",
            expected_replacement={
                RECIPES_INIT: "from megatron.bridge.recipes.bar import *\nfrom megatron.bridge.recipes.foo import *\n"
            },
        ),
    ]

    def check_recipe_family(self, recipe: RecipeFamily) -> Iterator[Finding]:
        catalog = self.ctx.catalog
        if catalog.recipes_init is None or recipe.init is None:
            return
        wanted = [recipe.name]
        if "h100" in recipe.hardware and self.ctx.exists(f"{recipe.path}/h100/__init__.py"):
            wanted.append(f"{recipe.name}.h100")
        for module in wanted:
            if module in recipe.wildcard_imported:
                continue
            dotted = f"megatron.bridge.recipes.{module}"
            fix = Edit("add-star-import", RECIPES_INIT, module=dotted)
            where = (
                f"{recipe.path}/__init__.py" if module == recipe.name else f"{recipe.path}/h100/__init__.py"
            )
            finding = self.finding(start(where), fix=fix, related=[RECIPES_INIT], module=module)
            yield Finding(**{**finding.__dict__, "fix_title": self.FIX_TITLE.format(module=module)})
