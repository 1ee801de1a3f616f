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
    old_lines, new_lines = old.splitlines(), new.splitlines()
    total = len(new_lines)
    if len(old_lines) == total:
        # the common case of a rename, line for line: no alignment to search (difflib takes 0.2 s on a
        # 2,000-line recipe module)
        opcodes = [("replace", i, i + 1, i, i + 1) for i in range(total) if old_lines[i] != new_lines[i]]
    else:
        opcodes = _opcodes(old, new)
    for tag, _, _, j1, j2 in opcodes:
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


def statement_spans(text: str) -> list[tuple[int, int]] | None:
    """(first, last) lines of every logical line (a statement, a compound statement's header, a decorator),
    in order; None when the text does not tokenize."""
    import io
    import tokenize

    out: list[tuple[int, int]] = []
    start: int | None = None
    skip = {tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                if start is not None:
                    out.append((start, max(start, tok.start[0])))
                start = None
            elif tok.type not in skip and start is None:
                start = tok.start[0]
    except (tokenize.TokenError, SyntaxError):
        return None
    return out


def splice_changed(text: str, formatted: str, changed: list[tuple[int, int]]) -> str | None:
    """`text` with `formatted`'s version of every statement (and run of blank and comment lines between
    statements) that holds a changed line, every other line as in `text`; None when the two do not pair up
    statement by statement (the caller formats the changed ranges one by one instead).
    """
    ours, theirs = statement_spans(text), statement_spans(formatted)
    if ours is None or theirs is None or len(ours) != len(theirs):
        return None
    marked = {line for first, last in changed for line in range(first, last + 1)}
    a, b = text.splitlines(keepends=True), formatted.splitlines(keepends=True)
    out: list[str] = []

    def take(a_first: int, a_last: int, b_first: int, b_last: int) -> None:
        touched = any(line in marked for line in range(a_first, a_last + 1))
        out.extend(b[b_first - 1 : b_last] if touched else a[a_first - 1 : a_last])

    next_a = next_b = 1
    for (a1, a2), (b1, b2) in zip(ours, theirs, strict=True):
        take(next_a, a1 - 1, next_b, b1 - 1)  # the blank and comment lines before the statement
        take(a1, a2, b1, b2)
        next_a, next_b = a2 + 1, b2 + 1
    take(next_a, len(a), next_b, len(b))
    return "".join(out)
