"""MBR033: an LLM bridge whose `provider_bridge` builds the provider without `super().provider_bridge()`."""

from __future__ import annotations

from collections.abc import Iterator

from analyzers.catalog.records import BridgeRecord
from analyzers.lint.rule import Finding, Invalid, LintRule
from analyzers.rules._common import llm_bridge
from analyzers.rules.mbr032_build_conversion_tasks_override import method_location

_HEAD = "from megatron.bridge.models.conversion.model_bridge import MegatronModelBridge\n\n\n"
_REG = '@MegatronModelBridge.register_bridge(source="FooForCausalLM", target=GPTModel, model_type="foo")\n'


class LlmProviderBridgeWithoutSuper(LintRule):
    """Flags text-only LLM bridges whose `provider_bridge` does not start from `super().provider_bridge()`.

    ## What it does
    For bridges registered with a `GPTModel`/`MambaModel` target that are not multimodal, checks
    that an overridden `provider_bridge` calls `super().provider_bridge(hf_pretrained)`.
    VLM and audio bridges build composite providers by hand and are not checked.

    ## Why is this bad?
    The base `provider_bridge` maps every field of `CONFIG_MAPPING` (hidden size, heads, rope,
    norms, dtype, vocab, MTP, MoE...) from the HF config. A bridge that constructs the provider
    itself silently drops fields added to `CONFIG_MAPPING` later and duplicates what the base does.

    ## Use instead
    `provider = super().provider_bridge(hf_pretrained)`, then set only the model-specific fields.
    """

    CODE = "MBR033"
    NAME = "llm-provider-bridge-without-super"
    MESSAGE = "`{bridge}.provider_bridge` builds the provider without `super().provider_bridge()`"
    VALID = [
        _HEAD
        + _REG
        + "class FooBridge(MegatronModelBridge):\n    def provider_bridge(self, hf_pretrained):\n        provider = super().provider_bridge(hf_pretrained)\n        provider.foo = 1\n        return provider\n",
        # multimodal bridges construct their providers themselves
        _HEAD
        + '@MegatronModelBridge.register_bridge(source="FooForConditionalGeneration", target=FooVLModel, model_type="foo_vl")\n'
        "class FooBridge(MegatronModelBridge):\n    def provider_bridge(self, hf_pretrained):\n        return FooVLModelProvider(hidden_size=hf_pretrained.config.text_config.hidden_size)\n",
    ]
    INVALID = [
        Invalid(
            _HEAD
            + _REG
            + "class FooBridge(MegatronModelBridge):\n    def provider_bridge(self, hf_pretrained):\n        cfg = hf_pretrained.config\n        return FooModelProvider(hidden_size=cfg.hidden_size)\n",
            expected_lines=(6,),
        ),
    ]

    def check_bridge(self, bridge: BridgeRecord) -> Iterator[Finding]:
        if (
            bridge.diffusion
            or "provider_bridge" not in bridge.hooks
            or bridge.provider_bridge_calls_super is not False
        ):
            return
        if not llm_bridge(bridge):
            return
        yield self.finding(method_location(self.ctx, bridge, "provider_bridge"), bridge=bridge.name)
