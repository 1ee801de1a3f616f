"""Per-bridge provider facts from the per-class runs: inherited runs and CONFIG_MAPPINGs, provider defaults."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from analyzers.catalog.records import ProviderSetting

if TYPE_CHECKING:
    from analyzers.catalog.class_table import ClassTable
    from analyzers.catalog.extract import ClassFacts

#: provider classes whose defaults are always recorded (the base bridge builds one of them)
BASE_PROVIDERS = (
    "megatron.bridge.models.gpt_provider.GPTModelProvider",
    "megatron.bridge.models.mla_provider.MLAModelProvider",
)


def _nearest(qualname: str, table: ClassTable, has) -> ClassFacts | None:
    """The class itself or its nearest tree ancestor for which `has(facts)` holds."""
    for candidate in [qualname, *table.ancestors(qualname)]:
        entry = table.by_qualname.get(candidate)
        if entry is not None and has(entry[1]):
            return entry[1]
    return None


def bridge_provider_facts(qualname: str, table: ClassTable, base: str) -> dict:
    """BridgeRecord fields: provider_settings, provider_base, provider_scope, config_mapping_extra, provider_classes.

    A bridge that does not define provider_bridge has the one it inherits (the run recorded there); the
    CONFIG_MAPPING is the class's own or its nearest ancestor's, less the base bridge's pairs.
    """
    out: dict = {}
    owner = _nearest(qualname, table, lambda c: c.provider_run is not None)
    if (
        owner is not None
        and owner.provider_run is not None
        and table.by_qualname.get(base, (None, None))[1] is not owner
    ):
        run = owner.provider_run
        _, own = table.by_qualname[qualname]
        settings = run.settings
        if owner is not own:
            settings = [_via(s, owner.name) for s in settings]
        out.update(provider_settings=settings, provider_base=run.base, provider_scope=run.scope,
                   provider_classes=[table.resolve(c) or c for c in run.classes])  # fmt: skip
    elif owner is not None:  # inherits the base bridge's provider_bridge
        out.update(provider_base="provider_bridge", provider_scope="hf_config")
    mapping_owner = _nearest(
        qualname, table, lambda c: c.config_mapping is not None and c.name != base.rsplit(".", 1)[-1]
    )
    if mapping_owner is not None and mapping_owner.config_mapping:
        base_pairs = set(_base_pairs(table, base))
        out["config_mapping_extra"] = [p for p in mapping_owner.config_mapping if p not in base_pairs]
    return out


def _via(setting: ProviderSetting, owner: str) -> ProviderSetting:
    return replace(setting, via=f"{owner} > {setting.via}" if setting.via else owner)


def _base_pairs(table: ClassTable, base: str) -> list[tuple[str, str]]:
    entry = table.by_qualname.get(base)
    return list(entry[1].config_mapping or []) if entry else []


def base_provider_settings(table: ClassTable, base: str) -> list[ProviderSetting]:
    entry = table.by_qualname.get(base)
    run = entry[1].provider_run if entry else None
    return list(run.settings) if run else []


def provider_defaults(table: ClassTable, classes: set[str]) -> dict[str, list[ProviderSetting]]:
    """Field defaults of each provider class through its tree ancestors (the nearest definition wins)."""
    out: dict[str, list[ProviderSetting]] = {}
    for written in sorted(classes | set(BASE_PROVIDERS)):
        qualname = table.resolve(written)
        if qualname is None:
            continue
        seen: dict[str, ProviderSetting] = {}
        for candidate in [qualname, *table.ancestors(qualname)]:
            entry = table.by_qualname.get(candidate)
            if entry is None:
                continue
            facts, cls = entry
            for attr, value in cls.field_defaults.items():
                if attr not in seen:
                    seen[attr] = ProviderSetting(attr=attr, style="default", value=value, fields=[],
                                                 constant=True, condition=None, location=cls.location, via=cls.name)  # fmt: skip
        out[qualname] = list(seen.values())
    return out
