"""Transformer-Engine-free equivalents: the Megatron-Core local spec that computes what a bridge's TE
spec computes, chosen per provider, and every substitution named for the report.

Transformer Engine cannot be installed where the smoke test runs (CI, the GPU machine), so a bridge
whose provider asks for a TE layer spec is built with the local spec of the same function instead.
"""

from __future__ import annotations

from functools import partial
from typing import Any

__all__ = ["match_hf_rope", "te_free_spec"]


def te_free_spec(provider: Any) -> list[str]:
    """Swap a TE layer spec for the Megatron-Core local spec that computes the same function; returns
    one line per substitution made (for the report)."""
    from codemods.smoke._te_shim import te_is_stubbed

    if not te_is_stubbed():
        return []
    from codemods.smoke._hybrid import hybrid_te_free_spec

    hybrid = hybrid_te_free_spec(provider)
    if hybrid is not None:
        return hybrid
    before = provider.transformer_layer_spec
    from megatron.bridge.models import gpt_provider

    spec = provider.transformer_layer_spec
    keywords = getattr(spec, "keywords", None) or {}
    if "use_transformer_engine" in keywords:
        provider.transformer_layer_spec = partial(spec.func, **{**keywords, "use_transformer_engine": False})
    elif getattr(provider, "multi_latent_attention", False) or isinstance(
        getattr(provider, "moe_layer_freq", 1), list
    ):
        from megatron.core.models.gpt.gpt_layer_specs import get_gpt_decoder_block_spec

        provider.transformer_layer_spec = partial(get_gpt_decoder_block_spec, use_transformer_engine=False)
    elif spec in (
        gpt_provider.default_layer_spec,
        gpt_provider.transformer_engine_layer_spec,
        gpt_provider.transformer_engine_full_layer_spec,
    ):
        provider.transformer_layer_spec = gpt_provider.local_layer_spec
    # Any other spec is the bridge's own; it is kept, and a TE-only one fails at build time.
    if getattr(provider, "multi_latent_attention", False):
        provider.transformer_layer_spec = _with_mla_core_attention(provider.transformer_layer_spec)
    if provider.transformer_layer_spec is before:
        return []
    return ["Transformer Engine absent: layer spec -> Megatron-Core local spec"]


def _with_mla_core_attention(spec_fn: Any) -> Any:
    """Megatron-Core's local DotProductAttention takes no k/v head sizes, which MLA passes; wrap it."""
    from megatron.core.transformer.dot_product_attention import DotProductAttention

    class MLADotProductAttention(DotProductAttention):
        def __init__(
            self, *args: Any, k_channels: int | None = None, v_channels: int | None = None, **kwargs: Any
        ) -> None:
            super().__init__(*args, **kwargs)
            if v_channels is not None:
                heads = self.hidden_size_per_partition // self.hidden_size_per_attention_head
                self.hidden_size_per_attention_head = v_channels
                self.hidden_size_per_partition = v_channels * heads

    def patch(spec: Any) -> Any:
        layers = getattr(spec, "layer_specs", None) or [spec]
        for layer in layers:
            attention = getattr(getattr(layer, "submodules", None), "self_attention", None)
            subs = getattr(attention, "submodules", None)
            if subs is not None and getattr(subs, "core_attention", None) is DotProductAttention:
                subs.core_attention = MLADotProductAttention
        return spec

    def wrapped(config: Any, *args: Any, **kwargs: Any) -> Any:
        return patch(spec_fn(config, *args, **kwargs))

    return wrapped


def match_hf_rope(provider: Any, hf_config: Any) -> list[str]:
    """MLA providers default to YaRN; a toy config with plain RoPE needs plain RoPE on the Megatron side too."""
    if getattr(provider, "rope_type", None) != "yarn":
        return []
    hf_config = getattr(hf_config, "text_config", None) or hf_config
    params = getattr(hf_config, "rope_parameters", None) or getattr(hf_config, "rope_scaling", None) or {}
    if params.get("rope_type", params.get("type", "default")) in (None, "default"):
        provider.rope_type = "rope"
        if hasattr(provider, "rotary_scaling_factor"):
            provider.rotary_scaling_factor = 1.0  # no YaRN mscale on the softmax scale either
        return ["rope_type yarn -> rope, rotary_scaling_factor 1 (the HF config uses plain RoPE)"]
    return []
