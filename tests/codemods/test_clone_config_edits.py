"""clone-family --config's transforms, one behaviour per test: the bridge's provider settings and TODOs, and
the HF config dicts of the cloned tests."""

from __future__ import annotations

import libcst as cst

from codemods.clone_family._config_edits import ConfigDecisions, apply_bridge_edits, update_config_dicts
from tests.codemod import assert_codemod


def _bridge(code: str, **decisions: object) -> str:
    return apply_bridge_edits(cst.parse_module(code), "Qwen9Bridge", ConfigDecisions(**decisions)).code


def _test_dicts(code: str) -> str:
    config = {"hidden_size": 2048, "model_type": "qwen3", "tie_word_embeddings": False}
    toy = {"hidden_size": 256, "model_type": "qwen3"}
    names = {"model_type": "qwen9", "architectures": ["Qwen9ForCausalLM"]}
    return update_config_dicts(code, config, toy, names)[0]


BRIDGE = """
class Qwen9Bridge(MegatronModelBridge):
    def provider_bridge(self, hf):
        provider = Provider()
        provider.add_qkv_bias = True
        return provider

    def mapping_registry(self):
        return MegatronMappingRegistry(*mappings)


class OtherBridge(MegatronModelBridge):
    def provider_bridge(self, hf):
        provider = Provider()
        provider.add_qkv_bias = True
        return provider
"""


def test_provider_settings_are_set_or_added_in_the_bridge_only() -> None:
    after = BRIDGE.replace(
        "provider.add_qkv_bias = True\n        return",
        "provider.add_qkv_bias = False\n        provider.qk_layernorm = True\n        return",
        1,
    )
    attributes = {"add_qkv_bias": ("False", "no bias"), "qk_layernorm": ("True", "q/k norms")}
    assert_codemod(_bridge, BRIDGE, after, attributes=attributes)


def test_registry_todos_go_above_its_return() -> None:
    after = BRIDGE.replace(
        "        return MegatronMappingRegistry",
        "        # TODO(bridgesmith): add the q/k norm mappings\n        return MegatronMappingRegistry",
    )
    assert_codemod(_bridge, BRIDGE, after, registry_todos=["add the q/k norm\n   mappings"])


def test_test_config_dicts_take_the_config_and_toy_dicts_its_toy_sizes() -> None:
    assert_codemod(
        _test_dicts,
        """
        QWEN3_CONFIG = {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "hidden_size": 4096}
        HF_QWEN3_TOY_MODEL_CONFIG = {"model_type": "qwen3", "hidden_size": 64, "tie_word_embeddings": True}
        OTHER = {"hidden_size": 1}
        """,
        """
        QWEN3_CONFIG = {"architectures": ["Qwen9ForCausalLM"], "model_type": "qwen9", "hidden_size": 2048}
        HF_QWEN3_TOY_MODEL_CONFIG = {"model_type": "qwen9", "hidden_size": 256, "tie_word_embeddings": True}
        OTHER = {"hidden_size": 1}
        """,
    )
