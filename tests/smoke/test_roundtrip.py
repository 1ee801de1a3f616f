"""Real toy roundtrips through the installed Megatron-Bridge 0.6.2 (the smoke env: tox -e smoke).

One process runs every case (Megatron's parallel state and the TE stub are set up once), CPU only, with
the fp32 logits check; the GPU cases below run the same code on CUDA.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # tests.smoke.dequant_bridge is imported by dotted name

from codemods.smoke import DEQUANT_HINT, SmokeOptions, run_smoke  # noqa: E402

pytestmark = pytest.mark.smoke
DEQUANT_BRIDGE = "tests.smoke.dequant_bridge:Qwen3DequantBridge"


def checks(report) -> dict:
    return {c.name: c for c in report.checks}


@pytest.fixture(scope="module")
def qwen3():
    return run_smoke(SmokeOptions(model="qwen3"))


@pytest.fixture(scope="module")
def qwen3_moe():
    return run_smoke(SmokeOptions(model="qwen3_moe"))


def test_qwen3_roundtrip_is_bit_exact(qwen3) -> None:
    assert qwen3.passed, qwen3.summary()
    c = checks(qwen3)
    assert c["mapping"].details == {"unmapped_hf": [], "unmapped_megatron": []}
    assert c["filled"].details["total"] == 35  # 4 layers x 8 + embedding, final norm, output layer
    assert c["export"].summary.startswith("47/47 tensors bit-exact")
    assert c["logits"].status == "pass" and c["logits"].details["dtype"] == "float32"
    assert c["logits"].details["max_abs_diff"] <= 1e-5  # a correct bridge agrees to about 1e-6
    assert qwen3.bridge == "Qwen3Bridge" and qwen3.architecture == "Qwen3ForCausalLM"


def test_qwen3_moe_roundtrip_is_bit_exact(qwen3_moe) -> None:
    assert qwen3_moe.passed, qwen3_moe.summary()
    c = checks(qwen3_moe)
    assert c["export"].summary.startswith("87/87 tensors bit-exact")  # (4 experts x 3 + 9) x 4 layers + 3
    assert "moe_token_dispatcher_type -> allgather (CPU)" in qwen3_moe.adjustments


def test_fp8_through_qwen3_fails_naming_the_hook(tmp_path: Path) -> None:
    from codemods.commands import smoke

    parser = argparse.ArgumentParser()
    smoke.add_arguments(parser)
    report_path = tmp_path / "report.json"
    code = smoke.run(
        parser.parse_args(
            ["qwen3", "--num-layers", "2", "--quantize", "fp8-block", "--report", str(report_path)]
        )
    )
    assert code == 1
    data = json.loads(report_path.read_text())
    assert data["passed"] is False
    dq = next(c for c in data["checks"] if c["name"] == "dequantization")
    assert dq["status"] == "fail"
    assert "maybe_modify_loaded_hf_weight" in dq["summary"] and DEQUANT_HINT in dq["summary"]
    assert "quantization_utils.py" in dq["summary"] and dq["details"]["bridge_overrides_hook"] is False
    worst = max(p["imported_std"] for p in dq["details"]["params"])
    assert worst > 50 and all(abs(p["reference_std"] - 0.02) < 0.003 for p in dq["details"]["params"])
    export = next(c for c in data["checks"] if c["name"] == "export")
    assert export["status"] == "fail" and export["details"]["max_abs_diff"] > 100


def test_fp8_through_a_dequantizing_bridge_passes() -> None:
    report = run_smoke(SmokeOptions(model="qwen3", num_layers=2, quantize="fp8-block", bridge=DEQUANT_BRIDGE))
    assert report.passed, report.summary()
    dq = checks(report)["dequantization"]
    # qkv, proj, fc1, fc2 per toy layer
    assert dq.details["bridge_overrides_hook"] is True
    assert len(dq.details["params"]) == 4 * report.toy_config["num_hidden_layers"]
    assert all(0.9 < p["ratio"] < 1.1 for p in dq.details["params"])
    assert checks(report)["export"].details["max_abs_diff"] == 0


def test_mla_on_cpu_computes_hf_logits() -> None:
    report = run_smoke(SmokeOptions(model="deepseek_v3"))
    assert report.passed, report.summary()
    assert checks(report)["logits"].details["max_abs_diff"] <= 1e-5


@pytest.mark.gpu
@pytest.mark.parametrize(
    ("model", "quantize", "bridge", "passes"),
    [
        ("qwen3", "none", None, True),
        ("qwen3_moe", "none", None, True),
        ("deepseek_v3", "fp8-block", None, True),  # DeepSeekV3Bridge dequantizes on load
        ("qwen3", "fp8-block", None, False),
    ],
)
def test_gpu_roundtrips(model: str, quantize: str, bridge: str | None, passes: bool) -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    report = run_smoke(SmokeOptions(model=model, quantize=quantize, device="cuda", bridge=bridge))
    assert report.passed is passes, report.summary()
    assert checks(report)["logits"].status == ("pass" if passes else "fail")
    assert checks(report)["logits"].details["dtype"] == "float32"
