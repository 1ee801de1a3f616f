"""Leave-one-out benchmark of `synthesize` against the real registries of the pinned tree.

For every bridge whose architecture the installed transformers can build on the meta device: learn the
vocabulary from all other bridges, synthesize the registry from the architecture's checkpoint names,
and score the (megatron_param, hf_params) pairs against the bridge's static registry, next to two
baselines from the same run: copying the most similar other bridge verbatim, and copying it then
dropping mappings whose HF patterns match no checkpoint name.

"all" scores against every pair of the real registry; "existing" against the pairs whose HF patterns
all match a name of the architecture (MTP layers and optional weights that transformers does not build
are left out there). Predictions are never filtered. Prints a markdown table.

    .venv/bin/python bench/synthesize_loo.py [--only Qwen3Bridge ...] [--exclude-family] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analyzers.catalog import build_catalog  # noqa: E402
from analyzers.catalog.records import BridgeRecord, Catalog  # noqa: E402
from analyzers.realtree import ensure_tree  # noqa: E402
from analyzers.synthesize import _jaccard, _Target, score_pairs, synthesize  # noqa: E402
from analyzers.vocabulary import bridge_mappings, compile_pattern, learn_vocabulary  # noqa: E402
from bench.buildable import find_buildable  # noqa: E402


def truth_pairs(catalog: Catalog, bridge: BridgeRecord) -> set[tuple[str, frozenset[str]]]:
    """The static registry's pairs (with the parent's, for `super().mapping_registry()`)."""
    return {
        (m.megatron_param, frozenset(m.hf_list))
        for m in bridge_mappings(catalog, bridge)
        if m.megatron_param and m.hf_params
    }


def exists(pair: tuple[str, frozenset[str]], names: list[str]) -> bool:
    return all(any(compile_pattern(p).match(n) for n in names) for p in pair[1])


def evaluate(
    catalog: Catalog, bridge: BridgeRecord, names: list[str], tied: list[str], spec, exclude: list[str]
) -> dict:
    from analyzers.hf_config import MTP_FIELDS, _present

    vocab = learn_vocabulary(catalog, exclude=exclude)
    truth = truth_pairs(catalog, bridge)
    every = names + tied
    existing = {p for p in truth if exists(p, every)}
    result = synthesize(
        vocab,
        names,
        tied=tied,
        multimodal=spec.kind != "llm",
        mtp_fields=_present(spec.text_fields(), MTP_FIELDS),
    )
    synth = {m.pair for m in result.mappings}
    # the copy baselines' neighbour: the bridge whose whole registry (towers included) shares the most
    # names, so a text model never copies a VLM's `language_model.` registry
    tokens = _Target(vocab, sorted(set(every)), spec.kind != "llm").tokens
    near = max(vocab.profiles.items(), key=lambda kv: _jaccard(tokens, kv[1].tokens))[0]
    copied = truth_pairs(catalog, catalog.bridge(near))
    pruned = {p for p in copied if exists(p, every)}
    row = {"bridge": bridge.name, "family": bridge.family, "kind": spec.kind, "truth": len(truth), "existing": len(existing),
           "nearest": near, "unmapped_names": result.names_total - result.mapped_names, "names": result.names_total,
           "missing": sorted(f"{m} <- {sorted(h)}" for m, h in existing - synth),
           "extra": sorted(f"{m} <- {sorted(h)}" for m, h in synth - truth)}  # fmt: skip
    for label, pred in (("synth", synth), ("copy", copied), ("prune", pruned)):
        row[f"{label}_all"] = score_pairs(pred, truth)
        row[f"{label}_ex"] = score_pairs(pred, existing)
    return row


def table(rows: list[dict]) -> str:
    head = "| bridge | kind | pairs (existing) | synth F1 all / ex | copy F1 all / ex | copy+prune F1 all / ex | nearest | unmapped names |"
    out = [head, "|" + "---|" * 8]
    for r in rows:
        out.append(
            f"| {r['bridge']} | {r['kind']} | {r['truth']} ({r['existing']}) | {r['synth_all'][2]:.2f} / {r['synth_ex'][2]:.2f} | "
            f"{r['copy_all'][2]:.2f} / {r['copy_ex'][2]:.2f} | {r['prune_all'][2]:.2f} / {r['prune_ex'][2]:.2f} | {r['nearest']} | "
            f"{r['unmapped_names']}/{r['names']} |"
        )
    return "\n".join(out)


def summary(rows: list[dict]) -> str:
    out = [
        "| group | n | metric | synth P / R / F1 (median) | copy F1 | copy+prune F1 |",
        "|---|---|---|---|---|---|",
    ]
    for group, sel in (
        ("text-only", [r for r in rows if r["kind"] == "llm"]),
        ("multimodal", [r for r in rows if r["kind"] != "llm"]),
        ("all", rows),
    ):
        if not sel:
            continue
        for metric in ("all", "ex"):
            med = [statistics.median(r[f"synth_{metric}"][i] for r in sel) for i in range(3)]
            copy = statistics.median(r[f"copy_{metric}"][2] for r in sel)
            prune = statistics.median(r[f"prune_{metric}"][2] for r in sel)
            label = "all pairs" if metric == "all" else "existing names"
            out.append(
                f"| {group} | {len(sel)} | {label} | {med[0]:.2f} / {med[1]:.2f} / **{med[2]:.2f}** | {copy:.2f} | {prune:.2f} |"
            )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, help="only these bridges")
    parser.add_argument(
        "--exclude-family", action="store_true", help="leave the whole family out, not just the bridge"
    )
    parser.add_argument("--json", default=None, help="write per-bridge rows (with missing/extra pairs) here")
    parser.add_argument("--details", action="store_true", help="print missing/extra pairs per bridge")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    start = time.perf_counter()
    catalog = build_catalog(ensure_tree())
    cases, skipped = find_buildable(catalog, args.only)
    rows = []
    for case in cases:
        bridge = case.bridge
        exclude = [bridge.family] if args.exclude_family else [bridge.name]
        rows.append(evaluate(catalog, bridge, case.names, case.tied, case.spec, exclude))
        if args.details:
            print(
                f"## {bridge.name}: missing {rows[-1]['missing']}\n   extra {rows[-1]['extra']}",
                file=sys.stderr,
            )
    mode = "family left out" if args.exclude_family else "bridge left out"
    print(f"# synthesize leave-one-out ({mode}): {len(rows)} bridges buildable, {len(skipped)} skipped, "
          f"{time.perf_counter() - start:.0f}s\n")  # fmt: skip
    print(summary(rows) + "\n")
    print(table(rows) + "\n")
    for name, reason in skipped:
        print(f"- skipped {name}: {reason[:160]}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, default=list))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
