"""The lint's command line as ruff users expect it: names, usage errors, quiet, output file, colour, rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from analyzers import __version__
from analyzers.cli import lint_entry

PROJECT = Path(__file__).resolve().parents[2]
QWEN3 = "src/megatron/bridge/models/qwen/qwen3_bridge.py"


def _cli(*args: str, cwd: Path, cache: Path, module: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "BRIDGESMITH_CACHE": str(cache), "PYTHONPATH": str(PROJECT)}
    cmd = [sys.executable, "-m", "analyzers", "lint"] if module else [sys.executable, "-c", _ENTRY]
    return subprocess.run([*cmd, *args], cwd=cwd, env=env, capture_output=True, text=True)


#: the console script, as its generated wrapper calls it
_ENTRY = "import sys; from analyzers.cli import lint_entry; sys.exit(lint_entry())"


def test_console_script_names_itself_and_has_a_version(real_tree: Path, tmp_path: Path) -> None:
    version = _cli("--version", cwd=real_tree, cache=tmp_path, module=False)
    assert version.returncode == 0 and version.stdout.strip() == f"bridgesmith-lint {__version__}"
    usage = _cli("--help", cwd=real_tree, cache=tmp_path, module=False)
    assert usage.stdout.startswith("usage: bridgesmith-lint ")


@pytest.mark.parametrize("module", [True, False])
def test_usage_errors_are_one_line_and_options_are_not_abbreviated(
    real_tree: Path, tmp_path: Path, module: bool
) -> None:
    out = _cli("--stat", cwd=real_tree, cache=tmp_path, module=module)
    prog = "python -m analyzers" if module else "bridgesmith-lint"
    assert out.returncode == 2
    assert out.stderr.splitlines() == [f"{prog}: error: unrecognized arguments: --stat"]
    bad_choice = _cli("--format", "xml", cwd=real_tree, cache=tmp_path, module=module)
    assert bad_choice.returncode == 2 and len(bad_choice.stderr.splitlines()) == 1
    assert "invalid choice: 'xml'" in bad_choice.stderr


def test_summary_on_stdout_quiet_and_output_file(real_tree: Path, tmp_path: Path) -> None:
    normal = _cli(QWEN3, cwd=real_tree, cache=tmp_path)
    lines = normal.stdout.splitlines()
    assert lines[0].startswith(f"{QWEN3}:") and lines[-1].startswith("Found 1 finding(s)")
    assert normal.stderr == ""
    quiet = _cli("-q", QWEN3, cwd=real_tree, cache=tmp_path)
    assert quiet.returncode == 1 and quiet.stdout.splitlines() == lines[:1] and quiet.stderr == ""
    report = tmp_path / "report.json"
    written = _cli("--format", "json", "--output-file", str(report), QWEN3, cwd=real_tree, cache=tmp_path)
    assert written.returncode == 1 and written.stdout == ""
    assert [f["code"] for f in json.loads(report.read_text())["findings"]] == ["MBR004"]
    unwritable = _cli("--output-file", str(tmp_path / "missing" / "r.txt"), cwd=real_tree, cache=tmp_path)
    assert unwritable.returncode == 2 and len(unwritable.stderr.splitlines()) == 1
    # Bad input leaves an existing report alone.
    bad = _cli("--output-file", str(report), "--select", "MBR999", cwd=real_tree, cache=tmp_path)
    assert bad.returncode == 2 and json.loads(report.read_text())["findings"]


def test_color_and_show_fixes(real_tree: Path, tmp_path: Path) -> None:
    always = _cli("--color", "always", QWEN3, cwd=real_tree, cache=tmp_path).stdout
    assert "\033[1m" + QWEN3 + "\033[0m" in always and "\033[31mMBR004" in always
    assert "\033[" not in _cli("--color", "never", QWEN3, cwd=real_tree, cache=tmp_path).stdout
    assert "\033[" not in _cli(QWEN3, cwd=real_tree, cache=tmp_path).stdout  # auto: not a terminal
    shown = _cli("--show-fixes", QWEN3, cwd=real_tree, cache=tmp_path).stdout.splitlines()
    assert shown[1] == "  help: import it in `models/__init__.py` and add it to `__all__`"


def test_rule_explains_one_rule(capsys: pytest.CaptureFixture) -> None:
    assert lint_entry(["rule", "MBR010"]) == 0
    page = capsys.readouterr().out
    assert page.startswith("# register-bridge-without-model-type (MBR010)\n")
    assert "\n## Why is this bad?\n" in page and "\n    " not in page  # dedented Markdown
    assert lint_entry(["rule", "duplicate-all-entry", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema_version"] == 1 and doc["rule"]["code"] == "MBR005" and doc["rule"]["fix"]
    assert lint_entry(["rule", "MBR999"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "unknown rule 'MBR999'" in err[0]


def test_a_missing_optional_dependency_is_one_line_naming_the_extra(capsys: pytest.CaptureFixture) -> None:
    import argparse

    from analyzers.cli import _run

    def needs_rope(args: argparse.Namespace) -> int:
        raise ModuleNotFoundError("No module named 'rope'", name="rope")

    assert _run(argparse.Namespace(run=needs_rope)) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "error: this command needs rope, which is not installed: pip install 'bridgesmith[refactor]'"
    ]

    def needs_other(args: argparse.Namespace) -> int:
        raise ModuleNotFoundError("No module named 'nonexistent_pkg'", name="nonexistent_pkg")

    with pytest.raises(ModuleNotFoundError):
        _run(argparse.Namespace(run=needs_other))


def test_statistics_print_the_table_only(real_tree: Path, tmp_path: Path) -> None:
    out = _cli("--statistics", cwd=real_tree, cache=tmp_path)
    assert out.returncode == 1
    assert all(line.split("\t")[1].startswith("MBR") for line in out.stdout.splitlines())


def test_verbose_prints_the_notes(real_tree: Path, tmp_path: Path) -> None:
    out = _cli("-v", "--select", "MBR05", cwd=real_tree, cache=tmp_path)
    assert out.returncode == 0
    assert "note: MBR050 (family-without-unit-tests) not run: needs a full checkout" in out.stderr
    # Every selected rule skipped is not a pass in silence.
    quiet = _cli("--select", "MBR05", cwd=real_tree, cache=tmp_path).stderr
    assert "note:" not in quiet and "warning: none of the selected rules ran on this tree" in quiet
    assert (
        "none of the selected" not in _cli("--select", "MBR05,MBR005", cwd=real_tree, cache=tmp_path).stderr
    )
