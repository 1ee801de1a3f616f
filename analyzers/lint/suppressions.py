"""`# noqa: MBR001` line suppressions and `# bridgesmith: noqa[: MBR001,...]` file-level suppressions.

Only comments that name MBR codes count: a bare `# noqa` or `# noqa: F401` belongs to ruff and
suppresses nothing here, so ruff's blanket comments never hide a bridge finding by accident.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field

CODE_RE = re.compile(r"MBR\d{3}")
NOQA_RE = re.compile(r"#\s*noqa\s*:\s*(?P<codes>[A-Z]+\d+(?:[\s,]+[A-Z]+\d+)*)", re.IGNORECASE)
FILE_RE = re.compile(
    r"bridgesmith\s*:\s*noqa(?:\s*:\s*(?P<codes>[A-Z]+\d+(?:[\s,]+[A-Z]+\d+)*))?", re.IGNORECASE
)
#: cheap pre-filter on raw bytes before tokenizing a file
MARKERS = (b"MBR", b"bridgesmith")


@dataclass
class Suppression:
    line: int
    col: int
    codes: tuple[str, ...]  #: MBR codes named (empty for a file-level form without codes: everything)
    file_level: bool
    used: set[str] = field(default_factory=set)


def _comments(text: str, is_python: bool) -> list[tuple[int, int, str]]:
    """(line, col, comment text) of every comment; for non-Python files every line counts."""
    if not is_python:
        return [(i, 0, line) for i, line in enumerate(text.splitlines(), 1) if "noqa" in line]
    out: list[tuple[int, int, str]] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                out.append((tok.start[0], tok.start[1], tok.string))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        # A broken file still gets its comments, by lines (the parse error is reported elsewhere).
        return [
            (i, line.find("#"), line[line.find("#") :])
            for i, line in enumerate(text.splitlines(), 1)
            if "#" in line
        ]
    return out


def parse_suppressions(text: str, is_python: bool = True) -> list[Suppression]:
    """Every MBR suppression in one file.

    >>> [s.codes for s in parse_suppressions("x = 1  # noqa: MBR001, E501\\n")]
    [('MBR001',)]
    """
    out: list[Suppression] = []
    for line, col, comment in _comments(text, is_python):
        if (m := FILE_RE.search(comment)) is not None:
            codes = tuple(CODE_RE.findall(m.group("codes") or ""))
            out.append(Suppression(line, col, codes, file_level=True))
            continue
        if (m := NOQA_RE.search(comment)) is not None:
            codes = tuple(
                c.upper() for c in re.split(r"[\s,]+", m.group("codes")) if CODE_RE.fullmatch(c.upper())
            )
            if codes:
                out.append(Suppression(line, col + m.start(), codes, file_level=False))
    return out


def might_have_suppressions(data: bytes) -> bool:
    return any(marker in data for marker in MARKERS)


def suppressing(
    suppressions: list[Suppression], code: str, line: int, end_line: int | None = None
) -> Suppression | None:
    """The suppression that hides `code` at `line` (a line comment on the finding's first or last line)."""
    for sup in suppressions:
        if sup.file_level and (not sup.codes or code in sup.codes):
            return sup
    for sup in suppressions:
        if not sup.file_level and code in sup.codes and (sup.line == line or sup.line == end_line):
            return sup
    return None
