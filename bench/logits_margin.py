"""The margin between correct and planted-wrong bridges in the logits check, fp32 and (on CUDA) bf16.

    python bench/logits_margin.py --device cpu  --out bench/results/logits_margin_cpu.md
    python bench/logits_margin.py --device cuda --out bench/results/logits_margin_gpu.md

Correct: the registered bridges of a few families. Wrong: tests/smoke/planted_bridges.py (one wrong
provider setting each, a bit-exact roundtrip all the same). Each case runs in its own process; the table
gives max and mean |HF - Megatron| relative to max(1, max |logit|), and the ratio of the smallest wrong
to the largest correct figure: the margin the tolerance sits in.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from codemods.smoke import SmokeOptions, run_smoke_subprocess  # noqa: E402
from tests.smoke.test_planted_defects import PLANTED  # noqa: E402

CORRECT = ("llama", "mistral", "qwen2", "qwen3", "qwen3_moe", "deepseek_v3", "ernie4_5_moe", "glm4_moe_lite")


def figures(report, name: str) -> dict | None:
    check = next((c for c in report.checks if c.name == name), None)
    if check is None or "max_abs_diff" not in check.details:
        return None
    scale = max(1.0, check.details["max_abs_logit"])
    return {"max": check.details["max_abs_diff"] / scale, "mean": check.details["mean_abs_diff"] / scale}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    cases = [(m, "correct", m, None) for m in CORRECT]
    cases += [
        (name, "wrong", model, f"tests.smoke.planted_bridges:{name}") for name, model in PLANTED.items()
    ]
    logs = Path(tempfile.mkdtemp(prefix="bridgesmith-margin-"))

    def one(case):
        label, kind, model, bridge = case
        report = run_smoke_subprocess(
            SmokeOptions(model=model, bridge=bridge, device=args.device), logs / f"{label}.log"
        )
        return label, kind, report

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(one, cases))
    lines = [
        f"# Logits margin, {args.device}",
        "",
        "Relative to max(1, max |HF logit|). Command: `python bench/logits_margin.py --device "
        f"{args.device}`. fp32 is the verdict (tolerance 1e-4); bf16 (CUDA) is information only.",
        "",
        "| case | kind | fp32 max | fp32 mean | bf16 max | bf16 mean | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    worst = {"correct": {}, "wrong": {}}
    for label, kind, report in results:
        fp32, bf16 = figures(report, "logits"), figures(report, "logits_bf16")
        for dtype, fig in (("fp32", fp32), ("bf16", bf16)):
            for stat in ("max", "mean"):
                if fig is None:
                    continue
                key = (dtype, stat)
                pick = max if kind == "correct" else min
                worst[kind][key] = pick(worst[kind].get(key, fig[stat]), fig[stat])

        def cell(fig, stat):
            return f"{fig[stat]:.2e}" if fig else "-"

        verdict = "PASS" if report.passed else ("FAIL" if not report.error else f"ERROR {report.error[:60]}")
        lines.append(
            f"| {label} | {kind} | {cell(fp32, 'max')} | {cell(fp32, 'mean')} | {cell(bf16, 'max')} | "
            f"{cell(bf16, 'mean')} | {verdict} |"
        )
    lines += [
        "",
        "| figure | largest correct | smallest wrong | margin (wrong / correct) |",
        "|---|---|---|---|",
    ]
    for key in sorted(worst["correct"]):
        if key in worst["wrong"]:
            c, w = worst["correct"][key], worst["wrong"][key]
            lines.append(f"| {key[0]} {key[1]} | {c:.2e} | {w:.2e} | {w / c:.3g}x |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
