"""`python -m analyzers {catalog,fetch-tree,inspect,nearest,coverage,synthesize,lint}`."""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import sys
from collections.abc import Callable

from analyzers import __version__
from analyzers.errors import BridgesmithError

#: subcommand -> module under analyzers.commands
COMMANDS = {
    "catalog": "catalog",
    "fetch-tree": "fetch_tree",
    "inspect": "inspect",
    "nearest": "nearest",
    "coverage": "coverage",
    "synthesize": "synthesize",
    "lint": "lint",
}


def run_cli(
    prog: str,
    package: str,
    commands: dict[str, str],
    argv: list[str] | None,
    prepare: Callable[[argparse.Namespace], contextlib.AbstractContextManager | None] | None = None,
) -> int:
    """Build the argparse tree from command modules and run one; map failures to exit codes.

    `prepare(args)` runs first and may return a context the command runs in (codemods: roll back an
    interrupted apply, then hold the tree's write lock from planning to applying).
    """
    # A run is short and allocates mostly acyclic records (unpickled caches, AST nodes): collecting the
    # young generation rarely saves the full collections that scan every cached object over and over.
    gc.set_threshold(50_000, 50, 100)
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--version", action="version", version=f"bridgesmith {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    argv = sys.argv[1:] if argv is None else argv
    chosen = next((a for a in argv if not a.startswith("-")), None)
    # Import only the chosen command's module: start-up time is most of a warm run.
    selected = {chosen: commands[chosen]} if chosen in commands else commands
    for name, module_name in selected.items():
        try:
            module = importlib.import_module(f"{package}.commands.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{package}.commands.{module_name}":
                raise
            continue
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return 2
    if getattr(args, "no_cache", False):
        from analyzers.pickle_store import disable_caches

        disable_caches()
    try:
        context = prepare(args) if prepare is not None else None
        with context or contextlib.nullcontext():
            return args.run(args)
    except BridgesmithError as exc:
        if getattr(exc, "nothing_to_do", False):
            print(f"nothing to do: {exc}")
            return 0
        print(f"error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


def main(argv: list[str] | None = None) -> int:
    return run_cli("python -m analyzers", "analyzers", COMMANDS, argv)


def lint_entry() -> int:
    """Console entry point used by the pre-commit hooks: `bridgesmith-lint ARGS` == `python -m analyzers lint ARGS`."""
    return main(["lint", *sys.argv[1:]])
