"""The pinned real Megatron-Bridge tree from the package registry, unpacked as a checkout-shaped cache.

The wheel is downloaded with pip for Python 3.12 (the distribution declares >= 3.12), checked against a
pinned SHA-256, and `megatron/bridge/**` is unpacked to `<cache>/trees/megatron-bridge-<ver>/src/`.
Nothing is imported or executed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

from analyzers.errors import TreeFetchError
from analyzers.walk import SkipPolicy, iter_files

PINNED_VERSION = "0.6.2"
#: SHA-256 of the wheel files we accept, by version.
PINNED_WHEELS = {
    "0.6.2": (
        "megatron_bridge-0.6.2-py3-none-any.whl",
        "bcb7274ab9327167c345aa24b96b95790ce5090df1945d883bdc41065d5649e2",
    ),
}
MARKER = ".bridgesmith-tree.json"
#: what the digest of an unpacked tree covers: every file but bytecode caches
_DIGESTED = SkipPolicy(dirs=frozenset({"__pycache__"}))


def cache_dir() -> Path:
    """Per-user cache folder (BRIDGESMITH_CACHE, else XDG_CACHE_HOME/bridgesmith, else ~/.cache/bridgesmith)."""
    if env := os.environ.get("BRIDGESMITH_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bridgesmith"


def tree_dir(version: str = PINNED_VERSION) -> Path:
    return cache_dir() / "trees" / f"megatron-bridge-{version}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def content_digest(root: Path) -> str:
    """One digest of every file under `root` (path and bytes), bytecode caches and the marker left out."""
    digest = hashlib.sha256()
    for path in iter_files(root, skip=_DIGESTED):
        rel = path.relative_to(root).as_posix()
        if rel == MARKER or path.is_symlink():
            continue
        digest.update(rel.encode() + b"\0" + _sha256(path).encode() + b"\n")
    return digest.hexdigest()


def _intact(root: Path, expected_wheel: str) -> bool | None:
    """True when the unpacked tree is what was unpacked; False when it was changed; None when unknown."""
    marker = root / MARKER
    if not marker.is_file():
        return None
    try:
        data = json.loads(marker.read_text())
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("sha256") != expected_wheel or "content" not in data:
        return None
    return data["content"] == content_digest(root)


def _unpack(wheel: Path, staging: Path) -> None:
    """The wheel's `megatron/bridge/` files under `staging/src/`."""
    import zipfile

    try:
        with zipfile.ZipFile(wheel) as archive:
            members = [
                m for m in archive.namelist() if m.startswith("megatron/bridge/") and not m.endswith("/")
            ]
            for member in members:
                target = (staging / "src" / member).resolve()
                if not target.is_relative_to(staging.resolve()):
                    raise TreeFetchError(f"archive member escapes the tree: {member}", wheel)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(member))
    except zipfile.BadZipFile as exc:
        raise TreeFetchError(f"not a wheel: {exc}", wheel) from None


def _download(version: str, dest: Path) -> Path:
    import subprocess

    filename, _ = PINNED_WHEELS[version]
    cached = cache_dir() / "wheels" / filename
    if cached.is_file():
        return cached
    cmd = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
        "--python-version", "3.12", "--dest", str(dest), f"megatron-bridge=={version}",
    ]  # fmt: skip
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TreeFetchError(f"pip download failed: {exc}") from None
    wheel = dest / filename
    if proc.returncode != 0 or not wheel.is_file():
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise TreeFetchError(f"could not download megatron-bridge=={version}: {last}")
    cached.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(wheel, cached)
    return cached


def ensure_tree(version: str = PINNED_VERSION, wheel: Path | None = None) -> Path:
    """Return the unpacked, verified tree of `version`, downloading and unpacking it once.

    Every call checks the unpacked files against the digest taken when they were unpacked: a tree that
    was written into (a codemod applied without --dry-run, say) is unpacked again from the wheel, with
    a one-line warning, so the bundled default is always the pinned release.

    >>> root = ensure_tree()
    >>> (root / "src/megatron/bridge/models/qwen/qwen3_bridge.py").is_file()
    True
    """
    if version not in PINNED_WHEELS:
        raise TreeFetchError(
            f"no pinned hash for megatron-bridge {version}; known: {', '.join(PINNED_WHEELS)}"
        )
    import tempfile

    filename, expected = PINNED_WHEELS[version]
    root = tree_dir(version)
    state = _intact(root, expected)
    if state:
        return root
    if state is False:
        print(
            f"warning: {root}: the pinned tree was changed; unpacking it again from the wheel",
            file=sys.stderr,
        )
    with tempfile.TemporaryDirectory(prefix="bridgesmith-") as tmp:
        path = wheel or _download(version, Path(tmp))
        actual = _sha256(path)
        if actual != expected:
            raise TreeFetchError(f"hash mismatch: expected {expected}, got {actual}", path)
        # unpacked beside its final place, so that moving it there is one rename: a second fetch running at
        # the same time (tox's environments in parallel) either finds the tree whole or renames its own
        root.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{root.name}-", dir=root.parent))
        try:
            _unpack(path, staging)
            content = content_digest(staging)
            marker = {"version": version, "wheel": filename, "sha256": actual, "content": content}
            (staging / MARKER).write_text(json.dumps(marker))
            if _intact(root, expected):  # another fetch finished meanwhile
                return root
            if root.exists():
                shutil.rmtree(root)
            try:
                os.rename(staging, root)
            except OSError:
                if not _intact(root, expected):
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return root
