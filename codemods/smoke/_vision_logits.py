"""The logits check's inputs for vision-language models: text with one tiny image per sequence.

A VLM's Megatron model is the language model plus a vision tower the bridge converts too (Qwen3-VL's is
Megatron-Core's own ViT, not HF's). Text alone runs only the language model; an image placeholder run
through both towers compares the converted vision weights, the merger / projector, the placeholder
scatter and the multimodal (3-D) RoPE positions as well.

Images go in the processor-free form the models take after their image processor: Qwen-style towers
(`image_grid_thw`) take `pixel_values` of shape [patches, channels x temporal_patch x patch x patch] and
the (t, h, w) patch grid of each image; the placeholder token is repeated once per merged patch
(h x w / spatial_merge_size^2) between the vision start and end tokens. An architecture with no such
builder here is compared on text only, and the report says so.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LogitsInputs", "logits_inputs", "mrope_section_mismatch"]

#: Text tokens before the image in each sequence (so RoPE positions run on after the image too).
_TEXT_BEFORE_IMAGE = 4
#: Image grid, in merge units (height x width): not square, so a height / width swap changes the logits.
_GRID_MERGED = (2, 3)


@dataclass
class LogitsInputs:
    """What the logits check feeds both models: token ids and each side's extra forward arguments."""

    ids: Any  #: [batch, seq] token ids
    hf: dict[str, Any] = field(default_factory=dict)  #: extra keyword arguments of HF's forward
    megatron: dict[str, Any] = field(default_factory=dict)  #: extra keyword arguments of Megatron's forward
    note: str = ""  #: what was fed, for the report's adjustments
    image_tokens: int = 0  #: placeholder tokens per sequence
    refusal: str | None = None  #: why the two models cannot be compared (the logits check fails with it)
    image_span: tuple[int, int] | None = None  #: [first, last) positions of the image placeholders

    def where_beyond(self, per_position: Any, tol: float) -> str:
        """Where the logits first differ beyond `tol` (per-position max |diff|), relative to the image: text
        before it is the language model alone, from the image on the vision tower is in the path too."""
        beyond = (per_position > tol).nonzero()
        if self.image_span is None or not len(beyond):
            return ""
        first = int(beyond[0])
        start, end = self.image_span
        if first < start:
            where = "text before the image: the language model"
        elif first < end:
            where = "an image token: the vision tower / projector"
        else:
            where = "text after the image"
        return f"; first beyond tolerance at position {first} ({where})"


def _accepts(fn: Any, name: str) -> bool:
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def logits_inputs(
    hf_config: Any,
    arch: str,
    bridge: str,
    megatron_model: Any,
    vocab: int,
    batch: int,
    seq: int,
    seed: int,
    device: str,
) -> LogitsInputs | None:
    """Inputs with one image per sequence for a VLM whose HF and Megatron forwards take one, a text-only
    LogitsInputs (with the reason in `note`) for any other VLM, None for a text model.

    Example (`hf` and `model` are a smoke run's: not run as a doctest):
        >>> inputs = logits_inputs(hf.config, "Qwen3VLForConditionalGeneration", "Qwen3VLBridge", model[0], 1024, 2, 32, 0, "cpu")  # doctest: +SKIP
        >>> inputs.note  # doctest: +SKIP
        'logits: text + one image per sequence (...)'
    """
    import torch
    import transformers

    vision = getattr(hf_config, "vision_config", None)
    if vision is None:
        return None
    # Text tokens are drawn from the ids that are none of the config's special ones: a random image or
    # vision-start id would make a placeholder the models fill (or reject) differently from plain text.
    specials = _special_ids(hf_config)
    allowed = torch.tensor([i for i in range(vocab) if i not in specials])
    gen = torch.Generator().manual_seed(seed + 1)
    ids = allowed[torch.randint(0, len(allowed), (batch, seq), generator=gen)]
    hf_forward = getattr(transformers, arch).forward
    mg_forward = type(megatron_model).forward
    wanted = ("pixel_values", "image_grid_thw")
    refusal = mrope_section_mismatch(getattr(megatron_model, "config", None), hf_config, bridge)
    if all(_accepts(hf_forward, n) for n in wanted) and all(_accepts(mg_forward, n) for n in wanted):
        inputs = _grid_image_inputs(hf_config, vision, ids, gen, hf_forward, mg_forward, device)
        inputs.refusal = refusal
        return inputs
    return LogitsInputs(
        refusal=refusal,
        ids=ids.to(device),
        note=(
            f"logits: text only (no image): no image-input builder for {arch}'s vision tower here; text tokens "
            f"clear of the config's {len(specials)} special token ids"
        ),
    )


def _special_ids(hf_config: Any) -> set[int]:
    from codemods.smoke._toy_vision import special_token_ids

    configs = [hf_config.to_dict()]
    text = getattr(hf_config, "text_config", None)
    if text is not None:
        configs.append(text.to_dict())
    return {v for cfg in configs for v in special_token_ids(cfg).values()}


def _grid_image_inputs(
    hf_config: Any, vision: Any, ids: Any, gen: Any, hf_forward: Any, mg_forward: Any, device: str
) -> LogitsInputs:
    """Qwen-style towers: flattened patches, the (t, h, w) grid, placeholders between start / end tokens."""
    import torch

    merge = vision.spatial_merge_size
    # ERNIE 4.5-VL's patches have no temporal depth (its resampler merges frames instead).
    patch, temporal = vision.patch_size, getattr(vision, "temporal_patch_size", 1)
    channels = getattr(vision, "in_channels", None) or getattr(vision, "in_chans", 3)
    grid = (1, _GRID_MERGED[0] * merge, _GRID_MERGED[1] * merge)
    tokens = _GRID_MERGED[0] * _GRID_MERGED[1]
    batch = ids.shape[0]
    image_id = hf_config.image_token_id
    # Qwen names the boundary tokens vision_start / vision_end, GLM-4.5V image_start / image_end.
    start_id = _first_id(hf_config, "vision_start_token_id", "image_start_token_id")
    end_id = _first_id(hf_config, "vision_end_token_id", "image_end_token_id")
    span = [
        *([start_id] if start_id is not None else []),
        *[image_id] * tokens,
        *([end_id] if end_id is not None else []),
    ]
    at = _TEXT_BEFORE_IMAGE
    ids = ids.clone()
    ids[:, at : at + len(span)] = torch.tensor(span)
    patches = grid[0] * grid[1] * grid[2]
    pixel_values = torch.randn(batch * patches, channels * temporal * patch * patch, generator=gen)
    grid_thw = torch.tensor([grid] * batch)
    hf: dict[str, Any] = {"pixel_values": pixel_values.to(device), "image_grid_thw": grid_thw.to(device)}
    megatron = {"pixel_values": pixel_values.to(device), "image_grid_thw": grid_thw.to(device)}
    # transformers >= 5.3 builds the 3-D RoPE positions only when told which tokens are image ones (1); so
    # does GLM-4.5V's Megatron model, which reuses HF's get_rope_index.
    token_types = (ids == image_id).int().to(device)
    # ERNIE 4.5-VL routes its MoE by modality: the same types, with the boundary tokens counted as vision.
    boundary = torch.zeros_like(ids, dtype=torch.bool)
    for token in (start_id, end_id):
        if token is not None:
            boundary |= ids == token
    moe_types = ((ids == image_id) | boundary).int().to(device)
    for forward, extra in ((hf_forward, hf), (mg_forward, megatron)):
        if _accepts(forward, "mm_token_type_ids"):
            extra["mm_token_type_ids"] = token_types
        if _accepts(forward, "moe_mm_token_type_ids"):
            extra["moe_mm_token_type_ids"] = moe_types
    note = (
        f"logits: text + one image per sequence (processor-free: pixel_values {list(pixel_values.shape)}, "
        f"image_grid_thw {list(grid)}, {tokens} image tokens from position {at + (start_id is not None)})"
    )
    first = at + (start_id is not None)
    return LogitsInputs(
        ids=ids.to(device),
        hf=hf,
        megatron=megatron,
        note=note,
        image_tokens=tokens,
        image_span=(first, first + tokens),
    )


def _first_id(config: Any, *keys: str) -> int | None:
    return next((getattr(config, k) for k in keys if isinstance(getattr(config, k, None), int)), None)


def mrope_section_mismatch(model_config: Any, hf_config: Any, bridge: str) -> str | None:
    """One line when the Megatron model's `mrope_section` is not the HF config's (the two then split the
    rotary dimensions differently); None when they agree or either has none."""
    mine = getattr(model_config, "mrope_section", None)
    text = getattr(hf_config, "text_config", None) or hf_config
    rope = getattr(text, "rope_parameters", None) or getattr(text, "rope_scaling", None) or {}
    theirs = rope.get("mrope_section") if isinstance(rope, dict) else None
    if mine is None or theirs is None or list(mine) == list(theirs):
        return None
    return (
        f"{bridge} builds mrope_section {list(mine)} where the HF config says {list(theirs)} (rotary half-dim "
        f"{sum(theirs)}): the bridge does not carry the config's mrope_section over (Megatron-Bridge defect, "
        "bench/results/mb_defects.md)"
    )
