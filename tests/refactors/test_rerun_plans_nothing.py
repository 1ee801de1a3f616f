"""Every refactor run again on its own result plans nothing: an empty plan that says why, and the second plan
changes nothing on disk (as clone-family's `already_applied`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from analyzers.catalog import build_catalog
from codemods.plan import Plan
from codemods.refactors import plan_move_module, plan_rename_family, plan_rename_param, plan_rename_symbol
from tests.refactors.conftest import snapshot


def _rename_param(root: Path, old: str, new: str) -> Plan:
    return plan_rename_param(root, build_catalog(root), old, new)


#: refactor -> (its plan, OLD, NEW, what the reason names)
CASES: dict[str, tuple[Callable[[Path, str, str], Plan], str, str, str]] = {
    "rename-symbol": (
        plan_rename_symbol,
        "Qwen3Bridge",
        "Qwen3DenseBridge",
        "'Qwen3DenseBridge' is defined at src/megatron/bridge/models/qwen/qwen3_bridge.py:",
    ),
    "move-module": (
        plan_move_module,
        "megatron.bridge.models.qwen.qwen3_next_bridge",
        "megatron.bridge.models.qwen3_next.bridge",
        "src/megatron/bridge/models/qwen3_next/bridge.py exists (already moved)",
    ),
    "rename-param": (
        _rename_param,
        "mtp.layers.*.enorm.weight",
        "mtp.layers.*.enorm_x.weight",
        "some name 'mtp.layers.*.enorm_x.weight' (already renamed)",
    ),
    "rename-family": (
        plan_rename_family,
        "olmoe",
        "olmo_moe",
        "src/megatron/bridge/models/olmo_moe: target already exists: family 'olmo_moe'",
    ),
}


@pytest.mark.parametrize("refactor", CASES)
def test_plan_apply_plan_again_is_empty(writable_checkout: Path, refactor: str) -> None:
    plan_of, old, new, why = CASES[refactor]
    root = writable_checkout
    first = plan_of(root, old, new)
    assert first.changes and not first.nothing_to_do
    first.apply()
    done = snapshot(root)
    again = plan_of(root, old, new)
    assert again.is_empty() and again.items == [] and again.todos == []
    assert why in again.nothing_to_do
    assert again.report == [f"nothing to do: {again.nothing_to_do}"]
    assert snapshot(root) == done
