"""rename-param on the real wheel tree: only mapping registries change, every touched bridge is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzers.catalog import build_catalog
from analyzers.errors import ResolveError
from codemods.refactors.rename_param import ParamPattern, plan_rename_param
from tests.refactors.conftest import assert_apply_undo, assert_golden

CASE = "rename_param_mtp"
OLD = "mtp.layers.*.mtp_model_layer."
NEW = "mtp.layers.*.transformer_layer."


def test_pattern_matches_whole_segments_only() -> None:
    p = ParamPattern("decoder.layers.1.mlp", "decoder.layers.1.ffn")
    assert p.matches("decoder.layers.1.mlp.linear_fc1.weight")
    assert not p.matches("decoder.layers.10.mlp.linear_fc1.weight")
    assert not p.matches("decoder.layers.1.mlp_extra.weight")
    wild = ParamPattern(OLD, NEW)
    assert wild.matches("language_model.mtp.layers.0.mtp_model_layer.mlp.linear_fc2.weight")
    assert (
        wild.in_source.sub(wild.substitute, 'f"mtp.layers.{i}.mtp_model_layer.x"')
        == 'f"mtp.layers.{i}.transformer_layer.x"'
    )
    with pytest.raises(ResolveError, match="same number of"):
        ParamPattern(OLD, "mtp.layers.transformer_layer.")


def test_rename_mtp_prefix_golden(tree: Path, real_catalog, update_golden: bool) -> None:
    plan = plan_rename_param(tree, real_catalog, OLD, NEW)
    assert_golden(plan, tree, CASE, update=update_golden)
    changed = {e.path for e in plan.changes}
    # the registries that spell it (also through helpers: deepseek/common.py, Qwen3.5 VL via Qwen35Bridge)
    assert "src/megatron/bridge/models/deepseek/common.py" in changed
    assert "src/megatron/bridge/models/qwen/qwen35_bridge.py" in changed
    # quantization tables, tests and docs are never touched; bridges that build names from pieces are TODOs
    assert all(
        p.startswith("src/megatron/bridge/models/") and p.endswith("_bridge.py") or p.endswith("common.py")
        for p in changed
    )
    report = "\n".join(plan.report)
    assert (
        "edited registry of Qwen35VLBridge: src/megatron/bridge/models/qwen/qwen35_bridge.py::Qwen35Bridge._get_dense_mtp_mappings"
        in report
    )
    assert "TODO MimoBridge" in report
    # HF-side names and other weight patterns stay
    removed = [
        line for line in plan.preview().splitlines() if line.startswith("-") and not line.startswith("---")
    ]
    assert removed and all("mtp_model_layer" in line for line in removed)
    assert_apply_undo(plan, tree)


def test_after_apply_the_catalog_agrees(tree: Path, real_catalog) -> None:
    plan = plan_rename_param(tree, real_catalog, OLD, NEW, family="qwen")
    assert {e.path.rsplit("/", 1)[1] for e in plan.changes} == {
        "qwen3_bridge.py",
        "qwen35_bridge.py",
        "qwen3_next_bridge.py",
    }
    assert any("also changes Qwen35VLBridge (family qwen_vl)" in line for line in plan.report)
    plan.apply()
    after = build_catalog(tree, use_cache=False)
    old, new = ParamPattern(OLD, NEW), ParamPattern(NEW, OLD)
    for bridge in after.bridges:
        before = real_catalog.bridge(bridge.name)
        olds = [m.megatron_param for m in before.registry.mappings if old.matches(m.megatron_param)]
        shared = any(f"also changes {bridge.name} (family" in line for line in plan.report)
        if bridge.family == "qwen" or shared:
            assert not any(old.matches(m.megatron_param) for m in bridge.registry.mappings), bridge.name
            assert len([m for m in bridge.registry.mappings if new.matches(m.megatron_param)]) == len(olds)
        else:
            assert [m.megatron_param for m in bridge.registry.mappings] == [
                m.megatron_param for m in before.registry.mappings
            ]


def test_side_and_unknown_pattern(tree: Path, real_catalog) -> None:
    with pytest.raises(ResolveError, match="no mapping registry"):
        plan_rename_param(tree, real_catalog, OLD, NEW, side="hf")
    hf = plan_rename_param(
        tree,
        real_catalog,
        "model.embed_tokens.weight",
        "model.tok_embeddings.weight",
        side="hf",
        family="qwen",
    )
    removed = [
        line for line in hf.preview().splitlines() if line.startswith("-") and not line.startswith("---")
    ]
    assert removed and all('"model.embed_tokens.weight"' in line for line in removed)
    assert all("embedding.word_embeddings.weight" in line for line in removed)
