"""Reconstruction benchmark: rebuild existing bridges by cloning the model each was plausibly derived from, then
compare the generated bridge with the real one (statically, through the catalog).

    python bench/clone_reconstruct.py

For each case, clone-family SRC runs on a copy of the pinned tree under a throw-away name; the catalog then
evaluates the generated bridge's registry and provider attributes, which are compared with the real target's:
precision and recall of the (megatron_param, hf_param) pairs and of the (attribute, value) provider settings.
The target's config is passed as `--config` when the case names one (names come from flags so nothing clashes);
the mapping blocks are then fitted to the target's HF checkpoint names, with the target left out of the learned
vocabulary.
Prints a markdown table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analyzers.catalog import build_catalog  # noqa: E402
from analyzers.realtree import ensure_tree  # noqa: E402
from bench.bridge_compare import pairs, pr, provider_pairs  # noqa: E402
from codemods.clone_family import CloneRequest, plan_clone  # noqa: E402
from tests.conftest import make_checkout  # noqa: E402

#: (target bridge, plausible source, target config under fixtures/configs)
CASES = [
    ("Qwen3Bridge", "qwen2", "qwen3-8b"),
    ("Qwen2Bridge", "llama", "qwen2.5-7b-instruct"),
    ("LlamaBridge", "mistral", "llama-3.1-8b"),
    ("Qwen3MoEBridge", "qwen3", "qwen3-30b-a3b"),
    ("Qwen3NextBridge", "qwen3_moe", "qwen3-next-80b-a3b-instruct"),
    ("GPTOSSBridge", "qwen3_moe", "gpt-oss-20b"),
    ("DeepSeekV3Bridge", "deepseek_v2", "deepseek-v3"),
    ("Qwen3VLBridge", "qwen25_vl", "qwen3-vl-8b-instruct"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tree = make_checkout(ensure_tree(), Path(tmp) / "tree")
        catalog = build_catalog(tree)
        for i, (target, src, config) in enumerate(CASES):
            real = catalog.bridge(target)
            if real is None:
                rows.append((target, src, "target missing", *([None] * 4)))
                continue
            stem = f"bsclone{i}"
            request = CloneRequest(
                src,
                stem,
                model_type=stem,
                hf_class=f"Bsclone{i}ForCausalLM",
                class_prefix=f"Bsclone{i}",
                config=str(ROOT / "fixtures/configs" / config / "config.json"),
                exclude_teachers=(target,),  # leave-one-out: the target's own registry teaches nothing
            )
            t0 = time.perf_counter()
            result = plan_clone(tree, request, catalog=catalog)
            result.plan.apply()
            seconds = time.perf_counter() - t0
            try:
                after = build_catalog(tree)
                generated = after.bridge(result.names.bridge_class)
                assert generated is not None, result.names.bridge_class
                p_map, r_map = pr(pairs(generated), pairs(real))
                p_att, r_att = pr(provider_pairs(generated), provider_pairs(real))
            finally:
                result.plan.undo()
            rows.append((target, src, config, p_map, r_map, p_att, r_att, seconds))
    print("| target | cloned from | config | mapping P | mapping R | provider P | provider R | clone s |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for target, src, config, *nums in rows:
        if nums[0] is None:
            print(f"| {target} | {src} | {config} | - | - | - | - | - |")
            continue
        p_map, r_map, p_att, r_att, seconds = nums
        print(
            f"| {target} | {src} | {config} | {p_map:.2f} | {r_map:.2f} | {p_att:.2f} | {r_att:.2f} | {seconds:.1f} |"
        )
    print(
        "\nThe clone copies SRC's registry renamed; --config sets the provider attributes the config decides and fits the"
        " mapping blocks to the target's HF checkpoint names (drops, additions from the vocabulary without the target)."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
