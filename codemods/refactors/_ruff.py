"""ruff, run on planned file contents (stdin), to keep import blocks sorted where the tree's config sorts them."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from analyzers.ruff_binary import CONFIG_FILES, ruff_binary, ruff_on_text


@contextmanager
def workspace(root: Path, new_dirs: Iterable[str] = ()) -> Iterator[Path]:
    """Where to run ruff on planned contents: `root` itself, or, when the plan creates packages, a skeleton of
    `root` (its ruff config and its `src/` folders, no files) with those packages added. ruff sorts an import
    as first-party only when its folder exists, so it must see the folders the plan will create."""
    new_dirs = list(new_dirs)
    if not new_dirs:
        yield root
        return
    with tempfile.TemporaryDirectory(prefix="bridgesmith-ruff-") as tmp:
        skeleton = Path(tmp)
        for name in CONFIG_FILES:
            if (root / name).is_file():
                shutil.copy2(root / name, skeleton / name)
        for folder in (root / "src").rglob("*"):
            if folder.is_dir() and "__pycache__" not in folder.parts:
                (skeleton / folder.relative_to(root)).mkdir(parents=True, exist_ok=True)
        for rel in new_dirs:
            (skeleton / rel).mkdir(parents=True, exist_ok=True)
        yield skeleton


def _codes(ruff: str, cwd: Path, path: str, text: str) -> set[str]:
    result = ruff_on_text(ruff, ["check", "--no-cache", "--output-format", "json"], text, path, cwd)
    try:
        return {item["code"] for item in json.loads(result.stdout or "[]") if item.get("code")}
    except json.JSONDecodeError:
        return set()


def sort_changed_imports(cwd: Path, path: str, before: str, after: str) -> str:
    """`after` with its imports re-sorted by ruff (I001), only when the tree's config asks for sorted imports
    and `before` was sorted; otherwise `after` unchanged. A rewritten module path can change the order.
    `cwd` is a `workspace`."""
    ruff = ruff_binary()
    if (
        ruff is None
        or "I001" not in _codes(ruff, cwd, path, after)
        or "I001" in _codes(ruff, cwd, path, before)
    ):
        return after
    result = ruff_on_text(
        ruff, ["check", "--no-cache", "--select", "I001", "--fix-only", "--exit-zero"], after, path, cwd
    )
    return result.stdout if result.returncode == 0 and result.stdout else after
