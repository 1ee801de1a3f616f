"""Small per-file values memoised across runs by the file's content digest (raw parses and scans kept rare)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from analyzers.tree_snapshot import TreeSnapshot

T = TypeVar("T")


class ContentMemo:
    """`memo(name, rel, compute)` is `compute()` unless file `rel` has not changed since it was last computed.

    Values must be picklable and are shared between runs: callers copy what they mutate.
    """

    def __init__(self, files: TreeSnapshot, values: dict[tuple[str, str], tuple[str, object]]) -> None:
        self.files = files
        #: (name, path) -> (digest of the file, value)
        self.values = values
        self.changed = False

    def __call__(self, name: str, rel: str, compute: Callable[[], T]) -> T:
        digest = self.files.digests.get(rel, "?")
        hit = self.values.get((name, rel))
        if hit is not None and hit[0] == digest:
            return hit[1]  # type: ignore[return-value]
        value = compute()
        self.values[(name, rel)] = (digest, value)
        self.changed = True
        return value

    def live(self) -> dict[tuple[str, str], tuple[str, object]]:
        """The values of files still in the tree (what is worth saving)."""
        return {k: v for k, v in self.values.items() if k[1] in self.files.digests}
