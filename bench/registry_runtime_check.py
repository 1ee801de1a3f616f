"""Static catalog registries vs Megatron-Bridge's runtime `mapping_registry()`, as a markdown table.

    .venv-smoke/bin/python bench/registry_runtime_check.py               # the pinned wheel tree
    .venv-smoke/bin/python bench/registry_runtime_check.py --repo PATH   # another tree of the installed version

Needs the smoke env (torch + megatron-core + megatron-bridge). Per bridge: the static and runtime mapping
counts (runtime without the aliases the registry adds itself), whether they are equal as multisets of
(megatron_param, sorted HF patterns), the verdict for its kind, and the differences. Plain bridges must
match; conditional ones must be a superset of what the default config builds; unresolved ones may miss
only what their `unresolved` entries declare.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OK_VERDICTS = {"match", "subset", "explained"}


def _keys(counter: Counter, limit: int) -> str:
    items = [
        f"`{mp}` <- {', '.join(f'`{p}`' for p in hf)}" + (f" x{n}" if n > 1 else "")
        for (mp, hf), n in counter.items()
    ]
    shown = "; ".join(items[:limit])
    return shown + (f"; ... {len(items) - limit} more" if len(items) > limit else "") if items else ""


def _table(rows: list, limit: int) -> list[str]:
    out = [
        "| bridge | kind | hf_config | static | runtime | exact | verdict | runtime only | static only |",
        "|---|---|---|---:|---:|---|---|---|---|",
    ]
    for r in rows:
        runtime = "-" if r.error else sum(r.runtime.values())
        exact = "-" if r.error else ("yes" if r.static == r.runtime else "no")
        verdict = f"error: {r.error}" if r.error else r.verdict
        missing = "" if r.error else _keys(r.missing, limit)
        # for conditional bridges the static-only side is the branches the default config did not take
        extra = "" if r.error else _keys(r.extra, limit)
        out.append(
            f"| {r.bridge} | {r.kind} | {r.config} | {sum(r.static.values())} | {runtime} | {exact} "
            f"| {verdict} | {missing} | {extra} |"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repo", type=Path, help="tree to build the catalog from (default: the pinned wheel tree)"
    )
    parser.add_argument("--limit", type=int, default=3, help="differences shown per cell (default 3)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from analyzers.catalog import build_catalog
    from analyzers.realtree import ensure_tree
    from codemods.smoke.runtime_registry import compare_catalog

    start = time.perf_counter()
    catalog = build_catalog(args.repo or ensure_tree())
    # Megatron logs (and prints) to stdout while importing; keep stdout for the table.
    with contextlib.redirect_stdout(sys.stderr):
        rows = compare_catalog(catalog)
    elapsed = time.perf_counter() - start

    print("\n".join(_table(rows, args.limit)))
    by_kind = Counter(r.kind for r in rows)
    verdicts = Counter(r.verdict for r in rows)
    print()
    print(
        f"{len(rows)} bridges ({', '.join(f'{k} {n}' for k, n in sorted(by_kind.items()))}); "
        f"verdicts: {', '.join(f'{k} {n}' for k, n in sorted(verdicts.items()))}; "
        f"exact: {sum(1 for r in rows if not r.error and r.static == r.runtime)}; {elapsed:.1f} s"
    )
    roles = [(r.bridge, r.role_differences) for r in rows if not r.error and any(r.role_differences)]
    if roles:
        print("\nSame patterns, different HF roles (runtime vs static):")
        for name, (runtime_only, static_only) in roles:
            print(f"- {name}: {sorted(runtime_only)[:2]} vs {sorted(static_only)[:2]}")
    bad = [r for r in rows if not r.error and r.verdict not in OK_VERDICTS]
    for r in bad:
        print(f"\n{r.bridge} ({r.kind}, {r.verdict}):")
        for key, n in r.missing.items():
            print(f"  runtime only: {key}" + (f" x{n}" if n > 1 else ""))
        for key, n in r.extra.items():
            if r.kind == "plain" or key[0] in {k[0] for k in r.missing}:
                print(f"  static only:  {key}" + (f" x{n}" if n > 1 else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
