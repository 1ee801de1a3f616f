"""A post-norm-only layer spec for the clone: the new model normalises the attention and MLP outputs and
never their inputs (EXAONE 4.0: ``h = x + norm(attn(x))``), and SRC's own layer spec has post-norm modules
(Gemma2's and Gemma3's sandwich spec: ``linear_proj`` / ``linear_fc2`` as row-parallel linears with a post
layernorm, ``linear_qkv`` / ``linear_fc1`` as layernorm-fused column-parallel linears).

The cloned spec function keeps SRC's post-norm modules and drops the fused pre-norms: ``linear_qkv`` and
``linear_fc1`` become plain column-parallel linears (``TEColumnParallelLinear``), so the layer's input norms
are Megatron-Core's defaults (``IdentityOp``), as the real EXAONE 4.0 bridge's ``exaone4_layer_spec``.
The mapping registry already follows the new model's roles (``analyzers.layer_roles``): the post norms map
to ``linear_proj.post_layernorm`` / ``linear_fc2.post_layernorm``, and no pre-norm mapping is left.

>>> config = load_spec(from_transformers="exaone4")
>>> names = collect_hf_names(config).names
>>> cloned = ("src/megatron/bridge/models/gemma/gemma3_provider.py",)
>>> plan = plan_post_norm(config, names, SourceIndex(root), cloned)
>>> plan.functions
('gemma3_layer_spec',)
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

import libcst as cst

from analyzers.catalog.modules import indexed_modules
from analyzers.hf_config import ModelSpec
from analyzers.layer_roles import hf_roles
from analyzers.source_index import SourceIndex
from analyzers.structure_rules import layer_names
from codemods._cst import InNamedFunctions

__all__ = [
    "GENERATED",
    "PostNormPlan",
    "apply_generated_spec",
    "apply_post_norm",
    "is_post_norm_only",
    "plan_post_norm",
]

#: the submodules a fused pre-norm lives in (the column-parallel inputs of attention and MLP)
_PRE_NORM_SLOTS = frozenset({"linear_qkv", "linear_fc1"})
#: the submodules a post norm lives in (the row-parallel outputs)
_POST_NORM_SLOTS = frozenset({"linear_proj", "linear_fc2"})
#: the plain column-parallel linear that replaces a layernorm-fused one (same parameter names, no norm)
PLAIN_LINEAR = "TEColumnParallelLinear"
_TE_MODULE = "megatron.core.extensions.transformer_engine"


#: the layer-spec function the clone writes into the bridge module when SRC's spec has no post-norm modules
GENERATED = "post_norm_layer_spec"


@dataclass(frozen=True)
class PostNormPlan:
    """Where the clone's layer spec loses its pre-norms."""

    path: str  #: SRC's module (repo-relative) that defines the spec function(s), or the bridge module
    functions: tuple[str, ...]  #: SRC's spec functions rewritten (their clones' names follow the renamer)
    report: str  #: one line for the clone's report
    #: the bridge module gets `GENERATED` from the template (SRC builds a stock spec); `functions` is empty
    generated: bool = False
    teachers: tuple[str, ...] = ()  #: bridges whose layer spec builds the post-norm modules the template uses


def is_post_norm_only(config: ModelSpec, names: list[str] | None) -> bool:
    """The new model's decoder layer has post-attention and post-MLP norms and no pre-norm, read from the
    HF decoder layer's forward (`analyzers.layer_roles`) over the checkpoint's layer names."""
    if not names:
        return False
    suffixes = layer_names(names)
    roles = set(hf_roles(config.model_type, suffixes).values())
    return {"post_attn", "post_mlp"} <= roles and not roles & {"pre_attn", "pre_mlp"}


def plan_post_norm(
    config: ModelSpec,
    names: list[str] | None,
    index: SourceIndex,
    cloned: tuple[str, ...],
    *,
    bridge_path: str | None = None,
    stock_spec: bool = False,
    teachers: tuple[str, ...] = (),
) -> PostNormPlan | None:
    """The cloned spec function(s) to rewrite for a post-norm-only `config`, else (SRC's provider builds a
    stock layer spec, `stock_spec`, and some bridge's spec builds post-norm modules, `teachers`) the spec the
    cloned bridge module at `bridge_path` gets from the template; None when the new model has a pre-norm or
    neither applies."""
    if not is_post_norm_only(config, names):
        return None
    found = _rewrite(index, cloned)
    if found is not None or not (stock_spec and teachers and bridge_path):
        return found
    return PostNormPlan(
        bridge_path,
        (),
        f"layer spec: {GENERATED} written into {bridge_path.rsplit('/', 1)[-1]} from the template (no pre-norm: "
        f"plain {PLAIN_LINEAR} for linear_qkv / linear_fc1, the post-norm row-parallel linear of "
        f"{', '.join(teachers)} for linear_proj / linear_fc2), and provider.transformer_layer_spec = {GENERATED}",
        generated=True,
        teachers=teachers,
    )


def _rewrite(index: SourceIndex, cloned: tuple[str, ...]) -> PostNormPlan | None:
    """The first cloned module whose provider's layer spec has post-norm modules and fused pre-norms."""
    for info in indexed_modules(index, cloned):
        path, tree = info.path, info.tree
        used = _spec_settings(tree)
        functions = tuple(
            node.name
            for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name in used and _sandwich(node)
        )
        if functions:
            return PostNormPlan(
                path,
                functions,
                f"layer spec: {', '.join(functions)} of {path.rsplit('/', 1)[-1]} keeps its post-norm "
                f"linear_proj / linear_fc2 and takes plain {PLAIN_LINEAR} for linear_qkv / linear_fc1 (the new "
                "model normalises attention and MLP outputs, not their inputs: no fused pre-norm)",
            )
    return None


def _spec_settings(tree: ast.Module) -> set[str]:
    """Names a `transformer_layer_spec` field default, assignment or keyword of the module refers to."""
    out: set[str] = set()
    for node in ast.walk(tree):
        value = None
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            value = node.value if node.target.id == "transformer_layer_spec" else None
        elif isinstance(node, ast.Assign):
            if any(isinstance(t, ast.Attribute | ast.Name) and getattr(t, "attr", getattr(t, "id", None))
                   == "transformer_layer_spec" for t in node.targets):  # fmt: skip
                value = node.value
        elif isinstance(node, ast.keyword) and node.arg == "transformer_layer_spec":
            value = node.value
        if value is not None:
            out.update(n.id for n in ast.walk(value) if isinstance(n, ast.Name))
    return out


def _slot_names(fn: ast.FunctionDef) -> dict[str, set[str]]:
    """Submodule keyword -> the class names given to it in `fn` (both branches of a conditional)."""
    out: dict[str, set[str]] = {}
    for node in ast.walk(fn):
        if isinstance(node, ast.keyword) and node.arg in _PRE_NORM_SLOTS | _POST_NORM_SLOTS:
            out.setdefault(node.arg, set()).update(
                n.id if isinstance(n, ast.Name) else n.attr
                for n in ast.walk(node.value)
                if isinstance(n, ast.Name | ast.Attribute)
            )
    return out


def _sandwich(fn: ast.FunctionDef) -> bool:
    """`fn` builds post-norm row-parallel outputs and layernorm-fused column-parallel inputs."""
    slots = _slot_names(fn)
    post = all(
        any(n.endswith("LayerNorm") and "RowParallel" in n for n in slots.get(s, ()))
        for s in _POST_NORM_SLOTS
    )
    fused = any(any("LayerNormColumnParallelLinear" in n for n in slots.get(s, ())) for s in _PRE_NORM_SLOTS)
    return post and fused


class _DropPreNorms(InNamedFunctions):
    """In the named functions: a layernorm-fused linear given to linear_qkv / linear_fc1 becomes the plain one."""

    def __init__(self, functions: frozenset[str]) -> None:
        super().__init__(functions)
        self.changed = False

    def leave_Arg(self, original: cst.Arg, updated: cst.Arg) -> cst.Arg:
        if self.in_named and updated.keyword is not None and updated.keyword.value in _PRE_NORM_SLOTS:
            value = updated.value.visit(_Plain())
            if not value.deep_equals(updated.value):
                self.changed = True
                return updated.with_changes(value=value)
        return updated


class _Plain(cst.CSTTransformer):
    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
        if "LayerNormColumnParallelLinear" in updated.value:
            return updated.with_changes(value=PLAIN_LINEAR)
        return updated

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        if "LayerNormColumnParallelLinear" in updated.attr.value:
            return cst.Name(PLAIN_LINEAR)
        return updated


def _binds(module: cst.Module, name: str) -> bool:
    """`name` is bound at module level (an import or an assignment such as ``X, _ = safe_import_from(...)``)."""
    tree = ast.parse(module.code)
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            if any((a.asname or a.name.split(".")[0]) == name for a in node.names):
                return True
        elif isinstance(node, ast.Assign):
            if any(isinstance(n, ast.Name) and n.id == name for t in node.targets for n in ast.walk(t)):
                return True
    return False


def _binding(module: cst.Module) -> cst.SimpleStatementLine:
    """The statement that binds the plain linear, in the module's own style for TE classes: through
    Megatron-Bridge's ``safe_import_from`` where the module imports TE that way (Gemma3's provider), else a
    plain import."""
    if _binds(module, "safe_import_from"):
        return cst.parse_statement(
            f'{PLAIN_LINEAR}, _ = safe_import_from("{_TE_MODULE}", "{PLAIN_LINEAR}")\n'
        )
    return cst.parse_statement(f"from {_TE_MODULE} import {PLAIN_LINEAR}\n")


def apply_post_norm(module: cst.Module, functions: tuple[str, ...]) -> cst.Module:
    """The cloned module with the fused pre-norms of `functions` (their cloned names) replaced by the plain
    column-parallel linear, bound after the module's last top-level import or TE binding."""
    editor = _DropPreNorms(frozenset(functions))
    module = module.visit(editor)
    if not editor.changed or _binds(module, PLAIN_LINEAR):
        return module
    body = list(module.body)
    at = 0
    for i, stmt in enumerate(body):
        if isinstance(stmt, cst.SimpleStatementLine) and any(
            isinstance(s, cst.Import | cst.ImportFrom)
            or (isinstance(s, cst.Assign) and "safe_import_from" in module.code_for_node(s))
            for s in stmt.body
        ):
            at = i + 1
        elif isinstance(stmt, cst.ClassDef | cst.FunctionDef):
            break
    body.insert(at, _binding(module))
    return module.with_changes(body=body)


def apply_generated_spec(module: cst.Module, teachers: tuple[str, ...], model: str) -> cst.Module:
    """The cloned bridge module with the template's post-norm-only layer spec after its imports (imports it
    already has left out) and before its first class or function."""
    from codemods.clone_family._templates import render

    text = render("post_norm_layer_spec.txt", function=GENERATED, teachers=teachers[0], class_prefix=model)
    new = list(cst.parse_module(text).body)
    body = list(module.body)
    at = 0
    for i, stmt in enumerate(body):
        if isinstance(stmt, cst.SimpleStatementLine) and any(
            isinstance(s, cst.Import | cst.ImportFrom) for s in stmt.body
        ):
            at = i + 1
        elif isinstance(stmt, cst.ClassDef | cst.FunctionDef):
            break
    imports = [
        s for s in new if isinstance(s, cst.SimpleStatementLine) and isinstance(s.body[0], cst.ImportFrom)
    ]
    rest = [s for s in new if not any(s is i for i in imports)]
    needed = [s for s in imports if not all(_binds(module, _alias(a)) for a in s.body[0].names)]
    if 'register_module_type("TERowParallelLinearLayerNorm"' in module.code:
        rest = [s for s in rest if "register_module_type" not in cst.Module([]).code_for_node(s)]
    return module.with_changes(body=[*body[:at], *needed, *rest, *body[at:]])


def _alias(alias: cst.ImportAlias) -> str:
    node = alias.asname.name if alias.asname is not None else alias.name
    return cst.Module([]).code_for_node(node).split(".")[0]
