"""The toy's shared experts are not one routed expert's size, so a bridge that gives Megatron the wrong
moe_shared_expert_intermediate_size fails the smoke test (a roundtrip check or the import), and the real
bridge passes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from codemods.smoke import SmokeOptions, run_smoke_subprocess  # noqa: E402
from codemods.smoke._toy_config import load_source_config, toy_config_dict  # noqa: E402


@pytest.mark.hf
@pytest.mark.parametrize(
    ("model_type", "size"),
    [
        ("glm4_moe", lambda t: t["moe_intermediate_size"] * t["n_shared_experts"]),
        ("deepseek_v3", lambda t: t["moe_intermediate_size"] * t["n_shared_experts"]),
        ("exaone_moe", lambda t: t["moe_intermediate_size"] * t["num_shared_experts"]),
        ("qwen3_next", lambda t: t["shared_expert_intermediate_size"]),
    ],
)
def test_shared_experts_of_the_toy_differ_from_a_routed_expert(model_type: str, size) -> None:
    # transformers' default configs; the shared MLP's size as the HF modeling code computes it
    toy = toy_config_dict(load_source_config(model_type))
    assert size(toy) != toy["moe_intermediate_size"]


def test_a_size_given_outright_keeps_its_count() -> None:
    # Nemotron-H sizes its shared MLP by moe_shared_expert_intermediate_size; n_shared_experts stays as given
    toy = toy_config_dict(load_source_config("nemotron_h"))
    assert toy["n_shared_experts"] == 1
    assert toy["moe_shared_expert_intermediate_size"] != toy["moe_intermediate_size"]


@pytest.mark.smoke
def test_shared_experts_of_a_routed_experts_size_fail_the_smoke_test(tmp_path: Path) -> None:
    name = "RoutedSizeSharedExpertsHYV3Bridge"
    opts = SmokeOptions(model="hy_v3", bridge=f"tests.smoke.planted_bridges:{name}")
    report = run_smoke_subprocess(opts, tmp_path / "planted.log")
    assert report.bridge == name
    assert not report.passed, report.summary()
    real = run_smoke_subprocess(SmokeOptions(model="hy_v3"), tmp_path / "real.log")
    assert real.passed, real.summary()
