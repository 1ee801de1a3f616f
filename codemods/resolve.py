"""Resolve the SRC of clone-family as a maintainer names it: a bridge class, a `model_type`, a bridge file stem
or a family folder. Matching is exact (never by substring); a real ambiguity is a ResolveError that lists
the candidates.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import PurePosixPath

from analyzers.catalog.records import BridgeRecord, Catalog, FamilyRecord
from analyzers.errors import ResolveError
from codemods.naming import align_camel, class_prefix_of, hf_suffix

__all__ = [
    "ResolvedSource",
    "bridge_stem",
    "known_stems",
    "other_family_spellings",
    "other_model_spellings",
    "resolve_source",
]


def bridge_stem(bridge: BridgeRecord) -> str:
    """`qwen3` for `.../qwen3_bridge.py` (the module name without its `_bridge` suffix)."""
    name = PurePosixPath(bridge.path).stem
    return name.removesuffix("_bridge") if name != "_bridge" else name


@dataclass
class ResolvedSource:
    """The bridge SRC names, its module's other bridges and its family."""

    bridge: BridgeRecord  #: the primary bridge
    family: FamilyRecord
    stem: str  #: bridge module stem (`qwen3`, `qwen3_vl`, `deepseek_v3`)
    module_bridges: list[BridgeRecord]  #: every bridge defined in the same module (primary first)
    matched_by: str  #: "class" | "model_type" | "stem" | "family"

    @property
    def model_type(self) -> str | None:
        return next((r.model_type for r in self.bridge.registrations if r.model_type), None)

    @property
    def hf_class(self) -> str | None:
        return next((r.source for r in self.bridge.registrations if r.source), None)


def _describe(bridge: BridgeRecord) -> str:
    types = sorted({r.model_type for r in bridge.registrations if r.model_type})
    return f"{bridge.name} ({bridge.path.rsplit('/', 1)[-1]}{', model_type ' + '/'.join(types) if types else ''})"


def known_stems(catalog: Catalog) -> set[str]:
    """Every model stem of the tree: bridge module stems and registered model types."""
    stems = {bridge_stem(b) for b in catalog.bridges}
    stems |= {
        r.model_type
        for b in catalog.bridges
        for r in b.registrations
        if r.model_type and r.model_type.islower()
    }
    return stems


def other_stems(catalog: Catalog, own_bridges: Collection[str]) -> set[str]:
    """The model stems of the tree (`known_stems`) but those of `own_bridges`: the files and folders
    `belongs_to` must not give a rename of them (`qwen3_moe_bridge.py` is not `qwen3`'s)."""
    own = [b for b in catalog.bridges if b.name in own_bridges]
    own_stems = {bridge_stem(b) for b in own} | {
        r.model_type for b in own for r in b.registrations if r.model_type
    }
    return known_stems(catalog) - own_stems


def other_model_spellings(
    catalog: Catalog, own_bridges: Collection[str], family: FamilyRecord, stem: str | None = None
) -> set[str]:
    """How the tree's other models are spelt: what a rename of `own_bridges` must keep whole where it starts
    like one of its own names (`qwen3_moe`, `Qwen3MoE`, `QWEN3_MOE` for `qwen3`).

    The other bridges' stems and model types (snake, UPPER, hyphen), class and provider prefixes and HF class
    prefixes, and the providers of the other families. `family`'s own providers are the rename's, except,
    given the `stem` of one of its models (a clone of that model), those that do not start with it.
    """
    out: set[str] = set()
    for bridge in catalog.bridges:
        if bridge.name in own_bridges:
            continue
        bridge_name = bridge_stem(bridge)
        out |= {bridge_name, bridge_name.upper(), bridge_name.replace("_", "-")}
        out.add(class_prefix_of(bridge.name))
        if bridge.provider_class:
            out.add(class_prefix_of(bridge.provider_class))
        for reg in bridge.registrations:
            if reg.model_type:
                out |= {reg.model_type, reg.model_type.upper(), reg.model_type.replace("_", "-")}
            if reg.source and (suffix := hf_suffix(reg.source)):
                out.add(reg.source[: -len(suffix)])
    for other in catalog.families:
        for provider in other.providers:
            if other.name != family.name or (stem is not None and align_camel(provider, stem) is None):
                out.add(class_prefix_of(provider))
    return {p for p in out if p}


def other_family_spellings(catalog: Catalog, family: FamilyRecord) -> set[str]:
    """How the tree's other families are spelt (what a rename of `family` keeps whole: `minimax_m3` for
    `minimax_m2`): their models' spellings, folder names (snake, UPPER, hyphen) and recipe families."""
    out = other_model_spellings(catalog, set(family.bridges), family)
    for other in catalog.families:
        if other.name != family.name:
            out |= {other.name, other.name.upper(), other.name.replace("_", "-")}
    for recipe in catalog.recipes:
        if recipe.name not in family.recipes:
            out |= {recipe.name, recipe.name.upper()}
    return out


def resolve_source(catalog: Catalog, name: str) -> ResolvedSource:
    """The bridge `name` refers to; ResolveError when nothing or several bridges match exactly.

    >>> resolve_source(catalog, "qwen3").bridge.name
    'Qwen3Bridge'
    """
    bridges = [b for b in catalog.bridges if not b.diffusion]
    by_class = [b for b in bridges if b.name == name]
    by_type = [b for b in bridges if any(r.model_type == name for r in b.registrations)]
    by_stem = [b for b in bridges if bridge_stem(b) == name]
    by_family = [b for b in bridges if b.family == name]
    for how, found in (
        ("class", by_class),
        ("model_type", by_type),
        ("stem", by_stem),
        ("family", by_family),
    ):
        if not found:
            continue
        modules = {b.module for b in found}
        if len(modules) > 1:
            listed = ", ".join(_describe(b) for b in found)
            raise ResolveError(
                f"{name!r} is ambiguous ({how}): {listed}; name one bridge class or model_type"
            )
        primary = found[0]
        if how == "stem":
            # Several bridges in one module: prefer the one whose model_type is the stem itself.
            primary = next((b for b in found if any(r.model_type == name for r in b.registrations)), primary)
        family = catalog.family(primary.family)
        if family is None:
            raise ResolveError(f"bridge {primary.name} has no family record", primary.path)
        same_module = [b for b in catalog.bridges if b.module == primary.module]
        same_module.sort(key=lambda b: (b is not primary, b.location.line))
        return ResolvedSource(primary, family, bridge_stem(primary), same_module, how)
    near = sorted(
        {b.name for b in bridges if name.lower() in b.name.lower()}
        | {bridge_stem(b) for b in bridges if name.lower() in bridge_stem(b)}
    )
    hint = f"; similar: {', '.join(near[:8])}" if near else ""
    raise ResolveError(f"no bridge class, model_type, bridge module or family named {name!r}{hint}")
