"""One presentation of a change set for every write command (the codemods, `lint --fix`/`--diff`).

Given the `ChangeSet` a command wrote or would write, whether it was applied and the command's own lines
and JSON keys, `ChangeOutput.present` prints

- text: the summary lines on stderr, then (not applied) the diff on stdout, which stays a bare diff that
  `git apply` takes;
- json: one versioned document whose change-set part is the same for every command: `root`, `files`
  (`path`, `action`, `reasons`, `moved_from`/`moved_to` of a move), the command's `details`, `applied`,
  `already_applied`, `diff` (the change set's own rendering, `ChangeSet.describe`), then its `extra` keys.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TextIO

from analyzers.changes import Change, ChangeContents, ChangeSet, FileEdit, file_edits
from analyzers.envelope import TOOL, versioned, write_json

#: the keys every write command's JSON document carries, in this order (the command's own keys between)
CHANGE_SET_KEYS = ("root", "files", "applied", "already_applied", "diff")


def _entry(view: FileEdit) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": view.path, "action": view.kind, "reasons": list(view.reasons)}
    if view.moved is not None:  # git's view of a rename: the source goes, the target comes
        entry["moved_from" if view.kind == "create" else "moved_to"] = view.moved
    return entry


def is_noop(change: Change) -> bool:
    return isinstance(change, ChangeContents) and change.old == change.new


def file_entries(change_set: ChangeSet) -> list[dict[str, Any]]:
    """One entry per path the change set writes (a move is a delete and a create), sorted by path."""
    entries = [_entry(v) for c in change_set.changes if not is_noop(c) for v in file_edits(c)]
    return sorted(entries, key=lambda e: e["path"])


@dataclass
class ChangeOutput:
    """What a write command shows of its change set: see the module docstring."""

    change_set: ChangeSet
    command: str  #: the envelope's command (its schema version)
    applied: bool
    already_applied: bool = False
    summary: Sequence[str] = ()  #: the human lines (text output only)
    details: Mapping[str, Any] = field(
        default_factory=dict
    )  #: JSON keys after `files` (report, todos, fixed)
    extra: Mapping[str, Any] = field(default_factory=dict)  #: JSON keys after `diff`
    #: path -> more keys of its `files` entry (the lint's `edits`)
    file_fields: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    kind: str | None = None  #: the document's `kind`, first after the envelope (the lint's documents)
    tool: str = TOOL

    def diff(self) -> str:
        return self.change_set.describe()

    def files(self) -> list[dict[str, Any]]:
        return [{**e, **self.file_fields.get(e["path"], {})} for e in file_entries(self.change_set)]

    def document(self) -> dict[str, Any]:
        head = {} if self.kind is None else {"kind": self.kind}
        payload = {
            **head,
            "root": str(self.change_set.root),
            "files": self.files(),
            **self.details,
            "applied": self.applied,
            "already_applied": self.already_applied,
            "diff": self.diff(),
            **self.extra,
        }
        return versioned(self.command, payload, tool=self.tool)

    def print_summary(self, err: TextIO | None = None) -> None:
        err = sys.stderr if err is None else err
        for line in self.summary:
            print(line, file=err)
        err.flush()  # before the diff: a terminal shows the summary first

    def present(
        self,
        fmt: str,
        *,
        out: TextIO | None = None,
        err: TextIO | None = None,
        indent: int | Literal["tty"] | None = "tty",
    ) -> None:
        """Print the JSON document (`fmt` json) or the summary and, unless applied, the diff (text) on `out`
        (default stdout); the summary goes to `err` (default stderr). `indent` "tty": indented on a terminal,
        compact for a pipe."""
        out = sys.stdout if out is None else out
        if fmt == "json":
            write_json(self.document(), out, indent)
            return
        self.print_summary(err)
        if not self.applied:
            out.write(self.diff())
