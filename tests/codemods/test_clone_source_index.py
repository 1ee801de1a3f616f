"""clone-family reads the tree through one SourceIndex per run: each file read once, each parse made once,
the bridge module's parse the catalog's."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzers.catalog import build_catalog
from analyzers.catalog.build import PARAM_MAPPING
from analyzers.catalog.modules import indexed_module
from analyzers.repo import find_repo
from analyzers.source_index import SourceIndex
from codemods.clone_family import CloneRequest, plan_clone
from codemods.plan import ChangeContents, CreateFile
from tests.counting_index import CountingIndex

BRIDGE = "src/megatron/bridge/models/qwen/qwen3_bridge.py"
#: text a stage gets when it reads a tree file from disk instead of the run's index
POISON = 'raise RuntimeError("read outside the run source index")\n'


def _written(result) -> dict[str, tuple[str | None, str]]:
    """path -> (text before, text after) of every file the plan creates or edits."""
    out: dict[str, tuple[str | None, str]] = {}
    for change in result.plan.items:
        if isinstance(change, CreateFile):
            out[change.path] = (None, change.contents)
        elif isinstance(change, ChangeContents):
            out[change.path] = (change.old, change.new)
    return out


def test_a_clone_reads_each_tree_file_through_the_run_index_once(
    writable_checkout: Path, checkout: Path
) -> None:
    root = find_repo(writable_checkout).root
    index = CountingIndex(root)
    # jobs=1: the catalog extracts every module in this process, through the run's index
    catalog = build_catalog(root, use_cache=False, jobs=1, index=index)
    bridge = indexed_module(index, BRIDGE)
    assert index.parses[("info", BRIDGE)] == 1
    # The run's view of every file, taken now; then every file on disk but the ruff configuration is
    # overwritten: a stage that reads a file from disk instead of the index writes (or fails on) the poison.
    listed = [rel for rel in index.files("", ("",)) if not rel.endswith(".toml")]
    for rel in listed:
        assert index.data(rel) is not None
        (root / rel).write_text(POISON)

    result = plan_clone(root, CloneRequest("qwen3", "qwen4"), catalog=catalog, index=index)

    clean = plan_clone(checkout, CloneRequest("qwen3", "qwen4"), catalog=build_catalog(checkout))
    written = _written(result)
    assert written == _written(clean)
    assert not any(POISON in after for _, after in written.values())
    assert written["src/megatron/bridge/models/qwen/qwen4_bridge.py"][1].count("class Qwen4Bridge(") == 1
    # no file parsed twice in one way; the clone's parse of SRC's bridge is the one the catalog made
    assert set(index.parses.values()) == {1}
    assert indexed_module(index, BRIDGE) is bridge
    assert index.parses[("info", BRIDGE)] == 1
    # SRC's modules the clone renames were parsed in the index (not on their own)
    cloned = {old for old in result.files.values() if old and old.startswith("src/") and old.endswith(".py")}
    assert cloned and cloned <= {rel for kind, rel in index.parses if kind == "info"}


def test_plan_clone_builds_its_catalog_through_the_run_index(writable_checkout: Path, tmp_path: Path) -> None:
    root = find_repo(writable_checkout).root
    index = CountingIndex(root)
    result = plan_clone(root, CloneRequest("qwen3", "qwen4"), index=index)
    assert result.source.bridge.path == BRIDGE and result.plan.items
    # a new tree, so a cold build: it reads the shared mapping module (no stage does) through the index
    assert ("info", PARAM_MAPPING) in index.parses
    assert set(index.parses.values()) == {1}
    with pytest.raises(ValueError, match="source index is over"):
        plan_clone(root, CloneRequest("qwen3", "qwen4"), index=SourceIndex(tmp_path))
