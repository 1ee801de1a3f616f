"""HF parameter names: the checkpoint names a bridge's mapping registry must cover.

Two sources, best first:

1. A local checkpoint: `model.safetensors.index.json` (names only) or the safetensors headers (names,
   shapes, dtypes), read without loading a tensor.
2. The installed transformers: the model is built from the config on the meta device (no weights, no
   memory) and its state dict names are turned back into checkpoint names with transformers' own
   weight conversions reversed. transformers 5 fuses MoE experts into single tensors in its modules
   (``mlp.experts.gate_up_proj``); checkpoints, and Megatron-Bridge's mappings, use per-expert names
   (``mlp.experts.{i}.gate_proj.weight``). Tied weights (``lm_head.weight``) are left out, as
   `save_pretrained` leaves them out.

torch and transformers are imported lazily, only on the second path. Its result is cached per config
digest (and transformers / torch versions), so a second command on the same config imports neither.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import re
from pathlib import Path
from typing import Any

from analyzers.errors import ConfigError
from analyzers.hf_config import ModelSpec
from analyzers.hf_names_record import HFNames, NamesUnavailable
from analyzers.names_cache import cached_names
from analyzers.safetensors_header import find_safetensors, read_header


def collect_hf_names(spec: ModelSpec, *, prefer_checkpoint: bool = True) -> HFNames:
    """Checkpoint names of `spec`: from its local checkpoint when there is one, else from transformers.

    Raises NamesUnavailable (with the reason) when neither works; ConfigError for a broken checkpoint file.
    """
    if prefer_checkpoint and spec.model_dir:
        if found := names_from_checkpoint(Path(spec.model_dir)):
            return found
    return names_from_transformers(spec)


def names_from_checkpoint(model_dir: Path) -> HFNames | None:
    """Names from safetensors headers (with shapes and dtypes), else from the index file; None when neither."""
    files = find_safetensors(model_dir)
    index = model_dir / "model.safetensors.index.json"
    if files:
        indexed = _index_names(index) if index.is_file() else None
        if indexed is None or {f.name for f in files} >= set(indexed.values()):
            shapes: dict[str, tuple[int, ...] | None] = {}
            dtypes: dict[str, str] = {}
            for path in files:
                for tensor in read_header(path).tensors:
                    shapes[tensor.name] = tensor.shape
                    dtypes[tensor.name] = tensor.dtype
            return HFNames(source="safetensors", shapes=shapes, dtypes=dtypes)
    if index.is_file():
        return HFNames(source="index", shapes=dict.fromkeys(_index_names(index)))
    return None


def _index_names(index: Path) -> dict[str, str]:
    from analyzers.json_limits import read_json_bounded

    data = read_json_bounded(index, "safetensors index")
    weight_map = data.get("weight_map") if isinstance(data, dict) else None
    if not isinstance(weight_map, dict):
        raise ConfigError("safetensors index has no weight_map object", index)
    return {str(k): str(v) for k, v in weight_map.items()}


def transformers_available() -> bool:
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError:
        return False
    return True


def names_from_transformers(spec: ModelSpec) -> HFNames:
    """Build the model on the meta device and return its checkpoint names (per-expert, untied).

    The names (or why there are none) are cached per config digest: building imports torch and
    transformers, most of a warm `clone-family --config` run otherwise.
    """
    return cached_names(spec, _build_names)


def _build_names(spec: ModelSpec) -> HFNames:
    if not transformers_available():
        raise NamesUnavailable(
            "HF parameter names unavailable: torch/transformers not installed (pip install 'bridgesmith[hf]')"
        )
    import torch
    import transformers
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    # transformers' config classes mutate nested sub-config dicts: work on a copy
    data = copy.deepcopy(
        {
            k: v
            for k, v in spec.config.items()
            if k not in {"quantization_config", "auto_map", "compression_config"}
        }
    )
    model_type = data["model_type"]
    scope = data.get("text_config") if isinstance(data.get("text_config"), dict) else data
    if "num_hidden_layers" not in scope:
        scope = data
    layers = scope.get("num_hidden_layers")
    if isinstance(layers, int) and not isinstance(layers, bool) and layers > FEW_LAYERS:
        plan = _layer_plan(scope, layers)
        if plan is not None and plan[0] < layers:
            small, rep = plan
            reduced = copy.deepcopy(data)
            reduced_scope = reduced.get("text_config") if scope is not data else reduced
            _truncate_layers(reduced_scope, layers, small)
            built = _build_names(dataclasses.replace(spec, config=reduced))
            return _extrapolate(built, layers, small, rep)
    if model_type not in CONFIG_MAPPING:
        raise NamesUnavailable(
            f"HF parameter names unavailable: transformers {transformers.__version__} does not know model_type {model_type!r}"
        )
    previous = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"  # building from a config must never reach the network
    try:
        config = CONFIG_MAPPING[model_type].from_dict(data)
        model_cls = _model_class(spec, model_type)
        with torch.device("meta"):
            model = model_cls._from_config(config)
    except NamesUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of a third-party constructor is "names unavailable"
        first = (str(exc).strip().splitlines() or [""])[0][:160]
        raise NamesUnavailable(
            f"HF parameter names unavailable: building {model_type} on the meta device failed: {type(exc).__name__}: {first}"
        ) from None
    finally:
        if previous is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = previous
    state = model.state_dict()
    module_shapes = {k: tuple(v.shape) for k, v in state.items()}
    tied = sorted(k for k in (getattr(model, "all_tied_weights_keys", None) or {}) if k in state)
    for key in tied:
        state.pop(key)
    shapes = _checkpoint_shapes(model, state)
    return HFNames(
        source="transformers",
        shapes=shapes,
        model_class=type(model).__name__,
        module_shapes=module_shapes,
        tied=tied,
    )


#: above this many decoder layers the model is built with FEW_LAYERS and the names are extended by the
#: layer pattern (building 20,000 layers on the meta device took 90 s and 1.4 GB)
FEW_LAYERS = 12
#: per-layer config lists (one entry per decoder layer) that follow a reduced layer count
_PER_LAYER_LISTS = ("layer_types", "mlp_layer_types", "hybrid_override_pattern")
_LAYER_NAME = re.compile(r"(?<![\w])layers\.(\d+)\.")


def _layer_plan(scope: dict[str, Any], layers: int):
    """(layers to build, layer -> the built layer it repeats) for a large layer count, or None when the
    config's layer pattern cannot be reproduced by a few layers (then every layer is built).

    Periodic patterns (`full_attention_interval`, `decoder_sparse_step`, dense-first layers) repeat
    with a period dividing 12 after the first `first_k_dense_replace` layers; an explicit per-layer list
    maps each layer to the first built layer of the same kind.
    """
    first = scope.get("first_k_dense_replace") or 0
    if not isinstance(first, int) or first < 0 or first > FEW_LAYERS:
        return None
    small = min(layers, first + FEW_LAYERS)
    only = scope.get("mlp_only_layers") or []
    if not isinstance(only, list) or any(not isinstance(i, int) for i in only):
        return None
    only_set = set(only)
    kinds: list[Any] | None = None
    for key in _PER_LAYER_LISTS:
        value = scope.get(key)
        if isinstance(value, list | str) and len(value) == layers:
            kinds = list(
                zip(
                    *(
                        scope[k]
                        for k in _PER_LAYER_LISTS
                        if isinstance(scope.get(k), list | str) and len(scope[k]) == layers
                    ),
                    strict=True,
                )
            )
            break

    def kind(j: int) -> tuple:
        return (
            j < first,
            j in only_set,
            kinds[j] if kinds is not None else (j - first) % FEW_LAYERS if j >= first else j,
        )

    reps: dict[tuple, int] = {}
    for i in range(small):
        reps.setdefault(kind(i), i)

    def rep(j: int) -> int | None:
        return j if j < small else reps.get(kind(j))

    if kinds is not None and any(rep(j) is None for j in range(small, layers)):
        return None
    return small, rep


def _truncate_layers(scope: dict[str, Any], layers: int, small: int) -> None:
    scope["num_hidden_layers"] = small
    for key in _PER_LAYER_LISTS:
        value = scope.get(key)
        if isinstance(value, list | str) and len(value) == layers:
            scope[key] = value[:small]
    if isinstance(scope.get("mlp_only_layers"), list):
        scope["mlp_only_layers"] = [i for i in scope["mlp_only_layers"] if i < small]


def _extrapolate(built: HFNames, layers: int, small: int, rep) -> HFNames:
    """`built` (from `small` decoder layers) extended to `layers`: layer j gets layer rep(j)'s names."""

    def extend(shapes: dict[str, Any]) -> dict[str, Any]:
        # the decoder's layer prefix: the one whose highest layer index is small - 1 (a vision tower has its own)
        top: dict[str, int] = {}
        for name in shapes:
            if m := _LAYER_NAME.search(name):
                prefix = name[: m.start()]
                top[prefix] = max(top.get(prefix, -1), int(m.group(1)))
        decoder = {p for p, t in top.items() if t == small - 1}
        per_layer: dict[int, list[tuple[str, str, Any]]] = {}
        out: dict[str, Any] = {}
        for name, shape in shapes.items():
            m = _LAYER_NAME.search(name)
            if m and name[: m.start()] in decoder:
                per_layer.setdefault(int(m.group(1)), []).append((name[: m.start()], name[m.end() :], shape))
            else:
                out[name] = shape
        for j in range(layers):
            for prefix, rest, shape in per_layer.get(rep(j), []):
                out[f"{prefix}layers.{j}.{rest}"] = shape
        return out

    return dataclasses.replace(built, shapes=extend(built.shapes), module_shapes=extend(built.module_shapes))


def _model_class(spec: ModelSpec, model_type: str):
    import transformers

    for arch in spec.architectures:
        cls = getattr(transformers, arch, None)
        if cls is not None and hasattr(cls, "_from_config"):
            return cls
    from analyzers.hf_config import default_architecture

    if (arch := default_architecture(model_type)) and (cls := getattr(transformers, arch, None)) is not None:
        return cls
    raise NamesUnavailable(
        f"HF parameter names unavailable: transformers has no model class for {model_type!r}"
    )


def _checkpoint_shapes(model, state: dict[str, Any]) -> dict[str, tuple[int, ...] | None]:
    """Reverse transformers' load-time weight conversions (expert fusing, renames) on meta tensors.

    transformers' own reversal (`revert_weight_conversion`, what `save_pretrained` runs) is used, on a
    conversion list repaired where its reversal does not give the published names; see
    `_conversions_for_reversal` and `_checkpoint_namespace`.
    """
    try:
        from transformers.core_model_loading import revert_weight_conversion

        conversions = _conversions_for_reversal(model)
        if not conversions:
            return {k: tuple(v.shape) for k, v in state.items()}
        state = _checkpoint_namespace(model, state, conversions)
        # revert_weight_conversion takes the list a `from_pretrained` model carries before the defaults
        model._weight_conversions = conversions
        reverted = revert_weight_conversion(model, dict(state))
    except Exception:  # noqa: BLE001 - older/newer transformers: fall back to the module names
        reverted = state
    return {k: tuple(v.shape) for k, v in reverted.items()}


#: Renamings (source, target) that only accept an older spelling on load: the published checkpoints
#: already hold the module's spelling, so reversing them would invent a name no checkpoint has.
LOAD_ONLY_RENAMINGS: dict[tuple[str, str], str] = {
    # nemotron_h: the published checkpoints (nvidia/Nemotron-H-*, NVIDIA-Nemotron-Nano-*-v2, and the
    # remote-code `NemotronHModel.embeddings` they were saved from) and Megatron-Bridge's registry spell
    # `backbone.embeddings.weight`; transformers also accepts `backbone.embedding.weight` on load.
    ("embedding.weight", "embeddings.weight"): "nemotron_h",
}


def _conversions_for_reversal(model) -> list[Any]:
    """The conversions `from_pretrained` would apply to `model`, repaired so that their reversal is exact.

    Three repairs, each for a reversal transformers 5.12 gets wrong:

    - a sub-model's scoped renaming with the same source pattern as a root renaming is dropped: on load
      the root renaming has already rewritten every key it could match (Qwen2Audio: the root maps
      ``language_model.model`` to ``model.language_model`` and the nested `Qwen2AudioModel` mapping
      renames ``language_model.model`` again; reversing both gives ``language_model.model.model.*``);
    - renamings in `LOAD_ONLY_RENAMINGS` are dropped;
    - a renaming with two or more capture groups (``layers.\\1.self_attn.\\2.kv_proj.``) gets an exact
      reverse; transformers reverses one group only and leaves such names unreversed (DeepSeek-V4).
    """
    from transformers.conversion_mapping import get_model_conversion_mapping
    from transformers.core_model_loading import PrefixChange, WeightConverter

    conversions = [
        c for c in get_model_conversion_mapping(model, add_legacy=False) if not isinstance(c, PrefixChange)
    ]
    root_sources = {
        tuple(c._original_source_patterns)
        for c in conversions
        if not isinstance(c, WeightConverter) and c.scope_prefix is None
    }
    out = []
    for conv in conversions:
        if isinstance(conv, WeightConverter):
            out.append(conv)
            continue
        sources, targets = conv._original_source_patterns, conv._original_target_patterns
        if conv.scope_prefix is not None and tuple(sources) in root_sources:
            continue
        if len(sources) == 1 and len(targets) == 1 and (sources[0], targets[0]) in LOAD_ONLY_RENAMINGS:
            continue
        out.append(_with_exact_reverse(conv))
    return out


def _with_exact_reverse(renaming):
    """`renaming`, or a copy that reverses exactly when its target uses more than one backreference."""
    import re

    from transformers.core_model_loading import WeightRenaming

    if len(renaming._original_source_patterns) != 1 or len(renaming._original_target_patterns) != 1:
        return renaming
    source, target = renaming._original_source_patterns[0], renaming._original_target_patterns[0]
    if len(set(re.findall(r"\\(\d)", target))) < 2:
        return renaming
    reverse = _reverse_patterns(source, target)
    if reverse is None:
        return renaming

    class _ExactlyReversed(WeightRenaming):
        def reverse_transform(self):
            inverse = WeightRenaming(source_patterns=reverse[0], target_patterns=reverse[1])
            inverse.scope_prefix = self.scope_prefix
            inverse.base_model_prefix = self.base_model_prefix
            return inverse

    copy_ = _ExactlyReversed(source_patterns=source, target_patterns=target)
    copy_.scope_prefix = renaming.scope_prefix
    copy_.base_model_prefix = renaming.base_model_prefix
    return copy_


def _reverse_patterns(source: str, target: str) -> tuple[str, str] | None:
    r"""(regex, template) that undo `source` -> `target`; None unless `source` is only literals and groups.

    >>> _reverse_patterns(r"^layers\.(\d+)\.attn\.(.*?)\.wkv\.", r"layers.\1.attn.\2.kv_proj.")
    ('^layers\\.(\\d+)\\.attn\\.(.*?)\\.kv_proj\\.', 'layers.\\1.attn.\\2.wkv.')
    """
    import re

    groups: list[str] = []
    template: list[str] = []
    i, body = 0, source.removeprefix("^").removesuffix("$")
    while i < len(body):
        char = body[i]
        if char == "(":
            depth, j = 1, i + 1
            while j < len(body) and depth:
                depth += {"(": 1, ")": -1}.get(body[j], 0)
                j += 1
            group = body[i:j]
            if group.startswith("(?") or depth:
                return None
            groups.append(group)
            template.append(f"\\{len(groups)}")
            i = j
        elif char == "\\" and i + 1 < len(body) and not body[i + 1].isalnum():
            template.append(body[i + 1])
            i += 2
        elif char in ".-_" or char.isalnum():
            template.append(char)
            i += 1
        else:
            return None
    regex: list[str] = []
    for part in re.split(r"(\\\d)", target):
        if re.fullmatch(r"\\\d", part):
            index = int(part[1]) - 1
            if index >= len(groups):
                return None
            regex.append(groups[index])
        else:
            regex.append(re.escape(part))
    order = [int(n) for n in re.findall(r"\\(\d)", target)]
    if order != sorted(order) or order != list(range(1, len(groups) + 1)):
        return None  # the reverse regex numbers its groups in target order
    anchors = ("^" if source.startswith("^") else "", "$" if source.endswith("$") else "")
    return anchors[0] + "".join(regex) + anchors[1], "".join(template)


def _checkpoint_namespace(model, state: dict[str, Any], conversions: list[Any]) -> dict[str, Any]:
    """`state` with `base_model_prefix` stripped when the renamings are written for the bare namespace.

    Some checkpoints hold the base model's names at the top level (DeepSeek-V4: ``layers.0.attn.*``,
    ``embed.weight``, ``head.weight``) and their renamings are anchored there (``^layers\\.``); on load
    transformers adds the prefix after renaming, but its reversal never strips it. Keep the spelling on
    which the reversed renamings rewrite more names.
    """
    from transformers.core_model_loading import WeightConverter, rename_source_key

    prefix = f"{getattr(model, 'base_model_prefix', '')}."
    if prefix == "." or not any(k.startswith(prefix) for k in state):
        return state
    renamings = [c.reverse_transform() for c in conversions[::-1] if not isinstance(c, WeightConverter)]
    if not renamings:
        return state
    stripped = {k.removeprefix(prefix): v for k, v in state.items()}

    def renamed(keys) -> int:
        return sum(rename_source_key(k, renamings, [])[0] != k for k in keys)

    return stripped if renamed(stripped) > renamed(state) else state
