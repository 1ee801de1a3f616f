"""`python -m codemods rename-param OLD NEW`: rewrite a parameter-name pattern in every mapping registry."""

from __future__ import annotations

import argparse

from analyzers.cli_common import load_catalog, load_repo
from codemods.refactors._cli import add_common_arguments, emit
from codemods.refactors.rename_param import SIDES, plan_rename_param

HELP = "rewrite a parameter-name pattern (or a dotted prefix of it) in every mapping registry, nowhere else"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("old", metavar="OLD", help="pattern or prefix, e.g. mtp.layers.*.transformer_layer.")
    parser.add_argument("new", metavar="NEW", help="replacement, with the same '*' segments")
    parser.add_argument(
        "--side", choices=SIDES, default=None, help="only Megatron or only HF names (default: both)"
    )
    parser.add_argument("--family", default=None, help="only bridges of this family (folder under models/)")
    add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    root = load_repo(args).root
    plan = plan_rename_param(root, load_catalog(args), args.old, args.new, side=args.side, family=args.family)
    return emit(plan, args)
