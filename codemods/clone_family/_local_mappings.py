"""Local mapping classes a clone writes into its bridge module where no catalog class takes an HF weight group.

Today one: a dense MLP whose checkpoint fuses gate and up into one tensor (Phi3's ``mlp.gate_up_proj.weight``,
``[gate; up]`` of shape ``[2 * intermediate, hidden]``). The catalog's fused gate/up class is for experts
(`FusedGatedExpertMapping`) and `GatedMLPMapping` takes two tensors, so the clone writes
`FusedGateUpMLPMapping` (``templates/fused_gate_up_mapping.py.txt``): it splits the tensor in two and
delegates to `GatedMLPMapping`, which lays the halves out per tensor-parallel rank, and concatenates them
back on export; only for a model whose modeling file splits the projection's output in halves, gate first
(``gate, up = h.chunk(2, dim=-1)``, `ModelingFacts.fused_gate_up_layout`), Megatron's own order: any other
split would pass the roundtrip bit-exact and compute another function. `plan_local_mappings` adds its
registry entries onto ``mlp.linear_fc1``; `insert_local_classes` writes the class above the bridge class
(libcst); stage 6 formats those lines with the tree's ruff configuration like every other changed line.

>>> (local,) = plan_local_mappings(["model.layers.*.mlp.gate_up_proj.weight"], "phi3", "")
>>> local.class_name, local.megatron_param
('FusedGateUpMLPMapping', 'decoder.layers.*.mlp.linear_fc1.weight')
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import libcst as cst

from analyzers.layer_roles import hf_roles
from analyzers.vocabulary import DECODER
from codemods.clone_family._templates import render

__all__ = ["FEATURE", "LocalMapping", "insert_local_classes", "plan_local_mappings", "shared_imports"]

#: the expressibility feature (`analyzers.expressibility`) the class expresses
FEATURE = "fused gate/up MLP tensor"
#: HF decoder-layer shape: (prefix through ``layers.*.``, the layer-relative suffix)
_LAYER = re.compile(r"^(?P<prefix>(?:.+\.)?layers\.\*\.)(?P<suffix>.+)$")


@dataclass(frozen=True)
class LocalMapping:
    """One mapping class the clone defines in the bridge module, and one registry entry using it."""

    class_name: str
    template: str  #: file under ``templates/``
    feature: str  #: the expressibility feature it expresses
    megatron_param: str
    hf_param: str
    #: the shared classes the class body uses (imported from the catalog's module that defines them)
    uses: tuple[str, ...] = ("GatedMLPMapping", "MegatronParamMapping")

    def source(self) -> str:
        """The class definition, rendered from its template."""
        return render(self.template, class_name=self.class_name, hf_example=self.hf_param)


def plan_local_mappings(
    missing_shapes: Iterable[str], model_type: str | None, megatron_base: str
) -> list[LocalMapping]:
    """The local mappings that take `missing_shapes` (HF name patterns with ``*`` for the layer index that
    nothing maps): a dense MLP's fused gate/up weight (or bias) onto ``mlp.linear_fc1``."""
    out = []
    for shape in sorted(missing_shapes):
        found = _LAYER.match(shape)
        if found is None or re.search(r"\.layers\.\*\..*\*", shape):
            continue  # not a decoder-layer tensor, or one with a second index (experts)
        suffix = found.group("suffix")
        if hf_roles(model_type, [suffix]).get(suffix) != "mlp_in_gated" or _layout(model_type) != "gate-up":
            continue  # the class cuts the tensor in halves, gate first: only a model that splits it so
        last = suffix.rsplit(".", 1)[-1]
        out.append(
            LocalMapping(
                class_name="FusedGateUpMLPMapping",
                template="fused_gate_up_mapping.py.txt",
                feature=FEATURE,
                megatron_param=f"{megatron_base}{DECODER}mlp.linear_fc1.{last}",
                hf_param=shape,
            )
        )
    return out


def _layout(model_type: str | None) -> str | None:
    from analyzers.modeling_source import modeling_facts

    facts = modeling_facts(model_type) if model_type else None
    return facts.fused_gate_up_layout if facts else None


def insert_local_classes(module: cst.Module, bridge_class: str, local: Iterable[LocalMapping]) -> cst.Module:
    """`module` with each distinct local class defined just above `bridge_class` (its decorators included),
    and ``import torch`` added when the module lacks it; a class the module defines already is left alone."""
    classes: dict[str, LocalMapping] = {}
    for m in local:
        classes.setdefault(m.class_name, m)
    body = list(module.body)
    defined = {s.name.value for s in body if isinstance(s, cst.ClassDef)}
    new = [cst.parse_statement(m.source()) for name, m in classes.items() if name not in defined]
    if not new:
        return module
    where = next(
        (i for i, s in enumerate(body) if isinstance(s, cst.ClassDef) and s.name.value == bridge_class),
        len(body),
    )
    # two blank lines around a top-level class, as the tree's formatter keeps them
    new = [s.with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()]) for s in new]
    if where < len(body):
        body[where] = body[where].with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()])
    body[where:where] = new
    module = module.with_changes(body=body)
    return _with_torch(module)


def _with_torch(module: cst.Module) -> cst.Module:
    """``import torch`` before the module's first third-party import, unless it is imported already."""
    body = list(module.body)
    imports = [
        i
        for i, s in enumerate(body)
        if isinstance(s, cst.SimpleStatementLine) and isinstance(s.body[0], cst.Import | cst.ImportFrom)
    ]
    for i in imports:
        stmt = body[i].body[0]
        if isinstance(stmt, cst.Import) and any(
            cst.Module([]).code_for_node(a.name) == "torch" for a in stmt.names
        ):
            return module
    after_future = [
        i
        for i in imports
        if isinstance(body[i].body[0], cst.ImportFrom)
        and cst.Module([]).code_for_node(body[i].body[0].module or cst.Name("")) == "__future__"
    ]
    at = (after_future[-1] + 1) if after_future else (imports[0] if imports else 0)
    body.insert(at, cst.parse_statement("import torch\n"))
    return module.with_changes(body=body)


def shared_imports(local: Iterable[LocalMapping], shared: Mapping[str, str]) -> dict[str, str]:
    """The shared classes the local classes use -> the module to import each from (`shared`: class -> module)."""
    return {name: shared[name] for m in local for name in m.uses if name in shared}
