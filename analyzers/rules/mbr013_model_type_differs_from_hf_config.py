"""MBR013: a registered `model_type` that is not the `model_type` of the source's HF config class."""

from __future__ import annotations

from collections.abc import Iterator

from analyzers.lint.rule import Finding, Invalid, LintRule, RuleUnavailable
from analyzers.rules._hf_model_types import ModelTypes

_HEAD = "from megatron.bridge.models.conversion.model_bridge import MegatronModelBridge\n\n\n"


class ModelTypeDiffersFromHfConfig(LintRule):
    """Flags a `model_type` that differs from the `model_type` of the HF config class of `source`.

    ## What it does
    Reads the installed transformers package's source files (never imports it): the auto mappings in
    `models/auto/modeling_auto.py` name the model types each HF class is built from, and for classes
    not listed there the `model_type = "..."` of `models/<x>/configuration_<x>.py` in the class's
    folder. Without transformers it reads the same facts from an index shipped with bridgesmith
    (built from the transformers version it names). Sources transformers does not know
    (remote-code architectures) are not checked.

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
        try:
            types = ModelTypes()
        except (OSError, ValueError, KeyError) as exc:
            raise RuleUnavailable(f"no transformers and no readable model-type index ({exc})") from None
        for bridge in self.ctx.catalog.bridges:
            for reg in bridge.registrations:
                if not reg.model_type or not reg.source or reg.source_kind == "unknown":
                    continue
                expected = types.of(reg.source)
                if expected is None or reg.model_type in expected:
                    continue
                yield self.finding(
                    reg.location,
                    model_type=reg.model_type,
                    source=reg.source,
                    expected=", ".join(f'"{t}"' for t in sorted(expected)),
                )
