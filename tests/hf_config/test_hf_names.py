"""HF checkpoint names: from local checkpoints (headers / index) and from transformers on the meta device."""

from __future__ import annotations

import json
import shutil
import struct
import sys
from pathlib import Path

import pytest

from analyzers.errors import ConfigError
from analyzers.hf_config import detect_blocks, load_spec
from analyzers.hf_names import collect_hf_names, names_from_checkpoint
from analyzers.safetensors_header import DTYPE_BITS

CONFIGS = Path(__file__).resolve().parents[2] / "fixtures" / "configs"


def write_shard(path: Path, names: dict[str, tuple[str, list[int]]]) -> None:
    header, offset = {}, 0
    for name, (dtype, shape) in names.items():
        size = DTYPE_BITS[dtype] // 8
        for dim in shape:
            size *= dim
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    blob = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(blob)) + blob + b"\0" * offset)


def test_names_from_local_shards_and_index(tmp_path: Path) -> None:
    shutil.copy(CONFIGS / "deepseek-v3" / "config.json", tmp_path / "config.json")
    write_shard(tmp_path / "model-00001-of-00002.safetensors", {
        "model.layers.0.self_attn.q_a_proj.weight": ("F8_E4M3", [4, 8]),
        "model.layers.0.self_attn.q_a_proj.weight_scale_inv": ("F32", [1, 1]),
    })  # fmt: skip
    write_shard(tmp_path / "model-00002-of-00002.safetensors", {"model.norm.weight": ("BF16", [8])})
    spec = load_spec(str(tmp_path))
    names = collect_hf_names(spec)
    assert names.source == "safetensors"
    assert names.names == [
        "model.layers.0.self_attn.q_a_proj.weight",
        "model.layers.0.self_attn.q_a_proj.weight_scale_inv",
        "model.norm.weight",
    ]
    assert names.dtypes["model.layers.0.self_attn.q_a_proj.weight"] == "float8_e4m3fn"
    assert names.shapes["model.layers.0.self_attn.q_a_proj.weight"] == (4, 8)

    # only the index present (shards not downloaded): names, no shapes
    for shard in tmp_path.glob("*.safetensors"):
        shard.unlink()
    (tmp_path / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {}, "weight_map": {"model.norm.weight": "model-00002-of-00002.safetensors"}})
    )
    indexed = names_from_checkpoint(tmp_path)
    assert indexed is not None and indexed.source == "index" and indexed.shapes == {"model.norm.weight": None}


def test_broken_index_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors.index.json").write_text('{"weight_map": 3}')
    with pytest.raises(ConfigError, match="no weight_map object"):
        names_from_checkpoint(tmp_path)


@pytest.mark.hf
def test_moe_experts_come_back_per_expert() -> None:
    """transformers 5 fuses experts in its modules; the checkpoint (and MB's mappings) name each expert."""
    names = collect_hf_names(load_spec(str(CONFIGS / "qwen3-30b-a3b" / "config.json")))
    assert names.source == "transformers" and names.model_class == "Qwen3MoeForCausalLM"
    assert names.module_shapes["model.layers.0.mlp.experts.gate_up_proj"] == (128, 1536, 2048)
    assert names.shapes["model.layers.47.mlp.experts.127.gate_proj.weight"] == (768, 2048)
    assert names.shapes["model.layers.0.mlp.experts.0.down_proj.weight"] == (2048, 768)
    assert not [n for n in names.names if n.endswith("experts.gate_up_proj")]
    # per layer: q/k/v/o, q_norm, k_norm, 2 layernorms, router, 128 experts x 3; plus embed, norm, lm_head
    assert len(names.names) == 48 * (8 + 1 + 128 * 3) + 3


@pytest.mark.hf
def test_tied_embeddings_and_vlm_checkpoint_prefixes() -> None:
    spec = load_spec(str(CONFIGS / "gemma-3-4b-it" / "config.json"))
    names = collect_hf_names(spec)
    assert names.tied == ["lm_head.weight"]
    assert "language_model.lm_head.weight" not in names.shapes
    assert "language_model.model.layers.33.self_attn.q_norm.weight" in names.shapes
    assert not [n for n in names.names if n.startswith("vision_tower.head.")]  # vision_use_head: false
    assert "qk_norm" in detect_blocks(spec, names.names)


@pytest.mark.hf
def test_unknown_model_type_says_why() -> None:
    from analyzers.hf_config import ModelSpec
    from analyzers.hf_names import NamesUnavailable

    spec = ModelSpec(
        source="x",
        origin="file",
        config={"model_type": "kimi_k2", "architectures": ["DeepseekV3ForCausalLM"]},
    )
    with pytest.raises(NamesUnavailable, match="does not know model_type 'kimi_k2'"):
        collect_hf_names(spec)


def test_without_transformers_names_are_unavailable_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from analyzers.hf_names import NamesUnavailable

    monkeypatch.setitem(sys.modules, "transformers", None)  # makes `import transformers` raise ImportError
    with pytest.raises(NamesUnavailable, match="torch/transformers not installed"):
        collect_hf_names(load_spec(str(CONFIGS / "llama-3.1-8b" / "config.json")))


def _forward_names(spec, names: list[str]) -> dict[str, str]:
    """checkpoint name -> the module name `from_pretrained` loads it into (transformers' own forward renaming)."""
    import torch
    from transformers.conversion_mapping import get_model_conversion_mapping
    from transformers.core_model_loading import WeightConverter, rename_source_key
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    from analyzers.coverage import group_names
    from analyzers.hf_names import _model_class

    config = CONFIG_MAPPING[spec.model_type].from_dict(dict(spec.config))
    with torch.device("meta"):
        model = _model_class(spec, spec.model_type)._from_config(config)
    conversions = get_model_conversion_mapping(model)
    renamings = [c for c in conversions if not isinstance(c, WeightConverter)]
    converters = [c for c in conversions if isinstance(c, WeightConverter)]
    meta = model.state_dict()
    firsts = [members[0] for members in group_names(names).values()]  # one name per layer/expert pattern
    return {
        name: rename_source_key(name, renamings, converters, model.base_model_prefix, meta)[0]
        for name in firsts
    }


def _spec(model_type: str):
    return load_spec(None, from_transformers=model_type)


@pytest.mark.hf
def test_qwen2_audio_language_model_is_not_doubled(real_catalog) -> None:
    """The root mapping and the nested Qwen2AudioModel mapping both rename `language_model.model`; reversing
    both gave `language_model.model.model.layers.*` (transformers 5.12.1's own save path does the same)."""
    from analyzers.coverage import coverage

    spec = _spec("qwen2_audio")
    names = collect_hf_names(spec)
    assert names.model_class == "Qwen2AudioForConditionalGeneration"
    assert not [n for n in names.names if ".model.model." in f".{n}"]
    for name in (
        "language_model.model.embed_tokens.weight",
        "language_model.model.layers.31.self_attn.q_proj.bias",
        "language_model.model.norm.weight",
        "language_model.lm_head.weight",
        "audio_tower.layers.31.fc1.weight",
        "multi_modal_projector.linear.weight",
    ):
        assert name in names.shapes, name
    # every checkpoint name loads back into a module of the model, through from_pretrained's renamings
    forward = _forward_names(spec, names.names)
    assert set(forward.values()) <= set(names.module_shapes)
    assert (
        forward["language_model.model.layers.0.mlp.up_proj.weight"]
        == "model.language_model.layers.0.mlp.up_proj.weight"
    )
    # and Megatron-Bridge's registry, written against the published checkpoint, maps them all
    report = coverage(real_catalog, real_catalog.bridge("Qwen2AudioBridge"), names.names)
    assert (report.matched, report.total, report.unused) == (876, 876, [])


@pytest.mark.hf
def test_nemotron_h_embedding_keeps_the_published_spelling(real_catalog) -> None:
    """transformers also loads `backbone.embedding.weight`, but the published checkpoints hold `embeddings`."""
    from analyzers.coverage import coverage

    spec = _spec("nemotron_h")
    names = collect_hf_names(spec)
    assert "backbone.embeddings.weight" in names.shapes
    assert "backbone.embedding.weight" not in names.shapes
    assert "backbone.layers.0.mixer.A_log" in names.shapes
    forward = _forward_names(spec, names.names)
    assert forward["backbone.embeddings.weight"] == "model.embeddings.weight"
    assert set(forward.values()) <= set(names.module_shapes)
    report = coverage(real_catalog, real_catalog.bridge("NemotronHBridge"), names.names)
    assert report.matched == report.total == 41
    assert "backbone.embeddings.weight" not in {u.pattern for u in report.unused}


#: what hf_names gives for V4's indexer -> what the checkpoint and MB's registry hold (20 indexer layers)
V4_INDEXER_GAP = {
    "layers.*.attn.indexer.kv_norm.weight": 20,  # layers.*.attn.indexer.compressor.norm.weight
    "layers.*.attn.indexer.position_bias": 20,  # layers.*.attn.indexer.compressor.ape
    "layers.*.attn.indexer.weights_proj.weight": 20,  # layers.*.attn.indexer.scorer.weights_proj.weight
    "layers.*.attn.indexer.wgate.weight": 20,  # layers.*.attn.indexer.compressor.wgate.weight
    "layers.*.attn.indexer.wkv.weight": 20,  # layers.*.attn.indexer.compressor.wkv.weight
}


@pytest.mark.hf
def test_deepseek_v4_names_are_in_the_bare_upstream_namespace(real_catalog) -> None:
    """V4's renamings are written for the upstream checkpoint, which has no `model.` prefix and paper names
    (`attn.wq_a`, `ffn.experts.*.w1`); the reversal must strip the prefix before undoing them."""
    from analyzers.coverage import coverage

    spec = _spec("deepseek_v4")
    names = collect_hf_names(spec)
    assert names.model_class == "DeepseekV4ForCausalLM"
    top = sorted(n for n in names.names if not n.startswith("layers."))
    assert top == [
        "embed.weight",
        "hc_head_base",
        "hc_head_fn",
        "hc_head_scale",
        "head.weight",
        "norm.weight",
    ]
    for name in (
        "layers.0.attn_norm.weight",
        "layers.0.hc_attn_fn",
        "layers.0.attn.wq_a.weight",
        "layers.0.attn.attn_sink",
        "layers.0.attn.compressor.wkv.weight",  # two capture groups: reversed by hf_names, not by transformers
        "layers.0.attn.compressor.wgate.weight",
        "layers.0.attn.compressor.ape",
        "layers.3.ffn.gate.bias",  # layers 0-2 route by hash (ffn.gate.tid2eid), no bias
        "layers.0.ffn.gate.tid2eid",
        "layers.0.ffn.experts.255.w3.weight",
        "layers.0.ffn.shared_experts.w2.weight",
    ):
        assert name in names.shapes, name
    forward = _forward_names(spec, names.names)
    assert set(forward.values()) <= set(names.module_shapes)

    report = coverage(real_catalog, real_catalog.bridge("DeepSeekV4Bridge"), names.names)
    # Known gap: transformers' forward rules send both `attn.indexer.compressor.*` and `attn.indexer.*` to
    # the flat `self_attn.compressor.indexer.*` module, and the broad `indexer.` rule comes last, so its
    # reverse claims every indexer weight. The checkpoint (and MB's registry) keeps the indexer's own
    # compressor nested and names the scorer: `indexer.compressor.{wkv,wgate,ape,norm}`, `indexer.scorer.`.
    assert {g.pattern: g.count for g in report.unmatched} == V4_INDEXER_GAP
    assert report.total - report.matched == 100  # those 5 weights x 20 indexer layers, nothing else


def test_reverse_patterns_undo_multi_group_renamings() -> None:
    import re

    from analyzers.hf_names import _reverse_patterns

    regex, template = _reverse_patterns(
        r"^layers\.(\d+)\.self_attn\.(.*?)\.wkv\.", r"layers.\1.self_attn.\2.kv_proj."
    )
    assert re.sub(regex, template, "layers.7.self_attn.compressor.kv_proj.weight") == (
        "layers.7.self_attn.compressor.wkv.weight"
    )
    assert not re.search(regex, "layers.7.self_attn.kv_proj.weight")  # the group needs a middle part
    assert _reverse_patterns(r"^a\.(\d+)\.b[xy]", r"a.\1.c") is None  # a character class: not reversible here
    assert _reverse_patterns(r"^(\w+)\.(\d+)\.b", r"\2.\1.b") is None  # groups reordered
