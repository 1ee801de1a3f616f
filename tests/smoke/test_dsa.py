"""GLM-5's DeepSeek Sparse Attention through the installed Megatron-Bridge on CPU (the smoke env).

The TE-free DSA spec keeps Megatron-Core's indexer and sparse top-k attention; the toy's top-k (8) is
below the logits check's 32 tokens, so the selection is a strict subset and a dense attention fails the
check. The registered bridge fails the logits check on the MLA latent-norm eps alone
(`bench/results/mb_defects.md`): with transformers' latent norms given that eps it passes at ~1e-6.
"""

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


def probe(model: str, *probes: str) -> dict:
    """`tests.smoke.probes` in its own process: the report and what the probes recorded."""
    out = subprocess.run(
        [sys.executable, "-m", "tests.smoke.probes", model, ",".join(probes)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith('{"report"')]
    assert lines, f"probe printed no report (exit {out.returncode}): {out.stderr[-3000:]}"
    return json.loads(lines[-1])


def checks(report: dict) -> dict:
    return {c["name"]: c for c in report["checks"]}


# --- the spec -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def glm5_provider(tmp_path_factory: pytest.TempPathFactory):
    from codemods.smoke._te_shim import import_megatron
    from codemods.smoke._toy_config import load_source_config, toy_config_dict
    from codemods.smoke._toy_model import build_toy_checkpoint

    import_megatron()
    from megatron.bridge import AutoBridge

    ckpt = build_toy_checkpoint(
        toy_config_dict(load_source_config("glm_moe_dsa")), tmp_path_factory.mktemp("glm5")
    )
    return AutoBridge.from_hf_pretrained(str(ckpt)).to_megatron_provider(load_weights=False)


def test_dsa_spec_keeps_the_indexer_and_sparse_attention(glm5_provider) -> None:
    from megatron.core.post_training.modelopt.layers import Linear
    from megatron.core.tensor_parallel import ColumnParallelLinear
    from megatron.core.transformer.experimental_attention_variant.absorbed_mla import AbsorbedMLASelfAttention
    from megatron.core.transformer.experimental_attention_variant.dsa import DSAIndexer, DSAttention

    from codemods.smoke._local_modules import TEFreeNorm
    from codemods.smoke._te_free import te_free_spec

    notes = te_free_spec(glm5_provider)
    assert not any("not listed" in n for n in notes), notes  # the dry build ran
    assert any("DSA indexer TELinear (duplicated) -> Megatron-Core local Linear" in n for n in notes)
    assert any("TEGroupedMLP on GroupedLinear twins" in n for n in notes)  # moe_grouped_gemm, as with TE
    block = glm5_provider.transformer_layer_spec(glm5_provider, dry=True)
    assert len(block.layer_specs) == 4 and block.layer_norm is TEFreeNorm
    for layer in block.layer_specs:
        attention = layer.submodules.self_attention
        assert attention.module is AbsorbedMLASelfAttention  # not the dense MLASelfAttention
        subs = attention.submodules
        assert subs.linear_q_down_proj is ColumnParallelLinear is subs.linear_kv_down_proj
        assert subs.q_layernorm is TEFreeNorm is subs.kv_layernorm
        core = subs.core_attention
        assert core.module is DSAttention and core.submodules.indexer.module is DSAIndexer
        indexer = core.submodules.indexer.submodules
        assert indexer.linear_wq_b is Linear is indexer.linear_wk is indexer.linear_weights_proj
        assert indexer.k_norm is TEFreeNorm


def test_local_linear_is_mapped_as_replicated_only_inside_the_block() -> None:
    from codemods.smoke._te_shim import import_megatron

    import_megatron()
    import torch
    from megatron.bridge.models.conversion.param_mapping import AutoMapping
    from megatron.core.post_training.modelopt.layers import Linear
    from megatron.core.transformer.transformer_config import TransformerConfig

    from codemods.smoke._dsa import local_linear_mapped

    config = TransformerConfig(num_layers=1, hidden_size=8, num_attention_heads=1)
    model = [torch.nn.Sequential(Linear(8, 4, config=config, init_method=torch.nn.init.zeros_, bias=False))]
    mapping = AutoMapping("decoder.w.weight", "model.w.weight")
    with pytest.raises(ValueError, match="Cannot determine parallelism type for module 'Linear'"):
        mapping._detect_parallelism_type(model[0][0])
    with local_linear_mapped(model) as notes:
        assert mapping._detect_parallelism_type(model[0][0]) == "replicated"
        assert "registered as replicated" in notes[0]
    assert not any("Linear" in names for names in AutoMapping._MODULE_TYPE_REGISTRY.values())
    with local_linear_mapped([torch.nn.Sequential(torch.nn.Identity())]) as notes:
        assert notes == []  # nothing registered for a model without one


# --- the roundtrip ------------------------------------------------------------------------------------


def test_registered_glm5_fails_the_logits_check_only(tmp_path: Path) -> None:
    report = run_smoke_subprocess(SmokeOptions(model="glm_moe_dsa"), tmp_path / "smoke.log", timeout=600)
    c = {check.name: check for check in report.checks}
    assert report.error is None, report.error
    assert [c[n].status for n in ("mapping", "filled", "export")] == ["pass"] * 3
    assert c["export"].summary.startswith("113/113 tensors bit-exact")
    assert c["logits"].status == "fail"  # the latent-norm eps, below
    assert c["logits"].details["max_abs_diff"] > 1e-3
    assert any("registered as replicated" in line for line in report.adjustments)


def test_glm5_with_hfs_latent_eps_passes_on_a_strict_top_k(tmp_path: Path) -> None:
    data = probe("glm_moe_dsa", "hf_latent_eps", "record_topk")
    report = data["report"]
    assert report["passed"], report
    assert checks(report)["logits"]["details"]["max_abs_diff"] <= 1e-5
    # every layer's indexer ran and kept 8 of the 32 keys: queries from position 8 on see a strict subset
    assert data["topk"] == [{"k": 8, "indices": [2, 32, 8], "keys": 32}] * 4


def test_a_dense_attention_fails_the_logits_check(tmp_path: Path) -> None:
    data = probe("glm_moe_dsa", "hf_latent_eps", "dense_indexer")
    logits = checks(data["report"])["logits"]
    assert logits["status"] == "fail" and logits["details"]["max_abs_diff"] > 1e-2
