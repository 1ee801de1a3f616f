"""A Plan: the codemods' builder over `analyzers.changes.ChangeSet` (typed changes, one transaction).

Every codemod builds a Plan with `plan_*` functions (which never write); only `Plan.apply` writes. A Plan
holds `CreateFile`, `ChangeContents`, `MoveFile` and `DeleteFile` changes; `add`/`modify` take whole-file
before/after pairs (as the builders render them) and `move` records a rename, shown as git's
`rename from`/`rename to`. `changes` gives per-path views (`FileEdit`) of what the plan writes, `output` its presentation
(`analyzers.change_output`: diff, JSON document, summary) as every write command prints it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analyzers.change_output import ChangeOutput, is_noop
from analyzers.changes import (
    Change,
    ChangeContents,
    ChangeSet,
    CreateFile,
    DeleteFile,
    FileEdit,
    MoveFile,
    check_rel,
    file_edits,
)
from analyzers.errors import PlanConflictError
from analyzers.source_index import SourceIndex

__all__ = ["ChangeContents", "CreateFile", "DeleteFile", "FileEdit", "MoveFile", "Plan", "Todo"]


@dataclass
class Todo:
    """A decision left to the maintainer, placed as a `TODO(bridgesmith)` comment."""

    path: str
    line: int
    message: str


@dataclass
class Plan:
    root: Path
    #: the typed changes, in the order they were added (no-op content changes included)
    items: list[Change] = field(default_factory=list)
    #: human-readable report lines: every decision with its reason
    report: list[str] = field(default_factory=list)
    todos: list[Todo] = field(default_factory=list)
    #: why there is nothing to do, when the refactor is already done (the plan is then empty)
    nothing_to_do: str = ""
    #: the run's sources: a file's text on disk is read through it (once per run, shared with the stages
    #: that read the tree through the same index); None: read from disk each time
    index: SourceIndex | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self._applied: ChangeSet | None = None

    # --- building -------------------------------------------------------------------------------
    def _find(self, path: str) -> int | None:
        for i, change in enumerate(self.items):
            if path in ((change.src, change.dst) if isinstance(change, MoveFile) else (change.path,)):
                return i
        return None

    def add(
        self, path: str, before: str | None, after: str | None, *reasons: str, mode: int | None = None
    ) -> None:
        """Add a whole-file edit; a second edit of the same path is merged into the first (its `after` wins).

        `mode` is a new file's permission bits (default: the umask's).
        """
        self._check_path(path)
        i = self._find(path)
        if i is None:
            if before is None and after is not None:
                self.items.append(CreateFile(path, after, reasons, mode))
            elif before is not None and after is None:
                self.items.append(DeleteFile(path, before, reasons))
            elif before is not None and after is not None:
                self.items.append(ChangeContents(path, before, after, reasons))
            return
        old = self.items[i]
        reasons = tuple(r for r in dict.fromkeys(reasons) if r not in old.reasons)  # each reason once
        merged: list[Change] = []
        if isinstance(old, CreateFile):
            if after is not None:
                merged = [
                    dataclasses.replace(
                        old,
                        contents=after,
                        reasons=old.reasons + reasons,
                        mode=old.mode if mode is None else mode,
                    )
                ]
        elif isinstance(old, ChangeContents | DeleteFile):
            if after is None:
                merged = [DeleteFile(path, old.old, old.reasons + reasons)]
            else:
                merged = [ChangeContents(path, old.old, after, old.reasons + reasons)]
        elif old.dst == path:
            if after is None:
                merged = [DeleteFile(old.src, old.old, old.reasons + reasons)]
            else:
                merged = [MoveFile(old.src, old.dst, old.old, after, old.reasons + reasons)]
        else:  # the source of a move written again: a copy plus an edit in place
            merged = [CreateFile(old.dst, old.new, old.reasons)]
            if after is not None:
                merged.append(ChangeContents(path, old.old, after, reasons))
            else:
                merged.append(DeleteFile(path, old.old, reasons))
        self.items[i : i + 1] = merged

    def create(self, path: str, text: str, *reasons: str, origin: str = "") -> None:
        """Add a new file; `origin` is the file it is cloned from, whose permission bits it keeps (a launch
        script stays executable). A second write of `path` goes through `modify`."""
        self._check_path(path)
        if self._find(path) is not None:
            raise PlanConflictError("the plan already writes this path", path)
        mode = None
        if origin:
            with contextlib.suppress(OSError):
                mode = stat.S_IMODE((self.root / origin).stat().st_mode)
        self.items.append(CreateFile(path, text, reasons, mode, origin))

    def move(self, src: str, dst: str, after: str | None = None, *reasons: str) -> None:
        """Rename `src` to `dst` (keeping its mode), with `after` as its new text (default: unchanged)."""
        self._check_path(src)
        self._check_path(dst)
        i = self._find(src)
        if i is not None:
            old = self.items[i]
            if not isinstance(old, ChangeContents) or old.path != src:
                raise PlanConflictError(f"cannot move a file the plan already {old.kind}s", src)
            before, current = old.old, old.new
            del self.items[i]
        else:
            before = current = self._disk(src)
            if before is None:
                raise PlanConflictError("cannot move: no such file", src)
        if self._find(dst) is not None or (self.root / dst).exists():
            raise PlanConflictError("target already exists", dst)
        self.items.append(MoveFile(src, dst, before, current if after is None else after, reasons))

    def _disk(self, path: str) -> str | None:
        return self.read(path) if (self.root / path).is_file() else None

    def read(self, path: str) -> str:
        """`path`'s text on disk, whatever the plan writes there (OSError when it cannot be read; through
        the index, its ParseError)."""
        if self.index is not None:
            return self.index.source(path, universal=True)
        return (self.root / path).read_text(encoding="utf-8")

    def creates(self, path: str) -> bool:
        """Whether the plan creates `path` (a new file, not a move's target)."""
        i = self._find(path)
        return i is not None and isinstance(self.items[i], CreateFile)

    def current(self, path: str) -> str | None:
        """The planned content of `path` (what is on disk when no edit touches it yet)."""
        i = self._find(path)
        if i is None:
            return self._disk(path)
        change = self.items[i]
        if isinstance(change, CreateFile):
            return change.contents
        if isinstance(change, ChangeContents):
            return change.new
        if isinstance(change, MoveFile):
            return change.new if change.dst == path else None
        return None

    def touches(self, path: str) -> bool:
        """Whether some change of the plan reads or writes `path`."""
        return self._find(path) is not None

    def modify(self, path: str, after: str, *reasons: str, mode: int | None = None) -> None:
        """Replace `path`'s planned content; records the on-disk content as `before` on first touch."""
        self.add(path, self._disk(path), after, *reasons, mode=mode)

    def _check_path(self, path: str) -> None:
        check_rel(path)

    # --- reading --------------------------------------------------------------------------------
    @property
    def edits(self) -> list[FileEdit]:
        """Per-path views of every change, no-ops included."""
        return [view for change in self.items for view in file_edits(change)]

    @property
    def changes(self) -> list[FileEdit]:
        """Per-path views of the changes that change something (a move is a delete and a create)."""
        return [view for change in self.items if not is_noop(change) for view in file_edits(change)]

    def change_set(self) -> ChangeSet:
        """The typed changes that change something, as an `analyzers.changes.ChangeSet`."""
        return ChangeSet(
            self.root, [c for c in self.items if not is_noop(c)], self.report[0] if self.report else ""
        )

    def is_empty(self) -> bool:
        return not self.change_set()

    def preview(self) -> str:
        """The whole plan as one unified diff (moves as git renames), sorted by path."""
        return self.change_set().describe()

    def details(self) -> dict[str, Any]:
        """The plan's own keys of its JSON document: every decision (`report`) and what is left (`todos`)."""
        return {
            "report": self.report,
            "todos": [{"path": t.path, "line": t.line, "message": t.message} for t in self.todos],
        }

    def output(
        self,
        command: str,
        *,
        applied: bool,
        already_applied: bool = False,
        summary: Sequence[str] = (),
        extra: Mapping[str, Any] | None = None,
    ) -> ChangeOutput:
        """The plan as every write command presents it (`analyzers.change_output`): diff, JSON, summary."""
        return ChangeOutput(
            self.change_set(), command, applied, already_applied, summary, self.details(), extra or {}
        )

    # --- writing --------------------------------------------------------------------------------
    def check(self) -> None:
        """Raise PlanConflictError unless the disk still holds every edit's `before` (writes nothing)."""
        self.change_set()._ops()

    def apply(self) -> None:
        """Write every change, or none (`ChangeSet.do`: locked, journalled, undone on any failure)."""
        change_set = self.change_set()
        change_set.do()
        self._applied = change_set

    def inverse(self) -> Plan:
        """The plan that undoes this one (by text; `undo` after `apply` restores the exact bytes)."""
        undo = Plan(self.root)
        for c in reversed(self.change_set().changes):
            if isinstance(c, CreateFile):
                undo.items.append(DeleteFile(c.path, c.contents, ("undo",)))
            elif isinstance(c, ChangeContents):
                undo.items.append(ChangeContents(c.path, c.new, c.old, ("undo",)))
            elif isinstance(c, DeleteFile):
                undo.items.append(CreateFile(c.path, c.old, ("undo",)))
            else:
                undo.items.append(MoveFile(c.dst, c.src, c.new, c.old, ("undo",)))
        return undo

    def undo(self) -> None:
        """Restore every file this plan changed, byte for byte and with its mode (after `apply`)."""
        if self._applied is not None:
            self._applied.undo()
            self._applied = None
            return
        self.inverse().apply()
