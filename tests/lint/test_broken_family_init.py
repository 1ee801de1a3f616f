"""A family `__init__.py` that does not parse is one finding (MBR000) naming it, not one MBR001 per bridge."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def lint_json(tree: Path, cache: Path) -> list[dict]:
    out = subprocess.run(
        [sys.executable, "-m", "analyzers", "lint", "--repo", str(tree), "--format", "json", "--no-cache"],
        cwd=PROJECT, capture_output=True, text=True, check=False,
        env={"BRIDGESMITH_CACHE": str(cache), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert out.returncode in (0, 1), out.stderr
    return json.loads(out.stdout)["findings"]


def test_broken_family_init_is_one_parse_finding(writable_checkout: Path, tmp_path: Path) -> None:
    before = {(f["code"], f["filename"]) for f in lint_json(writable_checkout, tmp_path / "c1")}
    init = writable_checkout / "src/megatron/bridge/models/qwen/__init__.py"
    init.write_text(init.read_text() + "\ndef broken(:\n")
    after = lint_json(writable_checkout, tmp_path / "c2")
    new = [f for f in after if (f["code"], f["filename"]) not in before]
    rel = "src/megatron/bridge/models/qwen/__init__.py"
    assert [f["code"] for f in new if f["code"] == "MBR000"] == ["MBR000"]
    assert [f for f in new if f["code"] == "MBR001"] == []
    assert any(f["filename"] == rel for f in new if f["code"] == "MBR000")
