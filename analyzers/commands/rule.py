"""`python -m analyzers rule CODE` (and `bridgesmith-lint rule CODE`): explain one lint rule, as `ruff rule`."""

from __future__ import annotations

import argparse
import sys

from analyzers.errors import ResolveError

HELP = "explain one lint rule (its docstring as Markdown)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "code", metavar="CODE", help="rule code (MBR010) or name (register-bridge-without-model-type)"
    )
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )


def run(args: argparse.Namespace) -> int:
    from analyzers.lint.engine import ALL_RULES
    from analyzers.lint.output import dumps, rule_json, rule_markdown, versioned

    wanted = args.code.strip()
    rule = next((r for r in ALL_RULES if wanted.upper() == r.CODE or wanted.lower() == r.NAME), None)
    if rule is None:
        raise ResolveError(f"unknown rule '{wanted}' (`bridgesmith-lint --list-rules` lists them)")
    if args.format == "json":
        sys.stdout.write(dumps(versioned("rule", command="rule", rule=rule_json(rule))))
    else:
        sys.stdout.write(rule_markdown(rule))
    return 0
