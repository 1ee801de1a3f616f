"""Every command's `--format json` on the real pinned tree: stdout is one JSON document, in the envelope, with
the top-level keys the README's "JSON documents" table lists for it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from analyzers import __version__
from analyzers.envelope import ENVELOPE_KEYS, SCHEMA_VERSIONS

PROJECT = Path(__file__).resolve().parents[1]
CONFIG = str(PROJECT / "fixtures" / "configs" / "qwen3-8b")
OLMOE = "megatron.bridge.models.olmoe.olmoe_bridge"
MTP = ("mtp.layers.*.mtp_model_layer.", "mtp.layers.*.transformer_layer.")
REFACTORS = "`rename-symbol`, `move-module`, `rename-family`, `rename-param`"


def readme_rows() -> dict[str, tuple[int, list[str], list[str]]]:
    """The README table: first cell -> (schema version, keys always there, keys only there sometimes).

    Keys come in backticks; what is in parentheses describes a key; keys after a `;` are the optional ones.
    """
    text = (PROJECT / "README.md").read_text(encoding="utf-8")
    section = text.split("### JSON documents", 1)[1].split("\n#", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[1].isdigit():
            continue
        keys = re.sub(r"\([^)]*\)", "", cells[2]).split(";")
        tokens = [re.findall(r"`([a-z_]+)`", part) for part in keys]
        rows[cells[0]] = (int(cells[1]), tokens[0], [k for part in tokens[1:] for k in part])
    return rows


def run(root: Path, package: str, *argv: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", package, *argv, "--repo", str(root), "--format", "json"],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)  # the whole of stdout: one document, nothing else
    assert isinstance(doc, dict)
    return doc


def check(doc: dict, command: str, row: str) -> None:
    assert list(doc)[: len(ENVELOPE_KEYS)] == list(ENVELOPE_KEYS)
    assert doc["command"] == command and doc["tool_version"] == __version__
    assert doc["tool"] == ("bridgesmith-lint" if command in ("lint", "rule") else "bridgesmith")
    version, required, optional = readme_rows()[row]
    assert doc["schema_version"] == SCHEMA_VERSIONS[command] == version
    keys = list(doc)[len(ENVELOPE_KEYS) :]
    assert [k for k in keys if k not in optional] == required, f"README row {row} is stale"


@pytest.fixture(scope="module")
def tree(real_tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the pinned tree for the read-only and dry-run commands (write commands take its lock)."""
    root = tmp_path_factory.mktemp("json") / "tree"
    shutil.copytree(real_tree / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__"))
    return root


STATIC = [
    ("catalog", ["catalog"], "`catalog`"),
    ("catalog", ["catalog", "--family", "qwen"], "`catalog`"),
    ("inspect", ["inspect", CONFIG, "--no-names"], "`inspect`"),
    ("nearest", ["nearest", CONFIG, "--no-names"], "`nearest`"),
    pytest.param("inspect", ["inspect", CONFIG], "`inspect`", marks=pytest.mark.hf),
    pytest.param(
        "coverage", ["coverage", "Qwen3Bridge", "--config", CONFIG], "`coverage`", marks=pytest.mark.hf
    ),
    pytest.param("synthesize", ["synthesize", CONFIG], "`synthesize`", marks=pytest.mark.hf),
    ("lint", ["lint", "--exit-zero"], "`lint`"),
    ("lint", ["lint", "--statistics", "--exit-zero"], "`lint --statistics`"),
    ("lint", ["lint", "--list-rules"], "`lint --list-rules`"),
    ("lint", ["lint", "--diff", "--exit-zero"], "`lint --diff`"),
]


@pytest.mark.parametrize(("command", "argv", "row"), STATIC)
def test_analyzers_commands(tree: Path, command: str, argv: list[str], row: str) -> None:
    check(run(tree, "analyzers", *argv), command, row)


def test_rule(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "analyzers", "rule", "MBR010", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=PROJECT,
    )
    assert out.returncode == 0, out.stderr
    check(json.loads(out.stdout), "rule", "`rule CODE`")


DRY_RUNS = [
    ("clone-family", ["clone-family", "qwen3", "qwen4"]),
    ("rename-symbol", ["rename-symbol", "Qwen3Bridge", "Qwen3TextBridge"]),
    ("move-module", ["move-module", OLMOE, "megatron.bridge.models.olmoe.olmoe_hf_bridge"]),
    ("rename-family", ["rename-family", "olmoe", "olmo_moe"]),
    ("rename-param", ["rename-param", *MTP]),
]


@pytest.mark.parametrize(("command", "argv"), DRY_RUNS)
def test_codemod_plans(tree: Path, command: str, argv: list[str]) -> None:
    doc = run(tree, "codemods", *argv, "--dry-run")
    check(doc, command, "`clone-family`" if command == "clone-family" else REFACTORS)
    assert doc["applied"] is False and doc["already_applied"] is False and doc["files"]


def test_applied_then_done(real_tree: Path, tmp_path: Path) -> None:
    root = tmp_path / "tree"
    shutil.copytree(real_tree / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__"))
    clone = run(root, "codemods", "clone-family", "qwen3", "qwen4")
    check(clone, "clone-family", "`clone-family`")
    assert clone["applied"] is True and (root / clone["files"][0]["path"]).is_file()
    again = run(root, "codemods", "clone-family", "qwen3", "qwen4")
    check(again, "clone-family", "`clone-family`")
    assert again["applied"] is False and again["already_applied"] is True
    renamed = run(root, "codemods", "rename-symbol", "Qwen3Bridge", "Qwen3TextBridge")
    check(renamed, "rename-symbol", REFACTORS)
    assert renamed["applied"] is True
    done = run(root, "codemods", "rename-symbol", "Qwen3Bridge", "Qwen3TextBridge")
    check(done, "rename-symbol", "the same, run again once done")
    assert done["already_applied"] is True and done["files"] == [] and "Qwen3TextBridge" in done["message"]


@pytest.mark.smoke
def test_smoke_report(tmp_path: Path) -> None:
    from codemods.smoke import SmokeReport

    report = tmp_path / "report.json"
    out = subprocess.run(
        [sys.executable, "-m", "codemods", "smoke", "qwen3", "--num-layers", "2", "--format", "json"]
        + ["--report", str(report)],
        capture_output=True,
        text=True,
        cwd=PROJECT,
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    check(doc, "smoke", "`smoke MODEL`")
    assert doc["kind"] == "report" and json.loads(report.read_text()) == doc
    assert list(doc)[5:] == [f.name for f in fields(SmokeReport)] + ["passed"]


def test_every_command_is_covered_and_documented() -> None:
    """Each command of SCHEMA_VERSIONS is exercised above and has a README row with its version."""
    exercised = {getattr(c, "values", c)[0] for c in STATIC} | {c for c, _ in DRY_RUNS}
    assert set(SCHEMA_VERSIONS) == exercised | {"rule", "smoke"}
    rows = readme_rows()
    labels = " ".join(rows)
    for command, version in SCHEMA_VERSIONS.items():
        assert f"`{command}" in labels, f"README has no row for {command}"
        assert all(v == version for label, (v, _, _) in rows.items() if label.startswith(f"`{command}"))


def test_smoke_matrix_document() -> None:
    # The sweep itself needs the smoke environment; its document is built from rows and the run's meta.
    import time

    from codemods.smoke import SmokeOptions
    from codemods.smoke._cases import SmokeCase
    from codemods.smoke._report import Check, SmokeReport
    from codemods.smoke._sweep import _row, expected_json, render, sweep_meta

    case = SmokeCase(
        "Qwen3ForCausalLM", "Qwen3Bridge", "megatron.bridge.models.qwen.qwen3_bridge", "qwen", "qwen3", None
    )
    report = SmokeReport(model="qwen3", checks=[Check("mapping", "pass", "ok")], timings_s={"total": 1.0})
    meta = {**sweep_meta(SmokeOptions(model=""), time.perf_counter(), {"torch": "x"}), "logs": "/tmp/logs"}
    doc = json.loads(render([_row(case, report, None)], "json", meta))
    check(doc, "smoke", "`smoke --all`")
    assert doc["kind"] == "matrix" and doc["rows"][0]["bridge"] == "Qwen3Bridge"
    expected = json.loads(expected_json([_row(case, report, None)], meta))
    assert [k for k in doc if k not in expected] == ["tool_version", "wall_s", "versions", "logs"]


def test_smoke_report_document() -> None:
    # What `smoke MODEL --format json` prints for a report (the run itself needs the smoke environment).
    from codemods.commands.smoke import report_document
    from codemods.smoke._report import Check, SmokeReport

    report = SmokeReport(model="qwen3", checks=[Check("mapping", "pass", "ok")], timings_s={"total": 1.0})
    doc = json.loads(report_document(report))
    check(doc, "smoke", "`smoke MODEL`")
    assert doc["kind"] == "report" and doc["passed"] is True and doc["checks"][0]["name"] == "mapping"
