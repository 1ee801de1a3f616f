"""`python -m analyzers nearest CONFIG`: the existing bridges ranked as starting points for a new model."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from analyzers.cli_common import add_format_argument, add_repo_argument, load_catalog, print_json
from analyzers.commands.inspect import add_config_arguments, load_spec_and_names
from analyzers.envelope import versioned
from analyzers.expressibility import expressibility, unchecked
from analyzers.nearest import WEIGHTS, rank
from analyzers.provider_report import features_text, implied_text, warn_unchecked
from analyzers.provider_vocabulary import implied_settings

HELP = "rank existing bridges/families by similarity to a model's HF config, with a score and reasons"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    add_repo_argument(parser)
    add_format_argument(parser)
    parser.add_argument(
        "--top", type=int, default=5, metavar="N", help="show the N best candidates (default 5)"
    )
    parser.add_argument("--exclude", action="append", default=[], metavar="BRIDGE_OR_FAMILY",
                        help="leave a bridge or a whole family out (repeatable)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    spec, names, names_note = load_spec_and_names(args)
    catalog = load_catalog(args)
    name_list, shapes = (names.names, names.shapes) if names else (None, None)
    exclude = tuple(args.exclude)
    implied = implied_settings(spec, catalog, name_list, shapes, exclude=exclude)
    supported, unsupported = expressibility(spec, catalog, name_list, shapes, exclude=exclude)
    not_checked = unchecked(spec, name_list)
    candidates = rank(spec, catalog, name_list, exclude=exclude, shapes=shapes, implied=implied,
                      dtypes=dict.fromkeys(names.dtypes.values(), 1) if names and names.dtypes else None, top=args.top)  # fmt: skip
    if args.format == "json":
        print_json(versioned("nearest", {
            "model_type": spec.model_type,
            "architectures": spec.architectures,
            "kind": spec.kind,
            "names": {"source": names.source, "count": len(names.names)} if names else {"unavailable": names_note},
            "weights": WEIGHTS,
            "excluded": args.exclude,
            "implied_settings": [asdict(s) for s in implied],
            "expressibility": {"supported": [f.to_json() for f in supported],
                               "unsupported": [f.to_json() for f in unsupported],
                               "unchecked": not_checked},
            "candidates": [asdict(c) for c in candidates],
        }))  # fmt: skip
        return 0
    print(f"{spec.model_type} ({', '.join(spec.architectures) or '-'}, {spec.kind.upper()})"
          + (f": {len(names.names)} HF names from {names.source}" if names else f": {names_note}"))  # fmt: skip
    warn_unchecked("nearest", not_checked)
    for line in features_text(supported, unsupported):
        print(line)
    for index, cand in enumerate(candidates, 1):
        parts = "  ".join(f"{k}={v:.2f}" for k, v in cand.components.items())
        print(f"{index}. {cand.bridge} ({cand.family})  score {cand.score:.3f}   [{parts}]")
        for reason in cand.reasons:
            print(f"     - {reason}")
    for line in implied_text(implied, candidates[0] if candidates else None):
        print(line)
    return 0
