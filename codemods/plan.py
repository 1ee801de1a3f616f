"""A Plan of whole-file edits: rendered and checked first, previewed as a diff, applied all-or-nothing.

Every codemod builds a Plan with `plan_*` functions (which never write); only `Plan.apply` writes.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analyzers.errors import PlanConflictError


@dataclass(frozen=True)
class FileEdit:
    """One file's change: `before` None creates it, `after` None deletes it."""

    path: str  #: POSIX path relative to the plan's root
    before: str | None
    after: str | None
    reasons: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        if self.before is None:
            return "create"
        if self.after is None:
            return "delete"
        return "modify"

    def diff(self) -> str:
        a = [] if self.before is None else self.before.splitlines(keepends=True)
        b = [] if self.after is None else self.after.splitlines(keepends=True)
        old = "/dev/null" if self.before is None else f"a/{self.path}"
        new = "/dev/null" if self.after is None else f"b/{self.path}"
        lines = list(difflib.unified_diff(a, b, old, new))
        return "".join(
            line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
        )


@dataclass
class Todo:
    """A decision left to the maintainer, placed as a `TODO(bridgesmith)` comment."""

    path: str
    line: int
    message: str


@dataclass
class Plan:
    root: Path
    edits: list[FileEdit] = field(default_factory=list)
    #: human-readable report lines: every decision with its reason
    report: list[str] = field(default_factory=list)
    todos: list[Todo] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root = Path(self.root)

    # --- building -------------------------------------------------------------------------------
    def add(self, path: str, before: str | None, after: str | None, *reasons: str) -> None:
        """Add an edit; a second edit of the same path is merged into the first (its `after` wins)."""
        self._check_path(path)
        for i, existing in enumerate(self.edits):
            if existing.path == path:
                self.edits[i] = FileEdit(path, existing.before, after, existing.reasons + reasons)
                return
        self.edits.append(FileEdit(path, before, after, reasons))

    def current(self, path: str) -> str | None:
        """The planned content of `path` (what is on disk when no edit touches it yet)."""
        for edit in self.edits:
            if edit.path == path:
                return edit.after
        target = self.root / path
        return target.read_text(encoding="utf-8") if target.is_file() else None

    def modify(self, path: str, after: str, *reasons: str) -> None:
        """Replace `path`'s planned content; records the on-disk content as `before` on first touch."""
        disk = self.root / path
        before = disk.read_text(encoding="utf-8") if disk.is_file() else None
        self.add(path, before, after, *reasons)

    def _check_path(self, path: str) -> None:
        if Path(path).is_absolute() or ".." in Path(path).parts:
            raise PlanConflictError("path escapes the tree", path)

    # --- reading --------------------------------------------------------------------------------
    @property
    def changes(self) -> list[FileEdit]:
        """Edits that change something (no-op edits dropped)."""
        return [e for e in self.edits if e.before != e.after]

    def is_empty(self) -> bool:
        return not self.changes

    def preview(self) -> str:
        """The whole plan as one unified diff, files sorted by path."""
        return "".join(e.diff() for e in sorted(self.changes, key=lambda e: e.path))

    def to_json(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "files": [
                {"path": e.path, "action": e.kind, "reasons": list(e.reasons)}
                for e in sorted(self.changes, key=lambda e: e.path)
            ],
            "report": self.report,
            "todos": [{"path": t.path, "line": t.line, "message": t.message} for t in self.todos],
        }

    # --- writing --------------------------------------------------------------------------------
    def check(self) -> None:
        """Raise PlanConflictError unless the disk still holds every edit's `before`."""
        for edit in self.changes:
            target = self.root / edit.path
            on_disk = target.read_text(encoding="utf-8") if target.is_file() else None
            if edit.before is None and target.exists():
                raise PlanConflictError("target already exists", edit.path)
            if edit.before is not None and on_disk != edit.before:
                raise PlanConflictError("file changed since the plan was made", edit.path)

    def apply(self) -> None:
        """Write every edit, or none: on any failure the files already written are restored."""
        self.check()
        done: list[FileEdit] = []
        created_dirs: list[Path] = []
        try:
            for edit in self.changes:
                _write(self.root / edit.path, edit.after, created_dirs)
                done.append(edit)
        except OSError as exc:
            for edit in reversed(done):
                _write(self.root / edit.path, edit.before, [])
            for directory in reversed(created_dirs):
                _remove_empty(directory)
            raise PlanConflictError(
                f"write failed, nothing changed: {exc}", getattr(exc, "filename", None)
            ) from None
        for edit in self.changes:
            if edit.after is None:
                _remove_empty((self.root / edit.path).parent, stop=self.root)

    def inverse(self) -> Plan:
        """The plan that undoes this one."""
        undo = Plan(self.root)
        undo.edits = [FileEdit(e.path, e.after, e.before, ("undo",)) for e in self.changes]
        return undo

    def undo(self) -> None:
        """Restore every file this plan changed (after `apply`)."""
        inverse = self.inverse()
        inverse.apply()
        for edit in inverse.changes:
            if edit.after is None:
                _remove_empty((self.root / edit.path).parent, stop=self.root)


def _write(target: Path, content: str | None, created_dirs: list[Path]) -> None:
    if content is None:
        if target.exists():
            target.unlink()
        return
    missing = [p for p in (target.parent, *target.parent.parents) if not p.exists()]
    target.parent.mkdir(parents=True, exist_ok=True)
    created_dirs.extend(reversed(missing))
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".bridgesmith-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)
        if target.exists():
            os.chmod(tmp, target.stat().st_mode)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _remove_empty(directory: Path, stop: Path | None = None) -> None:
    """Remove `directory` and its empty parents (up to `stop`) when nothing is left in them."""
    current = directory
    while current != stop and current.is_dir() and not any(current.iterdir()):
        current.rmdir()
        if stop is None:
            return
        current = current.parent
