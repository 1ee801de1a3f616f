"""HF parameter names built from transformers, cached per config: one pickle per config digest.

The key is the config (canonical JSON), the architectures it names, the installed transformers and torch
versions (read from their metadata, not imported) and this tool's name-building code. A result that says
why names are unavailable is cached too (an unknown model type costs the transformers import every run
otherwise), except that torch or transformers are missing: then nothing is read or written.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from analyzers.hf_names_record import HFNames, NamesUnavailable
from analyzers.pickle_store import caches_disabled, dump_atomic, load_dict

if TYPE_CHECKING:
    from analyzers.hf_config import ModelSpec

#: bumped when the cached value's shape changes
CACHE_FORMAT = "hf-names-1"
#: cache files kept; the oldest are removed beyond this (a big MoE model's names take a few MB)
KEEP = 64
#: modules whose code decides the names (a change to them is a new key)
_CODE = ("hf_names.py", "hf_names_record.py", "names_cache.py")


def _importable(name: str) -> bool:
    """Whether `import name` can work, without importing it (None in sys.modules blocks an import)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _versions() -> str | None:
    """`transformers==X torch==Y`, or None when either is not installed (names cannot be built)."""
    if not (_importable("transformers") and _importable("torch")):
        return None
    try:
        return f"transformers=={metadata.version('transformers')} torch=={metadata.version('torch')}"
    except metadata.PackageNotFoundError:
        return None


def _code_stamp() -> str:
    here = Path(__file__).resolve().parent
    parts = []
    for name in _CODE:
        try:
            stat = (here / name).stat()
            parts.append(f"{name}:{stat.st_size}:{stat.st_mtime_ns}")
        except OSError:
            parts.append(name)
    return " ".join(parts)


def config_key(spec: ModelSpec, versions: str) -> str:
    """Digest of what decides the names: the config, the libraries' versions and the building code."""
    text = json.dumps(spec.config, sort_keys=True, default=str)
    blob = "\n".join((CACHE_FORMAT, versions, _code_stamp(), text))
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def cache_path(key: str) -> Path:
    from analyzers.realtree import cache_dir

    return cache_dir() / "hf_names" / f"{key}.pickle"


def cached_names(spec: ModelSpec, build: Callable[[ModelSpec], HFNames]) -> HFNames:
    """`build(spec)`, or its cached result for the same config; NamesUnavailable is replayed from the cache.

    `--no-cache` (`caches_off`) neither reads nor writes. A damaged file is discarded with one warning
    line (pickle_store) and rebuilt.
    """
    versions = _versions()
    if versions is None or caches_disabled():
        return build(spec)
    key = config_key(spec, versions)
    path = cache_path(key)
    data = load_dict(path, CACHE_FORMAT)
    if data is not None and data.get("key") == key:
        if isinstance(data.get("names"), HFNames):
            return data["names"]
        if isinstance(data.get("unavailable"), str):
            raise NamesUnavailable(data["unavailable"])
    try:
        names = build(spec)
    except NamesUnavailable as exc:
        _store(path, {"format": CACHE_FORMAT, "key": key, "unavailable": str(exc)})
        raise
    _store(path, {"format": CACHE_FORMAT, "key": key, "names": names})
    return names


def _store(path: Path, payload: dict) -> None:
    dump_atomic(path, payload)
    _prune(path.parent)


def _prune(folder: Path) -> None:
    """Keep the KEEP most recently written entries (a bounded cache: configs are many, each is rarely reused)."""
    try:
        entries = sorted(folder.glob("*.pickle"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    except OSError:
        return
    for stale in entries[KEEP:]:
        try:
            os.unlink(stale)
        except OSError:
            pass
