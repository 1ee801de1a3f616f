"""The provider vocabulary learned from the catalog, and the provider settings a new HF config implies.

Every bridge teaches, for each provider attribute it sets, how the value comes from the HF config: its
recorded expression (``layernorm_epsilon = hf_config.rms_norm_eps``). For a new config each teacher's
expression is evaluated on that config (`provider_eval`); a teacher speaks only when its value read a
field the config has (a `getattr(cfg, "x", 0.25)` default is the teacher's own model speaking, not the new
one). The value most teachers agree on is the implied setting, with the teachers named.

What no config field says (RMSNorm or LayerNorm, a gated MLP, biases, q/k norm, expert bias, a shared
expert gate) is read from the checkpoint names when they are known, from the eps field's spelling and the
activation's name otherwise (`STRUCTURE_RULES`); the teachers there are the bridges that set the same value.

>>> spec = load_spec(from_transformers="phi3")
>>> implied = implied_settings(spec, catalog, collect_hf_names(spec).names)
>>> next(s for s in implied if s.attr == "add_bias_linear").value
False
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from analyzers.catalog.provider_settings import CFG
from analyzers.catalog.records import BridgeRecord, Catalog, ProviderSetting
from analyzers.hf_config import ModelSpec
from analyzers.implied_setting import CATEGORIES, ImpliedSetting
from analyzers.provider_eval import UNKNOWN, BridgeContext, Outcome, evaluate, plain, same
from analyzers.structure_rules import structural_settings

#: Megatron-Core 0.19.2 TransformerConfig defaults of the attributes that decide the function (checked
#: with `dataclasses.fields(TransformerConfig)`); the tree's provider classes override some of them.
MCORE_DEFAULTS: dict[str, str] = {
    "normalization": "'LayerNorm'", "layernorm_epsilon": "1e-05", "layernorm_zero_centered_gamma": "False",
    "add_bias_linear": "True", "add_qkv_bias": "False", "gated_linear_unit": "False", "activation_func": "F.gelu",
    "qk_layernorm": "False", "softmax_scale": "None", "rotary_interleaved": "False", "no_rope_freq": "None",
    "window_size": "None", "window_attn_skip_freq": "None", "moe_router_score_function": "'softmax'",
    "moe_router_topk_scaling_factor": "None", "moe_router_enable_expert_bias": "False",
    "moe_shared_expert_gate": "False", "moe_shared_expert_intermediate_size": "None", "moe_layer_freq": "1",
    "moe_router_pre_softmax": "False", "mtp_num_layers": "None", "num_moe_experts": "None", "moe_router_topk": "2",
    "apply_residual_connection_post_layernorm": "False", "kv_channels": "None", "use_mup": "False",
    "mup_embedding_mult": "1.0", "mup_output_mult": "1.0",
}  # fmt: skip
MCORE = "TransformerConfig (megatron-core 0.19.2)"
GPT_PROVIDER = "megatron.bridge.models.gpt_provider.GPTModelProvider"
MLA_PROVIDER = "megatron.bridge.models.mla_provider.MLAModelProvider"

#: styles whose settings are defaults, not something a bridge chose
DEFAULT_STYLES = ("default",)


# ------------------------------------------------------------------------------------------ effective settings


def provider_class_of(bridge: BridgeRecord) -> str:
    """The provider class a bridge builds (the first it calls, else PROVIDER_CLASS / registration, else GPT)."""
    for written in bridge.provider_classes:
        if written.rsplit(".", 1)[-1].endswith("Provider"):
            return written
    if bridge.provider_class and bridge.provider_class.endswith("Provider"):
        return bridge.provider_class
    return GPT_PROVIDER


def class_defaults(catalog: Catalog, written: str) -> list[ProviderSetting]:
    """The field defaults of the provider class `written` (by its dotted name, else its class name)."""
    if written in catalog.provider_defaults:
        return catalog.provider_defaults[written]
    short = written.rsplit(".", 1)[-1]
    return next((v for k, v in catalog.provider_defaults.items() if k.rsplit(".", 1)[-1] == short), [])


def _mcore_defaults() -> list[ProviderSetting]:
    return [ProviderSetting(attr=a, style="default", value=v, fields=[], constant=True, condition=None,
                            location=None, via=MCORE) for a, v in MCORE_DEFAULTS.items()]  # fmt: skip


def effective_settings(catalog: Catalog, bridge: BridgeRecord) -> list[ProviderSetting]:
    """Everything that gives the bridge's provider its values, in the order they apply (a later one wins):
    Megatron-Core and provider class defaults, CONFIG_MAPPING and the base bridge's part (per
    `provider_base`), then the bridge's own settings."""
    out: list[ProviderSetting] = []
    seen_defaults = {s.attr for s in class_defaults(catalog, provider_class_of(bridge))}
    out.extend(s for s in _mcore_defaults() if s.attr not in seen_defaults)
    out.extend(class_defaults(catalog, provider_class_of(bridge)))
    if bridge.provider_base in ("provider_bridge", "kwargs"):
        scope = bridge.provider_scope or CFG
        for hf, attr in [*catalog.config_mapping, *bridge.config_mapping_extra]:
            out.append(ProviderSetting(attr=attr, style="config_mapping", value=f"{scope}.{hf}", fields=[hf],
                                       constant=False, condition=f"hasattr({scope}, {hf!r})", location=None,
                                       via="CONFIG_MAPPING"))  # fmt: skip
        for setting in catalog.base_provider_settings:
            kwargs_part = (setting.via or "").startswith("self.hf_config_to")
            if kwargs_part or bridge.provider_base == "provider_bridge":
                out.append(_rescope(setting, scope) if kwargs_part else setting)
    out.extend(bridge.provider_settings)
    return out


#: catalog id -> (the catalog, (module, bridge) -> effective settings); a few catalogs at most per process
_INDEX: dict[int, tuple[Catalog, dict[tuple[str, str], list[ProviderSetting]]]] = {}


def settings_of(catalog: Catalog, bridge: BridgeRecord) -> list[ProviderSetting]:
    """`effective_settings`, computed once per bridge of a catalog (ranking reads every bridge's, often)."""
    entry = _INDEX.get(id(catalog))
    if entry is None or entry[0] is not catalog:
        if len(_INDEX) >= 4:
            _INDEX.clear()
        entry = _INDEX[id(catalog)] = (catalog, {})
    key = (bridge.module, bridge.name)
    if key not in entry[1]:
        entry[1][key] = effective_settings(catalog, bridge)
    return entry[1][key]


def _rescope(setting: ProviderSetting, scope: str) -> ProviderSetting:
    """A base kwargs setting read from the config the bridge passed (``hf_config.text_config``)."""
    if scope == CFG:
        return setting
    return replace(setting, value=_substitute(setting.value, scope),
                   condition=_substitute(setting.condition, scope) if setting.condition else None)  # fmt: skip


def _substitute(text: str, scope: str) -> str:
    try:
        tree = ast.parse(text, mode="eval")
        replacement = ast.parse(scope, mode="eval").body
    except SyntaxError:
        return text

    class Sub(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            return replacement if node.id == CFG else node

    return ast.unparse(Sub().visit(tree))


def final_settings(settings: Iterable[ProviderSetting]) -> dict[str, list[ProviderSetting]]:
    """attr -> its settings in order (the last applicable one gives the value)."""
    out: dict[str, list[ProviderSetting]] = {}
    for s in settings:
        out.setdefault(s.attr, []).append(s)
    return out


# ------------------------------------------------------------------------------------------ evaluation


@dataclass
class Resolved:
    """What a bridge's settings give one attribute for a config."""

    attr: str
    value: Any = UNKNOWN
    setting: ProviderSetting | None = None  #: the setting that gives it (the last that applies)
    sure: bool = True  #: False when a later setting's condition could not be decided
    #: settings of the attribute that read a field the config lacks with a plain read (load-time crash)
    missing: list[tuple[ProviderSetting, str]] = field(default_factory=list)
    unsupported: str | None = None
    outcome: Outcome | None = None  #: of the giving setting


def bridge_context(catalog: Catalog, bridge: BridgeRecord) -> BridgeContext:
    """`self.PROVIDER_CLASS` and MLA-ness of the bridge's provider, for the base bridge's conditions."""
    cls = provider_class_of(bridge)
    defaults = {s.attr: s.value for s in class_defaults(catalog, cls)}
    mla = "MLA" in cls.rsplit(".", 1)[-1] or defaults.get("multi_latent_attention") == "True"
    return BridgeContext(provider_class=bridge.provider_class, mla=mla)


def resolve(
    settings: list[ProviderSetting],
    config: dict[str, Any],
    activation_map: dict[str, str],
    context: BridgeContext | None = None,
) -> Resolved:
    """Run one attribute's settings on `config`, in order."""
    out = Resolved(attr=settings[0].attr)
    for s in settings:
        if s.style == "removed":
            out.value, out.setting, out.outcome = UNKNOWN, s, None
            continue
        outcome = evaluate(s.value, config, s.condition, activation_map, context)
        if outcome.missing and outcome.applies is not False and s.style not in ("config_mapping",):
            out.missing.append((s, outcome.missing))
        if outcome.unsupported:
            out.unsupported = outcome.unsupported
        if outcome.applies is False:
            continue
        if outcome.applies is None:
            out.sure = False
        if outcome.value is UNKNOWN and outcome.applies is None:
            continue
        out.value, out.setting, out.outcome = outcome.value, s, outcome
    return out


def resolve_all(catalog: Catalog, bridge: BridgeRecord, config: dict[str, Any]) -> dict[str, Resolved]:
    context = bridge_context(catalog, bridge)
    return {
        attr: resolve(group, config, catalog.activation_map, context)
        for attr, group in final_settings(settings_of(catalog, bridge)).items()
    }


# ------------------------------------------------------------------------------------------ implied settings


@dataclass
class Teaching:
    """One bridge's answer for an attribute of the new config."""

    bridge: str
    value: Any
    expression: str  #: its recorded expression
    fields: list[str]  #: config fields of the new model the value was read from
    via: str | None = None


def _teachings(catalog: Catalog, spec: ModelSpec, exclude: set[str]) -> dict[str, list[Teaching]]:
    """attr -> what each bridge's settings read from the new config (only bridges whose value read its fields)."""
    config = spec.config
    out: dict[str, list[Teaching]] = {}
    for bridge in catalog.bridges:
        if bridge.diffusion or bridge.name.lower() in exclude or bridge.family.lower() in exclude:
            continue
        groups = final_settings(settings_of(catalog, bridge))
        context = bridge_context(catalog, bridge)
        for attr, settings in groups.items():
            if attr not in CATEGORIES:
                continue
            answer: Teaching | None = None
            for s in settings:
                if s.style in DEFAULT_STYLES or s.style == "removed":
                    continue
                outcome = evaluate(s.value, config, s.condition, catalog.activation_map, context)
                if outcome.applies is False or outcome.value is UNKNOWN or outcome.missing:
                    continue
                if outcome.defaulted or outcome.condition_defaulted:
                    continue  # the value fell back on the teacher's own default: its model speaks, not the new one
                read = sorted(outcome.read & _own_fields(s))
                cond_read = (
                    _condition_reads(s, config, catalog, context) if s.constant and s.condition else set()
                )
                if not read and not cond_read:
                    continue
                answer = Teaching(bridge.name, outcome.value, s.value, read or sorted(cond_read), s.via)
            if answer is not None:
                out.setdefault(attr, []).append(answer)
    return out


def _name_overlap(attr: str, group: list[Teaching]) -> int:
    """How many words of `attr` the best-named field the group read shares with it."""
    words = set(attr.split("_"))
    return max((len(words & set(f.split(".")[-1].split("_"))) for t in group for f in t.fields), default=0)


def _own_fields(setting: ProviderSetting) -> set[str]:
    return set(setting.fields)


def _condition_reads(
    setting: ProviderSetting, config: dict[str, Any], catalog: Catalog, context: BridgeContext
) -> set[str]:
    outcome = evaluate(setting.condition or "True", config, None, catalog.activation_map, context)
    return outcome.read & set(setting.fields) if outcome.value is not UNKNOWN and outcome.value else set()


def implied_settings(
    spec: ModelSpec,
    catalog: Catalog,
    names: list[str] | None = None,
    shapes: dict[str, tuple[int, ...] | None] | None = None,
    *,
    exclude: Iterable[str] = (),
) -> list[ImpliedSetting]:
    """The provider settings `spec` implies, learned from the catalog's bridges (`exclude` leaves bridges
    or families out: leave-one-out measurements)."""
    excluded = {e.lower() for e in exclude}
    teachings = _teachings(catalog, spec, excluded)
    gated = _absent_categories(spec, names)
    out: dict[str, ImpliedSetting] = {}
    for attr, answers in teachings.items():
        if CATEGORIES[attr] in gated or (attr.startswith("moe_shared_expert") and "shared_experts" in gated):
            continue  # an MoE bridge reading `intermediate_size` for its experts says nothing about a dense model
        groups: dict[str, list[Teaching]] = {}
        for t in answers:
            t.value = normalize(attr, t.value)
            groups.setdefault(repr(plain(t.value)), []).append(t)
        # a tie goes to the teachers whose fields are named like the attribute (shared_expert_intermediate_size
        # for moe_shared_expert_intermediate_size, not moe_intermediate_size)
        ranked = sorted(
            groups.values(), key=lambda g: (-len(g), -_name_overlap(attr, g), repr(plain(g[0].value)))
        )
        best = ranked[0]
        out[attr] = ImpliedSetting(
            attr=attr,
            category=CATEGORIES[attr],
            value=plain(best[0].value),
            evidence="config",
            fields=sorted({f for t in best for f in t.fields}),
            teachers=sorted({t.bridge for t in best}),
            expression=_most_common(t.expression for t in best),
            alternatives=[
                {"value": plain(g[0].value), "teachers": sorted({t.bridge for t in g})} for g in ranked[1:]
            ],
        )
    pool = [b for b in catalog.bridges if not b.diffusion and b.name.lower() not in excluded
            and b.family.lower() not in excluded]  # fmt: skip
    for rule in structural_settings(spec, names, shapes, out):
        overrides = rule.attr == "window_size"  # use_sliding_window=False outranks a window size read as such
        if (
            rule.attr in out
            and out[rule.attr].evidence == "config"
            and rule.evidence != "names"
            and not overrides
        ):
            continue  # a teacher read it from the config: that wins over a spelling rule
        if rule.category in gated or (
            rule.attr.startswith("moe_shared_expert") and "shared_experts" in gated
        ):
            continue
        if rule.evidence == "names" or rule.attr in STRUCTURAL:
            # settings no field carries: the bridges that set the same value teach them
            rule.teachers = _same_value_teachers(catalog, pool, rule, spec)
        out[rule.attr] = rule
    values = {a: s.value for a, s in out.items()}
    for attr in [a for a in out if irrelevant(a, values)]:
        out.pop(attr)
    return sorted(out.values(), key=lambda s: list(CATEGORIES).index(s.attr) if s.attr in CATEGORIES else 999)


#: settings no config field carries: the bridges that set the same value teach them
STRUCTURAL = frozenset({"normalization", "gated_linear_unit", "add_qkv_bias", "add_bias_linear", "qk_layernorm",
                        "rotary_interleaved", "moe_router_enable_expert_bias", "moe_shared_expert_gate"})  # fmt: skip


def normalize(attr: str, value: Any) -> Any:
    """One spelling per meaning: a window of `None` size is no window, MoE in every layer is `1`."""
    if attr == "window_size" and isinstance(value, list | tuple) and value and value[0] is None:
        return None
    if attr == "window_size" and isinstance(value, tuple):
        return list(value)
    if attr == "moe_layer_freq" and isinstance(value, list) and value and all(v == 1 for v in value):
        return 1
    return value


def equivalent(attr: str, a: Any, b: Any) -> bool:
    """The same provider setting, in the sense of `normalize`."""
    return same(normalize(attr, a), normalize(attr, b))


def irrelevant(attr: str, values: dict[str, Any]) -> bool:
    """Attributes Megatron-Core ignores given the others: pre-softmax outside softmax routing, the q/k/v
    bias flag when every linear layer has a bias, Llama-3 RoPE scaling under YaRN and YaRN's without it."""
    if attr == "moe_router_pre_softmax":
        return values.get("moe_router_score_function", "softmax") != "softmax"
    if attr == "add_qkv_bias":
        return values.get("add_bias_linear") is True
    yarn = values.get("position_embedding_type") == "yarn"
    if attr in ("rope_scaling", "rope_scaling_factor", "seq_len_interpolation_factor"):
        return yarn  # YaRN has its own rotary embedding; the Llama-3 scaling flags are not read
    if attr.startswith("yarn_"):
        return not yarn
    return False


def _absent_categories(spec: ModelSpec, names: list[str] | None) -> set[str]:
    """Categories the model does not have (MoE, MTP): settings there are not implied."""
    from analyzers.hf_config import detect_blocks

    blocks = detect_blocks(spec, names)
    return {
        c
        for c, block in (("moe", "moe"), ("mtp", "mtp"), ("shared_experts", "shared_experts"))
        if block not in blocks
    }


def _most_common(items: Iterable[str]) -> str:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return max(counts, key=lambda k: (counts[k], -len(k)))


def _same_value_teachers(
    catalog: Catalog, pool: list[BridgeRecord], implied: ImpliedSetting, spec: ModelSpec
) -> list[str]:
    """Bridges whose own settings (not defaults) give the attribute the implied value on the new config."""
    out = []
    for bridge in pool:
        own = [
            s
            for s in settings_of(catalog, bridge)
            if s.attr == implied.attr and s.style not in DEFAULT_STYLES
        ]
        if not own:
            continue
        got = resolve(own, spec.config, catalog.activation_map, bridge_context(catalog, bridge))
        if (
            got.setting is not None
            and got.value is not UNKNOWN
            and equivalent(implied.attr, got.value, implied.value)
        ):
            out.append(bridge.name)
    return out


# ------------------------------------------------------------------------------------------ a candidate


@dataclass
class SettingCheck:
    """One implied setting held against a candidate bridge's provider_bridge."""

    attr: str
    implied: Any
    #: "sets" (same value), "contradicts" (another value), "default-matches" (not set; the default is right),
    #: "must-set" (not set; the default differs), "unknown" (its value cannot be worked out statically)
    status: str
    candidate: Any = None  #: what the candidate gives (JSON-ready)
    how: str | None = None  #: the candidate's expression, or where its default comes from


@dataclass
class CandidateProvider:
    """How a candidate's provider settings fare on the new config."""

    checks: list[SettingCheck]
    #: the candidate's settings that read fields the config lacks with a plain read: (attr, field, expression)
    missing_reads: list[tuple[str, str, str]]
    unsupported: list[str]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in self.checks:
            out[c.status] = out.get(c.status, 0) + 1
        return out

    def score(self) -> float:
        """Share of implied settings the candidate gets right as it stands; each setting that would read a
        field the config lacks costs half a wrong one (one edit, where a contradiction is one edit too)."""
        decided = [c for c in self.checks if c.status != "unknown"]
        if not decided:
            return 1.0
        right = sum(c.status in ("sets", "default-matches") for c in decided)
        missing = len({f for _, f, _ in self.missing_reads})
        return max(0.0, (right - 0.5 * missing) / len(decided))


def derived(attr: str, value: Any, config: dict[str, Any]) -> Any:
    """What Megatron-Core makes of an unset (None) attribute: kv_channels = hidden_size // heads."""
    if value is None and attr == "kv_channels":
        hidden, heads = config.get("hidden_size"), config.get("num_attention_heads")
        if isinstance(hidden, int) and isinstance(heads, int) and heads:
            return hidden // heads
    return value


def check_candidate(
    catalog: Catalog, bridge: BridgeRecord, spec: ModelSpec, implied: list[ImpliedSetting]
) -> CandidateProvider:
    """Which implied settings `bridge`'s provider_bridge already sets, contradicts or leaves to a default,
    and which of its settings would read a field the new config lacks."""
    resolved = resolve_all(catalog, bridge, spec.config)
    checks = []
    for imp in implied:
        got = resolved.get(imp.attr)
        if got is None or got.setting is None:
            checks.append(
                SettingCheck(
                    imp.attr,
                    imp.value,
                    "unknown" if imp.value is None and imp.evidence == "default" else "must-set",
                )
            )
            continue
        value = derived(imp.attr, got.value, spec.text_fields())
        chosen = got.setting.style not in DEFAULT_STYLES
        if value is UNKNOWN:
            status = "unknown"
        elif equivalent(imp.attr, value, imp.value):
            status = "sets" if chosen else "default-matches"
        else:
            status = "contradicts" if chosen else "must-set"
        how = got.setting.value if chosen else f"default {got.setting.value} ({got.setting.via})"
        checks.append(SettingCheck(imp.attr, imp.value, status, plain(value), how))
    missing = []
    unsupported = []
    for attr, got in resolved.items():
        for setting, name in got.missing:
            missing.append((attr, name, setting.value))
        if got.unsupported:
            unsupported.append(f"{attr}: {got.unsupported}")
    return CandidateProvider(checks=checks, missing_reads=sorted(set(missing)), unsupported=unsupported)


# ------------------------------------------------------------------------------------------ per bridge


def describe_settings(
    catalog: Catalog, bridge: BridgeRecord, *, with_defaults: bool = False
) -> list[dict[str, Any]]:
    """A bridge's effective provider settings, JSON-ready (inspect --bridge)."""
    out = []
    for s in effective_settings(catalog, bridge):
        if s.style in DEFAULT_STYLES and not with_defaults:
            continue
        out.append({
            "attr": s.attr, "style": s.style, "value": s.value, "fields": s.fields, "constant": s.constant,
            "condition": s.condition, "via": s.via, "location": str(s.location) if s.location else None,
        })  # fmt: skip
    return out


_WORD = re.compile(r"\w+")
