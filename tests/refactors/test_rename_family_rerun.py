"""rename-family run again on its own result: an empty plan that says it is already done (the CLI: exit 0)."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemods.cli import main
from codemods.refactors.rename_family import plan_rename_family


def test_rerun_on_the_result_is_already_done(
    writable_checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = writable_checkout
    plan_rename_family(root, "olmoe", "olmo_moe").apply()
    again = plan_rename_family(root, "olmoe", "olmo_moe")
    assert again.is_empty() and "target already exists: family 'olmo_moe'" in again.nothing_to_do
    assert main(["rename-family", "olmoe", "olmo_moe", "--repo", str(root)]) == 0
    assert "nothing to do" in capsys.readouterr().out
