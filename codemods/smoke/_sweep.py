"""`smoke --all`: every registered bridge through the toy roundtrip, one process per case, as a matrix.

Each row says, for one architecture, whether the mapping covers both sides, every Megatron parameter was
written, the export is bit-exact, the logits match HF's (fp32), and for bridges that dequantize on load
whether a quantized toy comes out right; with the seconds it took and one reason for every non-pass.
An expected matrix (checked in) turns the sweep into a regression test: a case that passed and now
fails, or one that now passes and is still expected to fail, is a difference to act on.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from analyzers.envelope import versioned
from analyzers.errors import ConfigError
from codemods.smoke._cases import SmokeCase
from codemods.smoke._report import SmokeReport
from codemods.smoke._runner import SmokeOptions, run_smoke_subprocess

__all__ = [
    "COLUMNS",
    "MatrixRow",
    "compare_expected",
    "expected_json",
    "render",
    "run_sweep",
]

#: The check columns of a row, in order.
COLUMNS = ("mapping", "filled", "export", "logits", "dequantization")
#: One case may not take longer than this (a hang is a failure with a reason, not a stuck sweep).
CASE_TIMEOUT_S = 600


@dataclass
class MatrixRow:
    """One case of the sweep."""

    family: str
    model_type: str
    architecture: str
    bridge: str
    status: str  #: pass, fail or skip
    checks: dict[str, str]  #: column -> pass / fail / skipped / "-" (did not run)
    logits_max_diff: float | None = None
    bf16_max_diff: float | None = None  #: CUDA: bf16 HF vs fp32 Megatron (information)
    bf16_mean_diff: float | None = None
    seconds: float | None = None
    reason: str = ""  #: one line for every non-pass
    adjustments: list[str] | None = None
    log: str | None = None

    @property
    def key(self) -> str:
        return self.architecture


def _reason(report: SmokeReport) -> str:
    if report.error:
        return report.error
    for check in report.checks:
        if check.status == "fail":
            return f"{check.name}: {check.summary}"
    return ""


def _row(case: SmokeCase, main: SmokeReport, dequant: SmokeReport | None) -> MatrixRow:
    checks = {name: "-" for name in COLUMNS}
    logits = None
    bf16: tuple[float | None, float | None] = (None, None)
    for check in main.checks:
        if check.name in checks and check.name != "dequantization":
            checks[check.name] = check.status
        if check.name == "logits":
            logits = check.details.get("max_abs_diff")
        if check.name == "logits_bf16":
            bf16 = (check.details.get("max_abs_diff"), check.details.get("mean_abs_diff"))
    reason = _reason(main)
    if dequant is not None:
        found = {c.name: c for c in dequant.checks}
        if "dequantization" in found:
            checks["dequantization"] = found["dequantization"].status
        else:
            checks["dequantization"] = "fail"
        if not dequant.passed and not reason:
            reason = f"{case.quantize}: {_reason(dequant)}"
    seconds = sum(r.timings_s.get("total", 0.0) for r in (main, dequant) if r is not None)
    passed = main.passed and (dequant is None or dequant.passed)
    return MatrixRow(
        family=case.family,
        model_type=case.model_type or "",
        architecture=case.architecture,
        bridge=case.bridge,
        status="pass" if passed else "fail",
        checks=checks,
        logits_max_diff=logits,
        bf16_max_diff=bf16[0],
        bf16_mean_diff=bf16[1],
        seconds=round(seconds, 1),
        reason=reason,
        adjustments=main.adjustments,
        log=main.log,
    )


def _skip_row(case: SmokeCase) -> MatrixRow:
    return MatrixRow(
        family=case.family,
        model_type=case.model_type or "",
        architecture=case.architecture,
        bridge=case.bridge,
        status="skip",
        checks={name: "-" for name in COLUMNS},
        reason=case.skip or "",
    )


def run_sweep(
    cases: list[SmokeCase], base: SmokeOptions, jobs: int, log_dir: Path, progress: Any = None
) -> list[MatrixRow]:
    """Run every case (and its quantized twin) in its own process, `jobs` at a time."""
    runnable = [c for c in cases if c.skip is None]

    def one(case: SmokeCase) -> MatrixRow:
        opts = replace(base, model=case.model_type, architecture=case.architecture)
        stem = f"{case.architecture}-tp{base.tp}-ep{base.ep}"
        main = run_smoke_subprocess(opts, log_dir / f"{stem}.log", timeout=CASE_TIMEOUT_S)
        dequant = None
        if case.quantize and base.quantize == "none" and base.tp * base.ep == 1:
            dequant = run_smoke_subprocess(
                replace(opts, quantize=case.quantize),
                log_dir / f"{stem}-{case.quantize}.log",
                timeout=CASE_TIMEOUT_S,
            )
        row = _row(case, main, dequant)
        if progress:
            progress(row)
        return row

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        done = {row.key: row for row in pool.map(one, runnable)}
    return [done.get(c.architecture) or _skip_row(c) for c in cases]


def _cell(row: MatrixRow, column: str) -> str:
    value = row.checks.get(column, "-")
    if column == "logits" and row.logits_max_diff is not None and value in ("pass", "fail"):
        return f"{value} {row.logits_max_diff:.1e}"
    return value


def render(rows: list[MatrixRow], fmt: str, meta: dict[str, Any]) -> str:
    """The matrix as text (aligned columns), markdown (a table) or json (the `smoke` document, kind matrix)."""
    if fmt == "json":
        return json.dumps(
            versioned("smoke", {"kind": "matrix", **meta, "rows": [asdict(r) for r in rows]}), indent=2
        )
    bf16 = any(r.bf16_max_diff is not None for r in rows)
    header = ["family", "model_type", "bridge", *COLUMNS, *(["bf16 max/mean"] if bf16 else []), "s", "reason"]
    table = [
        [
            r.family,
            r.model_type or "-",
            r.bridge,
            *[_cell(r, c) for c in COLUMNS],
            *(
                [f"{r.bf16_max_diff:.2g}/{r.bf16_mean_diff:.2g}" if r.bf16_max_diff is not None else "-"]
                if bf16
                else []
            ),
            f"{r.seconds:.0f}" if r.seconds is not None else "-",
            r.reason or ("" if r.status == "pass" else r.status),
        ]
        for r in rows
    ]
    counts = {s: sum(r.status == s for r in rows) for s in ("pass", "fail", "skip")}
    footer = f"{counts['pass']} pass, {counts['fail']} fail, {counts['skip']} skipped" + (
        f" in {meta['wall_s']:.0f} s" if meta.get("wall_s") is not None else ""
    )
    if fmt == "markdown":
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |" for line in table]
        return "\n".join([*lines, "", footer])
    widths = [
        max(len(h), *(len(line[i]) for line in table)) if table else len(h) for i, h in enumerate(header)
    ]
    widths[-1] = 0
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    out += ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in table]
    return "\n".join([*out, footer])


#: Row fields that change from run to run (where the logs went, how long it took): not in an expected matrix.
_VOLATILE = ("log", "seconds")


def expected_json(rows: list[MatrixRow], meta: dict[str, Any]) -> str:
    """The matrix as an expected one: what each case must do, without the run's logs and timings."""
    data = json.loads(render(rows, "json", {k: meta[k] for k in ("device", "tp", "ep") if k in meta}))
    data.pop("tool_version")  # an expected matrix outlives a release
    for row in data["rows"]:
        for key in _VOLATILE:
            row.pop(key, None)
    return json.dumps(data, indent=2)


def load_expected(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read the expected matrix ({exc.strerror})", path) from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"expected matrix is not valid JSON ({exc.msg} at line {exc.lineno})", path
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        raise ConfigError("expected matrix has no `rows` list", path)
    return {
        row["architecture"]: row for row in data["rows"] if isinstance(row, dict) and "architecture" in row
    }


def compare_expected(rows: list[MatrixRow], expected: dict[str, dict[str, Any]]) -> list[str]:
    """One line per difference that matters: a regression, or a pass the expected matrix does not know yet."""
    problems = []
    for row in rows:
        want = expected.get(row.architecture)
        if want is None:
            problems.append(f"{row.architecture}: not in the expected matrix (now {row.status})")
            continue
        if want.get("status") == "pass" and row.status != "pass":
            problems.append(f"{row.architecture}: expected pass, now {row.status}: {row.reason}")
        elif want.get("status") != "pass" and row.status == "pass":
            problems.append(
                f"{row.architecture}: now passes (expected {want.get('status')}); update the expected matrix"
            )
        for column in COLUMNS:
            if want.get("checks", {}).get(column) == "pass" and row.checks.get(column) != "pass":
                line = f"{row.architecture}: {column} expected pass, now {row.checks.get(column)}"
                if line.split(":")[0] not in {p.split(":")[0] for p in problems}:
                    problems.append(line)
    seen = {row.architecture for row in rows}
    problems += [f"{arch}: expected but not run" for arch in expected if arch not in seen]
    return problems


def sweep_meta(base: SmokeOptions, started: float, versions: dict[str, str]) -> dict[str, Any]:
    return {
        "device": base.device,
        "tp": base.tp,
        "ep": base.ep,
        "wall_s": round(time.perf_counter() - started, 1),
        "versions": versions,
    }
