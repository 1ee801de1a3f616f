"""Copies of passing bridges with one wrong provider setting each: the roundtrip stays bit-exact, the
function does not. The CPU logits check must fail every one (tests/smoke/test_planted_defects.py).

Each class is used with `--bridge tests.smoke.planted_bridges:<Class>`. Shared experts of the wrong size
change the tensor shapes, so the smoke test fails before logits (tests/smoke/test_shared_expert_toy.py).
"""

from megatron.bridge.models.hy_v3.hy_v3_bridge import HYV3Bridge
from megatron.bridge.models.qwen.qwen2_bridge import Qwen2Bridge
from megatron.bridge.models.qwen.qwen3_bridge import Qwen3Bridge


class _Planted:
    #: provider attribute -> the wrong value planted after the real provider_bridge ran
    PLANT: dict = {}

    def provider_bridge(self, hf_pretrained):
        provider = super().provider_bridge(hf_pretrained)
        for name, value in self.PLANT.items():
            setattr(provider, name, value(getattr(provider, name)) if callable(value) else value)
        return provider


class InterleavedRoPEQwen3Bridge(_Planted, Qwen3Bridge):
    PLANT = {"rotary_interleaved": lambda v: not v}


class SoftmaxScaleQwen3Bridge(_Planted, Qwen3Bridge):
    PLANT = {"softmax_scale": 0.5 / 8.0}  # head_dim 64: the right scale is 1/8


class NoQKNormQwen3Bridge(_Planted, Qwen3Bridge):
    PLANT = {"qk_layernorm": False}


class NormEpsQwen3Bridge(_Planted, Qwen3Bridge):
    PLANT = {"layernorm_epsilon": 1e-2}


class NoQKVBiasQwen2Bridge(_Planted, Qwen2Bridge):
    PLANT = {"add_qkv_bias": False}


class RopeThetaQwen3Bridge(_Planted, Qwen3Bridge):
    PLANT = {"rotary_base": lambda v: v * 10}


class RoutedSizeSharedExpertsHYV3Bridge(HYV3Bridge):
    """Shared experts of one routed expert's size: HY-V3's shared MLP is num_shared_experts x that."""

    def provider_bridge(self, hf_pretrained):
        provider = super().provider_bridge(hf_pretrained)
        provider.moe_shared_expert_intermediate_size = provider.moe_ffn_hidden_size
        return provider
