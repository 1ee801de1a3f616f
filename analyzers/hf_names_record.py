"""What a model's HF parameter names are (`HFNames`), and why they may be unavailable (`NamesUnavailable`).

Both the name building (`hf_names`) and its cache (`names_cache`) deal in these, so they sit below both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class NamesUnavailable(Exception):
    """HF parameter names cannot be produced for this spec; the message says why (shown, not fatal)."""


@dataclass
class HFNames:
    """Checkpoint parameter names of a model, with shapes when known."""

    source: str  #: "index" | "safetensors" | "transformers"
    #: checkpoint name -> shape (None when the source has no shapes, e.g. the index file)
    shapes: dict[str, tuple[int, ...] | None]
    model_class: str | None = None  #: the transformers class built, on the transformers path
    #: transformers module (state dict) names -> shape, before reversing the weight conversions
    module_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    tied: list[str] = field(default_factory=list)  #: tied parameters left out
    dtypes: dict[str, str] = field(default_factory=dict)  #: name -> dtype (safetensors source only)

    @property
    def names(self) -> list[str]:
        return sorted(self.shapes, key=_natural_key)


def _natural_key(name: str) -> list[Any]:
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in name.split(".")]
