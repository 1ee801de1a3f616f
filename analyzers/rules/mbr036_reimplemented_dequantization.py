"""MBR036: a bridge that re-implements dequantization the shared quantization helpers provide."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from analyzers.catalog.quantization import MARKERS, UNCOVERED, first_marker
from analyzers.catalog.records import Location
from analyzers.lint.rule import Finding, Invalid, LintRule

HELPERS_MODULE = "megatron.bridge.models.conversion.quantization_utils"


def _text(node: ast.AST) -> str:
    return ast.unparse(node).lower()


def _scales_by_multiplication(fn: ast.AST) -> bool:
    for node in ast.walk(fn):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult | ast.Div):
            if "scale" in _text(node.left) or "scale" in _text(node.right):
                return True
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("mul", "mul_", "div")
        ):
            if any("scale" in _text(a) for a in node.args):
                return True
    return False


class ReimplementedDequantization(LintRule):
    """Flags dequantization code in model folders that does not use `conversion/quantization_utils.py`.

    ## What it does
    In modules under `models/` (outside `conversion/`), reports functions that work on a quantized
    format the shared helpers cover (FP8 block-wise or per-tensor `weight_scale_inv`, MXFP4
    blocks/scales, INT4) and multiply or divide by a scale themselves without calling any
    function imported from `quantization_utils`. Formats the helpers do not cover (NVFP4) are
    left alone.

    ## Why is this bad?
    Each copy re-derives block shapes, padding and dtype handling; the copies diverge (edge blocks,
    e8m0 scales, requantization on export) and bugs fixed in the helpers stay in the copies.

    ## Use instead
    `dequantize_fp8_blockwise`, `maybe_dequantize_fp8`, `dequantize_mxfp4`, `dequantize_int4` from
    `megatron.bridge.models.conversion.quantization_utils`.
    """

    CODE = "MBR036"
    NAME = "reimplemented-dequantization"
    MESSAGE = "`{function}` re-implements {fmt} dequantization; use `quantization_utils`"
    FILES = r"^src/megatron/bridge/models/(?!conversion/)[^/]+/.+\.py$"
    VALID = [
        "from megatron.bridge.models.conversion.quantization_utils import dequantize_fp8_blockwise\n\n\n"
        "def load(weight, scale_inv):\n    return dequantize_fp8_blockwise(weight, scale_inv) * 1.0\n",
        "def scale_logits(x, logit_scale):\n    return x * logit_scale\n",
    ]
    INVALID = [
        Invalid(
            "import torch\n\n\ndef _dequant(weight, scale_inv):\n    scale_full = scale_inv.repeat_interleave(128, 0).repeat_interleave(128, 1)\n"
            "    return (weight.to(torch.float32) * scale_full[: weight.shape[0], : weight.shape[1]]).to(torch.bfloat16)\n\n\n"
            "def load(state, key):\n    w = state[key]\n    if w.dtype == torch.float8_e4m3fn:\n        return _dequant(w, state[key + '_scale_inv'])\n    return w\n",
            expected_lines=(4,),
        ),
    ]

    def check_file(self, path: str) -> Iterator[Finding]:
        source = (self.ctx.text(path) or "").lower()
        if not any(m.text in source for m in MARKERS):
            return  # no quantized format named anywhere in the module
        module = self.ctx.module(path)
        if module is None:
            return
        helpers = {local for local, (mod, _) in module.imports.items() if mod == HELPERS_MODULE}
        helpers |= {
            local for local, (mod, name) in module.imports.items() if not name and mod == HELPERS_MODULE
        }
        for fn in ast.walk(module.tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if not any(m.text in module.segment(fn, limit=10**9).lower() for m in MARKERS):
                continue  # the cheap check first: the source text holds every name the unparsed text does
            text = ast.unparse(fn).lower()
            marker = first_marker(text)
            if marker is None or any(u in text for u in UNCOVERED):
                continue
            if "dequant" not in fn.name.lower() and "scale_inv" not in text and "float8" not in text:
                continue
            if not _scales_by_multiplication(fn):
                continue
            calls_helper = any(
                isinstance(n, ast.Call)
                and (
                    (isinstance(n.func, ast.Name) and n.func.id in helpers)
                    or (
                        isinstance(n.func, ast.Attribute)
                        and isinstance(n.func.value, ast.Name)
                        and n.func.value.id in helpers
                    )
                )
                for n in ast.walk(fn)
            )
            if calls_helper:
                continue
            yield self.finding(Location(path, fn.lineno, fn.col_offset), function=fn.name, fmt=marker.label)
