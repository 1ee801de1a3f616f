"""JSON from files we do not control (config.json, safetensors headers and indexes), read with bounds:
size and nesting depth; every failure is one ConfigError line naming the file. (Non-finite numbers are
JSON that real configs use, e.g. Nemotron-H's `time_step_limit: [0.0, Infinity]`; the fields that must
be finite are checked where they are read.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from analyzers.errors import ConfigError

#: nesting deeper than this is refused (real configs nest 3-4 levels)
MAX_DEPTH = 64
#: config.json and index files larger than this are refused (real ones are a few KB to a few MB)
MAX_JSON_BYTES = 64 * 1024 * 1024


def loads_bounded(text: str | bytes, path: str | Path, what: str = "JSON") -> Any:
    """`json.loads` that refuses deep nesting (no RecursionError) and oversized text.

    >>> loads_bounded('{"a": [1, 2]}', "config.json")
    {'a': [1, 2]}
    """
    if len(text) > MAX_JSON_BYTES:
        raise ConfigError(f"{what} is {len(text)} bytes, over the {MAX_JSON_BYTES}-byte limit", path)

    try:
        data = json.loads(text)
    except RecursionError:
        raise ConfigError(f"{what} is nested too deeply (more than {MAX_DEPTH} levels)", path) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"{what} is not valid JSON: {exc}", path) from None
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise ConfigError(f"{what} is nested too deeply (more than {MAX_DEPTH} levels)", path)
            stack.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    return data


def read_json_bounded(path: Path, what: str = "JSON") -> Any:
    """The file's JSON, size-checked before it is read."""
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise ConfigError(f"{what} is {size} bytes, over the {MAX_JSON_BYTES}-byte limit", path)
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"cannot read: not UTF-8 ({exc.reason} at byte {exc.start})", path) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", path) from None
    return loads_bounded(text, path, what)
