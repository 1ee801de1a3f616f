"""Trees and golden cases for the refactor tests.

A case is `fixtures/refactors/<case>/`: `before/` (our tests, docs and examples in Megatron-Bridge's shape,
laid over the real tree), `plan.diff` (the plan's preview, Megatron-Bridge sources as digests: `tests/golden.py`) and `after.sha256` (the digest of every file the
plan writes, as `sha256sum` prints them: most are Megatron-Bridge sources, which the repository never holds
copies of). `pytest --update-golden` rewrites `plan.diff` and `after.sha256` from the plans of the run.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from codemods.plan import Plan
from tests.golden import check_golden, plan_golden

PROJECT = Path(__file__).resolve().parents[2]
FIXTURES = PROJECT / "fixtures" / "refactors"
RUFF = Path(sys.executable).with_name("ruff")


def before_of(case: str) -> Path:
    """The case's `before/` overlay, or the one of the case its `before.same-as` names (cases that start
    from the same files keep one copy)."""
    shared = FIXTURES / case / "before.same-as"
    return FIXTURES / (shared.read_text().strip() if shared.is_file() else case) / "before"


def lay_before(case: str, root: Path) -> Path:
    """`root` with the case's `before/` copied over it."""
    shutil.copytree(before_of(case), root, dirs_exist_ok=True)
    return root


@pytest.fixture
def tree(real_tree: Path, tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """A writable copy of the real wheel src with the `before/` of the golden case the test module names
    (its `CASE`) laid over it."""
    dest = tmp_path / "tree"
    shutil.copytree(real_tree / "src", dest / "src", ignore=shutil.ignore_patterns("__pycache__"))
    return lay_before(request.module.CASE, dest)


def snapshot(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and ".ruff_cache" not in p.parts
    }


def _files(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes().decode("utf-8")
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _digests(texts: dict[str, str]) -> str:
    """`sha256sum` lines of `texts` (path -> text), sorted by path."""
    return "".join(
        f"{hashlib.sha256(t.encode('utf-8')).hexdigest()}  {p}\n" for p, t in sorted(texts.items())
    )


def assert_golden(plan: Plan, root: Path, case: str, *, update: bool) -> None:
    """The plan is the case's: its preview is `plan.diff` and the digests of what it writes `after.sha256`;
    `apply()` writes exactly those bytes (and removes what the plan deletes); `undo()` puts `before/` back.
    With `update`, `plan.diff` and `after.sha256` are rewritten."""
    folder = FIXTURES / case
    check_golden(plan_golden(plan), folder / "plan.diff", update=update)
    written = {e.path: e.after for e in plan.changes if e.after is not None}
    check_golden(_digests(written), folder / "after.sha256", update=update)
    plan.apply()
    try:
        on_disk = {path: (root / path).read_bytes().decode("utf-8") for path in written}
        assert _digests(on_disk) == _digests(written), "apply() wrote other bytes than the plan holds"
        for edit in plan.changes:
            assert edit.after is not None or not (root / edit.path).exists(), f"{edit.path} not deleted"
    finally:
        plan.undo()
    for path, text in _files(before_of(case)).items():
        assert (root / path).read_bytes().decode("utf-8") == text, f"{path} differs from before/{path}"


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
