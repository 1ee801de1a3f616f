"""Plain rope vs `rename-symbol` on the same class rename, in the same run, with the same resulting diff.

    .venv/bin/python bench/refactor_speed.py [--repo PATH] [--old Qwen3Bridge] [--new Qwen3DenseBridge] [--repeat 3]

Plain rope: one `Project(root, source_folders=["src"], ropefolder=None)` and `Rename(...).get_changes()` over
every Python file, as a maintainer would run it. Ours: `plan_rename_symbol`, whose rope step only sees the files
that mention the name. Checks that rope's Python edits are identical both ways and that the whole plan is the
same when its rope step is not narrowed; prints the best of `--repeat` timings and the speed-up.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analyzers.realtree import ensure_tree  # noqa: E402
from analyzers.source_index import SourceIndex  # noqa: E402
from codemods.refactors import _rope, _text  # noqa: E402
from codemods.refactors.rename_symbol import plan_rename_symbol, resolve_definition  # noqa: E402


def best(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=None, help="tree (default: the pinned wheel tree)")
    parser.add_argument("--old", default="Qwen3Bridge")
    parser.add_argument("--new", default="Qwen3DenseBridge")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    root = Path(args.repo) if args.repo else ensure_tree()
    import rope.refactor.rename  # noqa: F401  (import time is not part of either measurement)

    index = SourceIndex(root)
    sources = index.mentioning(_text.word_pattern(args.old), (".py",), args.old)
    definition = resolve_definition(root, args.old, sources)
    n_py = len(index.files("", (".py",)))

    t_rope, rope_changes = best(
        lambda: _rope.rename_changes(root, definition.path, definition.offset, args.new, None), args.repeat
    )
    t_ours, plan = best(lambda: plan_rename_symbol(root, args.old, args.new), args.repeat)
    narrowed = _rope.rename_changes(root, definition.path, definition.offset, args.new, sorted(sources))
    same_rope = narrowed == rope_changes
    same_plan = plan_rename_symbol(root, args.old, args.new, narrow=False).preview() == plan.preview()
    speedup = t_rope / t_ours
    print(f"tree: {root} ({n_py} Python files; {len(sources)} mention {args.old})")
    print(f"plain rope rename ({len(rope_changes)} files changed): {t_rope:.2f} s (best of {args.repeat})")
    print(f"rename-symbol plan ({len(plan.changes)} files changed): {t_ours:.2f} s (best of {args.repeat})")
    print(
        f"speed-up: {speedup:.1f}x; rope edits identical: {same_rope}; plan identical without narrowing: {same_plan}"
    )
    return 0 if same_rope and same_plan and speedup >= 4 else 1


if __name__ == "__main__":
    sys.exit(main())
