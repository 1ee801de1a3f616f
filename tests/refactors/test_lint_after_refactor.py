"""After each refactor the project's own lint finds nothing new on the real tree (issue: "lint finds nothing new")."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from analyzers.catalog import build_catalog
from analyzers.lint.engine import lint_tree
from codemods.refactors import plan_move_module, plan_rename_family, plan_rename_param, plan_rename_symbol

#: the golden case whose before/ (tests, docs, examples naming Qwen3) the `tree` fixture lays over the real src
CASE = "rename_symbol_qwen3"


def finding_counts(root: Path) -> Counter:
    """Findings per rule code (messages name the renamed things, so codes are what must not grow)."""
    return Counter(f.code for f in lint_tree(root).findings)


@pytest.mark.parametrize(
    "make_plan",
    [
        pytest.param(
            lambda root: plan_rename_symbol(root, "Qwen3Bridge", "Qwen3TextBridge"), id="rename-symbol"
        ),
        pytest.param(
            lambda root: plan_move_module(
                root,
                "megatron.bridge.models.olmoe.olmoe_bridge",
                "megatron.bridge.models.olmoe.olmoe_hf_bridge",
            ),
            id="move-module",
        ),
        pytest.param(
            lambda root: plan_rename_param(
                root, build_catalog(root), "mtp.layers.*.mtp_model_layer.", "mtp.layers.*.transformer_layer."
            ),
            id="rename-param",
        ),
        pytest.param(lambda root: plan_rename_family(root, "olmoe", "olmo_moe"), id="rename-family"),
    ],
)
def test_refactor_adds_no_lint_finding(tree: Path, make_plan, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("BRIDGESMITH_CACHE", str(tmp_path / "cache"))
    before = finding_counts(tree)
    plan = make_plan(tree)
    assert not plan.is_empty()
    plan.apply()
    after = finding_counts(tree)
    new = after - before
    assert not new, f"new lint findings after the refactor: {dict(new)}"
