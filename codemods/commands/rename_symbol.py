"""`python -m codemods rename-symbol OLD NEW`: rename a class, function or constant across the tree."""

from __future__ import annotations

import argparse

from analyzers.cli_common import load_repo
from codemods.refactors._cli import add_common_arguments, emit
from codemods.refactors.rename_symbol import plan_rename_symbol

HELP = "rename a module-level class, function or constant everywhere (imports, strings, docs)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "old",
        metavar="OLD",
        help="name or dotted path (megatron.bridge.models.qwen.qwen3_bridge.Qwen3Bridge)",
    )
    parser.add_argument("new", metavar="NEW", help="new name (an identifier)")
    add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return emit(plan_rename_symbol(load_repo(args).root, args.old, args.new), args)
