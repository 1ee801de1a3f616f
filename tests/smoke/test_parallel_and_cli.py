"""Sharded layouts on CPU (gloo), a bridge under development, and the command's output hygiene."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from codemods.smoke import SmokeOptions, run_smoke_subprocess  # noqa: E402

pytestmark = pytest.mark.smoke


def smoke_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "codemods", "smoke", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def by_name(report) -> dict:
    return {c.name: c for c in report.checks}


@pytest.mark.parametrize(("model", "tp", "ep"), [("qwen3", 2, 1), ("qwen3_moe", 1, 2), ("qwen3_moe", 2, 2)])
def test_sharded_roundtrip_on_cpu_computes_hf_logits(tmp_path: Path, model: str, tp: int, ep: int) -> None:
    report = run_smoke_subprocess(SmokeOptions(model=model, tp=tp, ep=ep), tmp_path / "smoke.log")
    assert report.passed, report.summary()
    c = by_name(report)
    assert c["mapping"].details == {"unmapped_hf": [], "unmapped_megatron": []}  # all ranks' tasks together
    assert c["logits"].details["max_abs_diff"] <= 1e-5
    assert report.tp == tp and report.ep == ep


def test_unregistered_architecture_through_a_dev_bridge(tmp_path: Path) -> None:
    # Megatron-Bridge 0.6.2 registers no SeedOssForCausalLM: AutoBridge alone refuses the checkpoint.
    plain = run_smoke_subprocess(SmokeOptions(model="seed_oss"), tmp_path / "plain.log")
    assert not plain.passed and "not yet supported" in (plain.error or "") + (plain.traceback or "")
    report = run_smoke_subprocess(
        SmokeOptions(model="seed_oss", bridge="tests.smoke.dev_bridges:SeedOssBridge"), tmp_path / "dev.log"
    )
    assert report.passed, report.summary()
    assert report.bridge == "SeedOssBridge" and report.architecture == "SeedOssForCausalLM"


def test_json_output_is_only_json_and_names_the_log() -> None:
    out = smoke_cli("qwen3", "--num-layers", "2", "--format", "json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)  # nothing but the report on stdout
    assert (data["schema_version"], data["command"], data["kind"]) == (1, "smoke", "report") and data[
        "tool_version"
    ]
    assert data["passed"] is True and Path(data["log"]).is_file()
    assert "FP8GlobalStateManager" not in out.stdout + out.stderr  # library noise went to the log
    assert "FP8GlobalStateManager" in Path(data["log"]).read_text()


def test_repo_is_not_an_abbreviation_of_report(tmp_path: Path) -> None:
    out = smoke_cli("qwen3", "--repo", str(tmp_path))
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.strip() == f"error: {tmp_path}: not a Megatron-Bridge tree (no src/megatron/bridge/)"
    assert "--rep" in smoke_cli("qwen3", "--rep", str(tmp_path)).stderr  # no prefix matching


def test_minimax_m2s_cuda_device_is_the_cpu_inside_the_run_only() -> None:
    # _FullDimQKNormMapping (TP > 1) moves the HF q/k norm to torch.device("cuda", current_device()) before
    # broadcasting it over the TP group; on CPU that device is the CPU, inside the run and nowhere else.
    from codemods.smoke._te_shim import import_megatron

    import_megatron()
    import torch
    from megatron.bridge.models.minimax_m2 import minimax_m2_bridge as mm

    from codemods.smoke._cpu import cuda_calls_on_cpu

    with cuda_calls_on_cpu():
        device = mm.torch.device("cuda", mm.torch.cuda.current_device())
        assert device == torch.device("cpu") and isinstance(device, mm.torch.device)
        assert mm.torch.device("cpu", 0) == torch.device("cpu", 0) and mm.torch.float32 is torch.float32
        assert torch.device("cuda", 0).type == "cuda"  # torch itself is untouched
    assert mm.torch is torch
