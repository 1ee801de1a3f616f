r"""The cloned bridge's class docstring, written for the new model: its summary line names the new HF
architecture, not a mechanical rename of SRC's prose ("Megatron Bridge for GLM 4.5 Models" on a qwen2_moe
clone).

>>> import libcst as cst
>>> src = "class ABridge:\n    'Megatron Bridge for GLM 4.5 Models.'\n"
>>> print(bridge_docstring(cst.parse_module(src), "ABridge", "AForCausalLM").code, end="")
class ABridge:
    'Megatron Bridge for AForCausalLM.'
"""

from __future__ import annotations

import re

import libcst as cst

from codemods.clone_family._templates import TODO

__all__ = ["bridge_docstring"]


_HUB_ID = re.compile(r"""(["'])[A-Za-z0-9][\w.-]*/[\w.-]+\1""")


class _Summary(cst.CSTTransformer):
    def __init__(self, bridge_class: str, summary: str, hf_id: str | None) -> None:
        self.bridge_class, self.summary, self.hf_id = bridge_class, summary, hf_id

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
        # SRC's prose describes SRC ("used for GLM 4.5 models"); only its usage example carries over.
        example = next((i for i, line in enumerate(lines) if line.strip().startswith("Example")), None)
        kept = ["", *lines[example:]] if example is not None else ([lines[-1]] if len(lines) > 1 else [])
        # Its checkpoint is SRC's (or a guess): the new model's is `--hf-id`, else a TODO.
        hub = self.hf_id or f"{TODO}: hub id"
        kept = [_HUB_ID.sub(lambda m: f"{m.group(1)}{hub}{m.group(1)}", line) for line in kept]
        lines = [*lines[:index], indent + self.summary, *kept]
        new_string = string.with_changes(value=f"{string.prefix}{quote}{chr(10).join(lines)}{quote}")
        body[0] = first.with_changes(body=[first.body[0].with_changes(value=new_string)])
        return updated.with_changes(body=updated.body.with_changes(body=body))


def bridge_docstring(
    module: cst.Module, bridge_class: str, hf_class: str, hf_id: str | None = None
) -> cst.Module:
    """`module` with `bridge_class`'s docstring summary naming `hf_class`, SRC's description dropped (the
    report names the source) and the example's hub id `hf_id` (else a TODO)."""
    summary = f"Megatron Bridge for {hf_class}."
    return module.visit(_Summary(bridge_class, summary, hf_id))
