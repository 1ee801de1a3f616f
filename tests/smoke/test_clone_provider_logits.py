"""clone-family --config --smoke on an architecture Megatron-Bridge does not support: the generated bridge,
with no hand edit, computes HF's logits on CPU (the provider settings the config implies written in)."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemods.cli import main
from tests.conftest import make_checkout

pytestmark = pytest.mark.smoke


def _clone_and_smoke(real_tree: Path, tmp_path: Path, capsys, src: str, model_type: str) -> str:
    """`clone-family SRC MODEL_TYPE --config <transformers' default config> --smoke` on a checkout copy;
    asserts exit 0 and returns what it printed."""
    from transformers import AutoConfig

    tree = make_checkout(real_tree, tmp_path / "tree")
    AutoConfig.for_model(model_type).save_pretrained(tmp_path / model_type)
    config = str(tmp_path / model_type / "config.json")
    argv = ["clone-family", src, model_type, "--repo", str(tree), "--config", config, "--smoke"]
    assert main(argv) == 0
    return capsys.readouterr().out


def test_mixtral_cloned_from_minimax_m2_passes_the_logits_check(
    real_tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # MiniMax-M2 (nearest's top-1 for Mixtral) routes by sigmoid with an expert bias and builds full-dimension
    # q/k norms through its own layer spec; Mixtral has softmax routing, no expert bias, no q/k norm. Before the
    # provider writes the toy did not build ("spec sets q_layernorm=FullDimQNorm but qk_layernorm ... disabled").
    out = _clone_and_smoke(real_tree, tmp_path, capsys, "minimax_m2", "mixtral")
    assert "(MixtralForCausalLM via MixtralBridge)" in out
    assert "PASS    export" in out
    assert "PASS    logits          fp32" in out


def test_phi3_cloned_from_llama_passes_the_logits_check_through_its_local_gate_up_mapping(
    real_tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Phi3 fuses the dense MLP's gate and up into one gate_up_proj tensor no catalog class takes: without the
    # local FusedGateUpMLPMapping the clone was refused ("cannot be expressed: fused gate/up MLP tensor")
    out = _clone_and_smoke(real_tree, tmp_path, capsys, "llama", "phi3")
    assert "(Phi3ForCausalLM via Phi3Bridge)" in out
    assert "PASS    mapping" in out and "PASS    export" in out
    assert "PASS    logits          fp32" in out
