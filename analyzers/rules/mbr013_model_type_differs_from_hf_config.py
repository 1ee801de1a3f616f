"""MBR013: a registered `model_type` that is not the `model_type` of the source's HF config class."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from analyzers.lint.rule import Finding, Invalid, LintRule
from analyzers.transformers_source import class_folders, transformers_dir

_HEAD = "from megatron.bridge.models.conversion.model_bridge import MegatronModelBridge\n\n\n"
_PAIR = re.compile(r'\(\s*"([\w\-.]+)"\s*,\s*"(\w+)"\s*\)')
_MODEL_TYPE = re.compile(r'^\s+model_type\s*(?::\s*\w+\s*)?=\s*"([\w\-.]+)"', re.MULTILINE)


@cache
def _auto_pairs(tdir: Path) -> dict[str, set[str]]:
    """HF class name -> model types it is mapped from, read from `models/auto/modeling_auto.py`."""
    out: dict[str, set[str]] = {}
    try:
        text = (tdir / "models/auto/modeling_auto.py").read_text(encoding="utf-8")
    except OSError:
        return out
    for model_type, cls in _PAIR.findall(text):
        out.setdefault(cls, set()).add(model_type)
    return out


def config_model_types(tdir: Path, source: str) -> set[str] | None:
    """Every `model_type` the HF class `source` can be built from; None when transformers does not know it."""
    types = set(_auto_pairs(tdir).get(source, set()))
    name = class_folders(tdir).get(source) if not types else None
    folder = tdir / "models" / name if name else None
    if folder is not None:
        for conf in folder.glob("configuration_*.py"):
            try:
                types.update(_MODEL_TYPE.findall(conf.read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError):
                continue
    return types or None


class ModelTypeDiffersFromHfConfig(LintRule):
    """Flags a `model_type` that differs from the `model_type` of the HF config class of `source`.

    ## What it does
    Reads the installed transformers package's source files (never imports it): the auto mappings in
    `models/auto/modeling_auto.py` name the model types each HF class is built from, and for classes
    not listed there the `model_type = "..."` of `models/<x>/configuration_<x>.py` in the class's
    folder. Sources transformers does not know (remote-code architectures) are not checked; without
    transformers the rule is skipped with a note.

    ## Why is this bad?
    The exported `config.json` gets this `model_type`; when it names another model, `AutoConfig`
    builds the wrong config class for the exported checkpoint (a copied bridge keeps its source's
    value and nothing fails until someone loads the export).

    ## Use instead
    The `model_type` class attribute of the HF config class.
    """

    CODE = "MBR013"
    NAME = "model-type-differs-from-hf-config"
    MESSAGE = '`model_type="{model_type}"` but transformers builds `{source}` from model type {expected}'
    VALID = [
        _HEAD
        + '@MegatronModelBridge.register_bridge(source="Qwen3ForCausalLM", target=GPTModel, model_type="qwen3")\nclass FooBridge(MegatronModelBridge):\n    pass\n',
        # Unknown to transformers (remote code): not checked.
        _HEAD
        + '@MegatronModelBridge.register_bridge(source="NotInTransformersForCausalLM", target=GPTModel, model_type="x")\nclass FooBridge(MegatronModelBridge):\n    pass\n',
    ]
    INVALID = [
        Invalid(
            _HEAD
            + '@MegatronModelBridge.register_bridge(source="Qwen3ForCausalLM", target=GPTModel, model_type="qwen2")\nclass FooBridge(MegatronModelBridge):\n    pass\n',
            expected_lines=(4,),
            expected_message='"qwen3"',
        ),
    ]

    def check_tree(self) -> Iterator[Finding]:
        tdir = transformers_dir()
        if tdir is None:
            self.ctx.notes.append(f"{self.CODE} ({self.NAME}) not run: transformers is not installed")
            return
        for bridge in self.ctx.catalog.bridges:
            for reg in bridge.registrations:
                if not reg.model_type or not reg.source or reg.source_kind == "unknown":
                    continue
                expected = config_model_types(tdir, reg.source)
                if expected is None or reg.model_type in expected:
                    continue
                yield self.finding(
                    reg.location,
                    model_type=reg.model_type,
                    source=reg.source,
                    expected=", ".join(f'"{t}"' for t in sorted(expected)),
                )
