"""`python -m codemods {clone-family,rename-symbol,move-module,rename-family,rename-param,smoke}`."""

from __future__ import annotations

from analyzers.cli import run_cli

COMMANDS = {
    "clone-family": "clone_family",
    "rename-symbol": "rename_symbol",
    "move-module": "move_module",
    "rename-family": "rename_family",
    "rename-param": "rename_param",
    "smoke": "smoke",
}


def main(argv: list[str] | None = None) -> int:
    return run_cli("python -m codemods", "codemods", COMMANDS, argv)
