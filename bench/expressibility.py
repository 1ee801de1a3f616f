"""Expressibility of unseen architectures: what each needs that changes the function, handled or not.

    python bench/expressibility.py [--model-types mixtral,qwen2_moe,phi3,starcoder2,olmo2,granite,helium]

Transformers' default config of each model type and its HF names on the meta device, against the pinned
tree's catalog (`analyzers.expressibility`). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analyzers.catalog import build_catalog  # noqa: E402
from analyzers.expressibility import expressibility  # noqa: E402
from analyzers.hf_config import spec_from_transformers  # noqa: E402
from analyzers.hf_names import NamesUnavailable, collect_hf_names  # noqa: E402
from analyzers.realtree import ensure_tree  # noqa: E402

DEFAULT = "mixtral,qwen2_moe,phi3,starcoder2,olmo2,granite,helium"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-types", default=DEFAULT)
    args = parser.parse_args()
    catalog = build_catalog(ensure_tree())
    print(
        "| model_type | supported (feature: a bridge that handles it) | unsupported (feature: what it would take) |"
    )
    print("|---|---|---|")
    for model_type in args.model_types.split(","):
        spec = spec_from_transformers(model_type)
        try:
            names = collect_hf_names(spec)
        except NamesUnavailable:
            names = None
        supported, unsupported = expressibility(spec, catalog, names.names if names else None,
                                                names.shapes if names else None)  # fmt: skip
        sup = "; ".join(f"{f.name}: {f.handled_by[0]}" + (f" +{len(f.handled_by) - 1}" if len(f.handled_by) > 1 else "")
                        for f in supported) or "-"  # fmt: skip
        uns = (
            "; ".join(
                f"{f.name}{' (neutral here)' if f.neutral else ''}: {f.kind}, {f.needs}" for f in unsupported
            )
            or "-"
        )
        print(f"| {model_type} | {sup} | {uns} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
