"""Which registered bridges the installed transformers can build, shared by the leave-one-out benches.

For each bridge, the first registration whose source class transformers knows gives the default config
of its model type (what `--from-transformers MODEL_TYPE` builds), with `architectures` set to the
registered class; the checkpoint names then come from building that class on the meta device.

    >>> cases, skipped = find_buildable(catalog)  # doctest: +SKIP
    >>> cases[0].bridge.name, cases[0].model_type, len(cases[0].names or [])  # doctest: +SKIP
    ('Qwen3Bridge', 'qwen3', 398)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from analyzers.catalog.records import BridgeRecord, Catalog
from analyzers.hf_config import ModelSpec


@dataclass
class Buildable:
    """A bridge whose architecture transformers can build, with the default config and its names."""

    bridge: BridgeRecord
    source: str  #: registered HF class
    model_type: str  #: transformers model type of that class's config
    spec: ModelSpec  #: default config of `model_type`, architectures = [source]
    names: list[str] | None  #: checkpoint names, None when building the model failed
    tied: list[str] = field(default_factory=list)  #: tied parameters left out of `names`
    note: str = ""  #: why `names` is None


def build_bridge(bridge: BridgeRecord) -> Buildable | str:
    """The first registration transformers can build (with names when possible), else why none can."""
    import transformers

    from analyzers.hf_config import spec_from_transformers
    from analyzers.hf_names import NamesUnavailable, names_from_transformers

    reasons, without_names = [], None
    for reg in bridge.registrations:
        cls = getattr(transformers, reg.source or "", None)
        config_class = getattr(cls, "config_class", None)
        model_type = getattr(config_class, "model_type", None)
        if not model_type:
            reasons.append(f"{reg.source}: not in transformers {transformers.__version__}")
            continue
        spec = spec_from_transformers(model_type)
        spec.config["architectures"] = [reg.source]
        spec.architectures_inferred = False
        try:
            found = names_from_transformers(spec)
        except NamesUnavailable as exc:
            reasons.append(f"{reg.source}: {exc}")
            without_names = without_names or Buildable(bridge, reg.source, model_type, spec, None)
            continue
        return Buildable(bridge, reg.source, model_type, spec, list(found.shapes), list(found.tied))
    if without_names:
        without_names.note = "; ".join(reasons)
        return without_names
    return "; ".join(reasons) or "no registration"


def find_buildable(
    catalog: Catalog, only: list[str] | None = None, *, need_names: bool = True
) -> tuple[list[Buildable], list[tuple[str, str]]]:
    """(buildable bridges in catalog order, [(bridge, reason)] for the others); diffusion bridges are left out.

    With `need_names`, a bridge whose config builds but whose model does not is skipped too.
    """
    cases, skipped = [], []
    for bridge in catalog.bridges:
        if bridge.diffusion or not bridge.registry.mappings or (only and bridge.name not in only):
            continue
        found = build_bridge(bridge)
        if isinstance(found, str):
            skipped.append((bridge.name, found))
        elif found.names is None and need_names:
            skipped.append((bridge.name, found.note))
        else:
            cases.append(found)
    return cases, skipped
