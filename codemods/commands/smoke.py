"""`python -m codemods smoke MODEL | --all`: toy HF -> Megatron -> HF roundtrips with logits and
dequantization checks, one case or every registered bridge as a conformance matrix."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from analyzers.cli_common import add_format_argument
from analyzers.envelope import versioned
from analyzers.errors import ConfigError

if TYPE_CHECKING:
    from codemods.smoke import SmokeReport

HELP = "toy-model HF -> Megatron -> HF roundtrip: mapping, export, logits and dequantization checks"

_QUANT_CHOICES = ("none", "fp8-block", "fp8-tensor", "mxfp4")  # codemods.smoke.QUANT_SCHEMES, without torch


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model",
        metavar="MODEL",
        nargs="?",
        help="HF model_type (qwen3) or a config.json / checkpoint folder; leave out with --all",
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="every bridge the installed Megatron-Bridge registers, one process each, as a matrix",
    )
    parser.add_argument(
        "--cases",
        metavar="LIST",
        help="with --all: only these model_types or architectures (comma-separated)",
    )
    parser.add_argument("--jobs", type=int, default=1, metavar="N", help="with --all: cases run at once")
    parser.add_argument(
        "--expect",
        metavar="FILE",
        help="with --all: compare with this expected matrix (JSON); any regression or new pass exits 1",
    )
    parser.add_argument(
        "--write-expected", metavar="FILE", help="with --all: write the matrix as the new expected one"
    )
    parser.add_argument(
        "--config", metavar="CONFIG", help="HF config.json to shrink (default: transformers' defaults)"
    )
    parser.add_argument(
        "--quantize",
        choices=_QUANT_CHOICES,
        default="none",
        help="rewrite the toy checkpoint as published quantized ones are stored (default: none)",
    )
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="cpu (gloo) or cuda (NCCL)")
    parser.add_argument("--tp", type=int, default=1, metavar="N", help="tensor-parallel size")
    parser.add_argument("--pp", type=int, default=1, metavar="N", help="pipeline-parallel size")
    parser.add_argument("--ep", type=int, default=1, metavar="N", help="expert-parallel size (MoE)")
    parser.add_argument(
        "--num-layers",
        type=int,
        default=None,
        metavar="N",
        help="toy decoder layers (default: enough to cover the config's layer patterns, at least 4)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--bridge",
        metavar="MODULE:CLASS",
        help="convert with this bridge class, registered for the toy's architecture before AutoBridge "
        "dispatches (a bridge under development)",
    )
    parser.add_argument(
        "--repo",
        metavar="PATH",
        help="import Megatron-Bridge from this tree's src/ instead of the installed one",
    )
    parser.add_argument(
        "--workdir", metavar="DIR", help="keep the toy checkpoints here (default: a temp folder)"
    )
    parser.add_argument(
        "--log-dir", metavar="DIR", help="where the libraries' output goes (default: a new temp folder)"
    )
    parser.add_argument("--verbose", action="store_true", help="print the libraries' output to stderr too")
    parser.add_argument("--report", metavar="PATH", help="write the JSON report here")
    add_format_argument(parser, ("text", "json", "markdown"))


def check_environment(device: str) -> None:
    missing = [
        name
        for name in ("torch", "transformers", "megatron.core", "megatron.bridge")
        if importlib.util.find_spec(name.split(".")[0]) is None or importlib.util.find_spec(name) is None
    ]
    if missing:
        raise ConfigError(
            f"the smoke test needs {', '.join(missing)} in this interpreter ({sys.executable}); "
            "run it in the smoke environment: tox -e smoke, or pip install -r requirements/smoke.txt and "
            "--no-deps -r requirements/smoke-megatron.txt"
        )
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ConfigError("--device cuda: torch sees no CUDA device")


def _validate(args: argparse.Namespace) -> None:
    for flag in ("tp", "pp", "ep", "jobs"):
        if getattr(args, flag) < 1:
            raise ConfigError(f"--{flag} must be >= 1, got {getattr(args, flag)}")
    if args.num_layers is not None and args.num_layers < 1:
        raise ConfigError(f"--num-layers must be >= 1, got {args.num_layers}")
    if args.all == (args.model is not None):
        raise ConfigError("give MODEL or --all (not both)")
    if not args.all:
        for flag in ("cases", "expect", "write_expected"):
            if getattr(args, flag):
                raise ConfigError(f"--{flag.replace('_', '-')} needs --all")
    if args.repo and not (Path(args.repo) / "src" / "megatron" / "bridge").is_dir():
        raise ConfigError("not a Megatron-Bridge tree (no src/megatron/bridge/)", args.repo)
    if args.expect and not Path(args.expect).is_file():
        raise ConfigError("no such file", args.expect)


def _log_dir(args: argparse.Namespace) -> Path:
    if args.log_dir:
        return Path(args.log_dir)
    return Path(tempfile.mkdtemp(prefix="bridgesmith-smoke-logs-"))


def _options(args: argparse.Namespace):
    from codemods.smoke import SmokeOptions

    return SmokeOptions(
        model=args.model or "",
        config=args.config,
        quantize=args.quantize,
        device=args.device,
        tp=args.tp,
        pp=args.pp,
        ep=args.ep,
        num_layers=args.num_layers,
        seed=args.seed,
        workdir=args.workdir,
        bridge=args.bridge,
        repo=str(Path(args.repo).resolve()) if args.repo else None,
    )


def run(args: argparse.Namespace) -> int:
    _validate(args)
    check_environment(args.device)
    return _run_all(args) if args.all else _run_one(args)


def report_document(report: SmokeReport) -> str:
    """One smoke run as the `smoke` JSON document (kind report): the envelope, then the report's fields."""
    return (
        json.dumps(versioned("smoke", {"kind": "report", **report.to_dict()}), indent=2, default=str) + "\n"
    )


def _run_one(args: argparse.Namespace) -> int:
    from codemods.smoke import run_smoke_subprocess

    if args.format == "markdown":
        raise ConfigError("--format markdown is for --all (the matrix)")
    log_dir = _log_dir(args)
    report = run_smoke_subprocess(_options(args), log_dir / "smoke.log")
    if args.verbose and report.log:
        sys.stderr.write(Path(report.log).read_text(errors="replace"))
    if args.report:
        Path(args.report).write_text(report_document(report))
    if args.format == "json":
        sys.stdout.write(report_document(report))
    else:
        print(report.summary())
        if report.traceback:
            print(report.traceback, file=sys.stderr)
    return 0 if report.passed else 1


def _run_all(args: argparse.Namespace) -> int:
    from codemods.smoke import registered_cases_in_subprocess
    from codemods.smoke._sweep import (
        compare_expected,
        expected_json,
        load_expected,
        render,
        run_sweep,
        sweep_meta,
    )

    opts = _options(args)
    expected = load_expected(Path(args.expect)) if args.expect else None
    cases, versions = registered_cases_in_subprocess(opts.repo)
    if args.cases:
        wanted = {c.strip() for c in args.cases.split(",") if c.strip()}
        unknown = wanted - {c.model_type for c in cases} - {c.architecture for c in cases}
        if unknown:
            raise ConfigError(
                f"--cases: not a registered model_type or architecture: {', '.join(sorted(unknown))}"
            )
        cases = [c for c in cases if c.model_type in wanted or c.architecture in wanted]
    log_dir = _log_dir(args)
    started = time.perf_counter()

    def progress(row) -> None:
        print(f"{row.status:5} {row.architecture} ({row.seconds} s) {row.reason}"[:200], file=sys.stderr)

    rows = run_sweep(cases, opts, args.jobs, log_dir, progress=progress)
    meta = sweep_meta(opts, started, versions)
    meta["logs"] = str(log_dir)
    output = render(rows, args.format, meta)
    print(output)
    if args.report:
        Path(args.report).write_text(render(rows, "json", meta) + "\n")
    if args.write_expected:
        Path(args.write_expected).write_text(expected_json(rows, meta) + "\n")
    if expected is not None:
        if args.cases:
            expected = {k: v for k, v in expected.items() if k in {c.architecture for c in cases}}
        problems = compare_expected(rows, expected)
        for line in problems:
            print(f"matrix: {line}", file=sys.stderr)
        if problems:
            return 1
        print(f"matrix: matches {args.expect}", file=sys.stderr)
        return 0
    return 0 if all(r.status != "fail" for r in rows) else 1
