"""Time the smoke test end to end (interpreter start-up included), one fresh process per case.

    python bench/smoke_time.py --device cuda --out DIR            # the standard GPU cases
    python bench/smoke_time.py --device cpu --out DIR             # the CI cases on CPU
    python bench/smoke_time.py --one qwen3 --device cuda ...      # one case (what the timer spawns)

Writes DIR/smoke_bench.json: per case the wall time, exit code and the full JSON report. Runs the
command module directly (not `python -m codemods`), so the GPU machine needs no libcst.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEQUANT_BRIDGE = "tests.smoke.dequant_bridge:Qwen3DequantBridge"

#: name -> (arguments, expected exit code)
CASES = {
    "qwen3": (["qwen3"], 0),
    "qwen3_moe": (["qwen3_moe"], 0),
    "qwen3_fp8_block_no_hook": (["qwen3", "--quantize", "fp8-block"], 1),
    "qwen3_fp8_block_dequant_bridge": (["qwen3", "--quantize", "fp8-block", "--bridge", DEQUANT_BRIDGE], 0),
    "deepseek_v3_fp8_block": (["deepseek_v3", "--quantize", "fp8-block"], 0),
    "qwen3_tp2": (["qwen3", "--tp", "2"], 0),
}
CPU_CASES = ("qwen3", "qwen3_moe", "qwen3_fp8_block_no_hook", "qwen3_fp8_block_dequant_bridge")


def run_one(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    from codemods.commands import smoke

    parser = argparse.ArgumentParser(prog="smoke")
    smoke.add_arguments(parser)
    return smoke.run(parser.parse_args(argv))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cuda")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--cases", nargs="*", help="case names (default: all that fit the device)")
    parser.add_argument("--one", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        return run_one(args.one + ["--device", args.device])
    gpus = 0
    if args.device == "cuda":
        import torch

        gpus = torch.cuda.device_count()
    names = args.cases or [n for n in CASES if (args.device == "cuda" or n in CPU_CASES)]
    args.out.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in names:
        case_args, expected = CASES[name]
        if "--tp" in case_args and gpus < int(case_args[case_args.index("--tp") + 1]):
            results[name] = {"skipped": f"needs {case_args[case_args.index('--tp') + 1]} GPUs, have {gpus}"}
            continue
        report = args.out / f"{name}.json"
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, __file__, "--device", args.device, "--one", *case_args, "--report", str(report)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        wall = time.perf_counter() - start
        data = json.loads(report.read_text()) if report.is_file() else None
        results[name] = {
            "wall_s": round(wall, 1),
            "exit": proc.returncode,
            "expected_exit": expected,
            "as_expected": proc.returncode == expected,
            "report": data,
            "output_tail": proc.stdout[-2500:],
        }
        summary = "\n".join(
            line for line in proc.stdout.splitlines() if line.startswith(("smoke ", "  ", "PASS", "FAIL"))
        )
        print(f"== {name}: exit {proc.returncode} (expected {expected}), {wall:.1f} s\n{summary}", flush=True)
    (args.out / "smoke_bench.json").write_text(json.dumps(results, indent=2, default=str))
    return 0 if all(r.get("as_expected", True) for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
