"""Whole-projection q/k norm with GQA, carried by a clone of a source that assumes MHA.

OlMoE's attention module builds its K norm over ``head_dim * num_attention_heads``: right for OlMoE (MHA),
a shape mismatch at load for a model with fewer K/V heads (MiniMax-M2). The key it normalises is the
projection of ``num_query_groups`` heads, so the clone sizes the K norm by ``num_query_groups`` in the
cloned module (a libcst edit of the ``k_layernorm`` build that `analyzers.qk_norm` found); with MHA the two
are equal and nothing is edited.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import libcst as cst

from analyzers.qk_norm import GQA_HEADS, MHA_HEADS, bridge_qk_norm, config_qk_norm, qk_norm_fit
from codemods.clone_family._spec import CloneSpec

__all__ = ["FEATURE", "KNormCarry", "carry_edit", "plan_k_norm_carry", "resize_k_norm"]

FEATURE = "q/k norm over the whole projection"


@dataclass(frozen=True)
class KNormCarry:
    """The K norm build the clone resizes."""

    path: str  #: SRC's module (tree-relative) holding the build
    owner: str  #: the class or function around it, as SRC names it
    reason: str


def plan_k_norm_carry(
    spec: CloneSpec, names: list[str] | None, shapes: dict[str, tuple[int, ...] | None] | None
) -> tuple[str, KNormCarry | None]:
    """(the fit of SRC's q/k norm to the config's, see `qk_norm_fit`; the edit when it is "carried" and
    the build is in a module the clone copies, else None)."""
    if spec.config is None:
        return "same", None
    config = config_qk_norm(spec.config, names, shapes)
    source = bridge_qk_norm(spec.catalog, spec.source.bridge, spec.index)
    fit, reason = qk_norm_fit(config, source)
    if fit != "carried" or source is None or source.k_site is None:
        return fit, None
    path, owner = source.k_site
    if not any(old == path for old, _ in spec.files.models):
        return fit, None
    return fit, KNormCarry(path, owner, reason)


def resize_k_norm(module: cst.Module, *, owner: str) -> cst.Module:
    """`module` with the ``k_layernorm`` builds inside `owner` sized by ``num_query_groups`` instead of
    ``num_attention_heads``."""
    return module.visit(_Resize(owner))


def carry_edit(spec: CloneSpec, carry: KNormCarry) -> functools.partial:
    """The edit of the cloned module `carry.path` (its owner under the new names)."""
    return functools.partial(resize_k_norm, owner=spec.renamer.identifier(carry.owner))


class _Resize(cst.CSTTransformer):
    def __init__(self, owner: str) -> None:
        super().__init__()
        self.owner = owner
        self.depth = 0  #: inside `owner`
        self.in_k = 0  #: inside the value of a ``k_layernorm`` assignment

    def _enter(self, node: cst.ClassDef | cst.FunctionDef) -> None:
        if node.name.value == self.owner or self.depth:
            self.depth += 1

    def _leave(self) -> None:
        self.depth = max(0, self.depth - 1)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._enter(node)

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        self._leave()
        return updated

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._enter(node)

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        self._leave()
        return updated

    def visit_Assign(self, node: cst.Assign) -> None:
        if self.depth and any(
            isinstance(t.target, cst.Attribute) and t.target.attr.value == "k_layernorm" for t in node.targets
        ):
            self.in_k += 1

    def leave_Assign(self, original: cst.Assign, updated: cst.Assign) -> cst.Assign:
        if self.depth and any(
            isinstance(t.target, cst.Attribute) and t.target.attr.value == "k_layernorm"
            for t in original.targets
        ):
            self.in_k -= 1
        return updated

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.Attribute:
        if self.in_k and updated.attr.value == MHA_HEADS:
            return updated.with_changes(attr=cst.Name(GQA_HEADS))
        return updated
