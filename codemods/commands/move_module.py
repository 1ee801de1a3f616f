"""`python -m codemods move-module SRC DST`: move a module and fix every import, re-export and path naming it."""

from __future__ import annotations

import argparse

from analyzers.cli_common import load_repo
from codemods.refactors._cli import add_common_arguments, emit
from codemods.refactors.move_module import plan_move_module

HELP = "move a module (dotted name or path) and fix imports, re-exports, dotted paths and file paths"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "src", metavar="SRC", help="module to move: megatron.bridge.models.qwen.qwen3_next_bridge or its path"
    )
    parser.add_argument("dst", metavar="DST", help="new dotted module or path (must not exist)")
    add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return emit(plan_move_module(load_repo(args).root, args.src, args.dst), args)
