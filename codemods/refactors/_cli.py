"""Flags and output shared by the refactor commands: `--dry-run`, `--format`, apply-or-preview."""

from __future__ import annotations

import argparse

from analyzers.cli_common import add_format_argument, add_repo_argument
from codemods.plan import Plan
from codemods.refactors._done import emit_done


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    add_repo_argument(parser)
    add_format_argument(parser)
    parser.add_argument(
        "--dry-run", "--diff", dest="dry_run", action="store_true", help="print the diff, write nothing"
    )


def emit(plan: Plan, args: argparse.Namespace) -> int:
    """Preview (`--dry-run`) or apply `plan`, then present its change set (`Plan.output`): the JSON document,
    or the report on stderr and the diff (dry run) on stdout."""
    if plan.nothing_to_do:
        return emit_done(plan, args)
    if not args.dry_run:
        plan.apply()
    summary = list(plan.report)
    if not args.dry_run:
        summary.append(f"applied: {len(plan.changes)} files")
    plan.output(args.command, applied=not args.dry_run, summary=summary).present(args.format)
    return 0
