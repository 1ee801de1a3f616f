"""Implied provider settings, expressibility and nearest's new scoring on transformers' own configs.

Every expectation is a fact of the config, its checkpoint names, the transformers modeling file or the
pinned tree's bridges, checked here against those sources rather than copied from the output.
"""

from __future__ import annotations

import json
import re

import pytest

from analyzers.catalog.records import Catalog
from analyzers.cli import main
from analyzers.expressibility import expressibility
from analyzers.hf_config import spec_from_transformers
from analyzers.hf_names import collect_hf_names
from analyzers.nearest import rank
from analyzers.provider_vocabulary import check_candidate, implied_settings, resolve_all
from analyzers.transformers_source import modeling_path

pytestmark = pytest.mark.hf


def _case(model_type: str):
    spec = spec_from_transformers(model_type)
    names = collect_hf_names(spec)
    return spec, names


def _implied(catalog: Catalog, model_type: str, **kw):
    spec, names = _case(model_type)
    return {s.attr: s for s in implied_settings(spec, catalog, names.names, names.shapes, **kw)}, spec, names


def test_phi3_has_no_linear_biases_and_a_fused_gated_mlp(real_catalog: Catalog) -> None:
    implied, spec, names = _implied(real_catalog, "phi3")
    assert not [n for n in names.names if n.endswith(".bias")]  # the checkpoint has no bias at all
    assert implied["add_bias_linear"].value is False and implied["add_qkv_bias"].value is False
    assert any(n.endswith("mlp.gate_up_proj.weight") for n in names.names)
    assert implied["gated_linear_unit"].value is True and implied["gated_linear_unit"].evidence == "names"
    assert "rms_norm_eps" in spec.config and implied["normalization"].value == "RMSNorm"
    assert implied["layernorm_epsilon"].value == spec.config["rms_norm_eps"]
    # GPTModelProvider's default (Megatron-Core's add_bias_linear=True) would build biases phi3 lacks
    check = {
        c.attr: c
        for c in check_candidate(
            real_catalog, real_catalog.bridge("MistralBridge"), spec, list(implied.values())
        ).checks
    }
    assert check["add_bias_linear"].status in (
        "sets",
        "default-matches",
    )  # MistralModelProvider sets it False


def test_teachers_read_the_same_field_into_the_attribute(real_catalog: Catalog) -> None:
    implied, spec, _ = _implied(real_catalog, "helium")
    eps = implied["layernorm_epsilon"]
    assert eps.evidence == "config" and eps.fields == ["rms_norm_eps"] and "MistralBridge" in eps.teachers
    mistral = {s.attr: s for s in real_catalog.bridge("MistralBridge").provider_settings}
    assert mistral["layernorm_epsilon"].fields == ["rms_norm_eps"]  # what MistralBridge teaches


def test_helium_and_ernie_rotate_interleaved_pairs(real_catalog: Catalog) -> None:
    for model_type in ("helium", "ernie4_5"):
        source = modeling_path(model_type).read_text()
        rotate_half = source[source.index("def rotate_half") :][:300]
        assert "0::2" in rotate_half  # the modeling file's own fact
        implied, spec, names = _implied(real_catalog, model_type)
        assert implied["rotary_interleaved"].value is True
        supported, _ = expressibility(spec, real_catalog, names.names, names.shapes)
        feature = next(f for f in supported if f.name == "interleaved RoPE")
        for bridge in feature.handled_by:
            assert any(s.attr == "rotary_interleaved" and s.value == "True"
                       for s in real_catalog.bridge(bridge).provider_settings)  # fmt: skip


def test_granite_multipliers_are_unsupported(real_catalog: Catalog) -> None:
    spec, names = _case("granite")
    supported, unsupported = expressibility(spec, real_catalog, names.names, names.shapes)
    by_name = {f.name: f for f in unsupported}
    keys = {"embedding multiplier": "embedding_multiplier", "residual multiplier": "residual_multiplier",
            "attention multiplier": "attention_multiplier", "logits scaling": "logits_scaling"}  # fmt: skip
    assert set(keys) <= set(by_name)
    for name, key in keys.items():
        assert key in spec.config and not by_name[name].handled_by
        assert not any(key in b.config_fields for b in real_catalog.bridges)  # no bridge reads it
    assert (
        "residual" in by_name["residual multiplier"].needs
        and by_name["residual multiplier"].kind == "modeling"
    )
    assert "softmax_scale" in by_name["attention multiplier"].needs
    # 1.0 leaves the embedding unscaled, but the attention multiplier replaces 1/sqrt(head_dim)
    assert by_name["embedding multiplier"].neutral is (spec.config["embedding_multiplier"] == 1)
    assert by_name["attention multiplier"].neutral is False


def test_olmo2_qk_norm_over_the_whole_projection_is_named(real_catalog: Catalog) -> None:
    spec, names = _case("olmo2")
    q_norm = next(n for n in names.names if n.endswith("self_attn.q_norm.weight"))
    head_dim = spec.config["hidden_size"] // spec.config["num_attention_heads"]
    assert names.shapes[q_norm][0] == spec.config["num_attention_heads"] * head_dim > head_dim
    supported, unsupported = expressibility(spec, real_catalog, names.names, names.shapes)
    feature = next(f for f in supported + unsupported if f.name == "q/k norm over the whole projection")
    # OLMoE's modeling builds the same norm, and OlMoEBridge converts OLMoE
    assert "OlMoEBridge" in feature.handled_by


def test_smollm3_nope_layers_and_apertus_xielu_are_unsupported(real_catalog: Catalog) -> None:
    spec, names = _case("smollm3")
    _, unsupported = expressibility(spec, real_catalog, names.names, names.shapes)
    nope = next(f for f in unsupported if f.name == "NoPE layers")
    assert "no_rope_freq" in nope.needs and nope.value.count(1) == spec.config["no_rope_layers"].count(0)
    spec = spec_from_transformers("apertus")
    _, unsupported = expressibility(spec, real_catalog)
    act = next(f for f in unsupported if f.kind == "activation")
    assert (
        spec.config["hidden_act"] not in real_catalog.activation_map and spec.config["hidden_act"] in act.name
    )


def test_a_candidate_reading_a_field_the_config_lacks_is_told(real_catalog: Catalog) -> None:
    spec = spec_from_transformers("cohere")
    assert "rms_norm_eps" not in spec.config and "layer_norm_eps" in spec.config
    check = check_candidate(
        real_catalog, real_catalog.bridge("MistralBridge"), spec, implied_settings(spec, real_catalog)
    )
    assert ("layernorm_epsilon", "rms_norm_eps") in {(a, f) for a, f, _ in check.missing_reads}
    # the eps field's name says LayerNorm although Cohere's norm has no bias
    implied = {s.attr: s for s in implied_settings(spec, real_catalog)}
    assert implied["normalization"].value == "LayerNorm"


def test_mixtral_routing_contradicts_minimax(real_catalog: Catalog) -> None:
    implied, spec, _ = _implied(real_catalog, "mixtral")
    assert (
        "softmax" in modeling_path("mixtral").read_text()
        and implied["moe_router_score_function"].value == "softmax"
    )
    assert implied["moe_router_enable_expert_bias"].value is False  # no e_score_correction_bias in the names
    check = {
        c.attr: c
        for c in check_candidate(
            real_catalog, real_catalog.bridge("MiniMaxM2Bridge"), spec, list(implied.values())
        ).checks
    }
    assert (
        check["moe_router_score_function"].status == "contradicts"
        and check["moe_router_score_function"].candidate == "sigmoid"
    )
    assert check["moe_router_enable_expert_bias"].status == "contradicts"


def test_qwen3_family_hidden_implies_what_qwen3bridge_sets(real_catalog: Catalog) -> None:
    implied, spec, _ = _implied(real_catalog, "qwen3", exclude=("qwen",))
    truth = resolve_all(real_catalog, real_catalog.bridge("Qwen3Bridge"), spec.config)
    for attr in (
        "qk_layernorm",
        "add_qkv_bias",
        "normalization",
        "gated_linear_unit",
        "layernorm_epsilon",
        "rotary_base",
    ):
        assert implied[attr].value == truth[attr].value, attr
        assert all(
            real_catalog.bridge(t).family != "qwen" for t in implied[attr].teachers
        )  # the family is hidden


def test_nearest_counts_fields_no_bridge_reads(real_catalog: Catalog) -> None:
    spec, names = _case("granite")
    multipliers = {"embedding_multiplier", "residual_multiplier", "attention_multiplier", "logits_scaling"}
    assert not any(multipliers & set(b.config_fields) for b in real_catalog.bridges)
    for cand in rank(spec, real_catalog, names.names, shapes=names.shapes):
        # at best (0 + 1) / (4 + 1): none of the four multipliers is read by any candidate
        assert cand.components["fields"] <= 1 / (len(multipliers) + 1) + 1e-9
        assert "provider" in cand.components and cand.provider is not None


def test_nearest_json_has_implied_settings_and_expressibility(
    real_catalog: Catalog, real_tree, capsys
) -> None:
    assert (
        main(
            [
                "nearest",
                "--from-transformers",
                "granite",
                "--repo",
                str(real_tree),
                "--format",
                "json",
                "--top",
                "2",
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    unsupported = {f["name"] for f in doc["expressibility"]["unsupported"]}
    assert {"residual multiplier", "logits scaling"} <= unsupported
    assert {s["attr"] for s in doc["implied_settings"]} >= {"normalization", "softmax_scale"}
    assert set(doc["candidates"][0]["provider"]) >= {"sets", "contradicts", "must_set", "missing_reads"}
    assert main(["nearest", "--from-transformers", "granite", "--repo", str(real_tree), "--top", "1"]) == 0
    text = capsys.readouterr().out
    assert re.search(r"- residual multiplier .*UNSUPPORTED", text) and "implied provider settings" in text


@pytest.mark.parametrize("command", ["nearest", "inspect"])
def test_rules_that_could_not_run_are_a_warning_and_in_the_json(command: str, real_tree, capsys) -> None:
    # without checkpoint names the name rules cannot run: silence would read as "nothing unsupported"
    argv = [command, "--from-transformers", "granite", "--no-names", "--repo", str(real_tree)]
    assert main(argv) == 0
    err = capsys.readouterr().err.splitlines()
    warnings = [line for line in err if line.startswith(f"warning: {command}: expressibility not checked")]
    assert len(warnings) == 1 and "(no HF checkpoint names)" in warnings[0]
    assert main([*argv, "--format", "json"]) == 0
    captured = capsys.readouterr()
    unchecked = json.loads(captured.out)["expressibility"]["unchecked"]
    assert len(unchecked) == 1 and unchecked[0].startswith("not checked (no HF checkpoint names): ")
    assert "warning:" not in captured.err
    # with the names every rule runs
    assert (
        main([command, "--from-transformers", "granite", "--repo", str(real_tree), "--format", "json"]) == 0
    )
    assert json.loads(capsys.readouterr().out)["expressibility"]["unchecked"] == []


def test_exaone4_skips_rope_on_its_full_attention_layers(real_catalog: Catalog) -> None:
    # modeling_exaone4: RoPE only on sliding layers when a window is set (global NoPE); Megatron-Core's
    # no_rope_freq is 1 on the full-attention layers, spelt over layer_types so that it follows the layer count
    implied, spec, _ = _implied(real_catalog, "exaone4")
    nope = implied["no_rope_freq"]
    types = spec.config["layer_types"]
    assert nope.value == [int(t == "full_attention") for t in types] and sum(nope.value) == types.count(
        "full_attention"
    )
    assert nope.expression == '[int(t == "full_attention") for t in hf_config.layer_types]'
    assert implied["window_attn_skip_freq"].value == 4
