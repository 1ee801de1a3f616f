"""Adopting the lint on a tree with findings: a baseline, --add-noqa, and the pre-commit scope."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analyzers.lint.noqa import _with_codes

PROJECT = Path(__file__).resolve().parents[2]
QWEN3 = "src/megatron/bridge/models/qwen/qwen3_bridge.py"
MODELS_INIT = "src/megatron/bridge/models/__init__.py"


def _cli(*args: str, cwd: Path, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "BRIDGESMITH_CACHE": str(cache), "PYTHONPATH": str(PROJECT)}
    return subprocess.run(
        [sys.executable, "-m", "analyzers", "lint", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def _findings(out: subprocess.CompletedProcess) -> list[str]:
    """The finding lines of a text report (the summary lines after them left out)."""
    return [line for line in out.stdout.splitlines() if re.match(r"\S+:\d+:\d+: MBR\d{3} ", line)]


def _git(root: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@t"
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


@pytest.fixture
def tree(real_tree: Path, tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    shutil.copytree(real_tree / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _drop_model_type(root: Path) -> None:
    bridge = root / QWEN3
    text = bridge.read_text()
    assert ', model_type="qwen3")' in text
    bridge.write_text(text.replace(', model_type="qwen3")', ")", 1))


def test_baseline_reports_only_new_findings_and_survives_line_moves(tree: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    before = _cli("--format", "json", cwd=tree, cache=cache)
    assert before.returncode == 1
    total = len(json.loads(before.stdout)["findings"])
    recorded = _cli("--baseline", "baseline.json", "--write-baseline", cwd=tree, cache=cache)
    assert recorded.returncode == 0, recorded.stderr
    assert f"Recorded {total} finding(s)" in recorded.stderr
    doc = json.loads((tree / "baseline.json").read_text())
    assert doc["schema_version"] == 1 and len(doc["findings"]) == total
    assert {"code", "path", "fingerprint", "message"} <= set(doc["findings"][0])

    clean = _cli("--baseline", "baseline.json", cwd=tree, cache=cache)
    assert clean.returncode == 0 and _findings(clean) == []
    assert f"Not shown: {total} recorded in the baseline." in clean.stdout
    # Lines inserted above recorded findings (the duplicate __all__ entry at line 309) move them.
    init = tree / MODELS_INIT
    init.write_text("# a\n# b\n# c\n" + init.read_text())
    assert _cli("--baseline", "baseline.json", cwd=tree, cache=cache).returncode == 0
    # A recorded finding that is fixed is reported as gone (the baseline can be re-recorded).
    text = init.read_text()
    init.write_text(
        text.replace('    "Exaone4Bridge",\n', "", 1) if text.count('"Exaone4Bridge"') > 1 else text
    )
    fixed = _cli("--baseline", "baseline.json", cwd=tree, cache=cache)
    assert fixed.returncode == 0 and "note: 1 finding(s) recorded in baseline.json are gone" in fixed.stderr
    _drop_model_type(tree)
    new = _cli("--baseline", "baseline.json", cwd=tree, cache=cache)
    assert new.returncode == 1
    assert _findings(new) == [f"{QWEN3}:28:2: MBR010 `register_bridge` of `Qwen3Bridge` has no `model_type`"]


def test_baseline_from_the_config_and_bad_baselines(tree: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    (tree / "pyproject.toml").write_text('[tool.bridgesmith.lint]\nbaseline = "lint-baseline.json"\n')
    assert _cli("--write-baseline", cwd=tree, cache=cache).returncode == 0
    assert (tree / "lint-baseline.json").is_file()
    assert _cli(cwd=tree, cache=cache).returncode == 0
    missing = _cli("--baseline", "nope.json", cwd=tree, cache=cache)
    assert missing.returncode == 2 and "nope.json: no such baseline file" in missing.stderr
    (tree / "bad.json").write_text("[1, 2]")
    bad = _cli("--baseline", "bad.json", cwd=tree, cache=cache)
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1 and "not a baseline file" in bad.stderr
    scoped = _cli("--baseline", "x.json", "--write-baseline", QWEN3, cwd=tree, cache=cache)
    assert scoped.returncode == 2 and "records the whole tree" in scoped.stderr
    assert not (tree / "x.json").exists()


def test_add_noqa_silences_every_finding_once(tree: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    init = tree / MODELS_INIT
    line_309 = init.read_text().splitlines()[308]
    added = _cli("--add-noqa", cwd=tree, cache=cache)
    assert added.returncode == 0 and "Added " in added.stderr
    assert init.read_text().splitlines()[308] == line_309 + "  # noqa: MBR005"
    after = _cli("--select", "ALL", cwd=tree, cache=cache)
    assert after.returncode == 0, after.stdout
    again = _cli("--add-noqa", cwd=tree, cache=cache)
    assert "Added 0 noqa directive(s) in 0 file(s)." in again.stderr


def test_add_noqa_merges_into_an_existing_comment() -> None:
    assert _with_codes("import x  # noqa: F401", ["MBR001"], False) == "import x  # noqa: F401, MBR001"
    assert _with_codes("import x  # noqa: MBR001", ["MBR001"], False) == "import x  # noqa: MBR001"
    assert _with_codes("x = 1  # why", ["MBR010"], False) == "x = 1  # why  # noqa: MBR010"
    assert _with_codes("[a](b.gif)", ["MBR053"], True) == "[a](b.gif) <!-- # noqa: MBR053 -->"


def test_given_files_block_only_on_their_own_findings(tree: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    out = _cli(MODELS_INIT, cwd=tree, cache=cache)
    assert out.returncode == 1
    assert {line.split(":", 1)[0] for line in _findings(out)} == {MODELS_INIT}
    assert "in other files these can affect" in out.stdout
    (tree / MODELS_INIT).write_text((tree / MODELS_INIT).read_text() + "# a comment\n")
    assert _cli("--write-baseline", "--baseline", "b.json", cwd=tree, cache=cache).returncode == 0
    # With a baseline, the given file's old finding is recorded, so nothing blocks.
    assert _cli("--baseline", "b.json", MODELS_INIT, cwd=tree, cache=cache).returncode == 0


def test_pre_commit_sees_a_staged_deletion(tree: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _git(tree, "init", "-q")
    _git(tree, "add", "-A")
    _git(tree, "commit", "-qm", "base")
    assert _cli("--pre-commit", cwd=tree, cache=cache).returncode == 0  # nothing staged
    empty = _cli("--pre-commit", "--format", "json", cwd=tree, cache=cache)  # still one document
    assert empty.returncode == 0 and json.loads(empty.stdout)["findings"] == [], empty.stderr
    (tree / "NOTES.md").write_text("x\n")
    _git(tree, "add", "NOTES.md")
    _git(tree, "commit", "-qm", "notes")
    _git(tree, "rm", "-q", "NOTES.md")  # a deletion outside the hooks' folders: nothing to lint
    quiet = _cli("--pre-commit", cwd=tree, cache=cache)
    assert quiet.returncode == 0 and quiet.stdout == ""
    _git(tree, "rm", "-q", QWEN3)
    out = _cli("--pre-commit", cwd=tree, cache=cache)
    assert out.returncode == 1
    assert _findings(out) == [
        "src/megatron/bridge/models/qwen/__init__.py:16:1: MBR006 "
        "`megatron.bridge.models.qwen.qwen3_bridge` is imported here but does not exist in the tree"
    ]
