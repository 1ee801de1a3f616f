"""`python -m analyzers fetch-tree`: download, verify and unpack the pinned real tree; print its path."""

from __future__ import annotations

import argparse
from pathlib import Path

from analyzers.realtree import PINNED_VERSION, PINNED_WHEELS, ensure_tree

HELP = "download the pinned megatron-bridge wheel, verify its hash, unpack it as a checkout-shaped tree"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--version", dest="tree_version", default=PINNED_VERSION, choices=sorted(PINNED_WHEELS)
    )
    parser.add_argument(
        "--wheel", type=Path, default=None, help="use this local wheel instead of downloading"
    )


def run(args: argparse.Namespace) -> int:
    print(ensure_tree(args.tree_version, args.wheel))
    return 0
