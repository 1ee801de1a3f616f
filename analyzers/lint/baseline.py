"""Baselines: today's findings recorded once, so a tree with old findings can adopt the lint and block only new ones.

A finding is recorded by its code, its path and a fingerprint of its message (numbers taken out: line
numbers move) and of the stripped source line it points at, so it survives lines inserted above it and
is lost only when its own line or message changes. Matching is by count: two identical findings in one
file need two entries.

    bridgesmith-lint --baseline .bridgesmith-baseline.json --write-baseline   # record
    bridgesmith-lint --baseline .bridgesmith-baseline.json                    # report only new ones
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from analyzers import __version__
from analyzers.errors import ConfigError
from analyzers.lint.rule import Finding

SCHEMA_VERSION = 1
_NUMBER = re.compile(r"\b\d+\b")

Key = tuple[str, str, str]  #: (code, path, fingerprint)


class SourceLines:
    """Lines of the tree's files, read once each (a missing or undecodable file has no lines)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lines: dict[str, list[str]] = {}

    def line(self, path: str, number: int) -> str:
        if path not in self._lines:
            try:
                self._lines[path] = (self.root / path).read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError):
                self._lines[path] = []
        lines = self._lines[path]
        return lines[number - 1] if 0 < number <= len(lines) else ""


def fingerprint(finding: Finding, lines: SourceLines) -> str:
    """A digest of what the finding says and the line it points at, independent of where that line is."""
    message = _NUMBER.sub("#", finding.message)
    content = lines.line(finding.path, finding.location.line).strip()
    return hashlib.blake2b(f"{finding.code}\0{message}\0{content}".encode(), digest_size=8).hexdigest()


def key(finding: Finding, lines: SourceLines) -> Key:
    return (finding.code, finding.path, fingerprint(finding, lines))


def write_baseline(path: Path, findings: Iterable[Finding], root: Path) -> int:
    """Record `findings` in `path` (atomically); returns how many."""
    lines = SourceLines(root)
    rows = sorted(
        (
            {"code": f.code, "path": f.path, "fingerprint": fingerprint(f, lines), "message": f.message}
            for f in findings
        ),
        key=lambda r: (r["path"], r["code"], r["fingerprint"], r["message"]),
    )
    doc = {"schema_version": SCHEMA_VERSION, "tool_version": __version__, "findings": rows}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"cannot write the baseline: {exc.strerror}", path) from None
    return len(rows)


def read_baseline(path: Path) -> Counter[Key]:
    """The recorded findings of `path` as a multiset of keys; a missing or malformed file is a ConfigError."""
    if not path.is_file():
        raise ConfigError("no such baseline file (record one with --write-baseline)", path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"not a baseline file: {exc}", path) from None
    if not isinstance(doc, dict) or doc.get("schema_version") != SCHEMA_VERSION:
        raise ConfigError(f"not a baseline file of schema version {SCHEMA_VERSION}", path)
    rows = doc.get("findings")
    if not isinstance(rows, list) or not all(
        isinstance(r, dict) and all(isinstance(r.get(k), str) for k in ("code", "path", "fingerprint"))
        for r in rows
    ):
        raise ConfigError("not a baseline file: `findings` must list code, path and fingerprint", path)
    return Counter((r["code"], r["path"], r["fingerprint"]) for r in rows)


def split_new(
    findings: Iterable[Finding], baseline: Counter[Key], root: Path
) -> tuple[list[Finding], list[Finding]]:
    """(new findings, findings the baseline records); each entry of the baseline absorbs one finding."""
    lines = SourceLines(root)
    left = Counter(baseline)
    new: list[Finding] = []
    old: list[Finding] = []
    for finding in findings:
        k = key(finding, lines)
        if left[k] > 0:
            left[k] -= 1
            old.append(finding)
        else:
            new.append(finding)
    return new, old
