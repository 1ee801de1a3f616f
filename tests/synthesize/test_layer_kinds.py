"""Synthesized mappings of the new model's kind, on transformers' default configs and their real HF names:
dense vs MoE, a norm's place read from the modeling source, fused q/k/v and non-gated MLP projections."""

from __future__ import annotations

import pytest

from analyzers.hf_config import load_spec
from analyzers.hf_names import collect_hf_names
from analyzers.layer_roles import hf_roles, megatron_role
from analyzers.modeling_source import modeling_facts
from analyzers.synthesize import synthesize
from analyzers.vocabulary import compile_pattern, learn_vocabulary


@pytest.fixture(scope="module")
def vocab(real_catalog):
    return learn_vocabulary(real_catalog)


def _synth(vocab, model_type: str):
    names = collect_hf_names(load_spec(from_transformers=model_type))
    return synthesize(vocab, names.names, tied=names.tied, model_type=model_type)


def _for(result, hf_suffix: str):
    """The synthesized mappings that read the layer tensor `hf_suffix`."""
    name = f"model.layers.0.{hf_suffix}"
    return [m for m in result.mappings if any(compile_pattern(p).match(name) for p in m.hf_params.values())]


def test_norm_places_from_the_decoder_layer_forward() -> None:
    # Llama's post_attention_layernorm feeds the MLP; Gemma2's follows the attention, before the residual add.
    assert dict(modeling_facts("llama").norm_roles)["post_attention_layernorm"] == "pre_mlp"
    gemma2 = dict(modeling_facts("gemma2").norm_roles)
    assert gemma2["post_attention_layernorm"] == "post_attn"
    assert gemma2["pre_feedforward_layernorm"] == "pre_mlp"
    assert gemma2["post_feedforward_layernorm"] == "post_mlp"
    assert dict(modeling_facts("glm4").norm_roles)["post_self_attn_layernorm"] == "post_attn"
    # Phi3 slices [q; k; v] out of qkv_proj; GPT-NeoX views query_key_value per head first
    assert modeling_facts("phi3").fused_qkv_layout == "concatenated"
    assert modeling_facts("gpt_neox").fused_qkv_layout == "per-head"
    assert hf_roles("gemma2", ["post_attention_layernorm.weight"]) == {
        "post_attention_layernorm.weight": "post_attn"
    }


def test_phi3_dense_fused_tensors(vocab) -> None:
    result = _synth(vocab, "phi3")
    assert not result.context.moe
    # a dense model gets no expert / router module, whatever an analogy with GLM4.5's experts says
    assert not [
        m for m in result.mappings if ".experts." in m.megatron_param or ".router." in m.megatron_param
    ]
    (norm,) = _for(result, "post_attention_layernorm.weight")
    assert norm.megatron_param == "decoder.layers.*.mlp.linear_fc1.layer_norm_weight"
    (qkv,) = _for(result, "self_attn.qkv_proj.weight")
    assert (qkv.mapping_class, qkv.megatron_param) == (
        "ConcatenatedQKVMapping",
        "decoder.layers.*.self_attention.linear_qkv.weight",
    )
    assert not qkv.custom_class
    # no catalog class takes a dense [gate; up] tensor: unmapped, with what it would take
    assert not _for(result, "mlp.gate_up_proj.weight")
    (left,) = [u for u in result.unmapped if u.shape.endswith("mlp.gate_up_proj.weight")]
    assert "local mapping class" in left.needs and "mlp.linear_fc1.weight" in left.needs
    assert any("local mapping class" in t.message for t in result.todos)


def test_starcoder2_non_gated_mlp_and_pre_mlp_norm(vocab) -> None:
    result = _synth(vocab, "starcoder2")
    assert result.mapped_names == result.names_total
    fc = {
        s: _for(result, s)
        for s in ("mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias")
    }
    assert {s: [(m.mapping_class, m.megatron_param) for m in ms] for s, ms in fc.items()} == {
        "mlp.c_fc.weight": [("AutoMapping", "decoder.layers.*.mlp.linear_fc1.weight")],
        "mlp.c_fc.bias": [("AutoMapping", "decoder.layers.*.mlp.linear_fc1.bias")],
        "mlp.c_proj.weight": [("AutoMapping", "decoder.layers.*.mlp.linear_fc2.weight")],
        "mlp.c_proj.bias": [("AutoMapping", "decoder.layers.*.mlp.linear_fc2.bias")],
    }
    for suffix in ("weight", "bias"):
        (norm,) = _for(result, f"post_attention_layernorm.{suffix}")
        assert megatron_role(norm.megatron_param.removeprefix("decoder.layers.*.")) == "pre_mlp"


def test_glm4_post_norms_keep_their_place(vocab) -> None:
    result = _synth(vocab, "glm4")
    places = {
        s: megatron_role(m.megatron_param.removeprefix("decoder.layers.*."))
        for s in (
            "post_self_attn_layernorm.weight",
            "post_attention_layernorm.weight",
            "post_mlp_layernorm.weight",
        )
        for m in _for(result, s)
    }
    assert places == {
        "post_self_attn_layernorm.weight": "post_attn",
        "post_attention_layernorm.weight": "pre_mlp",
        "post_mlp_layernorm.weight": "post_mlp",
    }
    assert not [m for m in result.mappings if ".experts." in m.megatron_param]


def test_moe_models_keep_their_experts(vocab) -> None:
    # the dense filter leaves MoE targets alone: Mixtral's experts still map onto Megatron's experts
    result = _synth(vocab, "mixtral")
    assert result.context.moe
    (fc1,) = _for(result, "block_sparse_moe.experts.0.w1.weight")
    assert fc1.megatron_param == "decoder.layers.*.mlp.experts.linear_fc1.weight*"
    (norm,) = _for(result, "post_attention_layernorm.weight")
    assert norm.megatron_param == "decoder.layers.*.pre_mlp_layernorm.weight"


def test_exaone4_norms_follow_attention_and_mlp_and_its_embeddings_are_not_scaled() -> None:
    # EXAONE 4.0: h = x + norm(attn(x)), no input norm; Gemma scales its embeddings by sqrt(hidden_size)
    exaone4 = dict(modeling_facts("exaone4").norm_roles)
    assert exaone4 == {"post_attention_layernorm": "post_attn", "post_feedforward_layernorm": "post_mlp"}
    assert modeling_facts("exaone4").embedding_scaled is False
    assert modeling_facts("gemma2").embedding_scaled is True
    assert modeling_facts("gemma3").embedding_scaled is True
    assert modeling_facts("llama").embedding_scaled is False
