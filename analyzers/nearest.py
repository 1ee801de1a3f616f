"""ModelSpec + Catalog -> the existing bridges ranked by how good a starting point each is, with reasons.

Deterministic and explainable: every candidate gets the same five components, each in [0, 1], and a
weighted score; the reasons say which blocks match, which the candidate lacks (to add) and which it
has that the model lacks (to remove). Everything is learned from the catalog's records; no GPU, no network.

Components (weights renormalised over the ones that apply):
- names (0.35): F1 of the kinds of HF checkpoint names (layer / expert indices folded) matched by the
  candidate's patterns (recall) and the candidate's unconditional patterns that match some name
  (precision). Needs the names.
- blocks (0.25): agreement of architectural blocks (MoE, shared experts, MLA, MTP, QK norm, QKV bias,
  gated MLP, linear attention, Mamba, sliding window, vision, audio), each block weighted by its rarity
  in the catalog (smoothed IDF): sharing Mamba or MLA says more than sharing a gated MLP.
- fields (0.15): smoothed Jaccard of the specific config fields (beyond the architecture basics) the model
  sets and the candidate's bridge reads. Fields no remaining bridge reads count too, as fields the candidate
  does not read (Granite's multipliers lower every candidate: none handles them).
- provider (0.05): the share of the provider settings the config implies (`provider_vocabulary`) that the
  candidate's provider_bridge already gives, less half of one per field its settings would read that
  the config lacks (a crash at load).
- conventions (0.10): tied embeddings, activation and norm kind that the candidate's provider hard-codes,
  against the model's config. Only where both sides say.
- kind (0.10): same modality (LLM, VLM, audio, omni).
- naming (0.10): HF class naming of the candidate's registrations vs the model's architecture / model_type.
- quantization (0.05): the candidate dequantizes the model's weight format on load. Only for quantized models.

One penalty scales the score: a candidate whose q/k norm is of another kind than the model's (per head
against over the whole projection, `analyzers/qk_norm.py`) computes another function through its own layer
spec, whatever its names share: its score is multiplied by `QK_NORM_PENALTY` (a whole-projection one that
sizes K for MHA, for a GQA model, by `QK_NORM_CARRIED`: the clone resizes the K norm). A model without q/k
norm leaves it to the blocks component (the clone turns the candidate's off). A candidate without a block
that changes the decoder layer's modules (MoE experts, MLA, linear attention) is scaled by
`MISSING_LAYER_BLOCK`: a dense Qwen3 is a worse start for Qwen3-MoE than an MoE bridge with the same q/k norm.

One hard constraint orders before the score: a model with Mamba layers needs a bridge that maps Mamba
mixers (GPTModel cannot hold them); the others follow, marked `fits: false`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from analyzers.catalog.records import BridgeRecord, Catalog
from analyzers.coverage import group_names, match_names, pattern_uses, registry_mappings
from analyzers.hf_config import ARCH_FIELDS, GENERIC_FIELDS, ModelSpec, config_quantization, detect_blocks
from analyzers.source_index import SourceIndex

WEIGHTS = {"names": 0.35, "blocks": 0.25, "fields": 0.15, "provider": 0.05, "conventions": 0.10, "kind": 0.10,
           "naming": 0.10, "quantization": 0.05}  # fmt: skip
#: score factor of a candidate whose q/k norm kind differs from the model's (per head vs whole projection)
QK_NORM_PENALTY = 0.5
#: score factor of a whole-projection candidate that sizes K by num_attention_heads, for a GQA model
QK_NORM_CARRIED = 0.97
#: score factor of a candidate that lacks a block of `LAYER_BLOCKS` the model has
MISSING_LAYER_BLOCK = 0.9
#: blocks that give the decoder layer other modules (a router and experts, latent projections, a linear mixer)
LAYER_BLOCKS = ("moe", "mla", "linear_attention")
#: blocks compared, in display order
BLOCKS = ("moe", "shared_experts", "mla", "mtp", "qk_norm", "qkv_bias", "gated_mlp", "linear_attention", "mamba",
          "sliding_window", "vision", "audio")  # fmt: skip
#: blocks whose presence in a model only its parameter names can show (no config flag in most families)
NAME_ONLY_BLOCKS = frozenset({"qk_norm", "gated_mlp"})
#: blocks a candidate may carry without penalty: MB registries map MTP layers unconditionally, and
#: checkpoints without MTP layers simply leave those mappings unused; providers take the sliding window from
#: the config, so a model without one leaves it unset
OPTIONAL_BLOCKS = frozenset({"mtp", "sliding_window"})

_VISION = re.compile(
    r"(^|\.)(visual|vision_tower|vision_model|vision_encoder|vit|radio_model|image_newline|patch_embed)(\.|$)"
)
_AUDIO = re.compile(r"(^|\.)(audio_tower|audio_model|audio_encoder|sound_encoder|whisper)(\.|$)")
_QK_NORM = re.compile(r"\.(q_norm|k_norm|q_layernorm|k_layernorm|query_layernorm|key_layernorm)\.weight$")
_TRUE = {"True", "true", "1"}
#: config fields every bridge handles through the base class (architecture basics), never a family signal
_BASIC_FIELDS = GENERIC_FIELDS | {key.split(".")[0] for keys in ARCH_FIELDS.values() for key in keys}
#: attribute reads on a config dict rather than config fields
_NOT_FIELDS = frozenset({"get", "pop", "keys", "items", "values", "update", "setdefault"})
#: activation kinds, most specific first (hidden_act on the model side, activation_func on the provider side)
_ACTIVATIONS = (
    ("relu2", r"relu2|squared_relu"),
    ("gelu", r"gelu"),
    ("silu", r"silu|swish|swiglu"),
    ("relu", r"relu"),
)
_LITERAL = re.compile(r"^[\"']?[A-Za-z_][\w.]*[\"']?$")


@dataclass
class BridgeFeatures:
    """What a bridge's records say about the architecture it converts."""

    bridge: str
    family: str
    blocks: set[str]
    kind: str
    sources: list[str]  #: HF class names / strings of its registrations
    model_types: list[str]
    dequantizes: set[str]  #: weight formats its load hook dequantizes ("fp8", "mxfp4", "int4")
    #: HF config fields it reads beyond the architecture basics (softcapping, q_lora_rank, hc_mult, ...)
    fields: set[str] = field(default_factory=set)
    #: conventions its provider hard-codes: "tied" / "activation" / "norm" -> value
    conventions: dict[str, str] = field(default_factory=dict)


def bridge_features(catalog: Catalog, bridge: BridgeRecord) -> BridgeFeatures:
    """Derive blocks from the registry (Megatron targets and HF patterns), provider attributes and hooks."""
    blocks: set[str] = set()
    megatron = []
    hf = []
    for _, mapping in registry_mappings(catalog, bridge):
        megatron.append(mapping.megatron_param or "")
        hf.extend(mapping.hf_params.values())
        param = mapping.megatron_param or ""
        if mapping.mapping_class == "QKVMapping" and param.endswith("linear_qkv.bias"):
            blocks.add("qkv_bias")
        if mapping.mapping_class == "GatedMLPMapping" or {"gate", "up"} <= mapping.hf_params.keys():
            blocks.add("gated_mlp")
    unresolved = " ".join(u.source for u in bridge.registry.unresolved)
    text_m = " ".join(megatron)
    text_hf_lm = " ".join(p for p in hf if not _VISION.search(p) and not _AUDIO.search(p))
    if re.search(r"\.mlp\.(experts|router)\.", text_m) or ".experts." in text_hf_lm:
        blocks.add("moe")
    if "shared_expert" in text_m or "shared_expert" in text_hf_lm:
        blocks.add("shared_experts")
    if re.search(r"linear_(q|kv)_down_proj", text_m):
        blocks.add("mla")
    if re.search(r"(^|\s)mtp\.", text_m) or "mtp.layers" in unresolved:
        blocks.add("mtp")
    if any(_QK_NORM.search(p) for p in hf if not _VISION.search(p)):
        blocks.add("qk_norm")
    if "gate_up_proj" in text_hf_lm:
        blocks.add("gated_mlp")
    if (
        re.search(r"linear_attn|gated_delta|in_proj_qkvz|\.in_proj_ba", text_hf_lm)
        or "self_attention.in_proj" in text_m
    ):
        blocks.add("linear_attention")
    # Mamba mixers and gated delta nets share A_log / dt_bias / conv1d; only those outside an attention
    # module (Megatron `mixer.` / `mamba_mixer.`, HF `mamba.` / `mixer.`) are Mamba
    ssm = [p for p in megatron + hf if re.search(r"\.(A_log|dt_bias|conv1d[._])", p)]
    if any(not re.search(r"self_attention\.|linear_attn|attention\.", p) for p in ssm):
        blocks.add("mamba")
    if any(_VISION.search(p) for p in hf + megatron):
        blocks.add("vision")
    if any(_AUDIO.search(p) for p in hf + megatron):
        blocks.add("audio")
    attrs = bridge.provider_attributes
    if attrs.get("qk_layernorm") in _TRUE and "mla" not in blocks:  # MLA sets it for its q/kv layernorms
        blocks.add("qk_norm")
    if attrs.get("add_qkv_bias") in _TRUE:
        blocks.add("qkv_bias")
    if "window_size" in attrs or "sliding_window" in bridge.config_fields:
        blocks.add("sliding_window")
    if "mtp_num_layers" in attrs:
        blocks.add("mtp")
    if "q_lora_rank" in attrs or "kv_lora_rank" in attrs:
        blocks.add("mla")
    kind = (
        "omni"
        if {"vision", "audio"} <= blocks
        else "vlm"
        if "vision" in blocks
        else "audio"
        if "audio" in blocks
        else "llm"
    )
    return BridgeFeatures(
        bridge=bridge.name,
        family=bridge.family,
        blocks=blocks,
        kind=kind,
        sources=[r.source for r in bridge.registrations if r.source],
        model_types=[r.model_type for r in bridge.registrations if r.model_type],
        dequantizes=set(bridge.dequant_formats),
        fields=specific_fields(bridge.config_fields),
        conventions=provider_conventions(attrs),
    )


def specific_fields(fields: list[str]) -> set[str]:
    """The config fields in `fields` that are not architecture basics every bridge handles."""
    return {
        f
        for f in fields
        if f not in _BASIC_FIELDS
        and f not in _NOT_FIELDS
        and not f.startswith("to_")
        and not f.endswith("_token_id")
    }


def _activation(text: str) -> str | None:
    return next((name for name, pattern in _ACTIVATIONS if re.search(pattern, text.lower())), None)


def provider_conventions(attrs: dict[str, str]) -> dict[str, str]:
    """Conventions a provider hard-codes as literals (values read from the HF config adapt, so they are left out)."""
    out = {}
    tied = attrs.get("share_embeddings_and_output_weights")
    if tied in {"True", "False"}:
        out["tied"] = tied
    act = attrs.get("activation_func", "")
    if (
        _LITERAL.match(act)
        and not act.startswith(("hf_config", "text_config", "config"))
        and _activation(act)
    ):
        out["activation"] = _activation(act)
    norm = attrs.get("normalization", "").strip("\"'")
    if norm in {"RMSNorm", "LayerNorm"}:
        out["norm"] = norm.lower()
    return out


def model_conventions(spec: ModelSpec) -> dict[str, str]:
    """The same conventions read from the model's config (tied embeddings, activation, norm kind)."""
    out = {}
    if spec.tie_word_embeddings is not None:
        out["tied"] = str(bool(spec.tie_word_embeddings))
    act = spec.get(*ARCH_FIELDS["hidden_act"])
    if act is not None and isinstance(act.value, str) and _activation(act.value):
        out["activation"] = _activation(act.value)
    if spec.get("rms_norm_eps") is not None:
        out["norm"] = "rmsnorm"
    elif spec.get("layer_norm_eps", "layer_norm_epsilon") is not None:
        out["norm"] = "layernorm"
    return out


def model_fields(spec: ModelSpec) -> set[str]:
    """Config fields of the model that are set (not null, not false), top level, text and vision sub-configs."""
    scopes = [spec.config, spec.text_config or {}, spec.vision_config or {}]
    return specific_fields(
        [k for scope in scopes for k, v in scope.items() if v is not None and v is not False]
    )


def model_format(spec: ModelSpec, dtypes: dict[str, int] | None = None) -> str | None:
    """The model's quantized weight format ("fp8", "mxfp4", "int4", or the quant_method), None when not quantized."""
    quant = config_quantization(spec) or {}
    method = str(quant.get("quant_method") or quant.get("format") or "").lower()
    if "mxfp4" in method:
        return "mxfp4"
    if "fp8" in method or quant.get("fmt") in {"e4m3", "e5m2"}:
        return "fp8"
    if "int4" in method or "awq" in method or "gptq" in method or quant.get("bits") == 4:
        return "int4"
    if dtypes:
        if any(d.startswith("float8_e4m3") or d == "float8_e5m2" for d in dtypes):
            return "fp8"
        if "uint8" in dtypes and "float8_e8m0fnu" in dtypes:
            return "mxfp4"
    return method or None


def _stem(name: str) -> str:
    name = re.sub(r"(For(CausalLM|ConditionalGeneration|Conditional\w*)|Model|LMHeadModel)$", "", name)
    return re.sub(r"[^a-z0-9]", "", name.lower())


def naming_similarity(spec: ModelSpec, feats: BridgeFeatures) -> tuple[float, str]:
    """Best similarity of the model's class / model_type stems to the candidate's registrations'."""
    mine = [_stem(a) for a in spec.architectures] + [_stem(spec.model_type)]
    theirs = [_stem(s) for s in feats.sources] + [_stem(t) for t in feats.model_types]
    best, pair = 0.0, ("", "")
    for a in mine:
        for b in theirs:
            if not a or not b:
                continue
            vendor = re.match(r"[a-z]+", a), re.match(r"[a-z]+", b)
            same_vendor = bool(vendor[0] and vendor[1] and vendor[0].group() == vendor[1].group())
            score = 0.5 * same_vendor + 0.5 * SequenceMatcher(None, a, b).ratio()
            if score > best:
                best, pair = score, (a, b)
    return best, f"{pair[0]} ~ {pair[1]}" if best else "no naming overlap"


def _field_agreement(mine: set[str], theirs: set[str]) -> tuple[float, str]:
    """Smoothed Jaccard of the specific config fields the model sets and the candidate reads, with the reason."""
    if not mine and not theirs:
        return 1.0, "no specific config fields on either side"
    both, to_read, unused = mine & theirs, sorted(mine - theirs), sorted(theirs - mine)
    reason = f"reads {len(both)} of the model's {len(mine)} specific config fields"
    if to_read:
        reason += f"; not read: {', '.join(to_read[:4])}{' ...' if len(to_read) > 4 else ''}"
    if unused:
        reason += (
            f"; reads fields the model lacks: {', '.join(unused[:4])}{' ...' if len(unused) > 4 else ''}"
        )
    # add-one smoothing: one optional field (an MTP depth read with a default) must not zero the component
    return (len(both) + 1) / (len(mine | theirs) + 1), reason


def _provider_agreement(
    catalog: Catalog, bridge: BridgeRecord, spec: ModelSpec, implied: list
) -> tuple[float, dict, str]:
    """The candidate's provider settings against the implied ones: score, JSON summary, one-line reason."""
    from analyzers.provider_vocabulary import check_candidate

    check = check_candidate(catalog, bridge, spec, implied)
    by = {status: [c for c in check.checks if c.status == status] for status in
          ("sets", "default-matches", "contradicts", "must-set", "unknown")}  # fmt: skip
    summary = {
        "sets": [c.attr for c in by["sets"]],
        "default_matches": [c.attr for c in by["default-matches"]],
        "contradicts": [{"attr": c.attr, "implied": c.implied, "candidate": c.candidate, "how": c.how} for c in by["contradicts"]],
        "must_set": [{"attr": c.attr, "implied": c.implied, "default": c.candidate} for c in by["must-set"]],
        "missing_reads": [{"attr": a, "field": f, "expression": e} for a, f, e in check.missing_reads],
        "unsupported": check.unsupported,
    }  # fmt: skip
    reason = (f"provider: gives {len(by['sets']) + len(by['default-matches'])} of {len(check.checks) - len(by['unknown'])} "
              "implied settings")  # fmt: skip
    if by["contradicts"]:
        reason += "; contradicts " + ", ".join(
            f"{c.attr}={c.candidate!r} (implied {c.implied!r})" for c in by["contradicts"][:4]
        )
        reason += " ..." if len(by["contradicts"]) > 4 else ""
    if by["must-set"]:
        reason += "; must set " + ", ".join(f"{c.attr}={c.implied!r}" for c in by["must-set"][:4])
        reason += " ..." if len(by["must-set"]) > 4 else ""
    if check.missing_reads:
        fields = sorted({f for _, f, _ in check.missing_reads})
        reason += (
            f"; reads fields the config lacks: {', '.join(fields[:4])}{' ...' if len(fields) > 4 else ''}"
        )
    return check.score(), summary, reason


@dataclass
class Candidate:
    bridge: str
    family: str
    score: float
    components: dict[str, float]
    matches: list[str] = field(default_factory=list)  #: blocks both have
    missing: list[str] = field(default_factory=list)  #: blocks the model has and the candidate lacks (to add)
    extra: list[str] = field(
        default_factory=list
    )  #: blocks the candidate has that the model lacks (to remove)
    reasons: list[str] = field(default_factory=list)
    names_matched: int | None = None
    names_total: int | None = None
    unused_patterns: int | None = None
    #: False when the candidate cannot hold the model's layers at all (ranked after every one that can)
    fits: bool = True
    #: the implied provider settings it sets / contradicts / leaves to a default, and its settings that
    #: read fields the config lacks (see `provider_vocabulary.check_candidate`)
    provider: dict | None = None
    #: its q/k norm against the model's: "same" | "carried" | "none" | "differs" (`qk_norm.qk_norm_fit`)
    qk_norm: str | None = None


def model_blocks(spec: ModelSpec, names: list[str] | None) -> tuple[set[str], set[str]]:
    """(blocks the model has, blocks whose presence is unknown because names are unavailable)."""
    found = set(detect_blocks(spec, names))
    unknown = set() if names is not None else set(NAME_ONLY_BLOCKS - found)
    if names is None and "qkv_bias" not in found and spec.get("attention_bias", "qkv_bias") is None:
        unknown.add("qkv_bias")
    return found & set(BLOCKS), unknown


def rank(
    spec: ModelSpec,
    catalog: Catalog,
    names: list[str] | None = None,
    *,
    exclude: tuple[str, ...] = (),
    dtypes: dict[str, int] | None = None,
    top: int | None = None,
    shapes: dict[str, tuple[int, ...] | None] | None = None,
    implied: list | None = None,
    index: SourceIndex | None = None,
) -> list[Candidate]:
    """Rank the catalog's (non-diffusion) bridges for `spec`; `exclude` drops bridges or whole families.
    `index`: the run's sources (clone-family's), through which the bridges' layer-spec modules are read.

    `implied`: the provider settings the config implies (computed here from `names`/`shapes` when not given).

    >>> spec = load_spec(from_transformers="qwen3")
    >>> [c.bridge for c in rank(spec, catalog, collect_hf_names(spec).names, top=3)]
    ['Qwen3Bridge', 'Exaone4Bridge', 'Gemma3ModelBridge']
    """
    excluded = {e.lower() for e in exclude}
    mine, unknown = model_blocks(spec, names)
    quant = model_format(spec, dtypes)
    groups = group_names(names) if names else None
    total = len(names) if names else 0
    pool = [
        bridge_features(catalog, b)
        for b in catalog.bridges
        if not b.diffusion and b.name.lower() not in excluded and b.family.lower() not in excluded
    ]
    # fields no remaining bridge reads count against every candidate: none handles them (learned, leave-one-out safe)
    my_fields = model_fields(spec)
    if implied is None:
        from analyzers.provider_vocabulary import implied_settings

        implied = implied_settings(spec, catalog, names, shapes, exclude=exclude)
    # a block shared by few bridges is specialised machinery (Mamba, MLA, towers): it weighs more in the
    # agreement than one nearly every bridge has (gated MLP); smoothed inverse document frequency
    rarity = {b: 1.0 + math.log((len(pool) + 1) / (1 + sum(b in f.blocks for f in pool))) for b in BLOCKS}
    my_conventions = model_conventions(spec)
    # Megatron's GPTModel has no Mamba mixer: for a Mamba hybrid only a bridge that maps Mamba layers (a
    # Mamba/hybrid model target) is a starting point, however close its attention and MLP names are.
    needs_mamba = "mamba" in mine
    from analyzers.qk_norm import bridge_qk_norm, config_qk_norm, qk_norm_fit

    my_qk = config_qk_norm(spec, names, shapes)
    out = []
    for feats in pool:
        bridge = catalog.bridge(feats.bridge)
        theirs = feats.blocks - unknown
        both, missing, extra = mine & theirs, mine - theirs, theirs - mine - OPTIONAL_BLOCKS
        union = both | missing | extra
        comps: dict[str, float] = {
            "blocks": sum(rarity[b] for b in both) / sum(rarity[b] for b in union) if union else 1.0
        }
        comps["kind"] = 1.0 if feats.kind == spec.kind else 0.0
        comps["naming"], naming_reason = naming_similarity(spec, feats)
        reasons = []
        cand = Candidate(bridge=bridge.name, family=bridge.family, score=0.0, components=comps)
        if groups is not None:
            uses = pattern_uses(catalog, bridge)
            hits = match_names(uses, groups)
            matched = kinds = 0
            for size, found in hits.values():
                kinds += bool(found)
                if any(m is None for m in found.values()):
                    matched += size
                elif found:
                    matched += len(set().union(*(set(m) for m in found.values() if m)))
            definite = [
                u for u in uses if not u.condition and not (u.megatron_param or "").startswith("mtp.")
            ]
            used = [u for u in definite if u.matches]
            # recall over kinds of names (layer and expert indices folded), so that a missing norm or head
            # weighs as much as a missing expert projection; per-name counts are in the reason
            recall = kinds / len(hits) if hits else 0.0
            precision = len(used) / len(definite) if definite else 0.0
            comps["names"] = 2 * recall * precision / (recall + precision) if recall + precision else 0.0
            cand.names_matched, cand.names_total, cand.unused_patterns = (
                matched,
                total,
                len(definite) - len(used),
            )
            reasons.append(
                f"patterns match {kinds}/{len(hits)} kinds of HF names ({matched}/{total} names); "
                f"{len(definite) - len(used)} of {len(definite)} unconditional non-MTP patterns match nothing"
            )
        comps["fields"], fields_reason = _field_agreement(my_fields, feats.fields)
        reasons.append(fields_reason)
        comps["provider"], cand.provider, provider_reason = _provider_agreement(
            catalog, bridge, spec, implied
        )
        reasons.append(provider_reason)
        checks = {k: (v, feats.conventions[k]) for k, v in my_conventions.items() if k in feats.conventions}
        if checks:
            comps["conventions"] = sum(a == b for a, b in checks.values()) / len(checks)
            if differ := [f"{k}={b} (model {a})" for k, (a, b) in checks.items() if a != b]:
                reasons.append("hard-codes " + ", ".join(differ))
        if quant:
            comps["quantization"] = 1.0 if quant in feats.dequantizes else 0.0
            reasons.append(
                f"dequantizes {quant} on load"
                if quant in feats.dequantizes
                else f"does not dequantize {quant}: add maybe_modify_loaded_hf_weight"
            )
        weight = sum(WEIGHTS[k] for k in comps)
        score = sum(WEIGHTS[k] * v for k, v in comps.items()) / weight
        cand.qk_norm, qk_reason = qk_norm_fit(my_qk, bridge_qk_norm(catalog, bridge, index))
        factor = {"differs": QK_NORM_PENALTY, "carried": QK_NORM_CARRIED}.get(cand.qk_norm, 1.0)
        if factor != 1.0:
            qk_reason += f" (score x{factor})"
        lacks = [b for b in LAYER_BLOCKS if b in missing]
        if lacks:
            factor *= MISSING_LAYER_BLOCK ** len(lacks)
            reasons.append(
                f"lacks the model's {', '.join(lacks)} layers (score x{MISSING_LAYER_BLOCK ** len(lacks):g})"
            )
        cand.score = round(score * factor, 4)
        cand.components = {k: round(v, 4) for k, v in comps.items()}
        cand.matches = [b for b in BLOCKS if b in both]
        cand.missing = [b for b in BLOCKS if b in missing]
        cand.extra = [b for b in BLOCKS if b in extra]
        if cand.qk_norm == "differs":
            # first: it decides more than any shared block
            reasons.insert(0, qk_reason)
        if cand.matches:
            reasons.insert(0, "shares " + ", ".join(cand.matches))
        if cand.qk_norm in ("carried", "none", "same") and qk_reason:
            reasons.append(qk_reason)
        if cand.missing:
            reasons.append("to add: " + ", ".join(cand.missing))
        if cand.extra:
            reasons.append("to remove: " + ", ".join(cand.extra))
        if feats.kind != spec.kind:
            reasons.append(f"is {feats.kind.upper()}, the model is {spec.kind.upper()}")
        if needs_mamba and "mamba" not in feats.blocks:
            cand.fits = False
            reasons.append("maps no Mamba mixer: cannot convert the model's Mamba layers (ranked last)")
        reasons.append(f"naming {naming_reason} ({comps['naming']:.2f})")
        if unknown:
            reasons.append("not compared (needs HF names): " + ", ".join(sorted(unknown)))
        cand.reasons = reasons
        out.append(cand)
    out.sort(key=lambda c: (not c.fits, -c.score, c.bridge))
    return out[:top] if top else out
