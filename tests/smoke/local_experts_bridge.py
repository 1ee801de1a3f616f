"""GLM-4.5 and EXAONE-MoE bridges with the fix `bench/results/mb_defects.md` asks for: routed experts mapped
in the SequentialMLP layout (`local_experts.<N>`) as well as the grouped-GEMM one.

Used with `smoke glm4_moe --bridge tests.smoke.local_experts_bridge:LocalExpertsGLM45Bridge` (and
`exaone_moe ... :LocalExpertsExaoneMoeBridge`) to show that the registered bridges' only gap on a
Transformer-Engine-free model is this mapping: with it every check passes, logits included.
"""

from megatron.bridge.models.conversion.mapping_registry import MegatronMappingRegistry
from megatron.bridge.models.conversion.param_mapping import AutoMapping, GatedMLPMapping
from megatron.bridge.models.exaone.exaone_moe.exaone_moe_bridge import ExaoneMoeBridge
from megatron.bridge.models.glm.glm45_bridge import GLM45Bridge


def _local_expert_mappings() -> list:
    return [
        GatedMLPMapping(
            megatron_param="decoder.layers.*.mlp.experts.local_experts.*.linear_fc1.weight",
            gate="model.layers.*.mlp.experts.*.gate_proj.weight",
            up="model.layers.*.mlp.experts.*.up_proj.weight",
        ),
        AutoMapping(
            megatron_param="decoder.layers.*.mlp.experts.local_experts.*.linear_fc2.weight",
            hf_param="model.layers.*.mlp.experts.*.down_proj.weight",
        ),
    ]


class LocalExpertsGLM45Bridge(GLM45Bridge):
    def mapping_registry(self) -> MegatronMappingRegistry:
        return MegatronMappingRegistry(*super().mapping_registry(), *_local_expert_mappings())


class LocalExpertsExaoneMoeBridge(ExaoneMoeBridge):
    def mapping_registry(self) -> MegatronMappingRegistry:
        return MegatronMappingRegistry(*super().mapping_registry(), *_local_expert_mappings())
