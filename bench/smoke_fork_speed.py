"""CPU smoke runs forked from one warm process vs each in a fresh process (imports included).

    python bench/smoke_fork_speed.py [--cases qwen3,llama,qwen2,qwen3_moe] [--runs 3]

Runs `python -m codemods smoke --all --cases ... --jobs 2` both ways, in turn (warm, fresh, warm, ...),
and prints each run's wall seconds, the medians and the fresh / warm ratio; the verdicts must agree.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from codemods.smoke._runner import FRESH_PROCESSES  # noqa: E402


def _sweep(cases: str, fresh: bool) -> tuple[float, str]:
    env = {k: v for k, v in os.environ.items() if k != FRESH_PROCESSES}
    if fresh:
        env[FRESH_PROCESSES] = "1"
    with tempfile.TemporaryDirectory(prefix="bridgesmith-fork-bench-") as logs:
        cmd = [
            sys.executable,
            "-m",
            "codemods",
            "smoke",
            "--all",
            "--cases",
            cases,
            "--jobs",
            "2",
            "--log-dir",
            logs,
        ]
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
    verdict = next(
        (line for line in reversed(done.stdout.splitlines()) if " pass, " in line), done.stdout[-200:]
    )
    return wall, verdict.split(" in ")[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="qwen3,llama,qwen2,qwen3_moe")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    walls: dict[bool, list[float]] = {False: [], True: []}
    verdicts: set[str] = set()
    for run in range(args.runs):
        for fresh in (False, True):
            wall, verdict = _sweep(args.cases, fresh)
            walls[fresh].append(wall)
            verdicts.add(verdict)
            print(f"run {run + 1} {'fresh' if fresh else 'warm '}: {wall:6.1f} s  {verdict}", flush=True)
    warm, fresh = statistics.median(walls[False]), statistics.median(walls[True])
    print(
        f"cases {args.cases}: warm fork median {warm:.1f} s, fresh processes {fresh:.1f} s, ratio {fresh / warm:.2f}x"
    )
    if len(verdicts) != 1:
        print(f"error: the verdicts differ: {sorted(verdicts)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
