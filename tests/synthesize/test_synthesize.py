"""Vocabulary and synthesis on the real wheel tree's registries, with checkpoint names in real models' shapes."""

from __future__ import annotations

import ast
import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from analyzers.errors import ResolveError
from analyzers.synthesize import render_json, render_python, render_text, synthesize
from analyzers.vocabulary import bridge_mappings, compile_pattern, learn_vocabulary

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
ATTN = [
    "self_attn.q_proj.weight",
    "self_attn.k_proj.weight",
    "self_attn.v_proj.weight",
    "self_attn.o_proj.weight",
]
NORMS = ["input_layernorm.weight", "post_attention_layernorm.weight"]
DENSE = ["mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight"]
GLOBAL = ["model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"]


def layers(prefix: str, count: int, suffixes: list[str]) -> list[str]:
    return [f"{prefix}{i}.{s}" for i in range(count) for s in suffixes]


def experts(prefix: str, layer: int, count: int) -> list[str]:
    return [
        f"{prefix}{layer}.mlp.experts.{e}.{p}.weight"
        for e in range(count)
        for p in ("gate_proj", "up_proj", "down_proj")
    ]


QWEN3 = GLOBAL + layers(
    "model.layers.", 2, ATTN + NORMS + DENSE + ["self_attn.q_norm.weight", "self_attn.k_norm.weight"]
)
QWEN3_MOE = (
    GLOBAL
    + layers(
        "model.layers.",
        2,
        ATTN + NORMS + ["self_attn.q_norm.weight", "self_attn.k_norm.weight", "mlp.gate.weight"],
    )
    + experts("model.layers.", 0, 4)
    + experts("model.layers.", 1, 4)
)


def truth(catalog, bridge: str, names: list[str]) -> set[tuple[str, frozenset[str]]]:
    """The real registry's pairs whose HF patterns all match one of `names` (checked by hand for Qwen3)."""
    out = set()
    for m in bridge_mappings(catalog, catalog.bridge(bridge)):
        if m.megatron_param and all(any(compile_pattern(p).match(n) for n in names) for p in m.hf_list):
            out.add((m.megatron_param, frozenset(m.hf_list)))
    return out


def pairs(result) -> set[tuple[str, frozenset[str]]]:
    return {m.pair for m in result.mappings}


def assert_never_silent(result, names: list[str]) -> None:
    """Every name is matched by a synthesized mapping or listed as unmapped, never both, never neither."""
    matched = {
        n
        for n in names
        if any(compile_pattern(p).match(n) for m in result.mappings for p in m.hf_params.values())
    }
    listed = [n for u in result.unmapped for n in u.names]
    assert len(listed) == len(set(listed))
    assert matched | set(listed) == set(names)
    assert not matched & set(listed)


@pytest.fixture(scope="module")
def vocab_all(real_catalog):
    return learn_vocabulary(real_catalog)


def test_vocabulary_learns_qkv_from_many_bridges(vocab_all):
    key = frozenset({"L:self_attn.q_proj.weight", "L:self_attn.k_proj.weight", "L:self_attn.v_proj.weight"})
    entry = vocab_all.entries[key]
    assert {"Qwen3Bridge", "LlamaBridge", "Qwen25VLBridge"} <= set(entry.bridges)
    qwen3 = next(v for v in entry.votes if v.bridge == "Qwen3Bridge")
    (out,) = qwen3.outputs
    assert out.mapping_class == "QKVMapping"
    assert out.megatron == "L:self_attention.linear_qkv.weight"
    # the VLM writes the same thing under its own prefixes: tokens are prefix-free
    vl = next(v for v in entry.votes if v.bridge == "Qwen25VLBridge")
    assert vl.outputs == qwen3.outputs
    assert vocab_all.profiles["Qwen25VLBridge"].megatron_base == "language_model."
    assert vocab_all.profiles["Qwen3Bridge"].megatron_base == ""


def test_vocabulary_keeps_both_layernorm_conventions(vocab_all):
    entry = vocab_all.entries[frozenset({"L:post_attention_layernorm.weight"})]
    by_bridge = {v.bridge: {o.megatron for o in v.outputs} for v in entry.votes}
    assert by_bridge["Qwen3Bridge"] == {"L:mlp.linear_fc1.layer_norm_weight"}
    assert by_bridge["Qwen3MoEBridge"] == {"L:pre_mlp_layernorm.weight"}
    assert by_bridge["DeepSeekV3Bridge"] == {
        "L:mlp.linear_fc1.layer_norm_weight",
        "L:pre_mlp_layernorm.weight",
    }


def test_exclude_by_bridge_and_family(real_catalog):
    vocab = learn_vocabulary(real_catalog, exclude=["Qwen3Bridge", "deepseek"])
    assert "Qwen3Bridge" not in vocab.profiles and "Qwen3MoEBridge" in vocab.profiles
    assert not {"DeepSeekV2Bridge", "DeepSeekV3Bridge", "DeepSeekV4Bridge"} & set(vocab.profiles)
    assert all("DeepSeekV3Bridge" not in e.bridges for e in vocab.entries.values())
    with pytest.raises(ResolveError, match="no bridge or family"):
        learn_vocabulary(real_catalog, exclude=["NoSuchBridge"])


def test_qwen3_left_out_is_rebuilt_exactly(real_catalog):
    vocab = learn_vocabulary(real_catalog, exclude=["Qwen3Bridge"])
    result = synthesize(vocab, QWEN3)
    assert pairs(result) == truth(real_catalog, "Qwen3Bridge", QWEN3)
    assert len(pairs(result)) == 11
    assert not result.unmapped
    assert_never_silent(result, QWEN3)
    qkv = next(m for m in result.mappings if m.mapping_class == "QKVMapping")
    assert qkv.hf_params == {
        "q": "model.layers.*.self_attn.q_proj.weight",
        "k": "model.layers.*.self_attn.k_proj.weight",
        "v": "model.layers.*.self_attn.v_proj.weight",
    }
    assert qkv.evidence.hf_count == 6 and qkv.evidence.level == "high"


def test_moe_only_model_uses_pre_mlp_layernorm(real_catalog):
    vocab = learn_vocabulary(real_catalog, exclude=["Qwen3MoEBridge"])
    result = synthesize(vocab, QWEN3_MOE)
    got = pairs(result)
    norm = frozenset({"model.layers.*.post_attention_layernorm.weight"})
    assert ("decoder.layers.*.pre_mlp_layernorm.weight", norm) in got
    assert (
        "decoder.layers.*.mlp.linear_fc1.layer_norm_weight",
        norm,
    ) not in got  # no dense linear_fc1 to fuse into
    gate_up = frozenset(
        {"model.layers.*.mlp.experts.*.gate_proj.weight", "model.layers.*.mlp.experts.*.up_proj.weight"}
    )
    assert ("decoder.layers.*.mlp.experts.linear_fc1.weight*", gate_up) in got
    assert got <= truth(real_catalog, "Qwen3MoEBridge", QWEN3_MOE)
    assert_never_silent(result, QWEN3_MOE)


def test_mixed_dense_and_moe_mla_model(real_catalog):
    """DeepSeek-V3's shape (dense layer 0, MoE layer 1, MLA) with the whole DeepSeek family left out."""
    mla = ["self_attn.q_a_proj.weight", "self_attn.q_a_layernorm.weight", "self_attn.q_b_proj.weight",
           "self_attn.kv_a_proj_with_mqa.weight", "self_attn.kv_a_layernorm.weight", "self_attn.kv_b_proj.weight",
           "self_attn.o_proj.weight"]  # fmt: skip
    names = (
        GLOBAL
        + layers("model.layers.", 2, mla + NORMS)
        + layers("model.layers.", 1, DENSE)
        + [f"model.layers.1.mlp.{s}" for s in ("gate.weight", "gate.e_score_correction_bias")]
        + [f"model.layers.1.mlp.shared_experts.{p}.weight" for p in ("gate_proj", "up_proj", "down_proj")]
        + experts("model.layers.", 1, 4)
    )
    result = synthesize(learn_vocabulary(real_catalog, exclude=["deepseek"]), names)
    got = {m for m, _ in pairs(result)}
    assert {
        "decoder.layers.*.pre_mlp_layernorm.weight",
        "decoder.layers.*.mlp.linear_fc1.layer_norm_weight",
    } <= got
    assert "decoder.layers.*.self_attention.linear_qkv.layer_norm_weight" not in got  # MLA has no linear_qkv
    assert "decoder.layers.*.self_attention.linear_q_up_proj.weight" in got
    assert result.context.moe and result.context.dense
    # everything it wrote is in DeepSeek-V3's real registry
    assert pairs(result) <= truth(real_catalog, "DeepSeekV3Bridge", names)
    assert_never_silent(result, names)


def test_gemma_post_attention_norm_yields_fc1_norm_to_pre_feedforward(real_catalog):
    extra = [
        "pre_feedforward_layernorm.weight",
        "post_feedforward_layernorm.weight",
        "self_attn.q_norm.weight",
        "self_attn.k_norm.weight",
    ]
    names = ["model.embed_tokens.weight", "model.norm.weight"] + layers(
        "model.layers.", 2, ATTN + NORMS + DENSE + extra
    )
    result = synthesize(
        learn_vocabulary(real_catalog, exclude=["Gemma3ModelBridge"]), names, tied=["lm_head.weight"]
    )
    got = pairs(result)
    assert (
        "decoder.layers.*.self_attention.linear_proj.post_layernorm.weight",
        frozenset({"model.layers.*.post_attention_layernorm.weight"}),
    ) in got
    assert got == truth(real_catalog, "Gemma3ModelBridge", names)
    assert result.tied == ["lm_head.weight"]


def test_vlm_prefixes_and_tower_listed(real_catalog):
    lm = "model.language_model."
    names = (
        [lm + "embed_tokens.weight", lm + "norm.weight", "lm_head.weight"]
        + layers(lm + "layers.", 2, ATTN + NORMS + DENSE)
        + layers("model.visual.blocks.", 2, ["attn.qkv.weight", "mlp.fc1.weight", "norm1.weight"])
        + ["model.visual.patch_embed.proj.weight", "model.visual.brand_new_merger.weight"]
    )
    result = synthesize(learn_vocabulary(real_catalog), names, multimodal=True)
    assert result.hf_prefix == "model.language_model.layers."
    assert result.megatron_base == "language_model."
    got = pairs(result)
    assert ("language_model.embedding.word_embeddings.weight", frozenset({lm + "embed_tokens.weight"})) in got
    assert (
        "language_model.decoder.layers.*.self_attention.linear_proj.weight",
        frozenset({lm + "layers.*.self_attn.o_proj.weight"}),
    ) in got
    assert_never_silent(result, names)
    # whatever the vision tower got, nothing of it is guessed onto the language model
    assert not [
        m
        for m in result.mappings
        if "visual" in str(m.hf_params) and m.megatron_param.startswith("language_model.")
    ]


def test_unknown_names_and_mtp_are_listed(real_catalog):
    names = QWEN3 + layers("model.layers.", 2, ["self_attn.wobble_proj.weight"])
    result = synthesize(learn_vocabulary(real_catalog), names, mtp_fields={"num_nextn_predict_layers": 1})
    (u,) = result.unmapped
    assert u.shape == "model.layers.*.self_attn.wobble_proj.weight"
    assert u.block == "unknown" and len(u.names) == 2
    assert_never_silent(result, names)
    blocks = [t.block for t in result.todos]
    assert blocks == ["unknown", "mtp"]
    python = render_python(result)
    ast.parse(python)
    assert "# TODO(bridgesmith): unmapped HF model.layers.*.self_attn.wobble_proj.weight" in python
    assert "TODO(bridgesmith): config has MTP layers (num_nextn_predict_layers=1)" in python
    doc = render_json(result)
    assert doc["names_total"] == len(names) and doc["mapped_names"] == len(names) - 2
    assert [t["block"] for t in doc["todos"]] == ["unknown", "mtp"]
    rows = doc["mappings"]
    assert all({"megatron_param", "hf_params", "mapping_class"} <= set(r) for r in rows)
    assert rows[-1]["unmapped"] is True and rows[-1]["mapping_class"] is None
    assert "unmapped HF names:" in render_text(result)


def test_custom_mapping_class_is_a_todo(real_catalog):
    """GPT-OSS's fused experts only GPT-OSS maps, with its own classes: emitted, flagged, never silent."""
    names = GLOBAL + layers(
        "model.layers.",
        1,
        ATTN + NORMS + ["mlp.router.weight", "mlp.experts.gate_up_proj", "mlp.experts.down_proj"],
    )
    result = synthesize(learn_vocabulary(real_catalog), names)
    custom = [m for m in result.mappings if m.custom_class]
    assert {m.mapping_class for m in custom} == {"GPTOSSMLPGateUpProjMapping", "GPTOSSMLPDownProjMapping"}
    assert all("gpt_oss" in m.evidence.note for m in custom)
    assert [t for t in result.todos if t.block == "custom mapping class"]
    python = render_python(result)
    assert python.count("TODO(bridgesmith): GPTOSS") == len(custom)


@pytest.mark.hf
def test_cli_json_from_transformers(real_tree, real_catalog):
    from analyzers.cli import main

    out = io.StringIO()
    with redirect_stdout(out):
        code = main(
            [
                "synthesize",
                "--from-transformers",
                "qwen3",
                "--exclude",
                "Qwen3Bridge",
                "--format",
                "json",
                "--repo",
                str(real_tree),
            ]
        )
    assert code == 0
    doc = json.loads(out.getvalue())
    assert (
        doc["schema_version"] == 1 and doc["command"] == "synthesize" and doc["excluded"] == ["Qwen3Bridge"]
    )
    rows = doc["mappings"]
    got = {(r["megatron_param"], frozenset(r["hf_params"])) for r in rows}
    names = [n for r in rows for n in r["hf_names"]]
    assert got == truth(real_catalog, "Qwen3Bridge", names)
    assert all(isinstance(r["hf_params"], list) and r["taught_by"] for r in rows)


def test_cli_unknown_exclude_is_exit_2(real_tree, capsys):
    from analyzers.cli import main

    config = FIXTURES / "configs" / "qwen3-8b" / "config.json"
    assert main(["synthesize", str(config), "--exclude", "Nope", "--repo", str(real_tree)]) == 2
    assert "no bridge or family" in capsys.readouterr().err


def test_names_one_segment_off_are_mapped_by_analogy(real_catalog):
    """Renamed shared experts, a bias without its ``gate`` wrapper, a router under an extra wrapper."""
    vocab = learn_vocabulary(real_catalog, exclude=["ExaoneMoeBridge", "HYV3Bridge"])
    renamed = ["mlp.shared_mlp.gate_proj.weight", "mlp.shared_mlp.up_proj.weight", "mlp.shared_mlp.down_proj.weight",
               "mlp.e_score_correction_bias", "mlp.router.gate.weight"]  # fmt: skip
    names = [n for n in QWEN3_MOE if not n.endswith("mlp.gate.weight")] + layers("model.layers.", 2, renamed)
    result = synthesize(vocab, names)
    by_param = {m.megatron_param: m for m in result.mappings}
    fc1 = by_param["decoder.layers.*.mlp.shared_experts.linear_fc1.weight"]
    assert fc1.hf_params == {
        "gate": "model.layers.*.mlp.shared_mlp.gate_proj.weight",
        "up": "model.layers.*.mlp.shared_mlp.up_proj.weight",
    }
    assert by_param["decoder.layers.*.mlp.shared_experts.linear_fc2.weight"].hf_params == {
        "hf_param": "model.layers.*.mlp.shared_mlp.down_proj.weight"
    }
    bias = by_param["decoder.layers.*.mlp.router.expert_bias"]
    assert bias.hf_params == {"hf_param": "model.layers.*.mlp.e_score_correction_bias"}
    assert by_param["decoder.layers.*.mlp.router.weight"].hf_params == {
        "hf_param": "model.layers.*.mlp.router.gate.weight"
    }
    for m in (fc1, bias):
        assert m.evidence.note.startswith("by analogy: ") and m.evidence.confidence <= 0.5
    assert "mlp.gate.e_score_correction_bias as mlp.e_score_correction_bias" in bias.evidence.note
    assert not result.unmapped
    assert_never_silent(result, names)


def test_analogy_never_renames_the_owning_module_or_wraps_a_real_submodule(real_catalog):
    """``mlp.foo.weight`` is not ``mlp.gate.weight`` renamed; ``self_attn.extra.{k_norm,wk}`` is a module of
    its own: read as a renamed ``indexer`` (one segment), never as the attention's ``k_norm`` in a wrapper."""
    vocab = learn_vocabulary(real_catalog, exclude=["Qwen3Bridge"])
    odd = ["mlp.foo.weight", "self_attn.extra.k_norm.weight", "self_attn.extra.wk.weight"]
    names = GLOBAL + layers("model.layers.", 2, ATTN + NORMS + DENSE + odd)
    result = synthesize(vocab, names)
    by_hf = {hf: m.megatron_param for m in result.mappings for hf in m.hf_params.values()}
    assert "decoder.layers.*.self_attention.k_layernorm.weight" not in by_hf.values()
    assert by_hf["model.layers.*.self_attn.extra.k_norm.weight"].endswith(
        "core_attention.indexer.k_norm.weight"
    )
    assert [u.shape for u in result.unmapped] == ["model.layers.*.mlp.foo.weight"]
    assert_never_silent(result, names)


def test_similarity_ignores_tower_names(real_catalog):
    """Teachers are weighed by the language model's names: adding a vision tower changes no similarity."""
    vocab = learn_vocabulary(real_catalog, exclude=["Qwen3Bridge"])
    tower = [f"visual.blocks.{i}.attn.qkv.weight" for i in range(2)] + ["visual.patch_embed.proj.weight"]
    text = synthesize(vocab, QWEN3)
    with_tower = synthesize(vocab, QWEN3 + tower, multimodal=False)
    assert with_tower.nearest == text.nearest
    assert text.nearest[0][1] > 0.5
