"""The envelope of every JSON document a command prints: which tool wrote it, which version of the tool,
which command, and which version of that command's document shape.

Consumers check `schema_version` (bumped on an incompatible change of that command's documents: a key
removed, renamed or retyped, or a list that now holds other things) and may ignore keys they do not know.
The README's "JSON documents" table lists every command's version and top-level keys.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any, Literal, TextIO

from analyzers import __version__

TOOL = "bridgesmith"
#: the keys the envelope puts first in every document; a payload never carries them
ENVELOPE_KEYS = ("schema_version", "tool", "tool_version", "command")
#: command -> version of the shape of the JSON documents it prints (one per command, all kinds included)
SCHEMA_VERSIONS: dict[str, int] = {
    "catalog": 2,
    "inspect": 1,
    "nearest": 1,
    "coverage": 1,
    "synthesize": 1,
    "lint": 1,
    "rule": 1,
    "clone-family": 1,
    "rename-symbol": 1,
    "move-module": 1,
    "rename-family": 1,
    "rename-param": 1,
    "smoke": 1,
}


def versioned(command: str, payload: Mapping[str, Any], *, tool: str = TOOL) -> dict[str, Any]:
    """`payload` behind the envelope: `schema_version`, `tool`, `tool_version`, `command`, then its own keys.

    >>> list(versioned("nearest", {"model_type": "qwen3"}))
    ['schema_version', 'tool', 'tool_version', 'command', 'model_type']
    """
    clash = [key for key in ENVELOPE_KEYS if key in payload]
    if clash:
        raise ValueError(f"{command}: the payload carries the envelope's key(s) {', '.join(clash)}")
    return {
        "schema_version": SCHEMA_VERSIONS[command],
        "tool": tool,
        "tool_version": __version__,
        "command": command,
        **payload,
    }


def write_json(data: Any, out: TextIO | None = None, indent: int | Literal["tty"] | None = "tty") -> None:
    """One JSON document and a newline on `out` (stdout); `indent` "tty": indented for a terminal, compact
    for a pipe (a big catalog dumps twice as fast)."""
    out = sys.stdout if out is None else out
    if indent == "tty":
        indent = 2 if out.isatty() else None
    json.dump(data, out, indent=indent, sort_keys=False, default=str)
    out.write("\n")
