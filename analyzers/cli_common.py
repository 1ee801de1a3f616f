"""Flags and loaders shared by every command of both packages."""

from __future__ import annotations

import argparse
from typing import Any

from analyzers.catalog.records import Catalog
from analyzers.envelope import write_json
from analyzers.repo import Repo, find_repo


def add_repo_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--repo",
        metavar="PATH",
        default=None,
        help="Megatron-Bridge tree (default: the checkout around the current directory)",
    )


def add_format_argument(parser: argparse.ArgumentParser, choices: tuple[str, ...] = ("text", "json")) -> None:
    parser.add_argument("--format", choices=choices, default="text", help="output format (default: text)")


def load_repo(args: argparse.Namespace) -> Repo:
    return find_repo(getattr(args, "repo", None))


def load_catalog(args: argparse.Namespace) -> Catalog:
    """Build (or load from cache) the catalog of the tree named by `--repo`."""
    from analyzers.catalog import build_catalog

    return build_catalog(load_repo(args).root)


def print_json(data: Any) -> None:
    """JSON on stdout: indented for a terminal, compact for a pipe (`envelope.write_json`)."""
    write_json(data)
