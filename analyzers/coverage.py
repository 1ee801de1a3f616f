"""Hold a bridge's static mapping registry against a model's HF checkpoint names.

Patterns match as Megatron-Bridge's `MegatronMappingRegistry` matches them: `*` is a run of digits
(a layer or expert index), `**` is any text, dots included; the whole name must match.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from analyzers.catalog.records import BridgeRecord, Catalog, MappingRecord, Unresolved

#: Megatron names that MB's registry treats as one parameter: a layernorm fused into the next linear
#: (TE) and the same layernorm as its own module. MB adds the second spelling of every mapping itself.
SEPARATE_LAYERNORM_ALIASES = (
    ("self_attention.linear_qkv.layer_norm_weight", "input_layernorm.weight"),
    ("self_attention.linear_qkv.layer_norm_bias", "input_layernorm.bias"),
    ("self_attention.linear_q_up_proj.layer_norm_weight", "self_attention.q_layernorm.weight"),
    ("self_attention.linear_q_up_proj.layer_norm_bias", "self_attention.q_layernorm.bias"),
    ("self_attention.linear_kv_up_proj.layer_norm_weight", "self_attention.kv_layernorm.weight"),
    ("self_attention.linear_kv_up_proj.layer_norm_bias", "self_attention.kv_layernorm.bias"),
    ("mlp.linear_fc1.layer_norm_weight", "pre_mlp_layernorm.weight"),
    ("mlp.linear_fc1.layer_norm_bias", "pre_mlp_layernorm.bias"),
    ("mixer.in_proj.layer_norm_weight", "norm.weight"),
)
_DIGITS = re.compile(r"(?<=\.)\d+(?=\.|$)|^\d+(?=\.)")


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """Compile an MB wildcard pattern: `**` -> any text, `*` -> digits, anchored at both ends.

    >>> bool(pattern_regex("model.layers.*.mlp.experts.*.up_proj.weight").match("model.layers.3.mlp.experts.17.up_proj.weight"))
    True
    >>> bool(pattern_regex("model.layers.*.mlp.weight").match("model.layers.x.mlp.weight"))
    False
    """
    escaped = re.escape(pattern).replace(r"\*\*", "(.*)").replace(r"\*", r"(\d+)")
    return re.compile(f"^{escaped}$")


def generalize(name: str) -> str:
    """A name with every all-digit segment replaced by `*` (groups layers and experts)."""
    return ".".join("*" if part.isdigit() else part for part in name.split("."))


def group_names(names: list[str]) -> dict[str, list[str]]:
    """generalized name -> the names it stands for, in input order."""
    groups: dict[str, list[str]] = defaultdict(list)
    for name in names:
        groups[generalize(name)].append(name)
    return groups


@dataclass
class PatternUse:
    """One HF pattern of one mapping, and how many names it matched."""

    mapping_class: str
    megatron_param: str | None
    role: str
    pattern: str
    condition: str | None
    location: str
    bridge: str  #: the bridge whose registry holds it (a parent for inherited registries)
    matches: int = 0

    def describe(self) -> str:
        cond = f" [if {self.condition}]" if self.condition else ""
        return f"{self.pattern} ({self.mapping_class} -> {self.megatron_param}){cond}"


@dataclass
class NameGroup:
    """Names that differ only in layer/expert indices, shown once with a count."""

    pattern: str
    count: int
    example: str


@dataclass
class DoubleMatch:
    name: str
    uses: list[PatternUse]
    #: True when the mappings are alternatives MB picks between (fused vs separate layernorm,
    #: grouped vs per-expert MoE weights, or guarded by conditions) rather than a conflict
    alternative: bool


@dataclass
class CoverageReport:
    bridge: str
    names_source: str
    total: int
    matched: int
    unmatched: list[NameGroup]
    unused: list[PatternUse]  #: patterns that match no name
    doubles: list[DoubleMatch]  #: one example per group of names matched by two or more mappings
    double_count: int  #: names matched by conflicting (non-alternative) mappings
    alternative_count: int  #: names matched by alternative mappings only
    unresolved: list[Unresolved] = field(default_factory=list)
    patterns: int = 0

    @property
    def share(self) -> float:
        return self.matched / self.total if self.total else 0.0

    @property
    def clean(self) -> bool:
        return (
            not self.unmatched and not [u for u in self.unused if not u.condition] and not self.double_count
        )


def registry_mappings(catalog: Catalog, bridge: BridgeRecord) -> list[tuple[str, MappingRecord]]:
    """(owning bridge, mapping) of a registry, following `super().mapping_registry()` to the parent."""
    out: list[tuple[str, MappingRecord]] = []
    seen: set[str] = set()
    current: BridgeRecord | None = bridge
    while current is not None and current.name not in seen:
        seen.add(current.name)
        out.extend((current.name, m) for m in current.registry.mappings)
        current = catalog.bridge(current.registry.inherits) if current.registry.inherits else None
    return out


def registry_unresolved(catalog: Catalog, bridge: BridgeRecord) -> list[Unresolved]:
    out: list[Unresolved] = []
    seen: set[str] = set()
    current: BridgeRecord | None = bridge
    while current is not None and current.name not in seen:
        seen.add(current.name)
        out.extend(current.registry.unresolved)
        current = catalog.bridge(current.registry.inherits) if current.registry.inherits else None
    return out


def pattern_uses(catalog: Catalog, bridge: BridgeRecord) -> list[PatternUse]:
    return [
        PatternUse(
            mapping_class=m.mapping_class,
            megatron_param=m.megatron_param,
            role=role,
            pattern=pattern,
            condition=m.condition,
            location=str(m.location),
            bridge=owner,
        )
        for owner, m in registry_mappings(catalog, bridge)
        for role, pattern in m.hf_params.items()
    ]


def match_names(
    uses: list[PatternUse], groups: dict[str, list[str]]
) -> dict[str, tuple[int, dict[int, list[str] | None]]]:
    """Match every name against every pattern; counts matches on each use.

    Returns group -> (size, {use index: matched members, or None for all of them}). Names are grouped by
    `generalize` and a group is tested once through its first member; patterns holding a literal
    all-digit segment (``model.layers.61.``) are tested against every member.
    """
    compiled = [(pattern_regex(u.pattern), bool(_DIGITS.search(u.pattern.replace("*", "")))) for u in uses]
    suffixes = [u.pattern.rsplit("*", 1)[-1] for u in uses]
    # a group key has `*` where its names have indices; a pattern that cannot match the key cannot match a member
    key_filters = [
        re.compile("^" + re.escape(generalize(u.pattern)).replace(r"\*\*", ".*") + "$") for u in uses
    ]
    out: dict[str, tuple[int, dict[int, list[str] | None]]] = {}
    for key, members in groups.items():
        head = members[0]
        found: dict[int, list[str] | None] = {}
        for index, (regex, literal_digits) in enumerate(compiled):
            if not key_filters[index].match(key):
                continue
            if literal_digits:
                matched = [n for n in members if n.endswith(suffixes[index]) and regex.match(n)]
                if matched:
                    found[index] = matched if len(matched) < len(members) else None
                    uses[index].matches += len(matched)
            elif head.endswith(suffixes[index]) and regex.match(head):
                found[index] = None
                uses[index].matches += len(members)
        out[key] = (len(members), found)
    return out


def _canonical_megatron(param: str | None) -> str:
    text = (param or "").rstrip("*")
    for fused, separate in SEPARATE_LAYERNORM_ALIASES:
        if text.endswith(fused):
            text = text[: -len(fused)] + separate
    return text.replace("experts.local_experts.*.", "experts.")


def _alternatives(uses: list[PatternUse]) -> bool:
    if any(u.condition for u in uses):
        return True
    if len({_canonical_megatron(u.megatron_param) for u in uses}) == 1:
        return True
    # hybrid stacks: one HF layernorm feeds whichever block (mamba mixer, attention, MLP) a layer has
    return all(_is_norm(u.megatron_param) for u in uses)


def _is_norm(param: str | None) -> bool:
    return any("norm" in part for part in (param or "").split(".")[-2:])


def coverage(
    catalog: Catalog, bridge: BridgeRecord, names: list[str], names_source: str = ""
) -> CoverageReport:
    """Which HF names the bridge's registry maps, which patterns match nothing, what matches twice.

    >>> hf_names = collect_hf_names(load_spec(from_transformers="qwen3"))
    >>> report = coverage(catalog, catalog.bridge("Qwen3Bridge"), hf_names.names)
    >>> report.unmatched, [u.pattern for u in report.unused][:2]
    ([], ['mtp.fc.weight', 'mtp.pre_fc_norm_embedding.weight'])
    """
    uses = pattern_uses(catalog, bridge)
    groups = group_names(names)
    group_hits = match_names(uses, groups)
    unmatched: list[NameGroup] = []
    doubles: list[DoubleMatch] = []
    matched = double_count = alternative_count = 0
    for key, members in groups.items():
        _, found = group_hits[key]
        full = [i for i, m in found.items() if m is None]
        partial = {i: set(m) for i, m in found.items() if m is not None}
        # members that share the same set of matching uses are counted together
        by_uses: dict[tuple[int, ...], list[str]] = defaultdict(list)
        for name in members if partial else members[:1]:
            by_uses[tuple(sorted(full + [i for i, m in partial.items() if name in m]))].append(name)
        for indices, group in by_uses.items():
            count = len(group) if partial else len(members)
            if not indices:
                unmatched.append(NameGroup(pattern=key, count=count, example=group[0]))
                continue
            matched += count
            if len({(uses[i].mapping_class, uses[i].megatron_param) for i in indices}) < 2:
                continue
            these = [uses[i] for i in indices]
            alternative = _alternatives(these)
            if alternative:
                alternative_count += count
            else:
                double_count += count
            doubles.append(DoubleMatch(name=group[0], uses=these, alternative=alternative))
    return CoverageReport(
        bridge=bridge.name,
        names_source=names_source,
        total=len(names),
        matched=matched,
        unmatched=unmatched,
        unused=[u for u in uses if u.matches == 0],
        doubles=doubles,
        double_count=double_count,
        alternative_count=alternative_count,
        unresolved=registry_unresolved(catalog, bridge),
        patterns=len(uses),
    )
