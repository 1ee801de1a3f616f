"""Where a finding ends: the syntax node that starts at its location (a class or function: its name)."""

from __future__ import annotations

import ast
from pathlib import Path

from analyzers.lint.rule import Finding


class Ends:
    """End positions (1-based row, exclusive 1-based column) of findings, each file parsed at most once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: dict[str, tuple[list[str], dict[tuple[int, int], tuple[int, int]]]] = {}

    def _load(self, path: str) -> tuple[list[str], dict[tuple[int, int], tuple[int, int]]]:
        if path in self._files:
            return self._files[path]
        try:
            text = (self.root / path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = ""
        lines = text.splitlines()
        spans: dict[tuple[int, int], tuple[int, int]] = {}
        if path.endswith(".py"):
            try:
                tree = ast.parse(text)
            except (SyntaxError, ValueError):
                tree = None
            for node in ast.walk(tree) if tree is not None else ():
                if not hasattr(node, "end_lineno") or node.end_lineno is None:
                    continue
                start = (node.lineno, node.col_offset)
                if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                    line = lines[node.lineno - 1] if node.lineno <= len(lines) else ""
                    at = line.find(node.name, node.col_offset)
                    if at >= 0:
                        spans[start] = (node.lineno, at + len(node.name))
                        continue
                end = (node.end_lineno, node.end_col_offset)
                # the outermost node starting here (ast.walk visits parents first)
                spans.setdefault(start, end)
        self._files[path] = (lines, spans)
        return self._files[path]

    def end(self, finding: Finding) -> tuple[int, int]:
        """(row, column) just after the finding's node; else the end of its last line."""
        lines, spans = self._load(finding.path)
        loc = finding.location
        if (loc.line, loc.col) in spans:
            row, col = spans[(loc.line, loc.col)]
            return row, _char_col(lines, row, col) + 1
        row = finding.end_line or loc.line
        length = len(lines[row - 1]) if 0 < row <= len(lines) else loc.col
        return row, max(length, loc.col) + 1


def _char_col(lines: list[str], row: int, byte_col: int) -> int:
    """ast's columns count UTF-8 bytes; editors and SARIF count characters."""
    if not 0 < row <= len(lines):
        return byte_col
    return len(lines[row - 1].encode("utf-8")[:byte_col].decode("utf-8", "ignore"))
