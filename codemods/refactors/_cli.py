"""Flags and output shared by the refactor commands: `--dry-run`, `--format`, apply-or-preview."""

from __future__ import annotations

import argparse
import sys

from analyzers.cli_common import add_format_argument, add_repo_argument, print_json
from analyzers.envelope import versioned
from codemods.plan import Plan
from codemods.refactors._done import emit_done


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    add_repo_argument(parser)
    add_format_argument(parser)
    parser.add_argument(
        "--dry-run", "--diff", dest="dry_run", action="store_true", help="print the diff, write nothing"
    )


def emit(plan: Plan, args: argparse.Namespace) -> int:
    """Preview (`--dry-run`) or apply `plan`, then print the change set (json) or the report (text)."""
    if plan.nothing_to_do:
        return emit_done(plan, args)
    if not args.dry_run:
        plan.apply()
    if args.format == "json":
        data = {
            **plan.to_json(),
            "applied": not args.dry_run,
            "already_applied": False,
            "diff": plan.preview(),
        }
        print_json(versioned(args.command, data))
        return 0
    if args.dry_run:
        sys.stdout.write(plan.preview())
    for line in plan.report:
        print(line, file=sys.stderr)
    if not args.dry_run:
        print(f"applied: {len(plan.changes)} files", file=sys.stderr)
    return 0
