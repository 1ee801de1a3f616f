"""Onboarding benchmark (issue 15): from a config to a verified bridge with no hand edit.

    python bench/onboard.py --jobs 2 --out bench/results/onboard.md [--cases mixtral,gemma2] [--json FILE]

Per case: transformers' default config of the model type (`AutoConfig.for_model`, `architectures` set to
its `*ForCausalLM` class) in a temp folder; a git-initialised copy of the pinned tree (for a regeneration,
the family hidden from it by bench/hide_family.py); `python -m analyzers nearest CONFIG --top 3` picks
SRC (top-1); `python -m codemods clone-family SRC MODEL_TYPE --config CONFIG --format json --smoke`
clones it and runs the toy roundtrip with the CPU fp32 logits check through the generated bridge. Every
exit code is a result: 0 (written, smoke passed), 1 (smoke failed, or `--allow-unsupported`), 2 (refused:
the stderr line should name the unsupported features, and nothing may be written). A regeneration is also
compared with the real bridge through the catalog (bench/bridge_compare.py): mapping pairs and provider
settings (values on the same config), precision and recall.

Verdicts: `pass` (clone exit 0, every smoke check passes, logits included; the harness edits nothing),
`refused` (exit 2, nothing written, stderr names unsupported features), `fail` (anything else). The
forbidden outcome: mapping, filled and export pass while logits fail.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analyzers.realtree import ensure_tree  # noqa: E402

_M = "megatron.bridge.models."
#: unseen architectures: Megatron-Bridge has no bridge for them
UNSEEN = ("mixtral", "qwen2_moe", "phi3", "starcoder2", "olmo2", "granite", "helium")
#: regenerations: model type -> (the real bridge, the modules hidden from the tree)
REGENERATIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    # exaone45 imports exaone4's layer spec: it goes with it
    "exaone4": ("Exaone4Bridge", (_M + "exaone.exaone4", _M + "exaone.exaone45")),
    "hy_v3": ("HYV3Bridge", (_M + "hy_v3",)),
    "minimax_m2": ("MiniMaxM2Bridge", (_M + "minimax_m2",)),
    "qwen3_moe": ("Qwen3MoEBridge", (_M + "qwen.qwen3_moe_bridge",)),
    "gemma2": ("Gemma2Bridge", (_M + "gemma.gemma2_bridge", _M + "gemma.gemma2_provider")),
}
CASES = (*UNSEEN, *REGENERATIONS)
ROUNDTRIP = ("mapping", "filled", "export")
TARGETS = {"unseen": 5, "regeneration": 4}
STEP_TIMEOUT_S = 900


@dataclass
class Row:
    """One case's figures (JSON-ready)."""

    case: str
    kind: str  #: "unseen" or "regeneration"
    nearest: str | None = None  #: top-1 bridge
    nearest_reasons: list[str] = field(default_factory=list)
    nearest_unsupported: list[str] = field(default_factory=list)  #: nearest's expressibility verdict
    nearest_rc: int | None = None
    clone_rc: int | None = None
    clone_stderr: str = ""  #: last lines of clone-family's stderr
    refusal: str | None = None  #: the stderr line naming the unsupported features (exit 2)
    wrote_nothing: bool | None = None  #: after exit 2: the tree is as before
    files: int | None = None
    todos: int | None = None
    checks: dict[str, str] = field(default_factory=dict)  #: smoke check -> pass / fail / skipped / info
    logits_max_diff: float | None = None
    smoke_error: str | None = None
    failed_checks: list[str] = field(default_factory=list)  #: "name: summary" of each failed smoke check
    smoke_source: str | None = None  #: "clone-family --smoke" or "smoke" (run by the harness)
    hidden: list[str] = field(default_factory=list)  #: regenerations: modules deleted from the tree
    mapping_pr: tuple[float, float] | None = None
    provider_pr: tuple[float, float] | None = None
    provider_text_pr: tuple[float, float] | None = None
    generated_bridge: str | None = None
    error: str | None = None  #: a harness-side failure of this case (recorded, the run goes on)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def roundtrip_passed(self) -> bool:
        return bool(self.checks) and all(self.checks.get(c) == "pass" for c in ROUNDTRIP)

    @property
    def forbidden(self) -> bool:
        """Passed the roundtrip while the logits differ: a bridge that computes another function."""
        return self.roundtrip_passed and self.checks.get("logits") == "fail"

    @property
    def verdict(self) -> str:
        if self.clone_rc == 0 and self.checks.get("logits") == "pass" and self.smoke_error is None:
            if all(s != "fail" for s in self.checks.values()):
                return "pass"
        if self.clone_rc == 2 and self.refusal and self.wrote_nothing:
            return "refused"
        return "fail"


def write_config(model_type: str, dest: Path) -> Path:
    """transformers' default config of `model_type`, with its causal-LM class as `architectures`."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    config = AutoConfig.for_model(model_type)
    config.architectures = [MODEL_FOR_CAUSAL_LM_MAPPING_NAMES[model_type]]
    config.save_pretrained(dest)
    return dest / "config.json"


def _git(tree: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost"}
    env |= {"GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost"}
    return subprocess.run(
        ["git", *args], cwd=tree, env=env, check=True, capture_output=True, text=True
    ).stdout


def prepare_tree(dest: Path, hide: tuple[str, ...]) -> list[str]:
    """A git-initialised copy of the pinned tree with `hide` hidden; returns the modules deleted."""
    shutil.copytree(ensure_tree(), dest, ignore=shutil.ignore_patterns("__pycache__"))
    deleted: list[str] = []
    if hide:
        from analyzers.catalog import build_catalog
        from bench.hide_family import family_recipe_modules, hide_family

        # the pinned tree's catalog is cached; the copy has the same content
        recipes = family_recipe_modules(build_catalog(ensure_tree()), list(hide))
        deleted = hide_family(dest, [*hide, *recipes]).deleted
    _git(dest, "init", "-q")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-qm", "pinned tree" + (" (family hidden)" if hide else ""))
    return deleted


def _run(cmd: list[str], seconds: dict[str, float], step: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    started = time.perf_counter()
    try:
        return subprocess.run(
            cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        return subprocess.CompletedProcess(cmd, 124, out, f"timed out after {STEP_TIMEOUT_S} s")
    finally:
        seconds[step] = round(time.perf_counter() - started, 1)


def _json(text: str) -> dict | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _refusal_line(stderr: str) -> str | None:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    named = [ln for ln in lines if "unsupported" in ln.lower()]
    return named[0] if named else None


def _take_smoke(row: Row, smoke: dict, source: str) -> None:
    row.smoke_source = source
    row.smoke_error = smoke.get("error")
    for check in smoke.get("checks", []):
        row.checks[check["name"]] = check["status"]
        if check["status"] == "fail":
            row.failed_checks.append(f"{check['name']}: {check.get('summary', '')}")
        if check["name"] == "logits":
            row.logits_max_diff = check.get("details", {}).get("max_abs_diff")


def _new_bridge(before, after, model_type: str):
    """The bridge the clone added: in `after`'s catalog, not in `before`'s (registered for `model_type` first)."""
    names = {b.name for b in before.bridges}
    new = [b for b in after.bridges if b.name not in names]
    new.sort(key=lambda b: not any(r.model_type == model_type for r in b.registrations))
    return new[0] if new else None


def _compare(row: Row, tree: Path, hidden_catalog, config: dict) -> None:
    from analyzers.catalog import build_catalog
    from bench.bridge_compare import pairs, pr, provider_pairs, provider_values

    full, after = build_catalog(ensure_tree()), build_catalog(tree)
    real = full.bridge(REGENERATIONS[row.case][0])
    generated = _new_bridge(hidden_catalog, after, row.case)
    if real is None or generated is None:
        row.error = f"compare: {'real bridge' if real is None else 'generated bridge'} not in the catalog"
        return
    row.generated_bridge = generated.name
    row.mapping_pr = pr(pairs(generated), pairs(real))
    row.provider_text_pr = pr(provider_pairs(generated), provider_pairs(real))
    row.provider_pr = pr(provider_values(after, generated, config), provider_values(full, real, config))


def run_case(case: str, workdir: str) -> Row:
    """Everything for one case; a failure of any step is recorded in the row, never raised."""
    kind = "regeneration" if case in REGENERATIONS else "unseen"
    row = Row(case, kind)
    base = Path(workdir) / case
    try:
        started = time.perf_counter()
        config = write_config(case, base / "config")
        tree = base / "tree"
        row.hidden = prepare_tree(tree, REGENERATIONS[case][1] if kind == "regeneration" else ())
        row.seconds["prepare"] = round(time.perf_counter() - started, 1)
        from analyzers.catalog import build_catalog

        before = build_catalog(tree)  # the tree clone-family starts from (family hidden for a regeneration)
        if kind == "regeneration" and before.bridge(REGENERATIONS[case][0]) is not None:
            raise RuntimeError(f"hiding left {REGENERATIONS[case][0]} in the tree")
        py = sys.executable
        near = _run(
            [
                py,
                "-m",
                "analyzers",
                "nearest",
                str(config),
                "--repo",
                str(tree),
                "--format",
                "json",
                "--top",
                "3",
            ],
            row.seconds,
            "nearest",
        )
        row.nearest_rc = near.returncode
        doc = _json(near.stdout)
        if not doc or not doc.get("candidates"):
            row.error = (
                f"nearest exit {near.returncode}: {(near.stderr.strip().splitlines() or ['no output'])[-1]}"
            )
            return row
        top = doc["candidates"][0]
        row.nearest = top["bridge"]
        reasons = top.get("reasons", [])
        row.nearest_reasons = reasons if isinstance(reasons, list) else [str(reasons)]
        row.nearest_unsupported = [
            f["name"]
            for f in (doc.get("expressibility") or {}).get("unsupported", [])
            if not f.get("neutral")
        ]
        clone = _run(
            [py, "-m", "codemods", "clone-family", row.nearest, case, "--config", str(config)]
            + ["--repo", str(tree), "--format", "json", "--smoke"],
            row.seconds,
            "clone+smoke",
        )
        row.clone_rc = clone.returncode
        row.clone_stderr = "\n".join(clone.stderr.strip().splitlines()[-3:])
        cdoc = _json(clone.stdout) or {}
        if "files" in cdoc:
            row.files = len(cdoc["files"])
            row.todos = len(cdoc.get("todos", []))
        if clone.returncode == 2:
            row.refusal = _refusal_line(clone.stderr)
            row.wrote_nothing = _git(tree, "status", "--porcelain").strip() == ""
        if isinstance(cdoc.get("smoke"), dict):
            _take_smoke(row, cdoc["smoke"], "clone-family --smoke")
        elif cdoc.get("applied"):
            _smoke_yourself(row, tree, config, before)
        if cdoc.get("applied") and kind == "regeneration":
            _compare(row, tree, before, json.loads(config.read_text()))
    except Exception as exc:  # noqa: BLE001 - a case's crash is a row, not the harness's
        row.error = f"{type(exc).__name__}: {exc}"[:300]
        print(f"{case}: {traceback.format_exc()}", file=sys.stderr)
    return row


def _smoke_yourself(row: Row, tree: Path, config: Path, before) -> None:
    """The clone applied but gave no smoke report: run `codemods smoke --bridge` on the generated class."""
    from analyzers.catalog import build_catalog

    new = _new_bridge(before, build_catalog(tree), row.case)
    if new is None:
        row.smoke_error = "clone applied without a smoke report, and its bridge is not in the catalog"
        return
    proc = _run(
        [sys.executable, "-m", "codemods", "smoke", str(config), "--bridge", f"{new.module}:{new.name}"]
        + ["--repo", str(tree), "--format", "json"],
        row.seconds,
        "smoke",
    )
    doc = _json(proc.stdout)
    if doc is None:
        row.smoke_error = f"smoke exit {proc.returncode}: {(proc.stderr.strip().splitlines() or ['-'])[-1]}"
        return
    _take_smoke(row, doc, "smoke")


# --------------------------------------------------------------------------------------------- report


def _pr(value: tuple[float, float] | None) -> str:
    return f"{value[0]:.2f} / {value[1]:.2f}" if value else "-"


def _cell(text: str | None, limit: int = 90) -> str:
    text = (text or "-").replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render(rows: list[Row], wall: float, jobs: int, command: str) -> str:
    versions = _versions()
    lines = [
        "# Onboarding benchmark (issue 15)",
        "",
        f"`{command}`; {versions}. Wall time: **{wall:.0f} s** with --jobs {jobs} on this machine.",
        "",
        "Per case: transformers' default config; `nearest` top-1 as SRC; `clone-family SRC MODEL_TYPE --config "
        "--smoke` on a git-initialised copy of the pinned tree (regenerations: the family hidden from it, "
        "bench/hide_family.py); the toy roundtrip and the CPU fp32 logits check through the generated bridge. "
        "No hand edit anywhere.",
        "",
        "| case | kind | nearest top-1 | clone exit | files | TODOs | mapping | filled | export | logits "
        "| logits max \\|diff\\| | verdict | roundtrip ok, logits fail |",
        "|---|---|---|---:|---:|---:|---|---|---|---|---:|---|---|",
    ]
    for r in rows:
        diff = f"{r.logits_max_diff:.2e}" if isinstance(r.logits_max_diff, int | float) else "-"
        checks = [r.checks.get(c, "-") for c in (*ROUNDTRIP, "logits")]
        lines.append(
            f"| {r.case} | {r.kind} | {r.nearest or '-'} | {r.clone_rc if r.clone_rc is not None else '-'} "
            f"| {r.files if r.files is not None else '-'} | {r.todos if r.todos is not None else '-'} "
            f"| {' | '.join(checks)} | {diff} | {r.verdict} | {'**yes**' if r.forbidden else 'no'} |"
        )
    regen = [r for r in rows if r.kind == "regeneration"]
    if regen:
        lines += [
            "",
            "Regenerations against the real bridge (precision / recall): mapping = the registry's "
            "(megatron_param, hf_param) pairs; provider = the settings the bridge itself makes, evaluated on the "
            "config (values, whatever the writing style); provider text = `provider_bridge`'s (attribute, source "
            "text) pairs.",
            "",
            "| case | real bridge | generated | hidden modules | mapping P / R | provider P / R | provider text P / R |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in regen:
            models = [h.removeprefix(_M) for h in r.hidden if h.startswith(_M)]
            others = len(r.hidden) - len(models)
            hidden = ", ".join(models) + (f" + {others} recipe modules" if others else "") or "-"
            lines.append(
                f"| {r.case} | {REGENERATIONS[r.case][0]} | {r.generated_bridge or '-'} | {hidden} "
                f"| {_pr(r.mapping_pr)} | {_pr(r.provider_pr)} | {_pr(r.provider_text_pr)} |"
            )
    lines += ["", "Why each case ended as it did:", ""]
    for r in rows:
        why = r.error or r.refusal or r.smoke_error or "; ".join(r.failed_checks) or None
        if why is None and r.clone_rc not in (0, None):
            why = r.clone_stderr.splitlines()[-1] if r.clone_stderr else f"exit {r.clone_rc}"
        if why is None and r.verdict == "pass":
            why = "logits check passed"
        extra = f"; nearest: unsupported {', '.join(r.nearest_unsupported)}" if r.nearest_unsupported else ""
        secs = ", ".join(f"{k} {v:.0f} s" for k, v in r.seconds.items())
        lines.append(f"- **{r.case}** ({r.verdict}): {_cell(why, 400)}{extra} ({secs})")
    lines += ["", targets_line(rows), ""]
    return "\n".join(lines)


def targets_line(rows: list[Row]) -> str:
    def count(kind: str) -> tuple[int, int]:
        of = [r for r in rows if r.kind == kind]
        return sum(r.verdict == "pass" for r in of), len(of)

    unseen, regen = count("unseen"), count("regeneration")
    forbidden = [r.case for r in rows if r.forbidden]
    return (
        f"**Targets**: unseen passes {unseen[0]}/{unseen[1]} (target >= {TARGETS['unseen']}/7); regeneration "
        f"passes {regen[0]}/{regen[1]} (target >= {TARGETS['regeneration']}/5); forbidden outcomes (roundtrip "
        f"passes, logits fail) {len(forbidden)}{' (' + ', '.join(forbidden) + ')' if forbidden else ''} "
        "(target 0)."
    )


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for dist in ("transformers", "torch", "megatron-core", "megatron-bridge"):
        try:
            out.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            pass
    return ", ".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", help=f"comma-separated subset of {','.join(CASES)}")
    parser.add_argument("--jobs", type=int, default=1, help="cases run at once, each in its own process")
    parser.add_argument("--out", type=Path, help="write the markdown report here")
    parser.add_argument("--json", type=Path, help="write the rows as JSON here")
    args = parser.parse_args()
    cases = [c.strip() for c in args.cases.split(",") if c.strip()] if args.cases else list(CASES)
    unknown = [c for c in cases if c not in CASES]
    if unknown or args.jobs < 1:
        print(f"--cases: unknown {', '.join(unknown)}" if unknown else "--jobs must be >= 1", file=sys.stderr)
        return 2
    ensure_tree()  # fetched once, before the workers copy it
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bridgesmith-onboard-") as tmp:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            futures = {c: pool.submit(run_case, c, tmp) for c in cases}
            rows = []
            for case, future in futures.items():
                try:
                    row = future.result()
                except Exception as exc:  # noqa: BLE001 - a dead worker is a row too
                    row = Row(
                        case, "regeneration" if case in REGENERATIONS else "unseen", error=repr(exc)[:300]
                    )
                rows.append(row)
                print(f"{row.verdict:8} {case} ({sum(row.seconds.values()):.0f} s)", file=sys.stderr)
    wall = time.perf_counter() - started
    command = (
        "python bench/onboard.py" + (f" --cases {args.cases}" if args.cases else "") + f" --jobs {args.jobs}"
    )
    report = render(rows, wall, args.jobs, command)
    if args.out:
        args.out.write_text(report)
    if args.json:
        data = [{**asdict(r), "verdict": r.verdict, "forbidden": r.forbidden} for r in rows]
        args.json.write_text(json.dumps({"wall_s": round(wall, 1), "rows": data}, indent=2) + "\n")
    print(f"{len(rows)} cases in {wall:.0f} s (--jobs {args.jobs})")
    for r in rows:
        diff = f"{r.logits_max_diff:.1e}" if isinstance(r.logits_max_diff, int | float) else "-"
        print(
            f"  {r.verdict:8} {r.case:11} from {r.nearest or '-'}: exit {r.clone_rc}, logits {r.checks.get('logits', '-')} ({diff})"
        )
    print(targets_line(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
