"""MBR011: two bridges registered with the same `model_type`."""

from __future__ import annotations

from collections.abc import Iterator

from analyzers.lint.rule import Finding, Invalid, LintRule
from analyzers.rules._common import bridge_ancestors

_HEAD = "from megatron.bridge.models.conversion.model_bridge import MegatronModelBridge\n\n\n"


class ModelTypeRegisteredTwice(LintRule):
    """Flags a `model_type` given to `register_bridge` by two different bridge classes.

    ## What it does
    Groups the registrations of the tree by `model_type` and reports every registration after the
    first whose bridge class differs. Several registrations of one class, and a bridge deriving from
    the other (a task-head variant such as token classification of the same HF config), are fine.

    ## Why is this bad?
    Lookups by `model_type` (export of `config.json`, `AutoBridge.supports(config)` by model type)
    resolve to whichever bridge registered last, so one of the two models exports with the other's
    config conversion. It is also the typical trace of a copied bridge that kept its source's value.

    ## Use instead
    Give each bridge the `model_type` of its own HF config class.
    """

    CODE = "MBR011"
    NAME = "model-type-registered-twice"
    MESSAGE = '`model_type="{model_type}"` is also registered by `{other}` ({where})'
    VALID = [
        _HEAD
        + '@MegatronModelBridge.register_bridge(source="FooForCausalLM", target=GPTModel, model_type="foo")\nclass FooBridge(MegatronModelBridge):\n    pass\n\n\n'
        '@MegatronModelBridge.register_bridge(source="FooMoeForCausalLM", target=GPTModel, model_type="foo_moe")\nclass FooMoeBridge(MegatronModelBridge):\n    pass\n',
        # A head variant deriving from the base bridge shares the HF config's model_type.
        _HEAD
        + '@MegatronModelBridge.register_bridge(source="FooForCausalLM", target=GPTModel, model_type="foo")\nclass FooBridge(MegatronModelBridge):\n    pass\n\n\n'
        '@MegatronModelBridge.register_bridge(source="FooForTokenClassification", target=GPTModel, model_type="foo")\nclass FooTokenBridge(FooBridge):\n    pass\n',
        # One class registered for two sources with one model_type is a single bridge.
        _HEAD
        + '@MegatronModelBridge.register_bridge(source="FooForCausalLM", target=GPTModel, model_type="foo")\n'
        '@MegatronModelBridge.register_bridge(source="FooForSequenceClassification", target=GPTModel, model_type="foo")\nclass FooBridge(MegatronModelBridge):\n    pass\n',
    ]
    INVALID = [
        Invalid(
            _HEAD
            + '@MegatronModelBridge.register_bridge(source="FooForCausalLM", target=GPTModel, model_type="foo")\nclass FooBridge(MegatronModelBridge):\n    pass\n\n\n'
            '@MegatronModelBridge.register_bridge(source="FooMoeForCausalLM", target=GPTModel, model_type="foo")\nclass FooMoeBridge(MegatronModelBridge):\n    pass\n',
            expected_lines=(9,),
            expected_message="`FooBridge`",
        ),
    ]

    def _related(self, other: str, bridge) -> bool:
        """One bridge derives from the other: a head variant (token classification, ...) of one model."""
        catalog = self.ctx.catalog
        first = catalog.bridge(other)
        if first is None:
            return False
        return first in bridge_ancestors(catalog, bridge) or bridge in bridge_ancestors(catalog, first)

    def check_tree(self) -> Iterator[Finding]:
        first: dict[str, tuple[str, object]] = {}
        for bridge in self.ctx.catalog.bridges:
            for reg in bridge.registrations:
                if not reg.model_type:
                    continue
                seen = first.get(reg.model_type)
                if seen is None:
                    first[reg.model_type] = (bridge.name, reg.location)
                elif seen[0] != bridge.name and not self._related(seen[0], bridge):
                    yield self.finding(
                        reg.location,
                        related=[seen[1].path],
                        model_type=reg.model_type,
                        other=seen[0],
                        where=str(seen[1]),
                    )
