"""Provider settings no config field states: read from the checkpoint names, else from what the fields mean.

A LayerNorm has a bias, an RMSNorm has none; a gated MLP has a gate projection; biases and q/k norms are
parameters. With the names known these are facts of the checkpoint; without them the eps field's spelling
(`rms_norm_eps`) and the activation's name are the evidence. A few config fields no bridge reads yet also
say a setting (Granite's `attention_multiplier` is the softmax scale); those are rules too, marked so.
"""

from __future__ import annotations

import re
from typing import Any

from analyzers.catalog.provider_settings import CFG
from analyzers.hf_config import ModelSpec
from analyzers.implied_setting import CATEGORIES, ImpliedSetting

_LAYER = re.compile(r"(?:^|\.)layers\.(\d+)\.(.+)$")
#: eps field -> the norm it belongs to (HF configs name the eps after the norm)
EPS_FIELDS = (("rms_norm_eps", "RMSNorm"), ("layer_norm_eps", "LayerNorm"), ("layer_norm_epsilon", "LayerNorm"),
              ("norm_epsilon", "LayerNorm"), ("norm_eps", None))  # fmt: skip
_GATE = re.compile(r"(^|\.)(gate_proj|gate_up_proj|w1|w3|fc1_gate|gate_up|wi_0)(\.weight)?$")
_MLP = re.compile(r"(^|\.)(mlp|feed_forward|ffn|block_sparse_moe)\.")
_QKV_BIAS = re.compile(
    r"(^|\.)(q_proj|qkv_proj|query_key_value|c_attn|Wqkv|wqkv|query|q_a_proj|q_b_proj|kv_a_proj_with_mqa)\.bias$"
)
_QKV = re.compile(
    r"(^|\.)(q_proj|qkv_proj|query_key_value|c_attn|Wqkv|wqkv|query|q_a_proj|q_b_proj|kv_a_proj_with_mqa)\.weight$"
)
_OUT_BIAS = re.compile(r"(^|\.)(o_proj|down_proj|dense|c_proj|fc2|out_proj|dense_4h_to_h|w2)\.bias$")
_NORM_W = re.compile(r"(norm|layernorm|ln_\w+|ln)\.weight$")
_NORM_B = re.compile(r"(norm|layernorm|ln_\w+|ln)\.bias$")
#: q/k norms, and MLA's norms of the compressed q / kv (Megatron's qk_layernorm covers both)
_QK_NORM = re.compile(
    r"(^|\.)(q_norm|k_norm|q_layernorm|k_layernorm|query_layernorm|key_layernorm|q_a_layernorm|kv_a_layernorm)\.weight$"
)
_EXPERT_BIAS = re.compile(r"(e_score_correction_bias|expert_bias)$")
_SHARED_GATE = re.compile(r"shared_experts?_gate\.weight$")
_SHARED = re.compile(r"\.shared_experts?\.")


def layer_names(names: list[str]) -> list[str]:
    """Decoder-layer parameter names after the layer index, towers left out."""
    from analyzers.vocabulary import is_tower_name

    out = []
    for name in names:
        m = _LAYER.search(name)
        if m and not is_tower_name(name):
            out.append(m.group(2))
    return out


def structural_settings(
    spec: ModelSpec,
    names: list[str] | None,
    shapes: dict[str, tuple[int, ...] | None] | None,
    from_config: dict[str, ImpliedSetting],
) -> list[ImpliedSetting]:
    """Implied settings from the names (when known) and field meanings; teachers are filled by the caller."""
    fields = spec.text_fields()
    out: list[ImpliedSetting] = []

    def add(attr: str, value: Any, evidence: str, why: list[str], expression: str | None = None) -> None:
        out.append(ImpliedSetting(attr=attr, category=CATEGORIES[attr], value=value, evidence=evidence,
                                  fields=why, teachers=[], expression=expression))  # fmt: skip

    layer = layer_names(names) if names is not None else None
    eps = next(((key, norm) for key, norm in EPS_FIELDS if fields.get(key) is not None), None)
    if eps and eps[1]:
        # the eps field is named after the norm (Cohere's LayerNorm has no bias, so names alone would say RMSNorm)
        add("normalization", eps[1], "config-rule", [eps[0]])
    if layer:
        norms_w = [n for n in layer if _NORM_W.search(n) and not _QK_NORM.search(n)]
        if norms_w and not (eps and eps[1]):
            biased = [n for n in layer if _NORM_B.search(n) and not _QK_NORM.search(n)]
            add(
                "normalization",
                "LayerNorm" if biased else "RMSNorm",
                "names",
                [
                    f"names: {'norm biases (' + biased[0] + ')' if biased else 'norms without bias (' + norms_w[0] + ')'}"
                ],
            )
        mlp = [n for n in layer if _MLP.search(n) or "experts" in n]
        if mlp:
            gate = next((n for n in layer if _GATE.search(n)), None)
            add("gated_linear_unit", gate is not None, "names", [f"names: {gate or 'no gate projection'}"])
        if any(_QKV.search(n) for n in layer):
            bias = next((n for n in layer if _QKV_BIAS.search(n)), None)
            add(
                "add_qkv_bias",
                bias is not None,
                "names",
                [f"names: {bias or 'q/k/v projections without bias'}"],
            )
            out_bias = next((n for n in layer if _OUT_BIAS.search(n)), None)
            add(
                "add_bias_linear",
                out_bias is not None,
                "names",
                [f"names: {out_bias or 'output / MLP projections without bias'}"],
            )
            qk = next((n for n in layer if _QK_NORM.search(n)), None)
            add("qk_layernorm", qk is not None, "names", [f"names: {qk or 'no q/k norm'}"])
        if any("experts" in n for n in layer):
            bias = next((n for n in layer if _EXPERT_BIAS.search(n)), None)
            add(
                "moe_router_enable_expert_bias",
                bias is not None,
                "names",
                [f"names: {bias or 'router without expert bias'}"],
            )
            if any(_SHARED.search(f".{n}") for n in layer):
                gate = next((n for n in layer if _SHARED_GATE.search(n)), None)
                add(
                    "moe_shared_expert_gate",
                    gate is not None,
                    "names",
                    [f"names: {gate or 'shared experts without a gate'}"],
                )
    decided = {s.attr for s in out}
    # without names: what the fields' spellings say
    if "layernorm_epsilon" not in from_config and eps:
        add("layernorm_epsilon", fields[eps[0]], "config-rule", [eps[0]])
    act = fields.get("hidden_act") or fields.get("hidden_activation")
    if "gated_linear_unit" not in decided and isinstance(act, str) and "glu" in act.lower():
        add("gated_linear_unit", True, "config-rule", ["hidden_act"])
    for key in ("use_bias",):
        if (
            "add_bias_linear" not in decided
            and "add_bias_linear" not in from_config
            and isinstance(fields.get(key), bool)
        ):
            add("add_bias_linear", fields[key], "config-rule", [key])
    if "add_qkv_bias" not in decided and "add_qkv_bias" not in from_config:
        key = next(
            (
                k
                for k in ("qkv_bias", "use_qkv_bias", "attention_bias", "use_bias")
                if isinstance(fields.get(k), bool)
            ),
            None,
        )
        if key:
            add("add_qkv_bias", fields[key], "config-rule", [key])
    moe = any(
        isinstance(fields.get(k), int) and fields[k] > 1
        for k in ("num_experts", "num_local_experts", "n_routed_experts")
    )
    if moe and "moe_router_score_function" not in from_config and not fields.get("scoring_func"):
        from analyzers.modeling_source import modeling_facts

        facts = modeling_facts(spec.model_type)
        if facts and facts.router_scoring:
            add(
                "moe_router_score_function",
                facts.router_scoring,
                "config-rule",
                [f"modeling_{spec.model_type}.py: the router's forward calls {facts.router_scoring}"],
            )
    if moe and "moe_layer_freq" not in from_config:
        pattern = _moe_layers(fields)
        if pattern is not None:
            add(
                "moe_layer_freq",
                pattern,
                "config-rule",
                [k for k in ("mlp_only_layers", "decoder_sparse_step") if k in fields],
            )
    found = spec.get("rope_parameters", "rope_scaling")
    rope = found.value if found and isinstance(found.value, dict) else {}
    partial = fields.get(
        "partial_rotary_factor", rope.get("partial_rotary_factor") if isinstance(rope, dict) else None
    )
    if "rotary_percent" not in from_config and partial is None and (rope or fields.get("rope_theta")):
        add("rotary_percent", 1.0, "config-rule", ["no partial_rotary_factor: RoPE on every channel"])
    rope_type = rope.get("rope_type") or rope.get("type")
    if (
        "position_embedding_type" not in from_config
        and (rope or fields.get("rope_theta"))
        and not fields.get("kv_lora_rank")
    ):
        add(
            "position_embedding_type",
            "yarn" if rope_type == "yarn" else "rope",
            "config-rule",
            [f"rope_parameters.rope_type {rope_type!r}" if rope_type else "rope_parameters"],
        )
    types = fields.get("layer_types")
    if (
        "window_attn_skip_freq" not in from_config
        and isinstance(types, list)
        and "sliding_attention" in types
    ):
        if set(types) <= {"sliding_attention", "full_attention"} and "full_attention" in types:
            # Megatron-Core: a list where 1 is a sliding-window layer, or N for (N-1) sliding then one full
            pattern = [int(t == "sliding_attention") for t in types]
            period = types.index("full_attention") + 1
            periodic = all(pattern[i] == int((i + 1) % period != 0) for i in range(len(pattern)))
            add("window_attn_skip_freq", period if periodic else pattern, "config-rule", ["layer_types"])
    from analyzers.modeling_source import modeling_facts

    facts = modeling_facts(spec.model_type)
    if "layernorm_zero_centered_gamma" not in from_config and facts and facts.zero_centered_norm:
        add(
            "layernorm_zero_centered_gamma",
            True,
            "config-rule",
            [f"modeling_{spec.model_type}.py: the RMSNorm scales by 1 + weight"],
        )
    if moe and "moe_router_pre_softmax" not in from_config and isinstance(fields.get("norm_topk_prob"), bool):
        # softmax over all experts, then top-k without renormalising, is Megatron's pre-softmax routing
        add("moe_router_pre_softmax", not fields["norm_topk_prob"], "config-rule", ["norm_topk_prob"])
    if fields.get("use_sliding_window") is False and fields.get("sliding_window") is not None:
        # Qwen2-style configs keep a window size that their attention ignores unless use_sliding_window is set
        add("window_size", None, "config-rule", ["use_sliding_window"])
    if "softmax_scale" not in from_config and isinstance(fields.get("attention_multiplier"), int | float):
        add("softmax_scale", fields["attention_multiplier"], "config-rule", ["attention_multiplier"])
    if "no_rope_freq" not in from_config and isinstance(fields.get("no_rope_layers"), list):
        # HF: 1 = this layer uses RoPE; Megatron-Core's no_rope_freq: 1 = this layer skips it
        add(
            "no_rope_freq",
            [1 - int(bool(x)) for x in fields["no_rope_layers"]],
            "config-rule",
            ["no_rope_layers"],
        )
    condition = facts.rope_condition if facts else None
    if (
        "no_rope_freq" not in from_config
        and "no_rope_freq" not in {s.attr for s in out}
        and condition
        and "sliding" in condition
        and isinstance(types, list)
        and set(types) <= {"sliding_attention", "full_attention"}
        and "sliding_attention" in types
        and "full_attention" in types
        and fields.get("sliding_window")
    ):
        # the attention applies RoPE only on sliding-window layers (EXAONE 4.0's global NoPE): Megatron-Core's
        # no_rope_freq is 1 on every full-attention layer
        add(
            "no_rope_freq",
            [int(t == "full_attention") for t in types],
            "config-rule",
            ["layer_types", f"modeling_{spec.model_type}.py: RoPE only if {condition}"],
            # spelt over the config, so that it follows the layer count (a literal list would not)
            f'[int(t == "full_attention") for t in {CFG}.layer_types]',
        )
    if "rotary_interleaved" not in from_config and not fields.get("kv_lora_rank"):
        from analyzers.modeling_source import modeling_facts

        facts = modeling_facts(spec.model_type)
        if fields.get("rope_interleave") is True or (facts and facts.interleaved_rope):
            why = (
                "rope_interleave"
                if fields.get("rope_interleave") is True
                else f"modeling_{spec.model_type}.py: rotate_half pairs even/odd channels"
            )
            add("rotary_interleaved", True, "config-rule", [why])
    return out


def _moe_layers(fields: dict[str, Any]) -> int | list[int] | None:
    """Qwen2-MoE style: a layer is MoE unless in `mlp_only_layers` or off the `decoder_sparse_step` period."""
    layers = fields.get("num_hidden_layers")
    step = fields.get("decoder_sparse_step", 1)
    only = fields.get("mlp_only_layers") or []
    if not isinstance(layers, int) or not isinstance(step, int) or step < 1 or not isinstance(only, list):
        return None
    if "decoder_sparse_step" not in fields and "mlp_only_layers" not in fields:
        return None
    pattern = [int(i not in only and (i + 1) % step == 0) for i in range(layers)]
    return 1 if all(pattern) else pattern
