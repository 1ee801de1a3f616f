"""Both entry points' usage errors: one line naming the problem, exit 2, in every command (as ruff's)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from analyzers.cli import COMMANDS as ANALYZERS
from codemods.cli import COMMANDS as CODEMODS

PROJECT = Path(__file__).resolve().parents[1]
CASES = [("analyzers", c) for c in ANALYZERS] + [("codemods", c) for c in CODEMODS]


def run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *argv], capture_output=True, text=True, cwd=PROJECT)


@pytest.mark.parametrize(("package", "command"), CASES)
def test_unknown_option_is_one_line(package: str, command: str) -> None:
    out = run(package, command, "--no-such-option")
    assert out.returncode == 2 and out.stdout == ""
    (line,) = out.stderr.splitlines()  # the unknown option, or first the missing positional arguments
    assert line.startswith(f"python -m {package}") and ": error: " in line
    assert "unrecognized arguments: --no-such-option" in line or "arguments are required" in line


def test_missing_argument_bad_choice_and_unknown_command_are_one_line() -> None:
    missing = run("codemods", "clone-family")
    assert missing.returncode == 2
    assert missing.stderr.splitlines() == [
        "python -m codemods clone-family: error: the following arguments are required: DST"
    ]
    choice = run("analyzers", "catalog", "--format", "xml")
    assert (
        choice.returncode == 2
        and len(choice.stderr.splitlines()) == 1
        and "invalid choice: 'xml'" in choice.stderr
    )
    unknown = run("analyzers", "nosuch")
    assert unknown.returncode == 2 and len(unknown.stderr.splitlines()) == 1 and "'nosuch'" in unknown.stderr
    assert run("analyzers", "catalog", "--help").stdout.startswith("usage: python -m analyzers catalog ")
