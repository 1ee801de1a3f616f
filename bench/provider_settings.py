"""Implied provider settings against Megatron-Bridge's own bridges: precision and recall, family hidden.

    python bench/provider_settings.py [--model-types qwen3,llama,deepseek_v3,gemma2,gemma3_text=gemma3] [--keep-family]

For each model type: transformers' default config (and its HF names on the meta device) gives the implied
settings, learned from every bridge but those of the model's own family (`--keep-family` keeps them); the
truth is what the real bridge's provider settings give on the same config (`resolve_all`), over the
function-deciding attributes (`CATEGORIES` without the shape ones, less those Megatron-Core ignores given
the others). Precision: implied settings whose value the real bridge gives. Recall: attributes the real
bridge sets itself to something other than Megatron-Core's default, that the implied settings get right.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analyzers.catalog import build_catalog  # noqa: E402
from analyzers.hf_config import spec_from_transformers  # noqa: E402
from analyzers.hf_names import NamesUnavailable, collect_hf_names  # noqa: E402
from analyzers.implied_setting import CATEGORIES  # noqa: E402
from analyzers.provider_eval import UNKNOWN, evaluate, plain  # noqa: E402
from analyzers.provider_vocabulary import (  # noqa: E402
    DEFAULT_STYLES,
    MCORE_DEFAULTS,
    equivalent,
    implied_settings,
    irrelevant,
    resolve_all,
)
from analyzers.realtree import ensure_tree  # noqa: E402

DEFAULT = "qwen3,llama,deepseek_v3,gemma2"


def measure(catalog, case: str, keep_family: bool) -> dict:
    """`case` is a model type, or `CONFIG_TYPE=REGISTERED_TYPE` when the bridge registers another one."""
    model_type, _, registered = case.partition("=")
    bridge = next(
        b for b in catalog.bridges if any(r.model_type == (registered or model_type) for r in b.registrations)
    )
    spec = spec_from_transformers(model_type)
    try:
        names = collect_hf_names(spec)
    except NamesUnavailable:
        names = None  # the rules fall back on the config's spellings
    implied = implied_settings(spec, catalog, names.names if names else None, names.shapes if names else None,
                               exclude=() if keep_family else (bridge.family,))  # fmt: skip
    truth = resolve_all(catalog, bridge, spec.config)
    values = {a: plain(r.value) for a, r in truth.items() if r.value is not UNKNOWN}
    considered = {a for a, c in CATEGORIES.items() if c != "shape" and not irrelevant(a, values)}
    checked = [
        s for s in implied if s.attr in considered and s.attr in truth and truth[s.attr].value is not UNKNOWN
    ]
    right = [s for s in checked if equivalent(s.attr, truth[s.attr].value, s.value)]
    wrong = [(s.attr, s.value, plain(truth[s.attr].value)) for s in checked if s not in right]
    # what the bridge decides: set by itself (not a default) to something other than Megatron-Core's default
    defaults = {a: evaluate(v, spec.config).value for a, v in MCORE_DEFAULTS.items()}
    chosen = {a for a, r in truth.items() if a in considered and r.setting is not None
              and r.setting.style not in DEFAULT_STYLES and r.value is not UNKNOWN
              and not (a in defaults and equivalent(a, defaults[a], r.value))}  # fmt: skip
    by_attr = {s.attr: s for s in implied}
    recalled = {a for a in chosen if a in by_attr and equivalent(a, truth[a].value, by_attr[a].value)}
    return {"model_type": model_type, "bridge": bridge.name, "implied": len(checked), "right": len(right),
            "chosen": len(chosen), "recalled": len(recalled), "wrong": wrong,
            "missed": sorted((a, plain(truth[a].value)) for a in chosen - recalled)}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-types", default=DEFAULT)
    parser.add_argument("--keep-family", action="store_true")
    args = parser.parse_args()
    catalog = build_catalog(ensure_tree())
    rows = [measure(catalog, mt, args.keep_family) for mt in args.model_types.split(",")]
    print(f"family {'kept' if args.keep_family else 'hidden'} from the teachers\n")
    print("| model_type | bridge | precision | recall | wrong (implied vs bridge) | missed (bridge sets) |")
    print("|---|---|---:|---:|---|---|")
    totals = [0, 0, 0, 0]
    for r in rows:
        totals = [
            totals[0] + r["right"],
            totals[1] + r["implied"],
            totals[2] + r["recalled"],
            totals[3] + r["chosen"],
        ]
        wrong = "; ".join(f"{a}: {v!r} vs {t!r}" for a, v, t in r["wrong"]) or "-"
        missed = "; ".join(f"{a}={t!r}" for a, t in r["missed"]) or "-"
        print(f"| {r['model_type']} | {r['bridge']} | {r['right']}/{r['implied']} | {r['recalled']}/{r['chosen']} "
              f"| {wrong} | {missed} |")  # fmt: skip
    p = totals[0] / totals[1] if totals[1] else 0.0
    rc = totals[2] / totals[3] if totals[3] else 0.0
    print(f"| all | | {totals[0]}/{totals[1]} = {p:.2f} | {totals[2]}/{totals[3]} = {rc:.2f} | | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
