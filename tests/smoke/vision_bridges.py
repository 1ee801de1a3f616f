"""VLM bridges for the smoke tests: a registered bridge with the one fix a Megatron-Bridge defect needs
(`bench/results/mb_defects.md`), and that fixed bridge with one planted vision-tower defect.

Used with `--bridge tests.smoke.vision_bridges:<Class>`; not registered (the smoke test registers them for
the toy's architecture, against the Megatron model class of the bridge they subclass).
"""

import copy

from megatron.bridge.models.qwen_vl.qwen25_vl_bridge import Qwen25VLBridge


class Qwen25VLMropeBridge(Qwen25VLBridge):
    """Qwen25VLBridge that carries the HF config's `mrope_section` over to the provider (the registered one
    keeps the provider's default [16, 24, 24] whatever the config says)."""

    def provider_bridge(self, hf_pretrained):
        provider = super().provider_bridge(hf_pretrained)
        rope = getattr(hf_pretrained.config.text_config, "rope_parameters", None) or {}
        if rope.get("mrope_section"):
            provider.mrope_section = list(rope["mrope_section"])
        return provider


class WrongVisionActQwen25VLBridge(Qwen25VLMropeBridge):
    """The fixed bridge with a planted vision-tower defect: the Megatron model's tower runs tanh GELU where
    the checkpoint's tower uses SiLU. The weights round-trip bit-exactly; only an image shows it."""

    def provider_bridge(self, hf_pretrained):
        provider = super().provider_bridge(hf_pretrained)
        provider.vision_config = copy.deepcopy(provider.vision_config)
        provider.vision_config.hidden_act = "gelu_pytorch_tanh"
        return provider
