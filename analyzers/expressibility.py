"""Expressibility: every function-changing feature of a new config, handled by some bridge or named unsupported.

A feature is a config field (Granite's multipliers, `no_rope_layers`, softcapping, a rope scaling type, an
activation), a fact of the checkpoint names (q/k norm shape, fused tensors, post-norms) or of the
transformers modeling code (interleaved RoPE, q/k norm after RoPE, a parallel residual). It is *supported*
when a bridge of the catalog handles it: its provider settings read the same field into the provider
attribute that expresses it, set that attribute, or the bridge is registered for a model type whose
modeling code has the same fact. Otherwise it is *unsupported* and says what it would take: a
Megatron-Core feature nobody sets yet (``no_rope_freq``), a local layer spec / ``modeling_<model>`` module,
a Megatron activation, or a mapping class for a fused tensor.

>>> supported, unsupported = expressibility(load_spec(from_transformers="granite"), catalog)
>>> [f.name for f in unsupported]
['embedding multiplier', 'residual multiplier', 'attention multiplier', 'logits scaling']
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from analyzers.catalog.records import BridgeRecord, Catalog
from analyzers.coverage import registry_mappings
from analyzers.hf_config import ModelSpec
from analyzers.modeling_source import ModelingFacts, modeling_facts
from analyzers.provider_vocabulary import settings_of
from analyzers.qk_norm import bridge_qk_norm, config_qk_norm
from analyzers.source_index import SourceIndex
from analyzers.structure_rules import layer_names

#: the feature of a decoder layer without pre-norms; clone-family expresses it by rewriting SRC's layer spec
POST_NORM_ONLY = "norms after attention and MLP only (no pre-norm)"


@dataclass
class Feature:
    """One function-changing feature of the config."""

    name: str
    evidence: list[str]  #: config fields with their values, names or modeling facts that show it
    attrs: list[str]  #: provider attributes that express it (empty when none can)
    value: Any = None  #: the value those attributes take, where one follows from the config
    handled_by: list[str] = field(default_factory=list)  #: bridges that handle it
    #: "bridge" (handled) | "mcore" (a Megatron-Core feature no bridge sets) | "modeling" (a layer spec or
    #: modeling_<model> module) | "activation" | "mapping" (a mapping class for the checkpoint's tensors)
    kind: str = "bridge"
    needs: str | None = None  #: what it would take, when unsupported
    neutral: bool = False  #: its value leaves this config's function unchanged (a multiplier of 1.0)
    #: computed by a local layer spec or module of the handling bridges (a "modeling" feature): a clone
    #: computes it only from one of `handled_by` (or when the clone carries it), never from another SRC
    local: bool = False

    @property
    def supported(self) -> bool:
        return bool(self.handled_by)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "supported": self.supported}


@dataclass
class _Context:
    spec: ModelSpec
    catalog: Catalog
    fields: dict[str, Any]
    rope: dict[str, Any]
    names: list[str] | None
    layer: list[str]
    shapes: dict[str, tuple[int, ...] | None]
    facts: ModelingFacts | None
    pool: list[BridgeRecord]
    index: SourceIndex | None = None  #: the run's sources, when the caller has them (clone-family)

    def readers(self, attr: str, *keys: str) -> list[str]:
        """Bridges whose own provider settings read one of `keys` into `attr` (dotted keys match their leaf)."""
        out = []
        for bridge in self.pool:
            for s in settings_of(self.catalog, bridge):
                if (
                    s.attr == attr
                    and s.style != "default"
                    and any(k in s.fields or any(f.endswith(f".{k}") for f in s.fields) for k in keys)
                ):
                    out.append(bridge.name)
                    break
        return out

    def setters(self, attr: str, accept: Callable[[str], bool]) -> list[str]:
        """Bridges whose own provider settings give `attr` a value `accept(value_text)` likes."""
        out = []
        for bridge in self.pool:
            if any(s.attr == attr and s.style not in ("default", "config_mapping") and accept(s.value)
                   for s in settings_of(self.catalog, bridge)):  # fmt: skip
                out.append(bridge.name)
        return out

    def with_fact(self, fact: str) -> list[str]:
        """Bridges registered for a model type whose transformers modeling code has the same fact."""
        out = []
        for bridge in self.pool:
            for model_type in {r.model_type for r in bridge.registrations if r.model_type}:
                facts = modeling_facts(model_type)
                if facts is not None and getattr(facts, fact):
                    out.append(bridge.name)
                    break
        return out

    def mapping_for(self, pattern: re.Pattern[str], mapping_class: str | None = None) -> list[str]:
        """Bridges whose mapping registry has an HF pattern matching `pattern` (with `mapping_class`, any
        mapping of that class)."""
        out = []
        for bridge in self.pool:
            for _, m in registry_mappings(self.catalog, bridge):
                if (mapping_class is None or m.mapping_class == mapping_class) and any(
                    pattern.search(p) for p in m.hf_params.values()
                ):
                    out.append(bridge.name)
                    break
        return out

    def lacking(self, bridges: list[str], pattern: re.Pattern[str]) -> list[str]:
        """Those of `bridges` whose registry maps no HF name matching `pattern`."""
        return [b for b in bridges if not self.mapping_for(pattern) or b not in self.mapping_for(pattern)]


def expressibility(
    spec: ModelSpec,
    catalog: Catalog,
    names: list[str] | None = None,
    shapes: dict[str, tuple[int, ...] | None] | None = None,
    *,
    exclude: tuple[str, ...] = (),
    index: SourceIndex | None = None,
) -> tuple[list[Feature], list[Feature]]:
    """(supported features, unsupported features) of `spec`, each with the bridges or what it would take.
    `index`: the run's sources, through which the bridges' layer-spec modules are read.

    For clone-family: the unsupported ones (less the `neutral` ones) are what a generated bridge cannot
    compute as configured.
    """
    excluded = {e.lower() for e in exclude}
    found = spec.get("rope_parameters", "rope_scaling")
    ctx = _Context(
        spec=spec,
        catalog=catalog,
        fields=spec.text_fields(),
        rope=found.value if found and isinstance(found.value, dict) else {},
        names=names,
        layer=layer_names(names) if names else [],
        shapes=shapes or {},
        facts=modeling_facts(spec.model_type),
        pool=[
            b
            for b in catalog.bridges
            if not b.diffusion and b.name.lower() not in excluded and b.family.lower() not in excluded
        ],  # fmt: skip
        index=index,
    )
    features: list[Feature] = []
    for detect in DETECTORS:
        features.extend(detect(ctx))
    for f in features:
        f.local = f.kind == "modeling"
    supported = [f for f in features if f.supported]
    unsupported = [f for f in features if not f.supported]
    for f in supported:
        f.kind, f.needs = "bridge", None
    return supported, unsupported


# ------------------------------------------------------------------------------------------ detectors


def _value(ctx: _Context, key: str) -> Any:
    return ctx.fields.get(key, ctx.rope.get(key))


def _multipliers(ctx: _Context) -> list[Feature]:
    out = []
    table = (
        ("embedding multiplier", "embedding_multiplier", ["use_mup", "mup_embedding_mult"], "mcore",
         "Megatron-Core's muP embedding multiplier: use_mup=True, mup_embedding_mult=embedding_multiplier, "
         "mup_base_hidden_size=hidden_size (no bridge sets it yet)"),
        ("residual multiplier", "residual_multiplier", [], "modeling",
         "a local layer spec (modeling_<model>) that scales each residual branch: Megatron-Core's GPT layer has "
         "no residual multiplier"),
        ("attention multiplier", "attention_multiplier", ["softmax_scale"], "mcore",
         "Megatron-Core's softmax_scale = attention_multiplier (no bridge reads it yet)"),
        ("logits scaling", "logits_scaling", ["use_mup", "mup_output_mult"], "mcore",
         "Megatron-Core's muP output multiplier: use_mup=True, mup_output_mult=1/logits_scaling"),
        ("logit scale", "logit_scale", ["use_mup", "mup_output_mult"], "mcore",
         "Megatron-Core's muP output multiplier: use_mup=True, mup_output_mult=logit_scale"),
    )  # fmt: skip
    for name, key, attrs, kind, needs in table:
        value = ctx.fields.get(key)
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        handled = ctx.readers(attrs[-1], key) if attrs else []
        # a multiplier of 1 changes nothing; the attention multiplier replaces 1/sqrt(head_dim), so never neutral
        neutral = value == 1 and key != "attention_multiplier"
        out.append(Feature(name, [f"{key}={value}"], attrs, value, handled, kind, needs, neutral=neutral))
    return out


def _rope(ctx: _Context) -> list[Feature]:
    out = []
    facts = ctx.facts
    mla = bool(ctx.fields.get("kv_lora_rank"))
    if ctx.fields.get("rope_interleave") is True and mla:
        handled = [b.name for b in ctx.pool if any(s.attr == "multi_latent_attention" and s.value == "True"
                                                    for s in settings_of(ctx.catalog, b))]  # fmt: skip
        out.append(Feature("interleaved RoPE (MLA)", ["rope_interleave=True"], ["multi_latent_attention"], True,
                           handled, "mcore", "Megatron-Core's MLA rotary embedding"))  # fmt: skip
    elif ctx.fields.get("rope_interleave") is True or (facts and facts.interleaved_rope):
        why = (
            ["rope_interleave=True"]
            if ctx.fields.get("rope_interleave") is True
            else [f"modeling_{ctx.spec.model_type}.py: rotate_half pairs even and odd channels"]
        )
        handled = ctx.setters("rotary_interleaved", lambda v: v == "True")
        out.append(Feature("interleaved RoPE", why, ["rotary_interleaved"], True, handled, "mcore",
                           "Megatron-Core's rotary_interleaved=True"))  # fmt: skip
    partial = _value(ctx, "partial_rotary_factor")
    if isinstance(partial, int | float) and partial < 1:
        where = (
            "partial_rotary_factor"
            if "partial_rotary_factor" in ctx.fields
            else "rope_parameters.partial_rotary_factor"
        )
        handled = ctx.readers("rotary_percent", where)
        out.append(Feature("partial rotary", [f"{where}={partial}"], ["rotary_percent"], partial, handled, "mcore",
                           f"Megatron-Core's rotary_percent = {where} (no bridge reads it there)"))  # fmt: skip
    no_rope = ctx.fields.get("no_rope_layers")
    if isinstance(no_rope, list) and not all(no_rope):
        handled = ctx.readers("no_rope_freq", "no_rope_layers")
        value = [1 - int(bool(x)) for x in no_rope]
        out.append(Feature("NoPE layers", [f"no_rope_layers: {value.count(1)} of {len(value)} layers without RoPE"],
                           ["no_rope_freq"], value, handled, "mcore",
                           "Megatron-Core's no_rope_freq = [1 - x for x in no_rope_layers]"))  # fmt: skip
    elif (
        facts and facts.rope_condition and "sliding" in facts.rope_condition and ctx.fields.get("layer_types")
    ):
        handled = ctx.readers("no_rope_freq", "layer_types")
        out.append(Feature("NoPE layers", [f"modeling_{ctx.spec.model_type}.py: RoPE only if {facts.rope_condition}"],
                           ["no_rope_freq"], None, handled, "mcore",
                           "Megatron-Core's no_rope_freq from layer_types (1 on full-attention layers)"))  # fmt: skip
    rope_type = ctx.rope.get("rope_type") or ctx.rope.get("type")
    if rope_type and rope_type != "default":
        literal = re.compile(rf"""['"]{re.escape(str(rope_type))}['"]""")
        handled = [b.name for b in ctx.pool if any(literal.search(f"{s.condition or ''} {s.value}")
                                                    for s in settings_of(ctx.catalog, b))]  # fmt: skip
        out.append(Feature(f"{rope_type} RoPE scaling", [f"rope_parameters.rope_type={rope_type!r}"],
                           ["rope_scaling", "position_embedding_type"], rope_type, handled, "modeling",
                           f"a rotary embedding for {rope_type!r} scaling (Megatron-Core has Llama-3, linear "
                           "and YaRN scaling)"))  # fmt: skip
    return out


def _attention(ctx: _Context) -> list[Feature]:
    out = []
    facts = ctx.facts
    scalar = ctx.fields.get("query_pre_attn_scalar")
    if isinstance(scalar, int | float):
        out.append(Feature("softmax scale", [f"query_pre_attn_scalar={scalar}"], ["softmax_scale"], scalar**-0.5,
                           ctx.readers("softmax_scale", "query_pre_attn_scalar"), "mcore",
                           "Megatron-Core's softmax_scale = query_pre_attn_scalar ** -0.5"))  # fmt: skip
    qk = config_qk_norm(ctx.spec, ctx.names, ctx.shapes)
    if qk is not None and qk.whole:
        # the bridges whose own layer spec builds whole-projection norms (`analyzers/qk_norm.py`); one that
        # sizes K by num_attention_heads serves a GQA config too: the clone resizes its K norm
        handled = [
            b.name
            for b in ctx.pool
            if (k := bridge_qk_norm(ctx.catalog, b, ctx.index)) is not None and k.whole
        ]
        out.append(Feature("q/k norm over the whole projection", [qk.evidence], ["transformer_layer_spec"], None,
                           handled, "modeling",
                           "a local layer spec with q/k norms over num_heads * head_dim: Megatron-Core's "
                           "qk_layernorm normalises per head"))  # fmt: skip
    if facts and facts.qk_norm_after_rope:
        out.append(Feature("q/k norm after RoPE", [f"modeling_{ctx.spec.model_type}.py: q/k norm applied after "
                           "apply_rotary_pos_emb"], [], None, ctx.with_fact("qk_norm_after_rope"), "modeling",
                           "a local attention module (modeling_<model>): Megatron-Core normalises q/k before RoPE"))  # fmt: skip
    parallel = ctx.fields.get("use_parallel_residual")
    if parallel is True or (parallel is None and facts and facts.parallel_residual):
        why = (
            "use_parallel_residual=True"
            if parallel is True
            else f"modeling_{ctx.spec.model_type}.py: residual + attention + MLP in one sum"
        )
        out.append(Feature("parallel attention + MLP residual", [why], [], None, ctx.with_fact("parallel_residual"),
                           "modeling", "a local layer spec (modeling_<model>): Megatron-Core's GPT layer runs "
                           "the MLP on the attention's output"))  # fmt: skip
    for key, attr in (
        ("final_logit_softcapping", "final_logit_softcapping"),
        ("attn_logit_softcapping", "attn_logit_softcapping"),
    ):
        value = ctx.fields.get(key)
        if isinstance(value, int | float) and value:
            out.append(Feature(key.replace("_", " "), [f"{key}={value}"], [attr], value, ctx.readers(attr, key),
                               "modeling", f"a provider whose model applies {key} (Megatron-Core has none)"))  # fmt: skip
    return out


def _activation(ctx: _Context) -> list[Feature]:
    act = ctx.fields.get("hidden_act") or ctx.fields.get("hidden_activation")
    if not isinstance(act, str):
        return []
    known = ctx.catalog.activation_map
    if act in known:
        # every bridge built on the base bridge translates it through ACTIVATION_FUNC_MAP
        handled = ctx.readers("activation_func", "hidden_act", "hidden_activation")
        return [
            Feature(f"{act} activation", [f"hidden_act={act!r}"], ["activation_func"], known[act], handled)
        ]
    return [Feature(f"{act} activation", [f"hidden_act={act!r}"], ["activation_func"], None, [], "activation",
                    f"a Megatron-Core activation for {act!r} and an ACTIVATION_FUNC_MAP entry (MB's map has "
                    f"{', '.join(sorted(k for k in known if '.' not in k))})")]  # fmt: skip


def _window(ctx: _Context) -> list[Feature]:
    out = []
    window = ctx.fields.get("sliding_window")
    if isinstance(window, int) and window > 0 and ctx.fields.get("use_sliding_window") is not False:
        out.append(Feature("sliding window", [f"sliding_window={window}"], ["window_size"], [window - 1, 0],
                           ctx.readers("window_size", "sliding_window"), "mcore", "Megatron-Core's window_size"))  # fmt: skip
        types = ctx.fields.get("layer_types")
        if isinstance(types, list) and len(set(types)) > 1:
            out.append(Feature("sliding / full attention layer pattern",
                               [f"layer_types: {types.count('sliding_attention')} sliding of {len(types)}"],
                               ["window_attn_skip_freq"], None, ctx.readers("window_attn_skip_freq", "layer_types"),
                               "mcore", "Megatron-Core's window_attn_skip_freq from layer_types"))  # fmt: skip
    return out


def _moe(ctx: _Context) -> list[Feature]:
    from analyzers.hf_config import detect_blocks

    blocks = detect_blocks(ctx.spec, ctx.names)
    if "moe" not in blocks:
        return []
    out = []
    scoring = ctx.fields.get("scoring_func") or (ctx.facts.router_scoring if ctx.facts else None)
    if scoring and scoring != "softmax":
        out.append(Feature(f"{scoring} router", [f"scoring_func={scoring!r}" if ctx.fields.get("scoring_func")
                           else f"modeling_{ctx.spec.model_type}.py: the router calls {scoring}"],
                           ["moe_router_score_function"], scoring,
                           ctx.setters("moe_router_score_function", lambda v: scoring in v), "mcore",
                           f"Megatron-Core's moe_router_score_function={scoring!r}"))  # fmt: skip
    bias = next((n for n in ctx.layer if re.search(r"(e_score_correction_bias|expert_bias)$", n)), None)
    if bias:
        out.append(Feature("router expert bias", [f"names: {bias}"], ["moe_router_enable_expert_bias"], True,
                           ctx.setters("moe_router_enable_expert_bias", lambda v: v == "True"), "mcore",
                           "Megatron-Core's moe_router_enable_expert_bias=True"))  # fmt: skip
    if "shared_experts" in blocks:
        keys = [k for k in ("shared_expert_intermediate_size", "n_shared_experts", "num_shared_experts",
                            "moe_shared_expert_intermediate_size") if ctx.fields.get(k)]  # fmt: skip
        out.append(Feature("shared experts", [f"{k}={ctx.fields[k]}" for k in keys] or ["names: shared_expert(s)"],
                           ["moe_shared_expert_intermediate_size"], None,
                           ctx.readers("moe_shared_expert_intermediate_size", *keys) if keys else [], "mcore",
                           "Megatron-Core's moe_shared_expert_intermediate_size"))  # fmt: skip
        gate = next((n for n in ctx.layer if re.search(r"shared_experts?_gate\.weight$", n)), None)
        if gate:
            out.append(Feature("shared expert gate", [f"names: {gate}"], ["moe_shared_expert_gate"], True,
                               ctx.setters("moe_shared_expert_gate", lambda v: v == "True"), "mcore",
                               "Megatron-Core's moe_shared_expert_gate=True"))  # fmt: skip
    first = ctx.fields.get("first_k_dense_replace")
    if isinstance(first, int) and first > 0:
        out.append(Feature("dense first layers", [f"first_k_dense_replace={first}"], ["moe_layer_freq"], None,
                           ctx.readers("moe_layer_freq", "first_k_dense_replace"), "mcore",
                           "Megatron-Core's moe_layer_freq list"))  # fmt: skip
    only, step = ctx.fields.get("mlp_only_layers") or [], ctx.fields.get("decoder_sparse_step") or 1
    if only or (isinstance(step, int) and step > 1):
        out.append(Feature("dense layers between MoE layers", [f"mlp_only_layers={only}", f"decoder_sparse_step={step}"],
                           ["moe_layer_freq"], None, ctx.readers("moe_layer_freq", "mlp_only_layers", "decoder_sparse_step"),
                           "mcore", "Megatron-Core's moe_layer_freq list"))  # fmt: skip
    norm = ctx.fields.get("norm_topk_prob")
    if norm is False and scoring in (None, "softmax"):
        out.append(Feature("top-k weights not renormalised", ["norm_topk_prob=False"], ["moe_router_pre_softmax"], True,
                           ctx.readers("moe_router_pre_softmax", "norm_topk_prob"), "mcore",
                           "Megatron-Core's moe_router_pre_softmax=True"))  # fmt: skip
    return out


def _mtp(ctx: _Context) -> list[Feature]:
    for key in ("num_nextn_predict_layers", "mtp_num_hidden_layers", "num_mtp_layers"):
        value = ctx.fields.get(key)
        if isinstance(value, int) and value > 0:
            return [Feature("multi-token prediction", [f"{key}={value}"], ["mtp_num_layers"], value,
                            ctx.readers("mtp_num_layers", key), "mcore", "Megatron-Core's mtp_num_layers")]  # fmt: skip
    return []


def _norms(ctx: _Context) -> list[Feature]:
    out = []
    facts = ctx.facts
    eps = next(
        (
            k
            for k in ("layer_norm_eps", "layer_norm_epsilon", "norm_epsilon")
            if ctx.fields.get(k) is not None
        ),
        None,
    )
    norm_bias = next(
        (n for n in ctx.layer if re.search(r"(norm|layernorm)\.bias$", n) and "q_norm" not in n), None
    )
    if (eps and not ctx.fields.get("rms_norm_eps")) or norm_bias:
        why = [f"{eps}={ctx.fields[eps]}"] if eps else []
        why += [f"names: {norm_bias}"] if norm_bias else []
        out.append(Feature("LayerNorm (not RMSNorm)", why, ["normalization"], "LayerNorm",
                           ctx.setters("normalization", lambda v: "LayerNorm" in v and "RMS" not in v), "mcore",
                           "Megatron-Core's normalization='LayerNorm'"))  # fmt: skip
    out_bias = next(
        (n for n in ctx.layer if re.search(r"(o_proj|down_proj|c_proj|dense|fc2)\.bias$", n)), None
    )
    if out_bias or ctx.fields.get("use_bias") is True or ctx.fields.get("mlp_bias") is True:
        why = (
            [f"names: {out_bias}"]
            if out_bias
            else [k + "=True" for k in ("use_bias", "mlp_bias") if ctx.fields.get(k)]
        )
        out.append(Feature("biases in the output and MLP projections", why, ["add_bias_linear"], True,
                           ctx.setters("add_bias_linear", lambda v: v == "True") + ctx.readers("add_bias_linear", "mlp_bias"),
                           "mcore", "Megatron-Core's add_bias_linear=True"))  # fmt: skip
    if facts and facts.zero_centered_norm:
        out.append(Feature("norm scales by 1 + weight", [f"modeling_{ctx.spec.model_type}.py"],
                           ["layernorm_zero_centered_gamma"], True,
                           ctx.setters("layernorm_zero_centered_gamma", lambda v: v == "True"), "mcore",
                           "Megatron-Core's layernorm_zero_centered_gamma=True"))  # fmt: skip
    if ctx.layer:
        has = {n.rsplit(".", 1)[0] for n in ctx.layer}
        if "post_feedforward_layernorm" in has and "input_layernorm" in has:
            out.append(Feature("norms before and after attention and MLP", ["names: post_feedforward_layernorm"],
                               ["transformer_layer_spec"], None,
                               ctx.mapping_for(re.compile(r"post_feedforward_layernorm")), "modeling",
                               "a layer spec with post-attention and post-MLP norms"))  # fmt: skip
        elif "post_feedforward_layernorm" in has:
            # bridges that map post-MLP norms and no input norm: their layer spec normalises outputs only
            post = ctx.mapping_for(re.compile(r"post_feedforward_layernorm"))
            handled = ctx.lacking(post, re.compile(r"\.input_layernorm\."))
            # bridges whose own layer spec builds post-norm modules (Gemma2's, Gemma3's sandwich spec): a
            # clone of one keeps them and drops the fused pre-norms (codemods.clone_family._post_norm)
            teachers = [b for b in post if b not in handled]
            out.append(Feature(POST_NORM_ONLY,
                               ["names: post_attention_layernorm, post_feedforward_layernorm, no input_layernorm"],
                               ["transformer_layer_spec"], None, handled, "modeling",
                               "a layer spec normalising the attention and MLP outputs instead of their inputs: "
                               "post-norm row-parallel linear_proj / linear_fc2 and plain column-parallel "
                               "linear_qkv / linear_fc1 (clone-family keeps the post-norm modules of a source whose "
                               f"layer spec has them: {', '.join(teachers) or 'none in this tree'}, or writes that "
                               "spec for a dense source with a stock layer spec), else a local layer spec "
                               "(modeling_<model>)"))  # fmt: skip
    return out


def _fused(ctx: _Context) -> list[Feature]:
    out = []
    qkv = next(
        (n for n in ctx.layer if re.search(r"self_attn\.(qkv_proj|query_key_value|Wqkv|c_attn)\.weight$", n)),
        None,
    )
    if qkv:
        handled = ctx.mapping_for(re.compile(r"."), "ConcatenatedQKVMapping")
        out.append(Feature("fused q/k/v tensor", [f"names: {qkv}"], [], "ConcatenatedQKVMapping", handled, "mapping",
                           "a mapping that splits the fused q/k/v tensor"))  # fmt: skip
    gate_up = next(
        (n for n in ctx.layer if re.search(r"^(mlp|feed_forward)\.gate_up_proj\.weight$", n)), None
    )
    if gate_up:
        handled = ctx.mapping_for(re.compile(r"(^|\.)(mlp|feed_forward)\.gate_up_proj(\.weight)?$"))
        out.append(Feature("fused gate/up MLP tensor", [f"names: {gate_up}"], [], None, handled, "mapping",
                           "a mapping that takes the dense MLP's fused gate/up tensor (GatedMLPMapping takes "
                           "separate gate and up tensors): a local mapping class (clone-family writes one when the "
                           "modeling file splits it into [gate; up] halves)"))  # fmt: skip
    return out


DETECTORS: tuple[Callable[[_Context], list[Feature]], ...] = (
    _multipliers, _rope, _attention, _activation, _window, _moe, _mtp, _norms, _fused,
)  # fmt: skip


# ------------------------------------------------------------------------------------ what was not checked

#: the features only the transformers modeling file shows (``analyzers/modeling_source.py``)
MODELING_RULES = (
    "interleaved RoPE (rotate_half)",
    "q/k norm after RoPE",
    "q/k norm over the whole projection",
    "parallel attention + MLP residual",
    "MoE router scoring (sigmoid/softmax)",
    "norms scaling by 1 + weight",
    "RoPE skipped on some layers",
)
#: the features only the checkpoint names (and shapes) show
NAME_RULES = (
    "q/k norm shape",
    "fused q/k/v and gate/up tensors",
    "LayerNorm and projection biases",
    "router expert bias",
    "shared-expert gate",
    "post-attention / post-MLP norms",
)


def unchecked(spec: ModelSpec, names: list[str] | None) -> list[str]:
    """One line per group of rules `expressibility` could not run for `spec`, naming the rules and why:
    without transformers' modeling file (not installed, or no `modeling_<model_type>.py` in it) the modeling
    facts are unknown, without the checkpoint names the name facts are; an unchecked feature is absent from
    the result, so a caller must show these lines (silence would read as "nothing unsupported")."""
    from analyzers.transformers_source import modeling_path, package_version, transformers_dir

    out = []
    if spec.model_type and modeling_facts(spec.model_type) is None:
        tdir = transformers_dir()
        why = (
            "transformers is not installed"
            if tdir is None
            else f"transformers {package_version(tdir)} has no models/{spec.model_type}/modeling_{spec.model_type}.py"
            if modeling_path(spec.model_type) is None
            else f"modeling_{spec.model_type}.py could not be read"
        )
        out.append(f"not checked ({why}): {', '.join(MODELING_RULES)}")
    if not names:
        out.append(f"not checked (no HF checkpoint names): {', '.join(NAME_RULES)}")
    return out
