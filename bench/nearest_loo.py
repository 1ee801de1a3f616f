"""Leave-one-out benchmark of `nearest`: hide a model's own bridge (or its whole family), check the ranking.

Cases: every registered bridge whose model type the installed transformers can build a default config
for (what `--from-transformers MODEL_TYPE` builds, enumerated by `bench/buildable.py`, shared with
`bench/synthesize_loo.py`), plus the fixture configs under `fixtures/configs/` (fields of published
config.json files). Each case is ranked twice: with its own bridge hidden (`--exclude BRIDGE`) and with
its whole family hidden (`--exclude FAMILY`). `EXPECT` holds, per hidden bridge, the clones a
Megatron-Bridge maintainer would start from in each variant, with a one-line reason.

    .venv/bin/python bench/nearest_loo.py [--repo PATH] [--out bench/results/nearest_loo.md]

Prints a markdown table and writes it to `--out` as well.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
import warnings
from contextlib import redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analyzers.catalog import build_catalog  # noqa: E402
from analyzers.catalog.records import Catalog  # noqa: E402
from analyzers.hf_config import ModelSpec, load_spec  # noqa: E402
from analyzers.hf_names import NamesUnavailable, collect_hf_names  # noqa: E402
from analyzers.nearest import model_blocks, rank  # noqa: E402
from analyzers.realtree import ensure_tree  # noqa: E402
from bench.buildable import find_buildable  # noqa: E402

CONFIGS = ROOT / "fixtures" / "configs"

#: fixture config -> its own bridge
FIXTURES = {
    "qwen3-8b": "Qwen3Bridge", "qwen3-30b-a3b": "Qwen3MoEBridge", "deepseek-v3": "DeepSeekV3Bridge",
    "llama-3.1-8b": "LlamaBridge", "mistral-7b-v0.3": "MistralBridge", "qwen2.5-7b-instruct": "Qwen2Bridge",
    "gemma-3-4b-it": "Gemma3VLBridge", "qwen3-vl-8b-instruct": "Qwen3VLBridge", "gpt-oss-20b": "GPTOSSBridge",
    "nemotron-h-8b-base": "NemotronHBridge", "qwen3-next-80b-a3b-instruct": "Qwen3NextBridge",
}  # fmt: skip

#: hidden bridge -> (first choices with the bridge hidden, first choices outside its family, why)
EXPECT: dict[str, tuple[set[str], set[str], str]] = {
    "DeepSeekV2Bridge": ({"DeepSeekV3Bridge", "KimiK2Bridge", "GLM47FlashBridge"}, {"KimiK2Bridge", "GLM47FlashBridge", "SarvamMLABridge"},
                         "MLA + MoE with shared experts: DeepSeek-V3, or its MLA clones outside the family"),
    "DeepSeekV3Bridge": ({"DeepSeekV2Bridge", "KimiK2Bridge", "GLM47FlashBridge"}, {"KimiK2Bridge", "GLM47FlashBridge", "SarvamMLABridge", "GLM5Bridge"},
                         "MLA + MoE with shared experts + MTP: DeepSeek-V2, or a DeepSeek-V3 clone (Kimi K2, GLM MLA models)"),
    "DeepSeekV4Bridge": ({"DeepSeekV3Bridge", "DeepSeekV2Bridge"}, {"GLM5Bridge", "KimiK2Bridge", "GLM47FlashBridge"},
                         "same lineage (MoE + shared experts + MTP, MLA-style q LoRA); else a DeepSeek-V3 clone, GLM-5 for the sparse-attention indexer"),
    "Ernie45Bridge": ({"Ernie45VLBridge", "GLM45Bridge", "DeepSeekV3Bridge"}, {"Ernie45VLBridge", "GLM45Bridge", "DeepSeekV3Bridge"},
                      "GQA + MoE with shared experts and leading dense layers: the Ernie VLM's text stack, or GLM-4.5 / DeepSeek-V3's MoE layout"),
    "Ernie45VLBridge": ({"Ernie45Bridge"}, {"Ernie45Bridge"}, "the bridge of its own LLM (same MoE text stack); the vision experts are new either way"),
    "Exaone4Bridge": ({"Qwen3Bridge", "Gemma3ModelBridge", "ExaoneMoeBridge"}, {"Qwen3Bridge", "Gemma3ModelBridge"},
                      "dense + QK norm + hybrid sliding window + post-norms: the EXAONE MoE sibling, Qwen3 (QK norm) or Gemma3 (all three)"),
    "Exaone45Bridge": ({"Exaone4Bridge", "Qwen3VLBridge", "Qwen25VLBridge"}, {"Qwen3VLBridge", "Qwen25VLBridge", "Qwen35VLBridge"},
                       "its LLM's bridge (EXAONE 4), or a Qwen VLM for the visual tower"),
    "ExaoneMoeBridge": ({"Exaone4Bridge", "HYV3Bridge", "Qwen3MoEBridge"}, {"HYV3Bridge", "Qwen3MoEBridge", "Qwen3NextBridge"},
                        "MoE with shared experts + QK norm + MTP: the dense EXAONE 4 sibling, or HY-V3 (same blocks) / Qwen3-MoE"),
    "FalconH1Bridge": ({"NemotronHBridge"}, {"NemotronHBridge"}, "the only other Mamba hybrid (Mamba mixers, hybrid layer pattern, Mamba model target)"),
    "Gemma2Bridge": ({"Gemma3ModelBridge", "GemmaBridge"}, {"MistralBridge", "LlamaBridge"},
                     "same family (softcapping, sandwich norms, GeGLU, tied); outside it a plain dense GQA decoder with sliding window"),
    "Gemma3ModelBridge": ({"Gemma2Bridge", "Gemma4Bridge"}, {"Qwen3Bridge", "Exaone4Bridge"},
                          "Gemma2 + QK norm; outside the family a QK-norm dense decoder (Qwen3, EXAONE 4)"),
    "Gemma4Bridge": ({"Gemma3ModelBridge"}, {"Qwen3Bridge", "Exaone4Bridge"}, "Gemma3's text stack is its direct ancestor"),
    "GemmaBridge": ({"LlamaBridge", "Gemma2Bridge"}, {"LlamaBridge", "MistralBridge"},
                    "Gemma 1 is a Llama decoder with GeGLU, tied embeddings and (1+w) norms; or the Gemma2 sibling"),
    "Gemma3VLBridge": ({"Gemma4VLBridge", "Gemma3ModelBridge", "Ministral3Bridge"}, {"Gemma3ModelBridge", "Ministral3Bridge"},
                       "its LLM's bridge (Gemma3 text) or a llava-layout VLM (vision_tower + multi_modal_projector + language_model)"),
    "Gemma4VLBridge": ({"Gemma4Bridge", "Gemma3VLBridge"}, {"Gemma4Bridge"}, "its LLM's bridge (Gemma4 text) or the Gemma3 VLM"),
    "GLM45Bridge": ({"GLM47FlashBridge", "DeepSeekV3Bridge", "Qwen3MoEBridge"}, {"DeepSeekV3Bridge", "DeepSeekV2Bridge", "Qwen3MoEBridge"},
                    "DeepSeek-V3's MoE (sigmoid router, shared expert, dense prefix, MTP) on GQA attention: the GLM sibling, DeepSeek-V3 or Qwen3-MoE"),
    "GLM47FlashBridge": ({"DeepSeekV3Bridge", "DeepSeekV2Bridge", "KimiK2Bridge", "GLM45Bridge"}, {"DeepSeekV3Bridge", "DeepSeekV2Bridge", "KimiK2Bridge"},
                         "GLM MoE on MLA attention: a DeepSeek-V3 clone or the GLM-4.5 sibling"),
    "GLM5Bridge": ({"GLM47FlashBridge", "DeepSeekV3Bridge"}, {"GLM47FlashBridge", "DeepSeekV3Bridge", "DeepSeekV2Bridge", "KimiK2Bridge"},
                   "MLA + MoE + sparse-attention indexer: GLM-4.7-Flash (MLA GLM) or DeepSeek-V3"),
    "GLM45VBridge": ({"GLM45Bridge", "Qwen3VLMoEBridge", "Qwen25VLBridge"}, {"GLM45Bridge", "Qwen3VLMoEBridge", "Qwen25VLBridge"},
                     "its LLM's bridge (GLM-4.5-Air) or a Qwen VLM (its vision tower descends from Qwen2.5-VL's)"),
    "GPTOSSBridge": ({"GLM45Bridge", "Qwen3MoEBridge", "MiMoV2FlashBridge"}, {"GLM45Bridge", "Qwen3MoEBridge", "MiMoV2FlashBridge"},
                     "MoE + QKV bias + sliding window; no bridge has fused experts with sinks"),
    "HYV3Bridge": ({"ExaoneMoeBridge", "Qwen3MoEBridge"}, {"ExaoneMoeBridge", "Qwen3MoEBridge"},
                   "MoE with shared experts + QK norm + MTP: EXAONE-MoE has the same blocks, Qwen3-MoE the QK-norm MoE"),
    "LlamaBridge": ({"MistralBridge", "LlamaNemotronBridge"}, {"MistralBridge", "LlamaNemotronBridge"},
                    "plain dense GQA decoder: Mistral, or Llama-Nemotron (a Llama derivative)"),
    "MiniMaxM2Bridge": ({"Qwen3MoEBridge", "OlMoEBridge"}, {"Qwen3MoEBridge", "OlMoEBridge"}, "MoE + QK norm, no shared experts"),
    "MiniMaxM3Bridge": ({"MiniMaxM2Bridge", "Qwen3VLMoEBridge", "KimiK25VLBridge"}, {"MiniMaxM2Bridge", "Qwen3VLMoEBridge", "KimiK25VLBridge"},
                        "its LLM lineage (MiniMax-M2), or a MoE VLM"),
    "Ministral3Bridge": ({"MistralBridge", "Gemma3VLBridge"}, {"MistralBridge", "Gemma3VLBridge"},
                         "its LLM's bridge (Mistral) or a llava-layout VLM"),
    "MistralBridge": ({"LlamaBridge", "LlamaNemotronBridge"}, {"LlamaBridge", "LlamaNemotronBridge"}, "plain dense GQA decoder: Llama"),
    "NemotronBridge": ({"LlamaBridge", "LlamaNemotronBridge", "NemotronHBridge"}, {"LlamaBridge", "LlamaNemotronBridge", "NemotronHBridge"},
                       "dense decoder with a squared-ReLU MLP: Llama-style, or NemotronH (same vendor, same MLP)"),
    "NemotronHBridge": ({"FalconH1Bridge", "NemotronVLBridge"}, {"FalconH1Bridge", "NemotronVLBridge"},
                        "Mamba hybrid: the Nemotron-H VLM backbone, or Falcon-H1"),
    "OlMoEBridge": ({"Qwen3MoEBridge", "MiniMaxM2Bridge"}, {"Qwen3MoEBridge", "MiniMaxM2Bridge"}, "MoE + QK norm, no shared experts"),
    "Qwen2Bridge": ({"MimoBridge", "Qwen3Bridge", "LlamaBridge"}, {"MimoBridge", "LlamaBridge"},
                    "dense + QKV bias: MiMo inherits Qwen2's registry; else Qwen3 / Llama plus bias"),
    "Qwen35MoEBridge": ({"Qwen3NextBridge", "Qwen35Bridge"}, {"Qwen35VLMoEBridge"},
                        "gated delta net + MoE with shared experts: Qwen3-Next; outside the family its own VLM's text stack"),
    "Qwen35Bridge": ({"Qwen3NextBridge", "Qwen35MoEBridge", "Qwen3Bridge"}, {"Qwen35VLBridge"},
                     "gated delta net hybrid: a Qwen3.5/Next sibling; outside the family its own VLM's text stack"),
    "Qwen3Bridge": ({"Qwen2Bridge", "Qwen3MoEBridge", "Exaone4Bridge"}, {"Exaone4Bridge", "Qwen3VLBridge", "Gemma3ModelBridge"},
                    "Qwen2 + QK norm: a Qwen sibling, or EXAONE 4 (same blocks)"),
    "Qwen3MoEBridge": ({"OlMoEBridge", "Qwen3Bridge", "Qwen3NextBridge", "Qwen35MoEBridge"}, {"OlMoEBridge", "Qwen3VLMoEBridge", "MiniMaxM2Bridge"},
                       "per-expert MoE + QK norm, no shared experts: a Qwen3 sibling, or OlMoE"),
    "Qwen3NextBridge": ({"Qwen35MoEBridge", "Qwen35Bridge"}, {"Qwen35VLMoEBridge"},
                        "gated delta net + MoE with shared experts: Qwen3.5; outside the family the Qwen3.5 MoE VLM"),
    "Qwen2AudioBridge": ({"Qwen25OmniBridge", "Qwen3ASRBridge"}, {"Qwen25OmniBridge", "Qwen3ASRBridge"},
                         "a Qwen bridge with the same Whisper-style audio tower"),
    "Qwen25OmniBridge": ({"Qwen3OmniBridge"}, {"Qwen25VLBridge", "Qwen2AudioBridge"},
                         "the Qwen3 Omni sibling; outside the family the VLM and audio bridges its thinker combines"),
    "Qwen3OmniBridge": ({"Qwen25OmniBridge"}, {"Qwen3VLMoEBridge"}, "the Qwen2.5 Omni sibling; outside the family the Qwen3-VL-MoE thinker"),
    "Qwen25VLBridge": ({"Qwen3VLBridge", "Qwen3VLMoEBridge"}, {"Qwen2Bridge", "MimoBridge"},
                       "a Qwen VLM sibling (same visual tower naming); outside the family its LLM's bridge"),
    "Qwen35VLMoEBridge": ({"Qwen3VLMoEBridge", "Qwen35VLBridge"}, {"Qwen35MoEBridge", "Qwen3NextBridge", "GLM45VBridge"},
                          "a Qwen VLM sibling; outside the family its LLM's bridge (Qwen3.5-MoE / Next) or a MoE VLM"),
    "Qwen35VLBridge": ({"Qwen3VLBridge", "Qwen35VLMoEBridge"}, {"Qwen35Bridge", "GLM45VBridge"},
                       "a Qwen VLM sibling; outside the family its LLM's bridge (Qwen3.5)"),
    "Qwen3VLBridge": ({"Qwen3VLMoEBridge", "Qwen35VLBridge", "Qwen25VLBridge"}, {"Qwen3Bridge", "GLM45VBridge"},
                      "a Qwen VLM sibling (same visual tower naming); outside the family its LLM's bridge"),
    "Qwen3VLMoEBridge": ({"Qwen3VLBridge", "Qwen35VLMoEBridge"}, {"Qwen3MoEBridge", "GLM45VBridge"},
                         "the dense Qwen3-VL sibling; outside the family its LLM's bridge or a MoE VLM"),
}  # fmt: skip


def collect_cases(
    catalog: Catalog,
) -> tuple[list[tuple[str, str, ModelSpec, list[str] | None]], list[tuple[str, str]]]:
    """[(label, hidden bridge, spec, names)]: buildable bridges (transformers defaults), then the fixtures."""
    with redirect_stdout(io.StringIO()):  # transformers prints config warnings while building
        built, skipped = find_buildable(catalog, need_names=False)
    cases = [(f"`{b.model_type}` (transformers)", b.bridge.name, b.spec, b.names) for b in built]
    for fixture, bridge in FIXTURES.items():
        spec = load_spec(str(CONFIGS / fixture / "config.json"))
        try:
            names = collect_hf_names(spec).names
        except NamesUnavailable:
            names = None
        cases.append((f"{fixture} (fixture)", bridge, spec, names))
    return cases, skipped


def evaluate(catalog: Catalog, cases, family: dict[str, str]) -> tuple[list[str], dict[str, list[int]]]:
    rows, hits = [], {"bridge": [0, 0], "family": [0, 0]}
    for label, hidden, spec, names in cases:
        expected, outside, why = EXPECT[hidden]
        own = rank(spec, catalog, names, top=1)[0].bridge
        cells = []
        for variant, exclude, accept in (("bridge", hidden, expected), ("family", family[hidden], outside)):
            got = rank(spec, catalog, names, exclude=(exclude,), top=3)
            hit1, hit3 = got[0].bridge in accept, bool({c.bridge for c in got} & accept)
            hits[variant][0] += hit1
            hits[variant][1] += hit3
            shown = ", ".join(
                f"{'**' if c.bridge in accept else ''}{c.bridge}{'**' if c.bridge in accept else ''} {c.score:.2f}"
                for c in got
            )
            cells.append(f"{shown} | {'yes' if hit1 else 'no'} | {'yes' if hit3 else 'no'}")
        blocks = ", ".join(sorted(model_blocks(spec, names)[0])) or "-"
        n = f"{len(names)}" if names is not None else "none"
        rows.append(f"| {label} | {spec.kind} | {blocks} | {n} | {hidden} ({'own #1' if own == hidden else 'own not #1: ' + own}) | "
                    f"{', '.join(sorted(expected))} | {cells[0]} | {', '.join(sorted(outside))} | {cells[1]} | {why} |")  # fmt: skip
    return rows, hits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=None, help="Megatron-Bridge tree (default: the pinned wheel tree)")
    parser.add_argument(
        "--out", default=str(ROOT / "bench" / "results" / "nearest_loo.md"), help="also write the table here"
    )
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    start = time.monotonic()
    catalog = build_catalog(Path(args.repo) if args.repo else ensure_tree())
    family = {b.name: b.family for b in catalog.bridges}
    cases, skipped = collect_cases(catalog)
    rows, hits = evaluate(catalog, cases, family)
    n = len(cases)
    out = [
        f"# nearest leave-one-out: {n} cases ({n - len(FIXTURES)} transformers defaults, {len(FIXTURES)} fixture configs), "
        f"catalog of {len(catalog.bridges)} bridges, {time.monotonic() - start:.0f} s\n",
        "| variant | top-1 agreement | top-3 agreement |", "|---|---|---|",
        f"| own bridge hidden | {hits['bridge'][0]}/{n} | {hits['bridge'][1]}/{n} |",
        f"| whole family hidden | {hits['family'][0]}/{n} | {hits['family'][1]}/{n} |\n",
        "Expected first choices in **bold** where ranked. Blocks are the model's, from its config and HF names.\n",
        "| case | kind | blocks | HF names | hidden bridge | expected, bridge hidden | top 3, bridge hidden | top-1 | top-3 "
        "| expected, family hidden | top 3, family hidden | top-1 | top-3 | why |",
        "|" + "---|" * 14,
        *rows,
        "",
        *(f"- not buildable with the installed transformers: {name}: {reason[:140]}" for name, reason in skipped),
    ]  # fmt: skip
    text = "\n".join(out) + "\n"
    print(text, end="")
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
