"""`python -m analyzers catalog`: every bridge, registration, registry, family, recipe of the tree."""

from __future__ import annotations

import argparse
import sys

from analyzers.catalog.render import catalog_json, catalog_table, catalog_text
from analyzers.cli_common import add_format_argument, add_repo_argument, load_catalog, print_json
from analyzers.errors import ResolveError

HELP = "static catalog of the tree's bridges, registries, registrations, recipes, tests, docs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_repo_argument(parser)
    add_format_argument(parser, ("text", "json", "table"))
    parser.add_argument("--family", default=None, help="only this family (folder name under models/)")
    parser.add_argument("--no-cache", action="store_true", help="parse everything again")


def run(args: argparse.Namespace) -> int:
    if args.no_cache:
        from analyzers.catalog import build_catalog
        from analyzers.cli_common import load_repo

        catalog = build_catalog(load_repo(args).root, use_cache=False)
    else:
        catalog = load_catalog(args)
    if args.family and catalog.family(args.family) is None:
        known = ", ".join(f.name for f in catalog.families)
        raise ResolveError(f"unknown family '{args.family}' (known: {known})")
    if args.format == "json":
        print_json(catalog_json(catalog, args.family))
    elif args.format == "table":
        print(catalog_table(catalog, args.family))
    else:
        print(catalog_text(catalog, args.family))
    for problem in catalog.problems:
        print(f"warning: {problem.location}: {problem.message}", file=sys.stderr)
    return 0
