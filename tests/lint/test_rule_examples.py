"""Every VALID and INVALID example of every rule, as a test (Fixit style): run the rule on a mini tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzers.lint.config import LintConfig
from analyzers.lint.engine import ALL_RULES, BY_CODE, lint_tree
from analyzers.lint.fixes import compute_fixes
from analyzers.lint.rule import Invalid
from tests.lint.conftest import write_tree

VALID = [
    pytest.param(rule, ex, id=f"{rule.CODE}-valid-{i}")
    for rule in ALL_RULES
    for i, ex in enumerate(rule.VALID)
]
INVALID = [
    pytest.param(rule, ex, id=f"{rule.CODE}-invalid-{i}")
    for rule in ALL_RULES
    for i, ex in enumerate(rule.INVALID)
]


def _lint(root: Path, code: str):
    extra = list(BY_CODE[code].EXAMPLE_SELECT)
    return lint_tree(root, LintConfig(select=[code, *extra]), use_cache=False)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGESMITH_CACHE", str(tmp_path / "cache"))


def test_every_rule_has_examples_and_docs() -> None:
    codes = [r.CODE for r in ALL_RULES]
    assert len(codes) == len(set(codes))
    for rule in ALL_RULES:
        doc = rule.__doc__ or ""
        assert "## What it does" in doc and "## Why is this bad?" in doc, rule.CODE
        assert rule.VALID and rule.INVALID, rule.CODE
        module = rule.__module__.rsplit(".", 1)[-1]
        assert module.startswith(rule.CODE.lower() + "_"), module


@pytest.mark.parametrize(("rule", "example"), VALID)
def test_valid(rule, example, tmp_path: Path) -> None:
    write_tree(tmp_path / "tree", example, rule.EXAMPLE_PATH)
    result = _lint(tmp_path / "tree", rule.CODE)
    assert [f for f in result.findings if f.code == rule.CODE] == []


@pytest.mark.parametrize(("rule", "example"), INVALID)
def test_invalid(rule, example: Invalid, tmp_path: Path) -> None:
    root = tmp_path / "tree"
    overlay = write_tree(root, example.code, rule.EXAMPLE_PATH, example.tree)
    found = [f for f in _lint(root, rule.CODE).findings if f.code == rule.CODE]
    assert found, f"{rule.CODE} found nothing"
    if example.expected_lines:
        assert sorted(f.location.line for f in found) == sorted(example.expected_lines)
    if example.expected_message:
        assert any(example.expected_message in f.message for f in found), [f.message for f in found]
    if example.expected_replacement is not None:
        expected = example.expected_replacement
        if isinstance(expected, str):
            expected = {rule.EXAMPLE_PATH if isinstance(example.code, str) else next(iter(overlay)): expected}
        # Unformatted: the mini trees have no ruff configuration of their own to format with.
        fixes = compute_fixes(root, found, fmt=False)
        assert not fixes.failures
        fixes.write()
        for rel, text in expected.items():
            assert (root / rel).read_text(encoding="utf-8") == text
        assert not [f for f in _lint(root, rule.CODE).findings if f.code == rule.CODE and f.fixable]
