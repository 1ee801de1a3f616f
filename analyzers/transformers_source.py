"""The installed transformers package read as source (never imported): where it is, which classes it defines.

Scanning every `models/*/modeling_*.py` takes about half a second, so the class index is kept on disk,
keyed by the package folder and the size and mtime of its auto mappings.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import re
from pathlib import Path

from analyzers.realtree import cache_dir

_CLASS = re.compile(r"^class (\w+)\b", re.MULTILINE)


@functools.cache
def transformers_dir() -> Path | None:
    """The installed transformers package folder (find_spec of a top-level package does not import it)."""
    try:
        spec = importlib.util.find_spec("transformers")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations)))
    return path if (path / "models").is_dir() else None


def _index_path(tdir: Path) -> Path:
    auto = tdir / "models/auto/modeling_auto.py"
    try:
        stat = auto.stat()
        stamp = f"{tdir}:{stat.st_size}:{stat.st_mtime_ns}"
    except OSError:
        stamp = str(tdir)
    return cache_dir() / "transformers" / f"classes-{hashlib.sha1(stamp.encode()).hexdigest()[:16]}.json"


@functools.cache
def class_folders(tdir: Path) -> dict[str, str]:
    """HF class name -> its `models/<x>` folder name, for every class defined in a modeling file.

    >>> class_folders(transformers_dir())["Qwen3ForCausalLM"]  # doctest: +SKIP
    'qwen3'
    """
    from analyzers.pickle_store import caches_disabled, discard

    cached = _index_path(tdir)
    if not caches_disabled():
        try:
            data = json.loads(cached.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in data.items()
            ):
                raise TypeError(f"not a class -> folder object but {type(data).__name__}")
            return data
        except FileNotFoundError:
            pass
        except Exception as exc:  # any damage: discard and rebuild
            discard(cached, exc)
    out: dict[str, str] = {}
    for path in sorted((tdir / "models").glob("*/modeling_*.py")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for name in _CLASS.findall(text):
            out.setdefault(name, path.parent.name)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(out), encoding="utf-8")
        os.replace(tmp, cached)
    except OSError:
        pass  # a read-only cache only costs speed
    return out
