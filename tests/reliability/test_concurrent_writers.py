"""Two clones at once: both registrations land (the CLI plans and applies under the tree lock, so the second
writer waits and plans on the first one's result), or one writer is refused with one line and writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT, make_checkout
from tests.reliability.conftest import snapshot

MODELS = "src/megatron/bridge/models"
ROUNDS = 3


def _clone(root: Path, cache: Path, dst: str) -> subprocess.Popen[str]:
    env = {**os.environ, "BRIDGESMITH_CACHE": str(cache), "BRIDGESMITH_LOCK_WAIT": "120"}
    # every file operation slowed: the two applies overlap unless the lock orders them
    return subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.fault_child", "none", "0", "0.02", "--"]
        + ["clone-family", "qwen3", dst, "--repo", str(root)],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_concurrent_clones_lose_no_registration(real_tree: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    for round_ in range(ROUNDS):
        root = make_checkout(real_tree, tmp_path / f"tree{round_}")
        before = snapshot(root)
        children = {dst: _clone(root, cache, dst) for dst in ("qwen4", "qwen5")}
        results = {dst: (c.wait(), c.stderr.read()) for dst, c in children.items()}
        family_init = (root / MODELS / "qwen" / "__init__.py").read_text()
        models_init = (root / MODELS / "__init__.py").read_text()
        codes = sorted(code for code, _ in results.values())
        assert codes in ([0, 0], [0, 2]), results
        for dst, (code, err) in results.items():
            cls = f"Qwen{dst[-1]}Bridge"
            bridge = root / MODELS / "qwen" / f"{dst}_bridge.py"
            if code == 0:
                assert cls in family_init and cls in models_init and bridge.is_file()
            else:
                assert err.count("\n") == 1 and err.startswith("error: ")
                assert "file changed since the plan was made" in err or "already exists" in err
                assert cls not in family_init and cls not in models_init and not bridge.exists()
        assert not any(".bridgesmith-" in p for p in snapshot(root))
        assert snapshot(root) != before
