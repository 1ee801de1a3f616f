"""Build the toy HF model from a toy config dict and save it as safetensors (seeded)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from analyzers.errors import ConfigError
from codemods.smoke._hybrid import randomize_ssm_head_vectors, rename_to_published

__all__ = [
    "architecture_for",
    "build_toy_checkpoint",
    "randomize_norms_and_biases",
    "randomize_zero_weights",
    "read_safetensors",
    "shrink_latent_norm_inputs",
]

#: Norm weights get N(0, NORM_STD) added (1 -> about 1 +- 0.3; a zero-centred gamma 0 -> +- 0.3).
NORM_STD = 0.3
#: Biases (and expert-score correction biases) are drawn from N(0, BIAS_STD).
BIAS_STD = 0.1
#: MLA's latent down-projections are scaled by this before their RMSNorm (see `shrink_latent_norm_inputs`).
LATENT_INPUT_SCALE = 0.1
#: (down-projection, the norm it feeds) in MLA attentions (DeepSeek-V2/V3, GLM-4.7-Flash, GLM-5).
_LATENT_NORMS = (("q_a_proj", "q_a_layernorm"), ("kv_a_proj_with_mqa", "kv_a_layernorm"))


def architecture_for(config: Any) -> str:
    """The HF class name to build: the config's `architectures[0]`, else transformers' causal-LM/VLM mapping."""
    archs = getattr(config, "architectures", None)
    if archs:
        return archs[0]
    from transformers.models.auto import modeling_auto

    for table in ("MODEL_FOR_CAUSAL_LM_MAPPING_NAMES", "MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES"):
        name = getattr(modeling_auto, table, {}).get(config.model_type)
        if name:
            return name
    import transformers

    raise ConfigError(
        f"transformers {transformers.__version__} has no causal-LM or image-text-to-text class for "
        f"model_type {config.model_type!r}; pass --config with an `architectures` entry"
    )


def build_toy_checkpoint(
    toy: dict[str, Any], out_dir: Path, seed: int = 0, architecture: str | None = None
) -> Path:
    """Build the toy model with transformers (seeded, bf16) and `save_pretrained` it to `out_dir`.

    Example:
        >>> from codemods.smoke._toy_config import load_source_config, toy_config_dict
        >>> out = build_toy_checkpoint(toy_config_dict(load_source_config("qwen3")), scratch / "toy")
        >>> sorted(p.name for p in out.iterdir())
        ['config.json', 'generation_config.json', 'model.safetensors']
    """
    import torch
    import transformers
    from transformers import AutoConfig

    fields = {k: v for k, v in toy.items() if k != "model_type"}
    try:
        config = AutoConfig.for_model(toy["model_type"], **fields)
    except (ValueError, KeyError) as exc:
        raise ConfigError(f"transformers {transformers.__version__} cannot build a config: {exc}") from exc
    arch = architecture or architecture_for(config)
    cls = getattr(transformers, arch, None)
    if cls is None:
        raise ConfigError(
            f"transformers {transformers.__version__} has no class {arch} for model_type {config.model_type!r} "
            "(it may need trust_remote_code, which the smoke test does not run)"
        )
    config.architectures = [arch]
    torch.manual_seed(seed)
    model = cls(config)
    randomize_norms_and_biases(model, seed)
    randomize_zero_weights(model, seed, std=float(getattr(config, "initializer_range", 0.02) or 0.02))
    randomize_ssm_head_vectors(model, seed)
    shrink_latent_norm_inputs(model)
    model = model.to(torch.bfloat16)
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir, safe_serialization=True)
    rename_to_published(out_dir, config.model_type)
    return out_dir


def randomize_norms_and_biases(model: Any, seed: int) -> list[str]:
    """Give every norm weight and bias a random value; returns the names changed.

    transformers initialises norms to 1 (or 0 for zero-centred ones) and biases to 0. A toy with those
    values cannot tell a bridge that drops a bias, swaps a norm or applies q/k norm at the wrong point
    from a correct one: both compute the same function on it.
    """
    import torch

    gen = torch.Generator().manual_seed(seed + 7)
    changed = []
    with torch.no_grad():
        for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
            if not tensor.is_floating_point() or tensor.ndim != 1:
                continue
            leaf = name.rsplit(".", 2)
            owner, attr = (leaf[-2] if len(leaf) > 1 else ""), leaf[-1]
            if attr == "weight" and ("norm" in owner.lower() or owner.startswith("ln")):
                noise = torch.randn(tensor.shape, generator=gen) * NORM_STD
                tensor.add_(noise.to(tensor.dtype))
            elif attr == "bias" or attr == "e_score_correction_bias":
                tensor.copy_((torch.randn(tensor.shape, generator=gen) * BIAS_STD).to(tensor.dtype))
            else:
                continue
            changed.append(name)
    return changed


def randomize_zero_weights(model: Any, seed: int, std: float = 0.02) -> list[str]:
    """Give every weight matrix transformers leaves at zero N(0, std) values; returns the names changed.

    Some models initialise a projection to zero (ERNIE 4.5's MoE router): on such a toy every expert gets
    the same score, so a bridge that routes by sigmoid where HF routes by softmax, or that drops the
    router, computes the same function as a correct one.
    """
    import torch

    gen = torch.Generator().manual_seed(seed + 11)
    changed = []
    with torch.no_grad():
        for name, tensor in model.named_parameters():
            if tensor.is_floating_point() and tensor.ndim >= 2 and not tensor.any():
                tensor.copy_((torch.randn(tensor.shape, generator=gen) * std).to(tensor.dtype))
                changed.append(name)
    return changed


def shrink_latent_norm_inputs(model: Any, scale: float = LATENT_INPUT_SCALE) -> list[str]:
    """Scale the rows of each MLA latent down-projection that feed its RMSNorm; returns the names changed.

    An RMSNorm computes x / sqrt(mean(x^2) + eps): at transformers' init the latents have a mean square
    of about 0.1, where eps 1e-5 and 1e-6 differ by 5e-5 relative, under the logits tolerance; a bridge
    that gives the latent norms the wrong eps would pass. Scaled by 0.1 (mean square about 1e-3) the same
    difference is 5e-3 relative, while the norm's output, and so every other part of the function, stays
    as it was. Only the latent rows scale: `kv_a_proj_with_mqa`'s last rows are the RoPE key, which no
    norm sees.
    """
    import torch

    modules = dict(model.named_modules())
    changed = []
    with torch.no_grad():
        for name, module in modules.items():
            owner, _, leaf = name.rpartition(".")
            norm_name = dict(_LATENT_NORMS).get(leaf)
            norm = modules.get(f"{owner}.{norm_name}" if owner else str(norm_name))
            if norm is None or getattr(module, "weight", None) is None:
                continue
            rows = norm.weight.numel()
            module.weight[:rows] *= scale
            if getattr(module, "bias", None) is not None:
                module.bias[:rows] *= scale
            changed.append(f"{name}.weight")
    return changed


def read_safetensors(ckpt_dir: Path) -> dict[str, Any]:
    """Every tensor of the checkpoint's *.safetensors files, by checkpoint name."""
    from safetensors.torch import load_file

    tensors: dict[str, Any] = {}
    for file in sorted(ckpt_dir.glob("*.safetensors")):
        tensors.update(load_file(str(file)))
    return tensors
