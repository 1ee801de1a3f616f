"""One run's sources: the catalog build and the lint context share reads and parses through one SourceIndex."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from analyzers.catalog import build_catalog
from analyzers.catalog.build import scan_sources
from analyzers.catalog.modules import indexed_module
from analyzers.errors import ParseError
from analyzers.lint.engine import LintContext
from analyzers.repo import find_repo
from analyzers.source_index import SourceIndex
from codemods.refactors.rename_symbol import find_definitions
from tests.counting_index import CountingIndex

BRIDGE = "src/megatron/bridge/models/qwen/qwen3_bridge.py"


def test_a_module_the_catalog_extracted_is_the_one_the_rules_get(real_tree: Path) -> None:
    snapshot = scan_sources(real_tree, use_index=False)
    index = CountingIndex(real_tree, snapshot)
    # jobs=1: every file is extracted in this process, through the index
    catalog = build_catalog(real_tree, use_cache=False, jobs=1, snapshot=snapshot, index=index)
    assert index.parses[("info", BRIDGE)] == 1
    # every module the catalog extracts or its evaluator follows (utils/activation_map.py lies outside the
    # scanned folders), parsed once
    assert set(snapshot.digests) < {rel for _, rel in index.parses}
    assert set(index.parses.values()) == {1}
    ctx = LintContext(find_repo(real_tree), catalog, snapshot, index=index)
    assert ctx.module(BRIDGE) is indexed_module(index, BRIDGE)
    assert "Qwen3Bridge" in ctx.module(BRIDGE).classes
    assert index.parses[("info", BRIDGE)] == 1
    assert catalog.bridge("Qwen3Bridge").path == BRIDGE


def test_each_file_is_read_once_per_run_and_a_bad_one_fails_the_same_way_each_time(
    real_tree: Path, tmp_path: Path
) -> None:
    root = tmp_path / "tree"
    shutil.copytree(real_tree / "src/megatron/bridge/models/qwen", root / "src/megatron/bridge/models/qwen")
    index = SourceIndex(root)
    first = index.source(BRIDGE)
    (root / BRIDGE).write_text("changed on disk\n")
    assert index.source(BRIDGE) == first  # the run's view: read once
    assert index.ast(BRIDGE) is index.ast(BRIDGE)
    # the refactors search through the same index: they find the definition in the text the run read
    pattern = re.compile(r"\bQwen3Bridge\b")
    assert BRIDGE in index.mentioning(pattern, (".py",), "Qwen3Bridge", under="src")
    assert [d.path for d in find_definitions(root, "Qwen3Bridge", index=index)] == [BRIDGE]
    assert find_definitions(root, "Qwen3Bridge") == []  # a new run reads the changed file
    # a writer's view: newlines as Path.read_text reads them (the change set holds edits against that)
    crlf = "src/megatron/bridge/models/qwen/crlf.py"
    (root / crlf).write_bytes(b"x = 1\r\ny = 2\r")
    assert index.source(crlf) == "x = 1\r\ny = 2\r"
    assert index.source(crlf, universal=True) == (root / crlf).read_text(encoding="utf-8") == "x = 1\ny = 2\n"
    bad = "src/megatron/bridge/models/qwen/broken.py"
    (root / bad).write_bytes(b"x = '\xe9'\n")
    for _ in range(2):
        with pytest.raises(ParseError, match=r"cannot read: not UTF-8") as caught:
            indexed_module(index, bad)
        assert caught.value.path == bad


def test_the_cached_outline_leaves_the_runs_parse_whole(
    real_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build caches param_mapping.py stripped to its outline; the run's own parse (the lint's) stays whole."""
    import ast

    from analyzers.catalog.build import PARAM_MAPPING

    monkeypatch.setenv("BRIDGESMITH_CACHE", str(tmp_path / "cache"))
    index = SourceIndex(real_tree)
    build_catalog(real_tree, jobs=1, index=index)  # a cold cache: the outline is written

    def bodies(tree: ast.Module) -> int:
        return sum(
            len(item.body)
            for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef)
            for item in node.body
            if isinstance(item, ast.FunctionDef) and item.name != "__init__"
        )

    whole = ast.parse((real_tree / PARAM_MAPPING).read_text(encoding="utf-8"))
    assert bodies(indexed_module(index, PARAM_MAPPING).tree) == bodies(whole) > 100
