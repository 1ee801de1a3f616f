"""Hybrid families through the installed Megatron-Bridge on CPU (the smoke env: tox -e smoke).

Nemotron-H (HybridModel: Mamba, MoE, attention, MLP layers) and Falcon-H1 (parallel Mamba + attention
layers, MuP multipliers) pass every check; Qwen3-Next fails on its gated-delta-net norm conversion only
(`bench/results/mb_defects.md`), which the fp32 twin of the bridge shows.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # tests.smoke.zero_centered_fp32_bridge is imported by dotted name

from codemods.smoke import SmokeOptions  # noqa: E402
from codemods.smoke._runner import run_smoke_subprocess  # noqa: E402

pytestmark = pytest.mark.smoke
FP32_NORM_BRIDGE = "tests.smoke.zero_centered_fp32_bridge:Qwen3NextFp32NormBridge"


def checks(report) -> dict:
    return {c.name: c for c in report.checks}


def run_smoke(opts: SmokeOptions, log: Path):
    # a process per run, as the sweep does: providers leave process state (NVTE_* attention flags) behind
    return run_smoke_subprocess(opts, log, timeout=600)


@pytest.mark.parametrize("model", ["nemotron_h", "falcon_h1"])
def test_mamba_hybrids_pass_every_check(model: str, tmp_path: Path) -> None:
    report = run_smoke(SmokeOptions(model=model), tmp_path / "smoke.log")
    assert report.passed, report.summary()
    assert set(checks(report)) >= {"mapping", "filled", "export", "logits"}
    assert any("Transformer Engine absent" in line for line in report.adjustments)


def test_qwen3_next_differs_only_in_the_gated_norm_conversion(tmp_path: Path) -> None:
    registered = checks(run_smoke(SmokeOptions(model="qwen3_next"), tmp_path / "registered.log"))
    assert registered["mapping"].status == registered["filled"].status == "pass"
    assert registered["export"].status == "fail"
    assert all(
        name.endswith("linear_attn.norm.weight") for name in registered["export"].details["mismatched"]
    )
    fixed = run_smoke(SmokeOptions(model="qwen3_next", bridge=FP32_NORM_BRIDGE), tmp_path / "fixed.log")
    assert fixed.passed, fixed.summary()


def test_kernel_references_apply_only_inside_the_cpu_run() -> None:
    from codemods.smoke._te_shim import import_megatron

    import_megatron()
    from megatron.core.ssm import mamba_mixer
    from megatron.core.ssm.gated_delta_net import common, gdn

    from codemods.smoke import _hybrid
    from codemods.smoke._cpu import cuda_calls_on_cpu
    from codemods.smoke._runner import SmokeSetupError

    if mamba_mixer.HAVE_MAMBA_SSM or common.HAVE_FLA:
        pytest.skip("mamba_ssm / flash-linear-attention installed: no reference is used")
    with pytest.raises(SmokeSetupError, match="mamba_ssm's selective-scan kernels"):
        _hybrid._mamba_kernels()
    with pytest.raises(SmokeSetupError, match="flash-linear-attention's kernels"):
        _hybrid._gdn_kernels()
    with cuda_calls_on_cpu():
        assert "pure-torch" in _hybrid._mamba_kernels()[0]
        assert "pure-torch" in _hybrid._gdn_kernels()[0]
        assert mamba_mixer.HAVE_MAMBA_SSM and common.HAVE_FLA
    assert mamba_mixer.mamba_chunk_scan_combined is None and gdn.chunk_gated_delta_rule is None
    assert not mamba_mixer.HAVE_MAMBA_SSM and not common.HAVE_FLA
