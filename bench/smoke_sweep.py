"""The conformance sweep as a benchmark: every registered bridge through the toy roundtrip, wall time
and per-case seconds, written as the matrix the README shows.

    python bench/smoke_sweep.py --device cpu --jobs 2 --out bench/results/smoke_matrix_cpu.md
    python bench/smoke_sweep.py --device cpu --jobs 2 --tp 2 --out bench/results/smoke_matrix_cpu_tp2.md
    python bench/smoke_sweep.py --device cuda --jobs 6 --out bench/results/smoke_matrix_gpu.md

Target (issue 12): on 2 cores the CPU sweep under 6 minutes; at least 22 of the 26 listed model types
pass every check, logits included.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The 26 model types issue 12 holds the sweep to.
TARGET = (
    "llama mistral qwen2 qwen3 qwen3_moe qwen3_next qwen3_5_text gemma gemma2 gemma3_text olmoe nemotron "
    "deepseek_v2 deepseek_v3 glm4_moe glm4_moe_lite gpt_oss exaone4 exaone_moe ernie4_5_moe minimax_m2 hy_v3 "
    "nemotron_h falcon_h1 deepseek_v4 glm_moe_dsa"
).split()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--tp", type=int, default=1)
    parser.add_argument("--ep", type=int, default=1)
    parser.add_argument("--cases", help="a subset (comma-separated), as smoke --cases")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--write-expected", type=Path, help="also write the matrix as CI's expected one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "matrix.json"
        cmd = [sys.executable, "-m", "codemods", "smoke", "--all", "--device", args.device]
        cmd += ["--jobs", str(args.jobs), "--tp", str(args.tp), "--ep", str(args.ep), "--report", str(report)]
        cmd += ["--format", "markdown"] + (["--cases", args.cases] if args.cases else [])
        if args.write_expected:
            cmd += ["--write-expected", str(args.write_expected.resolve())]
        started = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        if not report.is_file():
            print(proc.stderr[-2000:], file=sys.stderr)
            return 1
        data = json.loads(report.read_text())
    rows = {r["model_type"]: r for r in data["rows"]}
    target_pass = [m for m in TARGET if rows.get(m, {}).get("status") == "pass"]
    listed = [m for m in TARGET if m in rows]
    shown = (
        cmd[cmd.index("--device") : cmd.index("--report")]
        + cmd[cmd.index("--format") : cmd.index("--format") + 2]
    )
    command = " ".join(["python -m codemods smoke --all", *shown])
    lines = [
        f"# Smoke conformance matrix: {args.device}, TP={args.tp}, EP={args.ep}",
        "",
        f"`{command}`; versions: {', '.join(f'{k} {v}' for k, v in data.get('versions', {}).items())}.",
        "",
        f"Wall time of the whole sweep (start-up included): **{wall:.0f} s**. Of issue 12's 26 model types "
        f"({len(listed)} in this sweep), **{len(target_pass)} pass every check**: {', '.join(target_pass)}.",
        "",
        proc.stdout.strip(),
        "",
    ]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines[:5]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
