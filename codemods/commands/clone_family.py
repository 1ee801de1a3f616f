"""`python -m codemods clone-family [SRC] DST`: clone a model's bridge, recipes, registrations, tests, docs
and examples under a new name, as one all-or-nothing plan."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from analyzers.catalog.modules import module_name
from analyzers.change_output import ChangeOutput
from analyzers.cli_common import add_format_argument, add_repo_argument, load_catalog, load_repo
from analyzers.errors import ConfigError, ResolveError, UnexpressibleError
from analyzers.provider_report import warn_unchecked
from codemods.clone_family import CloneRequest, CloneResult, plan_clone

HELP = "clone a model (bridge, provider, recipes, registrations, tests, docs, examples) under a new name"


def check_smoke_environment() -> None:
    """Raise ConfigError (one line, naming the environment to use) unless torch + Megatron are importable."""
    from codemods.commands.smoke import check_environment

    try:
        check_environment("cpu")
    except ConfigError as exc:
        raise ConfigError(f"clone-family --smoke: {exc.message}") from None


def run_clone_smoke(result: CloneResult, args: argparse.Namespace) -> int:
    """Smoke-test the bridge just written: toy HF -> Megatron -> HF roundtrip with the fp32 logits check,
    through the generated class, in a fresh process importing the tree's own `src/`.

    The class is registered for the toy's architecture before AutoBridge dispatches (the installed
    Megatron-Bridge does not know a new architecture); the toy model is built from `--config` (the new
    architecture), else from SRC's model_type.
    """
    import tempfile

    from codemods.smoke import SmokeOptions, run_smoke_subprocess

    bridge_file = next(new for new, old in result.files.items() if old == result.source.bridge.path)
    module = module_name(bridge_file)
    model = args.config or result.source.model_type
    if model is None:
        raise ConfigError(
            f"clone-family --smoke: {result.source.bridge.name} has no model_type; pass --config"
        )
    opts = SmokeOptions(
        model=model, bridge=f"{module}:{result.names.bridge_class}", repo=str(Path(result.plan.root))
    )
    log = Path(tempfile.mkdtemp(prefix="bridgesmith-smoke-logs-")) / "smoke.log"
    report = run_smoke_subprocess(opts, log)
    smoke = report.to_dict()
    causes = [] if report.passed else smoke_causes(result, args, smoke)
    if args.format == "json":
        clone_output(result, applied=True, smoke={**smoke, "likely_causes": causes}).present("json")
    else:
        print(report.summary())
        for cause in causes:
            print(f"{cause['check']}: {cause['cause']}")
            for evidence in cause["evidence"]:
                print(f"    evidence: {evidence}")
        if report.traceback:
            print(report.traceback, file=sys.stderr)
    return 0 if report.passed else 1


def smoke_causes(result: CloneResult, args: argparse.Namespace, smoke: dict) -> list[dict]:
    """The likely causes of a failed smoke run: its checks held against the config's function-changing
    features (`--config`) and what the clone's model files set."""
    from analyzers.expressibility import expressibility
    from analyzers.hf_config import load_spec
    from analyzers.hf_names import NamesUnavailable, collect_hf_names
    from codemods.clone_family._likely_causes import likely_causes

    features = []
    if args.config:
        spec = load_spec(args.config)
        try:
            names = collect_hf_names(spec)
            name_list, shapes = names.names, names.shapes
        except NamesUnavailable:
            name_list, shapes = None, None
        supported, unsupported = expressibility(spec, load_catalog(args), name_list, shapes)
        features = supported + unsupported
    root = Path(result.plan.root)
    files = {
        p: (root / p).read_text(encoding="utf-8")
        for p in result.files
        if p.endswith(".py") and "/models/" in p and (root / p).is_file()
    }
    return likely_causes(smoke, features, files, result.source.bridge.name)


#: Called with (result, args) after a successful apply when --smoke is given; prints the smoke verdict (with
#: `--format json`, the one document: the plan's and `smoke`) and returns the smoke run's exit code.
#: Replaceable (tests, other runners).
SMOKE_HOOK: Callable[[CloneResult, argparse.Namespace], int] = run_clone_smoke


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "src",
        metavar="SRC",
        nargs="?",
        help="model to clone: bridge class, model_type, bridge file stem or family "
        "(default with --config: nearest's top candidate)",
    )
    parser.add_argument("dst", metavar="DST", help="new model's snake_case name, e.g. qwen4")
    parser.add_argument(
        "--config", metavar="PATH", help="the new model's config.json (file, model dir or hub id)"
    )
    parser.add_argument(
        "--hf-class", metavar="NAME", help="HF architecture class (default: from SRC's, renamed)"
    )
    parser.add_argument("--model-type", metavar="NAME", help="HF model_type to register (default: DST)")
    parser.add_argument(
        "--class-prefix", metavar="NAME", help="CamelCase class prefix (default: SRC's, renamed)"
    )
    parser.add_argument(
        "--family-dir", metavar="NAME", help="new family folder under models/ (default: SRC's)"
    )
    parser.add_argument(
        "--hf-id", metavar="ORG/NAME", help="published checkpoint for recipes, docs and examples"
    )
    parser.add_argument(
        "--dry-run", "--diff", dest="dry_run", action="store_true", help="print the diff, write nothing"
    )
    parser.add_argument(
        "--smoke", action="store_true", help="run the smoke test on the result after applying"
    )
    parser.add_argument(
        "--allow-unsupported",
        action="store_true",
        help="write the clone although --config has features no bridge expresses (TODOs there; exit 1)",
    )
    add_repo_argument(parser)
    add_format_argument(parser)


def request_from_args(args: argparse.Namespace) -> CloneRequest:
    """The CloneRequest that `add_arguments`' parsed flags spell; ResolveError for DST alone without --config."""
    if args.src is None and args.config is None:
        raise ResolveError(
            f"clone-family {args.dst}: SRC is missing; name it, or pass --config so nearest picks it"
        )
    return CloneRequest(
        src=args.src,
        dst=args.dst,
        config=args.config,
        hf_class=args.hf_class,
        model_type=args.model_type,
        class_prefix=args.class_prefix,
        family_dir=args.family_dir,
        hf_id=args.hf_id,
        allow_unsupported=getattr(args, "allow_unsupported", False),
    )


def _summary(result: CloneResult, applied: bool) -> list[str]:
    changes = result.plan.changes
    created = sum(1 for e in changes if e.kind == "create")
    modified = sum(1 for e in changes if e.kind == "modify")
    verb = "wrote" if applied else "would write"
    lines = [
        f"clone-family {result.source.bridge.name} -> {result.names.bridge_class} "
        f"(model_type {result.names.model_type!r}, {result.names.hf_class}, family {result.family}): "
        f"{verb} {created} new and {modified} changed files"
    ]
    lines += [f"  {e.kind:6} {e.path}" for e in sorted(changes, key=lambda e: e.path)]
    lines += [f"  note: {line}" for line in result.plan.report]
    lines += [f"  TODO {t.path}:{t.line}: {t.message}" for t in result.plan.todos]
    return lines


def clone_output(
    result: CloneResult, applied: bool, already_applied: bool = False, **extra: Any
) -> ChangeOutput:
    """The clone's change set as every write command presents it: the summary (`_summary`), and the JSON
    document's change-set part, then `unsupported`, `unchecked` and `extra`."""
    lines = (
        [f"nothing to do: {result.names.bridge_class} is already cloned from {result.source.bridge.name}"]
        if already_applied
        else _summary(result, applied)
    )
    return result.plan.output(
        "clone-family",
        applied=applied,
        already_applied=already_applied,
        summary=lines,
        extra={"unsupported": result.unsupported, "unchecked": result.unchecked, **extra},
    )


def run(args: argparse.Namespace) -> int:
    if args.smoke and not args.dry_run and SMOKE_HOOK is run_clone_smoke:
        check_smoke_environment()  # before anything is written
    repo = load_repo(args)
    try:
        # plan_clone builds (or loads) the catalog through the run's source index: one parse of SRC's modules
        result = plan_clone(repo.root, request_from_args(args))
    except UnexpressibleError as exc:
        warn_unchecked("clone-family", list(exc.notes))
        raise
    warn_unchecked("clone-family", list(result.unchecked))
    # a clone written with features no bridge expresses is a finding, like a failed check
    written_rc = 1 if result.unsupported else 0
    if result.already_applied:
        # with nothing written the line is the command's result: stdout
        clone_output(result, applied=False, already_applied=True).present(args.format, err=sys.stdout)
        return 0
    if args.dry_run:
        # the summary (files, notes, TODOs) on stderr before the diff; stdout stays the bare diff (`git apply`)
        clone_output(result, applied=False).present(args.format)
        return written_rc
    result.plan.apply()
    output = clone_output(result, applied=True)
    if args.format != "json":
        # after an apply the summary is the command's result: stdout (the smoke verdict follows it)
        output.print_summary(sys.stdout)
    if args.smoke:
        return max(SMOKE_HOOK(result, args), written_rc)
    if args.format == "json":
        output.present("json")
    return written_rc
