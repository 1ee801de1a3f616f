"""Mapping blocks of a cloned bridge fitted to the new model's HF checkpoint names.

`plan_registry` holds SRC's registry against the new names (`analyzers.coverage` semantics): a mapping whose
HF patterns match nothing is dropped, unless it belongs to a block kept for checkpoints that carry it (MTP
layers); names nothing maps get the mappings `analyzers.synthesize` learned from the catalog's bridges; a
layernorm fused into a linear the new registry no longer has takes the synthesized Megatron target. What
cannot be decided is a TODO. `edit_registry` applies the plan to the bridge's `mapping_registry` with libcst,
in the registry's own style: AutoMapping entries into the dict the loop reads, other mappings as constructor
calls beside the existing ones; weight strings are copied exactly.

>>> names = collect_hf_names(load_spec(from_transformers="qwen3"))
>>> plan = plan_registry(catalog, catalog.bridge("Qwen2Bridge"), names)
>>> [k.megatron_param for k in plan.drops]
['decoder.layers.*.self_attention.linear_qkv.bias']
>>> code = (root / catalog.bridge("Qwen2Bridge").path).read_text()
>>> new_code, misses = edit_registry(code, "Qwen2Bridge", plan)
>>> misses, "self_attention.q_layernorm.weight" in new_code
([], True)
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import libcst as cst

from analyzers.catalog.modules import module_name
from analyzers.catalog.records import BridgeRecord, Catalog, MappingRecord, MappingRegistry
from analyzers.coverage import PatternUse, coverage, group_names, match_names, pattern_regex
from analyzers.hf_names import HFNames
from analyzers.layer_roles import NORM_ROLES, megatron_role
from analyzers.synthesize import SynthesizedMapping, synthesize
from analyzers.vocabulary import learn_vocabulary
from codemods._cst import last_name, string_literal
from codemods.clone_family._local_mappings import LocalMapping, plan_local_mappings, shared_imports
from codemods.clone_family._templates import TODO

__all__ = ["RegistryPlan", "edit_registry", "plan_registry"]

_MTP = re.compile(r"(^|\.)(mtp|nextn|next_n)(\.|_|$)")
_FUSED_NORM = re.compile(r"\.layer_norm_(weight|bias)$")
_HF_ROLES_AUTO = ("hf_param", "arg1")


@dataclass(frozen=True)
class MappingKey:
    """What identifies one mapping in the source text: class, Megatron pattern, HF patterns by role."""

    mapping_class: str
    megatron_param: str
    hf_params: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, m: MappingRecord | SynthesizedMapping) -> MappingKey:
        return cls(m.mapping_class, m.megatron_param or "", tuple(m.hf_params.items()))

    @property
    def hf_list(self) -> list[str]:
        return [p for _, p in self.hf_params]

    @property
    def is_auto(self) -> bool:
        return self.mapping_class == "AutoMapping" and len(self.hf_params) == 1

    def describe(self) -> str:
        return f"{self.mapping_class}({self.megatron_param} <- {', '.join(self.hf_list)})"

    def code(self) -> str:
        args = [f'megatron_param="{self.megatron_param}"']
        for role, pattern in self.hf_params:
            args.append(f'{"hf_param" if role in _HF_ROLES_AUTO else role}="{pattern}"')
        return f"{self.mapping_class}({', '.join(args)})"


@dataclass
class RegistryPlan:
    """Edits of one bridge's `mapping_registry`, each with its reason."""

    drops: list[MappingKey] = field(default_factory=list)
    retargets: list[tuple[MappingKey, str]] = field(default_factory=list)  #: (mapping, new megatron_param)
    adds: list[MappingKey] = field(default_factory=list)
    #: mapping -> TODO placed just above it (kept mappings the tool cannot decide)
    element_todos: dict[MappingKey, str] = field(default_factory=dict)
    todos: list[str] = field(default_factory=list)  #: TODOs placed before the registry's return
    report: list[str] = field(default_factory=list)
    classes: dict[str, str] = field(default_factory=dict)  #: mapping class -> module to import it from
    #: provider attribute -> (value, reason): what the edited registry's Megatron targets need the provider
    #: to build (a LayerNorm bias needs normalization="LayerNorm", a shared-expert gate moe_shared_expert_gate)
    requires: dict[str, tuple[object, str]] = field(default_factory=dict)
    #: mapping classes the clone defines in the bridge module, each with the registry entry using it
    local: list[LocalMapping] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.drops or self.retargets or self.adds or self.element_todos or self.todos)


def _is_mtp(m: MappingRecord) -> bool:
    return bool(_MTP.search(m.megatron_param or "")) or any(_MTP.search(p) for p in m.hf_list)


def _matched(patterns: Iterable[str], names: Sequence[str]) -> set[str]:
    out: set[str] = set()
    for pattern in patterns:
        regex = pattern_regex(pattern)
        out.update(n for n in names if regex.match(n))
    return out


def _shapes(names: Iterable[str], limit: int = 4) -> str:
    shapes = sorted(group_names(sorted(names)))
    return ", ".join(shapes[:limit]) + (f" (+{len(shapes) - limit} more)" if len(shapes) > limit else "")


def plan_registry(
    catalog: Catalog,
    bridge: BridgeRecord,
    names: HFNames,
    *,
    exclude: Sequence[str] = (),
    model_type: str | None = None,
) -> RegistryPlan:
    """The edits that make `bridge`'s registry map every name of `names` exactly once; see the module docstring.

    `exclude` leaves bridges out of the learned vocabulary (leave-one-out benchmarks). `model_type` names the
    transformers modeling file that says where the new model's norms sit (pre- or post-norm): a kept norm
    mapping of the other kind is retargeted.
    """
    plan = RegistryPlan()
    checkpoint = names.names
    everything = checkpoint + [t for t in names.tied if t not in names.shapes]
    own = [m for m in bridge.registry.mappings]
    if bridge.registry.inherits:
        plan.todos.append(
            f"the registry extends {bridge.registry.inherits}'s (super().mapping_registry()); "
            "those inherited mappings were not checked against the new checkpoint names"
        )
    for item in bridge.registry.unresolved:
        plan.todos.append(
            f"part of the registry could not be evaluated at line {item.location.line}: {item.reason}"
        )
    uses = [
        PatternUse(m.mapping_class, m.megatron_param, role, p, m.condition, str(m.location), bridge.name)
        for m in own
        for role, p in m.hf_params.items()
    ]
    match_names(uses, group_names(everything))
    hits: dict[int, list[int]] = {}
    index = 0
    for i, m in enumerate(own):
        hits[i] = [u.matches for u in uses[index : index + len(m.hf_params)]]
        index += len(m.hf_params)
    kept: list[MappingRecord] = []
    kept_mtp: list[MappingKey] = []
    for i, m in enumerate(own):
        key = MappingKey.of(m)
        counts = hits[i]
        if not counts or all(counts):
            kept.append(m)
            continue
        if any(counts):
            missing = [p for p, c in zip(m.hf_list, counts, strict=True) if not c]
            todo = f"the new checkpoint has no {', '.join(missing)}: fix or remove this mapping"
            _element_todo(plan, bridge, m, key, todo)
            kept.append(m)
        elif _is_mtp(m):
            kept_mtp.append(key)
            kept.append(m)
        elif m.condition:
            _element_todo(
                plan, bridge, m, key, f"matches no HF name of the new model (guarded by `{m.condition}`)"
            )
            kept.append(m)
        elif m.location.path != bridge.path or m.via:
            plan.todos.append(
                f"{key.describe()} (from {m.via or 'a helper'}, {m.location}) matches no HF name of the new model"
            )
            kept.append(m)
        else:
            plan.drops.append(key)
            plan.report.append(
                f"dropped {key.describe()}: its HF pattern matches no name of the new checkpoint"
            )
    if kept_mtp:
        plan.report.append(
            f"kept {len(kept_mtp)} MTP mappings ({', '.join(k.megatron_param for k in kept_mtp[:3])}"
            f"{' ...' if len(kept_mtp) > 3 else ''}): they match no name of this checkpoint, but {bridge.name} "
            "maps MTP layers for checkpoints that carry them"
        )
    covered = _matched([p for m in kept for p in m.hf_list], checkpoint)
    missing = [n for n in checkpoint if n not in covered]
    synthesis = None
    if missing or any(_norm_role(m.megatron_param or "") for m in kept):
        vocab = learn_vocabulary(catalog, exclude=exclude)
        synthesis = synthesize(vocab, checkpoint, tied=names.tied, source=names.source, model_type=model_type)
    shared = {c.name: c.path for c in catalog.mapping_classes if c.family is None}
    final_megatron = {m.megatron_param or "" for m in kept}
    if synthesis is not None and missing:
        missing_set = set(missing)
        taken: set[str] = set()
        for sm in synthesis.mappings:
            found = _matched(sm.hf_params.values(), checkpoint)
            if not found or not found <= missing_set:
                continue
            key = MappingKey.of(sm)
            teachers = ", ".join(sm.evidence.bridges[:4]) + (" ..." if len(sm.evidence.bridges) > 4 else "")
            if sm.custom_class or sm.mapping_class not in shared:
                plan.todos.append(
                    f"add {key.describe()} for {_shapes(found)}: {sm.evidence.note or 'a custom mapping class'}"
                )
                continue
            plan.adds.append(key)
            plan.classes[sm.mapping_class] = module_name(shared[sm.mapping_class])
            final_megatron.add(sm.megatron_param)
            taken |= found
            plan.report.append(
                f"added {key.describe()}: the new checkpoint has {_shapes(found, 2)} ({len(found)} names); "
                f"taught by {teachers} ({sm.evidence.level} confidence {sm.evidence.confidence:.2f})"
            )
            if sm.evidence.level == "low":
                plan.element_todos[key] = (
                    f"low confidence ({sm.evidence.confidence:.2f}): check against {', '.join(sm.evidence.voters[:3])}"
                )
        missing = [n for n in missing if n not in taken]
    if missing:
        _add_local_mappings(plan, missing, model_type, synthesis.megatron_base if synthesis else "", shared)
        final_megatron |= {m.megatron_param for m in plan.local}
        missing = [n for n in missing if n not in _matched([m.hf_param for m in plan.local], missing)]
    # A layernorm fused into a linear the new registry lacks (`mlp.linear_fc1.layer_norm_weight` once the
    # dense MLP is gone) takes the convention the synthesis votes for (`pre_mlp_layernorm.weight`); a norm
    # the new model puts elsewhere (Llama's pre-MLP `post_attention_layernorm` is Gemma2's post-attention
    # norm) takes the synthesized place of its kind.
    learned = {frozenset(sm.hf_params.values()): sm for sm in (synthesis.mappings if synthesis else [])}
    for m in kept:
        param = m.megatron_param or ""
        key = MappingKey.of(m)
        other = learned.get(frozenset(m.hf_list))
        role, new_role = _norm_role(param), _norm_role(other.megatron_param) if other else None
        if role and new_role and role != new_role and other.megatron_param != param:
            plan.retargets.append((key, other.megatron_param))
            plan.report.append(
                f"retargeted {m.hf_list[0]} from {param} to {other.megatron_param}: the new model's layer has it as "
                f"the {new_role.replace('_', '-')} norm, not the {role.replace('_', '-')} one; "
                f"{other.evidence.note or 'taught by ' + ', '.join(other.evidence.bridges[:4])}"
            )
            final_megatron.add(other.megatron_param)
            continue
        if not _FUSED_NORM.search(param) or _FUSED_NORM.sub(".weight", param) in final_megatron:
            continue
        if other is not None and other.megatron_param == param:
            continue  # the new model has the linear (a fused tensor no catalog class takes): a TODO says so
        host = _FUSED_NORM.sub(".weight", param)
        if other is None:
            if not _is_mtp(m):
                _element_todo(
                    plan, bridge, m, key, f"{param} is fused into {host}, which the new registry lacks"
                )
            continue
        plan.retargets.append((key, other.megatron_param))
        plan.report.append(
            f"retargeted {m.hf_list[0]} from {param} to {other.megatron_param}: the new registry has no {host}; "
            f"taught by {', '.join(other.evidence.bridges[:4])}"
        )
    if missing:
        plan.todos.append(f"{len(missing)} HF names are not mapped: {_shapes(missing, 6)}")
        left = set(missing)
        for u in synthesis.unmapped if synthesis else []:
            if u.needs and left & set(u.names):
                plan.todos.append(u.needs)
    _requirements(plan, bridge, kept)
    plan.todos.extend(_doubles(catalog, bridge, plan, kept, everything))
    for todo in plan.todos:
        plan.report.append(f"TODO mapping_registry: {todo}")
    return plan


def _add_local_mappings(
    plan: RegistryPlan, missing: list[str], model_type: str | None, base: str, shared: dict[str, str]
) -> None:
    """Entries of the local mapping classes (`_local_mappings`) for weight groups no catalog class takes."""
    for local in plan_local_mappings(group_names(missing), model_type, base):
        key = MappingKey(local.class_name, local.megatron_param, (("hf_param", local.hf_param),))
        plan.local.append(local)
        plan.adds.append(key)
        plan.classes.update(shared_imports([local], {c: module_name(p) for c, p in shared.items()}))
        plan.report.append(
            f"added {key.describe()}: no catalog class takes {local.hf_param} ({local.feature}); the clone "
            f"defines {local.class_name} in the bridge module (GatedMLPMapping on the two halves)"
        )


def _norm_role(param: str) -> str | None:
    """The place of a Megatron decoder-layer norm parameter (pre-/post- attention / MLP), None for others."""
    found = re.search(r"(^|\.)decoder\.layers\.\*\.(.+)$", param)
    role = megatron_role(found.group(2)) if found and not _MTP.search(param) else None
    return role if role in NORM_ROLES else None


#: Megatron parameter -> the provider setting that builds it
_REQUIRES = (
    (re.compile(r"(layer_norm_bias|layernorm\.bias)$"), "normalization", "LayerNorm"),
    (re.compile(r"\.(q_layernorm|k_layernorm)\."), "qk_layernorm", True),
    (re.compile(r"\.linear_qkv\.bias$"), "add_qkv_bias", True),
    (re.compile(r"\.(linear_proj|linear_fc1|linear_fc2)\.bias$"), "add_bias_linear", True),
    (re.compile(r"\.shared_experts\.gate_weight$"), "moe_shared_expert_gate", True),
)
#: what a registry TODO says of a post-norm SRC's layers lack (the clone's own layer spec may build it)
SPEC_TODO = "layer spec builds no such post-norm"
#: Megatron parameters no provider attribute builds: the layer spec must (Gemma2's post-norm layers)
_SPEC_MODULES = re.compile(r"\.(linear_proj|linear_fc2)\.post_layernorm\.")


def _requirements(plan: RegistryPlan, bridge: BridgeRecord, kept: list[MappingRecord]) -> None:
    """What the edited registry needs the provider to build (`RegistryPlan.requires`), reported; a post-norm
    the source's layers lack is a TODO (no provider attribute builds it: the layer spec must)."""
    retarget = dict(plan.retargets)
    params = {retarget.get(MappingKey.of(m), m.megatron_param or "") for m in kept} | {
        k.megatron_param for k in plan.adds
    }
    source = {m.megatron_param or "" for m in bridge.registry.mappings}
    for param in sorted(params):
        if _MTP.search(param):
            continue
        for regex, attr, value in _REQUIRES:
            if regex.search(param) and attr not in plan.requires:
                plan.requires[attr] = (value, f"the registry maps {param}")
        if _SPEC_MODULES.search(param) and param not in source:
            plan.todos.append(
                f"{param}: {bridge.name}'s {SPEC_TODO}; the provider needs a layer spec "
                "with post-attention / post-MLP norms (as Gemma2's and Exaone4's do)"
            )
    for attr, (value, why) in plan.requires.items():
        plan.report.append(f"the edited registry needs provider.{attr} = {value!r} ({why})")


def _element_todo(
    plan: RegistryPlan, bridge: BridgeRecord, m: MappingRecord, key: MappingKey, todo: str
) -> None:
    if m.location.path == bridge.path and not m.via:
        plan.element_todos[key] = todo
    else:
        plan.todos.append(f"{key.describe()}: {todo}")
    plan.report.append(f"TODO {key.describe()}: {todo}")


def _doubles(
    catalog: Catalog, bridge: BridgeRecord, plan: RegistryPlan, kept: list[MappingRecord], names: list[str]
) -> list[str]:
    """Names two mappings of the edited registry claim (alternatives MB picks between are fine)."""
    retarget = dict(plan.retargets)
    final = [
        dataclasses.replace(m, megatron_param=retarget.get(MappingKey.of(m), m.megatron_param)) for m in kept
    ]
    location = bridge.location
    final += [
        MappingRecord(k.mapping_class, k.megatron_param, dict(k.hf_params), location) for k in plan.adds
    ]
    edited = dataclasses.replace(bridge, registry=MappingRegistry(mappings=final))
    report = coverage(catalog, edited, names)
    return [
        f"{d.name} is matched by two mappings: " + "; ".join(u.describe() for u in d.uses)
        for d in report.doubles
        if not d.alternative
    ]


# ------------------------------------------------------------------------------------------ editing


def _string(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString | cst.ConcatenatedString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _call_name(node: cst.BaseExpression) -> str | None:
    return last_name(node.func) if isinstance(node, cst.Call) else None


def _call_key(node: cst.BaseExpression) -> MappingKey | None:
    """The MappingKey of a `SomeMapping(megatron_param=..., q=..., ...)` call written with plain strings."""
    name = _call_name(node)
    if name is None or not name.endswith("Mapping"):
        return None
    assert isinstance(node, cst.Call)
    megatron = None
    roles: list[tuple[str, str]] = []
    position = 0
    for arg in node.args:
        value = _string(arg.value)
        if value is None or arg.star:
            return None
        if arg.keyword is None:
            if megatron is None and position == 0:
                megatron = value
            else:
                roles.append((f"arg{position}", value))
            position += 1
        elif arg.keyword.value == "megatron_param":
            megatron = value
        else:
            roles.append((arg.keyword.value, value))
    if megatron is None:
        return None
    return MappingKey(name, megatron, tuple(roles))


def _same(found: MappingKey | None, key: MappingKey) -> bool:
    if (
        found is None
        or found.mapping_class != key.mapping_class
        or found.megatron_param != key.megatron_param
    ):
        return False
    if found.is_auto and key.is_auto:
        return found.hf_list == key.hf_list
    return dict(found.hf_params) == dict(key.hf_params)


def _dict_key(element: cst.BaseDictElement) -> MappingKey | None:
    if not isinstance(element, cst.DictElement):
        return None
    megatron, hf = _string(element.key), _string(element.value)
    if megatron is None or hf is None:
        return None
    return MappingKey("AutoMapping", megatron, (("hf_param", hf),))


def _segments_shared(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a.split("."), b.split("."), strict=False):
        if x != y:
            break
        n += 1
    return n


def _comment_line(text: str) -> cst.EmptyLine:
    return cst.EmptyLine(indent=True, comment=cst.Comment(f"# {TODO}: {' '.join(text.split())}"))


class _RegistryEditor(cst.CSTTransformer):
    """Applies a RegistryPlan inside one `mapping_registry` function."""

    def __init__(self, plan: RegistryPlan) -> None:
        self.plan = plan
        self.done: set[tuple[str, MappingKey]] = set()
        self.dict_adds = [k for k in plan.adds if k.is_auto]
        self.call_adds = [k for k in plan.adds if not k.is_auto]
        self.loop_dict: cst.Dict | None = None
        self.call_list: cst.CSTNode | None = None
        self.left: list[str] = []  #: element TODOs that found no place above their element

    # which containers take the additions: the dict the AutoMapping loop reads, the list of mapping calls
    def find_containers(self, function: cst.FunctionDef) -> None:
        dicts: list[cst.Dict] = []
        lists: list[tuple[int, cst.CSTNode]] = []

        class Finder(cst.CSTVisitor):
            def visit_Dict(self, node: cst.Dict) -> None:
                if any(_dict_key(e) for e in node.elements):
                    dicts.append(node)

            def visit_List(self, node: cst.List) -> None:
                count = sum(1 for e in node.elements if _call_key(e.value))
                if count:
                    lists.append((count, node))

            def visit_Call(self, node: cst.Call) -> None:
                if _call_name(node) == "MegatronMappingRegistry":
                    count = sum(1 for a in node.args if _call_key(a.value))
                    if count:
                        lists.append((count, node))

        function.visit(Finder())
        self.loop_dict = max(dicts, key=lambda d: len(d.elements), default=None)
        self.call_list = max(lists, key=lambda item: item[0], default=(0, None))[1]
        if self.loop_dict is None:
            self.call_adds += self.dict_adds
            self.dict_adds = []

    def _drop(self, key: MappingKey | None) -> bool:
        if key is None:
            return False
        for drop in self.plan.drops:
            if _same(key, drop):
                self.done.add(("drop", drop))
                return True
        return False

    def _todo_for(self, key: MappingKey | None) -> str | None:
        if key is None:
            return None
        for k, todo in self.plan.element_todos.items():
            if _same(key, k):
                self.done.add(("todo", k))
                return todo
        return None

    def _retarget(self, key: MappingKey | None) -> str | None:
        if key is None:
            return None
        for k, new in self.plan.retargets:
            if _same(key, k):
                self.done.add(("retarget", k))
                return new
        return None

    def leave_Dict(self, original: cst.Dict, updated: cst.Dict) -> cst.Dict:
        elements = list(updated.elements)
        keys = [_dict_key(e) for e in elements]
        out, todos = self._edit(elements, keys, lambda e, new: e.with_changes(key=_str_node(new)))
        if original is self.loop_dict and self.dict_adds:
            for key in self.dict_adds:
                new = cst.DictElement(
                    key=_str_node(key.megatron_param),
                    value=_str_node(key.hf_list[0]),
                    comma=cst.Comma(),
                )
                out, todos = _insert(out, todos, new, key, [_dict_key(e) for e in out])
                self.done.add(("add", key))
        return updated.with_changes(elements=_with_comments(out, todos, self.left))

    def leave_List(self, original: cst.List, updated: cst.List) -> cst.List:
        elements = list(updated.elements)
        keys = [_call_key(e.value) for e in elements]
        if not any(keys):
            return updated
        out, todos = self._edit(elements, keys, _retarget_call_element)
        if original is self.call_list:
            out, todos = self._add_calls(out, todos, lambda code: cst.Element(cst.parse_expression(code)))
        return updated.with_changes(elements=_with_comments(out, todos, self.left))

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        if _call_name(updated) != "MegatronMappingRegistry":
            return updated
        args = list(updated.args)
        keys = [_call_key(a.value) for a in args]
        out, todos = self._edit(args, keys, _retarget_call_element)
        if original is self.call_list:
            out, todos = self._add_calls(out, todos, lambda code: cst.Arg(cst.parse_expression(code)))
        return updated.with_changes(args=_with_comments(out, todos, self.left))

    def leave_SimpleStatementLine(
        self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.RemovalSentinel:
        # mapping_list.append(SomeMapping(...))
        if len(updated.body) == 1 and isinstance(updated.body[0], cst.Expr):
            call = updated.body[0].value
            if (
                isinstance(call, cst.Call)
                and _call_name(call) == "append"
                and len(call.args) == 1
                and self._drop(_call_key(call.args[0].value))
            ):
                return cst.RemoveFromParent()
        return updated

    def _add_calls(self, out: list, todos: list, make) -> tuple[list, list]:
        for key in self.call_adds:
            element = make(key.code()).with_changes(comma=cst.Comma())
            out, todos = _insert(out, todos, element, key, [_call_key(e.value) for e in out])
            self.done.add(("add", key))
        return out, todos

    def _edit(self, elements: list, keys: list[MappingKey | None], retarget) -> tuple[list, list]:
        """Elements left after drops (retargets applied), and the TODO text to place above each."""
        kept: dict[int, object] = {}
        todos: list[str | None] = []
        for i, (element, key) in enumerate(zip(elements, keys, strict=True)):
            if self._drop(key):
                continue
            new = self._retarget(key)
            kept[i] = retarget(element, new) if new is not None else element
            todos.append(self._todo_for(key))
        return _relink(elements, kept), todos


def _str_node(value: str) -> cst.SimpleString:
    return string_literal(value)


def _retarget_call_element(element, new: str):
    call = element.value
    args = [
        a.with_changes(value=_str_node(new))
        if (a.keyword is not None and a.keyword.value == "megatron_param") or (a.keyword is None and i == 0)
        else a
        for i, a in enumerate(call.args)
    ]
    return element.with_changes(value=call.with_changes(args=args))


def _relink(original: list, kept: dict[int, object]) -> list:
    """Kept elements with the comments between them repaired after removals.

    The comment lines above an element live in the previous element's comma (libcst), so a removed
    element's own comments go with it and the next element's comments come back from the removed
    element's comma; a section header above a removed element stays when the next element has none.
    """
    if len(kept) == len(original):
        return list(kept.values())
    out: list = []
    previous = None  # index in `out` of the last kept element
    for i, element in enumerate(original):
        if i in kept:
            out.append(kept[i])
            previous = len(out) - 1
            continue
        before = out[previous].comma if previous is not None else None
        after = element.comma
        if not isinstance(before, cst.Comma) or not isinstance(after, cst.Comma):
            if previous is not None and isinstance(before, cst.Comma) and not isinstance(after, cst.Comma):
                # the last element went: the closing bracket's own whitespace follows
                out[previous] = out[previous].with_changes(comma=cst.Comma())
            continue
        ws_before, ws_after = before.whitespace_after, after.whitespace_after
        if isinstance(ws_before, cst.ParenthesizedWhitespace) and isinstance(
            ws_after, cst.ParenthesizedWhitespace
        ):
            header = list(ws_before.empty_lines) if not ws_after.empty_lines else []
            ws = ws_after.with_changes(
                first_line=ws_before.first_line, empty_lines=[*header, *ws_after.empty_lines]
            )
            out[previous] = out[previous].with_changes(comma=before.with_changes(whitespace_after=ws))
        else:
            out[previous] = out[previous].with_changes(comma=before.with_changes(whitespace_after=ws_after))
    return out


def _insert(
    out: list, todos: list, element, key: MappingKey, keys: list[MappingKey | None]
) -> tuple[list, list]:
    """`element` after the existing entry whose Megatron pattern shares the most leading segments with `key`'s."""
    best, where = -1, len(out) - 1
    for i, k in enumerate(keys):
        if k is None:
            continue
        shared = _segments_shared(k.megatron_param, key.megatron_param)
        if shared >= best:
            best, where = shared, i
    if where < 0:
        return [*out, element], [*todos, None]
    anchor = out[where]
    comma = anchor.comma
    if isinstance(comma, cst.Comma) and isinstance(comma.whitespace_after, cst.ParenthesizedWhitespace):
        ws = comma.whitespace_after
        # the anchor keeps its own trailing comment; the comments above the next entry move below the new one
        anchor = anchor.with_changes(
            comma=comma.with_changes(whitespace_after=ws.with_changes(empty_lines=[]))
        )
        element = element.with_changes(
            comma=cst.Comma(whitespace_after=ws.with_changes(first_line=cst.TrailingWhitespace()))
        )
    elif not isinstance(comma, cst.Comma):
        anchor = anchor.with_changes(comma=cst.Comma())
    return (
        [*out[:where], anchor, element, *out[where + 1 :]],
        [*todos[: where + 1], None, *todos[where + 1 :]],
    )


def _with_comments(elements: list, todos: list, left: list[str]) -> list:
    """Place each TODO as a comment line above its element (in the previous comma's whitespace); the
    TODOs that have no such place go to `left`."""
    out = list(elements)
    for i, todo in enumerate(todos):
        if todo is None:
            continue
        comma = out[i - 1].comma if i else None
        if isinstance(comma, cst.Comma) and isinstance(comma.whitespace_after, cst.ParenthesizedWhitespace):
            ws = comma.whitespace_after
            ws = ws.with_changes(empty_lines=[*ws.empty_lines, _comment_line(todo)])
            out[i - 1] = out[i - 1].with_changes(comma=comma.with_changes(whitespace_after=ws))
        else:
            left.append(todo)
    return out


class MappingImports(cst.CSTTransformer):
    """Adds mapping classes to the module's existing import from their module."""

    def __init__(self, needed: dict[str, str]) -> None:
        self.needed = dict(needed)

    def leave_ImportFrom(self, original: cst.ImportFrom, updated: cst.ImportFrom) -> cst.ImportFrom:
        if updated.module is None or isinstance(updated.names, cst.ImportStar):
            return updated
        module = cst.Module([]).code_for_node(updated.module)
        wanted = [c for c, m in self.needed.items() if m == module]
        if not wanted:
            return updated
        have = {a.evaluated_name for a in updated.names}
        for cls in wanted:
            self.needed.pop(cls)
        add = [cls for cls in wanted if cls not in have]
        if not add:
            return updated
        names = list(updated.names)
        trailing = names[-1].comma
        names[-1] = names[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        names += [
            cst.ImportAlias(cst.Name(c), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            for c in add
        ]
        # the last name keeps the original's trailing comma (ruff keeps a magic trailing comma's layout)
        names[-1] = names[-1].with_changes(comma=trailing)
        return updated.with_changes(names=names)

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        if not self.needed:
            return updated
        body = list(updated.body)
        last = max(
            (
                i
                for i, s in enumerate(body)
                if isinstance(s, cst.SimpleStatementLine)
                and isinstance(s.body[0], cst.Import | cst.ImportFrom)
            ),
            default=-1,
        )
        by_module: dict[str, list[str]] = {}
        for cls, module in self.needed.items():
            by_module.setdefault(module, []).append(cls)
        new = [
            cst.parse_statement(f"from {m} import {', '.join(sorted(c))}\n")
            for m, c in sorted(by_module.items())
        ]
        return updated.with_changes(body=[*body[: last + 1], *new, *body[last + 1 :]])


def edit_function(function: cst.FunctionDef, plan: RegistryPlan) -> tuple[cst.FunctionDef, list[str]]:
    """`mapping_registry` with the plan applied, and the TODOs it could not place at their element."""
    editor = _RegistryEditor(plan)
    editor.find_containers(function)
    new = function.visit(editor)
    misses = list(editor.left)
    for key in plan.drops:
        if ("drop", key) not in editor.done:
            misses.append(f"remove {key.describe()}: its HF pattern matches no name of the new checkpoint")
    for key, target in plan.retargets:
        if ("retarget", key) not in editor.done:
            misses.append(f"map {key.hf_list[0]} to {target} instead of {key.megatron_param}")
    for key in plan.adds:
        if ("add", key) not in editor.done:
            misses.append(f"add {key.code()}")
    for key, todo in plan.element_todos.items():
        if ("todo", key) not in editor.done:
            misses.append(f"{key.describe()}: {todo}")
    return new, misses


def edit_registry(code: str, bridge_class: str, plan: RegistryPlan) -> tuple[str, list[str]]:
    """`code` with `bridge_class.mapping_registry` edited by the plan, and the edits it could not make."""
    module = cst.parse_module(code)
    misses: list[str] = []

    class Edit(cst.CSTTransformer):
        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return node.name.value == bridge_class

        def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
            if updated.name.value != "mapping_registry":
                return updated
            new, missed = edit_function(updated, plan)
            misses.extend(missed)
            return new

    module = module.visit(Edit())
    if plan.classes:
        module = module.visit(MappingImports(plan.classes))
    return module.code, misses
