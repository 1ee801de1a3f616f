"""Trees and golden-diff checks for the refactor tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from codemods.plan import Plan

PROJECT = Path(__file__).resolve().parents[2]
FIXTURES = PROJECT / "fixtures" / "refactors"
#: our own tests/docs/examples in Megatron-Bridge's shape, laid over the real wheel src
OVERLAY = FIXTURES / "overlay"
RUFF = Path(sys.executable).with_name("ruff")


@pytest.fixture
def tree(real_tree: Path, tmp_path: Path) -> Path:
    """A writable copy of the real wheel src plus the refactor overlay (tests, docs, examples)."""
    dest = tmp_path / "tree"
    shutil.copytree(real_tree / "src", dest / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(OVERLAY, dest, dirs_exist_ok=True)
    return dest


def snapshot(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and ".ruff_cache" not in p.parts
    }


def assert_golden(plan: Plan, case: str) -> None:
    """`plan.preview()` equals fixtures/refactors/<case>/plan.diff (BRIDGESMITH_UPDATE_GOLDEN=1 rewrites it)."""
    golden = FIXTURES / case / "plan.diff"
    actual = plan.preview()
    if os.environ.get("BRIDGESMITH_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual, encoding="utf-8")
    assert actual == golden.read_text(encoding="utf-8")


def ruff_failures(root: Path, paths: list[str]) -> list[str]:
    """Sorted rule codes ruff reports on `paths` (default rules: the wheel tree has no ruff config)."""
    py = [p for p in paths if p.endswith(".py") and (root / p).exists()]
    if not py:
        return []
    result = subprocess.run(
        [str(RUFF), "check", "--no-cache", "--output-format", "concise", *py],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    return sorted(line.split(": ", 1)[1].split()[0] for line in result.stdout.splitlines() if ": " in line)


def compiles(root: Path, paths: list[str]) -> bool:
    py = [str(root / p) for p in paths if p.endswith(".py") and (root / p).exists()]
    result = subprocess.run([sys.executable, "-m", "compileall", "-q", *py], capture_output=True, check=False)
    return result.returncode == 0


def assert_apply_undo(plan: Plan, root: Path) -> None:
    """apply(): compiles, ruff as clean as before; undo(): the tree is back byte for byte."""
    before = snapshot(root)
    touched = [e.path for e in plan.changes]
    ruff_before = ruff_failures(root, touched)
    plan.apply()
    for edit in plan.changes:
        target = root / edit.path
        assert (target.read_text(encoding="utf-8") if target.exists() else None) == edit.after
    assert compiles(root, touched)
    assert ruff_failures(root, touched) == ruff_before
    plan.undo()
    assert snapshot(root) == before
