"""MBR900, an engine diagnostic (the engine reports it, no rule runs): a `# noqa: MBRxxx` (or file-level
`# bridgesmith: noqa`) that suppresses nothing."""

from __future__ import annotations

from analyzers.catalog.records import Location
from analyzers.lint.rule import Finding, Invalid, LintRule

_HEAD = "from megatron.bridge.models.conversion.model_bridge import MegatronModelBridge\n\n\n"


class UnusedSuppression(LintRule):
    """Flags suppression comments for MBR codes that no finding uses.

    ## What it does
    After all rules ran, every `# noqa: MBRxxx` naming a code that ran and found nothing on that
    line, every code that is not a known rule, and every file-level `# bridgesmith: noqa` that hid
    nothing is reported. Codes of rules that did not run (deselected, checkout-only on a wheel
    tree) are left alone. Ruff's own codes in the same comment are ignored.

    ## Why is this bad?
    A stale suppression hides the next real finding on that line.
    """

    CODE = "MBR900"
    NAME = "unused-suppression"
    MESSAGE = "unused suppression: {detail}"
    EXAMPLE_SELECT = ("MBR010",)
    VALID = [
        _HEAD
        + '@MegatronModelBridge.register_bridge(source="FooForCausalLM", target=GPTModel)  # noqa: MBR010\nclass FooBridge(MegatronModelBridge):\n    pass\n',
        _HEAD + "class FooBridge(MegatronModelBridge):  # noqa: F401, E501\n    pass\n",
    ]
    INVALID = [
        Invalid(
            _HEAD
            + '@MegatronModelBridge.register_bridge(source="FooForCausalLM", target=GPTModel, model_type="foo")  # noqa: MBR010\nclass FooBridge(MegatronModelBridge):\n    pass\n',
            expected_lines=(4,),
            expected_message="MBR010",
        ),
        Invalid(
            _HEAD + "class FooBridge(MegatronModelBridge):  # noqa: MBR777\n    pass\n",
            expected_lines=(4,),
            expected_message="unknown",
        ),
    ]

    @classmethod
    def make(cls, location: Location, detail: str) -> Finding:
        return Finding(cls.CODE, cls.NAME, cls.MESSAGE.format(detail=detail), location)
