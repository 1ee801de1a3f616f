r"""The cloned bridge's class docstring, written for the new model: its summary line names the new HF
architecture, not a mechanical rename of SRC's prose ("Megatron Bridge for GLM 4.5 Models" on a qwen2_moe
clone).

>>> import libcst as cst
>>> src = "class ABridge:\n    'Megatron Bridge for GLM 4.5 Models.'\n"
>>> print(bridge_docstring(cst.parse_module(src), "ABridge", "AForCausalLM", "GLM45Bridge").code, end="")
class ABridge:
    'Megatron Bridge for AForCausalLM (cloned from GLM45Bridge by bridgesmith clone-family).'
"""

from __future__ import annotations

import libcst as cst

__all__ = ["bridge_docstring"]


class _Summary(cst.CSTTransformer):
    def __init__(self, bridge_class: str, summary: str) -> None:
        self.bridge_class, self.summary = bridge_class, summary

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        if updated.name.value != self.bridge_class or not isinstance(updated.body, cst.IndentedBlock):
            return updated
        body = list(updated.body.body)
        first = body[0] if body else None
        if not (
            isinstance(first, cst.SimpleStatementLine)
            and isinstance(first.body[0], cst.Expr)
            and isinstance(first.body[0].value, cst.SimpleString)
        ):
            return updated
        string = first.body[0].value
        quote = string.quote
        inner = string.value[len(string.prefix) + len(quote) : -len(quote)]
        lines = inner.split("\n")
        # The summary is the first non-blank line (`"""\n    Megatron Bridge for ...`).
        index = next((i for i, line in enumerate(lines) if line.strip()), None)
        if index is None:
            return updated
        indent = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
        lines[index] = indent + self.summary
        new_string = string.with_changes(value=f"{string.prefix}{quote}{chr(10).join(lines)}{quote}")
        body[0] = first.with_changes(body=[first.body[0].with_changes(value=new_string)])
        return updated.with_changes(body=updated.body.with_changes(body=body))


def bridge_docstring(module: cst.Module, bridge_class: str, hf_class: str, source_bridge: str) -> cst.Module:
    """`module` with `bridge_class`'s docstring summary naming `hf_class` and the bridge it was cloned from."""
    summary = f"Megatron Bridge for {hf_class} (cloned from {source_bridge} by bridgesmith clone-family)."
    return module.visit(_Summary(bridge_class, summary))
