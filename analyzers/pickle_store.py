"""Cache files: pickles written atomically (a crash or a concurrent run never leaves half a file)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
from collections.abc import Iterator
from pathlib import Path

#: what reading a cache file can raise: anything (a truncated, flipped or foreign file is only lost speed)
UNPICKLING_ERRORS = (Exception,)

#: set by `--no-cache` (every command): no cache file is read
_disabled = False


@contextlib.contextmanager
def caches_off(off: bool = True) -> Iterator[None]:
    """Make every cache reader miss until the block ends (`--no-cache` for one command run)."""
    global _disabled
    before = _disabled
    _disabled = before or off
    try:
        yield
    finally:
        _disabled = before


def caches_disabled() -> bool:
    return _disabled


def discard(path: Path, exc: BaseException) -> None:
    """Delete a cache file that could not be loaded, saying so in one line on stderr (it is rebuilt)."""
    import sys

    reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:160]
    print(f"warning: {path}: unreadable cache discarded ({reason}); rebuilding it", file=sys.stderr)
    try:
        path.unlink()
    except OSError:
        pass


def dump_atomic(path: Path, *payloads: object) -> None:
    """Pickle `payloads` one after the other into `path`; an unwritable cache is ignored (it only costs speed)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as handle:
            for payload in payloads:
                pickle.dump(payload, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        pass


def load_dict(path: Path, cache_format: object) -> dict | None:
    """The first pickle in `path` when it is a dict written with `cache_format`, else None."""
    if _disabled:
        return None
    try:
        with path.open("rb") as handle:
            data = pickle.load(handle)
    except FileNotFoundError:
        return None
    except UNPICKLING_ERRORS as exc:
        discard(path, exc)
        return None
    return data if isinstance(data, dict) and data.get("format") == cache_format else None


def tree_cache_path(folder: str, root: Path, suffix: str = ".pickle") -> Path:
    """`<cache>/<folder>/<key of root><suffix>`: one cache file per tree and purpose."""
    from analyzers.realtree import cache_dir

    return cache_dir() / folder / f"{hashlib.sha1(str(root).encode()).hexdigest()[:16]}{suffix}"


def code_stamp(*folders: str) -> str:
    """Digest of the (name, size, mtime) of this package's modules in `folders`: a cache key part that
    changes when the tool's own code does, without reading that code on every start."""
    package = Path(__file__).resolve().parent
    digest = hashlib.blake2b(digest_size=8)
    for folder in folders:
        with os.scandir(package / folder) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.name.endswith(".py"):
                    stat = entry.stat()
                    digest.update(f"{folder}/{entry.name}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()
