"""The TE-free DeepSeek Sparse Attention (DSA) block spec: GLM-5's (and DeepSeek-V3.2's) indexer and
sparse top-k attention on Megatron-Core's local modules.

A DSA bridge asks for Megatron-Core's experimental-attention block spec, which builds its modules from
`TESpecProvider`. The spec itself is kept (`AbsorbedMLASelfAttention` + `DSAttention` with its
`DSAIndexer`: the indexer and the sparse top-k selection are what runs, not the dense MLA of the standard
spec), built while that name is the TE-shaped local backend of `_hybrid`, with two local stand-ins for
`TELinear` (TE's plain linear, `parallel_mode="duplicated"`):

- the indexer's projections (`linear_wq_b`, `linear_wk`, `linear_weights_proj`) are Megatron-Core's local
  `Linear` (`post_training.modelopt.layers`, what Megatron-Core's own TE-free MLA spec uses for TELinear):
  a replicated `x @ W.T`, parameter `weight`, as TELinear;
- the attention down-projections (`linear_q_down_proj`, `linear_kv_down_proj`) are `ColumnParallelLinear`:
  without TE, `AbsorbedMLASelfAttention` accepts only that class there (its `TELinear` / `Linear` names are
  None), and at TP = 1 (AbsorbedMLA needs sequence parallelism beyond) it is the same `x @ W.T`.

Megatron-Bridge's `AutoMapping` knows TELinear by name but not Megatron-Core's `Linear`, so while a model
holds one, `"Linear"` is registered as replicated (what AutoMapping answers for a duplicated TELinear) and
unregistered afterwards (`local_linear_mapped`).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any

__all__ = ["dsa_block_spec_local", "is_dsa_spec", "local_linear_mapped"]

#: Report lines for the substitutions this module makes.
NOTES = (
    "Transformer Engine absent: DSA experimental-attention block spec (AbsorbedMLA + DSAttention + DSAIndexer, "
    "kept) built with a local backend of TE's module tree (TENorm -> TEFreeNorm, fused norm + linear -> "
    "local norm + ColumnParallelLinear)",
    "DSA indexer TELinear (duplicated) -> Megatron-Core local Linear (replicated x @ W.T, same function)",
    "AbsorbedMLA down-projections TELinear (duplicated) -> ColumnParallelLinear (the only local class "
    "AbsorbedMLA accepts there; same function at TP = 1)",
)


def is_dsa_spec(provider: Any) -> bool:
    """True when `provider` asks for Megatron-Core's experimental-attention block spec with DSA."""
    from megatron.core.models.gpt import experimental_attention_variant_module_specs as eav

    return (
        getattr(provider, "transformer_layer_spec", None)
        is eav.get_transformer_block_with_experimental_attention_variant_spec
        and getattr(provider, "experimental_attention_variant", None) == "dsa"
    )


def dsa_block_spec_local(config: Any, vp_stage: int | None = None, pp_rank: int | None = None) -> Any:
    """Megatron-Core's experimental-attention (DSA) block spec on the local backend (see the module doc)."""
    from megatron.core.models.gpt import experimental_attention_variant_module_specs as eav
    from megatron.core.models.gpt import gpt_layer_specs

    from codemods.smoke._hybrid import te_shaped_local_backend
    from codemods.smoke._scoped import scoped_patches

    backend = te_shaped_local_backend()
    with scoped_patches([(eav, "TESpecProvider", backend), (gpt_layer_specs, "TESpecProvider", backend)]):
        block = eav.get_transformer_block_with_experimental_attention_variant_spec(
            config, vp_stage=vp_stage, pp_rank=pp_rank
        )
    return _column_parallel_down_projections(block)


def _column_parallel_down_projections(block: Any) -> Any:
    """Each layer's AbsorbedMLA down-projections as ColumnParallelLinear (in the freshly built spec)."""
    from megatron.core.tensor_parallel import ColumnParallelLinear
    from megatron.core.transformer.experimental_attention_variant.absorbed_mla import (
        AbsorbedMLASelfAttentionSubmodules,
    )

    for layer in block.layer_specs:
        attention = layer.submodules.self_attention
        subs = getattr(attention, "submodules", None)
        if isinstance(subs, AbsorbedMLASelfAttentionSubmodules):
            attention.submodules = dataclasses.replace(
                subs, linear_q_down_proj=ColumnParallelLinear, linear_kv_down_proj=ColumnParallelLinear
            )
    return block


@contextlib.contextmanager
def local_linear_mapped(model: list[Any]) -> Iterator[list[str]]:
    """While the block runs, AutoMapping treats Megatron-Core's local `Linear` as replicated, if `model`
    holds one (and the registry does not know it yet); yields the report's lines."""
    from megatron.bridge.models.conversion.param_mapping import AutoMapping
    from megatron.core.post_training.modelopt.layers import Linear

    registry = AutoMapping._MODULE_TYPE_REGISTRY
    used = any(type(m) is Linear for chunk in model for m in chunk.modules())
    known = any(Linear.__name__ in names for names in registry.values())
    if not used or known:
        yield []
        return
    AutoMapping.register_module_type(Linear.__name__, "replicated")
    try:
        yield [
            "AutoMapping: module type 'Linear' (Megatron-Core's local TELinear twin) registered as replicated, "
            "as AutoMapping treats a duplicated TELinear (for this run only)"
        ]
    finally:
        registry["replicated"].discard(Linear.__name__)
