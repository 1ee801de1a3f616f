"""clone-family --config: provider attributes the config decides, mapping-block TODOs, test dicts from the config."""

from __future__ import annotations

import ast
from pathlib import Path

from analyzers.catalog.records import Catalog
from codemods.clone_family import CloneRequest, plan_clone

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


def test_config_decides_qkv_bias_and_leaves_block_todos(
    writable_checkout: Path, real_catalog: Catalog
) -> None:
    # Qwen3 rebuilt from Qwen2: the Qwen3 config says attention_bias=false, Qwen2's bridge sets add_qkv_bias=True.
    request = CloneRequest(
        "qwen2",
        "qwen9",
        config=str(CONFIGS / "qwen3-8b/config.json"),
        model_type="qwen9",
        hf_class="Qwen9ForCausalLM",
    )
    result = plan_clone(writable_checkout, request, catalog=real_catalog)
    bridge = next(e.after for e in result.plan.changes if e.path.endswith("models/qwen/qwen9_bridge.py"))
    assert _provider_settings(bridge, "Qwen9Bridge")["add_qkv_bias"] == "False"
    assert "TODO(bridgesmith): config attention_bias=False: remove the QKV bias mappings" in bridge
    assert any(
        "add_qkv_bias = False (config attention_bias=False; Qwen2Bridge sets True)" in r
        for r in result.plan.report
    )
    assert any(t.path.endswith("qwen9_bridge.py") and "QKV bias" in t.message for t in result.plan.todos)


def test_moe_config_on_a_dense_source(writable_checkout: Path, real_catalog: Catalog) -> None:
    request = CloneRequest(
        "qwen3",
        "qwen9",
        config=str(CONFIGS / "qwen3-30b-a3b/config.json"),
        model_type="qwen9",
        hf_class="Qwen9ForCausalLM",
    )
    result = plan_clone(writable_checkout, request, catalog=real_catalog)
    changes = {e.path: e.after for e in result.plan.changes}
    bridge = changes["src/megatron/bridge/models/qwen/qwen9_bridge.py"]
    assert "TODO(bridgesmith): the config is MoE: add router/expert mappings, as " in bridge
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
    assert toy["hidden_size"] == 256 and toy["num_hidden_layers"] == 2


def _assigned(text: str, name: str) -> str:
    tree = ast.parse(text)
    node = next(
        n for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", None) == name
    )
    return ast.unparse(node.value)
