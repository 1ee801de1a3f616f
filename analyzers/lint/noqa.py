"""`--add-noqa` (as ruff has it): a `# noqa: MBRxxx` on the line of every finding, merged into an existing one."""

from __future__ import annotations

import io
import tokenize
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from analyzers.lint.mbr000_unparsable_file import UnparsableFile
from analyzers.lint.rule import Finding
from analyzers.lint.suppressions import NOQA_RE


def _string_lines(text: str) -> set[int]:
    """Lines that end inside a multi-line string (a comment cannot go there)."""
    out: set[int] = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.STRING and tok.end[0] > tok.start[0]:
                out.update(range(tok.start[0], tok.end[0]))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return set(range(1, text.count("\n") + 2))  # unparsable: touch nothing
    return out


def _with_codes(line: str, codes: list[str], markdown: bool) -> str:
    """`line` with `codes` added to its noqa comment, or with a new one."""
    if (m := NOQA_RE.search(line)) is not None:
        have = {c.strip().upper() for c in m.group("codes").replace(",", " ").split()}
        extra = [c for c in codes if c not in have]
        return (
            line if not extra else line[: m.end("codes")] + ", " + ", ".join(extra) + line[m.end("codes") :]
        )
    comment = f"# noqa: {', '.join(codes)}"
    return f"{line} <!-- {comment} -->" if markdown else f"{line}  {comment}"


def plan_noqa(root: Path, findings: Iterable[Finding]) -> tuple[dict[str, tuple[str, str]], list[Finding]]:
    """{path: (before, after)} with the directives added, and the findings no directive can hide.

    Not hidden: parse errors (MBR000 cannot be suppressed), lines inside a multi-line string or ending
    in a backslash, Markdown table rows, files that cannot be read.
    """
    by_line: dict[str, dict[int, list[Finding]]] = defaultdict(lambda: defaultdict(list))
    skipped: list[Finding] = []
    for finding in findings:
        if finding.code == UnparsableFile.CODE or not finding.path.endswith((".py", ".md")):
            skipped.append(finding)
        else:
            by_line[finding.path][finding.location.line].append(finding)
    changes: dict[str, tuple[str, str]] = {}
    for path, lines_found in sorted(by_line.items()):
        try:
            before = (root / path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            skipped.extend(f for group in lines_found.values() for f in group)
            continue
        markdown = path.endswith(".md")
        lines = before.splitlines(keepends=True)
        blocked = set() if markdown else _string_lines(before)
        for number, group in sorted(lines_found.items()):
            if not 0 < number <= len(lines):
                skipped.extend(group)
                continue
            raw = lines[number - 1]
            body = raw.rstrip("\r\n")
            ending = raw[len(body) :]
            if number in blocked or body.endswith("\\") or (markdown and body.lstrip().startswith("|")):
                skipped.extend(group)
                continue
            codes = sorted({f.code for f in group})
            lines[number - 1] = _with_codes(body, codes, markdown) + ending
        after = "".join(lines)
        if after != before:
            changes[path] = (before, after)
    return changes, skipped
