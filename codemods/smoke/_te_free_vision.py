"""TE-free VLM providers: the Transformer Engine modules a VLM's own `provide()` names are built as their
Megatron-Core local twins, while that call runs.

A VLM provider builds its model itself (Qwen3-VL, Qwen3.5-VL, EXAONE 4.5, Gemma 3): its `provide()` and
the model classes it constructs name TE builders and TE modules as module globals
(`get_gpt_layer_with_transformer_engine_spec`, `get_vit_layer_with_transformer_engine_spec`, `TENorm`,
`TEColumnParallelLinear` ...), so the `transformer_layer_spec` swap of `_te_free` never reaches them.
For the duration of each `provide()` call, and nowhere else:

- every TE module bound in the bridge family's modules (and in Megatron-Core's ViT spec module) is its
  local twin from `_te_twins` / `_local_modules` (one for one, the same parameter names, so the bridge's
  mapping sees TE's layout); a family class built on a TE base is rebuilt on the twin from its own body;
- Megatron-Core's `TESpecProvider` name (absent without TE) is the TE-shaped local backend `_hybrid`
  builds the gated-delta-net spec with: fused norm + linear, TE's norm;
- TE's attention becomes `PackedDotProductAttention`, which also takes the packed (THD) sequences the
  vision towers attend over, one image / frame at a time.

Import it only after `_te_shim.import_megatron()` (it imports Megatron-Core).
"""

from __future__ import annotations

import functools
import sys
from typing import Any

import torch

from codemods.smoke._errors import SmokeSetupError
from codemods.smoke._local_modules import LocalDotProductAttention
from codemods.smoke._scoped import scoped_patches
from codemods.smoke._te_twins import TE_MODULE, Relinker, class_body, te_twins

__all__ = ["PackedDotProductAttention", "te_free_provide"]

#: Megatron-Core modules a VLM's model code calls that bind TE modules by name (the ViT layer spec).
_CORE_SPEC_MODULES = ("megatron.core.models.vision.vit_layer_specs",)
#: Megatron-Core spec modules that look `TESpecProvider` up as a global (absent or None without TE).
_SPEC_PROVIDER_MODULES = (
    "megatron.core.models.gpt.gpt_layer_specs",
    "megatron.core.models.gpt.experimental_attention_variant_module_specs",
)


def te_free_provide(provider: Any) -> list[str] | None:
    """Make a VLM provider's own `provide()` build TE-free (on this provider object only); returns the
    report's lines, or None for a provider this does not concern (no vision tower, or the stock provide()).
    """
    from megatron.bridge.models.gpt_provider import GPTModelProvider

    cls = type(provider)
    if not hasattr(provider, "vision_config") or cls.provide is GPTModelProvider.provide:
        return None
    notes: list[str] = []
    patches = _provide_patches(cls, provider, notes)
    if not patches:
        return None
    original = cls.provide

    def provide(*args: Any, **kwargs: Any) -> Any:
        with scoped_patches(patches):
            return original(provider, *args, **kwargs)

    # An instance attribute: the provider object lives for this run only, its class is untouched.
    provider.provide = provide
    return [
        f"Transformer Engine absent: {cls.__name__}.provide() builds its own TE specs and modules; while it runs, "
        "the TE names of its family's modules are their Megatron-Core local twins (the layer-spec swap below "
        "applies where it builds the language model through transformer_layer_spec)",
        *notes,
    ]


def _family_package(module: str) -> str:
    parts = module.split(".")
    if "models" in parts and parts.index("models") + 1 < len(parts):
        return ".".join(parts[: parts.index("models") + 2])
    return module


def _provide_patches(cls: type, provider: Any, notes: list[str]) -> list[tuple[Any, str, Any]]:
    """(module, global name, twin) for every TE module or TE builder a VLM's build can reach by name."""
    import importlib

    def note(line: str) -> None:
        if line not in notes:
            notes.append(line)

    relinker = Relinker(note, provider)
    twins = te_twins()
    package = _family_package(cls.__module__)
    modules = [
        m for name, m in sorted(sys.modules.items()) if name == package or name.startswith(package + ".")
    ]
    modules += [importlib.import_module(name) for name in _CORE_SPEC_MODULES]
    patches: list[tuple[Any, str, Any]] = []
    for module in modules:
        if module is None:
            continue
        for name, value in sorted(vars(module).items()):
            local = _local_for(value, twins, relinker, note)
            if local is not None:
                patches.append((module, name, local))
    if not patches:
        return []
    backend = _vlm_backend()
    for name in _SPEC_PROVIDER_MODULES:
        module = importlib.import_module(name)
        if getattr(module, "TESpecProvider", None) is None:
            patches.append((module, "TESpecProvider", backend))
    note(
        "TESpecProvider (TE's spec backend) -> TE-shaped local backend (fused norm + linear, TE's norm; grouped "
        "experts as TEGroupedMLP on GroupedLinear twins, per-expert weight{i})"
    )
    return patches


@functools.cache
def _vlm_backend() -> type:
    """`_hybrid`'s TE-shaped local backend, with TE's grouped experts: the VLM providers ask for grouped GEMM
    in their own spec call (Qwen3-VL-MoE: `moe_grouped_gemm=True`), where TE >= 1.7 builds `TEGroupedMLP`
    (parameters `experts.linear_fc1.weight{i}`) and the local backend would build `SequentialMLP`."""
    from megatron.core.transformer.moe.experts import GroupedMLPSubmodules, TEGroupedMLP

    from codemods.smoke._hybrid import te_shaped_local_backend
    from codemods.smoke._local_modules import ColumnParallelGroupedLinear, RowParallelGroupedLinear

    class TEShapedVisionLanguageBackend(te_shaped_local_backend()):
        def grouped_mlp_modules(self, moe_use_grouped_gemm: bool) -> Any:
            if not moe_use_grouped_gemm:
                return super().grouped_mlp_modules(moe_use_grouped_gemm)
            return functools.partial(
                TEGroupedMLP,
                submodules=GroupedMLPSubmodules(
                    linear_fc1=ColumnParallelGroupedLinear,
                    linear_fc2=RowParallelGroupedLinear,
                    activation_func=None,
                ),
            )

    return TEShapedVisionLanguageBackend


def _local_for(value: Any, twins: dict[int, Any], relinker: Any, note: Any) -> Any:
    """The TE-free stand-in for a module global, or None when it is not a TE module."""
    entry = twins.get(id(value))
    if entry is not None and entry[0] is value:
        if entry[2] == "TEDotProductAttention":
            note(
                "TEDotProductAttention -> PackedDotProductAttention (Megatron-Core local attention, "
                "packed THD sequences one segment at a time)"
            )
            return PackedDotProductAttention
        return relinker.local(value)
    body = class_body(value)
    if body is not None and body[0] != TE_MODULE:
        return relinker.local(value)
    return None


class PackedDotProductAttention(LocalDotProductAttention):
    """TE's attention over packed sequences, without TE: each segment of `cu_seqlens` attends within itself
    (what TE's THD kernels compute), through Megatron-Core's unfused attention; unpacked input as before."""

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        attention_mask: torch.Tensor | None,
        attn_mask_type: Any = None,
        attention_bias: torch.Tensor | None = None,
        packed_seq_params: Any = None,
    ) -> torch.Tensor:
        if packed_seq_params is None:
            return super().forward(query, key, value, attention_mask, attn_mask_type, attention_bias)
        if packed_seq_params.qkv_format != "thd":
            raise SmokeSetupError(
                f"packed sequences in {packed_seq_params.qkv_format!r} format need Transformer Engine's attention"
            )
        cu_q = _offsets(packed_seq_params.cu_seqlens_q_padded, packed_seq_params.cu_seqlens_q)
        cu_kv = _offsets(packed_seq_params.cu_seqlens_kv_padded, packed_seq_params.cu_seqlens_kv)
        outs = []
        # THD tensors are [tokens, heads, dim]; each segment goes through as a batch of one, [s, 1, heads, dim],
        # and comes back [s, 1, heads x dim]; TE returns [tokens, heads x dim].
        for (q0, q1), (k0, k1) in zip(_pairs(cu_q), _pairs(cu_kv), strict=True):
            q = query[q0:q1].unsqueeze(1)
            k, v = key[k0:k1].unsqueeze(1), value[k0:k1].unsqueeze(1)
            outs.append(super().forward(q, k, v, None, attn_mask_type, attention_bias).squeeze(1))
        return torch.cat(outs)


def _pairs(offsets: list[int]) -> list[tuple[int, int]]:
    return list(zip(offsets[:-1], offsets[1:], strict=True))


def _offsets(padded: torch.Tensor | None, plain: torch.Tensor) -> list[int]:
    return (plain if padded is None else padded).tolist()
