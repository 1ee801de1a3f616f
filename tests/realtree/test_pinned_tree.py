"""The bundled default cannot be damaged: a write into the cached pinned tree is undone on the next call."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analyzers.realtree import MARKER, cache_dir, ensure_tree, tree_dir

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache of its own holding a copy of the pinned wheel (no download), so the shared tree stays put."""
    shared = ensure_tree()
    wheel = next((cache_dir() / "wheels").glob("megatron_bridge-*.whl"))
    monkeypatch.setenv("BRIDGESMITH_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache" / "wheels").mkdir(parents=True)
    shutil.copyfile(wheel, tmp_path / "cache" / "wheels" / wheel.name)
    assert shared != tree_dir()
    return tmp_path / "cache"


def test_a_write_into_the_pinned_tree_is_undone(own_cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = ensure_tree()
    bridge = root / "src/megatron/bridge/models/qwen/qwen3_bridge.py"
    original = bridge.read_bytes()
    bridge.write_bytes(original + b"\n# edited\n")
    (root / "src/megatron/bridge/models/qwen/qwen4_bridge.py").write_text("x = 1\n")
    assert ensure_tree() == root
    assert "the pinned tree was changed; unpacking it again" in capsys.readouterr().err
    assert bridge.read_bytes() == original
    assert not (root / "src/megatron/bridge/models/qwen/qwen4_bridge.py").exists()
    assert "content" in json.loads((root / MARKER).read_text())
    ensure_tree()
    assert capsys.readouterr().err == ""  # intact: nothing to say


def test_applying_the_readme_command_without_dry_run_leaves_the_default_intact(own_cache: Path) -> None:
    env = {**os.environ, "BRIDGESMITH_CACHE": str(own_cache)}
    root = subprocess.run(
        [sys.executable, "-m", "analyzers", "fetch-tree"], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    clone = subprocess.run(
        [sys.executable, "-m", "codemods", "clone-family", "qwen3", "qwen4", "--repo", root],
        env=env, cwd=PROJECT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert clone.returncode == 0, clone.stderr
    assert list(Path(root).rglob("qwen4_bridge.py"))  # it did write into the cached tree
    again = subprocess.run(
        [sys.executable, "-m", "analyzers", "fetch-tree"], env=env, capture_output=True, text=True, check=True
    )
    assert again.stdout.strip() == root
    assert not list(Path(root).rglob("qwen4*"))


def test_fetches_running_at_once_each_get_the_whole_tree(own_cache: Path) -> None:
    # tox runs its environments in parallel: each one's `fetch-tree` may unpack into the same empty cache
    env = {**os.environ, "BRIDGESMITH_CACHE": str(own_cache), "PYTHONPATH": str(PROJECT)}
    fetches = [
        subprocess.Popen(
            [sys.executable, "-m", "analyzers", "fetch-tree"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for _ in range(3)
    ]
    results = [(f.wait(timeout=300), *f.communicate()) for f in fetches]
    assert [(code, out.strip(), err) for code, out, err in results] == [(0, str(tree_dir()), "")] * 3
    assert ensure_tree() == tree_dir() and (tree_dir() / MARKER).is_file()
    assert sorted(p.name for p in tree_dir().parent.iterdir()) == [tree_dir().name]  # no staging left
