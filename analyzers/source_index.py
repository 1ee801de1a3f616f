"""One run's sources of a tree: each file read once, each parse (catalog module, stdlib ast, libcst) made once.

The catalog build, the lint context and the refactors take one `SourceIndex`, so a command that builds
the catalog and then runs rules over the same files (or a refactor that searches the tree twice) neither
reads nor parses a file a second time. Contents come from the tree's `TreeSnapshot` when it tracks the
file (the lint and the catalog scan once for both), else from disk. A file that cannot be read, decoded or
parsed raises the same `ParseError` every time it is asked for, naming it.

>>> index = SourceIndex(root)
>>> ast.dump(index.ast("src/megatron/bridge/models/qwen/qwen3_bridge.py").body[0])
"Import(names=[alias(name='torch')])"
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analyzers import walk
from analyzers.errors import ParseError

if TYPE_CHECKING:
    from analyzers.tree_snapshot import TreeSnapshot


class SourceIndex:
    """rel path -> bytes, text, and lazily the parsed forms, for the tree at `root`."""

    def __init__(self, root: Path, snapshot: TreeSnapshot | None = None) -> None:
        self.root = Path(root)
        self.snapshot = snapshot
        self._data: dict[str, bytes | OSError] = {}
        self._text: dict[str, str | ParseError] = {}
        self._parsed: dict[tuple[str, str], Any] = {}  #: (kind, rel) -> the parse or the ParseError it raised
        self._listings: dict[tuple[str, tuple[str, ...]], list[str]] = {}

    def data(self, rel: str) -> bytes | None:
        """The file's bytes (from the snapshot when it tracks the file), or None when it cannot be read."""
        found = self._read(rel)
        return None if isinstance(found, OSError) else found

    def source(self, rel: str, *, universal: bool = False) -> str:
        """The file's text; ParseError naming it when it cannot be read or is not UTF-8 (a refactor never
        skips a file it must read: the name could be in it).

        `universal`: with universal newlines, as `Path.read_text` reads it (`\\r\\n` and `\\r` read as
        `\\n`), for a writer that holds its edit against what it read.
        """
        if rel not in self._text:
            found = self._read(rel)
            if isinstance(found, OSError):
                self._text[rel] = ParseError(f"cannot read: {found.strerror}", rel)
            else:
                try:
                    self._text[rel] = found.decode("utf-8")
                except UnicodeDecodeError as exc:
                    self._text[rel] = ParseError(
                        f"cannot read: not UTF-8 ({exc.reason} at byte {exc.start})", rel
                    )
        text = self._text[rel]
        if isinstance(text, ParseError):
            raise text
        if universal and "\r" in text:
            return text.replace("\r\n", "\n").replace("\r", "\n")
        return text

    def text(self, rel: str, *, universal: bool = False) -> str | None:
        """The file's text (`universal`: as `source`), or None when it cannot be read or is not UTF-8."""
        try:
            return self.source(rel, universal=universal)
        except ParseError:
            return None

    def ast(self, rel: str) -> ast.Module:
        """The stdlib ast of the module; ParseError naming it when it does not parse."""

        def parse(text: str) -> ast.Module:
            try:
                return ast.parse(text, filename=rel)
            except SyntaxError as exc:
                raise ParseError(f"cannot parse: {exc.msg} (line {exc.lineno})", rel) from None

        return self.parse("ast", rel, parse)

    def cst(self, rel: str) -> Any:
        """The libcst Module of the file (libcst imported only when asked); ParseError when it does not parse."""

        def parse(text: str) -> Any:
            import libcst as cst

            try:
                return cst.parse_module(text)
            except cst.ParserSyntaxError as exc:
                raise ParseError(f"cannot parse: {exc.message} (line {exc.raw_line})", rel) from None

        return self.parse("cst", rel, parse)

    def files(self, under: str, suffixes: tuple[str, ...]) -> list[str]:
        """Relative paths of the files below folder `under` ("" for the root) ending in one of `suffixes`,
        sorted; VCS data and caches left out (the refactors' walk)."""
        key = (under, suffixes)
        if key not in self._listings:
            base = self.root / under if under else self.root
            self._listings[key] = [
                path.relative_to(self.root).as_posix()
                for path in walk.iter_files(base, suffixes, skip=walk.BUT_CACHES)
            ]
        return self._listings[key]

    def mentioning(
        self, pattern: re.Pattern[str], suffixes: tuple[str, ...], needle: str | None = None, under: str = ""
    ) -> dict[str, str]:
        """rel path -> text of every such file whose text matches `pattern` (the cheap prefilter).

        `needle`, a plain substring every match contains, skips the regex on most files (it is 10x faster).
        """
        hits: dict[str, str] = {}
        for rel in self.files(under, suffixes):
            text = self.source(rel)
            if (needle is None or needle in text) and pattern.search(text):
                hits[rel] = text
        return hits

    def _read(self, rel: str) -> bytes | OSError:
        if rel not in self._data:
            if self.snapshot is not None and rel in self.snapshot.data:
                self._data[rel] = self.snapshot.data[rel]
            else:
                try:
                    self._data[rel] = (self.root / rel).read_bytes()
                except OSError as exc:
                    self._data[rel] = exc
        return self._data[rel]

    def parse(self, kind: str, rel: str, parse: Callable[[str], Any]) -> Any:
        """`parse(text)` of the file, made once per run for each `kind` (the catalog's module parse is
        one: `analyzers.catalog.modules.indexed_module`); the ParseError it or the read raised, each time."""
        key = (kind, rel)
        if key not in self._parsed:
            try:
                self._parsed[key] = parse(self.source(rel))
            except ParseError as exc:
                self._parsed[key] = exc
        found = self._parsed[key]
        if isinstance(found, ParseError):
            raise found
        return found
