"""TE-free layer specs and CPU kernels for the hybrid families: Mamba stacks (Nemotron-H's HybridModel,
Falcon-H1's parallel Mamba + attention layers) and gated-delta-net linear attention (Qwen3-Next, Qwen3.5).

Their bridges build Transformer Engine specs that the plain `local_layer_spec` swap cannot reach: a
`HybridModelProvider` or `FalconH1ModelProvider` has a stack spec instead of a `transformer_layer_spec`,
and the gated-delta-net block spec asks for TE's spec provider by name. Here each TE module is swapped for
the Megatron-Core local module of the same function and the same parameter names (a fused norm + column
linear stays fused, so `in_proj.layer_norm_weight` and `linear_fc1.layer_norm_weight` keep the names the
bridges map), and the Mamba / gated-delta-net kernels that exist only for CUDA are answered by
`_torch_kernels`, inside the smoke run only.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from codemods.smoke._errors import SmokeSetupError
from codemods.smoke._scoped import scoped_patches

__all__ = ["absent_kernel_patches", "hybrid_te_free_spec", "te_shaped_local_backend"]

_FUSED_NORM = "fused norm + linear (TELayerNormColumnParallelLinear) -> local norm + ColumnParallelLinear"


def hybrid_te_free_spec(provider: Any) -> list[str] | None:
    """Swap a hybrid provider's TE spec for its local twin; None when `provider` is not a hybrid one.

    Returns the report's adjustment lines.
    """
    if hasattr(provider, "hybrid_stack_spec"):  # HybridModelProvider (Nemotron-H, Mamba)
        original = provider.hybrid_stack_spec
        provider.hybrid_stack_spec = _lazy_local(original, _default_hybrid_stack_spec)
        return [
            f"Transformer Engine absent: hybrid stack spec -> local modules ({_FUSED_NORM})",
            *_mamba_kernels(),
        ]
    if hasattr(provider, "falconh1_stack_spec"):
        original = provider.falconh1_stack_spec
        provider.falconh1_stack_spec = _lazy_local(original, None)
        return [
            f"Transformer Engine absent: Falcon-H1 stack spec -> local modules ({_FUSED_NORM})",
            *_mamba_kernels(),
        ]
    spec = getattr(provider, "transformer_layer_spec", None)
    from megatron.core.models.gpt import experimental_attention_variant_module_specs as eav

    if (
        spec is eav.get_transformer_block_with_experimental_attention_variant_spec
        and getattr(provider, "experimental_attention_variant", None) == "gated_delta_net"
    ):
        provider.transformer_layer_spec = _experimental_block_spec_local
        return [
            "Transformer Engine absent: experimental-attention block spec built with a local backend of "
            f"TE's module tree ({_FUSED_NORM}, TENorm -> local RMSNorm with zero-centred gamma)",
            *_gdn_kernels(),
        ]
    return None


def _mamba_kernels() -> list[str]:
    """The report line for the Mamba kernels, or a setup error naming the missing one."""
    from megatron.core.ssm import mamba_mixer

    from codemods.smoke import _torch_kernels as tk

    if mamba_mixer.mamba_chunk_scan_combined is tk.mamba_chunk_scan_combined:
        return [
            "mamba_ssm absent: Mamba mixer kernels (chunked and split-conv1d selective scan, gated RMSNorm) "
            "-> pure-torch step-by-step references (inside the smoke run)"
        ]
    if not mamba_mixer.HAVE_MAMBA_SSM:
        raise SmokeSetupError(
            "Mamba mixer needs mamba_ssm's selective-scan kernels (mamba_chunk_scan_combined, "
            "mamba_split_conv1d_scan_combined, RMSNormGated); absent here, and no torch reference was put in place"
        )
    return []


def _gdn_kernels() -> list[str]:
    """The report line for the gated-delta-net kernels, or a setup error naming the missing one."""
    from megatron.core.ssm.gated_delta_net import common, gdn

    from codemods.smoke import _torch_kernels as tk

    if gdn.chunk_gated_delta_rule is tk.chunk_gated_delta_rule:
        return [
            "flash-linear-attention absent: gated delta rule, causal conv1d, l2norm "
            "-> pure-torch step-by-step references (inside the smoke run)"
        ]
    if not common.HAVE_FLA:
        raise SmokeSetupError(
            "GatedDeltaNet needs flash-linear-attention's kernels (chunk_gated_delta_rule, causal_conv1d, l2norm); "
            "absent here, and no torch reference was put in place"
        )
    return []


# --- local modules of TE's shape -------------------------------------------------------------------


def _locals() -> tuple[type, type]:
    """The local TENorm and TELayerNormColumnParallelLinear twins (`_local_modules`, imported on first use:
    it imports Megatron-Core)."""
    from codemods.smoke._local_modules import LayerNormColumnParallelLinear, TEFreeNorm

    return TEFreeNorm, LayerNormColumnParallelLinear


def _te_replacements() -> dict[int, Any]:
    """id(TE module) -> its local equivalent (the TE names are placeholders when TE is absent)."""
    from megatron.core.extensions import transformer_engine as te_ext
    from megatron.core.tensor_parallel.layers import ColumnParallelLinear, RowParallelLinear
    from megatron.core.transformer.dot_product_attention import DotProductAttention

    local_norm, local_ln_linear = _locals()
    pairs = {
        "TELayerNormColumnParallelLinear": local_ln_linear,
        "TEColumnParallelLinear": ColumnParallelLinear,
        "TERowParallelLinear": RowParallelLinear,
        "TEDotProductAttention": DotProductAttention,
        "TENorm": local_norm,
    }
    return {id(getattr(te_ext, name)): local for name, local in pairs.items() if getattr(te_ext, name, None)}


def _te_names() -> dict[int, str]:
    from megatron.core.extensions import transformer_engine as te_ext

    return {
        id(value): name
        for name, value in vars(te_ext).items()
        # type(), not isinstance(): without TE the classes are MagicMocks, which pass isinstance(_, str)
        if name.startswith("TE") and value is not None and type(value) not in (bool, int, str)
    }


def _missing_te(name: str) -> Any:
    """A stand-in for a TE module with no local twin here: building it names what is missing."""

    def build(*_args: Any, **_kwargs: Any) -> Any:
        raise SmokeSetupError(f"{name} has no Megatron-Core local equivalent (needs Transformer Engine)")

    return build


def _to_local(spec: Any) -> Any:
    """A copy of `spec` with every TE module swapped for its local twin (TE experts -> SequentialMLP)."""
    from megatron.core.models.backends import LocalSpecProvider
    from megatron.core.transformer.moe.experts import TEGroupedMLP

    table = _te_replacements()
    te_names = _te_names()

    def swap(obj: Any) -> Any:
        if id(obj) in table:
            return table[id(obj)]
        if id(obj) in te_names:
            return _missing_te(te_names[id(obj)])
        if isinstance(obj, type):
            return _built_with_local_te(obj)
        if isinstance(obj, functools.partial):
            if obj.func is TEGroupedMLP:
                return LocalSpecProvider().grouped_mlp_modules(False)
            return functools.partial(
                swap(obj.func), *(swap(a) for a in obj.args), **{k: swap(v) for k, v in obj.keywords.items()}
            )
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            changes = {f.name: swap(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.init}
            return dataclasses.replace(obj, **changes)
        if isinstance(obj, list | tuple):
            return type(obj)(swap(item) for item in obj)
        if isinstance(obj, dict):
            return {key: swap(value) for key, value in obj.items()}
        return obj

    return swap(spec)


@functools.cache
def _built_with_local_te(cls: type) -> type:
    """`cls`, or where its module names a TE class outside any spec (HybridStack's final norm is a
    hard-coded `TENorm`), a subclass of the same name that sees the local twins while it is built."""
    import sys

    module = sys.modules.get(cls.__module__)
    if module is None or not issubclass(cls, _torch_module()):
        return cls
    table = _te_replacements()
    names = {name: table[id(value)] for name, value in vars(module).items() if id(value) in table}
    if not names:
        return cls

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807
        with scoped_patches([(module, name, local) for name, local in names.items()]):
            cls.__init__(self, *args, **kwargs)

    return type(cls)(cls.__name__, (cls,), {"__init__": __init__, "__module__": cls.__module__})


def _torch_module() -> type:
    import torch

    return torch.nn.Module


def _default_hybrid_stack_spec(provider: Any) -> Any:
    from megatron.bridge.models.hybrid.hybrid_provider import get_default_hybrid_stack_spec

    return get_default_hybrid_stack_spec(provider)


def _lazy_local(original: Any, default: Any) -> Any:
    """A one-argument spec callable (as the providers accept) that resolves `original`, then swaps."""
    import inspect

    from megatron.core.transformer.spec_utils import ModuleSpec

    def local_spec(provider: Any = None) -> Any:
        if original is None:
            resolved = default(provider)
        elif isinstance(original, ModuleSpec):
            resolved = original
        elif inspect.signature(original).parameters:
            resolved = original(provider)
        else:
            resolved = original()
        return _to_local(resolved)

    return local_spec


@functools.cache
def te_shaped_local_backend() -> type:
    """Megatron-Core's LocalSpecProvider shaped as TE's: norm + column linear fused (TE's parameter names),
    TENorm's zero-centred gamma, a plain linear for `TELinear`; what `TESpecProvider()` answers while the
    experimental spec is built."""
    from megatron.core.models.backends import LocalSpecProvider
    from megatron.core.post_training.modelopt.layers import Linear

    local_norm, local_ln_linear = _locals()

    class TEShapedLocalSpecProvider(LocalSpecProvider):
        def fuse_layernorm_and_linear(self) -> bool:
            return True

        def column_parallel_layer_norm_linear(self) -> type:
            return local_ln_linear

        def layer_norm(self, rms_norm: bool = False, for_qk: bool = False, has_residual: bool = False) -> Any:
            return local_norm

        def linear(self) -> Any:
            # TESpecProvider's TELinear (the DSA indexer and MLA down-projections build it duplicated):
            # Megatron-Core's local Linear, what its own TE-free MLA spec uses in TELinear's place.
            return Linear

    return TEShapedLocalSpecProvider


def _experimental_block_spec_local(config: Any, vp_stage: Any = None, pp_rank: Any = None) -> Any:
    """Megatron-Core's experimental-attention block spec (gated delta net + attention), built while its
    `TESpecProvider` name (absent without TE) is the TE-shaped local backend."""
    from megatron.core.models.gpt import experimental_attention_variant_module_specs as eav
    from megatron.core.models.gpt import gpt_layer_specs

    backend = te_shaped_local_backend()
    with scoped_patches([(eav, "TESpecProvider", backend), (gpt_layer_specs, "TESpecProvider", backend)]):
        return eav.get_transformer_block_with_experimental_attention_variant_spec(
            config, vp_stage=vp_stage, pp_rank=pp_rank
        )


# --- kernels --------------------------------------------------------------------------------------


def absent_kernel_patches() -> list[tuple[Any, str, Any]]:
    """(owner, attribute, replacement) answering each absent Mamba / gated-delta-net kernel in torch.

    Only kernels that are absent are replaced (mamba_ssm, flash-linear-attention); with them installed the
    list is empty. For `_cpu.cuda_calls_on_cpu`, which applies and restores them.
    """
    from codemods.smoke import _torch_kernels as tk

    patches: list[tuple[Any, str, Any]] = []
    try:
        from megatron.core.ssm import mamba_mixer
    except ImportError:
        mamba_mixer = None
    if mamba_mixer is not None and not mamba_mixer.HAVE_MAMBA_SSM:
        patches += [
            (mamba_mixer, "HAVE_MAMBA_SSM", True),
            (mamba_mixer, "ExtendedRMSNorm", tk.GatedRMSNorm),
            (mamba_mixer, "mamba_chunk_scan_combined", tk.mamba_chunk_scan_combined),
            (mamba_mixer, "mamba_split_conv1d_scan_combined", tk.mamba_split_conv1d_scan_combined),
        ]
    try:
        from megatron.core.ssm.gated_delta_net import common as gdn_common
        from megatron.core.ssm.gated_delta_net import gdn
    except ImportError:
        gdn_common = gdn = None
    if gdn_common is not None and not gdn_common.HAVE_FLA:
        patches += [
            (gdn_common, "HAVE_FLA", True),
            (gdn_common, "l2norm", tk.l2norm),
            (gdn, "causal_conv1d", tk.fla_causal_conv1d),
            (gdn, "chunk_gated_delta_rule", tk.chunk_gated_delta_rule),
        ]
    return patches


# --- toy weights ----------------------------------------------------------------------------------

#: Per-head SSM vectors transformers initialises to one value for every head (Qwen3-Next's `dt_bias` is all
#: ones, Mamba's `D` too): on such a toy a bridge that permutes or mis-shards them computes the same function.
SSM_HEAD_VECTORS = ("dt_bias", "D")
#: They get N(0, SSM_NOISE_STD) added (dt_bias stays near its softplus-inverse init, D near 1).
SSM_NOISE_STD = 0.3


def randomize_ssm_head_vectors(model: Any, seed: int) -> list[str]:
    """Add noise to each per-head SSM vector (`dt_bias`, `D`) of a toy HF model; returns the names changed."""
    import torch

    gen = torch.Generator().manual_seed(seed + 11)
    changed = []
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.ndim == 1 and param.is_floating_point() and name.rsplit(".", 1)[-1] in SSM_HEAD_VECTORS:
                param.add_((torch.randn(param.shape, generator=gen) * SSM_NOISE_STD).to(param.dtype))
                changed.append(name)
    return changed


# --- checkpoint names -----------------------------------------------------------------------------

#: model_type -> {name transformers saves: name the published checkpoints carry}. transformers 5 loads
#: both (a rename rule kept for Mamba-2-style checkpoints), but `save_pretrained` reverses that rule too
#: and writes the legacy name; every published Nemotron-H checkpoint has `backbone.embeddings.weight`.
PUBLISHED_NAMES: dict[str, dict[str, str]] = {
    "nemotron_h": {"backbone.embedding.weight": "backbone.embeddings.weight"},
}


def rename_to_published(ckpt_dir: Any, model_type: str) -> list[str]:
    """Rename the toy checkpoint's tensors to the published checkpoints' names; returns the new names."""
    import json
    from pathlib import Path

    from safetensors.torch import load_file, save_file

    renames = PUBLISHED_NAMES.get(model_type)
    if not renames:
        return []
    done = []
    for file in sorted(Path(ckpt_dir).glob("*.safetensors")):
        tensors = load_file(str(file))
        if not renames.keys() & tensors.keys():
            continue
        done += [renames[name] for name in tensors if name in renames]
        tensors = {renames.get(name, name): tensor for name, tensor in tensors.items()}
        save_file(tensors, str(file), metadata={"format": "pt"})
    index = Path(ckpt_dir) / "model.safetensors.index.json"
    if index.is_file():
        data = json.loads(index.read_text())
        data["weight_map"] = {renames.get(k, k): v for k, v in data.get("weight_map", {}).items()}
        index.write_text(json.dumps(data, indent=2))
    return done
