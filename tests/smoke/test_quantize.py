"""Quantizers: checkpoint layout of each scheme and the dequantized reference (torch, no Megatron)."""

import pytest
import torch

from codemods.smoke._quantize import FP4_VALUES, quantize_state_dict, should_quantize  # noqa: E402

pytestmark = pytest.mark.hf

NAME = "model.layers.0.self_attn.q_proj.weight"


@pytest.fixture
def state() -> dict:
    gen = torch.Generator().manual_seed(0)
    return {
        NAME: (torch.randn(300, 256, generator=gen) * 0.02).bfloat16(),
        "model.layers.0.input_layernorm.weight": torch.ones(256, dtype=torch.bfloat16),
        "model.layers.0.mlp.gate.weight": torch.randn(4, 256).bfloat16(),  # MoE router: stays
        "model.embed_tokens.weight": torch.randn(1024, 256).bfloat16(),
    }


def test_only_decoder_linear_weights_are_quantized(state: dict) -> None:
    assert [n for n, t in state.items() if should_quantize(n, t)] == [NAME]


def test_fp8_block_layout_and_raw_values_are_off_by_hundreds(state: dict) -> None:
    q = quantize_state_dict(state, "fp8-block")
    assert q.tensors[NAME].dtype == torch.float8_e4m3fn
    assert q.tensors[NAME + "_scale_inv"].shape == (3, 2)  # ceil(300/128) x 256/128
    ref = q.reference[NAME].float()
    assert (ref - state[NAME].float()).abs().max() < 0.004  # e4m3 keeps 3 mantissa bits
    raw_std = q.tensors[NAME].float().std()
    assert 50 < raw_std < 300 and abs(ref.std() - 0.02) < 0.002  # the silent failure: std ~100 vs 0.02
    assert q.quantization_config()["weight_block_size"] == [128, 128]


def test_fp8_tensor_has_one_scale(state: dict) -> None:
    q = quantize_state_dict(state, "fp8-tensor")
    assert q.tensors[NAME + "_scale_inv"].shape == ()
    assert (q.reference[NAME].float() - state[NAME].float()).abs().max() < 0.004


def test_mxfp4_quantizes_gpt_oss_experts_in_checkpoint_layout(state: dict) -> None:
    experts = "model.layers.0.mlp.experts.gate_up_proj"
    gen = torch.Generator().manual_seed(1)
    state = {**state, experts: (torch.randn(2, 64, 96, generator=gen) * 0.02).bfloat16()}  # [E, in, out]
    q = quantize_state_dict(state, "mxfp4")
    assert q.quantized == [experts] and NAME in q.tensors  # attention stays bf16, as in GPT-OSS checkpoints
    blocks, scales = q.tensors[experts + "_blocks"], q.tensors[experts + "_scales"]
    assert blocks.shape == (2, 96, 2, 16) and blocks.dtype == torch.uint8 and scales.shape == (2, 96, 2)
    # decode by hand: low nibble first, value * 2^(scale - 127); stored row r of expert e is column r
    row = blocks[1, 5, 0]
    codes = torch.stack([row & 0xF, row >> 4], dim=-1).flatten().long()
    values = torch.tensor(FP4_VALUES)[codes] * 2.0 ** (scales[1, 5, 0].item() - 127)
    assert torch.equal(values.bfloat16(), q.reference[experts][1, :32, 5])
    assert (q.reference[experts].float() - state[experts].float()).abs().max() < 0.02
