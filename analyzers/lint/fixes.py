"""Findings' fixes -> new file texts, formatted as the tree formats its code, and text edits of them.

Imported only when fixes are rendered (`--fix`, `--diff`, `--show-fixes`, JSON and SARIF), so plain lint
runs never import libcst. `apply_edit` is the thin adapter between the lint's `Edit` intents and the
libcst edits of `analyzers.cst_edits` (which want an anchor import to place a new import beside; the
adapter picks the neighbour). Everything after that is text: the files a fix touches are run through
the tree's own ruff configuration (isort, then the formatter; nothing else in the file moves when the
tree is ruff-formatted already), and a change is described as line-range text edits (path, range,
replacement) that any tool can apply.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from analyzers.catalog.modules import package_of
from analyzers.changes import ChangeContents, ChangeSet
from analyzers.cst_edits import (
    add_all_entries,
    add_import,
    add_wildcard_import,
    imported_modules,
    remove_duplicate_all_entries,
)
from analyzers.errors import BridgesmithError
from analyzers.lint.rule import Edit, Finding
from analyzers.ruff_binary import has_ruff_config, ruff_binary, ruff_on_text


def _anchor(source: str, module: str, path: str, star: bool) -> str | None:
    """The imported module to place `module` beside: the longest shared dotted prefix, ties to the last."""
    modules = imported_modules(source, package_of(path), path)
    if star:
        stars = [m for m, names in modules.items() if names is None]
        modules = {m: None for m in stars} or modules
    best, best_score = None, -1
    target = module.split(".")
    for candidate in modules:
        parts = candidate.split(".")
        score = 0
        for a, b in zip(parts, target, strict=False):
            if a != b:
                break
            score += 1
        if score >= best_score:
            best, best_score = candidate, score
    return best


def apply_edit(source: str, edit: Edit) -> str:
    """`source` with one edit applied (unchanged when it is already there)."""
    if edit.kind == "add-import":
        anchor = _anchor(source, edit.module or "", edit.path, star=False)
        if anchor is None:
            text = source if source.endswith("\n") or not source else source + "\n"
            return text + f"from {edit.module} import {', '.join(edit.names)}\n"
        return add_import(
            source, module=edit.module or "", names=list(edit.names), anchor=anchor, path=edit.path
        )
    if edit.kind == "add-star-import":
        anchor = _anchor(source, edit.module or "", edit.path, star=True)
        if anchor is None:
            text = source if source.endswith("\n") or not source else source + "\n"
            return text + f"from {edit.module} import *\n"
        return add_wildcard_import(source, module=edit.module or "", anchor=anchor, path=edit.path)
    if edit.kind == "add-all-entry":
        return add_all_entries(source, [(None, n) for n in edit.names], path=edit.path)
    if edit.kind == "remove-duplicate-all-entry":
        return remove_duplicate_all_entries(source, path=edit.path)
    raise ValueError(f"unknown edit kind {edit.kind!r}")


@dataclass(frozen=True)
class TextEdit:
    """Replace the text from (row, column) up to (end_row, end_column) of `path` with `content`.

    Rows and columns are 1-based and the end is exclusive, as ruff's JSON and SARIF regions count.
    """

    path: str
    row: int
    column: int
    end_row: int
    end_column: int
    content: str

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "location": {"row": self.row, "column": self.column},
            "end_location": {"row": self.end_row, "column": self.end_column},
            "content": self.content,
        }


def text_edits(path: str, before: str, after: str) -> list[TextEdit]:
    """The line-range edits that turn `before` into `after` (whole lines replaced, inserted or deleted)."""
    old = before.splitlines(keepends=True)
    new = after.splitlines(keepends=True)
    edits: list[TextEdit] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        edits.append(TextEdit(path, i1 + 1, 1, i2 + 1, 1, "".join(new[j1:j2])))
    return edits


@dataclass
class FixSet:
    """The fixes of some findings applied together: their files' edits as one change set of
    `ChangeContents` (each with the findings it fixes as reasons), and which findings they fix."""

    changes: ChangeSet
    fixed: list[Finding] = field(default_factory=list)
    #: (finding, reason) for a fix that could not be placed (the other fixes still go in)
    failures: list[tuple[Finding, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  #: e.g. why the fixed files are not formatted

    @property
    def files(self) -> list[ChangeContents]:
        """The changed files, sorted by path."""
        return sorted(
            (c for c in self.changes.changes if isinstance(c, ChangeContents)), key=lambda c: c.path
        )

    def diff(self) -> str:
        """A unified diff of every changed file, sorted by path (the change set's own rendering)."""
        return self.changes.describe()

    def edits(self) -> list[TextEdit]:
        return [e for c in self.files for e in text_edits(c.path, c.old, c.new)]

    def write(self) -> None:
        """Write every changed file as one transaction (`ChangeSet.do`: under the tree's lock, refused before
        anything is written when a file changed since the fixes were computed)."""
        self.changes.do()


def write_changes(root: Path, changes: dict[str, tuple[str, str]], description: str = "lint") -> None:
    """Write `after` of every (before, after) in place as one transaction of the change set (every file or
    none, under the tree's lock; a file that no longer reads `before` stops it before anything is written)."""
    ChangeSet(
        root,
        [ChangeContents(path, before, after) for path, (before, after) in sorted(changes.items())],
        description,
    ).do()


def compute_fixes(root: Path, findings: Iterable[Finding], fmt: bool = True) -> FixSet:
    """Every fixable finding's edits applied per file in finding order, then (`fmt`) the touched files
    formatted with the tree's ruff configuration; writes nothing."""
    result = FixSet(ChangeSet(root, description="lint --fix"))
    texts: dict[str, str] = {}
    originals: dict[str, str] = {}
    for finding in findings:
        if not finding.fix:
            continue
        staged = dict(texts)
        try:
            for edit in finding.fix:
                if edit.path not in staged:
                    originals.setdefault(edit.path, (root / edit.path).read_text(encoding="utf-8"))
                    staged[edit.path] = originals[edit.path]
                staged[edit.path] = apply_edit(staged[edit.path], edit)
        except (OSError, UnicodeDecodeError, BridgesmithError, ValueError) as exc:
            result.failures.append((finding, str(exc)))
            continue
        texts = staged
        result.fixed.append(finding)
    changed = {p: t for p, t in texts.items() if t != originals[p]}
    if fmt and changed and has_ruff_config(root):
        changed = format_like_the_tree(root, changed, result.warnings)
    for path, text in sorted(changed.items()):
        if text != originals[path]:
            reasons = tuple(
                f"{f.location}: {f.code}" for f in result.fixed if path in {e.path for e in f.fix or ()}
            )
            result.changes.add_change(ChangeContents(path, originals[path], text, reasons))
    return result


def finding_edits(root: Path, finding: Finding) -> list[TextEdit] | None:
    """The text edits of one finding's fix on its own (None when it has none or it cannot be placed)."""
    if not finding.fix:
        return None
    fixes = compute_fixes(root, [finding])
    return fixes.edits() if fixes.fixed else None


def format_like_the_tree(root: Path, texts: dict[str, str], warnings: list[str]) -> dict[str, str]:
    """`texts` of .py files through the tree's own ruff configuration: import sorting (I001), then the
    formatter. ruff finds the configuration from each file's path, as the tree's own hooks do."""
    ruff = ruff_binary()
    if ruff is None:
        warnings.append("fixed files are not formatted: ruff is not installed")
        return texts
    out = dict(texts)
    for path, text in texts.items():
        if not path.endswith(".py"):
            continue
        target = str(root / path)
        steps = [["check", "--select", "I", "--fix", "--exit-zero", "--quiet"], ["format", "--quiet"]]
        for args in steps:
            done = ruff_on_text(ruff, args, text, target, root)
            if done.returncode != 0:
                first = (done.stderr.strip().splitlines() or ["failed"])[0]
                warnings.append(f"{path}: not formatted: ruff {args[0]}: {first}")
                break
            text = done.stdout
        else:
            out[path] = text
    return out
