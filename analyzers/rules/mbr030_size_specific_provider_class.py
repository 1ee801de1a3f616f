"""MBR030: a provider class named after one model size."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from analyzers.catalog.records import Location
from analyzers.lint.rule import Finding, Invalid, LintRule

#: a size token inside a CamelCase name: 7B, 1p5B, 200M, 30B, A3B, 1T (but not the M of "Model")
SIZE = re.compile(r"(?:\d+(?:p\d+)?[BMT]|A\d+(?:p\d+)?B)(?=$|_|[A-Z0-9])")
CLASS_NAME = re.compile(r"\bclass\s+(\w*Provider\w*)")


class SizeSpecificProviderClass(LintRule):
    """Flags provider classes whose name carries a model size (`7B`, `200M`, `A3B`).

    ## What it does
    Checks class names containing `Provider` defined under `models/` for a size suffix.

    ## Why is this bad?
    Sizes are data, not classes: Megatron-Bridge builds providers from the HF config
    (`provider_bridge`), and recipes set sizes on one provider class. One class per size
    multiplies code that drifts apart (MB removed them and tests that none come back).

    ## Use instead
    One provider per architecture; sizes come from the HF config or the recipe.
    """

    CODE = "MBR030"
    NAME = "size-specific-provider-class"
    MESSAGE = "provider class `{name}` is specific to one model size (`{size}`)"
    EXAMPLE_PATH = "src/megatron/bridge/models/foo/foo_provider.py"
    FILES = r"^src/megatron/bridge/models/.+\.py$"
    VALID = [
        "class Qwen3ModelProvider(GPTModelProvider):\n    pass\n\n\nclass FalconH1ModelProvider(Qwen3ModelProvider):\n    pass\n",
        "class Step37Flickr8kSFTDataProvider:\n    pass\n",
    ]
    INVALID = [
        Invalid(
            "class Qwen3ModelProvider(GPTModelProvider):\n    pass\n\n\nclass Qwen3ModelProvider8B(Qwen3ModelProvider):\n    pass\n",
            expected_lines=(5,),
        ),
        Invalid(
            "class Qwen3MoEModelProvider30B_A3B(GPTModelProvider):\n    pass\n",
            expected_lines=(1,),
            expected_message="30B",
        ),
        Invalid("class Llama32ModelProvider1B(GPTModelProvider):\n    pass\n", expected_lines=(1,)),
    ]

    def check_file(self, path: str) -> Iterator[Finding]:
        text = self.ctx.text(path)
        # Most modules declare no sized provider class at all: a text check spares the parse and the walk.
        if text is None or not any(SIZE.search(name) for name in CLASS_NAME.findall(text)):
            return
        module = self.ctx.module(path)
        if module is None:
            return
        for node in ast.walk(module.tree):
            if isinstance(node, ast.ClassDef) and "Provider" in node.name:
                match = SIZE.search(node.name)
                if match:
                    yield self.finding(
                        Location(path, node.lineno, node.col_offset), name=node.name, size=match.group(0)
                    )
