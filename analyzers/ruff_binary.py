"""The one way both packages find the ruff they run (the lint's fixes, clone-family, the refactors)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


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
