"""Name variants and the case-preserving, token-bounded renamer."""

from __future__ import annotations

import pytest

from analyzers.errors import ResolveError
from codemods.naming import ModelNames, Renamer, Variant, align_camel, check_stem, rename_camel, transfer_case

QWEN = Renamer(
    [Variant("qwen3", "qwen4"), Variant("Qwen3", "Qwen4"), Variant("QWEN3", "QWEN4")],
    protected=["qwen3_moe", "Qwen3MoE", "QWEN3_MOE", "qwen3_vl", "Qwen3VL", "Qwen3Moe"],
)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("qwen3_bridge", "qwen4_bridge"),
        ("Qwen3Bridge", "Qwen4Bridge"),
        ("MegatronQwen3Bridge", "MegatronQwen4Bridge"),
        ("_QWEN3_8B_MODEL_ID", "_QWEN4_8B_MODEL_ID"),
        ("qwen3_8b_pretrain_config", "qwen4_8b_pretrain_config"),
        ("test_qwen3_bridge", "test_qwen4_bridge"),
    ],
)
def test_renames_whole_tokens(before: str, after: str) -> None:
    assert QWEN.identifier(before) == after


@pytest.mark.parametrize(
    "name",
    [
        "qwen3_moe_bridge",
        "Qwen3MoEBridge",
        "QWEN3_MOE_LAYERS",
        "Qwen3VLBridge",
        "qwen35_bridge",
        "Qwen35Bridge",
        "myqwen3",
        "Qwen3MoeForCausalLM",
    ],
)
def test_never_renames_other_models_or_inside_tokens(name: str) -> None:
    assert QWEN.identifier(name) == name


def test_prose_keeps_other_models_and_weight_like_text() -> None:
    text = "Qwen3 differs from Qwen2; see Qwen/Qwen3-8B, not Qwen3MoE or qwen3_moe."
    assert QWEN.prose(text) == "Qwen4 differs from Qwen2; see Qwen/Qwen4-8B, not Qwen3MoE or qwen3_moe."
    assert QWEN.prose("model.layers.*.self_attn.q_norm.weight") == "model.layers.*.self_attn.q_norm.weight"


def test_longest_variant_wins() -> None:
    renamer = Renamer([Variant("qwen3", "qwen4"), Variant("qwen3_vl", "qwen4_vision")])
    assert renamer.identifier("qwen3_vl_bridge") == "qwen4_vision_bridge"
    assert renamer.identifier("qwen3_bridge") == "qwen4_bridge"


def test_camel_alignment_and_case_transfer() -> None:
    assert align_camel("Qwen3VLMoEBridge", "qwen3_vl") == ["Qwen3", "VL", "MoEBridge"]
    assert align_camel("Gemma3ForConditionalGeneration", "gemma3_vl") is None
    assert rename_camel("Qwen3MoE", "qwen3_moe", "qwen4_moe") == "Qwen4MoE"
    assert rename_camel("DeepSeekV3", "deepseek_v3", "deepseek_v5") == "DeepSeekV5"
    assert rename_camel("OlMoE", "olmoe", "olmoe2") == "OlMoE2"
    assert rename_camel("Qwen3", "qwen3", "my_model") == "MyModel"
    assert transfer_case("QWEN3", "qwen4") == "QWEN4"


def test_model_names_from_source_spelling() -> None:
    names = ModelNames.derive(
        "qwen4_moe", src_stem="qwen3_moe", src_prefix="Qwen3MoE", src_hf_class="Qwen3MoeForCausalLM"
    )
    assert (names.class_prefix, names.bridge_class, names.hf_class) == (
        "Qwen4MoE",
        "Qwen4MoEBridge",
        "Qwen4MoeForCausalLM",
    )
    assert (names.model_type, names.upper, names.docs_page) == ("qwen4_moe", "QWEN4_MOE", "qwen4-moe.md")


def test_model_names_overrides() -> None:
    names = ModelNames.derive(
        "qwen4",
        src_stem="qwen3",
        src_prefix="Qwen3",
        src_hf_class="Qwen3ForCausalLM",
        class_prefix="QwenFour",
        hf_class="QwenFourForCausalLM",
        model_type="qwen_four",
        hf_id="Org/QwenFour-8B",
    )
    assert (names.bridge_class, names.hf_class, names.model_type, names.hf_id) == (
        "QwenFourBridge",
        "QwenFourForCausalLM",
        "qwen_four",
        "Org/QwenFour-8B",
    )


@pytest.mark.parametrize("bad", ["Qwen4", "qwen-4", "4qwen", "class", "qwen__4", "qwen4_", "../x", ""])
def test_check_stem_rejects(bad: str) -> None:
    with pytest.raises(ResolveError):
        check_stem(bad)


def test_a_class_prefix_from_another_family_takes_the_hf_spelling() -> None:
    # HYV3's casing renamed would give QWEN3Moe; the config's Qwen3MoeForCausalLM spells the model
    names = ModelNames.derive(
        "qwen3_moe",
        src_stem="hy_v3",
        src_prefix="HYV3",
        src_hf_class="HYV3ForCausalLM",
        hf_class="Qwen3MoeForCausalLM",
    )
    assert names.bridge_class == "Qwen3MoeBridge"
    # a sibling keeps its family's casing; an HF spelling that is not the stem's, or not CamelCase, is not taken
    sibling = ModelNames.derive(
        "qwen4_moe",
        src_stem="qwen3_moe",
        src_prefix="Qwen3MoE",
        src_hf_class=None,
        hf_class="Qwen4MoeForCausalLM",
    )
    assert sibling.bridge_class == "Qwen4MoEBridge"
    other = ModelNames.derive(
        "granite", src_stem="llama", src_prefix="Llama", src_hf_class=None, hf_class="FooForCausalLM"
    )
    assert other.class_prefix == "Granite"
    ernie = ModelNames.derive(
        "ernie4_5", src_stem="llama", src_prefix="Llama", src_hf_class=None, hf_class="Ernie4_5ForCausalLM"
    )
    assert ernie.class_prefix == "Ernie45"
