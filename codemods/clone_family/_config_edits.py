"""Config-driven edits of a cloned bridge: provider attributes the new config decides, mapping-block TODOs,
and the HF config dicts of the cloned tests (mock values from the new config, toy sizes for conversion tests).

Every decision carries its reason; what the config cannot decide becomes a `TODO(bridgesmith)` comment.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from analyzers.catalog.records import BridgeRecord, Catalog
from analyzers.hf_config import ARCH_FIELDS, QK_NORM_FLAGS, ModelSpec, detect_blocks
from analyzers.hf_names_record import HFNames
from analyzers.source_index import SourceIndex
from codemods._cst import literal_node
from codemods.clone_family._embedding_scale import EmbeddingScalePlan, plan_embedding_scale
from codemods.clone_family._local_mappings import insert_local_classes
from codemods.clone_family._post_norm import GENERATED, PostNormPlan, plan_post_norm
from codemods.clone_family._provider_edits import apply_provider_plan, drop_unused_imports
from codemods.clone_family._provider_plan import AttrWrite, ProviderPlan, plan_provider
from codemods.clone_family._registry_edits import SPEC_TODO, MappingImports, RegistryPlan, edit_function
from codemods.clone_family._templates import TODO


@dataclass
class ConfigDecisions:
    """What the new config says about the cloned bridge."""

    #: provider attribute -> (Python expression, reason)
    attributes: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: TODO lines for the mapping registry (blocks to add or remove)
    registry_todos: list[str] = field(default_factory=list)
    #: report lines (decisions taken, blocks kept on purpose)
    report: list[str] = field(default_factory=list)
    #: mapping-registry edits from the new model's HF names (None when the names are unavailable)
    registry: RegistryPlan | None = None
    #: every provider setting the config implies, where SRC sets its provider (None: none planned)
    provider: ProviderPlan | None = None
    #: the cloned layer spec that loses its fused pre-norms (a post-norm-only model); None: kept as SRC's
    post_norm: PostNormPlan | None = None
    #: SRC's scaled embedding the cloned provide() stops swapping in; None: kept as SRC's
    embedding_scale: EmbeddingScalePlan | None = None


SPEC_ATTR = "transformer_layer_spec"
#: Megatron-Bridge's and Megatron-Core's stock layer specs (built from provider attributes alone)
_STOCK_SPECS = frozenset(
    {
        "default_layer_spec",
        "transformer_engine_layer_spec",
        "transformer_engine_full_layer_spec",
        "local_layer_spec",
    }
)


def _stock_spec(catalog: Catalog, bridge: BridgeRecord, spec: ModelSpec) -> bool:
    """SRC's provider builds a stock layer spec (no layer spec of its own): plain GPT layers."""
    from analyzers.provider_vocabulary import resolve_all

    got = resolve_all(catalog, bridge, spec.config).get(SPEC_ATTR)
    return got is None or got.setting is None or got.setting.value.strip() in _STOCK_SPECS


def _post_norm_teachers(catalog: Catalog, exclude: tuple[str, ...]) -> tuple[str, ...]:
    """Bridges whose registry maps the post-attention norm of a post-norm row-parallel linear."""
    skip = {e.lower() for e in exclude}
    return tuple(
        b.name
        for b in catalog.bridges
        if b.name.lower() not in skip
        and b.family.lower() not in skip
        and any("linear_proj.post_layernorm" in (m.megatron_param or "") for m in b.registry.mappings)
    )


def _has(bridge: BridgeRecord, megatron: str = "", hf: str = "") -> bool:
    return any(
        (megatron and megatron in (m.megatron_param or "")) or (hf and any(hf in p for p in m.hf_list))
        for m in bridge.registry.mappings
    )


def _example(catalog: Catalog, megatron: str, hf: str) -> str | None:
    """`Bridge: MappingClass(megatron -> hf)` of a catalog bridge that implements the block."""
    for bridge in catalog.bridges:
        for m in bridge.registry.mappings:
            if megatron in (m.megatron_param or "") and any(hf in p for p in m.hf_list):
                return f"{bridge.name} ({bridge.path.rsplit('/', 1)[-1]}): {m.mapping_class}({m.megatron_param} <- {', '.join(m.hf_list)})"
    return None


def decide(
    spec: ModelSpec,
    bridge: BridgeRecord,
    catalog: Catalog,
    registry: RegistryPlan | None = None,
    *,
    index: SourceIndex,
    hf_names: HFNames | None = None,
    cloned: frozenset[str] = frozenset(),
    exclude: tuple[str, ...] = (),
) -> ConfigDecisions:
    """Compare the new config with what SRC's bridge assumes; see the module docstring.

    The provider settings follow `plan_provider` (every implied setting, wherever SRC sets its provider;
    `cloned`: SRC's files the clone copies; `hf_names`: the new model's checkpoint names, None when
    unavailable; `index`: the run's sources, through which SRC's modules are read). With `registry` (edits
    planned from the new model's HF names) the mapping blocks follow it; without, the blocks the config
    implies are left as TODOs.
    """
    out = ConfigDecisions(registry=registry)
    fields = spec.text_fields()
    attrs = bridge.provider_attributes
    names, shapes = (hf_names.names, hf_names.shapes) if hf_names else (None, None)
    plan = plan_provider(
        spec, bridge, catalog, names, shapes, index=index, cloned_paths=cloned, exclude=exclude
    )
    out.provider = plan
    out.report.extend(plan.report)
    out.post_norm = plan_post_norm(
        spec,
        names,
        index,
        tuple(sorted(cloned)),
        bridge_path=bridge.path,
        stock_spec=_stock_spec(catalog, bridge, spec) and "moe" not in detect_blocks(spec, names),
        teachers=_post_norm_teachers(catalog, exclude),
    )
    if out.post_norm is not None and out.post_norm.generated:
        plan.writes[SPEC_ATTR] = AttrWrite(
            SPEC_ATTR,
            GENERATED,
            GENERATED,
            "the layer spec written for the post-norm-only model",
            (GENERATED,),
        )
        if registry is not None:
            # the written spec builds the post norms the registry maps
            registry.todos[:] = [t for t in registry.todos if SPEC_TODO not in t]
    out.embedding_scale = plan_embedding_scale(spec, index, tuple(sorted(cloned)))
    for module_plan in (out.post_norm, out.embedding_scale):
        if module_plan is not None:
            out.report.append(module_plan.report)

    def setting(attr: str, value: Any, reason: str) -> None:
        """An attribute the mapping registry implies, where the provider plan decides nothing."""
        if attr in plan.writes:
            return
        node = literal_node(value)
        if node is None:
            return
        expr = cst.Module([]).code_for_node(node)
        current = attrs.get(attr)
        try:
            same = current is not None and ast.literal_eval(current) == value
        except (ValueError, SyntaxError):
            same = False
        if same or (current is None and value in (False, None)):
            return  # already so, or the provider default gives it
        out.attributes[attr] = (expr, reason)
        out.report.append(f"provider.{attr} = {expr} ({reason}; {bridge.name} sets {current or 'nothing'})")

    flags = {k: v for k, v in fields.items() if k in QK_NORM_FLAGS and isinstance(v, bool)}
    has_qk = _has(bridge, "q_layernorm", "q_norm")
    bias = spec.get(*ARCH_FIELDS["attention_bias"])
    if not flags and registry is None and (has_qk or attrs.get("qk_layernorm") == "True"):
        out.registry_todos.append(
            "the config has no q/k-norm flag: keep the q_layernorm/k_layernorm mappings only if the checkpoint "
            "has q_norm/k_norm weights"
        )

    if registry is not None:
        # Mapping blocks the registry gains or loses imply the provider attributes that build them.
        for param, attr in (
            ("self_attention.q_layernorm.", "qk_layernorm"),
            ("self_attention.linear_qkv.bias", "add_qkv_bias"),
        ):
            added = [
                k
                for k in registry.adds
                if param in k.megatron_param and not k.megatron_param.startswith("mtp.")
            ]
            dropped = [
                k
                for k in registry.drops
                if param in k.megatron_param and not k.megatron_param.startswith("mtp.")
            ]
            if added and attr not in out.attributes:
                setting(attr, True, f"the registry now maps {added[0].hf_list[0]}")
            elif dropped and attr not in out.attributes:
                setting(attr, False, f"the registry no longer maps {dropped[0].hf_list[0]}")
        out.registry_todos = list(registry.todos)
        out.report.extend(registry.report)
        return out
    blocks = detect_blocks(spec)
    has_bias = _has(bridge, "linear_qkv.bias", ".bias")
    if bias is not None and bias.value is True and not has_bias:
        ex = _example(catalog, "linear_qkv.bias", "q_proj.bias")
        out.registry_todos.append(
            f"config {bias.key}=True: add the QKV bias mapping" + (f", as {ex}" if ex else "")
        )
    elif bias is not None and bias.value is False and has_bias:
        out.registry_todos.append(f"config {bias.key}=False: remove the QKV bias mappings")
    has_moe = _has(bridge, "router", ".experts.")
    if "moe" in blocks and not has_moe:
        ex = _example(catalog, "mlp.router.weight", "gate.weight")
        out.registry_todos.append(
            "the config is MoE: add router/expert mappings" + (f", as {ex}" if ex else "")
        )
    elif "moe" not in blocks and has_moe:
        out.registry_todos.append("the config is dense: remove the router/expert mappings")
    if "shared_experts" in blocks and not _has(bridge, "shared_experts", "shared_expert"):
        ex = _example(catalog, "shared_experts", "shared_expert")
        out.registry_todos.append(
            "the config has shared experts: add their mappings" + (f", as {ex}" if ex else "")
        )
    has_mtp = _has(bridge, "mtp.")
    if "mtp" in blocks and not has_mtp:
        ex = _example(catalog, "mtp.layers", "")
        out.registry_todos.append(
            "the config has MTP layers: add MTP mappings" + (f", as {ex}" if ex else "")
        )
    elif has_mtp and "mtp" not in blocks:
        out.report.append(
            f"kept {bridge.name}'s MTP mappings: the family maps MTP layers for checkpoints that carry them"
        )
    for todo in out.registry_todos:
        out.report.append(f"TODO mapping_registry: {todo}")
    return out


class _BridgeEdits(cst.CSTTransformer):
    """In the class `bridge_class` only: provider attributes set, the registry edited, its TODOs placed."""

    def __init__(self, bridge_class: str, decisions: ConfigDecisions) -> None:
        self.bridge_class, self.d = bridge_class, decisions

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return node.name.value == self.bridge_class

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        if updated.name.value == "provider_bridge" and self.d.attributes:
            return updated.with_changes(
                body=updated.body.with_changes(body=self._provider(list(updated.body.body)))
            )
        if updated.name.value == "mapping_registry" and self.d.registry is not None:
            updated, _ = edit_function(updated, self.d.registry)
        if updated.name.value == "mapping_registry" and self.d.registry_todos:
            body = list(updated.body.body)
            index = max((i for i, s in enumerate(body) if _is_return(s)), default=len(body) - 1)
            stmt = body[index]
            # one comment line each: a TODO may quote multi-line source
            comments = [
                cst.EmptyLine(comment=cst.Comment(f"# {TODO}: {' '.join(t.split())}"))
                for t in self.d.registry_todos
            ]
            body[index] = stmt.with_changes(leading_lines=[*stmt.leading_lines, *comments])
            return updated.with_changes(body=updated.body.with_changes(body=body))
        return updated

    def _provider(self, body: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
        todo = dict(self.d.attributes)
        last = None
        for i, stmt in enumerate(body):
            attr = _provider_attr(stmt)
            if attr is None:
                continue
            last = i
            if attr in todo:
                expr, _ = todo.pop(attr)
                assign = stmt.body[0]  # type: ignore[union-attr]
                body[i] = stmt.with_changes(body=[assign.with_changes(value=cst.parse_expression(expr))])
        if todo and last is not None:
            new = [cst.parse_statement(f"provider.{attr} = {expr}\n") for attr, (expr, _) in todo.items()]
            body[last + 1 : last + 1] = new
        return body


def _is_return(stmt: cst.BaseStatement) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and any(isinstance(s, cst.Return) for s in stmt.body)


def _provider_attr(stmt: cst.BaseStatement) -> str | None:
    if (
        not isinstance(stmt, cst.SimpleStatementLine)
        or len(stmt.body) != 1
        or not isinstance(stmt.body[0], cst.Assign)
    ):
        return None
    target = stmt.body[0].targets[0].target
    if (
        isinstance(target, cst.Attribute)
        and isinstance(target.value, cst.Name)
        and target.value.value == "provider"
    ):
        return target.attr.value
    return None


def apply_bridge_edits(module: cst.Module, bridge_class: str, decisions: ConfigDecisions) -> cst.Module:
    """The cloned bridge module with the provider attributes set, the registry edited and its TODOs placed."""
    original = module
    if decisions.provider is not None:
        module, _ = apply_provider_plan(module, bridge_class, decisions.provider)
    module = module.visit(_BridgeEdits(bridge_class, decisions))
    if decisions.registry is not None and decisions.registry.classes:
        module = module.visit(MappingImports(decisions.registry.classes))
    if decisions.registry is not None and decisions.registry.local:
        module = insert_local_classes(module, bridge_class, decisions.registry.local)
    # names whose only use an edit removed (a mapping class, a layer spec) are no longer imported
    return drop_unused_imports(original, module)


# --- test config dicts ---------------------------------------------------------------------------


class _ConfigDicts(cst.CSTTransformer):
    """Values of HF config dict literals (those with a "model_type" or "architectures" key) from the new config."""

    def __init__(self, config: dict[str, Any], toy: dict[str, Any], names: dict[str, Any]) -> None:
        self.config, self.toy, self.names = config, toy, names
        self.targets: list[str] = []
        self.changed = 0

    def visit_Assign(self, node: cst.Assign) -> None:
        target = node.targets[0].target if node.targets else None
        self.targets.append(target.value if isinstance(target, cst.Name) else "")

    def leave_Assign(self, original: cst.Assign, updated: cst.Assign) -> cst.Assign:
        self.targets.pop()
        return updated

    def leave_Dict(self, original: cst.Dict, updated: cst.Dict) -> cst.Dict:
        keys = [_key(e) for e in updated.elements]
        if "model_type" not in keys and "architectures" not in keys:
            return updated
        toy = any("TOY" in t.upper() for t in self.targets)
        source = self.toy if toy else self.config
        elements = []
        for element, key in zip(updated.elements, keys, strict=True):
            value = self.names.get(key, source.get(key, _MISSING)) if key else _MISSING
            if value is not _MISSING and not isinstance(value, dict) and isinstance(element, cst.DictElement):
                new_value = literal_node(value) or element.value
                if cst.Module([]).code_for_node(new_value) != cst.Module([]).code_for_node(element.value):
                    element = element.with_changes(value=new_value)
                    self.changed += 1
            elements.append(element)
        return updated.with_changes(elements=elements)


_MISSING = object()


def _key(element: cst.BaseDictElement) -> str | None:
    if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString):
        value = element.key.evaluated_value
        return value if isinstance(value, str) else None
    return None


def update_config_dicts(
    source: str, config: dict[str, Any], toy: dict[str, Any], names: dict[str, Any]
) -> tuple[str, int]:
    """`source` with its HF config dicts filled from `config` (toy dicts from `toy`); also the number of values set."""
    if not re.search(r"[\"'](model_type|architectures)[\"']", source):
        return source, 0
    tree = cst.parse_module(source)
    editor = _ConfigDicts(config, toy, names)
    tree = tree.visit(editor)
    return tree.code, editor.changed
