"""MBR010: `register_bridge(...)` without `model_type`."""

from __future__ import annotations

from collections.abc import Iterator

from analyzers.catalog.records import BridgeRecord
from analyzers.lint.rule import Finding, Invalid, LintRule
from analyzers.rules._common import bridge_ancestors

_HEAD = "from megatron.bridge.models.conversion.model_bridge import MegatronModelBridge\n\n\n"


class RegisterBridgeWithoutModelType(LintRule):
    """Flags `register_bridge(...)` registrations that give no `model_type`.

    ## What it does
    Checks each `@MegatronModelBridge.register_bridge(...)` (decorator or call) of a model bridge for a
    `model_type=` argument, unless the bridge (or a bridge it derives from) sets `MODEL_TYPE` or writes
    `"model_type"` in its own `megatron_to_hf_config`. `register_bridge_implementation` aliases and
    diffusion bridges (diffusers configs have no `model_type`) are not checked.

    ## Why is this bad?
    `megatron_to_hf_config` writes `config.json`'s `model_type` from it; without it a checkpoint
    exported from a Megatron-only run has no model type and `AutoConfig` cannot load it.

    ## Use instead
    `register_bridge(source=..., target=..., model_type="<the HF config's model_type>")`.
    """

    CODE = "MBR010"
    NAME = "register-bridge-without-model-type"
    MESSAGE = "`register_bridge` of `{bridge}` has no `model_type`"
    VALID = [
        _HEAD
        + '@MegatronModelBridge.register_bridge(source="FooForCausalLM", target=GPTModel, model_type="foo")\nclass FooBridge(MegatronModelBridge):\n    pass\n',
        _HEAD
        + '@MegatronModelBridge.register_bridge(source="FooForCausalLM", target=GPTModel)\nclass FooBridge(MegatronModelBridge):\n    MODEL_TYPE = "foo"\n',
        _HEAD
        + '@MegatronModelBridge.register_bridge(source="FooForCausalLM", target=GPTModel)\nclass FooBridge(MegatronModelBridge):\n'
        '    @classmethod\n    def megatron_to_hf_config(cls, provider):\n        cfg = super().megatron_to_hf_config(provider)\n        cfg["model_type"] = "foo"\n        return cfg\n',
    ]
    INVALID = [
        Invalid(
            _HEAD
            + '@MegatronModelBridge.register_bridge(source="FooForCausalLM", target=GPTModel)\nclass FooBridge(MegatronModelBridge):\n    pass\n',
            expected_lines=(4,),
        ),
        Invalid(
            _HEAD
            + 'class FooBridge(MegatronModelBridge):\n    pass\n\n\nMegatronModelBridge.register_bridge(source="FooForCausalLM", target=GPTModel)(FooBridge)\n',
            expected_lines=(8,),
        ),
    ]

    def check_bridge(self, bridge: BridgeRecord) -> Iterator[Finding]:
        if bridge.diffusion:
            return
        regs = [r for r in bridge.registrations if r.style != "implementation"]
        if not regs or any(r.model_type for r in regs) or self._sets_model_type(bridge):
            return
        for reg in regs:
            yield self.finding(reg.location, bridge=bridge.name)

    def _sets_model_type(self, bridge: BridgeRecord) -> bool:
        return any(
            record.writes_model_type for record in [bridge, *bridge_ancestors(self.ctx.catalog, bridge)]
        )
