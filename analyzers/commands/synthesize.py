"""`python -m analyzers synthesize CONFIG`: write a mapping registry for a model from its HF checkpoint names."""

from __future__ import annotations

import argparse
import sys

from analyzers.cli_common import add_format_argument, add_repo_argument, load_catalog, print_json
from analyzers.commands.inspect import add_config_arguments
from analyzers.envelope import versioned
from analyzers.errors import ConfigError
from analyzers.hf_config import MTP_FIELDS, ModelSpec, load_spec
from analyzers.hf_names import NamesUnavailable, collect_hf_names
from analyzers.synthesize import Synthesis, render_json, render_python, render_text, synthesize
from analyzers.vocabulary import learn_vocabulary

HELP = "synthesize a mapping registry for a model from its HF checkpoint names and the bridges' vocabulary"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    add_repo_argument(parser)
    add_format_argument(parser, ("text", "json", "python"))
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="BRIDGE_OR_FAMILY",
        help="leave this bridge (class name) or family (folder under models/) out of the training set; repeatable",
    )


def mtp_fields(spec: ModelSpec) -> dict[str, object]:
    """Config fields that size MTP layers, when set to a positive number."""
    fields = spec.text_fields()
    return {k: fields[k] for k in MTP_FIELDS if isinstance(fields.get(k), int) and fields[k] > 0}


def synthesize_spec(args: argparse.Namespace) -> Synthesis:
    if args.no_names:
        raise ConfigError("synthesize needs the HF parameter names: drop --no-names")
    spec = load_spec(args.config, from_transformers=args.from_transformers)
    vocab = learn_vocabulary(
        load_catalog(args), exclude=args.exclude
    )  # a bad --exclude fails before the model build
    try:
        names = collect_hf_names(spec)
    except NamesUnavailable as exc:
        raise ConfigError(str(exc), spec.config_path or spec.source) from None
    return synthesize(
        vocab,
        names.names,
        tied=names.tied,
        multimodal=spec.kind != "llm",
        mtp_fields=mtp_fields(spec),
        source=f"{names.source}: {names.model_class or spec.source}",
        model_type=spec.model_type,
    )


def run(args: argparse.Namespace) -> int:
    result = synthesize_spec(args)
    if args.format == "json":
        print_json(versioned("synthesize", render_json(result)))
    elif args.format == "python":
        sys.stdout.write(render_python(result))
    else:
        print(render_text(result))
    unmapped = result.names_total - result.mapped_names
    print(
        f"{len(result.mappings)} mappings for {result.mapped_names}/{result.names_total} HF names; "
        f"{unmapped} unmapped, {len(result.todos)} TODO",
        file=sys.stderr,
    )
    return 0
