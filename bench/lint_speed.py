"""Lint speed against `ruff check --no-cache` on the same tree, in the same run (wall time, whole processes).

    python bench/lint_speed.py [--repo /tmp/mbfull] [--repeat 5]

Cases: ruff on src/megatron/bridge; lint cold (empty cache dir: catalog + rules + parse); lint warm
(cached results, unchanged tree); one changed bridge file given as an argument (pre-commit style,
after a code edit of that file). Prints medians in seconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
BRIDGE_FILE = "src/megatron/bridge/models/qwen/qwen3_bridge.py"


def user_env() -> dict[str, str]:
    """The environment a user runs in: bytecode caches written and used (CI and sandboxes often turn them off)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _time(cmd: list[str], cwd: Path, env: dict[str, str], before=None) -> float:
    if before:
        before()
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", default="/tmp/mbfull")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    repo = Path(args.repo).resolve()
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or "ruff"
    lint = [sys.executable, "-m", "analyzers", "lint", "--exit-zero"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "tree"
        shutil.copytree(repo, work, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", ".git"))
        env = {**user_env(), "BRIDGESMITH_CACHE": str(Path(tmp) / "cache"), "PYTHONPATH": str(PROJECT)}
        target = work / BRIDGE_FILE
        original = target.read_text()
        counter = iter(range(10**6))

        def clear_cache() -> None:
            shutil.rmtree(Path(tmp) / "cache", ignore_errors=True)

        def touch_file() -> None:
            # A code change (a new module-level statement), not only a comment: the bridge is re-read.
            target.write_text(original + f"\n_EDIT = {next(counter)}\n")

        rows = {
            "ruff check --no-cache src/megatron/bridge": [],
            "lint whole tree, cold (no cache)": [],
            "lint whole tree, warm": [],
            "lint one changed bridge file": [],
        }
        for _ in range(args.repeat):
            rows["ruff check --no-cache src/megatron/bridge"].append(
                _time([ruff, "check", "--no-cache", "--exit-zero", "-q", "src/megatron/bridge"], work, env)
            )
            rows["lint whole tree, cold (no cache)"].append(_time(lint, work, env, clear_cache))
            rows["lint whole tree, warm"].append(_time(lint, work, env))
            rows["lint one changed bridge file"].append(_time([*lint, BRIDGE_FILE], work, env, touch_file))
            target.write_text(original)
            _time(lint, work, env)  # re-warm
    ruff_median = statistics.median(rows["ruff check --no-cache src/megatron/bridge"])
    print(f"tree: {repo}  cores: {os.cpu_count()}  repeats: {args.repeat}")
    for name, times in rows.items():
        med = statistics.median(times)
        print(f"{name:45s} median {med:6.3f} s  min {min(times):6.3f} s  ({med / ruff_median:4.1f}x ruff)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
