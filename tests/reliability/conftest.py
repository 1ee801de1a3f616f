"""Helpers for the reliability tests: byte-exact snapshots (modes included) and a per-test cache."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under `root` (caches and bytecode left out) -> (bytes, permission bits)."""
    out: dict[str, tuple[bytes, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in ("__pycache__", ".ruff_cache")]
        for name in filenames:
            path = Path(dirpath) / name
            out[path.relative_to(root).as_posix()] = (path.read_bytes(), stat.S_IMODE(path.stat().st_mode))
    return out


@pytest.fixture
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh BRIDGESMITH_CACHE for the test (locks, journals and caches of its own)."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("BRIDGESMITH_CACHE", str(cache))
    return cache
