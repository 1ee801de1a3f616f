"""Attributes set for the length of a block and restored after it: how every smoke patch (CUDA calls on the
CPU, absent kernels, TE-free builds) stays inside one run."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["scoped_patches"]

_MISSING = object()


@contextlib.contextmanager
def scoped_patches(patches: list[tuple[Any, str, Any]]) -> Iterator[None]:
    """Set each (owner, attribute, replacement) until the block ends, then restore every original."""
    saved = [(owner, name, owner.__dict__.get(name, _MISSING)) for owner, name, _ in patches]
    try:
        for owner, name, replacement in patches:
            setattr(owner, name, replacement)
        yield
    finally:
        for owner, name, original in reversed(saved):
            if original is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
