"""move-module on the real wheel tree plus our overlay; import styles as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzers.errors import PlanConflictError, ResolveError
from codemods.refactors.move_module import plan_move_module
from tests.refactors.conftest import assert_apply_undo, assert_golden

CASE = "move_module_qwen3_next"
SRC = "megatron.bridge.models.qwen.qwen3_next_bridge"
DST = "megatron.bridge.models.qwen3_next.qwen3_next_bridge"


def test_move_bridge_into_new_family_golden(tree: Path, update_golden: bool) -> None:
    plan = plan_move_module(tree, SRC, DST)
    assert_golden(plan, tree, CASE, update=update_golden)
    test = plan.current("tests/unit_tests/models/qwen/test_qwen3_next_bridge.py")
    # each import keeps its style: aliased plain import, from-package import of the module, from-import
    assert "import megatron.bridge.models.qwen3_next.qwen3_next_bridge as next_module\n" in test
    assert "from megatron.bridge.models.qwen3_next import qwen3_next_bridge\n" in test
    assert "from megatron.bridge.models.qwen3_next.qwen3_next_bridge import Qwen3NextBridge\n" in test
    # qwen3_bridge / qwen3_moe_bridge (prefix-sharing names) are untouched
    assert "qwen3_moe_bridge" not in "".join(
        line for line in plan.preview().splitlines(True) if line[:1] in "+-"
    )
    assert plan.current("src/megatron/bridge/models/qwen/qwen3_next_bridge.py") is None
    assert plan.current("src/megatron/bridge/models/qwen3_next/__init__.py").startswith("# Copyright")
    assert_apply_undo(plan, tree)


def test_move_by_path_equals_move_by_module(tree: Path) -> None:
    by_path = plan_move_module(
        tree,
        "src/megatron/bridge/models/qwen/qwen3_next_bridge.py",
        "src/megatron/bridge/models/qwen3_next/qwen3_next_bridge.py",
    )
    assert by_path.preview() == plan_move_module(tree, SRC, DST).preview()


def test_refuses_existing_target_and_missing_source(tree: Path) -> None:
    with pytest.raises(PlanConflictError, match="target already exists"):
        plan_move_module(tree, SRC, "megatron.bridge.models.qwen.qwen3_bridge")
    with pytest.raises(ResolveError, match="no module"):
        plan_move_module(tree, "megatron.bridge.models.qwen.nope_bridge", DST)
    with pytest.raises(ResolveError, match="is a package"):
        plan_move_module(tree, "src/megatron/bridge/models/qwen/__init__.py", DST)


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_relative_imports_stay_relative(tmp_path: Path) -> None:
    pkg = "src/megatron/bridge/models"
    _write(
        tmp_path,
        {
            f"{pkg}/__init__.py": "",
            f"{pkg}/fam/__init__.py": "from .fam_bridge import FamBridge\nfrom . import fam_bridge, other\n",
            f"{pkg}/fam/other.py": "X = 1\n",
            f"{pkg}/fam/fam_bridge.py": "from .other import X\nfrom ..common import helper\n\n\nclass FamBridge:\n    x = X\n",
            f"{pkg}/common.py": "def helper():\n    pass\n",
        },
    )
    plan = plan_move_module(
        tmp_path, "megatron.bridge.models.fam.fam_bridge", "megatron.bridge.models.newfam.bridge"
    )
    assert plan.current(f"{pkg}/fam/__init__.py") == (
        "from ..newfam.bridge import FamBridge\nfrom . import other\nfrom ..newfam import bridge as fam_bridge\n"
    )
    # the moved module's own relative imports are re-based on its new package
    assert plan.current(f"{pkg}/newfam/bridge.py").startswith(
        "from ..fam.other import X\nfrom ..common import helper\n"
    )
    assert plan.current(f"{pkg}/newfam/__init__.py") == ""
