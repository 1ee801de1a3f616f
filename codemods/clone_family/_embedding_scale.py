"""SRC's provider scales the token embeddings by ``sqrt(hidden_size)`` (Gemma's: ``provide()`` swaps the
model's embedding for a subclass whose forward multiplies by ``hidden_size ** 0.5``) and the new model's
modeling code does not: the cloned ``provide()`` keeps Megatron-Core's embedding.

No config field says either way; the new model's side is read from its transformers modeling file
(`analyzers.modeling_source`, ``embedding_scaled``), SRC's from its cloned provider module.

>>> cloned = ("src/megatron/bridge/models/gemma/gemma3_provider.py",)
>>> plan = plan_embedding_scale(load_spec(from_transformers="exaone4"), SourceIndex(root), cloned)
>>> plan.classes
('Gemma3LanguageModelEmbedding',)
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

import libcst as cst

from analyzers.catalog.modules import indexed_modules
from analyzers.hf_config import ModelSpec
from analyzers.modeling_source import scales_by_root_hidden
from analyzers.source_index import SourceIndex

__all__ = ["EmbeddingScalePlan", "apply_embedding_scale", "plan_embedding_scale"]


@dataclass(frozen=True)
class EmbeddingScalePlan:
    """Where the clone's provide() stops swapping in SRC's scaled embedding."""

    path: str  #: SRC's module that defines the scaled embedding and the provide() that uses it
    classes: tuple[str, ...]  #: SRC's scaled-embedding classes (their clones' names follow the renamer)
    report: str


def _scales(cls: ast.ClassDef) -> bool:
    """The class's forward multiplies by ``hidden_size ** 0.5``."""
    forward = next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "forward"), None)
    return forward is not None and scales_by_root_hidden(forward)


def _swapped_in(tree: ast.Module, classes: set[str]) -> set[str]:
    """Those of `classes` a ``provide()`` assigns to ``<model>.embedding``."""
    out: set[str] = set()
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef) or fn.name != "provide":
            continue
        for node in ast.walk(fn):
            if (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Attribute) and t.attr == "embedding" for t in node.targets)
                and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Name)
                and node.value.func.id in classes
            ):
                out.add(node.value.func.id)
    return out


def plan_embedding_scale(
    config: ModelSpec, index: SourceIndex, cloned: tuple[str, ...]
) -> EmbeddingScalePlan | None:
    """The scaled embedding of SRC's cloned provider to drop for `config`; None when the new model scales its
    embeddings too, its modeling file is unknown, or SRC's provider swaps in no scaled embedding."""
    from analyzers.modeling_source import modeling_facts

    facts = modeling_facts(config.model_type) if config.model_type else None
    if facts is None or facts.embedding_scaled:
        return None
    for info in indexed_modules(index, cloned):
        path, tree = info.path, info.tree
        scaled = {n.name for n in tree.body if isinstance(n, ast.ClassDef) and _scales(n)}
        used = tuple(sorted(_swapped_in(tree, scaled)))
        if used:
            return EmbeddingScalePlan(
                path,
                used,
                f"provider: provide() of {path.rsplit('/', 1)[-1]} keeps Megatron-Core's embedding instead of "
                f"{', '.join(used)} (it multiplies by sqrt(hidden_size); modeling_{config.model_type}.py does not "
                "scale the embeddings)",
            )
    return None


class _DropSwap(cst.CSTTransformer):
    """In every ``provide()``: ``model.embedding = <scaled>(...)`` goes, and an ``if`` left empty by it."""

    def __init__(self, classes: frozenset[str]) -> None:
        super().__init__()
        self.classes = classes
        self.depth = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.depth += int(node.name.value == "provide")
        return True

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        self.depth -= int(original.name.value == "provide")
        return updated

    def _swap(self, stmt: cst.BaseStatement) -> bool:
        if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
            return False
        assign = stmt.body[0]
        return (
            isinstance(assign, cst.Assign)
            and any(
                isinstance(t.target, cst.Attribute) and t.target.attr.value == "embedding"
                for t in assign.targets
            )
            and isinstance(assign.value, cst.Call)
            and isinstance(assign.value.func, cst.Name)
            and assign.value.func.value in self.classes
        )

    def leave_SimpleStatementLine(
        self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.RemovalSentinel:
        return cst.RemoveFromParent() if self.depth and self._swap(original) else updated

    def leave_If(self, original: cst.If, updated: cst.If) -> cst.BaseStatement | cst.RemovalSentinel:
        body = original.body
        if (
            self.depth
            and original.orelse is None
            and isinstance(body, cst.IndentedBlock)
            and body.body
            and all(self._swap(s) for s in body.body)
        ):
            return cst.RemoveFromParent()
        return updated


def apply_embedding_scale(module: cst.Module, classes: tuple[str, ...]) -> cst.Module:
    """The cloned module whose provide() no longer swaps in `classes` (their cloned names)."""
    return module.visit(_DropSwap(frozenset(classes)))
