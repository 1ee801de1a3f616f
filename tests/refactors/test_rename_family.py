"""rename-family on the real wheel tree plus checkout-shaped tests/docs/examples (ours, in MB's shape)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from analyzers.catalog import build_catalog
from analyzers.errors import PlanConflictError, ResolveError
from codemods.cli import main
from codemods.refactors.rename_family import plan_rename_family
from tests.refactors.conftest import assert_golden, compiles, lay_before, ruff_failures, snapshot

CASE = "rename_family_minimax_m2"
MODELS = "src/megatron/bridge/models"


@pytest.fixture
def family_tree(writable_checkout: Path) -> Path:
    """The checkout-shaped tree plus MiniMax-M2 tests, docs and examples (incl. a frozen release page)."""
    return lay_before(CASE, writable_checkout)


def _counts(catalog, family: str) -> tuple[list[str], int, list[tuple]]:
    record = catalog.family(family)
    assert record is not None, family
    bridges = [b for b in catalog.bridges if b.family == family]
    regs = sum(len(b.registrations) for b in bridges)
    mappings = sorted(
        (m.mapping_class, m.megatron_param, tuple(sorted(m.hf_params.items())))
        for b in bridges
        for m in b.registry.mappings
    )
    return sorted(b.name for b in bridges), regs, mappings


def _apply_check_undo(plan, root: Path, old: str, new: str) -> object:
    """apply: compiles, ruff finds nothing new, the catalog shows NEW with the same bridges/registrations/
    mappings (weight names untouched); undo: the tree is back byte for byte. Returns the applied catalog."""
    before = snapshot(root)
    old_bridges, old_regs, old_mappings = _counts(build_catalog(root), old)
    touched = [e.path for e in plan.changes]
    ruff_before = ruff_failures(root, touched)
    plan.apply()
    assert compiles(root, touched)
    assert ruff_failures(root, touched) == ruff_before
    catalog = build_catalog(root)
    assert catalog.family(old) is None
    new_bridges, new_regs, new_mappings = _counts(catalog, new)
    assert len(new_bridges) == len(old_bridges) and new_regs == old_regs
    assert new_mappings == old_mappings
    plan.undo()
    assert snapshot(root) == before
    return catalog


def test_minimax_m2_golden_keeps_minimax_m3_and_hf_names(family_tree: Path, update_golden: bool) -> None:
    plan = plan_rename_family(family_tree, "minimax_m2", "minimax_m25")
    assert_golden(plan, family_tree, CASE, update=update_golden)
    changed = "".join(
        line
        for line in plan.preview().splitlines(True)
        if line[:1] in "+-" and line[:3] not in ("+++", "---")
    )
    # the neighbour family sharing the prefix is untouched
    assert "minimax_m35" not in changed and "MiniMaxM35" not in changed
    assert not any("minimax_m3/" in e.path for e in plan.changes if e.kind != "modify")
    bridge = plan.current(f"{MODELS}/minimax_m25/minimax_m25_bridge.py")
    # HF-facing names stay: registered HF source and model_type, hub ids; prose brand names stay too
    assert 'source="MiniMaxM2ForCausalLM"' in bridge and 'model_type="minimax_m2"' in bridge
    assert 'AutoBridge.from_hf_pretrained("MiniMaxAI/MiniMax-M2")' in bridge
    assert "class MiniMaxM25Bridge(MegatronModelBridge):" in bridge
    assert "Megatron Bridge for MiniMax-M2 MoE Causal LM." in bridge
    test = plan.current("tests/unit_tests/models/minimax_m25/test_minimax_m25_bridges.py")
    assert 'BRIDGE_PATH = "megatron.bridge.models.minimax_m25.minimax_m25_bridge.MiniMaxM25Bridge"' in test
    assert '"model.layers.*.block_sparse_moe.gate.weight"' in test and '"model_type": "minimax_m2"' in test
    # empty package markers move too (invisible in a diff)
    assert plan.current("tests/unit_tests/models/minimax_m25/__init__.py") == ""
    assert plan.current("tests/unit_tests/models/minimax_m2/__init__.py") is None
    # frozen release docs and the shared vendor folder are left, and said so
    assert plan.current("docs/fern/versions/0.4.2/pages/minimax-m2.mdx").count("MiniMaxM2Bridge") == 1
    assert any("docs/fern/versions/0.4.2" in line for line in plan.report)
    assert any("kept HF-facing string 'minimax_m2'" in line for line in plan.report)
    _apply_check_undo(plan, family_tree, "minimax_m2", "minimax_m25")


def test_olmoe_recipes_registrations_and_rerun(writable_checkout: Path) -> None:
    root = writable_checkout
    plan = plan_rename_family(root, "olmoe", "olmo_moe")
    paths = {e.path: e.kind for e in plan.changes}
    assert paths["src/megatron/bridge/recipes/olmo_moe/h100/olmo_moe_7b.py"] == "create"
    assert paths["src/megatron/bridge/recipes/olmoe/h100/olmoe_7b.py"] == "delete"
    assert paths["tests/unit_tests/models/olmo_moe/test_olmo_moe_bridge.py"] == "create"
    recipes_init = plan.current("src/megatron/bridge/recipes/__init__.py")
    assert "from megatron.bridge.recipes.olmo_moe.h100 import *\n" in recipes_init
    matrix = plan.current("tests/unit_tests/models/test_autobridge_registration_matrix.py")
    assert '"OlmoeForCausalLM": "megatron.bridge.models.olmo_moe.olmo_moe_bridge.OlmoMoeBridge"' in matrix
    bridge = plan.current(f"{MODELS}/olmo_moe/olmo_moe_bridge.py")
    assert "from transformers import OlmoeForCausalLM\n" in bridge
    assert 'register_bridge(source=OlmoeForCausalLM, target=GPTModel, model_type="olmoe")' in bridge
    assert "HuggingFace OlMoEForCausalLM" in bridge  # an HF class named in prose is HF's, even misspelt
    provider = plan.current(f"{MODELS}/olmo_moe/olmo_moe_provider.py")
    assert "class OlmoMoeSelfAttention(" in provider and "OLMoESelfAttention" not in provider
    h100 = plan.current("src/megatron/bridge/recipes/olmo_moe/h100/olmo_moe_7b.py")
    assert "def olmo_moe_7b_pretrain_8gpu_h100_bf16_config() -> ConfigContainer:" in h100
    assert '"allenai/OLMoE-1B-7B-0924"' in h100 and "config for OLMoE-7B" in h100
    catalog = _apply_check_undo(plan, root, "olmoe", "olmo_moe")
    recipe = next(r for r in catalog.recipes if r.name == "olmo_moe")
    assert sorted(f.name for f in recipe.functions) == [
        "olmo_moe_7b_peft_1gpu_h100_bf16_config",
        "olmo_moe_7b_pretrain_8gpu_h100_bf16_config",
        "olmo_moe_7b_sft_8gpu_h100_bf16_config",
    ]
    # a second run: OLD is no family any more; by model_type it names NEW, which exists: nothing to do
    plan.apply()
    again = plan_rename_family(root, "olmoe", "olmo_moe")
    assert again.is_empty() and "target already exists: family 'olmo_moe'" in again.nothing_to_do
    assert build_catalog(root).family("olmoe") is None


def test_model_name_resolves_to_its_family(real_tree: Path, tmp_path: Path) -> None:
    root = tmp_path / "tree"
    shutil.copytree(real_tree / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__"))
    by_class = plan_rename_family(root, "MistralBridge", "mistral_x")
    assert by_class.preview() == plan_rename_family(root, "mistral", "mistral_x").preview()
    assert "'MistralBridge' resolved by class" in by_class.report[0]
    assert by_class.current(f"{MODELS}/mistral_x/mistral_bridge.py") is None
    assert "class MistralXBridge(" in by_class.current(f"{MODELS}/mistral_x/mistral_x_bridge.py")


def test_refusals(family_tree: Path) -> None:
    with pytest.raises(PlanConflictError, match="target already exists: family 'minimax_m3'"):
        plan_rename_family(family_tree, "minimax_m2", "minimax_m3")
    for bad in ("MiniMax", "minimax-m25", "class", "../evil", "a/b"):
        with pytest.raises(ResolveError, match="not a snake_case identifier"):
            plan_rename_family(family_tree, "minimax_m2", bad)
    with pytest.raises(
        ResolveError, match="no bridge class, model_type, bridge module or family named 'minimax'"
    ):
        plan_rename_family(family_tree, "minimax", "minimax_x")


def test_model_name_of_two_families_is_ambiguous(tmp_path: Path) -> None:
    pkg = tmp_path / MODELS
    for family, cls in (("fam_a", "FamABridge"), ("fam_b", "FamBBridge")):
        (pkg / family).mkdir(parents=True)
        (pkg / family / "__init__.py").write_text(f"from .{family}_bridge import {cls}\n")
        (pkg / family / f"{family}_bridge.py").write_text(
            "from megatron.bridge.models.conversion.model_bridge import MegatronModelBridge\n\n\n"
            f'@MegatronModelBridge.register_bridge(source="SharedForCausalLM", target=object, model_type="shared")\n'
            f"class {cls}(MegatronModelBridge):\n    pass\n"
        )
    (pkg / "__init__.py").write_text("")
    with pytest.raises(ResolveError) as info:
        plan_rename_family(tmp_path, "shared", "fam_c")
    message = str(info.value)
    assert (
        message
        == "'shared' is ambiguous (model_type): families fam_a (FamABridge), fam_b (FamBBridge); name the family folder"
    )
    assert (
        plan_rename_family(tmp_path, "FamABridge", "fam_c").current(f"{MODELS}/fam_c/fam_c_bridge.py")
        is not None
    )


def test_cli_dry_run_json_and_refusal(family_tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(family_tree)
    args = ["rename-family", "minimax_m2", "minimax_m25", "--repo", str(family_tree)]
    assert main([*args, "--dry-run"]) == 0
    assert "+class MiniMaxM25Bridge(MegatronModelBridge):" in capsys.readouterr().out
    assert main([*args, "--dry-run", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["applied"] is False
    actions = {f["path"]: f["action"] for f in data["files"]}
    assert actions[f"{MODELS}/minimax_m25/minimax_m25_bridge.py"] == "create"
    assert actions[f"{MODELS}/__init__.py"] == "modify"
    assert snapshot(family_tree) == before
    assert main(["rename-family", "minimax_m2", "minimax_m3", "--repo", str(family_tree)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert snapshot(family_tree) == before


def test_class_prefix_is_chosen_and_checked(writable_checkout: Path, capsys) -> None:
    root = writable_checkout
    plan = plan_rename_family(root, "olmoe", "olmo_moe", class_prefix="OlmoMoE")
    bridge = plan.current(f"{MODELS}/olmo_moe/olmo_moe_bridge.py")
    provider = plan.current(f"{MODELS}/olmo_moe/olmo_moe_provider.py")
    # every class prefix of the family (OlMoE, OLMoE) takes the chosen one; HF's names stay
    assert "class OlmoMoEBridge(MegatronModelBridge):" in bridge and "OlmoMoeBridge" not in bridge
    assert "class OlmoMoEModelProvider(" in provider and "class OlmoMoESelfAttention(" in provider
    assert 'register_bridge(source=OlmoeForCausalLM, target=GPTModel, model_type="olmoe")' in bridge
    _apply_check_undo(plan, root, "olmoe", "olmo_moe")
    before = snapshot(root)
    assert (
        main(["rename-family", "olmoe", "olmo_moe", "--class-prefix", "olmo moe", "--repo", str(root)]) == 2
    )
    assert "--class-prefix 'olmo moe' is not a CamelCase identifier" in capsys.readouterr().err
    assert snapshot(root) == before
