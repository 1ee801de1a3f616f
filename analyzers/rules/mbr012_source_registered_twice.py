"""MBR012: the same HF source (architecture) registered twice."""

from __future__ import annotations

from collections.abc import Iterator

from analyzers.lint.rule import Finding, Invalid, LintRule

_HEAD = "from megatron.bridge.models.conversion.model_bridge import MegatronModelBridge\n\n\n"


class SourceRegisteredTwice(LintRule):
    """Flags an HF source class or architecture string registered by two registrations.

    ## What it does
    Groups all registrations (`register_bridge`, `register_bridge_implementation`) by source and
    Megatron target, and reports the second and later ones.

    ## Why is this bad?
    Dispatch is keyed by (source, target): the later registration silently replaces the earlier,
    so which bridge converts the checkpoint depends on import order.

    ## Use instead
    One registration per architecture; share code by inheriting from the other bridge.
    """

    CODE = "MBR012"
    NAME = "source-registered-twice"
    MESSAGE = "source `{source}` (target {target}) is also registered by `{other}` ({where})"
    VALID = [
        _HEAD
        + '@MegatronModelBridge.register_bridge(source="FooForCausalLM", target=GPTModel, model_type="foo")\nclass FooBridge(MegatronModelBridge):\n    pass\n\n\n'
        '@MegatronModelBridge.register_bridge(source="FooForCausalLM", target=MambaModel, model_type="foo")\nclass FooMambaBridge(MegatronModelBridge):\n    pass\n',
    ]
    INVALID = [
        Invalid(
            _HEAD
            + '@MegatronModelBridge.register_bridge(source="FooForCausalLM", target=GPTModel, model_type="foo")\nclass FooBridge(MegatronModelBridge):\n    pass\n\n\n'
            '@MegatronModelBridge.register_bridge(source="FooForCausalLM", target=GPTModel, model_type="foo2")\nclass Foo2Bridge(MegatronModelBridge):\n    pass\n',
            expected_lines=(9,),
        ),
    ]

    def check_tree(self) -> Iterator[Finding]:
        first: dict[tuple[str, str | None], tuple[str, object]] = {}
        for bridge in self.ctx.catalog.bridges:
            for reg in bridge.registrations:
                if not reg.source or reg.source_kind == "unknown":
                    continue
                key = (reg.source, reg.target)
                seen = first.get(key)
                if seen is None:
                    first[key] = (bridge.name, reg.location)
                    continue
                if seen[1] == reg.location:
                    continue
                yield self.finding(
                    reg.location,
                    related=[seen[1].path],
                    source=reg.source,
                    target=reg.target,
                    other=seen[0],
                    where=str(seen[1]),
                )
