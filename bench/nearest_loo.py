"""Leave-one-out benchmark of `nearest`: hide a model's own bridge, check the ranking against a reasoned expectation.

Run: `python bench/nearest_loo.py [--repo PATH]` (default: the pinned wheel tree). Prints a markdown table.
Each case is a fixture config (fields of the published config.json); `expected` is the set of bridges a
maintainer could reasonably clone when the model's own bridge does not exist, with the reason.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analyzers.catalog import build_catalog  # noqa: E402
from analyzers.hf_config import load_spec  # noqa: E402
from analyzers.hf_names import NamesUnavailable, collect_hf_names  # noqa: E402
from analyzers.nearest import rank  # noqa: E402
from analyzers.realtree import ensure_tree  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[1] / "fixtures" / "configs"

#: fixture -> (hidden bridge, acceptable clones, why)
CASES: dict[str, tuple[str, set[str], str]] = {
    "qwen3-8b": ("Qwen3Bridge", {"Qwen2Bridge", "Qwen3MoEBridge", "Exaone4Bridge"},
                 "dense GQA + QK norm, no bias: same-vendor Qwen2/Qwen3-MoE, or Exaone4 (identical blocks)"),
    "qwen3-30b-a3b": ("Qwen3MoEBridge", {"OlMoEBridge", "Qwen3NextBridge", "Qwen35MoEBridge", "Qwen3Bridge"},
                      "per-expert MoE + QK norm, no shared experts: OlMoE, or a Qwen3 sibling"),
    "deepseek-v3": ("DeepSeekV3Bridge", {"DeepSeekV2Bridge", "KimiK2Bridge", "GLM47FlashBridge"},
                    "MLA + MoE with shared experts + MTP: DeepSeek-V2 or its clones"),
    "llama-3.1-8b": ("LlamaBridge", {"MistralBridge", "LlamaNemotronBridge"}, "plain dense GQA decoder"),
    "mistral-7b-v0.3": ("MistralBridge", {"LlamaBridge", "LlamaNemotronBridge"}, "plain dense GQA decoder"),
    "qwen2.5-7b-instruct": ("Qwen2Bridge", {"MimoBridge", "Qwen3Bridge", "LlamaBridge"},
                            "dense + QKV bias: MiMo inherits Qwen2's registry; else Qwen3/Llama plus bias"),
    "gemma-3-4b-it": ("Gemma3VLBridge", {"Gemma3ModelBridge", "Ministral3Bridge"},
                      "the Gemma3 text bridge for the LM, or a llava-style VLM bridge for the tower"),
    "qwen3-vl-8b-instruct": ("Qwen3VLBridge", {"Qwen3VLMoEBridge", "Qwen25VLBridge", "Qwen35VLBridge"},
                             "a Qwen VLM sibling (same visual tower naming)"),
    "gpt-oss-20b": ("GPTOSSBridge", {"GLM45Bridge", "Qwen3MoEBridge", "MiMoV2FlashBridge"},
                    "MoE + QKV bias + sliding window; no bridge has fused experts with sinks"),
    "nemotron-h-8b-base": ("NemotronHBridge", {"NemotronVLBridge", "FalconH1Bridge"},
                           "Mamba hybrid: the Nemotron-H VLM backbone, or Falcon-H1"),
    "qwen3-next-80b-a3b-instruct": ("Qwen3NextBridge", {"Qwen35MoEBridge", "Qwen35Bridge"},
                                    "gated delta net + MoE with shared experts: Qwen3.5"),
}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=None, help="Megatron-Bridge tree (default: the pinned wheel tree)")
    args = parser.parse_args(argv)
    catalog = build_catalog(Path(args.repo) if args.repo else ensure_tree())
    rows, top1, top3 = [], 0, 0
    start = time.monotonic()
    for fixture, (hidden, expected, why) in CASES.items():
        spec = load_spec(str(CONFIGS / fixture / "config.json"))
        try:
            names = collect_hf_names(spec).names
        except NamesUnavailable:
            names = None
        own = rank(spec, catalog, names, top=1)[0].bridge
        ranked = rank(spec, catalog, names, exclude=(hidden,), top=3)
        got = [c.bridge for c in ranked]
        hit1, hit3 = got[0] in expected, bool(set(got) & expected)
        top1, top3 = top1 + hit1, top3 + hit3
        shown = ", ".join(f"{c.bridge} {c.score:.2f}" for c in ranked)
        rows.append(f"| {fixture} | {hidden} (unhidden #1: {own}) | {', '.join(sorted(expected))} | {shown} | "
                    f"{'yes' if hit1 else 'no'} | {'yes' if hit3 else 'no'} | {why} |")  # fmt: skip
    print(
        "| config | hidden bridge | expected (any of) | top 3 with the bridge hidden | top-1 | top-3 | why |"
    )
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    n = len(CASES)
    print(f"\ntop-1 agreement {top1}/{n}, top-3 agreement {top3}/{n} "
          f"({time.monotonic() - start:.0f} s, catalog of {len(catalog.bridges)} bridges)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
