"""The sweep's matrix and its comparison with an expected matrix (no torch: rows built by hand)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyzers.errors import ConfigError
from codemods.smoke._cases import SmokeCase
from codemods.smoke._report import Check, SmokeReport
from codemods.smoke._sweep import COLUMNS, _row, compare_expected, load_expected, render

CASE = SmokeCase(
    "Qwen3ForCausalLM", "Qwen3Bridge", "megatron.bridge.models.qwen.qwen3_bridge", "qwen", "qwen3", None
)


def report(logits_status: str = "pass", error: str | None = None) -> SmokeReport:
    checks = [Check(name, "pass", "ok") for name in ("mapping", "filled", "export")]
    checks.append(
        Check("logits", logits_status, "fp32 ...", {"max_abs_diff": 0.5 if logits_status == "fail" else 1e-6})
    )
    return SmokeReport(model="qwen3", checks=[] if error else checks, error=error, timings_s={"total": 5.0})


def test_row_carries_every_column_and_one_reason() -> None:
    row = _row(CASE, report("fail"), None)
    assert row.status == "fail" and row.checks == {
        "mapping": "pass",
        "filled": "pass",
        "export": "pass",
        "logits": "fail",
        "dequantization": "-",
    }
    assert row.reason == "logits: fp32 ..." and row.logits_max_diff == 0.5
    assert _row(CASE, report(error="KeyError: 'factor'"), None).reason == "KeyError: 'factor'"


def test_render_formats(tmp_path: Path) -> None:
    rows = [_row(CASE, report(), None)]
    text = render(rows, "text", {"wall_s": 12.0})
    assert text.splitlines()[0].split()[:4] == ["family", "model_type", "bridge", "mapping"]
    assert text.splitlines()[-1] == "1 pass, 0 fail, 0 skipped in 12 s"
    md = render(rows, "markdown", {})
    assert md.splitlines()[1] == "|" + "---|" * (len(COLUMNS) + 5)
    data = json.loads(render(rows, "json", {"device": "cpu"}))
    assert data["schema_version"] == 1 and data["rows"][0]["architecture"] == "Qwen3ForCausalLM"
    assert (data["command"], data["kind"], data["device"]) == ("smoke", "matrix", "cpu") and data[
        "tool_version"
    ]
    path = tmp_path / "expected.json"
    path.write_text(render(rows, "json", {}))
    assert set(load_expected(path)) == {"Qwen3ForCausalLM"}


def test_regressions_and_unrecorded_passes_are_differences(tmp_path: Path) -> None:
    passing, failing = _row(CASE, report(), None), _row(CASE, report("fail"), None)
    expected_pass = {CASE.architecture: json.loads(render([passing], "json", {}))["rows"][0]}
    expected_fail = {CASE.architecture: json.loads(render([failing], "json", {}))["rows"][0]}
    assert compare_expected([passing], expected_pass) == []
    assert compare_expected([failing], expected_fail) == []
    assert compare_expected([failing], expected_pass) == [
        "Qwen3ForCausalLM: expected pass, now fail: logits: fp32 ..."
    ]
    assert "update the expected matrix" in compare_expected([passing], expected_fail)[0]
    assert compare_expected([], expected_pass) == ["Qwen3ForCausalLM: expected but not run"]


def test_bad_expected_matrix_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match=r"not valid JSON"):
        load_expected(path)
    path.write_text("[]")
    with pytest.raises(ConfigError, match="no `rows` list"):
        load_expected(path)


def test_expected_matrix_leaves_out_what_changes_between_runs() -> None:
    from codemods.smoke._sweep import expected_json

    row = _row(CASE, report(), None)
    row.log = "/tmp/bridgesmith-smoke-logs-x/Qwen3ForCausalLM.log"
    data = json.loads(expected_json([row], {"device": "cpu", "tp": 1, "ep": 1, "wall_s": 3.0}))
    assert (data["device"], data["tp"], "wall_s" in data, "tool_version" in data) == ("cpu", 1, False, False)
    assert "log" not in data["rows"][0] and "seconds" not in data["rows"][0]
    assert data["rows"][0]["checks"]["logits"] == "pass"
