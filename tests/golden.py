"""Golden files: a test's text output held against a file under fixtures/.

`pytest --update-golden` rewrites every golden a run checks (review the `git diff` before committing);
without it a mismatch fails with the unified diff from the golden to what the run produced.
"""

from __future__ import annotations

import difflib
from pathlib import Path

__all__ = ["check_golden"]


def check_golden(actual: str, golden: Path, *, update: bool) -> None:
    """Fail unless `actual` is `golden`'s text; with `update`, write `actual` there instead."""
    if update:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual, encoding="utf-8", newline="")
        return
    expected = ""
    if golden.is_file():
        with golden.open(encoding="utf-8", newline="") as file:  # CRLF in a diff is part of the golden
            expected = file.read()
    if actual == expected:
        return
    delta = difflib.unified_diff(
        expected.splitlines(keepends=True),
        actual.splitlines(keepends=True),
        f"{golden} (golden)",
        "this run",
    )
    raise AssertionError(f"{golden} differs (pytest --update-golden rewrites it):\n{''.join(delta)}")
