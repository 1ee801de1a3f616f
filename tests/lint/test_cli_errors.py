"""Nothing passes silently: bad input is one line on stderr with exit 2, and so is a rule that breaks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analyzers.cli import main
from analyzers.lint.config import LintConfig
from analyzers.lint.engine import lint_tree

PROJECT = Path(__file__).resolve().parents[2]
QWEN3 = "src/megatron/bridge/models/qwen/qwen3_bridge.py"


def _cli(*args: str, cwd: Path, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "BRIDGESMITH_CACHE": str(cache), "PYTHONPATH": str(PROJECT)}
    return subprocess.run(
        [sys.executable, "-m", "analyzers", "lint", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def _one_error_line(out: subprocess.CompletedProcess | tuple[int, str], *needles: str) -> str:
    code, stderr = (out.returncode, out.stderr) if not isinstance(out, tuple) else out
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def tree(real_tree: Path, tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    shutil.copytree(real_tree / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__"))
    return root


def test_unknown_file_is_an_error(real_tree: Path, tmp_path: Path) -> None:
    missing = "src/megatron/bridge/models/qwen/nonexistent.py"
    out = _cli(missing, cwd=real_tree, cache=tmp_path / "c")
    _one_error_line(out, missing, "no such file")
    assert "All checks passed" not in out.stdout + out.stderr


def test_files_resolve_against_the_repo_as_well_as_the_cwd(real_tree: Path, tmp_path: Path) -> None:
    from_elsewhere = _cli("--repo", str(real_tree), QWEN3, cwd=tmp_path, cache=tmp_path / "c")
    from_inside = _cli(QWEN3, cwd=real_tree, cache=tmp_path / "c")
    assert from_elsewhere.returncode == from_inside.returncode == 1
    assert from_elsewhere.stdout == from_inside.stdout and from_inside.stdout.startswith(QWEN3)
    outside = tmp_path / "elsewhere.py"
    outside.write_text("x = 1\n")
    _one_error_line(
        _cli("--repo", str(real_tree), str(outside), cwd=tmp_path, cache=tmp_path / "c"), "outside"
    )


@pytest.mark.parametrize(
    "args", [["--select", ""], ["--ignore", "ALL"], ["--select", "MBR005", "--ignore", "MBR005"]]
)
def test_empty_selection_is_an_error(real_tree: Path, tmp_path: Path, args: list[str]) -> None:
    _one_error_line(_cli(*args, cwd=real_tree, cache=tmp_path / "c"), "selection is empty")


def test_empty_selection_from_the_config_names_the_file(tree: Path, tmp_path: Path) -> None:
    (tree / "pyproject.toml").write_text("[tool.bridgesmith.lint]\nselect = []\n")
    _one_error_line(_cli(cwd=tree, cache=tmp_path / "c"), "pyproject.toml: ", "selection is empty")


def test_missing_config_file_is_an_error(real_tree: Path, tmp_path: Path) -> None:
    out = _cli("--config", "/nonexistent/pyproject.toml", cwd=real_tree, cache=tmp_path / "c")
    _one_error_line(out, "/nonexistent/pyproject.toml: no such file")


def test_malformed_pyproject_is_an_error(tree: Path, tmp_path: Path) -> None:
    # The tree's own pyproject.toml, with no bridgesmith table at all: still read, and broken.
    (tree / "pyproject.toml").write_text('[project]\nname = "megatron-bridge"\nversion = \n')
    _one_error_line(_cli(cwd=tree, cache=tmp_path / "c"), "pyproject.toml: not valid TOML")
    config = tmp_path / "lint.toml"
    config.write_text("[tool.bridgesmith.lint\n")
    _one_error_line(_cli("--config", str(config), cwd=tree, cache=tmp_path / "c"), str(config))


def test_a_rule_that_raises_exits_2_naming_the_rule(
    real_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from analyzers.rules.mbr010_register_bridge_without_model_type import RegisterBridgeWithoutModelType

    def broken(self, bridge):
        raise ValueError(f"cannot read {bridge.name}")

    monkeypatch.setenv("BRIDGESMITH_CACHE", str(tmp_path / "c"))
    monkeypatch.setattr(RegisterBridgeWithoutModelType, "check_bridge", broken)
    code = main(["lint", "--repo", str(real_tree), "--no-cache"])
    err = capsys.readouterr().err
    assert code == 2
    assert "error: MBR010 (register-bridge-without-model-type) raised ValueError: cannot read" in err
    assert "All checks passed" not in err
    # Not selected: the other rules' result stands.
    assert main(["lint", "--repo", str(real_tree), "--no-cache", "--select", "MBR005"]) == 1


def test_a_rule_that_cannot_run_here_warns_on_stderr(
    real_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from analyzers.rules import _hf_model_types

    monkeypatch.setenv("BRIDGESMITH_CACHE", str(tmp_path / "c"))
    monkeypatch.setattr(_hf_model_types, "transformers_dir", lambda: None)
    monkeypatch.setattr(_hf_model_types, "INDEX_PATH", tmp_path / "missing.json")
    _hf_model_types.shipped_index.cache_clear()
    try:
        code = main(["lint", "--repo", str(real_tree), "--no-cache", "--select", "MBR013"])
    finally:
        _hf_model_types.shipped_index.cache_clear()
    err = capsys.readouterr().err
    assert code == 0
    assert "warning: MBR013 (model-type-differs-from-hf-config) not run: no transformers" in err


def test_a_deleted_module_still_imported_is_a_finding(tree: Path) -> None:
    (tree / QWEN3).unlink()
    result = lint_tree(tree, LintConfig(), use_cache=False)
    found = [f for f in result.findings if f.code == "MBR006"]
    assert [(f.path, f.message) for f in found] == [
        (
            "src/megatron/bridge/models/qwen/__init__.py",
            "`megatron.bridge.models.qwen.qwen3_bridge` is imported here but does not exist in the tree",
        )
    ]
    # A run given only the deleted path (what a commit changed) keeps it.
    scoped = lint_tree(tree, LintConfig(), paths=[QWEN3], use_cache=False)
    assert [f.code for f in scoped.findings if f.code == "MBR006"] == ["MBR006"]


def test_config_and_baseline_resolve_against_the_repo_too(tree: Path, tmp_path: Path) -> None:
    (tree / "lint.toml").write_text('[tool.bridgesmith.lint]\nselect = ["MBR005"]\n')
    out = _cli("--repo", str(tree), "--config", "lint.toml", "-q", cwd=tmp_path, cache=tmp_path / "c")
    assert out.returncode == 1 and [line.split(": ")[1].split()[0] for line in out.stdout.splitlines()] == [
        "MBR005"
    ]
    made = _cli(
        "--repo", str(tree), "--baseline", "b.json", "--write-baseline", cwd=tmp_path, cache=tmp_path / "c"
    )
    assert made.returncode == 0 and (tree / "b.json").is_file() and not (tmp_path / "b.json").exists()


def test_a_folder_stands_for_its_files_but_not_a_virtual_environment_or_vcs_data_inside(
    tree: Path, tmp_path: Path
) -> None:
    """`lint FOLDER` walks as every command does (analyzers.walk): an environment or `.git` under it is not
    the tree's code, so a broken file there is not an MBR000 of the tree."""
    family = tree / "src/megatron/bridge/models/qwen"
    for junk in (".venv/lib/site.py", ".git/hooks/x.py"):
        (family / junk).parent.mkdir(parents=True, exist_ok=True)
        (family / junk).write_text("def broken(:\n")
    (family / "broken.py").write_text("def broken(:\n")
    out = _cli("--select", "MBR000", "src/megatron/bridge/models/qwen", cwd=tree, cache=tmp_path / "c")
    assert out.returncode == 1, out.stderr
    assert "broken.py" in out.stdout and ".venv" not in out.stdout and ".git" not in out.stdout
