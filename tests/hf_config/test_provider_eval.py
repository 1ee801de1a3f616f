"""The provider-setting evaluator: plain reads of missing fields fail as at load time, guarded reads do
not, transformers 5's rope_parameters answers for rope_scaling, a teacher's own default is marked."""

from __future__ import annotations

from analyzers.provider_eval import UNKNOWN, BridgeContext, evaluate, plain

CONFIG = {
    "model_type": "toy",
    "hidden_size": 64,
    "layer_norm_eps": 1e-5,
    "sliding_window": None,
    "rope_parameters": {"rope_theta": 1e6, "rope_type": "yarn", "factor": 4.0},
    "text_config": {"head_dim": 16},
}


def test_a_plain_read_of_a_missing_field_is_a_missing_field() -> None:
    out = evaluate("hf_config.rms_norm_eps", CONFIG)
    assert out.missing == "rms_norm_eps" and out.value is UNKNOWN
    assert evaluate("getattr(hf_config, 'rms_norm_eps', 1e-6)", CONFIG).value == 1e-6
    assert evaluate("hf_config.rms_norm_eps if hasattr(hf_config, 'rms_norm_eps') else 0", CONFIG).value == 0


def test_rope_scaling_answers_with_rope_parameters() -> None:
    assert evaluate("hf_config.rope_scaling.get('factor', 8.0)", CONFIG).value == 4.0
    assert evaluate("rope_theta_from_hf(hf_config)", CONFIG).value == 1e6
    assert evaluate("'yarn'", CONFIG, "hf_config.rope_scaling.get('rope_type') == 'yarn'").applies is True


def test_defaults_of_the_teacher_are_marked_and_probes_are_not() -> None:
    used = evaluate("getattr(hf_config, 'partial_rotary_factor', 0.25)", CONFIG)
    assert used.value == 0.25 and used.defaulted == {"partial_rotary_factor"}
    probe = evaluate("getattr(hf_config, 'head_dim', None) or hf_config.hidden_size // 4", CONFIG)
    assert probe.value == 16 and not probe.defaulted and probe.read == {"hidden_size"}
    nested = evaluate("hf_config.text_config.head_dim", CONFIG)
    assert nested.value == 16 and nested.read == {"head_dim"}


def test_activation_outside_the_map_is_unsupported() -> None:
    mapping = {"silu": "F.silu"}
    assert (
        plain(evaluate("self.hf_to_megatron_activation('silu')", CONFIG, activation_map=mapping).value)
        == "F.silu"
    )
    out = evaluate("self.hf_to_megatron_activation('xielu')", CONFIG, activation_map=mapping)
    assert out.unsupported and "xielu" in out.unsupported


def test_the_base_bridge_mla_test_is_answered_per_bridge() -> None:
    cond = "not issubclass(self.PROVIDER_CLASS, MLAModelProvider)"
    assert (
        evaluate("'yarn'", CONFIG, cond, bridge=BridgeContext("MLAModelProvider", mla=True)).applies is False
    )
    assert evaluate("'yarn'", CONFIG, cond, bridge=BridgeContext(None, mla=False)).applies is True
    assert evaluate("'yarn'", CONFIG, cond).applies is None  # without a bridge: cannot tell


def test_an_unknown_call_still_reads_its_arguments() -> None:
    # Gemma3's `1.0 / math.sqrt(hf_config.query_pre_attn_scalar)` fails at load on a config without the field
    out = evaluate("1.0 / math.sqrt(hf_config.query_pre_attn_scalar)", CONFIG)
    assert out.missing == "query_pre_attn_scalar" and out.value is UNKNOWN
    assert evaluate("math.sqrt(hf_config.hidden_size)", CONFIG).missing is None
    guarded = evaluate("math.sqrt(getattr(hf_config, 'query_pre_attn_scalar', 256))", CONFIG)
    assert guarded.missing is None and guarded.defaulted == {"query_pre_attn_scalar"}
