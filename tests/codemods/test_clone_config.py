"""clone-family --config: provider attributes, mapping blocks fitted to the new HF names (or TODOs), test dicts."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from analyzers.catalog import build_catalog
from analyzers.catalog.records import Catalog
from analyzers.coverage import coverage
from analyzers.hf_config import load_spec
from analyzers.hf_names import collect_hf_names
from codemods.clone_family import CloneRequest, plan_clone

RUFF = str(Path(sys.executable).with_name("ruff"))

CONFIGS = Path(__file__).resolve().parents[2] / "fixtures/configs"


def _provider_settings(text: str, cls: str) -> dict[str, str]:
    tree = ast.parse(text)
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls)
    method = next(n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "provider_bridge")
    return {
        s.targets[0].attr: ast.unparse(s.value)
        for s in method.body
        if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Attribute)
    }


def _registry_code(bridge_text: str) -> str:
    return bridge_text[bridge_text.index("def mapping_registry") :]


def _check_tree(tree: Path, paths: list[str]) -> None:
    py = [p for p in paths if p.endswith(".py")]
    compiled = subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *py], cwd=tree, capture_output=True, text=True
    )
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    lint = subprocess.run(
        [RUFF, "check", "--no-cache", "--config", "ruff.toml", *py], cwd=tree, capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = subprocess.run(
        [RUFF, "format", "--check", "--no-cache", "--config", "ruff.toml", *py],
        cwd=tree,
        capture_output=True,
        text=True,
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


@pytest.mark.hf
def test_qwen3_from_qwen2_drops_qkv_bias_and_adds_qk_norm(
    writable_checkout: Path, real_catalog: Catalog
) -> None:
    # Qwen3 rebuilt from Qwen2, with Qwen3's own bridge left out of the learned vocabulary: the Qwen3 checkpoint
    # has no q/k/v biases and has q_norm/k_norm.
    request = CloneRequest(
        "qwen2",
        "qwen9",
        config=str(CONFIGS / "qwen3-8b/config.json"),
        model_type="qwen9",
        hf_class="Qwen9ForCausalLM",
        exclude_teachers=("Qwen3Bridge",),
    )
    result = plan_clone(writable_checkout, request, catalog=real_catalog)
    path = "src/megatron/bridge/models/qwen/qwen9_bridge.py"
    bridge = next(e.after for e in result.plan.changes if e.path == path)
    settings = _provider_settings(bridge, "Qwen9Bridge")
    # the config has no q/k-norm flag: the q_norm/k_norm mappings the registry gains imply qk_layernorm
    assert (settings["add_qkv_bias"], settings["qk_layernorm"]) == ("False", "True")
    registry = _registry_code(bridge)
    assert "self_attn.q_proj.bias" not in registry and "linear_qkv.bias" not in registry
    # the comment above the dropped call went with it; the next call keeps its own
    assert "QKV bias" not in registry and "# Gated MLP: Combine gate and up" in registry
    # added in the source's style: entries of the dict the AutoMapping loop reads
    params = ast.literal_eval(_assigned_in(registry, "param_mappings"))
    assert (
        params["decoder.layers.*.self_attention.q_layernorm.weight"]
        == "model.layers.*.self_attn.q_norm.weight"
    )
    assert (
        params["decoder.layers.*.self_attention.k_layernorm.weight"]
        == "model.layers.*.self_attn.k_norm.weight"
    )
    assert "TODO(bridgesmith)" not in registry
    report = "\n".join(result.plan.report)
    assert (
        "399 HF checkpoint names of the new model (from transformers, Qwen3ForCausalLM): 1 mappings dropped, 2 added"
        in report
    )
    assert (
        "dropped QKVMapping(decoder.layers.*.self_attention.linear_qkv.bias <- model.layers.*.self_attn.q_proj.bias"
        in report
    )
    added = [
        r
        for r in result.plan.report
        if "added AutoMapping(decoder.layers.*.self_attention.q_layernorm.weight" in r
    ]
    assert added and "taught by " in added[0] and "Qwen3Bridge" not in added[0]
    result.plan.apply()
    _check_tree(writable_checkout, [e.path for e in result.plan.changes])
    # the real Qwen3 registry, MTP layers aside, is what the clone wrote
    after = build_catalog(writable_checkout)
    got = _pairs(after.bridge("Qwen9Bridge"))
    real = {p for p in _pairs(real_catalog.bridge("Qwen3Bridge")) if not p[0].startswith("mtp.")}
    assert got == real
    assert plan_clone(writable_checkout, request, catalog=after).already_applied


@pytest.mark.hf
def test_moe_config_on_a_dense_source(writable_checkout: Path, real_catalog: Catalog) -> None:
    request = CloneRequest(
        "qwen3",
        "qwen9",
        config=str(CONFIGS / "qwen3-30b-a3b/config.json"),
        model_type="qwen9",
        hf_class="Qwen9ForCausalLM",
        exclude_teachers=("Qwen3MoEBridge",),
    )
    result = plan_clone(writable_checkout, request, catalog=real_catalog)
    changes = {e.path: e.after for e in result.plan.changes}
    registry = _registry_code(changes["src/megatron/bridge/models/qwen/qwen9_bridge.py"])
    params = ast.literal_eval(_assigned_in(registry, "param_mappings"))
    # dense MLP gone; router as a dict entry; post_attention_layernorm retargeted (no dense linear_fc1 to fuse into)
    assert "decoder.layers.*.mlp.linear_fc2.weight" not in params
    assert 'megatron_param="decoder.layers.*.mlp.linear_fc1.weight"' not in registry
    assert params["decoder.layers.*.mlp.router.weight"] == "model.layers.*.mlp.gate.weight"
    assert (
        params["decoder.layers.*.pre_mlp_layernorm.weight"]
        == "model.layers.*.post_attention_layernorm.weight"
    )
    assert "decoder.layers.*.mlp.linear_fc1.layer_norm_weight" not in params
    # expert blocks as constructor calls beside the source's own
    assert 'megatron_param="decoder.layers.*.mlp.experts.linear_fc1.weight*"' in registry
    # MTP mappings kept (Qwen3's MTP layers), and the report says so
    assert params["mtp.layers.0.eh_proj.weight"] == "mtp.fc.weight"
    assert any(r.startswith("config: kept 12 MTP mappings") for r in result.plan.report)
    # The unit test's mock config takes the new config's values; the conversion test's toy config its toy sizes.
    unit = ast.literal_eval(
        _assigned(changes["tests/unit_tests/models/qwen/test_qwen9_bridge.py"], "QWEN9_CONFIG")
    )
    assert (unit["hidden_size"], unit["num_hidden_layers"], unit["tie_word_embeddings"]) == (2048, 48, False)
    assert unit["architectures"] == ["Qwen9ForCausalLM"] and unit["model_type"] == "qwen9"
    toy = ast.literal_eval(
        _assigned(
            changes["tests/functional_tests/test_groups/models/qwen/test_qwen9_conversion.py"],
            "HF_QWEN9_TOY_MODEL_CONFIG",
        )
    )
    assert toy["hidden_size"] == 256 and toy["num_hidden_layers"] == 4  # the smoke toy's default depth
    result.plan.apply()
    _check_tree(writable_checkout, [e.path for e in result.plan.changes])
    # every HF name of the new checkpoint is mapped, none by two conflicting mappings
    after = build_catalog(writable_checkout)
    names = collect_hf_names(load_spec(request.config))
    report = coverage(after, after.bridge("Qwen9Bridge"), names.names)
    assert report.total == 18867 and report.matched == report.total and report.double_count == 0
    assert {u.pattern for u in report.unused} == {
        p
        for m in real_catalog.bridge("Qwen3Bridge").registry.mappings
        if m.megatron_param.startswith("mtp.")
        for p in m.hf_list
    }
    assert plan_clone(writable_checkout, request, catalog=after).already_applied


def test_arch_unknown_to_transformers_leaves_block_todos(
    writable_checkout: Path, real_catalog: Catalog, tmp_path: Path
) -> None:
    # A model transformers does not know yet: no names to hold the registry against, so the blocks the
    # config implies stay TODOs at the registry's return and the registry is the source's.
    config = json.loads((CONFIGS / "qwen3-8b/config.json").read_text())
    config.update(model_type="qwen9x", architectures=["Qwen9xForCausalLM"])
    (tmp_path / "qwen9x").mkdir()
    (tmp_path / "qwen9x/config.json").write_text(json.dumps(config))
    request = CloneRequest("qwen2", "qwen9x", config=str(tmp_path / "qwen9x/config.json"))
    result = plan_clone(writable_checkout, request, catalog=real_catalog)
    bridge = next(e.after for e in result.plan.changes if e.path.endswith("models/qwen/qwen9x_bridge.py"))
    assert "# TODO(bridgesmith): config attention_bias=False: remove the QKV bias mappings" in bridge
    assert 'megatron_param="decoder.layers.*.self_attention.linear_qkv.bias"' in bridge
    assert any(
        "mapping blocks left as TODOs: HF parameter names unavailable" in r and "qwen9x" in r
        for r in result.plan.report
    )
    assert any(t.path.endswith("qwen9x_bridge.py") and "QKV bias" in t.message for t in result.plan.todos)


def _pairs(bridge) -> set[tuple[str, frozenset[str]]]:
    return {(m.megatron_param, frozenset(m.hf_list)) for m in bridge.registry.mappings}


def _assigned_in(code: str, name: str) -> str:
    tree = ast.parse("\n".join(line[8:] for line in code.splitlines()[1:]))
    node = next(
        n for n in ast.walk(tree) if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", None) == name
    )
    return ast.unparse(node.value)


def _assigned(text: str, name: str) -> str:
    tree = ast.parse(text)
    node = next(
        n for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", None) == name
    )
    return ast.unparse(node.value)
