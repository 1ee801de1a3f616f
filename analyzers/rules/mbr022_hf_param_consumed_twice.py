"""MBR022: one HF parameter consumed by two mappings (outside the known shared-input patterns)."""

from __future__ import annotations

from collections.abc import Iterator

from analyzers.catalog.records import BridgeRecord
from analyzers.lint.rule import Finding, Invalid, LintRule
from analyzers.rules._mappings import canonical_megatron, hf_patterns, loop_free
from analyzers.rules.mbr020_wildcard_count_mismatch import _HEAD


def _shared(a, b, local: set[str]) -> bool:
    """False for known shared-input cases: a family's own mapping class (they slice or offset experts),
    and an MTP layer reusing a main-model tensor (embeddings, output layer, final norm)."""
    if a.mapping_class in local or b.mapping_class in local:
        return False
    return a.megatron_param.startswith("mtp.") == b.megatron_param.startswith("mtp.")


class HfParamConsumedTwice(LintRule):
    """Flags an HF parameter pattern that two mappings consume for different Megatron parameters.

    ## What it does
    Within one registry and under the same conditions, groups mappings by HF pattern and reports a
    second mapping that feeds a different Megatron parameter. Known shared-input patterns are
    allowed: alternative Megatron layouts of which only one exists in a given model (fused TE
    layer norms vs separate norms, including hybrid models' per-layer-type norms; grouped vs
    sequential experts; `conv1d.weight` vs `conv1d_weight`; `final_norm` vs `final_layernorm`;
    MTP `mtp_model_layer` vs `transformer_layer`; MLA vs non-MLA attention), tied embeddings under
    their own condition, MTP layers reusing main-model tensors, and a family's own mapping classes
    (which slice or offset a shared HF tensor, e.g. text/vision experts).

    ## Why is this bad?
    On export both Megatron tensors are written to the same HF name (one overwrites the other);
    on import one HF tensor initialises two Megatron weights, usually because a name was
    copy-pasted and the intended HF tensor is never loaded.

    ## Use instead
    Map each Megatron parameter from its own HF tensor.
    """

    CODE = "MBR022"
    NAME = "hf-param-consumed-twice"
    MESSAGE = "HF `{hf}` is also consumed by `{other}` (line {first})"
    VALID = [
        _HEAD
        + '            AutoMapping(megatron_param="decoder.layers.*.self_attention.linear_qkv.layer_norm_weight", hf_param="model.layers.*.input_layernorm.weight"),\n'
        '            AutoMapping(megatron_param="decoder.layers.*.input_layernorm.weight", hf_param="model.layers.*.input_layernorm.weight"),\n        )\n',
    ]
    INVALID = [
        Invalid(
            _HEAD
            + '            AutoMapping(megatron_param="decoder.layers.*.self_attention.q_layernorm.weight", hf_param="model.layers.*.self_attn.q_norm.weight"),\n'
            '            AutoMapping(megatron_param="decoder.layers.*.self_attention.k_layernorm.weight", hf_param="model.layers.*.self_attn.q_norm.weight"),\n        )\n',
            expected_lines=(11,),
        ),
    ]

    def check_bridge(self, bridge: BridgeRecord) -> Iterator[Finding]:
        local = {m.name for m in self.ctx.catalog.mapping_classes if m.family is not None}
        first: dict[tuple[str, str | None], list] = {}
        reported: set[tuple] = set()
        for mapping in bridge.registry.mappings:
            if mapping.megatron_param is None:
                continue
            canon = canonical_megatron(mapping.megatron_param)
            for _, hf in hf_patterns(mapping):
                key = (hf, loop_free(mapping.condition))
                users = first.setdefault(key, [])
                clash = next(
                    (
                        m
                        for m in users
                        if canonical_megatron(m.megatron_param) != canon and _shared(m, mapping, local)
                    ),
                    None,
                )
                users.append(mapping)
                if clash is None or (mapping.location, hf) in reported:
                    continue
                if mapping.location.path != bridge.path and clash.location.path != bridge.path:
                    continue  # both inherited: reported on the base bridge
                reported.add((mapping.location, hf))
                yield self.finding(
                    mapping.location,
                    related=[clash.location.path],
                    hf=hf,
                    other=clash.megatron_param,
                    first=clash.location.line,
                )
