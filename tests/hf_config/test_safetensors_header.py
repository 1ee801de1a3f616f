"""Header-only reading of real safetensors files written here: FP8 and scale keys, and broken files."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from analyzers.errors import ConfigError
from analyzers.safetensors_header import MAX_HEADER_BYTES, read_header, summarize


def write_raw(path: Path, header: dict, data: bytes) -> Path:
    """Write a safetensors file by hand: 8-byte little-endian length, JSON header, then the data bytes."""
    blob = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(blob)) + blob + data)
    return path


@pytest.mark.hf
def test_fp8_checkpoint_written_by_safetensors(tmp_path: Path) -> None:
    import torch
    from safetensors.torch import save_file

    weight = torch.randn(256, 128).to(torch.float8_e4m3fn)
    tensors = {
        "model.layers.0.self_attn.q_proj.weight": weight,
        "model.layers.0.self_attn.q_proj.weight_scale_inv": torch.ones(2, 1),
        "model.layers.0.mlp.experts.gate_up_proj_blocks": torch.zeros(4, 8, 16, dtype=torch.uint8),
        "model.layers.0.mlp.experts.gate_up_proj_scales": torch.zeros(4, 8, dtype=torch.uint8),
        "model.layers.0.input_layernorm.weight": torch.ones(128, dtype=torch.bfloat16),
        "model.layers.0.mlp.down_proj.weight_scale": torch.ones(1).to(torch.float8_e8m0fnu),
    }
    path = tmp_path / "model.safetensors"
    save_file(tensors, str(path), metadata={"format": "pt"})

    header = read_header(path)
    by_name = {t.name: t for t in header.tensors}
    assert by_name["model.layers.0.self_attn.q_proj.weight"].dtype == "float8_e4m3fn"
    assert by_name["model.layers.0.self_attn.q_proj.weight"].shape == (256, 128)
    assert by_name["model.layers.0.mlp.down_proj.weight_scale"].dtype == "float8_e8m0fnu"
    assert header.metadata == {"format": "pt"}

    summary = summarize([header])
    assert summary.tensors == 6
    assert summary.dtypes == {
        "bfloat16": 1,
        "float32": 1,
        "float8_e4m3fn": 1,
        "float8_e8m0fnu": 1,
        "uint8": 2,
    }
    assert summary.scale_keys == {"_blocks": 1, "_scale": 1, "_scale_inv": 1, "_scales": 1}
    assert summary.quantized


def test_plain_bf16_file_is_not_quantized(tmp_path: Path) -> None:
    header = {"a.weight": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [0, 8]}}
    summary = summarize([read_header(write_raw(tmp_path / "m.safetensors", header, b"\0" * 8))])
    assert summary.dtypes == {"bfloat16": 1}
    assert not summary.quantized


def test_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "short.safetensors"
    path.write_bytes(b"\x10\x00\x00")
    with pytest.raises(ConfigError, match="shorter than the 8-byte header length"):
        read_header(path)


def test_header_cut_off_mid_json(tmp_path: Path) -> None:
    full = tmp_path / "full.safetensors"
    write_raw(full, {"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4)
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(full.read_bytes()[:30])
    with pytest.raises(ConfigError, match="runs past the end of the file"):
        read_header(cut)


def test_header_length_lies(tmp_path: Path) -> None:
    path = tmp_path / "liar.safetensors"
    blob = b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}'
    path.write_bytes(struct.pack("<Q", 5000) + blob + b"\0" * 4)
    with pytest.raises(ConfigError) as info:
        read_header(path)
    assert (
        str(info.value)
        == f"{path}: header length 5000 runs past the end of the file ({8 + len(blob) + 4} bytes)"
    )


def test_header_length_over_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.safetensors"
    path.write_bytes(struct.pack("<Q", MAX_HEADER_BYTES + 1) + b"{}")
    with pytest.raises(ConfigError, match="exceeds the 104857600-byte limit"):
        read_header(path)


def test_header_not_json(tmp_path: Path) -> None:
    path = tmp_path / "garbage.safetensors"
    path.write_bytes(struct.pack("<Q", 6) + b"nope!!" + b"\0" * 4)
    with pytest.raises(ConfigError, match="header is not valid JSON"):
        read_header(path)


def test_offsets_beyond_data_section(tmp_path: Path) -> None:
    header = {"a.weight": {"dtype": "F32", "shape": [1024], "data_offsets": [0, 4096]}}
    path = write_raw(tmp_path / "m.safetensors", header, b"\0" * 16)
    with pytest.raises(ConfigError, match="outside the 16-byte data section"):
        read_header(path)


def test_entry_without_dtype(tmp_path: Path) -> None:
    path = write_raw(tmp_path / "m.safetensors", {"a": {"shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4)
    with pytest.raises(ConfigError, match="lacks dtype/shape/data_offsets"):
        read_header(path)
