"""The local FusedGateUpMLPMapping clone-family writes for a dense fused gate/up tensor (Phi3's gate_up_proj),
run on the installed Megatron-Bridge: it converts as GatedMLPMapping does on the two halves, and exports the
one fused tensor back bit-exact."""

from __future__ import annotations

import pytest

from codemods.clone_family._local_mappings import plan_local_mappings

pytestmark = pytest.mark.smoke


def test_the_class_converts_both_ways_at_tp1() -> None:
    import importlib

    import torch

    from codemods.smoke._te_shim import import_megatron

    import_megatron()
    param_mapping = importlib.import_module("megatron.bridge.models.conversion.param_mapping")
    (local,) = plan_local_mappings(["model.layers.*.mlp.gate_up_proj.weight"], "phi3", "")
    namespace = {"torch": torch, **vars(param_mapping)}
    exec(compile(local.source(), "local_mapping", "exec"), namespace)
    mapping = namespace["FusedGateUpMLPMapping"](
        "decoder.layers.*.mlp.linear_fc1.weight", "model.layers.*.mlp.gate_up_proj.weight"
    ).resolve(("3",))
    assert mapping.hf_param == "model.layers.3.mlp.gate_up_proj.weight"
    fused = torch.randn(2 * 6, 4)
    gate, up = fused[:6], fused[6:]
    reference = param_mapping.GatedMLPMapping("decoder.layers.3.mlp.linear_fc1.weight", gate="g", up="u")
    megatron = mapping.hf_to_megatron(fused, None)
    assert torch.equal(megatron, reference.hf_to_megatron({"gate": gate, "up": up}, None))
    exported = mapping.megatron_to_hf(megatron, None)
    assert list(exported) == ["model.layers.3.mlp.gate_up_proj.weight"]
    assert torch.equal(exported["model.layers.3.mlp.gate_up_proj.weight"], fused)
