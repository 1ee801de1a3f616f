"""Mini Megatron-Bridge trees for rule examples: a scaffold in MB's shape, overlaid with the example."""

from __future__ import annotations

from pathlib import Path

SCAFFOLD: dict[str, str] = {
    "src/megatron/__init__.py": "",
    "src/megatron/bridge/__init__.py": "",
    "src/megatron/bridge/models/__init__.py": (
        'from megatron.bridge.models.foo import FooBridge\n\n__all__ = ["FooBridge"]\n'
    ),
    "src/megatron/bridge/models/conversion/__init__.py": "",
    "src/megatron/bridge/models/conversion/mapping_registry.py": "class MegatronMappingRegistry:\n    def __init__(self, *mappings):\n        self.mappings = mappings\n",
    "src/megatron/bridge/models/conversion/model_bridge.py": (
        "class MegatronModelBridge:\n"
        "    @classmethod\n    def register_bridge(cls, *, source, target, provider=None, model_type=None):\n        return lambda c: c\n\n"
        "    def provider_bridge(self, hf_pretrained):\n        return None\n\n"
        "    def mapping_registry(self):\n        return None\n\n"
        "    @classmethod\n    def megatron_to_hf_config(cls, provider):\n        return {}\n\n"
        "    def build_conversion_tasks(self, hf_pretrained, megatron_model):\n        return []\n\n"
        "    def maybe_modify_loaded_hf_weight(self, hf_param, hf_state_dict):\n        return None\n\n\n"
        "def register_bridge_implementation(*, source, target, bridge_class):\n    pass\n"
    ),
    "src/megatron/bridge/models/conversion/param_mapping.py": (
        "class MegatronParamMapping:\n    def __init__(self, megatron_param, hf_param):\n        self.megatron_param = megatron_param\n\n\n"
        "class AutoMapping(MegatronParamMapping):\n    pass\n\n\n"
        "class QKVMapping(MegatronParamMapping):\n    def __init__(self, megatron_param, q, k, v):\n        super().__init__(megatron_param, {'q': q, 'k': k, 'v': v})\n\n\n"
        "class GatedMLPMapping(MegatronParamMapping):\n    def __init__(self, megatron_param, gate, up):\n        super().__init__(megatron_param, {'gate': gate, 'up': up})\n"
    ),
    "src/megatron/bridge/models/foo/__init__.py": (
        'from megatron.bridge.models.foo.foo_bridge import FooBridge\n\n__all__ = ["FooBridge"]\n'
    ),
    "src/megatron/bridge/models/foo/foo_bridge.py": (
        "from megatron.bridge.models.conversion.model_bridge import MegatronModelBridge\n\n\n"
        '@MegatronModelBridge.register_bridge(source="FooForCausalLM", target=GPTModel, model_type="foo")\n'
        "class FooBridge(MegatronModelBridge):\n    pass\n"
    ),
    "src/megatron/bridge/recipes/__init__.py": "",
}


def write_tree(
    root: Path, example: str | dict, default_path: str, extra: dict | None = None
) -> dict[str, str | bytes]:
    """Write the scaffold plus the example (a single file at `default_path`, or a mini tree); returns the overlay."""
    overlay: dict[str, str | bytes] = dict(extra or {})
    overlay.update({default_path: example} if isinstance(example, str) else example)
    for rel, content in {**SCAFFOLD, **overlay}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return overlay
