"""`python -m analyzers inspect CONFIG`: what a new model's HF config and checkpoint say, against the catalog."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from analyzers.catalog.records import Catalog
from analyzers.cli_common import add_format_argument, add_repo_argument, load_catalog, print_json
from analyzers.coverage import group_names
from analyzers.envelope import versioned
from analyzers.errors import BridgesmithError
from analyzers.hf_config import (
    ModelSpec,
    architecture_fields,
    config_quantization,
    detect_blocks,
    load_spec,
    unknown_fields,
    vision_fields,
)
from analyzers.hf_names import HFNames, NamesUnavailable, collect_hf_names
from analyzers.nearest import model_format
from analyzers.safetensors_header import find_safetensors, read_header, summarize

HELP = "read a model's HF config (file, model dir, hub id or --from-transformers): fields, blocks, quantization, HF names"


def add_config_arguments(parser: argparse.ArgumentParser, positional: bool = True) -> None:
    """CONFIG (positional, or --config) and --from-transformers, shared by inspect, nearest and coverage."""
    if positional:
        parser.add_argument(
            "config", nargs="?", metavar="CONFIG", help="config.json, a model directory, or a hub repo id"
        )
    else:
        parser.add_argument(
            "--config", metavar="CONFIG", help="config.json, a model directory, or a hub repo id"
        )
    parser.add_argument(
        "--from-transformers",
        metavar="MODEL_TYPE",
        help="default config of MODEL_TYPE from the installed transformers",
    )
    parser.add_argument(
        "--no-names", action="store_true", help="do not build the model for HF parameter names"
    )


def load_spec_and_names(args: argparse.Namespace) -> tuple[ModelSpec, HFNames | None, str | None]:
    """(spec, names or None, why names are unavailable)."""
    spec = load_spec(args.config, from_transformers=args.from_transformers)
    if args.no_names:
        return spec, None, "HF parameter names not requested (--no-names)"
    try:
        return spec, collect_hf_names(spec), None
    except NamesUnavailable as exc:
        return spec, None, str(exc)


def try_catalog(args: argparse.Namespace) -> tuple[Catalog | None, str | None]:
    try:
        return load_catalog(args), None
    except BridgesmithError as exc:
        return None, f"catalog unavailable ({exc}); pass --repo for unknown fields and dequantizing bridges"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    add_repo_argument(parser)
    add_format_argument(parser)
    parser.add_argument(
        "--all-names", action="store_true", help="text output: list every HF name, not one line per group"
    )
    parser.add_argument(
        "--bridge",
        metavar="BRIDGE",
        help="a bridge's provider settings (every style, with the HF fields each reads); with CONFIG, "
        "what each comes to for that config",
    )


def inspect_report(
    spec: ModelSpec,
    names: HFNames | None,
    names_note: str | None,
    catalog: Catalog | None,
    catalog_note: str | None,
) -> dict[str, Any]:
    blocks = detect_blocks(spec, names.names if names else None)
    report: dict[str, Any] = {
        "source": spec.source,
        "origin": spec.origin,
        "config_path": spec.config_path,
        "model_type": spec.model_type,
        "architectures": spec.architectures,
        "architectures_inferred": spec.architectures_inferred,
        "tie_word_embeddings": spec.tie_word_embeddings,
        "kind": spec.kind,
        "sub_configs": {
            key: spec.sub_config((key,))[1].get("model_type")
            for key in [
                k
                for k, v in spec.config.items()
                if isinstance(v, dict) and k.endswith("_config") and k != "quantization_config"
            ]
        },
        "fields": [vars(f) for f in architecture_fields(spec)],
        "vision_fields": [vars(f) for f in vision_fields(spec)],
        "blocks": blocks,
        "notes": spec.notes,
    }
    if catalog is not None:
        known = {hf for hf, _ in catalog.config_mapping} | {
            f for b in catalog.bridges for f in b.config_fields
        }
        known |= base_config_fields(Path(catalog.root))
        report["unknown_fields"] = [vars(f) for f in unknown_fields(spec, known)]
    else:
        report["unknown_fields"] = None
        report["catalog_note"] = catalog_note
    report["quantization"] = quantization_report(spec, names, catalog)
    if names is not None:
        report["hf_names"] = {
            "source": names.source,
            "model_class": names.model_class,
            "count": len(names.names),
            "tied": names.tied,
            "names": [
                {"name": n, "shape": list(names.shapes[n]) if names.shapes[n] is not None else None}
                for n in names.names
            ],
        }
    else:
        report["hf_names"] = {"unavailable": names_note}
    return report


#: the base bridge, whose generic config translation every bridge inherits
BASE_BRIDGE = "src/megatron/bridge/models/conversion/model_bridge.py"


def base_config_fields(root: Path) -> set[str]:
    """HF config fields the base `MegatronModelBridge` reads (`hf_config.x`, `getattr(hf_config, "x")`)."""
    import re

    try:
        text = (root / BASE_BRIDGE).read_text(encoding="utf-8")
    except OSError:
        return set()
    direct = re.findall(r"\b\w*config\.(\w+)\b", text)
    via_getattr = re.findall(r"getattr\(\s*\w*config\w*\s*,\s*[\"'](\w+)[\"']", text)
    return set(direct) | set(via_getattr)


def quantization_report(spec: ModelSpec, names: HFNames | None, catalog: Catalog | None) -> dict[str, Any]:
    checkpoint = None
    if spec.model_dir and (files := find_safetensors(Path(spec.model_dir))):
        summary = summarize([read_header(f) for f in files])
        checkpoint = {"files": summary.files, "tensors": summary.tensors, "dtypes": summary.dtypes,
                      "scale_keys": summary.scale_keys, "examples": summary.examples}  # fmt: skip
    fmt = model_format(spec, checkpoint["dtypes"] if checkpoint else None)
    out: dict[str, Any] = {"config": config_quantization(spec), "checkpoint": checkpoint, "format": fmt}
    if catalog is not None:
        out["dequantizing_bridges"] = [
            {"bridge": b.name, "formats": b.dequant_formats} for b in catalog.bridges if b.dequant_formats
        ]
    if fmt:
        able = [d["bridge"] for d in out.get("dequantizing_bridges", []) if fmt in d["formats"]]
        out["note"] = (
            f"weights are stored quantized ({fmt}): import loads the raw quantized values unless the bridge "
            f"dequantizes them in maybe_modify_loaded_hf_weight"
            + (f"; bridges that dequantize {fmt}: {', '.join(able)}" if able else "")
        )
    return out


def render_text(report: dict[str, Any], all_names: bool) -> str:
    lines = [
        f"model_type: {report['model_type']}    kind: {report['kind'].upper()}    source: {report['source']} ({report['origin']})",
        f"architectures: {', '.join(report['architectures']) or '-'}{' (inferred)' if report['architectures_inferred'] else ''}",
        f"tie_word_embeddings: {report['tie_word_embeddings'] if report['tie_word_embeddings'] is not None else 'not set (transformers default)'}",
    ]
    if report["sub_configs"]:
        lines.append("sub-configs: " + ", ".join(f"{k} ({v})" for k, v in report["sub_configs"].items()))
    lines.append("\narchitecture fields:")
    for f in report["fields"]:
        lines.append(f"  {f['name']:<24} {f['value']!s:<14} {f['key']} @ {f['where']}")
    if report["vision_fields"]:
        lines.append("vision fields:")
        for f in report["vision_fields"]:
            lines.append(f"  {f['name']:<24} {f['value']!s:<14} {f['key']} @ {f['where']}")
    lines.append("\nblocks:" if report["blocks"] else "\nblocks: none beyond a dense decoder")
    for name, details in report["blocks"].items():
        shown = ", ".join(f"{k}={v}" for k, v in details.items())
        lines.append(f"  {name:<18} {shown}")
    if report["unknown_fields"] is None:
        lines.append(f"\nunknown fields: {report['catalog_note']}")
    elif report["unknown_fields"]:
        lines.append("\nfields no bridge reads and CONFIG_MAPPING does not map (new architecture signals?):")
        for f in report["unknown_fields"]:
            lines.append(f"  {f['name']:<32} {str(f['value'])[:40]:<40} @ {f['where']}")
    else:
        lines.append("\nunknown fields: none (every field is read by some bridge or mapped)")
    quant = report["quantization"]
    lines.append("\nquantization:")
    lines.append(f"  config: {quant['config'] if quant['config'] else 'none'}")
    if quant["checkpoint"]:
        ck = quant["checkpoint"]
        lines.append(
            f"  checkpoint headers ({ck['files']} files, {ck['tensors']} tensors): dtypes {ck['dtypes']}"
        )
        lines.append(f"  companion keys: {ck['scale_keys'] or 'none'}")
    if quant.get("note"):
        lines.append(f"  {quant['note']}")
    elif "dequantizing_bridges" in quant:
        lines.append("  not quantized")
    names = report["hf_names"]
    if "unavailable" in names:
        lines.append(f"\n{names['unavailable']}")
    else:
        lines.append(f"\nHF parameter names ({names['count']}, from {names['source']}"
                     f"{', ' + names['model_class'] if names['model_class'] else ''}"
                     f"{', tied: ' + ', '.join(names['tied']) if names['tied'] else ''}):")  # fmt: skip
        entries = names["names"]
        if all_names:
            for e in entries:
                lines.append(f"  {e['name']}  {tuple(e['shape']) if e['shape'] is not None else ''}")
        else:
            shapes = {e["name"]: e["shape"] for e in entries}
            for key, members in group_names([e["name"] for e in entries]).items():
                shape = shapes[members[0]]
                lines.append(
                    f"  {key}  x{len(members)}  {tuple(shape) if shape is not None else ''}".rstrip()
                )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.bridge and not args.config and not args.from_transformers:
        from analyzers.provider_inspect import bridge_report, render_bridge

        report = bridge_report(load_catalog(args), args.bridge, None)
        print_json(report) if args.format == "json" else print(render_bridge(report))
        return 0
    spec, names, names_note = load_spec_and_names(args)
    catalog, catalog_note = try_catalog(args)
    report = inspect_report(spec, names, names_note, catalog, catalog_note)
    if catalog is not None:
        from analyzers.provider_inspect import bridge_report, provider_section

        report.update(provider_section(spec, names, catalog))
        if args.bridge:
            report["bridge"] = bridge_report(catalog, args.bridge, spec)
    elif args.bridge:
        raise BridgesmithError(catalog_note or "catalog unavailable")
    if args.format == "json":
        print_json(versioned("inspect", report))
    else:
        print(render_text(report, args.all_names))
        if "implied_settings" in report:
            from analyzers.provider_inspect import render_provider_section
            from analyzers.provider_report import warn_unchecked

            warn_unchecked("inspect", report["expressibility"]["unchecked"])
            print(render_provider_section(report))
        if "bridge" in report:
            from analyzers.provider_inspect import render_bridge

            print("\n" + render_bridge(report["bridge"]))
    if names_note and args.format == "json":
        print(f"note: {names_note}", file=sys.stderr)
    return 0
