"""rope on a Megatron-Bridge tree, narrowed to the files that can mention a name.

Plain rope parses every Python file of the project on each rename (about 8-12 s on this tree, almost all of
it in `compile`); its occurrence finder only then checks whether the name is in the text at all. Handing
`Rename.get_changes` the files that mention the name (`resources=`) skips those parses and gives the same
change set, because files without the name can hold no occurrence.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from analyzers.errors import ParseError, PlanConflictError

#: rope's `source_folders`: `src/megatron` is a namespace package (no `__init__.py`), so rope must be told
#: where top-level packages start or it resolves no `megatron.bridge...` import.
SOURCE_FOLDERS = ["src"]


@contextmanager
def open_project(root: Path) -> Iterator[object]:
    """A rope Project on `root` that writes nothing (no `.ropeproject` folder); closed on exit."""
    from rope.base.project import Project

    project = Project(str(root), source_folders=SOURCE_FOLDERS, ropefolder=None)
    try:
        yield project
    finally:
        project.close()


def rename_changes(
    root: Path, path: str, offset: int, new_name: str, files: Iterable[str] | None
) -> dict[str, str]:
    """Rename the Python name at `offset` of `path` with rope; return relative path -> new content.

    `files` narrows the search to those relative paths (None: every Python file, as plain rope does).
    """
    from rope.base import exceptions as rope_errors
    from rope.base.change import ChangeContents
    from rope.refactor.rename import Rename

    logging.getLogger("rope").setLevel(logging.ERROR)
    with open_project(root) as project:
        try:
            resource = project.get_resource(path)
            rename = Rename(project, resource, offset)
            resources = None if files is None else [project.get_resource(f) for f in sorted(files)]
            changes = rename.get_changes(new_name, docs=False, resources=resources)
        except rope_errors.ModuleSyntaxError as exc:
            raise ParseError(f"rope cannot parse: {exc}", path) from None
        except rope_errors.RefactoringError as exc:
            raise PlanConflictError(f"rope refused the rename: {exc}", path) from None
        result: dict[str, str] = {}
        for change in _flatten(changes):
            if not isinstance(change, ChangeContents):
                raise PlanConflictError(f"unexpected rope change {type(change).__name__}", path)
            result[change.resource.path] = change.new_contents
        return result


def _flatten(change: object) -> Iterator[object]:
    inner = getattr(change, "changes", None)
    if inner is None:
        yield change
        return
    for child in inner:
        yield from _flatten(child)
