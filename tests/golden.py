"""Golden files: a test's text output held against a file under fixtures/.

`pytest --update-golden` rewrites every golden a run checks (review the `git diff` before committing);
without it a mismatch fails with the unified diff from the golden to what the run produced.

The repository holds no Megatron-Bridge code, so a plan's golden diff (`plan_golden`) keeps the hunks of the
files this project wrote (the docs, tests and examples overlays under fixtures/) and replaces those of the
tree's sources (`src/`, the pinned wheel's code) by their size and digest: any change still shows as a
mismatch, and `git diff` of the golden names the file.
"""

from __future__ import annotations

import difflib
import hashlib
from pathlib import Path
from typing import Any

__all__ = ["check_golden", "plan_golden"]

#: where a tree's Megatron-Bridge sources live (everything else in the test trees is our own overlay)
TREE_SOURCES = "src/"


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


def plan_golden(plan: Any) -> str:
    """`plan`'s diff (moves as git renames, sorted by path) with every `src/` file's hunks as one digest line."""
    parts = []
    for change in sorted(plan.change_set().changes, key=lambda c: c.path):
        text = change.describe()
        paths = {getattr(change, name, None) for name in ("path", "src", "dst")}
        if not any(p and p.startswith(TREE_SOURCES) for p in paths):
            parts.append(text)
            continue
        head, sep, hunks = text.partition("\n@@")
        if not sep:  # a plain move: no hunk
            parts.append(text)
            continue
        hunks = "@@" + hunks
        digest = hashlib.sha256(hunks.encode("utf-8")).hexdigest()
        parts.append(
            f"{head}\n# Megatron-Bridge source: {hunks.count(chr(10))} diff lines, sha256 {digest}\n"
        )
    return "".join(parts)
