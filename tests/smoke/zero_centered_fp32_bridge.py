"""Qwen3-Next / Qwen3.5 bridges whose gated-norm conversion (HF weight w <-> Megatron zero-centred w - 1)
is done in fp32 instead of the checkpoint's bf16: the fix `bench/results/mb_defects.md` asks for.

Used with `--bridge tests.smoke.zero_centered_fp32_bridge:Qwen3NextFp32NormBridge` (and the Qwen3.5 ones)
to show that this conversion is the registered bridges' only difference from HF on the CPU smoke run.
"""

from megatron.bridge.models.conversion.mapping_registry import MegatronMappingRegistry
from megatron.bridge.models.conversion.param_mapping import AutoMapping, RMSNorm2ZeroCenteredRMSNormMapping
from megatron.bridge.models.qwen.qwen3_next_bridge import Qwen3NextBridge
from megatron.bridge.models.qwen.qwen35_bridge import Qwen35Bridge, Qwen35MoEBridge


class Fp32ZeroCenteredMapping(RMSNorm2ZeroCenteredRMSNormMapping):
    def hf_to_megatron(self, hf_weights, megatron_module):
        return AutoMapping.hf_to_megatron(self, hf_weights.float() - 1, megatron_module)

    def megatron_to_hf(self, megatron_weights, megatron_module):
        exported = AutoMapping.megatron_to_hf(self, megatron_weights, megatron_module)
        return {name: value.float() + 1 for name, value in exported.items()}


def _fp32_norms(registry: MegatronMappingRegistry) -> MegatronMappingRegistry:
    return MegatronMappingRegistry(
        *(
            Fp32ZeroCenteredMapping(m.megatron_param, m.hf_param)
            if type(m) is RMSNorm2ZeroCenteredRMSNormMapping
            else m
            for m in registry.mappings
        )
    )


class Qwen3NextFp32NormBridge(Qwen3NextBridge):
    def mapping_registry(self):
        return _fp32_norms(super().mapping_registry())


class Qwen35Fp32NormBridge(Qwen35Bridge):
    def mapping_registry(self):
        return _fp32_norms(super().mapping_registry())


class Qwen35MoEFp32NormBridge(Qwen35MoEBridge):
    def mapping_registry(self):
        return _fp32_norms(super().mapping_registry())
