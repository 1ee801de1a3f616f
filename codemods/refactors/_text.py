"""Text-level helpers shared by the refactors: exact-word matching, strings/comments, Markdown code (each
refactor reads and walks the tree through one `analyzers.source_index.SourceIndex` per run).

Everything here reads; nothing writes. Words are matched with identifier boundaries, so `Qwen3Bridge` never
matches inside `Qwen3MoEBridge` or `MegatronQwen3Bridge`.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Callable, Iterable

MARKDOWN_SUFFIXES = (".md", ".mdx")

#: a replacement callback: (text, start, end) of one match -> replacement, or None to leave it
Replacer = Callable[[str, int, int], str | None]


def word_pattern(word: str) -> re.Pattern[str]:
    """`word` as a whole identifier (no identifier character on either side).

    >>> bool(word_pattern("Qwen3Bridge").search("Qwen3MoEBridge"))
    False
    """
    return re.compile(rf"(?<![\w]){re.escape(word)}(?![\w])")


def dotted_pattern(dotted: str) -> re.Pattern[str]:
    """A dotted name (`a.b.c`) not preceded by an identifier or dot and not continued by an identifier char."""
    return re.compile(rf"(?<![\w.]){re.escape(dotted)}(?![\w])")


def _sub(text: str, pattern: re.Pattern[str], replace: Replacer) -> tuple[str, int]:
    out: list[str] = []
    last = 0
    count = 0
    for match in pattern.finditer(text):
        new = replace(text, match.start(), match.end())
        if new is None:
            continue
        out.append(text[last : match.start()])
        out.append(new)
        last = match.end()
        count += 1
    out.append(text[last:])
    return "".join(out), count


def _line_offsets(source: str) -> list[int]:
    offsets = [0]
    for line in source.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(line))
    return offsets


def python_doc_regions(source: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) of every string and comment token of a Python source; kind is "string" or "comment".

    f-strings count as one string region (on 3.12+ their literal parts are joined into one region too).
    """
    offsets = _line_offsets(source)
    regions: list[tuple[int, int, str]] = []
    fstring_start: int | None = None
    fstart = getattr(tokenize, "FSTRING_START", None)
    fend = getattr(tokenize, "FSTRING_END", None)
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            start = offsets[tok.start[0] - 1] + tok.start[1]
            end = offsets[tok.end[0] - 1] + tok.end[1]
            if fstart is not None and tok.type == fstart:
                fstring_start = start
            elif fend is not None and tok.type == fend and fstring_start is not None:
                regions.append((fstring_start, end, "string"))
                fstring_start = None
            elif tok.type == tokenize.STRING and fstring_start is None:
                regions.append((start, end, "string"))
            elif tok.type == tokenize.COMMENT:
                regions.append((start, end, "comment"))
    except (tokenize.TokenError, SyntaxError):
        return regions
    return regions


def _replace_in_regions(
    text: str, regions: Iterable[tuple[int, int]], pattern: re.Pattern[str], replace: Replacer
) -> tuple[str, int]:
    """Apply `replace` to matches of `pattern` inside the (start, end) regions of `text` only."""
    out: list[str] = []
    last = 0
    count = 0
    for start, end in regions:

        def shifted(_text: str, s: int, e: int, base: int = start) -> str | None:
            return replace(text, base + s, base + e)

        new, n = _sub(text[start:end], pattern, shifted)
        if n:
            out.append(text[last:start])
            out.append(new)
            last = end
            count += n
    out.append(text[last:])
    return "".join(out), count


def replace_in_python_docs(source: str, pattern: re.Pattern[str], replace: Replacer) -> tuple[str, int]:
    """Apply `replace` to matches of `pattern` inside strings and comments only (code is left to rope/libcst)."""
    regions = [(start, end) for start, end, _kind in python_doc_regions(source)]
    return _replace_in_regions(source, regions, pattern, replace)


_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)", re.DOTALL)


def markdown_code_regions(text: str) -> list[tuple[int, int]]:
    """(start, end) of fenced code blocks and inline code spans of a Markdown text."""
    regions: list[tuple[int, int]] = []
    pos = 0
    fence: str | None = None
    fence_start = 0
    prose_start = 0
    for line in text.splitlines(keepends=True):
        match = _FENCE.match(line)
        if fence is None and match:
            regions.extend(_spans(text, prose_start, pos))
            fence = match.group(2)
            fence_start = pos
        elif fence is not None and match and match.group(2).startswith(fence[0] * len(fence)):
            regions.append((fence_start, pos + len(line)))
            fence = None
            prose_start = pos + len(line)
        pos += len(line)
    if fence is not None:
        regions.append((fence_start, pos))
    else:
        regions.extend(_spans(text, prose_start, pos))
    return regions


def _spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    return [(start + m.start(), start + m.end()) for m in _CODE_SPAN.finditer(text[start:end])]


def replace_in_markdown_code(
    text: str, pattern: re.Pattern[str], replace: Replacer
) -> tuple[str, int, list[int]]:
    """Apply `replace` inside Markdown code (fences and spans); also return the lines of matches left in prose."""
    regions = markdown_code_regions(text)
    new, count = _replace_in_regions(text, regions, pattern, replace)
    prose_lines = sorted(
        {
            text.count("\n", 0, m.start()) + 1
            for m in pattern.finditer(text)
            if not any(s <= m.start() < e for s, e in regions)
        }
    )
    return new, count, prose_lines


def replace_everywhere(text: str, pattern: re.Pattern[str], replace: Replacer) -> tuple[str, int]:
    """Apply `replace` to every match of `pattern` in `text`."""
    return _sub(text, pattern, replace)


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1
