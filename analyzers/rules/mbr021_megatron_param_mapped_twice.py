"""MBR021: one Megatron parameter pattern mapped twice in a registry."""

from __future__ import annotations

from collections.abc import Iterator

from analyzers.catalog.records import BridgeRecord
from analyzers.lint.rule import Finding, Invalid, LintRule
from analyzers.rules._mappings import loop_free
from analyzers.rules.mbr020_wildcard_count_mismatch import _HEAD


class MegatronParamMappedTwice(LintRule):
    """Flags a Megatron parameter pattern mapped by two different mappings under the same conditions.

    ## What it does
    Within one bridge's registry (including inherited mappings), reports a mapping whose Megatron
    pattern an earlier mapping already maps to a different HF side or with another mapping class.
    Mappings under different `if` branches (alternatives) and exact repeats are not reported.

    ## Why is this bad?
    The registry resolves a Megatron name to one mapping; which one depends on list order, so one
    of the two HF tensors is silently never loaded or exported (the typical copy-paste slip of a
    dict of names).

    ## Use instead
    One mapping per Megatron parameter; put alternatives under the condition that selects them.
    """

    CODE = "MBR021"
    NAME = "megatron-param-mapped-twice"
    MESSAGE = "`{megatron}` is already mapped at line {first} (to {other})"
    VALID = [
        _HEAD + '            AutoMapping(megatron_param="output_layer.weight", hf_param="lm_head.weight"),\n'
        '            AutoMapping(megatron_param="embedding.word_embeddings.weight", hf_param="model.embed_tokens.weight"),\n        )\n',
    ]
    INVALID = [
        Invalid(
            _HEAD
            + '            AutoMapping(megatron_param="output_layer.weight", hf_param="lm_head.weight"),\n'
            '            AutoMapping(megatron_param="output_layer.weight", hf_param="model.embed_tokens.weight"),\n        )\n',
            expected_lines=(11,),
        ),
    ]

    def check_bridge(self, bridge: BridgeRecord) -> Iterator[Finding]:
        first: dict[tuple[str, str | None], object] = {}
        for mapping in bridge.registry.mappings:
            if mapping.megatron_param is None:
                continue
            key = (mapping.megatron_param, loop_free(mapping.condition))
            earlier = first.get(key)
            if earlier is None:
                first[key] = mapping
                continue
            if (earlier.mapping_class, earlier.hf_params) == (mapping.mapping_class, mapping.hf_params):
                continue
            if mapping.location.path != bridge.path and earlier.location.path != bridge.path:
                continue  # both inherited: reported on the base bridge
            other = ", ".join(f"`{p}`" for p in earlier.hf_list)
            yield self.finding(
                mapping.location,
                related=[earlier.location.path],
                megatron=mapping.megatron_param,
                first=earlier.location.line,
                other=other,
            )
