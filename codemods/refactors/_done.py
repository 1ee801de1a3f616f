"""A finished refactor run again: an empty plan that says why (the CLI prints `nothing to do: WHY`, exit 0),
and the refusal of a tree the refactor cannot read whole."""

from __future__ import annotations

import argparse
from pathlib import Path

from analyzers.catalog.records import Catalog
from analyzers.errors import ParseError
from codemods.plan import Plan


def already_done(root: Path, why: str) -> Plan:
    """The empty plan of a refactor whose result is already on disk (OLD is gone and NEW exists)."""
    return Plan(root, report=[f"nothing to do: {why}"], nothing_to_do=why)


def emit_done(plan: Plan, args: argparse.Namespace) -> int:
    """Print that `plan` has nothing to do (one line, or the JSON document with `already_applied`)."""
    if args.format == "json":  # the change-set document every write prints, with nothing in it
        output = plan.output(
            args.command, applied=False, already_applied=True, extra={"message": plan.nothing_to_do}
        )
        output.present("json")
    else:
        print(f"nothing to do: {plan.nothing_to_do}")
    return 0


def refuse_unreadable(catalog: Catalog, prefix: str, what: str) -> None:
    """ParseError for the first file under `prefix` the catalog could not read or parse: a refactor that
    must read it would otherwise skip it and leave the tree half-renamed."""
    for problem in catalog.problems:
        if problem.location.path.startswith(prefix):
            raise ParseError(f"{what} must read this file: {problem.message}", problem.location.path)
