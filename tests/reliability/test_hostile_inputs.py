"""Bounded work on hostile inputs: link loops, deep or oversized JSON, bad safetensors headers, absurd or
non-numeric layer counts: one line and exit 2, or the same answer as on a sane input."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest

from analyzers.cli import main
from analyzers.hf_config import load_spec
from analyzers.safetensors_header import read_header

CONFIGS = Path(__file__).resolve().parents[2] / "fixtures/configs"
QWEN = "src/megatron/bridge/models/qwen"


def _config(tmp_path: Path, text: str | None = None, **changes: object) -> Path:
    path = tmp_path / "cfg" / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    if text is None:
        data = json.loads((CONFIGS / "qwen3-8b" / "config.json").read_text())
        data.update(changes)
        text = json.dumps(data)
    path.write_text(text)
    return path


def _one_line_error(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    return err.removeprefix("error: ").rstrip("\n")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"num_hidden_layers": float("inf")}, "num_hidden_layers inf is not a positive integer"),
        ({"num_hidden_layers": 1e9}, "num_hidden_layers 1000000000.0 is not a positive integer"),
        ({"num_hidden_layers": -4}, "num_hidden_layers -4 is not a positive integer"),
        ({"num_hidden_layers": "36"}, "num_hidden_layers '36' is not a positive integer"),
        ({"hidden_size": True}, "hidden_size True is not a positive integer"),
        ({"num_hidden_layers": 10**9}, "num_hidden_layers 1000000000 is over the 100000 this tool reads"),
        (
            {"architectures": "Qwen4ForCausalLM"},
            "architectures 'Qwen4ForCausalLM' is not a list of class names",
        ),
        (
            {"text_config": {"num_attention_heads": 0}},
            "text_config.num_attention_heads 0 is not a positive integer",
        ),
    ],
    ids=["inf", "1e9", "negative", "string", "bool", "huge-int", "architectures-string", "sub-config"],
)
def test_bad_numeric_and_typed_fields_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], changes: dict, message: str
) -> None:
    config = _config(tmp_path, **changes)
    assert _one_line_error(["inspect", str(config)], capsys) == f"{config}: {message}"


def test_deeply_nested_config_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, '{"model_type": "qwen3", "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert _one_line_error(["inspect", str(config)], capsys) == (
        f"{config}: config is nested too deeply (more than 64 levels)"
    )
    config = _config(tmp_path, '{"model_type": "qwen3", "x": ' + "[" * 70 + "]" * 70 + "}")
    assert _one_line_error(["inspect", str(config)], capsys) == (
        f"{config}: config is nested too deeply (more than 64 levels)"
    )


def _shard(path: Path, header: dict, data: bytes) -> Path:
    blob = json.dumps(header).encode() if isinstance(header, dict) else header
    path.write_bytes(struct.pack("<Q", len(blob)) + blob + data)
    return path


def test_safetensors_headers_that_lie_are_errors(tmp_path: Path) -> None:
    from analyzers.errors import ConfigError

    overlap = {
        "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
    }
    with pytest.raises(ConfigError, match=r"tensors 'a' and 'b' overlap in the data section"):
        read_header(_shard(tmp_path / "o.safetensors", overlap, b"\0" * 12))
    short = {"a": {"dtype": "BF16", "shape": [4, 4], "data_offsets": [0, 8]}}
    with pytest.raises(ConfigError, match=r"shape \[4, 4\] of BF16 needs 32 bytes, its data_offsets hold 8"):
        read_header(_shard(tmp_path / "s.safetensors", short, b"\0" * 8))
    deep = b'{"a": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    with pytest.raises(ConfigError, match="header is nested too deeply"):
        read_header(_shard(tmp_path / "d.safetensors", deep, b""))
    fine = {
        "a": {"dtype": "F4", "shape": [4, 4], "data_offsets": [0, 8]},
        "b": {"dtype": "U8", "shape": [0], "data_offsets": [8, 8]},
    }
    assert [t.shape for t in read_header(_shard(tmp_path / "f.safetensors", fine, b"\0" * 8)).tensors] == [
        (4, 4),
        (0,),
    ]


def test_a_link_loop_is_not_followed(real_tree: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("BRIDGESMITH_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "tree"
    shutil.copytree(real_tree / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__"))
    args = ["catalog", "--repo", str(root), "--format", "json", "--no-cache"]
    assert main(args) == 0
    clean = json.loads(capsys.readouterr().out)
    (root / QWEN / "loop").symlink_to("..")
    assert main(args) == 0
    looped = json.loads(capsys.readouterr().out)
    assert [b["name"] for b in looped["bridges"]] == [b["name"] for b in clean["bridges"]]
    lint = ["lint", "--repo", str(root), "--format", "json", "--no-cache", "--exit-zero"]
    assert main(lint) == 0
    findings = json.loads(capsys.readouterr().out)
    (root / QWEN / "loop").unlink()
    assert main(lint) == 0
    assert json.loads(capsys.readouterr().out) == findings


@pytest.mark.hf
def test_huge_layer_count_names_from_a_few_layers(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    from analyzers.hf_names import names_from_transformers

    layers = 20_000
    full = names_from_transformers(load_spec(str(CONFIGS / "qwen3-8b")))
    per_layer = [n.removeprefix("model.layers.0.") for n in full.shapes if n.startswith("model.layers.0.")]
    others = [n for n in full.shapes if not n.startswith("model.layers.")]
    huge = names_from_transformers(load_spec(str(_config(tmp_path, num_hidden_layers=layers))))
    assert len(huge.shapes) == len(others) + layers * len(per_layer)
    last = f"model.layers.{layers - 1}."
    assert {n.removeprefix(last) for n in huge.shapes if n.startswith(last)} == set(per_layer)
    assert huge.shapes[f"{last}mlp.down_proj.weight"] == full.shapes["model.layers.0.mlp.down_proj.weight"]
