"""`inspect`'s provider part: a bridge's provider settings, and what a config implies (with its expressibility)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from analyzers.catalog.records import Catalog
from analyzers.errors import ResolveError
from analyzers.expressibility import Feature, expressibility, unchecked
from analyzers.hf_config import ModelSpec
from analyzers.hf_names import HFNames
from analyzers.implied_setting import ImpliedSetting
from analyzers.provider_eval import UNKNOWN, evaluate, plain
from analyzers.provider_report import features_text, implied_text
from analyzers.provider_vocabulary import (
    bridge_context,
    describe_settings,
    implied_settings,
    settings_of,
)


def provider_section(spec: ModelSpec, names: HFNames | None, catalog: Catalog) -> dict[str, Any]:
    """`implied_settings` and `expressibility` of a config, JSON-ready."""
    name_list, shapes = (names.names, names.shapes) if names else (None, None)
    implied = implied_settings(spec, catalog, name_list, shapes)
    supported, unsupported = expressibility(spec, catalog, name_list, shapes)
    return {
        "implied_settings": [asdict(s) for s in implied],
        "expressibility": {"supported": [f.to_json() for f in supported],
                           "unsupported": [f.to_json() for f in unsupported],
                           "unchecked": unchecked(spec, name_list)},
    }  # fmt: skip


def bridge_report(catalog: Catalog, name: str, spec: ModelSpec | None) -> dict[str, Any]:
    """A bridge's provider settings (its own, inherited, CONFIG_MAPPING and base parts); with `spec`, each
    setting's value for that config, whether it applies and the fields it would miss."""
    bridge = catalog.bridge(name) or next(
        (b for b in catalog.bridges if b.name.lower() == name.lower()), None
    )
    if bridge is None:
        raise ResolveError(f"no bridge {name!r} in the catalog (python -m analyzers catalog lists them)")
    settings = describe_settings(catalog, bridge)
    if spec is not None:
        context = bridge_context(catalog, bridge)
        for entry, setting in zip(
            settings, [s for s in settings_of(catalog, bridge) if s.style != "default"], strict=True
        ):
            outcome = evaluate(setting.value, spec.config, setting.condition, catalog.activation_map, context)
            entry["for_config"] = {"applies": outcome.applies, "value": plain(outcome.value) if outcome.value is not UNKNOWN else None,
                                   "known": outcome.value is not UNKNOWN, "missing": outcome.missing,
                                   "unsupported": outcome.unsupported}  # fmt: skip
    styles: dict[str, int] = {}
    for entry in settings:
        styles[entry["style"]] = styles.get(entry["style"], 0) + 1
    return {"bridge": bridge.name, "path": bridge.path, "provider_base": bridge.provider_base,
            "provider_scope": bridge.provider_scope, "provider_classes": bridge.provider_classes,
            "config_mapping_extra": bridge.config_mapping_extra, "styles": styles, "settings": settings}  # fmt: skip


def render_bridge(report: dict[str, Any]) -> str:
    base = {"provider_bridge": "the base bridge's provider_bridge (CONFIG_MAPPING and its settings)",
            "kwargs": "the base bridge's hf_config_to_provider_kwargs (CONFIG_MAPPING)", None: "nothing of the base bridge"}  # fmt: skip
    lines = [f"{report['bridge']} ({report['path']}): starts from {base.get(report['provider_base'])}"
             + (f", read from {report['provider_scope']}" if report["provider_scope"] else ""),
             "styles: " + ", ".join(f"{k} {v}" for k, v in report["styles"].items())]  # fmt: skip
    if report["config_mapping_extra"]:
        lines.append(
            "CONFIG_MAPPING adds: " + ", ".join(f"{a} -> {b}" for a, b in report["config_mapping_extra"])
        )
    for s in report["settings"]:
        if s["style"] == "config_mapping" and "for_config" in s and not s["for_config"]["applies"]:
            continue  # a CONFIG_MAPPING field the config does not have: not mapped
        fields = f"  <- {', '.join(s['fields'])}" if s["fields"] else ""
        cond = f"  if {s['condition']}" if s["condition"] and s["style"] != "config_mapping" else ""
        via = f"  [{s['via']}]" if s["via"] else ""
        line = f"  {s['style']:<14} {s['attr']} = {s['value']}{fields}{cond}{via}"
        if "for_config" in s:
            got = s["for_config"]
            if got["missing"]:
                line += f"\n{'':17}-> reads {got['missing']}, which the config lacks"
            elif got["applies"] is False:
                line += f"\n{'':17}-> does not apply"
            elif got["known"]:
                line += f"\n{'':17}-> {got['value']!r}"
        lines.append(line)
    return "\n".join(lines)


def render_provider_section(report: dict[str, Any]) -> str:
    implied = [ImpliedSetting(**s) for s in report["implied_settings"]]
    expr = report["expressibility"]
    supported = [Feature(**{k: v for k, v in f.items() if k != "supported"}) for f in expr["supported"]]
    unsupported = [Feature(**{k: v for k, v in f.items() if k != "supported"}) for f in expr["unsupported"]]
    return "\n" + "\n".join([*features_text(supported, unsupported), *implied_text(implied)])
