"""The installed transformers package read as source (never imported): the one reader of its files.

Where it is, which classes its model folders define, what its auto mappings name, which model types its
configuration files declare. Scanning every `models/*/modeling_*.py` takes about half a second, so the
class -> folder index is kept on disk, keyed by the package folder and the size and mtime of its auto mappings.
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
#: a quoted class name, as the auto mappings list them
_QUOTED_CLASS = re.compile(r'"([A-Z]\w+)"')
#: `("model_type", "ClassName")`, a row of an auto mapping
_PAIR = re.compile(r'\(\s*"([\w\-.]+)"\s*,\s*"(\w+)"\s*\)')
_MODEL_TYPE = re.compile(r'^\s+model_type\s*(?::\s*\w+\s*)?=\s*"([\w\-.]+)"', re.MULTILINE)
_VERSION = re.compile(r'^__version__\s*=\s*"([^"]+)"', re.MULTILINE)


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


def modeling_path(model_type: str) -> Path | None:
    """`transformers/models/<model_type>/modeling_<model_type>.py`, None when it (or transformers) is absent."""
    tdir = transformers_dir()
    if tdir is None:
        return None
    path = tdir / "models" / model_type / f"modeling_{model_type}.py"
    return path if path.is_file() else None


def has_module(tdir: Path, dotted: str) -> bool:
    """Whether `transformers.x.y` is a module or package of the transformers at `tdir`."""
    if not (dotted == "transformers" or dotted.startswith("transformers.")):
        return False
    target = tdir.joinpath(*dotted.split(".")[1:])
    return target.with_suffix(".py").is_file() or (target / "__init__.py").is_file()


def read_text(path: Path) -> str | None:
    """A source file of the package, None when it cannot be read (a missing or damaged file answers nothing)."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def defined_classes(path: Path) -> list[str]:
    """Names of the classes a source file defines at its top level."""
    return _CLASS.findall(read_text(path) or "")


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

    >>> class_folders(transformers_dir())["Qwen3ForCausalLM"]
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
        for name in defined_classes(path):
            out.setdefault(name, path.parent.name)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(out), encoding="utf-8")
        os.replace(tmp, cached)
    except OSError:
        pass  # a read-only cache only costs speed
    return out


@functools.cache
def folder_classes(tdir: Path, folder: str) -> frozenset[str]:
    """Classes defined by any module of `models/<folder>/`."""
    return frozenset(
        name for path in (tdir / "models" / folder).glob("*.py") for name in defined_classes(path)
    )


@functools.cache
def model_folders(tdir: Path) -> tuple[str, ...]:
    """The `models/<x>` folder names, sorted."""
    return tuple(
        sorted(p.name for p in (tdir / "models").iterdir() if p.is_dir() and not p.name.startswith("_"))
    )


@functools.cache
def auto_mapped_names(tdir: Path) -> frozenset[str]:
    """Every class name the auto mappings (`models/auto/*.py`) mention."""
    return frozenset(
        name
        for path in (tdir / "models" / "auto").glob("*.py")
        for name in _QUOTED_CLASS.findall(read_text(path) or "")
    )


@functools.cache
def auto_model_types(tdir: Path) -> dict[str, frozenset[str]]:
    """HF class name -> the model types `models/auto/modeling_auto.py` maps to it."""
    out: dict[str, set[str]] = {}
    for model_type, cls in _PAIR.findall(read_text(tdir / "models/auto/modeling_auto.py") or ""):
        out.setdefault(cls, set()).add(model_type)
    return {k: frozenset(v) for k, v in out.items()}


def _mapping(text: str, name: str) -> dict[str, str]:
    """model_type -> class of the `NAME = OrderedDict([...])` mapping in an auto module's source."""
    start = text.find(f"\n{name} = OrderedDict(")
    if start < 0:
        return {}
    end = text.find("\n)", start)
    return dict(_PAIR.findall(text[start : end if end > 0 else None]))


@functools.cache
def auto_mapping(tdir: Path, name: str) -> dict[str, str]:
    """model_type -> class of one auto mapping (`CONFIG_MAPPING_NAMES`, `MODEL_FOR_CAUSAL_LM_MAPPING_NAMES`),
    from `models/auto/auto_mappings.py` or the module that defines it (transformers 4.x)."""
    for module in ("auto_mappings.py", "configuration_auto.py", "modeling_auto.py"):
        found = _mapping(read_text(tdir / "models" / "auto" / module) or "", name)
        if found:
            return found
    return {}


def config_model_types(tdir: Path, folder: str) -> set[str]:
    """The `model_type = "..."` values of the `configuration_*.py` files of `models/<folder>/`."""
    return {
        model_type
        for conf in (tdir / "models" / folder).glob("configuration_*.py")
        for model_type in _MODEL_TYPE.findall(read_text(conf) or "")
    }


def package_version(tdir: Path) -> str:
    """The package's `__version__`, "unknown" when its `__init__.py` does not say."""
    match = _VERSION.search(read_text(tdir / "__init__.py") or "")
    return match.group(1) if match else "unknown"
