"""The stat-indexed tree scan: digests equal the contents, unchanged files are not re-read, edits are seen."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from analyzers.tree_snapshot import RACY_WINDOW_NS, StatIndex, TreeSnapshot

QWEN = "src/megatron/bridge/models/qwen"


def _is_py(rel: str) -> bool:
    return rel.endswith(".py")


def _copy_settled(real_tree: Path, root: Path) -> Path:
    """A copy of the real qwen family whose files were last modified well before the racy window."""
    shutil.copytree(real_tree / QWEN, root / QWEN)
    old = (os.stat(real_tree / QWEN).st_mtime_ns or 1) - 2 * RACY_WINDOW_NS
    for path in (root / QWEN).rglob("*"):
        os.utime(path, ns=(old, old))
    return root


def test_digests_are_the_contents_and_untracked_files_are_listed(real_tree: Path) -> None:
    snap = TreeSnapshot.scan(real_tree, ["src"], lambda rel: rel.startswith(QWEN + "/"))
    every = {
        p.relative_to(real_tree).as_posix()
        for p in (real_tree / "src").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert snap.paths == every
    assert set(snap.digests) == {p for p in every if p.startswith(QWEN + "/")}
    for rel in snap.digests:
        data = (real_tree / rel).read_bytes()
        assert snap.digests[rel] == hashlib.blake2b(data, digest_size=16).hexdigest()
        assert snap.data[rel] == data


def test_unchanged_files_come_from_the_index_and_an_edit_is_seen(real_tree: Path, tmp_path: Path) -> None:
    root = _copy_settled(real_tree, tmp_path / "tree")
    index_path = tmp_path / "index.pickle"
    index = StatIndex(index_path)
    first = TreeSnapshot.scan(root, ["src"], _is_py, index)
    assert first.reread == set(first.digests)  # nothing indexed yet
    index.save()
    second = TreeSnapshot.scan(root, ["src"], _is_py, StatIndex(index_path))
    assert second.reread == set() and second.digests == first.digests

    bridge = root / QWEN / "qwen3_bridge.py"
    bridge.write_text(bridge.read_text().replace("Qwen3", "Qwen9", 1))
    third = TreeSnapshot.scan(root, ["src"], _is_py, StatIndex(index_path))
    rel = f"{QWEN}/qwen3_bridge.py"
    assert third.reread == {rel}
    assert third.digests[rel] == hashlib.blake2b(bridge.read_bytes(), digest_size=16).hexdigest()
    assert third.digests[rel] != first.digests[rel]


def test_a_file_modified_in_the_racy_window_is_never_trusted(real_tree: Path, tmp_path: Path) -> None:
    """Two writes in one timestamp tick with the same size: the second must still be seen."""
    root = _copy_settled(real_tree, tmp_path / "tree")
    bridge = root / QWEN / "qwen3_bridge.py"
    original = bridge.read_text()
    bridge.write_text(original.replace("Qwen3", "QwenA", 1))
    stamp = bridge.stat().st_mtime_ns
    index = StatIndex(tmp_path / "index.pickle")
    before = TreeSnapshot.scan(root, ["src"], _is_py, index)
    index.save()
    bridge.write_text(original.replace("Qwen3", "QwenB", 1))  # same size
    os.utime(bridge, ns=(stamp, stamp))  # and the same mtime, as in one tick
    after = TreeSnapshot.scan(root, ["src"], _is_py, StatIndex(tmp_path / "index.pickle"))
    rel = f"{QWEN}/qwen3_bridge.py"
    assert after.digests[rel] != before.digests[rel]


def test_a_corrupt_index_is_ignored(real_tree: Path, tmp_path: Path) -> None:
    root = _copy_settled(real_tree, tmp_path / "tree")
    index_path = tmp_path / "index.pickle"
    index_path.write_bytes(b"not a pickle")
    snap = TreeSnapshot.scan(root, ["src"], _is_py, StatIndex(index_path))
    assert snap.reread == set(snap.digests) and snap.digests
