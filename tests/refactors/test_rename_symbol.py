"""rename-symbol on the real wheel tree plus our overlay of tests/docs/examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzers.errors import PlanConflictError, ResolveError
from codemods.cli import main
from codemods.refactors.rename_symbol import find_definitions, plan_rename_symbol
from tests.refactors.conftest import assert_apply_undo, assert_golden

CASE = "rename_symbol_qwen3"


def test_rename_bridge_class_golden(tree: Path, update_golden: bool) -> None:
    plan = plan_rename_symbol(tree, "Qwen3Bridge", "Qwen3DenseBridge")
    assert_golden(plan, tree, CASE, update=update_golden)
    diff = plan.preview()
    # prefix names and other words stay: Qwen3MoEBridge, MegatronQwen3Bridge, TestMegatronQwen3Bridge
    assert "-from megatron.bridge.models.qwen import Qwen3MoEBridge" not in diff
    assert "MegatronQwen3Dense" not in diff
    # a dotted path into another module and frozen release docs are left
    assert "other_family.Qwen3DenseBridge" not in diff
    assert "versions/0.4.2" not in diff
    assert any("other_family.Qwen3Bridge" in line for line in plan.report)
    assert_apply_undo(plan, tree)


def test_rename_keeps_alias_and_style(tree: Path) -> None:
    plan = plan_rename_symbol(
        tree, "megatron.bridge.models.qwen.qwen3_bridge.Qwen3Bridge", "Qwen3DenseBridge"
    )
    after = plan.current("examples/conversion/qwen3_roundtrip.py")
    assert "from megatron.bridge.models.qwen.qwen3_bridge import Qwen3DenseBridge as Bridge\n" in after
    assert 'print(Bridge.__name__)  # prints "Qwen3DenseBridge"' in after


def test_rerun_after_apply_finds_nothing_to_rename(tree: Path) -> None:
    plan_rename_symbol(tree, "Qwen3Bridge", "Qwen3DenseBridge").apply()
    assert find_definitions(tree, "Qwen3Bridge") == []
    again = plan_rename_symbol(tree, "Qwen3Bridge", "Qwen3DenseBridge")
    assert again.is_empty() and "no module-level" in again.nothing_to_do
    assert (
        "'Qwen3DenseBridge' is defined at src/megatron/bridge/models/qwen/qwen3_bridge.py:"
        in again.nothing_to_do
    )


def test_refuses_existing_target(tree: Path) -> None:
    with pytest.raises(PlanConflictError, match="target already exists: 'Qwen3MoEBridge'"):
        plan_rename_symbol(tree, "Qwen3Bridge", "Qwen3MoEBridge")


def test_refuses_ambiguous_name_listing_candidates(tree: Path) -> None:
    with pytest.raises(ResolveError) as info:
        plan_rename_symbol(tree, "NemotronVLModelProvider", "NemotronVLProvider")
    message = str(info.value)
    assert "'NemotronVLModelProvider' is ambiguous" in message and "\n" not in message
    assert "megatron.bridge.models.nemotron_vl.nemotron_vl_provider.NemotronVLModelProvider" in message
    assert "megatron.bridge.models.nemotron_omni.nemotron_omni_provider.NemotronVLModelProvider" in message
    # a dotted path picks one
    plan = plan_rename_symbol(
        tree,
        "megatron.bridge.models.nemotron_vl.nemotron_vl_provider.NemotronVLModelProvider",
        "NemotronVLProvider",
    )
    assert all("nemotron_omni_provider" not in e.path for e in plan.changes)


def test_cli_dry_run_writes_nothing_and_exit_codes(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tree / "src/megatron/bridge/models/qwen/qwen3_bridge.py"
    before = source.read_text()
    assert main(["rename-symbol", "Qwen3Bridge", "Qwen3DenseBridge", "--repo", str(tree), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "+class Qwen3DenseBridge(MegatronModelBridge):" in out
    assert source.read_text() == before
    assert main(["rename-symbol", "Qwen3Bridge", "Qwen3MoEBridge", "--repo", str(tree)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert source.read_text() == before
