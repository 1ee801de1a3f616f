"""Maintainers' refactors across a Megatron-Bridge tree: rename-symbol, move-module, rename-param, rename-family.

Each `plan_*` function returns a `codemods.plan.Plan` and writes nothing.
"""

from codemods.refactors.move_module import plan_move_module
from codemods.refactors.rename_family import plan_rename_family
from codemods.refactors.rename_param import plan_rename_param
from codemods.refactors.rename_symbol import plan_rename_symbol

__all__ = ["plan_move_module", "plan_rename_family", "plan_rename_param", "plan_rename_symbol"]
