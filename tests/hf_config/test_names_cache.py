"""HF names built from transformers are cached per config digest: a changed config gets fresh names, a
damaged entry is discarded and rebuilt, --no-cache reads and writes nothing, and a cached run imports
neither torch nor transformers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from analyzers.hf_config import ModelSpec, load_spec
from analyzers.hf_names import NamesUnavailable, collect_hf_names
from analyzers.pickle_store import caches_off

CONFIGS = Path(__file__).resolve().parents[2] / "fixtures" / "configs"
PROJECT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.hf


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BRIDGESMITH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "hf_names"


def _toy_qwen3(tmp_path: Path, layers: int) -> Path:
    """The published Qwen3-8B config with `layers` decoder layers (a config file, no checkpoint beside it)."""
    config = json.loads((CONFIGS / "qwen3-8b" / "config.json").read_text())
    config["num_hidden_layers"] = layers
    path = tmp_path / f"qwen3-{layers}.json"
    path.write_text(json.dumps(config))
    return path


def test_a_second_build_comes_from_the_cache_and_imports_neither_torch_nor_transformers(
    tmp_path: Path, cache: Path
) -> None:
    config = _toy_qwen3(tmp_path, 2)
    first = collect_hf_names(load_spec(str(config)))
    assert first.source == "transformers" and len(list(cache.glob("*.pickle"))) == 1
    probe = (
        "import sys; from analyzers.hf_config import load_spec; from analyzers.hf_names import collect_hf_names; "
        f"n = collect_hf_names(load_spec({str(config)!r})); "
        "print(len(n.names), 'torch' in sys.modules, 'transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={"BRIDGESMITH_CACHE": str(cache.parent), "PYTHONPATH": str(PROJECT),
                              "PATH": "/usr/bin:/bin"})  # fmt: skip
    assert out.stdout.split() == [str(len(first.names)), "False", "False"]


def test_a_changed_config_gets_fresh_names(tmp_path: Path, cache: Path) -> None:
    two = collect_hf_names(load_spec(str(_toy_qwen3(tmp_path, 2))))
    three = collect_hf_names(load_spec(str(_toy_qwen3(tmp_path, 3))))
    assert "model.layers.2.self_attn.q_proj.weight" not in two.shapes
    assert "model.layers.2.self_attn.q_proj.weight" in three.shapes
    assert len(list(cache.glob("*.pickle"))) == 2


def test_a_damaged_entry_is_discarded_and_rebuilt(
    tmp_path: Path, cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _toy_qwen3(tmp_path, 2)
    clean = collect_hf_names(load_spec(str(config)))
    (entry,) = cache.glob("*.pickle")
    data = entry.read_bytes()
    for damaged in (data[: len(data) // 2], b"\x80\x05N.", b"not a pickle"):
        entry.write_bytes(damaged)
        again = collect_hf_names(load_spec(str(config)))
        assert again.shapes == clean.shapes
        err = capsys.readouterr().err
        if damaged != b"\x80\x05N.":  # a valid pickle of the wrong shape is only a miss
            assert "unreadable cache discarded" in err and err.count("\n") == 1
        assert entry.read_bytes() != damaged  # rewritten by the rebuild


def test_no_cache_neither_reads_nor_writes(tmp_path: Path, cache: Path) -> None:
    with caches_off():
        names = collect_hf_names(load_spec(str(_toy_qwen3(tmp_path, 2))))
    assert names.names and not cache.exists()


def test_names_unavailable_is_replayed_with_its_reason(cache: Path) -> None:
    spec = ModelSpec(source="x", origin="file", config={"model_type": "kimi_k2", "architectures": ["X"]})
    for _ in range(2):
        with pytest.raises(NamesUnavailable, match="does not know model_type 'kimi_k2'"):
            collect_hf_names(spec)
    assert len(list(cache.glob("*.pickle"))) == 1
