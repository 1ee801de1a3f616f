"""A Qwen3 bridge with the fix the dequantization check asks for: FP8 weights dequantized on load.

Used with `--bridge tests.smoke.dequant_bridge:Qwen3DequantBridge` to show that a bridge overriding
`maybe_modify_loaded_hf_weight` with the shared helpers passes where the registered Qwen3 bridge fails.
"""

from megatron.bridge.models.conversion import quantization_utils
from megatron.bridge.models.qwen.qwen3_bridge import Qwen3Bridge


class Qwen3DequantBridge(Qwen3Bridge):
    def maybe_modify_loaded_hf_weight(self, hf_param, hf_state_dict):
        def load(name):
            return quantization_utils.maybe_dequantize_fp8_blockwise(
                hf_state_dict[name], hf_state_dict.get(name + "_scale_inv")
            )

        if isinstance(hf_param, dict):
            return {key: load(name) for key, name in hf_param.items()}
        return load(hf_param)
