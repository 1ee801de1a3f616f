"""Transformer-Engine-free equivalents: the Megatron-Core local spec that computes what a bridge's TE
spec computes, chosen per provider, and every substitution named for the report.

Transformer Engine cannot be installed where the smoke test runs (CI, the GPU machine), so a bridge
whose provider asks for a TE layer spec is built with the local spec of the same function instead:

- the stock TE specs (Megatron-Bridge's `default_layer_spec`, Megatron-Core's TE builders) become
  Megatron-Core's local specs, also while a bridge's own spec function calls them (OLMoE, MiniMax-M2);
- a bridge's own spec keeps its structure and its own classes; each TE module in it becomes its local
  twin from `_local_modules` (one for one, same parameter names), and a bridge class whose base is a
  TE wrapper (Gemma3's core attention, the shared post-norm row-parallel linear) is rebuilt from its own
  class body on the twin, so Megatron-Bridge's code runs unchanged on a TE-free base;
- Megatron-Core's experimental-attention spec with DeepSeek Sparse Attention (GLM-5) is built on a local
  backend with the same indexer and sparse top-k attention (`_dsa`);
- the norms TE would build implicitly (Attention's q/k `TENorm` default, TE's zero-centred gamma in
  every norm and the final norm) are built as `TEFreeNorm`, which computes TENorm's function.

Where a TE module has no local twin, the build stops with one line naming it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from codemods.smoke._errors import SmokeSetupError
from codemods.smoke._te_twins import Relinker

__all__ = ["match_hf_rope", "te_free_spec"]


def te_free_spec(provider: Any) -> list[str]:
    """Swap a TE layer spec for the Megatron-Core local spec that computes the same function; returns
    one line per substitution made (for the report)."""
    from codemods.smoke._te_shim import te_is_stubbed

    if not te_is_stubbed():
        return []
    from codemods.smoke._hybrid import hybrid_te_free_spec
    from codemods.smoke._te_free_vision import te_free_provide

    # VLMs: a provide() that builds TE modules itself; the language model may still use the layer spec.
    vision = te_free_provide(provider)
    hybrid = hybrid_te_free_spec(provider)
    if hybrid is not None:
        return (vision or []) + hybrid
    from megatron.bridge.models import gpt_provider

    if vision is None:
        _refuse_te_inside_provide(provider)
    spec = provider.transformer_layer_spec
    notes: list[str] = []
    keywords = getattr(spec, "keywords", None) or {}
    own = False
    from codemods.smoke import _dsa

    dsa = _dsa.is_dsa_spec(provider)
    stock = (
        gpt_provider.default_layer_spec,
        gpt_provider.transformer_engine_layer_spec,
        gpt_provider.transformer_engine_full_layer_spec,
    )
    if dsa:
        spec = _dsa.dsa_block_spec_local
        notes.extend(_dsa.NOTES)
    elif "use_transformer_engine" in keywords:
        spec = partial(spec.func, **{**keywords, "use_transformer_engine": False})
    elif (
        getattr(provider, "multi_latent_attention", False)
        or (
            # A per-layer MoE pattern needs the decoder-block spec; a list of zeros without experts (EXAONE
            # 4.5's provider sets one) says nothing, and the bridge's own layer spec stays.
            isinstance(getattr(provider, "moe_layer_freq", 1), list)
            and getattr(provider, "num_moe_experts", None)
        )
    ) and (vision is None or spec in stock):
        # (A VLM's own block spec, ERNIE 4.5-VL's dual-pool text / vision MoE, is kept: swapped one for one.)
        from megatron.core.models.gpt.gpt_layer_specs import get_gpt_decoder_block_spec

        spec = partial(get_gpt_decoder_block_spec, use_transformer_engine=False)
    elif spec in stock:
        spec = gpt_provider.local_layer_spec
    else:
        own = True  # the bridge's own spec: its TE parts are swapped below, one for one
    if not own and not notes:
        notes.append("Transformer Engine absent: layer spec -> Megatron-Core local spec")
    if getattr(provider, "multi_latent_attention", False) and not dsa:  # DSA's core attention is its own
        spec = _with_mla_core_attention(spec)
    # Read before the run turns moe_grouped_gemm off: TE builds grouped experts (TEGroupedMLP) then.
    grouped = bool(
        getattr(provider, "num_moe_experts", None) and getattr(provider, "moe_grouped_gemm", False)
    )
    te_free = _TEFreeSpec(spec, builders_local=own, grouped_experts=grouped)
    # A dry build only to name the substitutions for the report; a spec that cannot be built yet
    # fails again, with its own error, when the model is built.
    try:
        te_free(provider, dry=True)
    except Exception as exc:  # noqa: BLE001 - reported, and raised again by the real build
        notes.append(
            f"TE-free substitutions not listed: the layer spec cannot be built before the model ({type(exc).__name__})"
        )
    provider.transformer_layer_spec = te_free
    return (vision or []) + notes + te_free.notes


#: Megatron-Core's TE spec builders; a provider's own provide() that calls one builds TE modules itself.
_TE_BUILDERS = ("get_gpt_layer_with_transformer_engine_spec", "get_vit_layer_with_transformer_engine_spec")


def _refuse_te_inside_provide(provider: Any) -> None:
    """One line, before the build, for a provider whose provide() builds TE specs itself (VLMs)."""
    provide = getattr(type(provider), "provide", None)
    code = getattr(provide, "__code__", None)
    calls = [n for n in _TE_BUILDERS if code is not None and n in code.co_names]
    if calls:
        raise SmokeSetupError(
            f"{type(provider).__name__}.provide() builds Transformer Engine specs itself ({', '.join(calls)}); "
            "the TE-free swap covers transformer_layer_spec only"
        )


class _TEFreeSpec:
    """The provider's layer-spec callable with every TE part replaced by its Megatron-Core equivalent."""

    def __init__(self, inner: Any, *, builders_local: bool, grouped_experts: bool = False) -> None:
        self.inner = inner
        self.builders_local = builders_local
        self.grouped_experts = grouped_experts
        self.notes: list[str] = []

    def _note(self, line: str) -> None:
        if line not in self.notes:
            self.notes.append(line)

    def __call__(self, config: Any, vp_stage: int | None = None, *, dry: bool = False) -> Any:
        spec = self.inner
        if callable(spec) and not _is_module_spec(spec):
            kwargs = {"vp_stage": vp_stage} if _takes(spec, "vp_stage") else {}
            if dry and _takes(spec, "pp_rank"):
                kwargs["pp_rank"] = 0  # before the parallel state exists (block specs count their layers)
            scope = (
                _stock_builders_local(spec, self._note) if self.builders_local else contextlib.nullcontext()
            )
            with scope:
                spec = spec(config, **kwargs)
        spec = Relinker(self._note, config).spec(spec)
        if self.grouped_experts:
            spec = _grouped_experts(spec, self._note)
        if getattr(config, "qk_layernorm", False) and not getattr(config, "qk_l2_norm", False):
            spec = _fill_qk_norms(spec, self._note)
        if getattr(config, "layernorm_zero_centered_gamma", False):
            spec = _zero_centred_norms(spec, config, vp_stage, self._note, dry=dry)
        return spec


def _is_module_spec(obj: Any) -> bool:
    from megatron.core.transformer.spec_utils import ModuleSpec

    return isinstance(obj, ModuleSpec)


def _takes(fn: Any, parameter: str) -> bool:
    try:
        return parameter in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


# --- the stock TE builders, local while a bridge's own spec function runs -----------------------


def _local_like_te_spec(*args: Any, **kwargs: Any) -> Any:
    """`get_gpt_layer_with_transformer_engine_spec`'s arguments on `get_gpt_layer_local_spec`.

    The TE-only options dropped here are fusions of the same function (TE's op fuser, TE's activation
    op, the fused MLA down-projection, grouped GEMM for dense MLPs).
    """
    from megatron.core.models.gpt.gpt_layer_specs import get_gpt_layer_local_spec

    for fused in (
        "use_te_op_fuser",
        "use_te_activation_func",
        "mla_down_proj_fusion",
        "use_grouped_gemm_for_dense_mlp",
    ):
        kwargs.pop(fused, None)
    return get_gpt_layer_local_spec(*args, **kwargs)


@contextlib.contextmanager
def _stock_builders_local(fn: Any, note: Callable[[str], None]) -> Iterator[None]:
    """While `fn` builds its spec, the stock TE spec builders it can reach build the local spec."""
    from megatron.bridge.models import gpt_provider
    from megatron.core.models.gpt import gpt_layer_specs

    def noting(name: str, local: Callable[..., Any]) -> Callable[..., Any]:
        def build(*args: Any, **kwargs: Any) -> Any:
            note(f"{name} (called by the bridge's spec) -> Megatron-Core local spec")
            return local(*args, **kwargs)

        return build

    te_to_local = {
        gpt_layer_specs.get_gpt_layer_with_transformer_engine_spec: noting(
            "get_gpt_layer_with_transformer_engine_spec", _local_like_te_spec
        ),
        gpt_provider.default_layer_spec: noting("default_layer_spec", gpt_provider.local_layer_spec),
        gpt_provider.transformer_engine_layer_spec: noting(
            "transformer_engine_layer_spec", gpt_provider.local_layer_spec
        ),
    }
    target = getattr(fn, "func", fn)
    fn_globals = getattr(target, "__globals__", None)
    saved: list[tuple[Callable[[str, Any], None], str, Any]] = []

    def swap(get: Callable[[str], Any], put: Callable[[str, Any], None], names: list[str]) -> None:
        for name in names:
            value = get(name)
            if _hashable_in(value, te_to_local):
                saved.append((put, name, value))
                put(name, te_to_local[value])

    try:
        for owner in (gpt_layer_specs, gpt_provider):
            swap(partial(getattr, owner), partial(setattr, owner), _builder_names(owner))
        if fn_globals is not None:
            swap(fn_globals.__getitem__, fn_globals.__setitem__, list(fn_globals))
        yield
    finally:
        for put, name, value in reversed(saved):
            put(name, value)


def _builder_names(owner: Any) -> list[str]:
    return [
        n
        for n in (
            "get_gpt_layer_with_transformer_engine_spec",
            "default_layer_spec",
            "transformer_engine_layer_spec",
        )
        if hasattr(owner, n)
    ]


def _hashable_in(value: Any, table: dict[Any, Any]) -> bool:
    try:
        return value in table
    except TypeError:
        return False


# --- grouped experts ---------------------------------------------------------------------------------


def _grouped_experts(spec: Any, note: Callable[[str], None]) -> Any:
    """With `moe_grouped_gemm` TE's spec builds `TEGroupedMLP` on TE's GroupedLinear (parameters
    `experts.linear_fc1.weight{i}`, the names many bridges map alone); the local spec builds
    `SequentialMLP` (`experts.local_experts.{i}.*`). Build Megatron-Core's `TEGroupedMLP` (plain torch
    on its unfused path) on the GroupedLinear twins instead."""
    from megatron.core.transformer.moe.experts import GroupedMLPSubmodules, SequentialMLP, TEGroupedMLP
    from megatron.core.transformer.moe.moe_layer import MoESubmodules

    from codemods.smoke._local_modules import ColumnParallelGroupedLinear, RowParallelGroupedLinear

    grouped = partial(
        TEGroupedMLP,
        submodules=GroupedMLPSubmodules(
            linear_fc1=ColumnParallelGroupedLinear, linear_fc2=RowParallelGroupedLinear, activation_func=None
        ),
    )

    def visit(obj: Any) -> Any:
        if isinstance(obj, MoESubmodules):
            experts = obj.experts
            if isinstance(experts, partial) and experts.func is SequentialMLP:
                note(
                    "moe_grouped_gemm: TEGroupedMLP on TE's GroupedLinear -> TEGroupedMLP on GroupedLinear twins "
                    "(per-expert weight{i}, same function)"
                )
                return dataclasses.replace(obj, experts=grouped)
            return obj
        return _map_children(obj, visit)

    return visit(spec)


# --- norms TE builds implicitly --------------------------------------------------------------------


def _fill_qk_norms(spec: Any, note: Callable[[str], None]) -> Any:
    """Attention builds `TENorm` for q/k when the spec leaves them None and `qk_layernorm` is on."""
    from megatron.core.transformer.attention import SelfAttentionSubmodules

    from codemods.smoke._local_modules import TEFreeNorm

    def visit(obj: Any) -> Any:
        if isinstance(obj, SelfAttentionSubmodules):
            changes = {n: TEFreeNorm for n in ("q_layernorm", "k_layernorm") if getattr(obj, n) is None}
            if changes:
                note(
                    "q/k layernorm: Attention's TENorm default -> TEFreeNorm (Megatron-Core local, same function)"
                )
                return dataclasses.replace(obj, **changes)
            return obj
        return _map_children(obj, visit)

    return visit(spec)


def _zero_centred_norms(
    spec: Any, config: Any, vp_stage: int | None, note: Callable[[str], None], *, dry: bool
) -> Any:
    """TE applies every norm's weight as 1 + w (`zero_centered_gamma`); torch's norms cannot."""
    from megatron.core.fusions.fused_layer_norm import FusedLayerNorm
    from megatron.core.transformer.spec_utils import ModuleSpec
    from megatron.core.transformer.torch_norm import WrappedTorchNorm
    from megatron.core.transformer.transformer_block import (
        TransformerBlockSubmodules,
        get_num_layers_to_build,
    )
    from megatron.core.transformer.transformer_layer import BaseTransformerLayer

    from codemods.smoke._local_modules import TEFreeNorm

    def visit(obj: Any) -> Any:
        if obj is WrappedTorchNorm or obj is FusedLayerNorm:
            return TEFreeNorm
        return _map_children(obj, visit)

    spec = visit(spec)
    note(
        "zero-centred gamma (x * (1 + w)): torch norms -> TEFreeNorm (TENorm's function, in the layers and the final norm)"
    )
    if (
        isinstance(spec, ModuleSpec)
        and isinstance(spec.module, type)
        and issubclass(spec.module, BaseTransformerLayer)
    ):
        # Megatron-Core would give a layer spec the block's default final norm (torch's, no zero-centred gamma).
        layers = config.num_layers if dry else get_num_layers_to_build(config, vp_stage)
        spec = TransformerBlockSubmodules(layer_specs=[spec] * layers, layer_norm=TEFreeNorm)
    return spec


def _map_children(obj: Any, visit: Callable[[Any], Any]) -> Any:
    """`obj` with `visit` applied to its spec children (dataclass fields, partial parts, list items)."""
    if isinstance(obj, type):
        return obj
    if isinstance(obj, partial):
        func, args, kw = (
            visit(obj.func),
            [visit(a) for a in obj.args],
            {k: visit(v) for k, v in obj.keywords.items()},
        )
        if (
            func is obj.func
            and all(a is b for a, b in zip(args, obj.args, strict=True))
            and all(kw[k] is obj.keywords[k] for k in kw)
        ):
            return obj
        return partial(func, *args, **kw)
    if isinstance(obj, list | tuple):
        items = [visit(v) for v in obj]
        return obj if all(a is b for a, b in zip(items, obj, strict=True)) else type(obj)(items)
    if dataclasses.is_dataclass(obj):
        changes = {}
        for field in dataclasses.fields(obj):
            value = getattr(obj, field.name)
            new = visit(value)
            if new is not value:
                changes[field.name] = new
        return dataclasses.replace(obj, **changes) if changes else obj
    return obj


# --- MLA's core attention ---------------------------------------------------------------------------


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

    @functools.wraps(spec_fn)  # keeps spec_fn's signature visible (the dry build passes pp_rank by it)
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


# --- CPU: the sliding-window masks the TE-free attention builds on CUDA ------------------------------


def te_free_cpu_patches() -> list[tuple[Any, str, Any]]:
    """(owner, attribute, CPU replacement) for the CUDA-only calls the TE-free attention makes.

    TE builds sliding-window masks inside its kernels; Megatron-Core's unfused softmax and Gemma 2's
    own attention build them with `device="cuda"`. Used by `cuda_calls_on_cpu` (scoped to the run).
    """
    import sys

    from megatron.core.fusions import fused_softmax

    patches: list[tuple[Any, str, Any]] = [
        (fused_softmax, "get_sliding_window_causal_mask", sliding_window_mask)
    ]
    gemma2 = sys.modules.get("megatron.bridge.models.gemma.gemma2_provider")
    if gemma2 is not None and hasattr(gemma2, "get_swa"):
        patches.append((gemma2, "get_swa", sliding_window_mask))
    return patches


def sliding_window_mask(sq: int, skv: int, window_size: tuple[int, int]) -> Any:
    """True where a query may not attend (keys more than window_size[0] before it or window_size[1]
    after it, the last query aligned with the last key): the [sq, skv] mask of Megatron-Core's
    `get_sliding_window_causal_mask` and Gemma 2's `get_swa`, on the CPU.

    Example:
        >>> import pytest; torch = pytest.importorskip("torch")
        >>> sliding_window_mask(3, 3, (1, 0)).int().tolist()
        [[0, 1, 1], [0, 0, 1], [1, 0, 0]]
    """
    import torch

    offset = torch.arange(skv)[None, :] - torch.arange(sq)[:, None] - (skv - sq)  # key - query position
    return (offset < -window_size[0]) | (offset > window_size[1])
