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
    "rule": "rule",
}


class Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line (`prog: error: message`, exit 2), in every command, as ruff's;
    `--help` shows the usage."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


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
    argv = sys.argv[1:] if argv is None else argv
    chosen = next((a for a in argv if not a.startswith("-")), None)
    # No prefix matching in any command: `smoke --repo` must never be taken as `--report`.
    parser = Parser(prog=prog, allow_abbrev=False)
    parser.add_argument("--version", action="version", version=f"bridgesmith {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # Import only the chosen command's module: start-up time is most of a warm run.
    selected = {chosen: commands[chosen]} if chosen in commands else commands
    for name, module_name in selected.items():
        try:
            module = importlib.import_module(f"{package}.commands.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{package}.commands.{module_name}":
                raise
            continue
        command = sub.add_parser(name, help=module.HELP, description=module.HELP, allow_abbrev=False)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return 2
    return _run(args, prepare)


#: optional dependency (top-level module) -> the extra that installs it
OPTIONAL = {
    "rope": "refactor",
    "torch": "hf",
    "transformers": "hf",
    "huggingface_hub": "hf",
    "safetensors": "hf",
}


def _run(
    args: argparse.Namespace,
    prepare: Callable[[argparse.Namespace], contextlib.AbstractContextManager | None] | None = None,
) -> int:
    from analyzers.pickle_store import caches_off

    try:
        context = prepare(args) if prepare is not None else None
        # --no-cache holds for this run only (commands also run in-process, from tests and hooks).
        with caches_off(getattr(args, "no_cache", False)), context or contextlib.nullcontext():
            return args.run(args)
    except ModuleNotFoundError as exc:
        top = (exc.name or "").split(".")[0]
        if top not in OPTIONAL:
            raise
        hint = f"pip install 'bridgesmith[{OPTIONAL[top]}]'"
        if OPTIONAL[top] == "hf":
            hint = "install the CPU build of torch first (see the README), then " + hint
        print(f"error: this command needs {top}, which is not installed: {hint}", file=sys.stderr)
        return 2
    except BridgesmithError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


def main(argv: list[str] | None = None) -> int:
    return run_cli("python -m analyzers", "analyzers", COMMANDS, argv)


def lint_entry(argv: list[str] | None = None) -> int:
    """The `bridgesmith-lint` console script (the pre-commit hooks' entry): `python -m analyzers lint ARGS`
    under its own name; `bridgesmith-lint rule CODE` explains a rule, as `ruff rule`."""
    gc.set_threshold(50_000, 50, 100)
    argv = sys.argv[1:] if argv is None else argv
    name = "rule" if argv[:1] == ["rule"] else "lint"
    module = importlib.import_module(f"analyzers.commands.{name}")
    prog = "bridgesmith-lint rule" if name == "rule" else "bridgesmith-lint"
    parser = Parser(prog=prog, description=module.HELP, allow_abbrev=False)
    parser.add_argument("--version", action="version", version=f"bridgesmith-lint {__version__}")
    module.add_arguments(parser)
    args = parser.parse_args(argv[1:] if name == "rule" else argv)
    args.run = module.run
    return _run(args)
