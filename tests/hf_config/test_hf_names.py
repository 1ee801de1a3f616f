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

CONFIGS = Path(__file__).resolve().parents[2] / "fixtures" / "configs"


def write_shard(path: Path, names: dict[str, tuple[str, list[int]]]) -> None:
    header, offset = {}, 0
    for name, (dtype, shape) in names.items():
        size = 1
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
