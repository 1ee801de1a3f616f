"""Catalog speed: cold and warm whole-tree catalog against `ruff check --no-cache` of the same tree, same run.

    python bench/catalog_speed.py [--repo PATH] [--repeat 3]

Each figure is the best of `--repeat` runs of a fresh process (start-up included), so it is what a user waits for.
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


def user_env() -> dict[str, str]:
    """The environment a user runs in: bytecode caches written and used (CI and sandboxes often turn them off)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=None, help="tree to catalog (default: the pinned wheel tree)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.repo is None:
        from analyzers.realtree import ensure_tree

        args.repo = str(ensure_tree())
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    src = str(Path(args.repo) / "src/megatron/bridge")
    catalog_cmd = [sys.executable, "-m", "analyzers", "catalog", "--repo", args.repo, "--format", "json"]
    table_cmd = catalog_cmd[:-1] + ["table"]
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        env = {**user_env(), "BRIDGESMITH_CACHE": cache}
        cold, warm, warm_table, ruffs = [], [], [], []
        for _ in range(args.repeat):
            shutil.rmtree(Path(cache) / "catalog", ignore_errors=True)
            cold.append(timed(catalog_cmd, env))
            warm.append(timed(catalog_cmd, env))
            warm_table.append(timed(table_cmd, env))
            ruffs.append(
                timed([ruff, "check", "--no-cache", "--select", "E,F", "--exit-zero", "--quiet", src], env)
            )
        size = len(subprocess.run(catalog_cmd, check=True, capture_output=True, env=env).stdout)
    rows = [
        ("catalog, cold (no cache), --format json", min(cold)),
        ("catalog, warm (cache hit), --format table", min(warm_table)),
        (f"catalog, warm (cache hit), --format json ({size / 1e6:.1f} MB)", min(warm)),
        ("ruff check --no-cache --select E,F", min(ruffs)),
    ]
    print(f"tree: {args.repo}  cores: {os.cpu_count()}  best of {args.repeat}")
    print("| what | seconds | vs ruff |")
    print("|---|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.2f} | {seconds / min(ruffs):.1f}x |")
    print(
        f"(medians: cold {statistics.median(cold):.2f} s, warm table {statistics.median(warm_table):.2f} s, "
        f"warm json {statistics.median(warm):.2f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
