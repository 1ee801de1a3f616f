"""clone-family's registry edits hold the new model's kind (real tree, transformers' default configs and their
HF names): a dense fused gate_up_proj never becomes an expert mapping, a pre-MLP post_attention_layernorm stays
fused into linear_fc1, a post-norm model's norm moves to its post-norm place, fused q/k/v is mapped."""

from __future__ import annotations

from analyzers.hf_config import load_spec
from analyzers.hf_names import collect_hf_names
from codemods.clone_family._registry_edits import plan_registry


def _plan(catalog, source: str, model_type: str):
    names = collect_hf_names(load_spec(from_transformers=model_type))
    return plan_registry(catalog, catalog.bridge(source), names, model_type=model_type)


def test_phi3_from_llama(real_catalog) -> None:
    plan = _plan(real_catalog, "LlamaBridge", "phi3")
    assert not [k for k in plan.adds if ".experts." in k.megatron_param]
    assert [(k.mapping_class, k.megatron_param, k.hf_list) for k in plan.adds] == [
        (
            "ConcatenatedQKVMapping",
            "decoder.layers.*.self_attention.linear_qkv.weight",
            ["model.layers.*.self_attn.qkv_proj.weight"],
        ),
        # the dense fused gate_up_proj: the local class clone-family writes (no catalog class takes it)
        (
            "FusedGateUpMLPMapping",
            "decoder.layers.*.mlp.linear_fc1.weight",
            ["model.layers.*.mlp.gate_up_proj.weight"],
        ),
    ]
    assert plan.classes["ConcatenatedQKVMapping"] == "megatron.bridge.models.conversion.param_mapping"
    # Llama's pre-MLP norm is Phi3's too: neither retargeted to a post-norm slot nor flagged
    assert not plan.retargets
    assert not [t for t in plan.element_todos.values() if "layer_norm" in t]
    assert not [t for t in plan.todos if "gate_up_proj" in t]


def test_starcoder2_from_qwen2(real_catalog) -> None:
    plan = _plan(real_catalog, "Qwen2Bridge", "starcoder2")
    added = {k.hf_list[0].removeprefix("model.layers.*."): k.megatron_param for k in plan.adds}
    assert added["mlp.c_fc.weight"] == "decoder.layers.*.mlp.linear_fc1.weight"
    assert added["mlp.c_proj.bias"] == "decoder.layers.*.mlp.linear_fc2.bias"
    assert added["post_attention_layernorm.bias"] == "decoder.layers.*.mlp.linear_fc1.layer_norm_bias"
    assert not plan.retargets and not [t for t in plan.todos if "not mapped" in t]
    # the LayerNorm biases and the MLP biases need a provider that builds them
    assert plan.requires["normalization"][0] == "LayerNorm"
    assert plan.requires["add_bias_linear"][0] is True


def test_post_norm_model_from_a_pre_norm_source(real_catalog) -> None:
    # Gemma2's post_attention_layernorm follows the attention: Llama's pre-MLP mapping of it is retargeted
    plan = _plan(real_catalog, "LlamaBridge", "gemma2")
    moved = {k.hf_list[0]: new for k, new in plan.retargets}
    assert moved["model.layers.*.post_attention_layernorm.weight"] == (
        "decoder.layers.*.self_attention.linear_proj.post_layernorm.weight"
    )
    assert any("pre_feedforward_layernorm" in k.hf_list[0] and "linear_fc1.layer_norm_weight" in k.megatron_param
               for k in plan.adds)  # fmt: skip
    # LlamaBridge's layers have no post-norms: the layer spec is named as what the provider needs
    assert [t for t in plan.todos if "post_layernorm" in t and "layer spec" in t]
