"""MBR032: a bridge that overrides `build_conversion_tasks`."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from analyzers.catalog.records import BridgeRecord, Location
from analyzers.lint.rule import Finding, Invalid, LintRule

_HEAD = "from megatron.bridge.models.conversion.model_bridge import MegatronModelBridge\n\n\n"
_REG = '@MegatronModelBridge.register_bridge(source="FooForCausalLM", target=GPTModel, model_type="foo")\n'


def method_location(ctx, bridge: BridgeRecord, name: str) -> Location:
    module = ctx.module(bridge.path)
    if module is not None:
        for node in ast.walk(module.tree):
            if isinstance(node, ast.ClassDef) and node.name == bridge.name:
                for stmt in node.body:
                    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.name == name:
                        return Location(bridge.path, stmt.lineno, stmt.col_offset)
    return bridge.location


class BuildConversionTasksOverride(LintRule):
    """Flags bridges that override `build_conversion_tasks`.

    ## What it does
    Reports a `build_conversion_tasks` method defined in a bridge class.

    ## Why is this bad?
    `build_conversion_tasks` is the shared engine that matches every Megatron parameter with its
    mapping (PP/VPP/EP aware); copies in bridges miss its later fixes. Bridges override it mostly
    to see the HF config while building the mapping list, and the base class already sets
    `self.hf_config` before it calls `mapping_registry()`.

    ## Use instead
    Read `self.hf_config` in `mapping_registry()` and build the conditional mappings there.
    """

    CODE = "MBR032"
    NAME = "build-conversion-tasks-override"
    MESSAGE = (
        "`{bridge}` overrides `build_conversion_tasks`; read `self.hf_config` in `mapping_registry()` instead"
    )
    VALID = [
        _HEAD
        + _REG
        + "class FooBridge(MegatronModelBridge):\n    def mapping_registry(self):\n        n = self.hf_config.num_layers\n        return n\n",
    ]
    INVALID = [
        Invalid(
            _HEAD
            + _REG
            + "class FooBridge(MegatronModelBridge):\n    def build_conversion_tasks(self, hf_pretrained, megatron_model):\n        self.hf_config = hf_pretrained.config\n        return super().build_conversion_tasks(hf_pretrained, megatron_model)\n",
            expected_lines=(6,),
        ),
    ]

    def check_bridge(self, bridge: BridgeRecord) -> Iterator[Finding]:
        if "build_conversion_tasks" in bridge.hooks:
            yield self.finding(
                method_location(self.ctx, bridge, "build_conversion_tasks"), bridge=bridge.name
            )
