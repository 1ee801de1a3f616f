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
    "recover": "recover",
}
#: commands that write the tree: an interrupted apply's journal is rolled back before they plan
WRITE_COMMANDS = {"clone-family", "rename-symbol", "move-module", "rename-family", "rename-param", "recover"}


def recover_first(args):
    """Before a write command reads the tree, roll back what a killed apply left (one line on stderr);
    an applying command then plans and applies under the tree's write lock (returned as its context), so a
    second writer waits and plans on the first one's result instead of being refused for drift."""
    import sys

    from analyzers.changes import recover, tree_lock
    from analyzers.repo import find_repo

    if args.command not in WRITE_COMMANDS:
        return None
    root = find_repo(getattr(args, "repo", None)).root
    done = recover(root)
    if done is not None:
        args.recovered = done
        if args.command != "recover":
            print(f"warning: {done.message(root)}", file=sys.stderr)
    if args.command == "recover" or getattr(args, "dry_run", False):
        return None
    return tree_lock(root)


def main(argv: list[str] | None = None) -> int:
    return run_cli("python -m codemods", "codemods", COMMANDS, argv, prepare=recover_first)
