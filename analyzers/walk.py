"""The one file walker: every file below a folder, sorted, leaving out what a `SkipPolicy` names.

Links to folders are never followed (a link loop would repeat the tree); links to files are listed.

>>> [p.relative_to(root).as_posix() for p in iter_files(root / "src", (".py",), skip=BUT_CACHES)][:2]
['src/megatron/bridge/__init__.py', 'src/megatron/bridge/data/__init__.py']
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SkipPolicy:
    """What a walk leaves out."""

    dirs: frozenset[str] = frozenset()  #: folder names never entered
    hidden_dirs: bool = False  #: also every folder whose name starts with "."
    suffixes: tuple[str, ...] = ()  #: file name endings never listed

    def skips_dir(self, name: str) -> bool:
        return name in self.dirs or (self.hidden_dirs and name.startswith("."))

    def skips_file(self, name: str) -> bool:
        return bool(self.suffixes) and name.endswith(self.suffixes)


#: a tree's own files: no bytecode caches, hidden folders, compiled or temporary files (what a clone copies)
OWN_FILES = SkipPolicy(dirs=frozenset({"__pycache__"}), hidden_dirs=True, suffixes=(".pyc", ".tmp"))
#: everything but VCS data, caches, virtual environments and the empty Megatron-LM submodule (a refactor's
#: name can be anywhere else, `.github` included)
BUT_CACHES = SkipPolicy(
    dirs=frozenset(
        {".git", "__pycache__", ".venv", "venv", ".tox", "node_modules", "3rdparty", ".ruff_cache"}
    )
)


def iter_files(root: Path, suffixes: tuple[str, ...] = ("",), *, skip: SkipPolicy) -> Iterator[Path]:
    """Every file under `root` whose name ends in one of `suffixes` and that `skip` keeps, sorted."""
    stack = [root]
    found: list[Path] = []
    while stack:
        folder = stack.pop()
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir():
                if not skip.skips_dir(entry.name) and not entry.is_symlink():
                    stack.append(entry)
            elif entry.name.endswith(suffixes) and not skip.skips_file(entry.name):
                found.append(entry)
    yield from sorted(found)
