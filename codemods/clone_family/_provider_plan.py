"""What the cloned bridge's provider must be given: every setting the new config implies that SRC's provider
does not already give it, every SRC setting that would read a field the new config lacks, and SRC's layer
spec when its structure contradicts the new model.

The settings come from the provider vocabulary (`analyzers.provider_vocabulary.implied_settings`, each with
the bridges that teach it), held against what SRC's settings come to on the new config (`resolve_all`).
A value is spelt as the teachers spell it (``hf_config.rope_theta``) when that expression evaluates to the
implied value on the new config, else as a literal; `_provider_edits` writes it where SRC sets its provider.
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass, field
from typing import Any

from analyzers.catalog.modules import indexed_module
from analyzers.catalog.provider_settings import CFG
from analyzers.catalog.records import BridgeRecord, Catalog, ProviderSetting
from analyzers.errors import ParseError
from analyzers.hf_config import ModelSpec
from analyzers.provider_eval import UNKNOWN, evaluate, plain
from analyzers.provider_vocabulary import (
    DEFAULT_STYLES,
    MCORE_DEFAULTS,
    ImpliedSetting,
    bridge_context,
    class_defaults,
    derived,
    equivalent,
    implied_settings,
    provider_class_of,
    resolve_all,
)
from analyzers.source_index import SourceIndex
from codemods._cst import literal_node

__all__ = ["AttrWrite", "ProviderPlan", "plan_provider"]

#: methods every bridge inherits from MegatronModelBridge that a written expression may call on `self`
BRIDGE_METHODS = frozenset({"hf_to_megatron_activation", "dtype_from_hf", "make_vocab_size_divisible_by"})
_BUILTINS = frozenset(dir(builtins))
#: provider attributes whose values are callables (an implied value is the callable's name)
SYMBOL_ATTRS = frozenset({"activation_func"})
#: symbol prefix -> the import that binds it (module, name, asname)
SYMBOL_IMPORTS: dict[str, tuple[str, str | None, str | None]] = {
    "F": ("torch.nn.functional", None, "F"),
    "torch": ("torch", None, None),
    "fast_gelu": ("megatron.core.activations", "fast_gelu", None),
    "squared_relu": ("megatron.core.activations", "squared_relu", None),
}
#: Megatron-Bridge's config helpers a written expression may call (imported where the module lacks them)
COMPAT_HELPERS = frozenset({"rope_theta_from_hf", "rope_local_base_freq_from_hf", "rope_scaling_factor_from_hf",
                            "full_attention_interval_from_hf"})  # fmt: skip
COMPAT_MODULE = "megatron.bridge.models.conversion.transformers_compat"
#: attributes the plan never writes: run-time and precision choices, not the model's function
_NOT_WRITTEN = frozenset({"seq_length", "vocab_size"})
_SPEC_QK = re.compile(r"\b(q_layernorm|k_layernorm)\b")


@dataclass(frozen=True)
class AttrWrite:
    """One provider attribute the clone writes (or, with `expr` None, whose SRC settings it removes)."""

    attr: str
    #: the value as the teaching bridges spell it (reads ``hf_config``); None when only a literal fits
    expr: str | None
    literal: str | None  #: the value as a literal (or a symbol such as ``F.silu``); None: remove
    reason: str
    #: names `expr` uses besides ``hf_config``, ``self`` and builtins (the module must bind them)
    needs: tuple[str, ...] = ()
    #: imports the literal needs (module, name, asname)
    imports: tuple[tuple[str, str | None, str | None], ...] = ()
    #: the provider dataclass (SRC's name) whose field default gives the value, when that is a cloned file
    default_of: str | None = None

    @property
    def removes(self) -> bool:
        return self.expr is None and self.literal is None


@dataclass
class ProviderPlan:
    """Every provider decision of the clone, with its reason."""

    writes: dict[str, AttrWrite] = field(default_factory=dict)
    #: fields the new config lacks that SRC's bridge reads with a plain attribute access (load-time crash)
    missing_fields: set[str] = field(default_factory=set)
    #: attributes SRC's provider already gives the implied value (the clone keeps SRC's setting)
    kept: set[str] = field(default_factory=set)
    #: why SRC's `transformer_layer_spec` setting goes (the provider class default spec applies); None: kept
    spec_reset: str | None = None
    report: list[str] = field(default_factory=list)


def plan_provider(
    spec: ModelSpec,
    bridge: BridgeRecord,
    catalog: Catalog,
    names: list[str] | None = None,
    shapes: dict[str, tuple[int, ...] | None] | None = None,
    *,
    index: SourceIndex,
    cloned_paths: frozenset[str] = frozenset(),
    exclude: tuple[str, ...] = (),
) -> ProviderPlan:
    """The provider settings the clone of `bridge` writes for the new config `spec` (see the module docstring).

    `index`: the run's sources (SRC's modules are read through it); `cloned_paths`: the source paths the
    clone copies (a provider dataclass there takes its defaults' edits).
    """
    plan = ProviderPlan()
    implied = {s.attr: s for s in implied_settings(spec, catalog, names, shapes, exclude=exclude)}
    resolved = resolve_all(catalog, bridge, spec.config)
    fields = spec.text_fields()
    context = bridge_context(catalog, bridge)
    for attr, imp in implied.items():
        if attr in _NOT_WRITTEN:
            continue
        got = resolved.get(attr)
        crash = bool(got and got.missing)
        if got is not None and got.setting is not None and not crash:
            if got.value is UNKNOWN:
                continue  # SRC's value cannot be worked out statically: left as SRC writes it
            before = plain(got.value)
            if equivalent(attr, derived(attr, before, fields), derived(attr, imp.value, fields)):
                if not _reads_unread_field(imp, got.setting.value, spec.config, catalog, context):
                    plan.kept.add(attr)
                    continue
                status = "same value"
            else:
                status = "contradicts" if got.setting.style not in DEFAULT_STYLES else "default differs"
        else:
            if imp.value is None and not crash:
                continue  # nothing implied beyond "unset"
            status, before = ("reads a missing field" if crash else "not set"), None
        write = _spell(imp, spec.config, catalog, context)
        form = _form(
            got.setting.value if got is not None and got.setting is not None else "", before, imp.value
        )
        if form == "other":
            plan.report.append(
                f"kept provider.{attr} as {bridge.name} writes it ({before!r}): its provider reads it in another "
                f"form than {imp.value!r} ({_teach(imp)})"
            )
            continue
        if write is not None and isinstance(form, int):
            write = _repeat(write, form)
        if write is None:
            plan.report.append(f"TODO provider.{attr} = {imp.value!r}: no literal spells it ({_teach(imp)})")
            continue
        default_of = None
        # a read of the config cannot be a dataclass field default: the bridge writes it where it sets its provider
        if got is not None and got.setting is not None and got.setting.style in DEFAULT_STYLES:
            default_of = None if status == "same value" else _cloned_default(got.setting, cloned_paths)
        shown = write.expr or write.literal
        what = f"{bridge.name} " + (
            f"gives {before!r} without reading {', '.join(imp.fields)}" if status == "same value" else
            f"gives {before!r}" if status in ("contradicts", "default differs") else
            "reads a field the config lacks" if status == "reads a missing field" else "leaves it unset"
        )  # fmt: skip
        reason = f"{_evidence(imp)}; {what}; {_teach(imp)}"
        plan.writes[attr] = AttrWrite(
            attr, write.expr, write.literal, reason, write.needs, write.imports, default_of
        )
        where = f" (the {default_of} default)" if default_of else ""
        plan.report.append(f"provider.{attr} = {shown}{where} ({reason})")
    for attr, got in resolved.items():
        for setting, name in got.missing:
            plan.missing_fields.add(name.split(".")[0])
            path = setting.location.path if setting.location else None
            if (
                path is not None
                and path not in cloned_paths
                and setting.style not in ("config_mapping", *DEFAULT_STYLES)
            ):
                plan.report.append(
                    f"TODO provider.{attr}: {setting.via or bridge.name} in {path} (not cloned) reads {name}, which "
                    "the config lacks (AttributeError at load): inline it into the clone or guard the read"
                )
            if attr in plan.writes or setting.style in ("config_mapping", *DEFAULT_STYLES):
                continue
            renamed = _read_of_near_name(setting.value, name, fields, resolved)
            if renamed is not None:
                expr, near = renamed
                reason = (
                    f"{setting.value} reads {name}, which the config lacks; the config has {near}, named like it "
                    "and read by no other setting (check the modeling code)"
                )
                plan.writes[attr] = AttrWrite(attr, expr, repr(fields[near]), reason)
                plan.report.append(f"provider.{attr} = {expr} ({reason})")
                continue
            reset = _mcore_over_class_default(catalog, bridge, attr)
            if reset is not None:
                # removing it would leave SRC's provider default, which is SRC's value, not "no such feature"
                literal, default = reset
                reason = (
                    f"{setting.value} reads {name}, which the config lacks; Megatron-Core's default, not "
                    f"{default.via or provider_class_of(bridge)}'s {default.value}"
                )
                plan.writes[attr] = AttrWrite(attr, None, literal, reason)
                plan.report.append(f"provider.{attr} = {literal} ({reason})")
                continue
            plan.writes[attr] = AttrWrite(
                attr,
                None,
                None,
                f"{setting.value} reads {name}, which the config lacks (AttributeError at load)",
            )
            plan.report.append(
                f"provider.{attr}: removed {bridge.name}'s `{setting.value}` (reads {name}, which the config "
                "lacks; the provider default applies)"
            )
    _plain_norm(spec, bridge, resolved, plan, cloned_paths)
    _own_layer_pattern(bridge, resolved, plan, cloned_paths)
    plan.spec_reset = _spec_contradiction(catalog, index, bridge, resolved, implied, plan)
    if plan.spec_reset:
        plan.report.append(f"provider.transformer_layer_spec: {plan.spec_reset}")
    return plan


def _reads_unread_field(
    imp: ImpliedSetting, src_value: str, config: dict[str, Any], catalog: Catalog, context: Any
) -> bool:
    """`imp` is a rule on a config field no bridge reads (Qwen3-MoE's `norm_topk_prob` is the pre-softmax
    routing) that SRC's setting gives the same value without reading, and that a read of the field spells:
    the clone writes the read, so its bridge follows the field on every checkpoint of the model."""
    if (
        imp.evidence != "config-rule"
        or len(imp.fields) != 1
        or re.search(rf"\b{re.escape(imp.fields[0])}\b", src_value)
    ):
        return False
    write = _spell(imp, config, catalog, context)
    return write is not None and write.expr is not None


def _mcore_over_class_default(
    catalog: Catalog, bridge: BridgeRecord, attr: str
) -> tuple[str, ProviderSetting] | None:
    """Megatron-Core's default of `attr` and the default of SRC's provider class that differs from it
    (ExaoneMoeModelProvider's moe_router_topk_scaling_factor = 2.5), or None (no such class default)."""
    mcore = MCORE_DEFAULTS.get(attr)
    if mcore is None:
        return None
    default = next((s for s in class_defaults(catalog, provider_class_of(bridge)) if s.attr == attr), None)
    if default is None or default.value.strip() == mcore:
        return None
    return mcore, default


def _plain_norm(
    spec: ModelSpec,
    bridge: BridgeRecord,
    resolved: dict[str, Any],
    plan: ProviderPlan,
    cloned_paths: frozenset[str],
) -> None:
    """SRC's norms scale by ``1 + weight`` (Gemma's zero-centred gamma) where the new model's modeling code
    scales by the weight: `layernorm_zero_centered_gamma = False` (no config field says either)."""
    from analyzers.modeling_source import modeling_facts

    attr = "layernorm_zero_centered_gamma"
    got = resolved.get(attr)
    facts = modeling_facts(spec.model_type) if spec.model_type else None
    if attr in plan.writes or facts is None or facts.zero_centered_norm or got is None or got.setting is None:
        return
    if plain(got.value) is not True:
        return
    default_of = _cloned_default(got.setting, cloned_paths) if got.setting.style in DEFAULT_STYLES else None
    reason = f"modeling_{spec.model_type}.py: the norm scales by its weight, not 1 + weight; {bridge.name} gives True"
    plan.writes[attr] = AttrWrite(attr, None, "False", reason, default_of=default_of)
    where = f" (the {default_of} default)" if default_of else ""
    plan.report.append(f"provider.{attr} = False{where} ({reason})")


#: SRC's own spelling of the sliding / full layer pattern: Gemma3's (local, global) counts
_OWN_PATTERN = "interleaved_attn_pattern"


def _own_layer_pattern(
    bridge: BridgeRecord, resolved: dict[str, Any], plan: ProviderPlan, cloned_paths: frozenset[str]
) -> None:
    """SRC's provider picks sliding-window layers by its own (local, global) pattern (Gemma3's core attention
    and rotary switch read `interleaved_attn_pattern`, not Megatron-Core's `window_attn_skip_freq`): the
    written skip frequency N is given to it as (N - 1, 1) too."""
    write = plan.writes.get("window_attn_skip_freq")
    got = resolved.get(_OWN_PATTERN)
    if (
        write is None
        or write.literal is None
        or got is None
        or got.setting is None
        or _OWN_PATTERN in plan.writes
    ):
        return
    try:
        period = ast.literal_eval(write.literal)
    except (ValueError, SyntaxError):
        period = None
    if not isinstance(period, int) or isinstance(period, bool) or period < 2:
        plan.report.append(
            f"TODO provider.{_OWN_PATTERN}: {bridge.name}'s provider reads its (local, global) pattern, and the "
            f"layer pattern {write.literal} is not periodic"
        )
        return
    literal = f"({period - 1}, 1)"
    if plain(got.value) in ((period - 1, 1), [period - 1, 1]):
        return
    default_of = _cloned_default(got.setting, cloned_paths) if got.setting.style in DEFAULT_STYLES else None
    reason = (
        f"window_attn_skip_freq = {period} in {bridge.name}'s (local, global) form, which its provider's "
        f"attention reads; {bridge.name} gives {plain(got.value)!r}"
    )
    plan.writes[_OWN_PATTERN] = AttrWrite(_OWN_PATTERN, None, literal, reason, default_of=default_of)
    where = f" (the {default_of} default)" if default_of else ""
    plan.report.append(f"provider.{_OWN_PATTERN} = {literal}{where} ({reason})")


def _read_of_near_name(
    expr: str, name: str, fields: dict[str, Any], resolved: dict[str, Any]
) -> tuple[str, str] | None:
    """`expr` reading the config's field named most like the missing `name` instead (HY-V3's
    `router_scaling_factor` for ExaoneMoE's `routed_scaling_factor`), when one is close enough and no other
    setting of the source reads it; None otherwise."""
    import difflib

    if "." in name:
        return None
    read = {n.split(".")[0] for got in resolved.values() if got.outcome is not None for n in got.outcome.read}
    pool = [
        f
        for f in fields
        if f not in read and isinstance(fields[f], int | float) and not isinstance(fields[f], bool)
    ]
    near = difflib.get_close_matches(name, pool, n=1, cutoff=0.85)
    if not near:
        return None
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        return None
    hits = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == name]
    if len(hits) != 1:
        return None
    hits[0].attr = near[0]
    return ast.unparse(tree), near[0]


# --- spelling a value -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Spelt:
    expr: str | None
    literal: str | None
    needs: tuple[str, ...] = ()
    imports: tuple[tuple[str, str | None, str | None], ...] = ()


def _spell(imp: ImpliedSetting, config: dict[str, Any], catalog: Catalog, context: Any) -> _Spelt | None:
    """The teachers' expression when it reads the new config to the implied value, and a literal."""
    literal, imports = _literal(imp.attr, imp.value)
    expr, needs = None, ()
    if imp.evidence in ("config", "config-rule") and imp.expression:
        usable = _expression_names(imp.expression)
        if usable is not None:
            outcome = evaluate(imp.expression, config, None, catalog.activation_map, context)
            if (
                not outcome.missing
                and outcome.value is not UNKNOWN
                and equivalent(imp.attr, plain(outcome.value), imp.value)
            ):
                expr = imp.expression
                # a helper of Megatron-Bridge's compat module is imported; any other name must be bound already
                needs = tuple(n for n in usable if n not in COMPAT_HELPERS)
                imports += tuple((COMPAT_MODULE, n, None) for n in usable if n in COMPAT_HELPERS)
    if expr is None and imp.evidence == "config-rule" and len(imp.fields) == 1:
        # a rule that reads one field as the value (attention_multiplier is the softmax scale): spell the read
        name = imp.fields[0]
        if re.fullmatch(r"[A-Za-z_]\w*", name) and name in config:
            if equivalent(imp.attr, config[name], imp.value):
                expr = f"{CFG}.{name}"
            elif isinstance(config[name], bool) and imp.value is (not config[name]):
                expr = f"not {CFG}.{name}"  # a flag the setting negates (norm_topk_prob -> pre-softmax)
    if expr is None and literal is None:
        return None
    return _Spelt(expr, literal, needs, imports)


def _form(src_expr: str, before: Any, implied: Any) -> str | int:
    """How SRC's provider takes the attribute: "same" (the implied value's form), n (a tuple of n values where
    the vocabulary gives one, as Gemma3's (local, global) rotary_base), "other" (a scalar where the vocabulary
    gives a pair: the provider reads it in its own form, as Gemma3's window_size)."""
    seq = (list, tuple)
    if before is None:
        try:
            node = ast.parse(src_expr, mode="eval").body if src_expr else None
        except SyntaxError:
            node = None
        if isinstance(node, ast.Tuple | ast.List) and not isinstance(implied, seq):
            return len(node.elts)
        return "same"
    if isinstance(before, seq) and not isinstance(implied, seq) and len(before) > 1:
        return len(before)
    if not isinstance(before, seq) and isinstance(implied, seq) and before is not None:
        return "other"
    return "same"


def _repeat(write: _Spelt, n: int) -> _Spelt:
    """`write` as a tuple of `n` copies of its value."""
    expr = f"({', '.join([write.expr] * n)})" if write.expr else None
    literal = f"({', '.join([write.literal] * n)})" if write.literal else None
    return _Spelt(expr, literal, write.needs, write.imports)


def _literal(attr: str, value: Any) -> tuple[str | None, tuple[tuple[str, str | None, str | None], ...]]:
    """`value` as source text (a symbol for callables), and the imports it needs."""
    if attr in SYMBOL_ATTRS:
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z_]\w*(\.\w+)?", value):
            return None, ()
        root = value.split(".")[0]
        if root not in SYMBOL_IMPORTS:
            return None, ()
        return value, (SYMBOL_IMPORTS[root],)
    if attr == "window_size" and isinstance(value, list):
        value = tuple(value) if len(value) == 2 else value
    node = literal_node(value)
    if node is None:
        return None, ()
    import libcst as cst

    return cst.Module([]).code_for_node(node), ()


def _expression_names(text: str) -> tuple[str, ...] | None:
    """The free names `text` needs besides hf_config, builtins and whitelisted `self.` methods; None when it
    uses `self` otherwise (or does not parse)."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return None
    needs: set[str] = set()
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.comprehension):
            bound.update(n.id for n in ast.walk(node.target) if isinstance(n, ast.Name))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
            if node.attr not in BRIDGE_METHODS:
                return None
        if isinstance(node, ast.Name) and node.id not in (CFG, "self") and node.id not in bound:
            if node.id not in _BUILTINS:
                needs.add(node.id)
    if "<unknown>" in text:
        return None
    return tuple(sorted(needs))


# --- reasons ------------------------------------------------------------------------------------


def _teach(imp: ImpliedSetting) -> str:
    if not imp.teachers:
        return "no bridge teaches it"
    shown = ", ".join(imp.teachers[:4])
    more = f" +{len(imp.teachers) - 4}" if len(imp.teachers) > 4 else ""
    return f"teaching bridges: {shown}{more}"


def _evidence(imp: ImpliedSetting) -> str:
    what = ", ".join(imp.fields) if imp.fields else imp.evidence
    return {
        "config": f"config {what}",
        "names": f"checkpoint {what}" if what.startswith("names") else f"checkpoint names: {what}",
        "config-rule": f"config rule: {what}",
    }.get(imp.evidence, f"default ({what})")


def _cloned_default(setting: ProviderSetting, cloned_paths: frozenset[str]) -> str | None:
    """The provider class (SRC's name) whose field default `setting` is, when its module is cloned."""
    if setting.location is None or setting.location.path not in cloned_paths or not setting.via:
        return None
    return setting.via


# --- the layer spec -------------------------------------------------------------------------------


def _spec_contradiction(
    catalog: Catalog,
    index: SourceIndex,
    bridge: BridgeRecord,
    resolved: dict[str, Any],
    implied: dict[str, ImpliedSetting],
    plan: ProviderPlan,
) -> str | None:
    """Why SRC's own `transformer_layer_spec` cannot build the new model (its q/k norm modules where the
    new model has none); None when it can or SRC sets none of its own."""
    got = resolved.get("transformer_layer_spec")
    if got is None or got.setting is None or got.setting.style in (*DEFAULT_STYLES, "config_mapping"):
        return None
    qk = plan.writes.get("qk_layernorm")
    qk_value = implied["qk_layernorm"].value if "qk_layernorm" in implied else None
    if qk is not None and qk.literal is not None:
        qk_value = qk.literal == "True"
    if qk_value is not False:
        return None
    body = _spec_source(index, bridge, got.setting.value)
    if body is None or not _SPEC_QK.search(body):
        return None
    default = next(
        (s.value for s in catalog.provider_defaults.get(provider_class_of(bridge), [])
         if s.attr == "transformer_layer_spec"),
        "default_layer_spec",
    )  # fmt: skip
    return (
        f"removed {bridge.name}'s {got.setting.value} (it builds q/k norm modules, the new model has none: "
        f"Megatron-Core refuses q_layernorm without qk_layernorm); {provider_class_of(bridge).rsplit('.', 1)[-1]}'s "
        f"{default} applies"
    )


def _spec_source(index: SourceIndex, bridge: BridgeRecord, value: str) -> str | None:
    """Source text of the function a spec setting names (looked up in the bridge's module and its imports)."""
    match = re.search(r"([A-Za-z_]\w*)\s*(?:,|\)|$)", value)
    name = value if re.fullmatch(r"[A-Za-z_]\w*", value) else match.group(1) if match else None
    if name is None:
        return None
    folder = (index.root / bridge.path).parent
    for path in sorted(folder.glob("*.py")):
        try:
            info = indexed_module(index, path.relative_to(index.root).as_posix())
        except ParseError:
            continue
        for node in info.tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == name:
                return ast.get_source_segment(info.source, node)
    return None
