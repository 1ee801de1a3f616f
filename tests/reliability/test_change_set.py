"""The typed change set: git-style descriptions, bytes and modes kept, refusals that write nothing."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from analyzers.changes import ChangeContents, ChangeSet, CreateFile, DeleteFile, MoveFile, keep_line_ends
from analyzers.errors import BridgesmithError, PlanConflictError
from codemods.plan import Plan
from tests.reliability.conftest import snapshot

QWEN = "src/megatron/bridge/models/qwen"


def test_move_renders_as_git_rename_and_git_applies_it(tmp_path: Path, own_cache: Path) -> None:
    root = tmp_path / "t"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "a.py").write_text("import os\nX = 1\n")
    (root / "pkg" / "b.py").write_text("Y = 2\n")
    plan = Plan(root)
    plan.move("pkg/a.py", "pkg2/a.py", "import os\nX = 2\n", "moved")
    plan.move("pkg/b.py", "pkg2/b.py")
    diff = plan.preview()
    assert "rename from pkg/a.py\nrename to pkg2/a.py\n" in diff
    assert (
        "diff --git a/pkg/b.py b/pkg2/b.py\nsimilarity index 100%\nrename from pkg/b.py\nrename to pkg2/b.py\n"
        in diff
    )
    assert "--- a/pkg/b.py" not in diff  # a plain move has no hunks
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    subprocess.run(["git", "init", "-q"], cwd=copy, check=True)
    subprocess.run(["git", "apply"], cwd=copy, input=diff.encode(), check=True)
    plan.apply()
    assert {k: v[0] for k, v in snapshot(root).items()} == {
        k: v[0] for k, v in snapshot(copy).items() if not k.startswith(".git/")
    }


def test_crlf_file_keeps_its_line_ends_and_undo_restores_bytes(tmp_path: Path, own_cache: Path) -> None:
    root = tmp_path / "t"
    root.mkdir()
    raw = b'from a import A\r\nfrom b import B\r\n\r\n__all__ = ["A", "B"]\r\n'
    (root / "__init__.py").write_bytes(raw)
    plan = Plan(root)
    text = plan.current("__init__.py")
    plan.modify("__init__.py", text.replace("from b import B\n", "from b import B\nfrom c import C\n"))
    plan.apply()
    assert (root / "__init__.py").read_bytes() == raw.replace(
        b"from b import B\r\n", b"from b import B\r\nfrom c import C\r\n"
    )
    plan.undo()
    assert (root / "__init__.py").read_bytes() == raw


def test_mixed_line_ends_outside_the_edit_stay_byte_identical() -> None:
    raw = "a\r\nb\nc\r\nd\r\n"
    assert keep_line_ends(raw, "a\nb\nC\nd\n") == "a\r\nb\nC\r\nd\r\n"


def test_modes_moves_keep_source_mode_new_files_the_umask(tmp_path: Path, own_cache: Path) -> None:
    root = tmp_path / "t"
    root.mkdir()
    script = root / "run.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o755)
    old_mask = os.umask(0o027)
    try:
        cs = ChangeSet(
            root,
            [
                MoveFile("run.sh", "bin/run.sh", script.read_text(), "#!/bin/sh\necho ho\n"),
                CreateFile("new.py", "x = 1\n"),
            ],
        )
        cs.do()
    finally:
        os.umask(old_mask)
    assert stat.S_IMODE((root / "bin/run.sh").stat().st_mode) == 0o755
    assert stat.S_IMODE((root / "new.py").stat().st_mode) == 0o640
    before_undo = (root / "bin/run.sh").read_text()
    assert before_undo == "#!/bin/sh\necho ho\n"
    cs.undo()
    assert stat.S_IMODE(script.stat().st_mode) == 0o755 and not (root / "bin").exists()
    assert not (root / "new.py").exists()


def test_clone_keeps_the_source_mode(writable_checkout: Path, own_cache: Path) -> None:
    from codemods.clone_family import CloneRequest, plan_clone

    bridge = writable_checkout / QWEN / "qwen3_bridge.py"
    bridge.chmod(0o750)
    result = plan_clone(writable_checkout, CloneRequest("qwen3", "qwen4"))
    result.plan.apply()
    assert stat.S_IMODE((writable_checkout / QWEN / "qwen4_bridge.py").stat().st_mode) == 0o750


def test_read_only_target_is_refused_and_nothing_written(
    writable_checkout: Path, own_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from codemods.cli import main

    init = writable_checkout / QWEN / "__init__.py"
    init.chmod(0o444)
    before = snapshot(writable_checkout)
    code = main(["clone-family", "qwen3", "qwen4", "--repo", str(writable_checkout)])
    assert code == 2
    assert capsys.readouterr().err == (
        f"error: {QWEN}/__init__.py: read-only file: make it writable or leave it out\n"
    )
    assert snapshot(writable_checkout) == before


def test_unencodable_second_edit_rolls_back_nothing_written(tmp_path: Path, own_cache: Path) -> None:
    root = tmp_path / "t"
    root.mkdir()
    (root / "a.py").write_text("a = 1\n")
    (root / "b.py").write_text("b = 1\n")
    before = snapshot(root)
    cs = ChangeSet(
        root,
        [ChangeContents("a.py", "a = 1\n", "a = 2\n"), ChangeContents("b.py", "b = 1\n", "b = '\udcff'\n")],
    )
    with pytest.raises(PlanConflictError, match="b.py: content cannot be written as UTF-8"):
        cs.do()
    assert snapshot(root) == before


def test_any_failure_during_the_apply_names_the_path_being_written(
    tmp_path: Path, own_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # not only an OSError: whatever breaks while b.py is staged, the one error names b.py, and all is undone
    from analyzers import changes
    from analyzers.changes import ApplyError

    root = tmp_path / "t"
    root.mkdir()
    (root / "a.py").write_text("a = 1\n")
    (root / "b.py").write_text("b = 1\n")
    before = snapshot(root)
    stage = changes._stage

    def failing(path: Path, data: bytes, mode: int | None) -> None:
        if path.name.endswith("-b.py.tmp"):
            raise ValueError("no room for b")
        stage(path, data, mode)

    monkeypatch.setattr(changes, "_stage", failing)
    cs = ChangeSet(
        root, [ChangeContents("a.py", "a = 1\n", "a = 2\n"), ChangeContents("b.py", "b = 1\n", "b = 2\n")]
    )
    with pytest.raises(ApplyError) as failed:
        cs.do()
    assert failed.value.path == "b.py"
    assert str(failed.value) == (
        "b.py: apply failed (ValueError: no room for b): rolled back 0 of 2 file operations, the tree is as before"
    )
    assert snapshot(root) == before


def test_drift_since_the_plan_is_refused(tmp_path: Path, own_cache: Path) -> None:
    root = tmp_path / "t"
    root.mkdir()
    (root / "a.py").write_text("a = 1\n")
    cs = ChangeSet(root, [ChangeContents("a.py", "a = 1\n", "a = 2\n"), DeleteFile("a.py", "a = 1\n")])
    with pytest.raises(PlanConflictError, match="two changes touch the same path"):
        cs.do()
    (root / "a.py").write_text("a = 3\n")
    with pytest.raises(PlanConflictError, match="a.py: file changed since the plan was made"):
        ChangeSet(root, [ChangeContents("a.py", "a = 1\n", "a = 2\n")]).do()
    with pytest.raises(PlanConflictError, match="escapes the tree"):
        ChangeSet(root, [CreateFile("../x.py", "")])
    assert (root / "a.py").read_text() == "a = 3\n"


def test_undo_refuses_after_a_later_edit(tmp_path: Path, own_cache: Path) -> None:
    root = tmp_path / "t"
    root.mkdir()
    (root / "a.py").write_text("a = 1\n")
    cs = ChangeSet(root, [ChangeContents("a.py", "a = 1\n", "a = 2\n")])
    cs.do()
    (root / "a.py").write_text("a = 9\n")
    with pytest.raises(BridgesmithError, match="a.py: file changed since the apply; not undone"):
        cs.undo()
    assert (root / "a.py").read_text() == "a = 9\n"


def test_real_crlf_family_init_stays_crlf_with_only_the_new_lines_added(
    writable_checkout: Path, own_cache: Path
) -> None:
    from codemods.cli import main

    init = writable_checkout / QWEN / "__init__.py"
    original = init.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    init.write_bytes(original)
    assert main(["clone-family", "qwen3", "qwen4", "--repo", str(writable_checkout)]) == 0
    after = init.read_bytes()
    assert b"Qwen4Bridge" in after
    assert after.count(b"\n") == after.count(b"\r\n")  # every line end is still CRLF
    old_lines = original.split(b"\r\n")
    new_lines = after.split(b"\r\n")
    kept = iter(new_lines)
    assert all(any(line == n for n in kept) for line in old_lines)  # the old lines, in order, unchanged
    assert len(new_lines) > len(old_lines)


def test_moved_files_keep_their_mode_and_undo_restores_it(writable_checkout: Path, own_cache: Path) -> None:
    from codemods.refactors.rename_family import plan_rename_family

    bridge = writable_checkout / "src/megatron/bridge/models/olmoe/olmoe_bridge.py"
    bridge.chmod(0o755)
    before = snapshot(writable_checkout)
    plan = plan_rename_family(writable_checkout, "olmoe", "olmo_moe")
    plan.apply()
    moved = writable_checkout / "src/megatron/bridge/models/olmo_moe/olmo_moe_bridge.py"
    assert stat.S_IMODE(moved.stat().st_mode) == 0o755
    plan.undo()
    assert snapshot(writable_checkout) == before
