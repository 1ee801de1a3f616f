"""Lint configuration with ruff's semantics; the cases mirror the examples of ruff's documentation."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from analyzers.errors import ConfigError
from analyzers.lint.config import LintConfig, excluded_by, load_config, override, path_matches
from analyzers.lint.engine import ALL_RULES, lint_tree

DEFAULTS = {r.CODE: r.DEFAULT for r in ALL_RULES}


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        # ruff: `"__init__.py" = ["E402"]` ignores E402 in all `__init__.py` files
        ("__init__.py", "src/megatron/bridge/models/__init__.py", True),
        ("__init__.py", "__init__.py", True),
        # ruff: `"path/to/file.py" = ["E402"]`: that one file
        ("path/to/file.py", "path/to/file.py", True),
        ("path/to/file.py", "other/path/to/file.py", False),
        # `**/` stands for any folders, none included (the issue's `docs/parallelisms.md`)
        ("docs/**/*.md", "docs/parallelisms.md", True),
        ("docs/**/*.md", "docs/models/qwen/qwen3.md", True),
        ("docs/**/*.md", "src/docs/x.md", False),
        # ruff's `"!src/**.py"` (negation is handled by the config): `**` inside a name is `*`
        ("src/**.py", "src/megatron/bridge/models/qwen/qwen3_bridge.py", True),
        ("src/**.py", "docs/index.md", False),
        # globset's defaults: `*` also matches `/`; classes, alternatives
        ("src/megatron/bridge/models/*_bridge.py", "src/megatron/bridge/models/qwen/qwen3_bridge.py", True),
        ("*_bridge.py", "src/megatron/bridge/models/qwen/qwen3_bridge.py", True),
        ("qwen[23]_bridge.py", "src/megatron/bridge/models/qwen/qwen3_bridge.py", True),
        ("qwen[!23]_bridge.py", "src/megatron/bridge/models/qwen/qwen3_bridge.py", False),
        ("{gemma,qwen}/*.py", "qwen/qwen3_bridge.py", True),
        ("./src/megatron/bridge/__init__.py", "src/megatron/bridge/__init__.py", True),
    ],
)
def test_file_patterns_match_as_ruff(pattern: str, path: str, expected: bool) -> None:
    assert path_matches(pattern, path) is expected


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        # ruff's exclude docs: ".mypy_cache" excludes any folder of that name in the tree
        (".mypy_cache", "src/pkg/.mypy_cache/x.py", True),
        # "foo.py" any file named foo.py; "foo_*.py" any file matching it
        ("foo.py", "a/b/foo.py", True),
        ("foo_*.py", "a/foo_bar.py", True),
        # "directory/foo.py" that file; "directory/*.py" the Python files in directory
        ("directory/foo.py", "directory/foo.py", True),
        ("directory/foo.py", "x/directory/foo.py", False),
        ("directory/*.py", "directory/bar.py", True),
        # a folder excludes what is below it
        ("docs/archive", "docs/archive/old/page.md", True),
        ("docs/archive", "docs/archived.md", False),
    ],
)
def test_exclude_matches_files_and_folders_as_ruff(pattern: str, path: str, expected: bool) -> None:
    assert excluded_by(pattern, path) is expected


def _selected(config: LintConfig) -> set[str]:
    return config.selected(DEFAULTS)


def test_selection_follows_ruffs_documented_example() -> None:
    # ruff: select = ["E", "F"], ignore = ["F401"]; `--select F401` enforces F401 and nothing else;
    # `--extend-select B` enforces E, F and B except F401.
    base = LintConfig(select=["MBR00", "MBR01"], ignore=["MBR005"])
    assert _selected(override(base, select=["MBR005"])) == {"MBR005"}
    extended = _selected(override(base, extend_select=["MBR02"]))
    codes = {c for c in DEFAULTS if c.startswith(("MBR00", "MBR01", "MBR02"))} - {"MBR005"}
    assert extended == codes


def test_more_specific_selectors_win_and_ignore_wins_ties() -> None:
    assert _selected(LintConfig(select=["MBR005"], ignore=["MBR0"])) == {"MBR005"}
    assert "MBR005" not in _selected(LintConfig(select=["MBR0"], ignore=["MBR005"]))
    with pytest.raises(ConfigError, match="selection is empty"):
        _selected(LintConfig(select=["MBR005"], ignore=["MBR005"]))
    # --extend-ignore on the command line, as ruff's
    assert "MBR010" not in _selected(override(LintConfig(), extend_ignore=["MBR01"]))
    assert "MBR036" in _selected(override(LintConfig(), extend_select=["MBR036"]))


def test_config_keys_and_per_file_ignores_on_the_real_tree(real_tree: Path, tmp_path: Path) -> None:
    root = tmp_path / "tree"
    shutil.copytree(real_tree / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "pyproject.toml").write_text(
        "[tool.bridgesmith.lint]\n"
        'select = ["MBR005", "MBR010"]\n'
        'per-file-ignores = { "__init__.py" = ["MBR005"] }\n'
        'extend-exclude = ["mistral"]\n'
    )
    config = load_config(root)
    assert config.exclude == ["mistral"] and config.per_file_ignores == {"__init__.py": ["MBR005"]}
    found = lint_tree(root, config, use_cache=False).findings
    assert found and {f.code for f in found} == {"MBR010"}
    assert not any("/mistral/" in f.path for f in found)
    unfiltered = lint_tree(root, LintConfig(select=["MBR005", "MBR010"]), use_cache=False).findings
    assert any(f.code == "MBR005" for f in unfiltered) and any("/mistral/" in f.path for f in unfiltered)
    negated = LintConfig(select=["MBR005", "MBR010"], per_file_ignores={"!**/models/__init__.py": ["MBR"]})
    assert {f.path for f in lint_tree(root, negated, use_cache=False).findings} == {
        "src/megatron/bridge/models/__init__.py"
    }


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("exclude = 'docs'", "exclude must be a list of file patterns"),
        ("per-file-ignores = ['x']", "per-file-ignores must be a table"),
        ("baseline = 3", "baseline must be a file name"),
        ("colour = 1", "unknown key 'colour'"),
    ],
)
def test_malformed_keys_are_errors(tmp_path: Path, table: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.bridgesmith.lint]\n{table}\n")
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path)


def test_excluded_files_are_not_counted_as_checked(real_tree: Path, tmp_path: Path) -> None:
    # ruff with --force-exclude: a file named but excluded is not checked, and says so, exit 0.
    root = tmp_path / "tree"
    shutil.copytree(real_tree / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__"))
    config = LintConfig(exclude=["src/megatron/bridge/models/qwen"], source="pyproject.toml")
    qwen3 = "src/megatron/bridge/models/qwen/qwen3_bridge.py"
    only = lint_tree(root, config, paths=[qwen3], use_cache=False)
    assert only.findings == [] and only.files_checked == 0
    assert only.warnings == ["every file given is excluded (pyproject.toml: `exclude`): nothing was checked"]
    both = lint_tree(
        root, config, paths=[qwen3, "src/megatron/bridge/models/llama/llama_bridge.py"], use_cache=False
    )
    assert both.files_checked == 1 and both.warnings == []
    whole = lint_tree(root, config, use_cache=False)
    every = lint_tree(root, LintConfig(), use_cache=False)
    qwen_files = len(list((root / "src/megatron/bridge/models/qwen").rglob("*.py")))
    assert whole.files_checked == every.files_checked - qwen_files and qwen_files > 5
