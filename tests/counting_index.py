"""A SourceIndex that counts the parses it makes: tests that a run parses each file once use it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from analyzers.source_index import SourceIndex
from analyzers.tree_snapshot import TreeSnapshot


class CountingIndex(SourceIndex):
    """`parses[(kind, rel)]`: how many times the index parsed `rel` as `kind` (one per run is the contract)."""

    def __init__(self, root: Path, snapshot: TreeSnapshot | None = None) -> None:
        super().__init__(root, snapshot)
        self.parses: Counter[tuple[str, str]] = Counter()

    def parse(self, kind, rel, parse):
        def counted(text):
            self.parses[(kind, rel)] += 1
            return parse(text)

        return super().parse(kind, rel, counted)
