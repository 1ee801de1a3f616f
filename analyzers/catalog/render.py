"""Catalog -> text, table and JSON views."""

from __future__ import annotations

from typing import Any

from analyzers import envelope
from analyzers.catalog.records import Catalog, FamilyRecord

TABLE_COLUMNS = (
    "bridges",
    "provider",
    "modeling",
    "recipes",
    "unit tests",
    "functional tests",
    "docs",
    "examples",
)


def summary(catalog: Catalog, family: str | None = None) -> dict[str, Any]:
    """The counts every format prints, from one definition of a family (`Catalog.registered_families`)."""
    bridges = [b for b in catalog.bridges if b.registrations and (not family or b.family == family)]
    families = [f for f in catalog.registered_families() if not family or f.name == family]
    counted = {f.name for f in families}
    return {
        "registered_bridges": len(bridges),
        "diffusion_bridges": sum(1 for b in bridges if b.diffusion),
        "registrations": sum(len(b.registrations) for b in bridges),
        "families": len(families),
        "diffusion_families": sum(1 for f in families if f.name.startswith("diffusion/")),
        "packages_without_bridges": [
            f.name for f in catalog.families if f.name not in counted and (not family or f.name == family)
        ],
    }


def summary_line(catalog: Catalog, family: str | None = None) -> str:
    counts = summary(catalog, family)
    fams, diffusion = counts["families"], counts["diffusion_families"]
    others = counts["packages_without_bridges"]
    return (
        f"{counts['registered_bridges']} registered bridge classes ({counts['diffusion_bridges']} diffusion), "
        f"{counts['registrations']} registrations, {fams} families ({fams - diffusion} + {diffusion} diffusion)"
        + (f"; not families (no registered bridge): {', '.join(others)}" if others else "")
        + f"; tree: {catalog.tree_kind}; absent parts: "
        + (", ".join(k for k, v in catalog.parts.items() if not v) or "none")
    )


def catalog_json(catalog: Catalog, family: str | None = None) -> dict[str, Any]:
    """The versioned `catalog --format json` document (README: "The catalog's JSON schema").

    The records of `Catalog.to_json`, with `families[]` holding the families only (the packages that
    register no bridge are `packages_without_bridges[]`, same shape) and `summary` the counts of every view.
    """
    data = catalog.to_json()
    del data["schema_version"], data["tool_version"]  # the records' own; the envelope says the document's
    if family:
        data["bridges"] = [b for b in data["bridges"] if b["family"] == family]
        data["families"] = [f for f in data["families"] if f["name"] == family]
    counts = summary(catalog, family)
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "bridges":
            out["summary"] = counts
        if key == "families":
            others = set(counts["packages_without_bridges"])
            out["families"] = [f for f in value if f["name"] not in others]
            out["packages_without_bridges"] = [f for f in value if f["name"] in others]
            continue
        out[key] = value
    return envelope.versioned("catalog", out)


def _mark(value: object, checkout_only: bool, catalog: Catalog) -> str:
    if checkout_only and not catalog.parts.get("tests", False) and not catalog.parts.get("docs", False):
        return "n/a"
    if isinstance(value, list):
        return str(len(value)) if value else "-"
    return "yes" if value else "-"


def family_row(catalog: Catalog, fam: FamilyRecord) -> list[str]:
    parts = catalog.parts

    def part(name: str, value: object) -> str:
        if not parts.get(name, False):
            return "absent"
        if isinstance(value, list):
            return str(len(value)) if value else "-"
        return "yes" if value else "-"

    registered = {b.name for b in catalog.bridges if b.registrations}
    count = sum(1 for name in fam.bridges if name in registered)
    unregistered = len(fam.bridges) - count
    return [
        fam.name,
        (str(count) if count else "-") + (f" (+{unregistered} unregistered)" if unregistered else ""),
        ",".join(fam.providers[:2]) + ("..." if len(fam.providers) > 2 else "") if fam.providers else "-",
        str(len(fam.modeling)) if fam.modeling else "-",
        ",".join(fam.recipes) if fam.recipes else "-",
        part("tests", fam.unit_tests),
        part("tests", fam.functional_tests),
        part("docs", fam.docs),
        part("examples", fam.examples),
    ]


def catalog_table(catalog: Catalog, family: str | None = None) -> str:
    rows = [["family", *TABLE_COLUMNS]]
    rows += [family_row(catalog, f) for f in catalog.registered_families() if not family or f.name == family]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join([*lines, summary_line(catalog, family)])


def catalog_text(catalog: Catalog, family: str | None = None) -> str:
    out: list[str] = []
    bridges = [b for b in catalog.bridges if not family or b.family == family]
    for b in bridges:
        out.append(f"{b.path}:{b.location.line}: {b.name} [{b.family}]")
        for r in b.registrations:
            out.append(
                f"    register ({r.style}{', guarded' if r.guarded else ''}): source={r.source} ({r.source_kind}) "
                f"target={r.target} model_type={r.model_type}"
                + (f" provider={r.provider}" if r.provider else "")
            )
        if not b.registrations:
            out.append("    not registered")
        if b.provider_class:
            out.append(f"    provider class: {b.provider_class}")
        out.append(
            f"    hooks: {', '.join(b.hooks) or '-'}; provider_bridge calls super(): {b.provider_bridge_calls_super}"
        )
        if b.provider_attributes:
            attrs = ", ".join(f"{k}={v}" for k, v in b.provider_attributes.items())
            out.append(f"    provider attributes: {attrs if len(attrs) < 300 else attrs[:297] + '...'}")
        reg = b.registry
        cond = sum(1 for m in reg.mappings if m.condition)
        out.append(
            f"    registry: {len(reg.mappings)} mappings ({cond} conditional), {len(reg.unresolved)} unresolved"
            + (f", inherits {reg.inherits}" if reg.inherits else "")
        )
        for m in reg.mappings:
            hf = ", ".join(f"{k}={v}" for k, v in m.hf_params.items())
            out.append(
                f"      {m.mapping_class}: {m.megatron_param} <- {hf}"
                + (f"  [if {m.condition}]" if m.condition else "")
            )
        for u in reg.unresolved:
            out.append(f"      UNRESOLVED {u.location}: {u.reason}: {u.source}")
    out.append(summary_line(catalog, family))
    for p in catalog.problems:
        out.append(f"{p.location}: {p.message}")
    return "\n".join(out)
