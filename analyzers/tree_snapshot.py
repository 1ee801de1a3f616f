"""A tree's files at one moment: their listing, the content digests of the tracked ones, contents on demand.

Digests of files unchanged since the last scan (same size, mtime, inode and ctime: an edit that restores
the mtime still moves the ctime) come from a stat index kept in
the cache, as git's index and ruff's cache do, so a scan of an unchanged tree stats files instead of
reading and hashing them. A file modified within the last few seconds is never indexed: a second write in
the same timestamp tick could otherwise go unseen.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

from analyzers.pickle_store import dump_atomic, load_dict, tree_cache_path
from analyzers.walk import OWN_FILES

INDEX_FORMAT = 2
#: files modified this recently (ns) are re-read on every scan rather than trusted from the index
RACY_WINDOW_NS = 3_000_000_000

Stamp = tuple[int, int, int, int]  #: (size, mtime_ns, inode, ctime_ns), as git's index


def digest_bytes(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class Contents(Mapping[str, bytes]):
    """Bytes of the tracked files, read on first access (an unreadable file reads as b"")."""

    def __init__(self, root: Path, tracked: Iterable[str], read: dict[str, bytes]) -> None:
        self._root = root
        self._tracked = tracked
        self._read = read

    def __getitem__(self, rel: str) -> bytes:
        data = self._read.get(rel)
        if data is None:
            if rel not in self._tracked:
                raise KeyError(rel)
            try:
                data = (self._root / rel).read_bytes()
            except OSError:
                data = b""
            self._read[rel] = data
        return data

    def __contains__(self, rel: object) -> bool:
        return rel in self._tracked

    def __iter__(self) -> Iterator[str]:
        return iter(self._tracked)

    def __len__(self) -> int:
        return len(self._tracked)


class TreeSnapshot:
    """Files under some top folders of `root`: `paths` lists every file; tracked files also have a digest.

    >>> snap = TreeSnapshot.scan(root, ["src"], lambda rel: rel.endswith(".py"))
    >>> snap.digests["src/megatron/bridge/__init__.py"], snap.data["src/megatron/bridge/__init__.py"][:10]
    ('545d6548296fd3fab9fe221decc7bc49', b'# Copyrigh')
    """

    def __init__(self, root: Path, paths: set[str], digests: dict[str, str], read: dict[str, bytes]) -> None:
        self.root = root
        self.paths = paths
        self.digests = digests  #: tracked file -> content digest
        self.unreadable: dict[str, str] = {}  #: tracked file -> why it could not be read
        self._read = read  #: contents read so far
        self.reread: set[str] = set()  #: tracked files the scan read (changed, or not in the index)
        self.data: Mapping[str, bytes] = Contents(root, digests, read)

    @classmethod
    def scan(
        cls,
        root: Path,
        tops: Iterable[str],
        tracked: Callable[[str], bool],
        index: StatIndex | None = None,
    ) -> TreeSnapshot:
        """Walk `tops` (skipping the folders `OWN_FILES` skips: caches, hidden ones), digest every file
        `tracked` accepts."""
        paths: set[str] = set()
        digests: dict[str, str] = {}
        read: dict[str, bytes] = {}
        unreadable: dict[str, str] = {}
        known = index.entries if index is not None else {}
        fresh: dict[str, tuple[Stamp, str]] = {}
        stack = [(os.path.join(root, top), top) for top in tops]
        while stack:
            folder, rel_folder = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                rel = f"{rel_folder}/{entry.name}"
                try:
                    # a link to a folder is not followed: a link loop (`loop -> ..`) would repeat the tree
                    is_dir = entry.is_dir(follow_symlinks=False)
                    if not is_dir and entry.is_symlink() and entry.is_dir():
                        continue
                except OSError:
                    continue
                if is_dir:
                    if not OWN_FILES.skips_dir(entry.name):
                        stack.append((entry.path, rel))
                    continue
                paths.add(rel)
                if not tracked(rel):
                    continue
                try:
                    st = entry.stat()
                except OSError as exc:
                    unreadable[rel] = exc.strerror or str(exc)
                    continue
                stamp = (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
                hit = known.get(rel)
                if type(hit) is tuple and len(hit) == 2 and hit[0] == stamp and type(hit[1]) is str:
                    digests[rel] = hit[1]
                    continue
                try:
                    with open(entry.path, "rb") as handle:
                        data = handle.read()
                except OSError as exc:
                    unreadable[rel] = exc.strerror or str(exc)
                    continue
                read[rel] = data
                digests[rel] = digest_bytes(data)
                fresh[rel] = (stamp, digests[rel])
        snapshot = cls(root, paths, digests, read)
        snapshot.unreadable = unreadable
        snapshot.reread = set(read)
        if index is not None:
            index.update(fresh)
        return snapshot

    def key(self, extra: str) -> str:
        """Digest of the listing and every tracked file's content (plus `extra`)."""
        h = hashlib.blake2b(digest_size=16)
        h.update(extra.encode())
        for rel in sorted(self.paths):
            h.update(rel.encode() + b"\0" + self.digests.get(rel, "").encode())
        return h.hexdigest()


class StatIndex:
    """rel -> ((size, mtime_ns, inode, ctime_ns), digest) of one tree, pickled in the cache; written only when it changed."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, tuple[Stamp, str]] = {}
        self._dirty = False
        data = load_dict(path, INDEX_FORMAT) if path is not None else None
        if data is not None and isinstance(data.get("entries"), dict):
            self.entries = data["entries"]

    @classmethod
    def for_tree(cls, root: Path) -> StatIndex:
        return cls(tree_cache_path("stat", root))

    def update(self, fresh: dict[str, tuple[Stamp, str]]) -> None:
        settled = time.time_ns() - RACY_WINDOW_NS
        for rel, (stamp, digest) in fresh.items():
            if stamp[1] < settled:
                self.entries[rel] = (stamp, digest)
                self._dirty = True

    def save(self) -> None:
        if self._dirty and self.path is not None:
            dump_atomic(self.path, {"format": INDEX_FORMAT, "entries": self.entries})
            self._dirty = False


def scan_indexed(
    root: Path, tops: Iterable[str], tracked: Callable[[str], bool], use_index: bool
) -> TreeSnapshot:
    """`TreeSnapshot.scan` through the tree's stat index in the cache (read, then updated), or without one."""
    index = StatIndex.for_tree(root) if use_index else None
    snapshot = TreeSnapshot.scan(root, tops, tracked, index)
    if index is not None:
        index.save()
    return snapshot
