"""MBR020: a mapping whose Megatron and HF patterns have different wildcard counts."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cached_property

from analyzers.catalog.records import BridgeRecord
from analyzers.lint.rule import Finding, Invalid, LintRule
from analyzers.rules._mappings import (
    exempt_from_wildcard_check,
    hf_patterns,
    skips_validation,
    wildcard_groups,
)

_HEAD = (
    "from megatron.bridge.models.conversion.mapping_registry import MegatronMappingRegistry\n"
    "from megatron.bridge.models.conversion.model_bridge import MegatronModelBridge\n"
    "from megatron.bridge.models.conversion.param_mapping import AutoMapping, QKVMapping\n\n\n"
    '@MegatronModelBridge.register_bridge(source="FooForCausalLM", target=GPTModel, model_type="foo")\n'
    "class FooBridge(MegatronModelBridge):\n    def mapping_registry(self):\n        return MegatronMappingRegistry(\n"
)


class WildcardCountMismatch(LintRule):
    """Flags mappings whose Megatron pattern and an HF pattern capture a different number of wildcards.

    ## What it does
    Counts capture groups as `MegatronParamMapping` does (each `**`, then each `*`) in the Megatron
    pattern and every HF pattern of each mapping (`hf_param`, `q`/`k`/`v`, `gate`/`up`, ...). Mapping
    classes that skip that validation on purpose (`is_grouped_export = True`, their own
    `_validate_patterns`, an `__init__` that bypasses the base) are not checked.

    ## Why is this bad?
    The wildcards are substituted positionally from Megatron to HF names; with different counts the
    constructor raises `ValueError: Wildcard count mismatch` at the first conversion (or, for
    dropped `*`, every layer maps to the same HF tensor).

    ## Use instead
    The same number of `*` on both sides (layer index, expert index).
    """

    CODE = "MBR020"
    NAME = "wildcard-count-mismatch"
    MESSAGE = "`{megatron}` has {m} wildcard(s) but `{role}` pattern `{hf}` has {h}"
    VALID = [
        _HEAD
        + '            AutoMapping(megatron_param="decoder.layers.*.mlp.linear_fc2.weight", hf_param="model.layers.*.mlp.down_proj.weight"),\n        )\n',
        _HEAD
        + '            AutoMapping(megatron_param="vision_tower.**", hf_param="model.visual.**"),\n        )\n',
    ]
    INVALID = [
        Invalid(
            _HEAD
            + '            AutoMapping(megatron_param="decoder.layers.*.mlp.linear_fc2.weight", hf_param="model.layers.mlp.down_proj.weight"),\n        )\n',
            expected_lines=(10,),
        ),
        Invalid(
            _HEAD
            + '            QKVMapping(\n                megatron_param="decoder.layers.*.self_attention.linear_qkv.weight",\n'
            '                q="model.layers.*.self_attn.q_proj.weight",\n                k="model.layers.*.self_attn.k_proj.weight",\n'
            '                v="model.layers.*.*.self_attn.v_proj.weight",\n            ),\n        )\n',
            expected_message="`v` pattern",
        ),
    ]

    @cached_property
    def _exempt(self) -> set[str]:
        skips: dict[str, tuple[bool, list[str]]] = {}
        for record in self.ctx.catalog.mapping_classes:
            per_file = self.ctx.fact(
                f"{self.CODE}.skips", record.path, lambda p=record.path: self._file_skips(p)
            )
            if record.name in per_file:
                skips[record.name] = (per_file[record.name], record.bases)
        return exempt_from_wildcard_check(skips) | {"__unknown__"}

    def _file_skips(self, path: str) -> dict[str, bool]:
        module = self.ctx.module(path)
        if module is None:
            return {}
        return {n.name: skips_validation(n) for n in ast.walk(module.tree) if isinstance(n, ast.ClassDef)}

    def check_bridge(self, bridge: BridgeRecord) -> Iterator[Finding]:
        known = {m.name for m in self.ctx.catalog.mapping_classes}
        seen: set[tuple] = set()
        for mapping in bridge.registry.mappings:
            if mapping.megatron_param is None or mapping.mapping_class in self._exempt:
                continue
            if known and mapping.mapping_class not in known:
                continue
            if mapping.location.path != bridge.path and bridge.registry.inherits:
                continue  # inherited mappings are reported on the bridge that defines them
            m = wildcard_groups(mapping.megatron_param)
            for role, hf in hf_patterns(mapping):
                h = wildcard_groups(hf)
                key = (mapping.location, role, hf)
                if h != m and key not in seen:
                    seen.add(key)
                    yield self.finding(
                        mapping.location, megatron=mapping.megatron_param, m=m, role=role, hf=hf, h=h
                    )
