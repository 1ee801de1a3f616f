"""The toy checkpoint's weights: nothing transformers initialises to a constant stays one."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.smoke


def test_a_router_transformers_leaves_at_zero_gets_random_values(tmp_path: Path) -> None:
    """ERNIE 4.5's MoE router starts at zero: every expert would score the same, so sigmoid and softmax
    routing (MB's ERNIE bridges vs HF) would compute the same function on the toy."""
    from codemods.smoke._toy_config import load_source_config, toy_config_dict
    from codemods.smoke._toy_model import build_toy_checkpoint, read_safetensors

    ckpt = build_toy_checkpoint(toy_config_dict(load_source_config("ernie4_5_moe")), tmp_path / "ernie")
    tensors = read_safetensors(ckpt)
    gates = {name: t for name, t in tensors.items() if name.endswith("mlp.gate.weight")}
    assert gates, sorted(tensors)[:20]
    for name, gate in gates.items():
        assert gate.float().std() > 0.005, name
    matrices = [name for name, t in tensors.items() if t.ndim >= 2 and not t.any()]
    assert not matrices, f"all-zero weight matrices left in the toy: {matrices}"
