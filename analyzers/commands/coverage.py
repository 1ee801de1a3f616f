"""`python -m analyzers coverage BRIDGE --config CONFIG`: a bridge's static registry against a model's HF names."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from analyzers.cli_common import add_format_argument, add_repo_argument, load_catalog, print_json
from analyzers.commands.inspect import add_config_arguments, load_spec_and_names
from analyzers.coverage import coverage
from analyzers.envelope import versioned
from analyzers.errors import ConfigError, ResolveError

HELP = (
    "hold a bridge's mapping registry against a model's HF parameter names: unmatched, unused, matched twice"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bridge", metavar="BRIDGE", help="bridge class name (e.g. Qwen3Bridge)")
    add_config_arguments(parser, positional=False)
    add_repo_argument(parser)
    add_format_argument(parser)


def run(args: argparse.Namespace) -> int:
    catalog = load_catalog(args)
    bridge = catalog.bridge(args.bridge)
    if bridge is None:
        close = [b.name for b in catalog.bridges if args.bridge.lower() in b.name.lower()]
        raise ResolveError(
            f"unknown bridge '{args.bridge}'" + (f" (did you mean {', '.join(close)}?)" if close else "")
        )
    if not args.config and not args.from_transformers:
        raise ConfigError("coverage needs --config CONFIG or --from-transformers MODEL_TYPE")
    spec, names, names_note = load_spec_and_names(args)
    if names is None:
        raise ConfigError(names_note or "HF parameter names unavailable", spec.source)
    report = coverage(catalog, bridge, names.names, names.source)
    if args.format == "json":
        data = asdict(report)
        data["share"] = round(report.share, 4)
        print_json(versioned("coverage", data))
        return 0
    print(f"{bridge.name} vs {spec.source}: {report.matched}/{report.total} HF names matched ({report.share:.1%}), "
          f"{report.patterns} patterns, names from {names.source}")  # fmt: skip
    if report.unresolved:
        print(
            f"note: {len(report.unresolved)} registry parts could not be resolved statically; coverage may be partial"
        )
    print(f"\nHF names no mapping matches: {sum(g.count for g in report.unmatched)}")
    for group in report.unmatched:
        print(f"  {group.pattern}  x{group.count}")
    print(f"\npatterns that match nothing: {len(report.unused)}")
    for use in report.unused:
        print(f"  {use.describe()}  {use.location}")
    conflicts = [d for d in report.doubles if not d.alternative]
    print(f"\nnames matched by several mappings: {report.double_count} "
          f"(plus {report.alternative_count} by alternatives MB picks between)")  # fmt: skip
    for double in conflicts:
        print(
            f"  {double.name}: " + "; ".join(f"{u.mapping_class} -> {u.megatron_param}" for u in double.uses)
        )
    return 0
