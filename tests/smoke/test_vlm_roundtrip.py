"""Vision-language models through the installed Megatron-Bridge on CPU (the smoke env: tox -e smoke).

The logits check feeds one tiny image per sequence through both towers. Qwen2.5-VL differs from HF only
in the mrope_section its bridge leaves at the provider default (`bench/results/mb_defects.md`): with that
one fix it passes every check, and a planted vision-tower defect on top of the fix fails at the first
image token, which text alone would never show. Qwen3-VL's own provide() builds TE-free and its only
difference is at the image (the patch merger's GELU); EXAONE 4.5 and MiniMax-M3-VL pass with an image.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # tests.smoke.vision_bridges is imported by dotted name

from codemods.smoke import SmokeOptions  # noqa: E402
from codemods.smoke._runner import run_smoke_subprocess  # noqa: E402

pytestmark = pytest.mark.smoke
BRIDGES = "tests.smoke.vision_bridges"
IMAGE_NOTE = "logits: text + one image per sequence"


def checks(report) -> dict:
    return {c.name: c for c in report.checks}


def run_smoke(opts: SmokeOptions, log: Path):
    # a process per run, as the sweep does: providers leave process state (NVTE_* attention flags) behind
    return run_smoke_subprocess(opts, log, timeout=600)


def test_qwen25_vl_differs_only_in_its_mrope_section(tmp_path: Path) -> None:
    registered = run_smoke(SmokeOptions(model="qwen2_5_vl"), tmp_path / "registered.log")
    found = checks(registered)
    assert [found[n].status for n in ("mapping", "filled", "export")] == ["pass"] * 3, registered.summary()
    assert found["logits"].status == "fail"
    assert found["logits"].summary.startswith("Qwen25VLBridge builds mrope_section [16, 24, 24] where the HF")
    fixed = run_smoke(
        SmokeOptions(model="qwen2_5_vl", bridge=f"{BRIDGES}:Qwen25VLMropeBridge"), tmp_path / "fixed.log"
    )
    assert fixed.passed, fixed.summary()
    assert any(line.startswith(IMAGE_NOTE) for line in fixed.adjustments)
    assert checks(fixed)["logits"].details["max_abs_diff"] < 1e-5


def test_a_planted_vision_tower_defect_fails_at_the_first_image_token(tmp_path: Path) -> None:
    report = run_smoke(
        SmokeOptions(model="qwen2_5_vl", bridge=f"{BRIDGES}:WrongVisionActQwen25VLBridge"), tmp_path / "s.log"
    )
    found = checks(report)
    assert [found[n].status for n in ("mapping", "filled", "export")] == ["pass"] * 3, report.summary()
    assert found["logits"].status == "fail"
    assert "first beyond tolerance at position 5 (an image token" in found["logits"].summary


def test_qwen3_vl_builds_te_free_and_differs_at_the_image_only(tmp_path: Path) -> None:
    report = run_smoke(SmokeOptions(model="qwen3_vl"), tmp_path / "smoke.log")
    found = checks(report)
    assert report.error is None, report.summary()
    assert [found[n].status for n in ("mapping", "filled", "export")] == ["pass"] * 3, report.summary()
    assert any("Qwen3VLModelProvider.provide() builds its own TE specs" in a for a in report.adjustments)
    assert any(a.startswith("TEDotProductAttention -> PackedDotProductAttention") for a in report.adjustments)
    # the merger's tanh GELU (HF: exact GELU) shows from the image on; the text before it is exact
    assert found["logits"].status == "fail"
    assert "(an image token: the vision tower / projector)" in found["logits"].summary


@pytest.mark.parametrize(
    ("model", "architecture"),
    [
        ("exaone4_5", "Exaone4_5_ForConditionalGeneration"),
        ("minimax_m3_vl", "MiniMaxM3SparseForConditionalGeneration"),
    ],
)
def test_vlms_pass_every_check_with_an_image(model: str, architecture: str, tmp_path: Path) -> None:
    report = run_smoke(SmokeOptions(model=model, architecture=architecture), tmp_path / "smoke.log")
    assert report.passed, report.summary()
    assert set(checks(report)) >= {"mapping", "filled", "export", "logits"}
    assert any(line.startswith(IMAGE_NOTE) for line in report.adjustments)
