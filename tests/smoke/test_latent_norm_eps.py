"""The MLA latent-norm eps is visible to the logits check (the smoke env).

transformers builds GLM's `q_a_layernorm` / `kv_a_layernorm` with eps 1e-6, Megatron-Bridge with the
config's `rms_norm_eps` (1e-5; `bench/results/mb_defects.md`). The toy feeds those norms latents of mean
square ~1e-3 (`shrink_latent_norm_inputs`), where that eps is 100x the logits tolerance's worth, and
every other part of the function stays as it was: DeepSeek-V3 (eps 1e-6 on both sides) still agrees to
~1e-6, and GLM-4.7-Flash does too once transformers' latent norms get the config's eps.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.smoke.test_dsa import checks, probe  # noqa: E402

pytestmark = pytest.mark.smoke


@pytest.fixture(scope="module")
def glm_flash():
    import torch
    import transformers
    from transformers import AutoConfig

    from codemods.smoke._toy_config import load_source_config, toy_config_dict

    toy = toy_config_dict(load_source_config("glm4_moe_lite"))
    config = AutoConfig.for_model("glm4_moe_lite", **{k: v for k, v in toy.items() if k != "model_type"})
    torch.manual_seed(0)
    return transformers.Glm4MoeLiteForCausalLM(config).float().eval()


def _latents(model, ids) -> dict[str, list]:
    """The inputs each latent norm sees on `ids`."""
    import torch

    seen: dict[str, list] = {}
    hooks = [
        module.register_forward_pre_hook(lambda m, a, n=name: seen.setdefault(n, []).append(a[0]))
        for name, module in model.named_modules()
        if name.endswith(("q_a_layernorm", "kv_a_layernorm"))
    ]
    with torch.no_grad():
        model(input_ids=ids)
    for hook in hooks:
        hook.remove()
    return seen


def test_latent_norm_inputs_shrink_and_nothing_else_changes(glm_flash) -> None:
    import torch

    from codemods.smoke._toy_model import LATENT_INPUT_SCALE, shrink_latent_norm_inputs

    ids = torch.randint(0, 1024, (1, 32), generator=torch.Generator().manual_seed(0))
    before = {k: v.clone() for k, v in glm_flash.state_dict().items()}
    ms_before = {n: float(x[0].pow(2).mean()) for n, x in _latents(glm_flash, ids).items()}
    changed = shrink_latent_norm_inputs(glm_flash)
    assert len(changed) == 8  # q_a_proj and kv_a_proj_with_mqa of 4 layers
    after = glm_flash.state_dict()
    rank = glm_flash.config.kv_lora_rank
    for name, value in after.items():
        if name.endswith("kv_a_proj_with_mqa.weight"):
            torch.testing.assert_close(value[:rank], before[name][:rank] * LATENT_INPUT_SCALE)
            assert torch.equal(value[rank:], before[name][rank:])  # the RoPE key rows are no norm's input
        elif name.endswith("q_a_proj.weight"):
            torch.testing.assert_close(value, before[name] * LATENT_INPUT_SCALE)
        else:
            assert torch.equal(value, before[name]), name
    ms_after = {n: float(x[0].pow(2).mean()) for n, x in _latents(glm_flash, ids).items()}
    assert ms_before.keys() == ms_after.keys() and len(ms_after) == 8
    assert max(ms_after.values()) < 1e-2 < min(ms_before.values())


def test_glm_flash_differs_from_hf_in_the_latent_eps_only() -> None:
    registered = probe("glm4_moe_lite")["report"]
    logits = checks(registered)["logits"]
    assert [checks(registered)[n]["status"] for n in ("mapping", "filled", "export")] == ["pass"] * 3
    assert logits["status"] == "fail" and logits["details"]["max_abs_diff"] > 1e-3
    matched = probe("glm4_moe_lite", "hf_latent_eps")["report"]
    assert matched["passed"], matched
    assert checks(matched)["logits"]["details"]["max_abs_diff"] <= 1e-5
