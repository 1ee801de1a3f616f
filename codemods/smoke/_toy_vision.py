"""Vision-language toys: the fields of a VLM config that must follow the toy's text and vision sizes.

`_toy_config` shrinks the text and vision sizes one by one; a VLM also carries fields tied to them that
would otherwise keep the source's meaning and break the toy (no torch needed):

- `mrope_section` splits the rotary half-dimension into temporal / height / width parts; it must sum to the
  toy's rotary half-dimension (`split_with_sizes expects split_sizes to sum exactly to 64` otherwise);
- layer indexes of the vision tower (`deepstack_visual_indexes`, `fullatt_block_indexes`) must point
  at layers the one-layer toy tower has, and its KV heads must divide its (shrunk) heads;
- the image / video / vision-boundary token ids live on the composite config, outside the text
  vocabulary `_toy_config` remaps, and must be ids of the toy's vocabulary for an image to be fed;
- the tower's weight init: HF's 0.02 on the toy's 64-wide tower keeps pre-activations near 0.3, where
  exact and tanh-approximate GELU agree to 1e-5 (measured: a Qwen3-VL merger on the wrong GELU then
  passed at 7.9e-5 of a 1.35e-4 tolerance); trained towers run at order 1, so the toy's init is
  1 / sqrt(width), unit-variance outputs.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PUBLISHED_MROPE_SECTION", "scaled_sections", "shrink_vision_language", "special_token_ids"]

#: model_type -> the `mrope_section` of the published checkpoints, where transformers' default config
#: does not carry one. Qwen2.5-VL's `Qwen2_5_VLTextConfig()` has none, and its attention reads
#: `rope_parameters["mrope_section"]` unguarded; every published Qwen2.5-VL config.json says [16, 24, 24]
#: (head_dim 128), as does `Qwen25VLModelProvider.mrope_section`. The others are the modeling code's
#: fallback (`config.rope_parameters.get("mrope_section", ...)`), which is also the published value.
PUBLISHED_MROPE_SECTION: dict[str, list[int]] = {
    "qwen2_5_vl": [16, 24, 24],
    "qwen3_vl": [24, 20, 20],
    "qwen3_vl_moe": [24, 20, 20],
    "qwen3_5": [11, 11, 10],
    "qwen3_5_moe": [11, 11, 10],
    "glm4v": [8, 12, 12],
    "glm4v_moe": [8, 12, 12],
    "ernie4_5_vl_moe": [22, 22, 20],
}
#: model_type -> {text_config field: derivation from the toy text config}: fields every published
#: checkpoint's text_config carries that the installed transformers' text config class does not define,
#: but the family's bridge reads unguarded (as `_toy_config._PUBLISHED_FIELDS`, one level down).
PUBLISHED_TEXT_FIELDS: dict[str, dict[str, Any]] = {
    # zai-org/GLM-4.5V config.json: text_config "head_dim": 128, "use_qk_norm": false (Glm4vMoeTextConfig
    # has neither; its attention reads getattr(config, "head_dim", hidden // heads) and has no q/k norm).
    # GLM45VBridge.provider_bridge reads both unguarded. The toy's head size is its hidden / heads.
    "glm4v_moe": {
        "head_dim": lambda text: text["hidden_size"] // text["num_attention_heads"],
        "use_qk_norm": lambda text: False,
    },
}
#: model_type -> {vision_config field: value} of the published checkpoints where transformers' default
#: vision config differs in structure.
PUBLISHED_VISION_FIELDS: dict[str, dict[str, Any]] = {
    # google/gemma-3-*-it config.json: vision_config "vision_use_head": false (SiglipVisionConfig defaults to
    # True, a pooling head Gemma 3 never runs and Gemma3VLModel never builds).
    "gemma3": {"vision_use_head": False},
}
#: Vision-tower layer-index fields: each index must name a layer of the toy tower.
_VISION_LAYER_INDEXES = ("deepstack_visual_indexes", "fullatt_block_indexes")
_VISION_DEPTH_KEYS = ("depth", "num_hidden_layers", "num_layers")


def shrink_vision_language(source: dict[str, Any], toy: dict[str, Any]) -> None:
    """Make `toy` (already shrunk by `_toy_config`) a consistent VLM toy, in place; no-op for text models."""
    if not isinstance(toy.get("vision_config"), dict):
        return
    model_type = str(source.get("model_type"))
    for key, derive in PUBLISHED_TEXT_FIELDS.get(model_type, {}).items():
        _text(toy).setdefault(key, derive(_text(toy)))
    for key, value in PUBLISHED_VISION_FIELDS.get(model_type, {}).items():
        toy["vision_config"][key] = value
    _per_modality_sizes(_text(source), _text(toy))
    _scale_hidden_linked(source, toy)
    _scale_mrope_section(source, toy)
    _vision_layer_indexes(source["vision_config"], toy["vision_config"])
    _vision_kv_heads(source["vision_config"], toy["vision_config"])
    _remap_special_tokens(toy)
    _unit_variance_init(toy["vision_config"])


def _text(cfg: dict[str, Any]) -> dict[str, Any]:
    return cfg["text_config"] if isinstance(cfg.get("text_config"), dict) else cfg


def _rope(cfg: dict[str, Any]) -> dict[str, Any] | None:
    for key in ("rope_parameters", "rope_scaling"):
        if isinstance(cfg.get(key), dict):
            return cfg[key]
    return None


def _rotary_half(cfg: dict[str, Any]) -> int | None:
    """Half the rotary dimension of `cfg`'s attention: head_dim x partial_rotary_factor / 2."""
    head = cfg.get("head_dim")
    if not isinstance(head, int):
        hidden, heads = cfg.get("hidden_size"), cfg.get("num_attention_heads")
        if not isinstance(hidden, int) or not isinstance(heads, int) or heads == 0:
            return None
        head = hidden // heads
    rope = _rope(cfg) or {}
    factor = rope.get("partial_rotary_factor", cfg.get("partial_rotary_factor", 1.0)) or 1.0
    return int(head * factor) // 2


def scaled_sections(sections: list[int], total: int) -> list[int]:
    """`sections` scaled to sum to `total`, proportions kept (largest remainder, ties to the first).

    Example:
        >>> scaled_sections([16, 24, 24], 32)
        [8, 12, 12]
        >>> scaled_sections([11, 11, 10], 8)
        [3, 3, 2]
    """
    whole = sum(sections)
    exact = [s * total / whole for s in sections]
    out = [int(x) for x in exact]
    order = sorted(range(len(out)), key=lambda i: (-(exact[i] - out[i]), i))
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


def _scale_mrope_section(source: dict[str, Any], toy: dict[str, Any]) -> None:
    src_text, toy_text = _text(source), _text(toy)
    src_rope = _rope(src_text)
    section = (src_rope or {}).get("mrope_section") or PUBLISHED_MROPE_SECTION.get(
        str(source.get("model_type"))
    )
    if not section:
        return
    half = _rotary_half(toy_text)
    if half is None:
        return
    toy_rope = _rope(toy_text)
    if toy_rope is None:
        toy_rope = toy_text["rope_parameters"] = {}
    else:
        toy_rope = dict(toy_rope)  # the shrunk dict shares the source's nested dicts
        toy_text["rope_parameters" if "rope_parameters" in toy_text else "rope_scaling"] = toy_rope
    toy_rope["mrope_section"] = scaled_sections(list(section), half)


def _vision_layer_indexes(source: dict[str, Any], toy: dict[str, Any]) -> None:
    """Indexes past the toy tower's depth are dropped; an index list left empty keeps one entry, the last
    toy layer, where the source had any (a Qwen3-VL deepstack merger reads the toy's only layer)."""
    depth = next((toy[k] for k in _VISION_DEPTH_KEYS if isinstance(toy.get(k), int)), None)
    if depth is None:
        return
    for key in _VISION_LAYER_INDEXES:
        value = source.get(key)
        if not isinstance(value, list):
            continue
        kept = [i for i in value if isinstance(i, int) and i < depth]
        if not kept and value and key == "deepstack_visual_indexes":
            kept = [depth - 1]
        toy[key] = kept


def _scale_hidden_linked(source: dict[str, Any], toy: dict[str, Any]) -> None:
    """Composite-config widths given as a multiple of the text width shrink with it (MiniMax-M3-VL: a
    `projector_hidden_size` of 1 x and a `merged_hidden_size` of spatial_merge^2 x the text hidden size;
    HF builds the merger from the config value, the bridge from the text width, so both must agree)."""
    width, toy_width = _text(source).get("hidden_size"), _text(toy).get("hidden_size")
    if not isinstance(width, int) or not isinstance(toy_width, int) or width <= 0:
        return
    for key, value in source.items():
        if key.endswith("hidden_size") and _is_id(value) and value > 0 and value % width == 0:
            toy[key] = toy_width * (value // width)


def _per_modality_sizes(source: dict[str, Any], toy: dict[str, Any]) -> None:
    """A size `_toy_config` set to one toy int where the source has one per modality (ERNIE 4.5-VL's
    `moe_intermediate_size: [1536, 512]`, text then vision experts) becomes a list again: the first entry
    the toy size, the others in the source's proportion (multiples of 16), so the modalities stay distinct."""
    for key, value in source.items():
        toy_value = toy.get(key)
        if not isinstance(value, list) or not isinstance(toy_value, int) or isinstance(toy_value, bool):
            continue
        if not value or not all(isinstance(v, int) and v > 0 for v in value):
            continue
        toy[key] = [toy_value] + [max(16, round(toy_value * v / value[0] / 16) * 16) for v in value[1:]]


def _vision_kv_heads(source: dict[str, Any], toy: dict[str, Any]) -> None:
    """A tower with grouped KV heads under the Qwen name `num_heads` (EXAONE 4.5: 16 heads, 8 KV heads) keeps
    GQA as GQA, as `_toy_config` does for `num_attention_heads`."""
    heads, kv, toy_heads = source.get("num_heads"), source.get("num_key_value_heads"), toy.get("num_heads")
    if not all(isinstance(v, int) for v in (heads, kv, toy_heads)):
        return
    toy["num_key_value_heads"] = toy_heads if kv == heads else max(1, toy_heads // 2)


def _unit_variance_init(vision: dict[str, Any]) -> None:
    width = vision.get("hidden_size")
    if isinstance(vision.get("initializer_range"), float) and isinstance(width, int) and width > 0:
        vision["initializer_range"] = width**-0.5


def special_token_ids(cfg: dict[str, Any]) -> dict[str, int]:
    """The composite config's own token ids (image, video, vision start / end, ...), by key."""
    return {key: value for key, value in cfg.items() if _is_token_key(key) and _is_id(value)}


def _is_token_key(key: str) -> bool:
    return key.endswith(("_token_id", "_token_index", "_token_ids"))


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _ids_in_use(cfg: dict[str, Any], vocab: int) -> set[int]:
    out: set[int] = set()
    for key, value in cfg.items():
        if _is_token_key(key):
            values = value if isinstance(value, list) else [value]
            out.update(v for v in values if _is_id(v) and 0 <= v < vocab)
    return out


def _remap_special_tokens(toy: dict[str, Any]) -> None:
    """Ids at or past the toy vocabulary move to distinct free ids at its top (below those in use)."""
    vocab = _text(toy).get("vocab_size") or toy.get("vocab_size")
    if not isinstance(vocab, int):
        return
    used = _ids_in_use(toy, vocab) | _ids_in_use(_text(toy), vocab)
    free = (i for i in range(vocab - 1, -1, -1) if i not in used)
    assigned: dict[int, int] = {}
    for key, value in special_token_ids(toy).items():
        if value >= vocab:
            if value not in assigned:
                assigned[value] = next(free)
            toy[key] = assigned[value]
