"""MBR031: a branch on a specific model inside the shared conversion code."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cached_property

from analyzers.catalog.records import Location
from analyzers.lint.rule import Finding, Invalid, LintRule

_STR_METHODS = {"startswith", "endswith", "find", "count", "index", "__contains__"}


def _strings(node: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _mentions_model_type(node: ast.AST) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and sub.attr == "model_type":
            return True
        if isinstance(sub, ast.Name) and sub.id == "model_type":
            return True
        if isinstance(sub, ast.Constant) and sub.value == "model_type":
            return True
    return False


class ModelSpecificBranchInConversion(LintRule):
    """Flags conditions in `models/conversion/` that test for one particular model.

    ## What it does
    In the shared conversion modules, reports `if`/conditional-expression/comprehension tests that
    compare `model_type` with string constants, or that compare any value (an architecture name, a
    weight name) with a string naming a registered model (a family, a registered `model_type`, an HF architecture class
    such as `Qwen3ForCausalLM`).

    ## Why is this bad?
    The conversion core is shared by every bridge; a special case for one model there changes
    behaviour for all of them, is invisible from the model's bridge, and is never removed. The
    bridge has hooks for this (`maybe_modify_loaded_hf_weight`, custom mapping classes,
    `megatron_to_hf_config`).

    ## Use instead
    Move the special case into the model's bridge (a hook override or a mapping class).
    """

    CODE = "MBR031"
    NAME = "model-specific-branch-in-conversion"
    MESSAGE = "shared conversion code branches on a specific model: `{test}`"
    EXAMPLE_PATH = "src/megatron/bridge/models/conversion/model_bridge.py"
    FILES = r"^src/megatron/bridge/models/conversion/.+\.py$"
    VALID = [
        "class MegatronModelBridge:\n    def f(self, config, name):\n        if name.endswith('.weight'):\n            return 1\n        return getattr(config, 'tie_word_embeddings', False)\n",
    ]
    INVALID = [
        Invalid(
            "class MegatronModelBridge:\n    def f(self, config):\n        if config.model_type == 'qwen3_next':\n            return 1\n",
            expected_lines=(3,),
        ),
        Invalid(
            "class MegatronModelBridge:\n    def f(self, config):\n        archs = config.architectures\n        return 2 if 'FooForCausalLM' in archs else 1\n",
            expected_lines=(4,),
        ),
    ]

    @cached_property
    def _model_tokens(self) -> re.Pattern[str] | None:
        tokens: set[str] = set()
        for bridge in self.ctx.catalog.bridges:
            for reg in bridge.registrations:
                if reg.model_type:
                    tokens.add(reg.model_type)
                if reg.source and reg.source_kind in ("class", "string", "constant"):
                    tokens.add(reg.source)
        tokens |= {f.name for f in self.ctx.catalog.families if not f.name.startswith("diffusion/")}
        tokens = {t for t in tokens if len(t) >= 4}
        if not tokens:
            return None
        alternatives = "|".join(sorted((re.escape(t) for t in tokens), key=len, reverse=True))
        return re.compile(rf"(?<![A-Za-z0-9])(?:{alternatives})(?![a-z])", re.IGNORECASE)

    def _is_model_specific(self, test: ast.expr) -> bool:
        strings = _strings(test)
        if not strings:
            return False
        if _mentions_model_type(test) and any(s != "model_type" for s in strings):
            return True
        pattern = self._model_tokens
        if pattern is None:
            return False
        for sub in ast.walk(test):
            compared: list[ast.expr] = []
            if isinstance(sub, ast.Compare):
                compared = [sub.left, *sub.comparators]
            elif (
                isinstance(sub, ast.Call)
                and isinstance(sub.func, ast.Attribute)
                and sub.func.attr in _STR_METHODS
            ):
                compared = list(sub.args)
            for part in compared:
                if any(pattern.search(s) for s in _strings(part)):
                    return True
        return False

    def check_file(self, path: str) -> Iterator[Finding]:
        module = self.ctx.module(path)
        if module is None:
            return
        for node in ast.walk(module.tree):
            tests: list[ast.expr] = []
            if isinstance(node, ast.If | ast.IfExp | ast.While):
                tests = [node.test]
            elif isinstance(node, ast.comprehension):
                tests = list(node.ifs)
            for test in tests:
                if self._is_model_specific(test):
                    yield self.finding(
                        Location(path, test.lineno, test.col_offset), test=module.segment(test, 80)
                    )
