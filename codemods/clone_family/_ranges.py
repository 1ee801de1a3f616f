"""Line ranges for range formatting: which lines a clone changed, and which ones ruff would change.

Lines are 1-based and ranges inclusive, as `ruff format --range` counts them.

>>> changed_ranges("a\\nb\\nc\\n", "a\\nB\\nc\\nd\\n")
[(2, 2), (4, 4)]
"""

from __future__ import annotations

import difflib

__all__ = ["changed_ranges", "unstable_lines"]


def _opcodes(old: str, new: str) -> list[tuple[str, int, int, int, int]]:
    return difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(), autojunk=False).get_opcodes()


def changed_ranges(old: str, new: str) -> list[tuple[int, int]]:
    """(first, last) lines of `new` that differ from `old`, in order; a pure deletion marks the lines
    around it (what joins there may need formatting)."""
    out: list[tuple[int, int]] = []
    total = len(new.splitlines())
    for tag, _, _, j1, j2 in _opcodes(old, new):
        if tag == "equal":
            continue
        first, last = (j1 + 1, j2) if j2 > j1 else (max(1, j1), min(total, j1 + 1))
        if first > last:
            continue
        if out and first <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], last))
        else:
            out.append((first, last))
    return out


def unstable_lines(text: str, formatted: str) -> set[int]:
    """Lines of `text` that formatting rewrites into `formatted` (an insertion marks the lines around it)."""
    out: set[int] = set()
    for tag, i1, i2, _, _ in _opcodes(text, formatted):
        if tag != "equal":
            out.update(range(i1 + 1, i2 + 1) if i2 > i1 else (i1, i1 + 1))
    return out
