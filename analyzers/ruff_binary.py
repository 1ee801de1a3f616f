"""The one way both packages find and run ruff (the lint's fixes, clone-family, the refactors): which binary,
whether a tree configures it, and a run over text given as one of the tree's files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from analyzers.errors import ToolMissingError

#: the files a tree's ruff configuration can live in
CONFIG_FILES = ("pyproject.toml", "ruff.toml", ".ruff.toml")


def ruff_binary() -> str | None:
    """Path of the ruff to run, None when there is none.

    The one installed beside this interpreter comes first (the environment the tool runs in, even when it
    is not on PATH), then the `ruff` package's own lookup (e.g. a user-site install), then PATH.
    """
    local = Path(sys.executable).with_name("ruff")
    if local.is_file():
        return str(local)
    try:
        from ruff.__main__ import find_ruff_bin  # the package is optional
    except ImportError:
        pass
    else:
        try:
            return os.fsdecode(find_ruff_bin())
        except FileNotFoundError:
            pass
    return shutil.which("ruff")


def required_ruff(purpose: str) -> str:
    """`ruff_binary()`, or one line saying where ruff was looked for and what needs it."""
    ruff = ruff_binary()
    if ruff is None:
        raise ToolMissingError(
            f"not found beside {sys.executable}, in the ruff package or on PATH; {purpose} "
            "(pip install ruff in this environment)",
            "ruff",
        )
    return ruff


def has_ruff_config(root: Path) -> bool:
    """Whether the tree configures ruff (ruff.toml, .ruff.toml or [tool.ruff] in pyproject.toml): without
    one, ruff's defaults are not the tree's style."""
    if (root / "ruff.toml").is_file() or (root / ".ruff.toml").is_file():
        return True
    try:
        return "[tool.ruff" in (root / "pyproject.toml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False


def ruff_on_text(
    ruff: str, args: Sequence[str], text: str, filename: str, cwd: Path
) -> subprocess.CompletedProcess[str]:
    """`ruff ARGS --stdin-filename FILENAME -` over `text`, run in `cwd`: ruff takes the configuration and
    the first-party packages from where `filename` would sit, as the tree's own hooks do."""
    return subprocess.run(
        [ruff, *args, "--stdin-filename", filename, "-"],
        input=text,
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )
