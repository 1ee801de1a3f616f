"""Where a decoder-layer tensor sits in the layer, on the HF side and on the Megatron side.

The synthesis learns *what* a tensor maps to from the catalog's bridges; the roles keep it to mappings of
the right *kind*. A norm's place (before attention, before the MLP, after either) is read from the HF
decoder layer's forward (`analyzers.modeling_source`): Llama's ``post_attention_layernorm`` feeds the MLP
(Megatron's ``mlp.linear_fc1.layer_norm_weight``), Gemma2's follows the attention (``linear_proj.post_layernorm``).
Fused projections (``qkv_proj``, ``gate_up_proj``) and a non-gated MLP's ``c_fc`` / ``c_proj`` are named
by their HF spelling. Megatron-Core's parameter names say their place directly.

>>> megatron_role("mlp.linear_fc1.layer_norm_weight")
'pre_mlp'
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Megatron decoder-layer parameter (after ``decoder.layers.*.``) -> its role; the first match wins
MEGATRON_ROLES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (role, re.compile(pattern))
    for role, pattern in (
        ("pre_attn", r"^(input_layernorm|self_attention\.(linear_qkv|in_proj|linear_q_down_proj|"
                     r"linear_kv_down_proj)\.layer_norm_|mixer\.in_proj\.layer_norm_)"),
        ("pre_mlp", r"^(pre_mlp_layernorm\.|mlp\.linear_fc1\.layer_norm_)"),
        ("post_attn", r"^(self_attention\.linear_proj\.post_layernorm\.|post_self_attn_layernorm\.)"),
        ("post_mlp", r"^(mlp\.linear_fc2\.post_layernorm\.|post_mlp_layernorm\.|post_ffn_layernorm\.)"),
        ("qkv_fused", r"^self_attention\.linear_qkv\.(weight|bias)$"),
        ("mlp_in", r"^mlp\.linear_fc1\.(weight|bias)$"),
        ("mlp_out", r"^mlp\.linear_fc2\.(weight|bias)$"),
    )
)  # fmt: skip
NORM_ROLES = frozenset({"pre_attn", "pre_mlp", "post_attn", "post_mlp"})
#: Megatron modules of routed / shared experts: a dense model has none
MOE_MODULE = re.compile(r"(^|\.)(experts|shared_experts|router)\.")
#: the linear a role's fused norm lives in, when Megatron-Core fuses it (TE layer specs)
HOSTS = {"qkv_fused": "self_attention.linear_qkv.weight", "mlp_in": "mlp.linear_fc1.weight",
         "mlp_in_gated": "mlp.linear_fc1.weight"}  # fmt: skip

_HF_LINEARS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (role, re.compile(pattern))
    for role, pattern in (
        ("qkv_fused", r"^(self_attn|attention|attn|self_attention)\.(qkv_proj|qkv|query_key_value|c_attn|Wqkv|"
                      r"wqkv|W_pack)\.(weight|bias)$"),
        ("mlp_in_gated", r"^(mlp|feed_forward|ffn)\.(gate_up_proj|gate_up|w13|fc1_gate_up)\.(weight|bias)$"),
        ("mlp_in", r"^(mlp|feed_forward|ffn)\.(c_fc|fc1|up_proj|dense_h_to_4h|w1|fc_in|wi)\.(weight|bias)$"),
        ("mlp_out", r"^(mlp|feed_forward|ffn)\.(c_proj|fc2|down_proj|dense_4h_to_h|w2|fc_out|wo)\.(weight|bias)$"),
    )
)  # fmt: skip
_GATE = re.compile(r"^(mlp|feed_forward|ffn)\.(gate_proj|w3|wi_0)\.weight$")


def megatron_role(layer_param: str) -> str | None:
    """The role of a Megatron decoder-layer parameter (after ``decoder.layers.*.``), None when it has none."""
    return next((role for role, regex in MEGATRON_ROLES if regex.search(layer_param)), None)


def hf_roles(model_type: str | None, layer_suffixes: Iterable[str]) -> dict[str, str]:
    """Role of each decoder-layer HF name suffix (``post_attention_layernorm.weight``) that has one.

    Norm roles need the modeling source of `model_type`; without it norms get none (the vote decides).
    A non-gated MLP's in-projection is ``mlp_in``; beside a gate projection it has no role of its own.
    """
    suffixes = list(layer_suffixes)
    norms: dict[str, str] = {}
    if model_type:
        from analyzers.modeling_source import modeling_facts

        facts = modeling_facts(model_type)
        norms = dict(facts.norm_roles) if facts else {}
    gated = any(_GATE.match(s) for s in suffixes)
    out: dict[str, str] = {}
    for suffix in suffixes:
        module, _, last = suffix.rpartition(".")
        if module in norms and last in ("weight", "bias"):
            out[suffix] = norms[module]
            continue
        role = next((r for r, regex in _HF_LINEARS if regex.match(suffix)), None)
        if role == "mlp_in" and gated:
            continue
        if role is not None:
            out[suffix] = role
    return out
