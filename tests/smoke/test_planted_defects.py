"""Wrong provider settings planted into copies of passing bridges: the CPU logits check fails every one.

Each planted bridge (tests/smoke/planted_bridges.py) runs in its own process: registering it for the
architecture must not leak into other tests. The same bridges unplanted pass (test_roundtrip.py).
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from codemods.smoke import SmokeOptions, run_smoke_subprocess  # noqa: E402

pytestmark = pytest.mark.smoke

PLANTED = {
    "InterleavedRoPEQwen3Bridge": "qwen3",
    "SoftmaxScaleQwen3Bridge": "qwen3",
    "NoQKNormQwen3Bridge": "qwen3",
    "NormEpsQwen3Bridge": "qwen3",
    "NoQKVBiasQwen2Bridge": "qwen2",
    "RopeThetaQwen3Bridge": "qwen3",
}


@pytest.fixture(scope="module")
def planted_reports(tmp_path_factory: pytest.TempPathFactory) -> dict:
    logs = tmp_path_factory.mktemp("planted-logs")

    def one(name: str):
        opts = SmokeOptions(model=PLANTED[name], bridge=f"tests.smoke.planted_bridges:{name}")
        return name, run_smoke_subprocess(opts, logs / f"{name}.log")

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, PLANTED))


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_planted_defect_fails_the_logits_check(planted_reports: dict, name: str) -> None:
    report = planted_reports[name]
    assert report.error is None, report.error
    assert report.bridge == name  # the planted class, not the registered one, converted the toy
    logits = next(c for c in report.checks if c.name == "logits")
    assert logits.status == "fail", report.summary()
    assert logits.details["max_abs_diff"] > 10 * logits.details["tolerance"]  # far outside, not a near miss
    assert not report.passed


def test_roundtrip_alone_cannot_see_a_planted_defect(planted_reports: dict) -> None:
    # What the CPU smoke said before logits: mapping, filled and export all pass with a wrong RoPE layout.
    report = planted_reports["InterleavedRoPEQwen3Bridge"]
    assert {c.name: c.status for c in report.checks if c.name != "logits"} == {
        "mapping": "pass",
        "filled": "pass",
        "export": "pass",
    }
