"""A provider setting a new HF config implies (`ImpliedSetting`), and the category each attribute is shown under.

The teachers' answers (`provider_vocabulary`) and the structure rules (`structure_rules`) both produce
these, so they sit below both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: provider attribute -> the category it is shown under; the attributes implied settings are computed for
CATEGORIES: dict[str, str] = {
    **dict.fromkeys(("normalization", "layernorm_epsilon", "layernorm_zero_centered_gamma"), "norm"),
    **dict.fromkeys(("activation_func", "gated_linear_unit"), "activation"),
    **dict.fromkeys(("add_qkv_bias", "add_bias_linear"), "bias"),
    "qk_layernorm": "qk_norm",
    **dict.fromkeys(
        (
            "position_embedding_type",
            "rotary_base",
            "rotary_percent",
            "rotary_interleaved",
            "rope_scaling",
            "rope_scaling_factor",
            "seq_len_interpolation_factor",
            "no_rope_freq",
            "yarn_rotary_scaling_factor",
            "yarn_original_max_position_embeddings",
        ),
        "rope",
    ),  # fmt: skip
    **dict.fromkeys(("window_size", "window_attn_skip_freq"), "sliding_window"),
    "share_embeddings_and_output_weights": "tied_embeddings",
    "softmax_scale": "softmax_scale",
    **dict.fromkeys(("final_logit_softcapping", "attn_logit_softcapping"), "softcapping"),
    **dict.fromkeys(
        (
            "num_moe_experts",
            "moe_router_topk",
            "moe_ffn_hidden_size",
            "moe_router_score_function",
            "moe_router_topk_scaling_factor",
            "moe_router_pre_softmax",
            "moe_router_enable_expert_bias",
            "moe_shared_expert_intermediate_size",
            "moe_shared_expert_gate",
            "moe_layer_freq",
            "moe_router_num_groups",
            "moe_router_group_topk",
        ),
        "moe",
    ),  # fmt: skip
    "mtp_num_layers": "mtp",
    **dict.fromkeys(
        (
            "num_layers",
            "hidden_size",
            "ffn_hidden_size",
            "num_attention_heads",
            "num_query_groups",
            "kv_channels",
            "vocab_size",
            "seq_length",
        ),
        "shape",
    ),  # fmt: skip
}


@dataclass
class ImpliedSetting:
    """A provider setting the new config implies, with the bridges that teach it."""

    attr: str
    category: str
    value: Any  #: JSON-ready (symbols by name: ``"F.silu"``)
    #: "config" (a teacher's expression read the config's fields), "names" (the checkpoint names),
    #: "config-rule" (a field no teacher reads, by its meaning), "default" (no evidence: the default applies)
    evidence: str
    fields: list[str]  #: what it was read from (config fields, or names evidence)
    teachers: list[str]  #: bridges that read the same fields into it (or set the same value)
    expression: str | None = None  #: how the teachers compute it
    #: other values some teachers give: [{"value", "teachers"}]
    alternatives: list[dict[str, Any]] = field(default_factory=list)
