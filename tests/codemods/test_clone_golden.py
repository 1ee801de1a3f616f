"""clone-family golden diffs: each fixtures/clone_family/<case>/ holds the command line (`args`), an optional
`before/` overlay on the checkout-shaped tree, and `plan.diff`, the exact diff the plan would write (Megatron-Bridge sources as digests, `tests/golden.py`).

`pytest tests/codemods/test_clone_golden.py --update-golden` rewrites the diffs.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import shutil
from pathlib import Path

import pytest

from codemods.clone_family import CloneRequest, plan_clone
from codemods.commands.clone_family import add_arguments, request_from_args
from tests.conftest import FIXTURES, PROJECT, make_checkout
from tests.golden import check_golden, plan_golden

CASES = FIXTURES / "clone_family"
#: the license year the goldens are rendered with (a clone stamps the current year otherwise)
YEAR = 2026


def _case_params() -> list:
    params = []
    for case in sorted(p.name for p in CASES.iterdir() if (p / "args").is_file()):
        # --config reads the new model's HF parameter names through transformers
        marks = [pytest.mark.hf] if "--config" in (CASES / case / "args").read_text() else []
        params.append(pytest.param(case, marks=marks, id=case))
    return params


def _request(case: str) -> CloneRequest:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    request = request_from_args(parser.parse_args(shlex.split((CASES / case / "args").read_text())))
    if request.config is not None and (PROJECT / request.config).exists():
        request = dataclasses.replace(request, config=str(PROJECT / request.config))
    return request


def _tree(case: str, checkout: Path, real_tree: Path, dest: Path, *, writable: bool) -> Path:
    """The checkout-shaped tree with the case's `before/` overlay (the shared checkout when it has none)."""
    before = CASES / case / "before"
    if not writable and not before.is_dir():
        return checkout
    tree = make_checkout(real_tree, dest)
    if before.is_dir():
        shutil.copytree(before, tree, dirs_exist_ok=True)
    return tree


@pytest.mark.parametrize("case", _case_params())
def test_plan_is_the_golden_diff(
    case: str, checkout: Path, real_tree: Path, tmp_path: Path, update_golden: bool
) -> None:
    tree = _tree(case, checkout, real_tree, tmp_path / "tree", writable=False)
    result = plan_clone(tree, _request(case), year=YEAR)
    check_golden(plan_golden(result.plan), CASES / case / "plan.diff", update=update_golden)


@pytest.mark.parametrize("case", _case_params())
def test_rerun_on_the_result_plans_nothing(
    case: str, checkout: Path, real_tree: Path, tmp_path: Path
) -> None:
    tree = _tree(case, checkout, real_tree, tmp_path / "tree", writable=True)
    result = plan_clone(tree, _request(case), year=YEAR)
    result.plan.apply()
    again = plan_clone(tree, _request(case), year=YEAR)
    assert again.already_applied and again.plan.is_empty()
