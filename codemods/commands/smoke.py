"""`python -m codemods smoke MODEL`: toy HF -> Megatron -> HF roundtrip with dequantization checks."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

from analyzers.cli_common import add_format_argument
from analyzers.errors import ConfigError

HELP = "toy-model HF -> Megatron -> HF roundtrip: mapping, export, logits and dequantization checks"

_QUANT_CHOICES = ("none", "fp8-block", "fp8-tensor", "mxfp4")  # codemods.smoke.QUANT_SCHEMES, without torch


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model", metavar="MODEL", help="HF model_type (qwen3) or a config.json / checkpoint folder"
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
    parser.add_argument(
        "--tp", type=int, default=1, metavar="N", help="tensor-parallel size (ranks via torchrun)"
    )
    parser.add_argument("--pp", type=int, default=1, metavar="N", help="pipeline-parallel size")
    parser.add_argument(
        "--num-layers", type=int, default=2, metavar="N", help="toy decoder layers (default: 2)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--bridge",
        metavar="MODULE:CLASS",
        help="use this bridge class instead of the registered one (a bridge under development)",
    )
    parser.add_argument(
        "--workdir", metavar="DIR", help="keep the toy checkpoints here (default: a temp folder)"
    )
    parser.add_argument("--report", metavar="PATH", help="write the JSON report here")
    add_format_argument(parser)


def check_environment(device: str) -> None:
    missing = [
        name
        for name in ("torch", "transformers", "megatron.core", "megatron.bridge")
        if importlib.util.find_spec(name.split(".")[0]) is None or importlib.util.find_spec(name) is None
    ]
    if missing:
        raise ConfigError(
            f"the smoke test needs {', '.join(missing)} in this interpreter ({sys.executable}); "
            "run it in the smoke environment: tox -e smoke, or pip install -r requirements/smoke.txt"
        )
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ConfigError("--device cuda: torch sees no CUDA device")


def run(args: argparse.Namespace) -> int:
    from codemods.smoke import SmokeOptions, run_smoke, run_smoke_subprocess

    if args.tp < 1 or args.pp < 1:
        raise ConfigError(f"--tp and --pp must be >= 1, got {args.tp} and {args.pp}")
    check_environment(args.device)
    opts = SmokeOptions(
        model=args.model,
        config=args.config,
        quantize=args.quantize,
        device=args.device,
        tp=args.tp,
        pp=args.pp,
        num_layers=args.num_layers,
        seed=args.seed,
        workdir=args.workdir,
        bridge=args.bridge,
    )
    report = run_smoke(opts) if args.tp * args.pp == 1 else run_smoke_subprocess(opts)
    if args.report:
        report.write(Path(args.report))
    if args.format == "json":
        json.dump(report.to_dict(), sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print(report.summary())
        if report.traceback:
            print(report.traceback, file=sys.stderr)
    return 0 if report.passed else 1
