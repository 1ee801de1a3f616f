"""`python -m codemods rename-family OLD NEW`: rename a whole family (folders, modules, classes, recipes, tests,
docs, examples) with clone-family's naming rules."""

from __future__ import annotations

import argparse

from analyzers.cli_common import load_repo
from codemods.refactors._cli import add_common_arguments, emit
from codemods.refactors.rename_family import plan_rename_family

HELP = "rename a model family everywhere: folders, modules, classes, recipe functions, registrations, tests, docs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "old", metavar="OLD", help="family folder (olmoe, minimax_m2) or a model name of one family"
    )
    parser.add_argument("new", metavar="NEW", help="new family name (snake_case identifier)")
    parser.add_argument(
        "--class-prefix",
        metavar="NAME",
        help="CamelCase prefix of the renamed classes (default: the old prefix, recased: OlMoE -> OlmoMoe)",
    )
    add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return emit(
        plan_rename_family(load_repo(args).root, args.old, args.new, class_prefix=args.class_prefix), args
    )
