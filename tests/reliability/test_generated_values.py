"""Generated code is built from validated values only: one line naming the field and its origin, exit 2,
nothing written; accepted values land as literals (Python) or quoted words (shell)."""

from __future__ import annotations

import ast
import json
import shlex
from pathlib import Path

import libcst as cst
import pytest

from codemods._cst import string_literal
from codemods.cli import main
from tests.reliability.conftest import snapshot

CONFIGS = Path(__file__).resolve().parents[2] / "fixtures/configs"
INJECTED = 'qwen4" + __import__("os").getcwd() + "'


def _config(tmp_path: Path, **changes: object) -> Path:
    data = json.loads((CONFIGS / "qwen3-8b" / "config.json").read_text())
    data.update(changes)
    path = tmp_path / "cfg" / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def _refused(root: Path, args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    before = snapshot(root)
    assert main(["clone-family", "qwen3", "qwen4", "--repo", str(root), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert snapshot(root) == before
    return err.removeprefix("error: ").rstrip("\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--model-type", INJECTED],
            f"--model-type {INJECTED!r} is not a model type (lower-case ASCII letters, digits, _ and -)",
        ),
        (
            ["--hf-id", "Org/m; touch PWNED #"],
            "--hf-id 'Org/m; touch PWNED #' is not an HF hub id (org/name of letters, digits, '.', '_' and '-')",
        ),
        (
            ["--hf-class", 'X"); import os; ("'],
            "--hf-class 'X\"); import os; (\"' is not an HF class name (ASCII CamelCase, e.g. Qwen4ForCausalLM)",
        ),
        (
            ["--class-prefix", "\uff31wen4"],
            "--class-prefix 'Ｑwen4' is not a CamelCase identifier (e.g. Qwen4, OlmoMoE)",
        ),
    ],
    ids=["model-type", "hf-id", "hf-class", "full-width-prefix"],
)
def test_bad_flag_values_are_refused(
    writable_checkout: Path,
    own_cache: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    assert _refused(writable_checkout, args, capsys) == message


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"model_type": INJECTED}, f"config model_type {INJECTED!r} is not a model type"),
        (
            {"_name_or_path": "Org/m; touch PWNED #"},
            "config _name_or_path (pass --hf-id to override) 'Org/m; touch PWNED #' is not an HF hub id",
        ),
        (
            {"architectures": "Qwen4ForCausalLM"},
            "architectures 'Qwen4ForCausalLM' is not a list of class names",
        ),
    ],
    ids=["model_type", "_name_or_path", "architectures-string"],
)
def test_bad_config_values_are_refused_naming_the_config(
    writable_checkout: Path,
    own_cache: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    changes: dict,
    message: str,
) -> None:
    config = _config(tmp_path, **changes)
    err = _refused(writable_checkout, ["--config", str(config)], capsys)
    assert err.startswith(f"{config}: {message}")


def test_accepted_values_are_literals_and_shell_words(writable_checkout: Path, own_cache: Path) -> None:
    from codemods.clone_family import CloneRequest, plan_clone

    result = plan_clone(
        writable_checkout, CloneRequest("qwen3", "qwen4", model_type="qwen4-x", hf_id="Org-1/m.v1_2")
    )
    bridge = next(e.after for e in result.plan.changes if e.path.endswith("models/qwen/qwen4_bridge.py"))
    calls = [
        n
        for n in ast.walk(ast.parse(bridge))
        if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "register_bridge"
    ]
    assert [k.value.value for c in calls for k in c.keywords if k.arg == "model_type"] == ["qwen4-x"]
    scripts = [e.after for e in result.plan.changes if e.path.endswith("conversion.sh")]
    assert scripts
    for script in scripts:
        line = next(line for line in script.splitlines() if line.startswith("HF_MODEL="))
        assert shlex.split(line) == ["HF_MODEL=Org-1/m.v1_2"]


@pytest.mark.parametrize("value", [INJECTED, "a\nb", "back\\slash", "\x00\u2028", "'single'", ""])
def test_string_literal_is_exactly_the_value(value: str) -> None:
    node = string_literal(value)
    assert ast.literal_eval(node.value) == value
    assert isinstance(cst.parse_expression(node.value), cst.SimpleString)
