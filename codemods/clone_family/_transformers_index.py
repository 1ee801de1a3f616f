"""Does the installed transformers define a class? Answered by reading its source, never by importing it."""

from __future__ import annotations

import functools
import re

from analyzers.transformers_source import transformers_dir

__all__ = ["transformers_dir", "transformers_has", "transformers_module_exists"]

_CLASS = re.compile(r"^class (\w+)\b", re.MULTILINE)


@functools.cache
def _auto_names() -> frozenset[str]:
    base = transformers_dir()
    if base is None:
        return frozenset()
    names: set[str] = set()
    for path in (base / "models" / "auto").glob("*.py"):
        try:
            names.update(re.findall(r'"([A-Z]\w+)"', path.read_text(encoding="utf-8")))
        except OSError:
            continue
    return frozenset(names)


@functools.cache
def _classes_in(folder: str) -> frozenset[str]:
    base = transformers_dir()
    if base is None:
        return frozenset()
    names: set[str] = set()
    for path in (base / "models" / folder).glob("*.py"):
        try:
            names.update(_CLASS.findall(path.read_text(encoding="utf-8")))
        except OSError:
            continue
    return frozenset(names)


@functools.cache
def _model_folders() -> tuple[str, ...]:
    base = transformers_dir()
    if base is None:
        return ()
    return tuple(
        sorted(p.name for p in (base / "models").iterdir() if p.is_dir() and not p.name.startswith("_"))
    )


def transformers_has(name: str) -> bool:
    """Whether the installed transformers defines (or auto-maps) a class `name`; False when not installed.

    Looks in the auto mappings first, then in the model folders whose squashed name starts `name`
    (`Qwen3VLTextConfig` -> `models/qwen3_vl/`).
    """
    if name in _auto_names():
        return True
    squashed = name.lower()
    for folder in _model_folders():
        key = folder.replace("_", "")
        if key and squashed.startswith(key) and name in _classes_in(folder):
            return True
    return False


def transformers_module_exists(dotted: str) -> bool:
    """Whether `transformers.x.y` exists as a module or package in the installed transformers."""
    base = transformers_dir()
    if base is None or not (dotted == "transformers" or dotted.startswith("transformers.")):
        return False
    rel = dotted.split(".")[1:]
    target = base.joinpath(*rel) if rel else base
    return target.with_suffix(".py").is_file() or (target / "__init__.py").is_file()
