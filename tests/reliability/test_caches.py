"""Caches never lie or crash: ctime in the stat index, any damaged cache file discarded with one warning
line and rebuilt, the transformers class cache checked by type and ignored by --no-cache."""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import pytest

from analyzers import pickle_store
from analyzers.catalog import build_catalog
from analyzers.cli import main

QWEN3 = "src/megatron/bridge/models/qwen/qwen3_bridge.py"


@pytest.fixture
def tree(real_tree: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "tree"
    shutil.copytree(real_tree / "src", dest / "src", ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def test_same_size_edit_with_the_mtime_restored_is_seen(tree: Path, own_cache: Path) -> None:
    # the copy keeps the wheel's old mtimes: every file is indexed on the first build
    assert build_catalog(tree).bridge("Qwen3Bridge").registrations[0].model_type == "qwen3"
    bridge = tree / QWEN3
    st = bridge.stat()
    text = bridge.read_text()
    assert 'model_type="qwen3"' in text
    bridge.write_text(text.replace('model_type="qwen3"', 'model_type="qwen9"'))
    os.utime(bridge, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert bridge.stat().st_size == st.st_size and bridge.stat().st_mtime_ns == st.st_mtime_ns
    assert build_catalog(tree).bridge("Qwen3Bridge").registrations[0].model_type == "qwen9"


def _damages(data: bytes, rng: random.Random) -> list[bytes]:
    flipped = []
    for _ in range(12):
        at = rng.randrange(max(1, len(data) - 8))
        flipped.append(data[:at] + bytes(rng.randrange(256) for _ in range(8)) + data[at + 8 :])
    return [b"\x80\x63" + data[2:], data[: len(data) // 2], b"", b"\x80\x05N.", *flipped]


def test_damaged_cache_files_are_discarded_with_one_line_and_rebuilt(
    tree: Path, own_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["catalog", "--repo", str(tree), "--format", "json"]
    assert main(args) == 0
    clean = json.loads(capsys.readouterr().out)
    assert main(["lint", "--repo", str(tree), "--exit-zero"]) == 0
    capsys.readouterr()
    files = sorted(p for p in own_cache.rglob("*.pickle"))
    assert len(files) >= 3
    rng = random.Random(14)
    originals = {p: p.read_bytes() for p in files}
    for path, data in originals.items():
        for damaged in _damages(data, rng):
            path.write_bytes(damaged)
            code = main(args)
            out, err = capsys.readouterr()
            assert code == 0, err
            assert json.loads(out) == clean
            for line in err.splitlines():
                assert line.startswith(f"warning: {own_cache}/") and line.endswith("; rebuilding it")
            path.write_bytes(data)


def test_lint_with_a_damaged_lint_cache_finds_the_same(
    tree: Path, own_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["lint", "--repo", str(tree), "--format", "json", "--exit-zero"]
    assert main(args) == 0
    clean = capsys.readouterr().out
    for path in own_cache.rglob("*.pickle"):
        path.write_bytes(b"\x80\x63" + path.read_bytes()[2:])
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert out == clean
    assert err.count("unreadable cache discarded") >= 1


@pytest.mark.hf
def test_transformers_class_cache_checked_by_type_and_skipped_by_no_cache(
    own_cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("transformers")
    from analyzers import transformers_source as ts

    tdir = ts.transformers_dir()
    ts.class_folders.cache_clear()
    real = ts.class_folders(tdir)
    assert real["Qwen3ForCausalLM"] == "qwen3"
    cached = ts._index_path(tdir)
    for poison in ("[]", '{"Qwen3ForCausalLM": 3}', "{", "\xff"):
        cached.write_text(poison)
        ts.class_folders.cache_clear()
        assert ts.class_folders(tdir) == real
        assert capsys.readouterr().err.startswith(f"warning: {cached}: unreadable cache discarded (")
    cached.write_text(json.dumps({**real, "Qwen3ForCausalLM": "bogus"}))
    ts.class_folders.cache_clear()
    assert ts.class_folders(tdir)["Qwen3ForCausalLM"] == "bogus"  # a valid cache is trusted...
    monkeypatch.setattr(pickle_store, "_disabled", True)
    ts.class_folders.cache_clear()
    assert ts.class_folders(tdir)["Qwen3ForCausalLM"] == "qwen3"  # ...but not under --no-cache
    ts.class_folders.cache_clear()
