"""MBR013's shipped index of HF model types: current against the installed transformers, used without it."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzers.lint.config import LintConfig
from analyzers.lint.engine import lint_tree
from analyzers.rules._hf_model_types import INDEX_PATH, ModelTypes, build_index, render_index, shipped_index
from analyzers.transformers_source import transformers_dir


@pytest.mark.hf
def test_shipped_index_is_current_with_installed_transformers() -> None:
    tdir = transformers_dir()
    assert tdir is not None, "the hf environment has transformers"
    fresh = build_index(tdir)
    assert render_index(fresh) == INDEX_PATH.read_text(encoding="utf-8"), (
        f"{INDEX_PATH.name} is stale: run `python -m analyzers.rules._hf_model_types`"
    )


@pytest.mark.hf
def test_index_and_installed_transformers_agree_on_the_real_tree(real_catalog) -> None:
    installed = ModelTypes()
    assert installed.tdir is not None
    index = shipped_index()["classes"]
    sources = {r.source for b in real_catalog.bridges for r in b.registrations if r.source and r.model_type}
    assert len(sources) > 40
    for source in sorted(sources):
        assert installed.of(source) == (set(index[source]) if source in index else None), source


def test_mbr013_runs_from_the_index_without_transformers(real_tree: Path) -> None:
    types = ModelTypes()
    if types.tdir is None:
        assert types.origin.endswith("(shipped index)")
    assert types.of("Qwen3ForCausalLM") == {"qwen3"}
    assert types.of("NotInTransformersForCausalLM") is None
    result = lint_tree(real_tree, LintConfig(select=["MBR013"]), use_cache=False)
    assert any("gemma3_vl" in f.message for f in result.findings)
    assert not any("MBR013" in n for n in result.notes)


def test_mbr013_examples_hold_without_transformers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where transformers is absent (the pre-commit hook's environment) `MBR013-invalid-0` is still found,
    from the shipped index: the rule runs there instead of failing or being skipped."""
    from analyzers.rules import _hf_model_types
    from analyzers.rules.mbr013_model_type_differs_from_hf_config import ModelTypeDiffersFromHfConfig as rule
    from tests.lint.conftest import write_tree

    monkeypatch.setattr(_hf_model_types, "transformers_dir", lambda: None)
    monkeypatch.setenv("BRIDGESMITH_CACHE", str(tmp_path / "cache"))
    for example, expected in [
        (rule.INVALID[0].code, list(rule.INVALID[0].expected_lines)),
        (rule.VALID[0], []),
    ]:
        root = tmp_path / f"tree{len(expected)}"
        write_tree(root, example, rule.EXAMPLE_PATH)
        result = lint_tree(root, LintConfig(select=["MBR013"]), use_cache=False)
        assert [f.location.line for f in result.findings if f.code == "MBR013"] == expected
        assert not result.warnings and not result.errors
