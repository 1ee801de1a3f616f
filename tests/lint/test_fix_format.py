"""`--fix` output passes the tree's own ruff configuration; under pre-commit it writes only staged files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analyzers.ruff_binary import ruff_binary

PROJECT = Path(__file__).resolve().parents[2]
MODELS_INIT = "src/megatron/bridge/models/__init__.py"
QWEN3 = "src/megatron/bridge/models/qwen/qwen3_bridge.py"
#: a tree configuration in the style of Megatron-Bridge's ruff.toml (line length, isort sections)
RUFF_TOML = """line-length = 119
target-version = "py310"

[lint]
select = ["F401", "F541", "F841", "I"]

[lint.isort]
known-first-party = ["megatron.bridge"]
known-third-party = ["megatron.core", "megatron", "torch", "transformers"]
"""


def _cli(*args: str, cwd: Path, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "BRIDGESMITH_CACHE": str(cache), "PYTHONPATH": str(PROJECT)}
    return subprocess.run(
        [sys.executable, "-m", "analyzers", "lint", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def _git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@t"
    return subprocess.run(
        ["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def tree(real_tree: Path, tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    shutil.copytree(real_tree / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "ruff.toml").write_text(RUFF_TOML)
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "base")
    return root


def test_fixed_files_pass_the_trees_own_ruff(tree: Path, tmp_path: Path) -> None:
    ruff = ruff_binary()
    assert ruff is not None
    fixed = _cli("--fix", cwd=tree, cache=tmp_path / "cache")
    assert "Fixed " in fixed.stderr, fixed.stderr
    touched = _git(tree, "diff", "--name-only").split()
    assert MODELS_INIT in touched
    # Only the files the fixes touch change.
    assert len(touched) == len({p for p in touched if p.endswith("__init__.py")})
    fmt = subprocess.run([ruff, "format", "--check", *touched], cwd=tree, capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    check = subprocess.run([ruff, "check", "--no-cache", *touched], cwd=tree, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    assert max(len(line) for p in touched for line in (tree / p).read_text().splitlines()) <= 119


def test_pre_commit_fix_leaves_unstaged_files_alone(tree: Path, tmp_path: Path) -> None:
    bridge = tree / QWEN3
    bridge.write_text(bridge.read_text() + "\n_EDIT = 1\n")
    _git(tree, "add", QWEN3)
    before = (tree / MODELS_INIT).read_text()
    out = _cli("--pre-commit", "--fix", QWEN3, cwd=tree, cache=tmp_path / "cache")
    assert out.returncode == 1  # the finding stays
    assert f"it would edit {MODELS_INIT}, which is not staged" in out.stderr
    assert (tree / MODELS_INIT).read_text() == before
    assert _git(tree, "diff", "--name-only").split() == []
