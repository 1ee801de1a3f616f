"""Read a model's Hugging Face config (file, model dir, hub id or transformers default) into a `ModelSpec`.

Nothing here imports torch or transformers at module level: `--from-transformers` and the hub lookup
import transformers / huggingface_hub lazily, and everything else reads plain JSON.
"""

from __future__ import annotations

import os
import re
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analyzers.errors import ConfigError

#: Seconds a hub lookup may take in all before we give up with a clear error (never a hang).
HUB_DEADLINE_S = 20.0
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")

#: Sub-configs that hold the language model's fields, searched after the top level, in this order.
TEXT_CONFIG_KEYS = ("text_config", "llm_config", "language_config", "thinker_config.text_config")
VISION_CONFIG_KEYS = ("vision_config", "vision_tower_config", "visual", "thinker_config.vision_config")
AUDIO_CONFIG_KEYS = ("audio_config", "audio_encoder_config", "thinker_config.audio_config", "speech_config")

#: Canonical architecture field -> the spellings HF configs use for it.
ARCH_FIELDS: dict[str, tuple[str, ...]] = {
    "num_layers": ("num_hidden_layers", "n_layer", "num_layers", "n_layers"),
    "hidden_size": ("hidden_size", "d_model", "n_embd", "dim"),
    "ffn_hidden_size": ("intermediate_size", "ffn_hidden_size", "ffn_dim", "n_inner"),
    "num_attention_heads": ("num_attention_heads", "n_head", "num_heads", "n_heads"),
    "num_key_value_heads": ("num_key_value_heads", "num_kv_heads", "n_kv_heads", "multi_query_group_num"),
    "head_dim": ("head_dim", "kv_channels"),
    "vocab_size": ("vocab_size", "padded_vocab_size"),
    "max_position_embeddings": ("max_position_embeddings", "n_positions", "seq_length", "max_seq_len"),
    "rope_theta": ("rope_theta", "rope_parameters.rope_theta"),
    "rope_scaling_type": ("rope_scaling.rope_type", "rope_scaling.type", "rope_parameters.rope_type"),
    "norm_eps": ("rms_norm_eps", "layer_norm_eps", "layer_norm_epsilon", "norm_eps", "norm_epsilon"),
    "hidden_act": ("hidden_act", "hidden_activation", "activation_function"),
    "attention_bias": ("attention_bias", "qkv_bias", "use_qkv_bias", "add_qkv_bias"),
    "mlp_bias": ("mlp_bias",),
    "sliding_window": ("sliding_window",),
}
VISION_FIELDS: dict[str, tuple[str, ...]] = {
    "model_type": ("model_type",),
    "num_layers": ("depth", "num_hidden_layers", "num_layers"),
    "hidden_size": ("hidden_size", "embed_dim", "width"),
    "ffn_hidden_size": ("intermediate_size",),
    "num_attention_heads": ("num_heads", "num_attention_heads"),
    "patch_size": ("patch_size",),
    "image_size": ("image_size",),
    "out_hidden_size": ("out_hidden_size", "projection_dim"),
    "spatial_merge_size": ("spatial_merge_size",),
}

#: Fields every PretrainedConfig carries (bookkeeping, tokens, generation); never an architecture signal.
GENERIC_FIELDS = frozenset(
    """
    _name_or_path architectures auto_map model_type transformers_version torch_dtype dtype use_cache
    bos_token_id eos_token_id pad_token_id sep_token_id decoder_start_token_id initializer_range
    output_attentions output_hidden_states return_dict chunk_size_feed_forward is_encoder_decoder id2label
    label2id problem_type tie_word_embeddings quantization_config attention_dropout hidden_dropout
    embd_pdrop resid_pdrop attn_pdrop dropout tokenizer_class task_specific_params pretraining_tp
    is_decoder add_cross_attention cross_attention_hidden_size finetuning_task prefix tf_legacy_loss
    use_bfloat16 torchscript pruned_heads tie_encoder_decoder typical_p image_token_id video_token_id
    image_token_index video_token_index vision_start_token_id vision_end_token_id audio_token_id
    boi_token_index eoi_token_index _attn_implementation_autoset router_aux_loss_coef output_router_logits
    keys_to_ignore_at_inference base_model_tp_plan base_model_pp_plan
    """.split()
)


@dataclass(frozen=True)
class FieldValue:
    """One architecture field: its canonical name, the key it was read from, the value and where it lives."""

    name: str
    key: str  #: the spelling found (``rms_norm_eps``; dotted for nested keys)
    value: Any
    where: str  #: "top level", "text_config", "vision_config", ...


@dataclass
class ModelSpec:
    """A model's HF config and where it came from: the input of `inspect`, `nearest` and `coverage`."""

    source: str  #: what the user passed
    origin: str  #: "file" | "dir" | "hub" | "transformers"
    config: dict[str, Any]
    config_path: str | None = None
    #: a local folder that may hold `*.safetensors` / `model.safetensors.index.json`
    model_dir: str | None = None
    #: architectures filled in from transformers' auto mappings (the config had none)
    architectures_inferred: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def model_type(self) -> str:
        return self.config["model_type"]

    @property
    def architectures(self) -> list[str]:
        return list(self.config.get("architectures") or [])

    @property
    def tie_word_embeddings(self) -> bool | None:
        """Read at the top level first: VLM configs keep it there, and export writes it there."""
        if "tie_word_embeddings" in self.config:
            return self.config["tie_word_embeddings"]
        text = self.sub_config(TEXT_CONFIG_KEYS)
        return text[1].get("tie_word_embeddings") if text else None

    def sub_config(self, keys: tuple[str, ...]) -> tuple[str, dict[str, Any]] | None:
        """First of `keys` (dotted for nested) that holds a dict, as (key, dict)."""
        for key in keys:
            value = _lookup(self.config, key)
            if isinstance(value, dict):
                return key, value
        return None

    @property
    def text_config(self) -> dict[str, Any] | None:
        found = self.sub_config(TEXT_CONFIG_KEYS)
        return found[1] if found else None

    @property
    def vision_config(self) -> dict[str, Any] | None:
        found = self.sub_config(VISION_CONFIG_KEYS)
        return found[1] if found else None

    @property
    def audio_config(self) -> dict[str, Any] | None:
        found = self.sub_config(AUDIO_CONFIG_KEYS)
        return found[1] if found else None

    @property
    def kind(self) -> str:
        """ "llm", "vlm", "audio" (speech/audio encoder + LM) or "omni" (vision and audio)."""
        vision, audio = self.vision_config is not None, self.audio_config is not None
        if vision and audio:
            return "omni"
        return "vlm" if vision else "audio" if audio else "llm"

    def get(self, *keys: str) -> FieldValue | None:
        """First of `keys` found at the top level, then in the text sub-config; None when absent or null."""
        scopes = [("top level", self.config)]
        if found := self.sub_config(TEXT_CONFIG_KEYS):
            scopes.append(found)
        for where, scope in scopes:
            for key in keys:
                value = _lookup(scope, key)
                if value is not None:
                    return FieldValue(name=keys[0], key=key, value=value, where=where)
        return None

    def text_fields(self) -> dict[str, Any]:
        """Top-level fields merged with the text sub-config's (the text sub-config wins)."""
        merged = {k: v for k, v in self.config.items() if not isinstance(v, dict)}
        if text := self.text_config:
            merged.update({k: v for k, v in text.items() if not isinstance(v, dict)})
        return merged


def _lookup(scope: dict[str, Any], dotted: str) -> Any:
    value: Any = scope
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def architecture_fields(spec: ModelSpec) -> list[FieldValue]:
    """The language model's architecture fields that the config sets, with where each lives."""
    out = []
    for name, keys in ARCH_FIELDS.items():
        if found := spec.get(*keys):
            out.append(FieldValue(name=name, key=found.key, value=found.value, where=found.where))
    return out


def vision_fields(spec: ModelSpec) -> list[FieldValue]:
    found = spec.sub_config(VISION_CONFIG_KEYS)
    if not found:
        return []
    where, scope = found
    out = []
    for name, keys in VISION_FIELDS.items():
        for key in keys:
            if scope.get(key) is not None:
                out.append(FieldValue(name=name, key=key, value=scope[key], where=where))
                break
    return out


# ---------------------------------------------------------------------------------------------- loading


def load_spec(config: str | None = None, *, from_transformers: str | None = None) -> ModelSpec:
    """Resolve CONFIG (config.json, model dir or hub repo id) or a transformers model type into a ModelSpec.

    >>> spec = load_spec("fixtures/configs/qwen3-8b/config.json")
    >>> spec.model_type, spec.kind
    ('qwen3', 'llm')
    """
    if from_transformers:
        return spec_from_transformers(from_transformers)
    if not config:
        raise ConfigError(
            "give a CONFIG (config.json, model directory or hub repo id) or --from-transformers"
        )
    path = Path(config).expanduser()
    if path.is_dir():
        cfg_path = path / "config.json"
        if not cfg_path.is_file():
            raise ConfigError("model directory has no config.json", path)
        return ModelSpec(
            source=config,
            origin="dir",
            config=read_config(cfg_path),
            config_path=str(cfg_path),
            model_dir=str(path),
        )
    if path.is_file():
        return ModelSpec(source=config, origin="file", config=read_config(path), config_path=str(path))
    if config.endswith(".json") or config.startswith((".", "/", "~")) or not _REPO_ID.match(config):
        raise ConfigError("no such file or directory, and not a hub repo id", config)
    return spec_from_hub(config)


def read_config(path: Path) -> dict[str, Any]:
    """Parse a config.json; one-line ConfigError when unreadable, not JSON, not an object or without model_type."""
    from analyzers.json_limits import read_json_bounded

    return check_config(read_json_bounded(path, "config"), path)


#: fields that, where present (top level or a sub-config), must be positive integers
POSITIVE_INT_FIELDS = (
    "num_hidden_layers",
    "hidden_size",
    "num_attention_heads",
    "num_key_value_heads",
    "intermediate_size",
    "vocab_size",
    "head_dim",
    "num_experts",
    "num_local_experts",
    "n_routed_experts",
)
#: more decoder layers than any model has; names are computed per layer, so the count bounds the work
MAX_LAYERS = 100_000


def check_config(data: Any, path: str | Path) -> dict[str, Any]:
    """One-line ConfigError unless `data` is a config object with sane types (see POSITIVE_INT_FIELDS)."""
    if not isinstance(data, dict):
        raise ConfigError(f"config is a JSON {type(data).__name__}, not an object", path)
    if not isinstance(data.get("model_type"), str) or not data["model_type"]:
        raise ConfigError("config has no model_type", path)
    architectures = data.get("architectures")
    if architectures is not None and (
        not isinstance(architectures, list) or not all(isinstance(a, str) for a in architectures)
    ):
        raise ConfigError(f"architectures {architectures!r} is not a list of class names", path)
    scopes = [("", data)] + [(f"{k}.", v) for k, v in data.items() if isinstance(v, dict)]
    for prefix, scope in scopes:
        for key in POSITIVE_INT_FIELDS:
            value = scope.get(key)
            if value is None or isinstance(value, list | dict):
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ConfigError(f"{prefix}{key} {value!r} is not a positive integer", path)
        layers = scope.get("num_hidden_layers")
        if isinstance(layers, int) and layers > MAX_LAYERS:
            raise ConfigError(
                f"{prefix}num_hidden_layers {layers} is over the {MAX_LAYERS} this tool reads", path
            )
    return data


def spec_from_transformers(model_type: str) -> ModelSpec:
    """The default config of `model_type` from the installed transformers (no network)."""
    try:
        import transformers  # noqa: F401
        from transformers import AutoConfig
    except ImportError:
        raise ConfigError(
            "--from-transformers needs transformers installed (pip install 'bridgesmith[hf]')"
        ) from None
    try:
        cfg = AutoConfig.for_model(model_type)
    except (ValueError, KeyError):
        raise ConfigError(
            f"transformers {transformers.__version__} does not know model_type {model_type!r}"
        ) from None
    data = cfg.to_dict()
    spec = ModelSpec(source=f"transformers:{model_type}", origin="transformers", config=data)
    if not data.get("architectures"):
        if arch := default_architecture(model_type):
            data["architectures"] = [arch]
            spec.architectures_inferred = True
    spec.notes.append(
        f"default config of transformers {transformers.__version__}, not a published checkpoint"
    )
    return spec


def default_architecture(model_type: str) -> str | None:
    """The class transformers' auto mappings pick for a model type (image-text-to-text, then causal LM)."""
    from transformers.models.auto import modeling_auto

    for table in (
        "MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES",
        "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES",
        "MODEL_FOR_MULTIMODAL_LM_MAPPING_NAMES",
        "MODEL_MAPPING_NAMES",
    ):
        names = getattr(modeling_auto, table, {})
        if isinstance(names.get(model_type), str):
            return names[model_type]
    return None


def spec_from_hub(repo_id: str) -> ModelSpec:
    """Resolve `config.json` of a hub repo: the local cache first, then the network unless HF_HUB_OFFLINE is set.

    The whole lookup runs under `HUB_DEADLINE_S`; a missing network or repo is one clear ConfigError.
    """
    os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", "5")
    os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", "10")
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise ConfigError(
            "not a local path, and huggingface_hub is not installed to resolve a repo id", repo_id
        ) from None
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}

    def download(filename: str, local_only: bool) -> str:
        return hf_hub_download(repo_id, filename, local_files_only=local_only)

    try:
        cfg_path = _with_deadline(lambda: download("config.json", True))
    except Exception:  # noqa: BLE001 - any cache miss falls through to the network (or the offline error)
        cfg_path = None
    if cfg_path is None:
        if offline:
            raise ConfigError("not in the local hub cache and HF_HUB_OFFLINE is set", repo_id)
        _check_reachable(repo_id)
        try:
            cfg_path = _with_deadline(lambda: download("config.json", False))
        except TimeoutError:
            raise ConfigError(
                f"hub lookup timed out after {HUB_DEADLINE_S:.0f}s (no network?)", repo_id
            ) from None
        except Exception as exc:  # noqa: BLE001 - huggingface_hub raises many types; all mean "cannot resolve"
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ConfigError(
                f"cannot resolve repo id on the hub: {type(exc).__name__}: {first[:160]}", repo_id
            ) from None
    for extra in ("model.safetensors.index.json",):
        try:  # optional: gives checkpoint names without building the model
            _with_deadline(lambda e=extra: download(e, offline), 10.0)
        except Exception:  # noqa: BLE001, S110 - absent index is normal (single-file checkpoints)
            pass
    path = Path(cfg_path)
    return ModelSpec(
        source=repo_id,
        origin="hub",
        config=read_config(path),
        config_path=str(path),
        model_dir=str(path.parent),
    )


def _check_reachable(repo_id: str) -> None:
    """Fail fast (one TCP connect, 3 s) when the hub endpoint is unreachable, instead of minutes of retries."""
    from urllib.parse import urlsplit

    from huggingface_hub import constants
    from huggingface_hub.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # its retry warnings would bury our one-line error
    url = urlsplit(constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname or "", port), timeout=3).close()
    except OSError as exc:
        raise ConfigError(
            f"not in the local hub cache and {url.hostname} is unreachable ({exc.strerror or exc})", repo_id
        ) from None


def _with_deadline(fn, seconds: float = HUB_DEADLINE_S):
    """Run `fn` in a daemon thread; TimeoutError if it has not returned in `seconds`."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError(seconds)
    if "error" in box:
        raise box["error"]
    return box["value"]


# ---------------------------------------------------------------------------------------------- blocks

MOE_EXPERTS = (
    "num_experts",
    "num_local_experts",
    "n_routed_experts",
    "moe_num_experts",
    "num_routed_experts",
)
MOE_TOPK = ("num_experts_per_tok", "moe_topk", "num_experts_per_token", "moe_k", "top_k")
MOE_FFN = ("moe_intermediate_size", "expert_intermediate_size", "moe_ffn_hidden_size")
MOE_SHARED = (
    "n_shared_experts",
    "num_shared_experts",
    "shared_expert_intermediate_size",
    "moe_shared_expert_intermediate_size",
)
MOE_DENSE = (
    "first_k_dense_replace",
    "mlp_only_layers",
    "decoder_sparse_step",
    "moe_layer_freq",
    "first_k_dense",
)
MLA_FIELDS = ("q_lora_rank", "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim")
MTP_FIELDS = (
    "num_nextn_predict_layers",
    "mtp_num_hidden_layers",
    "num_mtp_layers",
    "mtp_num_layers",
    "n_mtp_layers",
)
QK_NORM_FLAGS = ("use_qk_norm", "qk_layernorm", "qk_norm", "use_qk_layernorm")
LINEAR_ATTN_FIELDS = ("linear_num_value_heads", "linear_num_key_heads", "linear_key_head_dim", "linear_value_head_dim",
                      "linear_conv_kernel_dim", "full_attention_interval")  # fmt: skip
MAMBA_FIELDS = ("ssm_state_size", "mamba_d_state", "mamba_num_heads", "mamba_n_heads", "mamba_head_dim",
                "mamba_d_conv", "hybrid_override_pattern", "layers_block_type", "mamba_expand")  # fmt: skip
SLIDING_FIELDS = ("sliding_window", "sliding_window_pattern", "max_window_layers", "use_sliding_window")

_QK_NORM_NAME = re.compile(
    r"\.(q_norm|k_norm|q_layernorm|k_layernorm|query_layernorm|key_layernorm)\.weight$"
)
_VISION_NAME = re.compile(
    r"(^|\.)(visual|vision_tower|vision_model|vision_encoder|vit|audio_tower|audio_model)\."
)


def _present(fields: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: fields[k] for k in keys if fields.get(k) not in (None, [], {})}


def _layer_types(fields: dict[str, Any]) -> dict[str, int]:
    types = fields.get("layer_types") or fields.get("layers_block_type")
    if not isinstance(types, list):
        return {}
    counts: dict[str, int] = {}
    for item in types:
        counts[str(item)] = counts.get(str(item), 0) + 1
    return counts


def detect_blocks(spec: ModelSpec, names: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Architectural blocks of the language model, each with the config fields that show it.

    Keys: moe, shared_experts, mla, mtp, qk_norm, qkv_bias, gated_mlp, linear_attention, mamba,
    sliding_window, vision, audio. Parameter names (when known) settle what the config cannot say
    (QK norm, QKV bias, gated MLP have no config flag in most families).
    """
    fields = spec.text_fields()
    text_names = [n for n in names or [] if not _VISION_NAME.search(n)]
    blocks: dict[str, dict[str, Any]] = {}
    experts = _present(fields, MOE_EXPERTS)
    if any(isinstance(v, int) and v > 1 for v in experts.values()):
        blocks["moe"] = {**experts, **_present(fields, MOE_TOPK + MOE_FFN + MOE_DENSE)}
        shared = _present(fields, MOE_SHARED)
        if any(v for v in shared.values()):
            blocks["shared_experts"] = shared
    if names is not None and any(".shared_expert" in n for n in text_names):
        blocks.setdefault("shared_experts", {})["names"] = "shared_expert(s) parameters"
    if names is not None and "moe" not in blocks and any(re.search(r"\.experts\.", n) for n in text_names):
        blocks["moe"] = {"names": "experts parameters"}
    if fields.get("kv_lora_rank"):
        blocks["mla"] = _present(fields, MLA_FIELDS)
    mtp = _present(fields, MTP_FIELDS)
    if any(isinstance(v, int) and v > 0 for v in mtp.values()):
        blocks["mtp"] = mtp
    flags = {k: v for k, v in _present(fields, QK_NORM_FLAGS).items() if v}
    if flags or any(_QK_NORM_NAME.search(n) for n in text_names):
        blocks["qk_norm"] = flags or {"names": "q_norm/k_norm parameters"}
    bias = spec.get(*ARCH_FIELDS["attention_bias"])
    if names is not None:
        if any(re.search(r"\.(q_proj|qkv_proj|query_key_value|c_attn|Wqkv)\.bias$", n) for n in text_names):
            blocks["qkv_bias"] = {"names": "q/k/v projection biases"}
    elif bias and bias.value is True:
        blocks["qkv_bias"] = {bias.key: True}
    if names is not None and any(
        re.search(r"\.(gate_proj|gate_up_proj|w1|fc1_gate)(\.weight)?$", n) for n in text_names
    ):
        blocks["gated_mlp"] = {"names": "gate_proj / gate_up_proj parameters"}
    types = _layer_types(fields)
    linear = _present(fields, LINEAR_ATTN_FIELDS)
    if linear or any("linear" in t for t in types):
        blocks["linear_attention"] = {**linear, **({"layer_types": types} if types else {})}
    mamba = _present(fields, MAMBA_FIELDS)
    if mamba or any("mamba" in t.lower() for t in types):
        blocks["mamba"] = {k: (v if not isinstance(v, list) else _count(v)) for k, v in mamba.items()}
    sliding = _present(fields, SLIDING_FIELDS)
    if (
        sliding.get("sliding_window")
        and sliding.get("use_sliding_window") is not False
        or any("sliding" in t for t in types)
    ):
        blocks["sliding_window"] = {**sliding, **({"layer_types": types} if types else {})}
    if vision := spec.sub_config(VISION_CONFIG_KEYS):
        blocks["vision"] = {"config": vision[0], **{f.name: f.value for f in vision_fields(spec)}}
    if audio := spec.sub_config(AUDIO_CONFIG_KEYS):
        blocks["audio"] = {"config": audio[0], "model_type": audio[1].get("model_type")}
    return blocks


def _count(items: list[Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[str(item)] = counts.get(str(item), 0) + 1
    return counts


def config_quantization(spec: ModelSpec) -> dict[str, Any] | None:
    """The config's `quantization_config` (top level or text sub-config), or None."""
    found = spec.get("quantization_config", "compression_config")
    return found.value if found and isinstance(found.value, dict) else None


def unknown_fields(spec: ModelSpec, known: set[str]) -> list[FieldValue]:
    """Config fields of the language model that no bridge reads and CONFIG_MAPPING does not map."""
    out = []
    scopes = [("top level", spec.config)]
    if found := spec.sub_config(TEXT_CONFIG_KEYS):
        scopes.append(found)
    seen = set()
    for where, scope in scopes:
        for key, value in scope.items():
            if (
                key in seen
                or key in known
                or key in GENERIC_FIELDS
                or key.endswith("_token_id")
                or isinstance(value, dict)
            ):
                continue
            seen.add(key)
            out.append(FieldValue(name=key, key=key, value=value, where=where))
    return out
