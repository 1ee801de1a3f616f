"""Shrink an HF model config into a toy of the same block structure (no torch needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from analyzers.errors import ConfigError
from codemods.smoke._toy_vision import shrink_vision_language

__all__ = ["TOY_SIZES", "load_source_config", "toy_config_dict", "toy_layer_count"]

#: key -> toy value, applied only where the source config has the key set (not None).
TOY_SIZES: dict[str, int] = {
    "hidden_size": 256,
    "intermediate_size": 512,
    "moe_intermediate_size": 128,
    # not a routed expert's size: a bridge that gives Megatron that for moe_shared_expert_intermediate_size
    # builds shared experts the toy checkpoint's tensors do not fit
    "shared_expert_intermediate_size": 192,
    "num_attention_heads": 4,
    "head_dim": 64,
    "vocab_size": 1024,
    "max_position_embeddings": 512,
    # MoE
    "num_experts": 4,
    "num_local_experts": 4,
    "n_routed_experts": 4,
    "num_experts_per_tok": 2,
    "moe_topk": 2,
    "n_group": 1,
    "topk_group": 1,
    # MLA
    "q_lora_rank": 64,
    "kv_lora_rank": 32,
    "qk_rope_head_dim": 16,
    "qk_nope_head_dim": 32,
    "v_head_dim": 32,
    # DSA indexer (GLM-5, DeepSeek-V3.2): top-k below the logits check's 32 tokens, so its selection matters
    "index_topk": 8,
    "index_n_heads": 4,
    "index_head_dim": 32,
    # DeepSeek-V4 grouped output projection (o_groups x o_lora_rank)
    "o_lora_rank": 32,
    "o_groups": 2,
    # sliding window
    # shorter than the logits check's 32 tokens, so a window the bridge drops or shifts changes the logits
    "sliding_window": 8,
}

#: Shared-expert counts of configs whose shared MLP is count x the routed experts' size (DeepSeek, GLM-4.5,
#: EXAONE-MoE, HY-V3, ERNIE-4.5-MoE): with one, the shared MLP is one routed expert's size and a bridge that
#: gives Megatron the routed size, or ignores the count, still passes; two shared experts tell them apart.
SHARED_EXPERT_COUNTS = ("n_shared_experts", "num_shared_experts", "moe_num_shared_experts")
TOY_SHARED_EXPERTS = 2
#: fields that give the shared MLP's size outright (the count is not what sizes it then)
SHARED_EXPERT_SIZES = (
    "shared_expert_intermediate_size",
    "moe_shared_expert_intermediate_size",
    "shared_intermediate_size",
)

#: Mamba-2 mixer sizes (Nemotron-H, Falcon-H1), applied only to configs with a Mamba state size (other
#: configs use `chunk_size` for other things). Two heads per group (Nemotron-H's 8 groups) show a
#: head-to-group order the bridge gets wrong. Falcon-H1's scan chunk is below the logits check's 32
#: tokens, so HF's chunked torch scan carries state across chunks; Nemotron-H's stays one chunk because
#: transformers' NemotronH torch path (5.12.1) sums the inter-chunk state over the wrong axis
#: (`states_permuted[:, :, None, ...]).sum(dim=2)`, Mamba2's sums the source chunk) and drifts from its
#: own one-chunk result by 5e-5 at 2 chunks and 3e-3 at 4; the chunk only tiles the kernel's work.
MAMBA_TOY_SIZES: dict[str, int] = {
    "mamba_num_heads": 16,
    "mamba_n_heads": 16,
    "mamba_head_dim": 16,
    "mamba_d_head": 16,
    "ssm_state_size": 16,
    "mamba_d_state": 16,
    "chunk_size": 64,  # Nemotron-H (one chunk, see above)
    "mamba_chunk_size": 16,  # Falcon-H1
}
_MAMBA_MARKERS = ("ssm_state_size", "mamba_d_state")
MAMBA_TOY_TIME_STEP_MIN = 1e-9

#: Keys whose toy value derives from others; see `_derived`.
_LAYER_COUNT_KEYS = ("num_hidden_layers", "num_layers", "n_layer")
_TOKEN_ID_KEYS = ("bos_token_id", "eos_token_id", "pad_token_id", "image_token_id", "image_token_index")
_VISION_SIZES: dict[str, int] = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_attention_heads": 2,
    "num_heads": 2,  # the Qwen-VL towers' name for it
    "num_hidden_layers": 1,
    "depth": 1,
    "out_hidden_size": 256,
    "head_dim": 32,
}


def load_source_config(model: str, config_path: str | None = None) -> dict[str, Any]:
    """The source config as a dict: from `config_path`, from MODEL if it is a path, else transformers' defaults.

    Example:
        >>> load_source_config("qwen3")["model_type"]
        'qwen3'
    """
    path = Path(config_path) if config_path else Path(model)
    if config_path or path.suffix == ".json" or path.is_dir():
        file = path / "config.json" if path.is_dir() else path
        if not file.is_file():
            raise ConfigError("no config.json here", file)
        try:
            data = json.loads(file.read_text())
        except json.JSONDecodeError as exc:
            raise ConfigError(f"not valid JSON ({exc.msg} at line {exc.lineno})", file) from exc
        if not isinstance(data, dict) or "model_type" not in data:
            raise ConfigError("config has no model_type", file)
        return data
    from transformers import AutoConfig

    try:
        config = AutoConfig.for_model(model, **_PUBLISHED_OVERRIDES.get(model, {}))
    except ValueError as exc:
        raise ConfigError(f"transformers has no config class for model_type {model!r}") from exc
    return config.to_dict()


#: model_type -> fields where transformers' default config departs from every published checkpoint of the
#: family in a way that changes the function; the defaults are built with the published values instead.
_PUBLISHED_OVERRIDES: dict[str, dict[str, Any]] = {
    # FalconH1Config defaults to mamba_norm_before_gate=True, which the published checkpoints do not use
    # (Falcon-H1-0.5B, -Tiny and -H1R-7B all say False; Megatron-Core's MambaMixer asserts it), and to unit
    # MuP multipliers, which hide a bridge that drops one. Values of tiiuae/Falcon-H1-0.5B's config.json
    # (Megatron-Bridge's own falcon_h1 unit test); mamba_rms_norm is False there, True in H1R-7B (the True
    # variant passes too, bench/results/smoke_hybrid_cpu.md).
    "falcon_h1": {
        "mamba_norm_before_gate": False,
        "mamba_rms_norm": False,
        "embedding_multiplier": 5.656854249492381,
        "lm_head_multiplier": 0.0390625,
        "key_multiplier": 0.39062499999999994,
        "attention_in_multiplier": 1.0,
        "attention_out_multiplier": 0.9375,
        "ssm_in_multiplier": 1.25,
        "ssm_out_multiplier": 0.23570226039551587,
        "mlp_multipliers": [0.8838834764831844, 0.5859375],
        "ssm_multipliers": [0.3535533905932738, 0.25, 0.3535533905932738, 0.5, 0.3535533905932738],
    },
    # Gemma4Config() has no vision tower (vision_config None: "Gemma4Model.vision_tower will not be
    # initialized"); the published Gemma 4 image-text checkpoints carry one, and Gemma4VLBridge builds it.
    # An empty dict is Gemma4VisionConfig's defaults.
    "gemma4": {"vision_config": {}},
    # DeepSeek-V4 checkpoints apply YaRN (factor 16 over 65536 positions, beta 32/1) on the compressed
    # layers; DeepseekV4Config's defaults give them plain RoPE (its own docstring says "yarn factor=16").
    "deepseek_v4": {
        "rope_parameters": {
            "rope_type": "yarn",
            "factor": 16.0,
            "original_max_position_embeddings": 65536,
            "beta_fast": 32.0,
            "beta_slow": 1.0,
        }
    },
}


#: Integer fields that give a layer period (a toy must hold at least one whole period).
_PERIOD_KEYS = (
    "sliding_window_pattern",
    "full_attention_interval",
    "decoder_sparse_step",
    "no_rope_layer_interval",
    "interleave_moe_layer_step",
    "moe_layer_freq",
)
#: Fewest toy layers: two layers hide NoPE periods and anything that differs between the first layer
#: and later ones (measured: SmolLM3's NoPE layers show only from 4 layers on).
MIN_TOY_LAYERS = 4
#: Most toy layers chosen automatically (a longer period is cut here and the report says so).
MAX_TOY_LAYERS = 16


def _source_layers(cfg: dict[str, Any]) -> int | None:
    for key in _LAYER_COUNT_KEYS:
        if isinstance(cfg.get(key), int) and not isinstance(cfg.get(key), bool):
            return cfg[key]
    return None


def _per_layer_fields(cfg: dict[str, Any]) -> dict[str, list[Any] | str]:
    """Fields that hold one entry per layer (lists, or pattern strings such as `hybrid_override_pattern`)."""
    count = _source_layers(cfg)
    if not count:
        return {}
    return {
        key: value
        for key, value in cfg.items()
        if isinstance(value, list | str)
        and len(value) == count
        and (isinstance(value, list) or key.endswith("pattern"))
    }


def toy_layer_count(cfg: dict[str, Any]) -> int:
    """Layers a toy needs to show every layer kind of `cfg`: each per-layer list's distinct values and
    every period field, at least MIN_TOY_LAYERS and at most MAX_TOY_LAYERS (never more than the source).

    Example:
        >>> toy_layer_count({"num_hidden_layers": 26, "sliding_window_pattern": 6})
        6
    """
    need = MIN_TOY_LAYERS
    for value in _per_layer_fields(cfg).values():
        seen: set[Any] = set()
        distinct = len({json_key(v) for v in value})
        for index, entry in enumerate(value):
            seen.add(json_key(entry))
            if len(seen) == distinct:
                need = max(need, index + 1)
                break
    for key in _PERIOD_KEYS:
        period = cfg.get(key)
        if isinstance(period, int) and not isinstance(period, bool) and period > 1:
            need = max(need, period)
    if isinstance(cfg.get("first_k_dense_replace"), int) and cfg["first_k_dense_replace"] > 0:
        need = max(need, 2)
    source = _source_layers(cfg)
    return min(need, MAX_TOY_LAYERS, source) if source else min(need, MAX_TOY_LAYERS)


def _dense_prefix_layer_types(cfg: dict[str, Any], out: dict[str, Any], num_layers: int) -> None:
    """`mlp_layer_types` says the same as the toy's `first_k_dense_replace`.

    transformers builds the layers from `mlp_layer_types` (GLM-5: `["dense"] * 3 + ["sparse"] * 75`), the
    bridges from `first_k_dense_replace`; cut to the first layers, the list would say 3 dense layers where
    the toy's field says 1, and the two models would differ in layout (measured: GLM-5's layers 1-2 dense in
    HF, MoE in Megatron). Rebuilt only where the source list is exactly that dense prefix.
    """
    kinds, dense = cfg.get("mlp_layer_types"), cfg.get("first_k_dense_replace")
    if not isinstance(kinds, list) or not kinds or not isinstance(dense, int) or not 0 < dense < len(kinds):
        return
    rest = kinds[dense]
    if kinds != ["dense"] * dense + [rest] * (len(kinds) - dense):
        return
    toy_dense = out["first_k_dense_replace"]
    out["mlp_layer_types"] = ["dense"] * toy_dense + [rest] * (num_layers - toy_dense)


def json_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _shrink(cfg: dict[str, Any], sizes: dict[str, int], num_layers: int) -> dict[str, Any]:
    out = dict(cfg)
    for key, value in sizes.items():
        if out.get(key) is not None:
            out[key] = value
    if any(cfg.get(key) is not None for key in _MAMBA_MARKERS):
        for key, value in MAMBA_TOY_SIZES.items():
            if out.get(key) is not None:
                out[key] = value
        if out.get("mamba_d_ssm") is not None:  # Falcon-H1: the SSM width is heads x head size
            out["mamba_d_ssm"] = out["mamba_n_heads"] * out["mamba_d_head"]
        if cfg.get("model_type") == "nemotron_h" and out.get("time_step_min") is not None:
            # transformers' NemotronH torch path (the CPU one) clamps dt at time_step_min, its CUDA path
            # and mamba_ssm's kernels clamp at time_step_limit (0, inf) only; time_step_min is otherwise
            # only the dt_bias init range. A tiny one makes the CPU path compute the kernels' function.
            out["time_step_min"] = MAMBA_TOY_TIME_STEP_MIN
    if cfg.get("intermediate_size") is not None and cfg.get("intermediate_size") == cfg.get("hidden_size"):
        # Square projections (GPT-OSS: 2880 x 2880) take their own branch in some bridges' orientation checks.
        out["intermediate_size"] = out["hidden_size"]
    _scale_linked_sizes(cfg, out)
    if not any(cfg.get(key) for key in SHARED_EXPERT_SIZES):  # Nemotron-H sizes them itself
        for key in SHARED_EXPERT_COUNTS:
            if isinstance(cfg.get(key), int) and not isinstance(cfg.get(key), bool) and cfg[key] > 0:
                out[key] = TOY_SHARED_EXPERTS
    if isinstance(cfg.get("compress_rates"), dict):
        # DeepSeek-V4 compresses every 4 / 128 tokens; 128 never fires within the logits check's 32 tokens.
        out["compress_rates"] = {k: min(v, _MAX_COMPRESS_RATE) for k, v in cfg["compress_rates"].items()}
    heads = out.get("num_attention_heads")
    kv = cfg.get("num_key_value_heads")
    if heads is not None and kv is not None:
        # Keep GQA as GQA and MHA as MHA; 2 KV heads still divide by TP=2.
        out["num_key_value_heads"] = heads if kv == cfg.get("num_attention_heads") else max(1, heads // 2)
    if sizes is TOY_SIZES:  # decoder configs only; a vision tower's None keeps its own meaning
        _fill_unset(out)
    for key, value in _per_layer_fields(cfg).items():
        out[key] = value[:num_layers]  # the source's own first layers keep its pattern
    for key in _LAYER_COUNT_KEYS:
        if isinstance(out.get(key), int):
            out[key] = num_layers
    if isinstance(out.get("first_k_dense_replace"), int) and out["first_k_dense_replace"] > 0:
        out["first_k_dense_replace"] = 1  # one dense layer, the rest MoE
        _dense_prefix_layer_types(cfg, out, num_layers)
    if isinstance(out.get("max_window_layers"), int):
        out["max_window_layers"] = num_layers
    if isinstance(out.get("mlp_only_layers"), list):
        out["mlp_only_layers"] = [i for i in out["mlp_only_layers"] if i < num_layers]
    if out.get("qk_nope_head_dim") is not None and out.get("qk_rope_head_dim") is not None:
        out["qk_head_dim"] = out["qk_nope_head_dim"] + out["qk_rope_head_dim"]
        if "head_dim" in out:
            out["head_dim"] = out["qk_rope_head_dim"]
    if out.get("num_nextn_predict_layers"):
        # transformers builds no MTP modules, so a toy checkpoint could not carry their weights.
        out["num_nextn_predict_layers"] = 0
    vocab = out.get("vocab_size")
    if isinstance(vocab, int):
        for key in _TOKEN_ID_KEYS:
            value = out.get(key)
            if isinstance(value, int) and value >= vocab:
                out[key] = vocab - 1 - _TOKEN_ID_KEYS.index(key)
            elif isinstance(value, list):
                out[key] = [v if v < vocab else vocab - 1 for v in value]
    return out


def _scale_linked_sizes(cfg: dict[str, Any], out: dict[str, Any]) -> None:
    """Sizes tied to a shrunk one shrink with it: a second vocabulary of the same size (Gemma 4's per-layer
    input embeddings), the full-attention head size as the same multiple of head_dim (Gemma 4: 512 = 2 x 256)."""
    vocab = cfg.get("vocab_size")
    for key, value in cfg.items():
        if key != "vocab_size" and "vocab_size" in key and isinstance(value, int) and value == vocab:
            out[key] = out["vocab_size"]
    head, toy_head = cfg.get("head_dim"), out.get("head_dim")
    for key in ("global_head_dim",):
        value = cfg.get(key)
        if (
            isinstance(value, int)
            and isinstance(head, int)
            and isinstance(toy_head, int)
            and value % head == 0
        ):
            out[key] = toy_head * (value // head)


#: Largest toy KV compression rate: two compressed blocks within the logits check's 32 tokens.
_MAX_COMPRESS_RATE = 16


#: Fields some config classes default to None although their model cannot be built without them (the
#: published checkpoints always set them): key -> (toy value, fields of which one must be set for it to apply).
_UNSET_REQUIRED: dict[str, tuple[int | str, tuple[str, ...]]] = {
    # NemotronConfig: `heads // None` in the attention; Nemotron/Minitron checkpoints are GQA (8 KV heads),
    # and GQA also catches a QKV interleave that MHA hides.
    "num_key_value_heads": ("gqa", ("num_attention_heads",)),
    # DeepseekV2Config: `topk(k=None)` in the router; DeepSeek-V2 and V2-Lite route to 6 experts.
    "num_experts_per_tok": (2, ("n_routed_experts", "num_experts", "num_local_experts")),
}


def _fill_unset(out: dict[str, Any]) -> None:
    for key, (value, needs) in _UNSET_REQUIRED.items():
        if key not in out or out[key] is not None or not any(out.get(n) for n in needs):
            continue
        out[key] = max(1, out["num_attention_heads"] // 2) if value == "gqa" else value


def _leading_dense(cfg: dict[str, Any]) -> int:
    kinds = cfg.get("mlp_layer_types") or []
    return next((i for i, kind in enumerate(kinds) if kind != "dense"), len(kinds))


#: model_type -> {field: derivation}: fields the published checkpoints' config.json carries that the
#: installed transformers' config class does not define, but the family's bridge reads. Each is derived
#: from the toy's own fields, so the toy means the same to transformers and to the bridge.
_PUBLISHED_FIELDS: dict[str, dict[str, Any]] = {
    # tencent/Hy3(-preview) config.json: "first_k_dense_replace": 1 (HYV3Config has only mlp_layer_types);
    # HYV3Bridge.provider_bridge builds moe_layer_freq from it.
    "hy_v3": {"first_k_dense_replace": _leading_dense},
    # GLM-5.x config.json carries indexer_rope_interleave (GlmMoeDsaConfig does not; GLM5Bridge reads it
    # unguarded). transformers' GlmMoeDsa indexer applies half-split RoPE, so the toy says False: the
    # function the HF side computes.
    "glm_moe_dsa": {"indexer_rope_interleave": lambda cfg: False},
}


def toy_config_dict(source: dict[str, Any], num_layers: int | None = None) -> dict[str, Any]:
    """A toy config dict of the same structure as `source` (MoE, MLA, QK norm, sliding window, towers).

    Example:
        >>> toy_config_dict({"model_type": "qwen3", "hidden_size": 4096, "num_hidden_layers": 36})["hidden_size"]
        256
    """
    text = source.get("text_config") if isinstance(source.get("text_config"), dict) else source
    layers = num_layers if num_layers is not None else toy_layer_count(text)
    toy = _shrink(source, TOY_SIZES, layers)
    if isinstance(source.get("text_config"), dict):
        toy["text_config"] = _shrink(source["text_config"], TOY_SIZES, layers)
    if isinstance(source.get("vision_config"), dict):
        toy["vision_config"] = _shrink(source["vision_config"], _VISION_SIZES, 1)
    shrink_vision_language(source, toy)
    for key, derive in _PUBLISHED_FIELDS.get(str(source.get("model_type")), {}).items():
        if key not in toy:
            toy[key] = derive(toy)
    for key in ("quantization_config", "auto_map", "_name_or_path", "transformers_version"):
        toy.pop(key, None)
    toy["dtype"] = "bfloat16"
    toy.pop("torch_dtype", None)
    return toy
