"""`python -m codemods recover`: roll back an apply that was killed before it finished (its journal)."""

from __future__ import annotations

import argparse

from analyzers.changes import recover
from analyzers.cli_common import add_repo_argument, load_repo

HELP = "roll back an apply that was killed mid-write (every write command also does this first)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_repo_argument(parser)


def run(args: argparse.Namespace) -> int:
    root = load_repo(args).root
    done = getattr(args, "recovered", None) or recover(root)
    print(done.message(root) if done else f"{root}: nothing to recover")
    return 0
