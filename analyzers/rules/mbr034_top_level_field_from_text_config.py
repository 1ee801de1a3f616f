"""MBR034: a multimodal bridge reading a top-level HF config field from `text_config`."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from analyzers.catalog._syntax import attribute_reads
from analyzers.catalog.records import Location
from analyzers.lint.rule import Finding, Invalid, LintRule

#: fields that live on the top-level config of composite (VLM/omni) HF configs
TOP_LEVEL = ("tie_word_embeddings", "image_token_id", "video_token_id")
_HEAD = "from megatron.bridge.models.conversion.model_bridge import MegatronModelBridge\n\n\n"
_REG = '@MegatronModelBridge.register_bridge(source="FooForConditionalGeneration", target=FooVLModel, model_type="foo_vl")\n'


def _owner(node: ast.expr) -> str:
    while isinstance(node, ast.Attribute):
        return node.attr if node.attr.endswith("config") else _owner(node.value)
    return node.id if isinstance(node, ast.Name) else ""


def _reads(tree: ast.AST) -> Iterator[tuple[ast.expr, str, str, bool]]:
    """(node, owner, field, is_fallback) for `x.field` and `getattr(x, "field", ...)` reads of TOP_LEVEL fields."""
    fallback_ids: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and len(node.args) == 3
        ):
            if (
                isinstance(node.args[1], ast.Constant)
                and node.args[1].value in TOP_LEVEL
                and "text" not in _owner(node.args[0])
            ):
                fallback_ids.update(id(n) for n in ast.walk(node.args[2]))
    for node, owner, field in attribute_reads(tree):
        if field in TOP_LEVEL:
            yield node, _owner(owner), field, id(node) in fallback_ids


def _assigned_on_top_level(fn: ast.AST, field: str) -> bool:
    for node in ast.walk(fn):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and node.attr == field:
            if "text" not in _owner(node.value):
                return True
    return False


class TopLevelFieldFromTextConfig(LintRule):
    """Flags multimodal bridges that read `tie_word_embeddings` (or image/video token ids) from `text_config`.

    ## What it does
    In bridge modules, reports reads of top-level fields of composite HF configs
    (`tie_word_embeddings`, `image_token_id`, `video_token_id`) through a `text_config` object.
    Not flagged: a read used only as the fallback of `getattr(hf_config, field, ...)`, a function that
    writes the value back to the top-level config (a deliberate reconciliation), and a read right
    below a comment that names the field (a documented exception).

    ## Why is this bad?
    In transformers' composite configs these fields live on the parent config; `text_config` holds
    the class default, so weight tying silently follows the default instead of the checkpoint and
    the exported `lm_head.weight` is wrong (or missing).

    ## Use instead
    `getattr(hf_config, "tie_word_embeddings", False)` on the top-level config.
    """

    CODE = "MBR034"
    NAME = "top-level-field-from-text-config"
    MESSAGE = "`{field}` read from `{owner}`; it lives on the top-level HF config of composite models"
    FILES = r"^src/megatron/bridge/models/.+_bridge\.py$"
    VALID = [
        _HEAD
        + _REG
        + "class FooBridge(MegatronModelBridge):\n    def provider_bridge(self, hf_pretrained):\n        hf_config = hf_pretrained.config\n        text_config = hf_config.text_config\n"
        '        return dict(tie=getattr(hf_config, "tie_word_embeddings", False), hidden=text_config.hidden_size)\n',
        _HEAD
        + _REG
        + "class FooBridge(MegatronModelBridge):\n    def provider_bridge(self, hf_pretrained):\n        hf_config = hf_pretrained.config\n        text_config = hf_config.text_config\n"
        '        return getattr(hf_config, "tie_word_embeddings", getattr(text_config, "tie_word_embeddings", False))\n',
    ]
    INVALID = [
        Invalid(
            _HEAD
            + _REG
            + "class FooBridge(MegatronModelBridge):\n    def provider_bridge(self, hf_pretrained):\n        text_config = hf_pretrained.config.text_config\n"
            '        return FooVLModelProvider(share_embeddings_and_output_weights=getattr(text_config, "tie_word_embeddings", False))\n',
            expected_lines=(8,),
        ),
        Invalid(
            _HEAD
            + _REG
            + "class FooBridge(MegatronModelBridge):\n    def provider_bridge(self, hf_pretrained):\n"
            "        return FooVLModelProvider(tie=hf_pretrained.config.text_config.tie_word_embeddings)\n",
            expected_lines=(7,),
        ),
    ]

    def check_file(self, path: str) -> Iterator[Finding]:
        text = self.ctx.text(path)
        if text is None or not any(field in text for field in TOP_LEVEL):
            return  # no read of a top-level field can be written without its name
        module = self.ctx.module(path)
        if module is None:
            return
        lines = module.source.splitlines()
        for fn in ast.walk(module.tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node, owner, field, fallback in _reads(fn):
                if "text" not in owner or fallback or _assigned_on_top_level(fn, field):
                    continue
                if _commented(lines, node.lineno, field):
                    continue
                yield self.finding(Location(path, node.lineno, node.col_offset), field=field, owner=owner)


def _commented(lines: list[str], line: int, field: str) -> bool:
    """A comment block ending right above `line` (within 12 lines) that names `field`."""
    i = line - 2
    while i >= 0 and i >= line - 14 and lines[i].strip().startswith("#"):
        if field in lines[i]:
            return True
        i -= 1
    return False
