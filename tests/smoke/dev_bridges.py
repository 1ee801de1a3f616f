"""A bridge under development for an architecture Megatron-Bridge 0.6.2 does not register: Seed-OSS.

Seed-OSS is Qwen2's block structure (q/k/v biases, no output-projection bias by default, RMSNorm, SwiGLU),
so Qwen2's bridge subclassed without a `register_bridge` decorator is a correct bridge for it; the smoke
test must register it for `SeedOssForCausalLM` itself (`--bridge tests.smoke.dev_bridges:SeedOssBridge`).
"""

from megatron.bridge.models.qwen.qwen2_bridge import Qwen2Bridge


class SeedOssBridge(Qwen2Bridge):
    """Qwen2's conversion, for SeedOssForCausalLM (not registered: the smoke test registers it)."""
