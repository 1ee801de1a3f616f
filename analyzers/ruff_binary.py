"""The one way both packages find the ruff they run (the lint's fixes, clone-family, the refactors)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from analyzers.errors import ToolMissingError


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
