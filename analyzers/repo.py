"""Locate and describe a Megatron-Bridge tree (a git checkout or the unpacked wheel tree)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from analyzers.errors import RepoError

BRIDGE_PKG = "src/megatron/bridge"
MODELS_DIR = f"{BRIDGE_PKG}/models"
RECIPES_DIR = f"{BRIDGE_PKG}/recipes"
CHECKOUT_PARTS = ("tests", "docs", "examples", "scripts", "skills")


@dataclass(frozen=True)
class Repo:
    """A Megatron-Bridge tree rooted at `root` (the folder that holds `src/megatron/bridge`)."""

    root: Path

    @property
    def models(self) -> Path:
        return self.root / MODELS_DIR

    @property
    def recipes(self) -> Path:
        return self.root / RECIPES_DIR

    def parts(self) -> dict[str, bool]:
        return {part: (self.root / part).is_dir() for part in CHECKOUT_PARTS}

    @property
    def kind(self) -> str:
        return "checkout" if (self.root / "tests").is_dir() or (self.root / ".git").exists() else "wheel"

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()


def _is_tree(path: Path) -> bool:
    return (path / MODELS_DIR).is_dir()


def find_repo(path: str | Path | None = None) -> Repo:
    """The tree at `path`, or the one around the current directory when `path` is None.

    >>> find_repo(root).models.relative_to(root)
    PosixPath('src/megatron/bridge/models')
    """
    if path is not None:
        root = Path(path).expanduser()
        if not root.exists():
            raise RepoError("no such directory", root)
        if not root.is_dir():
            raise RepoError("not a directory", root)
        root = root.resolve()
        if _is_tree(root):
            return Repo(root)
        raise RepoError(f"not a Megatron-Bridge tree (no {MODELS_DIR}/)", root)
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if _is_tree(candidate):
            return Repo(candidate)
    raise RepoError(
        f"no Megatron-Bridge tree around the current directory (no {MODELS_DIR}/); pass --repo PATH "
        "or run `python -m analyzers fetch-tree` and use the path it prints",
        here,
    )
