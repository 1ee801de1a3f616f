"""Machine-readable lint output: versioned JSON with ranges and text-edit fixes, SARIF against the official schema."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
MODELS_INIT = "src/megatron/bridge/models/__init__.py"


def _cli(*args: str, cwd: Path, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "BRIDGESMITH_CACHE": str(cache), "PYTHONPATH": str(PROJECT)}
    return subprocess.run(
        [sys.executable, "-m", "analyzers", "lint", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def tree(real_tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("formats") / "tree"
    shutil.copytree(real_tree / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__"))
    return root


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("formats-cache")


def _apply(text: str, edits: list[dict]) -> str:
    """Apply JSON text edits (1-based rows/columns, exclusive end) to `text`, last first."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(pos: dict) -> int:
        return starts[pos["row"] - 1] + pos["column"] - 1

    for edit in sorted(edits, key=lambda e: offset(e["location"]), reverse=True):
        text = text[: offset(edit["location"])] + edit["content"] + text[offset(edit["end_location"]) :]
    return text


def test_json_is_versioned_with_ranges_and_text_edit_fixes(tree: Path, cache: Path) -> None:
    out = _cli("--format", "json", cwd=tree, cache=cache)
    assert out.returncode == 1
    doc = json.loads(out.stdout)
    assert doc["schema_version"] == 1 and doc["tool_version"] and doc["kind"] == "findings"
    rows = doc["findings"]
    dup = next(r for r in rows if r["code"] == "MBR005")
    assert dup["location"] == {"row": 309, "column": 5}
    assert dup["end_location"] == {"row": 309, "column": 20}  # the string `"Exaone4Bridge"`
    assert any(r["end_location"] != r["location"] for r in rows)
    # The fix is text another tool can apply: applying its edits removes exactly the duplicate line.
    edits = dup["fix"]["edits"]
    assert {e["path"] for e in edits} == {MODELS_INIT}
    before = (tree / MODELS_INIT).read_text()
    after = _apply(before, edits)
    assert after.count('"Exaone4Bridge"') == before.count('"Exaone4Bridge"') - 1
    assert len(after.splitlines()) == len(before.splitlines()) - 1
    assert all(r["fix"] is None for r in rows if r["code"] == "MBR010")


def test_statistics_list_rules_and_diff_honour_json(tree: Path, cache: Path) -> None:
    stats = json.loads(_cli("--statistics", "--format", "json", cwd=tree, cache=cache).stdout)
    assert stats["kind"] == "statistics" and stats["schema_version"] == 1
    assert {"code": "MBR005", "name": "duplicate-all-entry", "count": 1, "fixable": True} in stats[
        "statistics"
    ]
    rules = json.loads(_cli("--list-rules", "--format", "json", cwd=tree, cache=cache).stdout)
    codes = [r["code"] for r in rules["rules"]]
    assert "MBR006" in codes and "MBR010" in codes
    assert next(r for r in rules["rules"] if r["code"] == "MBR010")["explanation"].startswith("Flags")
    before = (tree / MODELS_INIT).read_text()
    diff = json.loads(_cli("--diff", "--format", "json", "--select", "MBR005", cwd=tree, cache=cache).stdout)
    assert diff["kind"] == "fixes" and [f["path"] for f in diff["files"]] == [MODELS_INIT]
    assert '-    "Exaone4Bridge",' in diff["diff"]
    assert _apply(before, diff["files"][0]["edits"]).count('"Exaone4Bridge"') == 1
    assert (tree / MODELS_INIT).read_text() == before  # --diff writes nothing


@pytest.mark.parametrize("flag", ["--statistics", "--list-rules", "--diff"])
@pytest.mark.parametrize("fmt", ["sarif", "github"])
def test_text_or_json_only_modes_refuse_other_formats(tree: Path, cache: Path, flag: str, fmt: str) -> None:
    # ruff prints these as text whatever the format; a SARIF consumer would get a table instead.
    out = _cli(flag, "--format", fmt, cwd=tree, cache=cache)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr == f"error: {flag} prints text or json, not --format {fmt}\n"


def test_sarif_validates_against_the_official_schema(tree: Path, cache: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    out = _cli("--format", "sarif", "--select", "ALL", cwd=tree, cache=cache)
    doc = json.loads(out.stdout)
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, errors[0]
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    from analyzers.lint.engine import ALL_RULES

    assert [r["id"] for r in rules] == sorted(r.CODE for r in ALL_RULES)  # every selected rule, fired or not
    mbr010 = next(r for r in rules if r["id"] == "MBR010")
    assert mbr010["help"]["markdown"].startswith("# register-bridge-without-model-type (MBR010)")
    assert "\n## Why is this bad?\n" in mbr010["help"]["markdown"]
    assert not any(line.startswith("    ") for line in mbr010["fullDescription"]["text"].splitlines())
    levels = {r["id"]: r["defaultConfiguration"]["level"] for r in rules}
    assert levels["MBR010"] == "error" and levels["MBR053"] == "warning" and levels["MBR900"] == "warning"
    results = run["results"]
    assert all("endLine" in r["locations"][0]["physicalLocation"]["region"] for r in results)
    dup = next(r for r in results if r["ruleId"] == "MBR005")
    replacement = dup["fixes"][0]["artifactChanges"][0]["replacements"][0]
    assert replacement["deletedRegion"]["startLine"] == 309 and replacement["insertedContent"]["text"] == ""
    assert {r["level"] for r in results} >= {"error"}
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is True
    # The wheel tree has no tests/docs: nothing warns (checkout-only rules are notes), MBR013 runs.
    assert invocation["toolExecutionNotifications"] == []
