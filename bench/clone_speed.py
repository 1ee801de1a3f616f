"""clone-family speed: plan (dry run, full diff rendered) and apply of whole real families, on a checkout copy.

    python bench/clone_speed.py [--repeat 3] [--cases qwen3:qwen4,qwen3_vl:qwen4_vl]
                                [--config-cases qwen2:mymoe:qwen2_moe,...]

The catalog is built (and cached) once before timing, as a second command in the same tree finds it; each
figure is the best of `--repeat` runs. Target: under 3 s for plan + apply on a 2-core machine.

`--config-cases SRC:DST:MODEL_TYPE` times the whole command a user runs warm,
`python -m codemods clone-family SRC DST --config C --dry-run` in a fresh process (imports included),
where C is transformers' default config of MODEL_TYPE; one untimed run first fills the caches.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analyzers.catalog import build_catalog  # noqa: E402
from analyzers.realtree import ensure_tree  # noqa: E402
from codemods.clone_family import CloneRequest, plan_clone  # noqa: E402
from tests.conftest import make_checkout  # noqa: E402

DEFAULT_CASES = "qwen3:qwen4,qwen3_moe:qwen4_moe,qwen3_vl:qwen4_vl,gemma3_vl:gemma5_vl,deepseek_v3:deepseek_v5,olmoe:olmoe2"
DEFAULT_CONFIG_CASES = "qwen2:qwen2moex:qwen2_moe,llama:phi3x:phi3,mistral:granitex:granite"
PROJECT = Path(__file__).resolve().parents[1]


def time_config_cases(tree: Path, cases: str, repeat: int, tmp: Path) -> list[tuple[str, str, str, float]]:
    """Best wall time of `clone-family SRC DST --config C --dry-run` per case, each run a fresh process."""
    from transformers import AutoConfig

    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    rows = []
    for case in cases.split(","):
        src, dst, model_type = case.split(":")
        config = tmp / f"{model_type}.json"
        config.write_text(json.dumps(AutoConfig.for_model(model_type).to_dict(), default=str))
        cmd = [sys.executable, "-m", "codemods", "clone-family", src, dst, "--config", str(config),
               "--repo", str(tree), "--dry-run"]  # fmt: skip
        times = []
        for i in range(repeat + 1):
            t0 = time.perf_counter()
            subprocess.run(cmd, env=env, check=True, capture_output=True)
            if i:  # the first run fills the caches (a user's second command)
                times.append(time.perf_counter() - t0)
        rows.append((src, dst, model_type, min(times)))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cases", default=DEFAULT_CASES)
    parser.add_argument(
        "--config-cases", default=DEFAULT_CONFIG_CASES, help="SRC:DST:MODEL_TYPE,... ('' for none)"
    )
    args = parser.parse_args()
    config_rows: list[tuple[str, str, str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        tree = make_checkout(ensure_tree(), Path(tmp) / "tree")
        t0 = time.perf_counter()
        catalog = build_catalog(tree)
        cold = time.perf_counter() - t0
        rows = []
        for case in args.cases.split(","):
            src, dst = case.split(":")
            plan_s, apply_s, files, lines = [], [], 0, 0
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                result = plan_clone(tree, CloneRequest(src, dst), catalog=build_catalog(tree))
                diff = result.plan.preview()
                plan_s.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                result.plan.apply()
                apply_s.append(time.perf_counter() - t0)
                files, lines = len(result.plan.changes), diff.count("\n")
                result.plan.undo()
            rows.append((src, dst, files, lines, min(plan_s), min(apply_s)))
        if args.config_cases:
            config_rows = time_config_cases(tree, args.config_cases, args.repeat, Path(tmp))
    del catalog
    print(f"cores: {os.cpu_count()}, catalog of the copy (cold, once): {cold:.2f} s\n")
    print("| SRC -> DST | files | diff lines | plan + diff (s) | apply (s) | total (s) |")
    print("|---|---:|---:|---:|---:|---:|")
    for src, dst, files, lines, p, a in rows:
        print(f"| {src} -> {dst} | {files} | {lines} | {p:.2f} | {a:.3f} | {p + a:.2f} |")
    if config_rows:
        print("\n| clone-family SRC DST --config (transformers default of) --dry-run, warm | wall (s) |")
        print("|---|---:|")
        for src, dst, model_type, wall in config_rows:
            print(f"| {src} -> {dst} --config {model_type} | {wall:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
