"""Synthesize a mapping registry from a model's HF checkpoint names and the learned vocabulary.

Never silent: every HF name ends up either matched by a synthesized mapping or listed in `unmapped`,
and what cannot be derived (custom mapping classes, MTP layers sized by config fields, vision/audio
towers) is listed in `todos`.

>>> from analyzers.vocabulary import learn_vocabulary
>>> vocab = learn_vocabulary(catalog, exclude=["Qwen3Bridge"])
>>> result = synthesize(vocab, collect_hf_names(load_spec(from_transformers="qwen3")).names)
>>> print(render_python(result).splitlines()[2])
    # uses: AutoMapping, GatedMLPMapping, QKVMapping
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from analyzers.layer_roles import HOSTS, MOE_MODULE, NORM_ROLES, hf_roles, megatron_role
from analyzers.vocabulary import (
    DECODER,
    Context,
    Entry,
    Output,
    Vocabulary,
    Vote,
    compile_pattern,
    context_of,
    hf_pattern,
    hf_token,
    is_tower_name,
    megatron_param,
    megatron_token,
    normalize,
)

#: extra weight of a teaching bridge whose model kind (MoE / dense / multimodal) equals the target's
CONTEXT_WEIGHT = 3.0
_LAYER_CONTAINERS = ("layers", "h", "blocks", "layer", "block", "decoder_layers")
_MTP = re.compile(r"(^|\.)(mtp|nextn|next_n)(\.|_|$)")


@dataclass
class Evidence:
    """Why a mapping was synthesized."""

    hf_names: list[str]  #: checkpoint names it matches (first few, see `hf_count`)
    hf_count: int  #: how many checkpoint names it matches in all
    bridges: list[str]  #: bridges that write exactly this mapping for these HF names
    voters: list[str]  #: every bridge that maps these HF names (whatever they map them to)
    confidence: float  #: weighted share of the voters that agree, 0..1
    level: str  #: "high" | "medium" | "low"
    note: str | None = None


@dataclass
class SynthesizedMapping:
    mapping_class: str
    megatron_param: str
    hf_params: dict[str, str]  #: role -> HF pattern
    evidence: Evidence
    custom_class: bool = False  #: a class defined in a family, not in the shared conversion module
    entry_id: int = 0  #: which vocabulary entry produced it (keeps the output in vocabulary order)

    @property
    def pair(self) -> tuple[str, frozenset[str]]:
        return self.megatron_param, frozenset(self.hf_params.values())

    def to_json(self) -> dict[str, Any]:
        ev = self.evidence
        return {
            "megatron_param": self.megatron_param,
            "hf_params": list(self.hf_params.values()),
            "roles": dict(self.hf_params),
            "mapping_class": self.mapping_class,
            "custom_class": self.custom_class,
            "confidence": round(ev.confidence, 3),
            "level": ev.level,
            "taught_by": ev.bridges,
            "voters": ev.voters,
            "hf_names": ev.hf_names,
            "hf_count": ev.hf_count,
            "note": ev.note,
        }


@dataclass
class Unmapped:
    """HF checkpoint names no synthesized mapping covers, grouped by their layer-free shape."""

    shape: str  #: HF pattern with ``*`` for indices
    names: list[str]
    block: str  #: "vision/audio tower" | "mtp" | "unknown"
    hint: str | None = None  #: closest shape the vocabulary knows, when there is one
    #: why no catalog mapping can take these names, and what it would take (a local mapping class)
    needs: str | None = None


@dataclass
class Todo:
    block: str
    message: str


@dataclass
class Synthesis:
    mappings: list[SynthesizedMapping]
    unmapped: list[Unmapped]
    todos: list[Todo]
    hf_prefix: str | None
    megatron_base: str
    context: Context
    nearest: list[tuple[str, float]]  #: (bridge, similarity) best first
    names_total: int
    excluded: list[str] = field(default_factory=list)
    source: str | None = None  #: where the names came from
    tied: list[str] = field(default_factory=list)  #: tied names left out of the checkpoint (not mapped)

    @property
    def mapped_names(self) -> int:
        return self.names_total - sum(len(u.names) for u in self.unmapped)


# ------------------------------------------------------------------------------------------ helpers


def find_hf_prefix(names: Iterable[str], known: Counter[str]) -> str | None:
    """The HF decoder-layer prefix of a model: a prefix the vocabulary knows, else the largest layer container."""
    counts: Counter[str] = Counter()
    for name in names:
        found = re.match(r"^(.*?\.)?(\d+)\.", name)
        if found and found.group(1) and not is_tower_name(found.group(1)) and not _MTP.search(found.group(1)):
            counts[found.group(1)] += 1
    learned = [(n, p) for p, n in counts.items() if p in known]
    if learned:
        return max(learned)[1]
    containers = [(n, p) for p, n in counts.items() if p.rstrip(".").rsplit(".", 1)[-1] in _LAYER_CONTAINERS]
    if containers:
        return max(containers)[1]
    return counts.most_common(1)[0][0] if counts else None


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def _lm_tokens(tokens: frozenset[str]) -> frozenset[str]:
    """The language model's tokens: what similarity between models is measured on (towers left out)."""
    return frozenset(t for t in tokens if t[:2] != "G:" and not is_tower_name(t[2:]))


def _level(confidence: float, support: int) -> str:
    if confidence >= 0.75 and support >= 2:
        return "high"
    return "medium" if confidence >= 0.5 else "low"


class _Target:
    """The target model's names as tokens, with the weights of the teaching bridges."""

    def __init__(
        self, vocab: Vocabulary, names: list[str], multimodal: bool | None, model_type: str | None = None
    ) -> None:
        self.names = names
        self.hf_prefix = find_hf_prefix(names, vocab.hf_prefixes)
        self.by_token: dict[str, list[str]] = {}
        for name in names:
            token = normalize(hf_token(name, self.hf_prefix))
            self.by_token.setdefault(token, []).append(name)
        self.tokens = frozenset(self.by_token)
        if multimodal is None:
            multimodal = any(is_tower_name(n) for n in names)
        self.context = context_of(self.tokens, multimodal)
        self.model_type = model_type
        #: layer token -> its place in the layer (`analyzers.layer_roles`)
        self.roles = {
            "L:" + suffix: role
            for suffix, role in hf_roles(model_type, [t[2:] for t in self.tokens if t[:2] == "L:"]).items()
        }
        lm = _lm_tokens(self.tokens)
        self.similarity = {b: _jaccard(lm, _lm_tokens(p.tokens)) for b, p in vocab.profiles.items()}
        self.weight = {
            b: (0.1 + self.similarity[b]) * (CONTEXT_WEIGHT if p.context == self.context else 1.0)
            for b, p in vocab.profiles.items()
        }


_FUSED_NORM = re.compile(r"\.layer_norm_(weight|bias)$")


def _hosts_ok(outputs: frozenset[Output], hosts: set[str], base: str) -> bool:
    """Every fused layernorm in `outputs` has its host linear among `hosts`."""
    for o in outputs:
        param = megatron_param(o.megatron, base)
        if _FUSED_NORM.search(param) and _FUSED_NORM.sub(".weight", param) not in hosts:
            return False
    return True


def _fused_hosts(outputs: frozenset[Output], base: str) -> set[str]:
    return {
        _FUSED_NORM.sub(".weight", p)
        for o in outputs
        if _FUSED_NORM.search(p := megatron_param(o.megatron, base))
    }


def _allowed(target: _Target, key: frozenset[str], outputs: frozenset[Output]) -> bool:
    """Whether `outputs` are of the kind the target's tensors `key` are: no expert, router or shared-expert
    module on a dense model; a norm keeps its place (a pre-MLP norm never becomes a post-attention one)."""
    layer = [o.megatron[2:] for o in outputs if o.megatron[:2] == "L:"]
    if not target.context.moe and any(MOE_MODULE.search("." + p) for p in layer):
        return False
    if len(key) == 1:
        role = target.roles.get(next(iter(key)))
        if role in NORM_ROLES and any(megatron_role(p) != role for p in layer):
            return False
    return True


def _vote(
    entry: Entry,
    weight: dict[str, float],
    hosts: set[str] | None = None,
    base: str = "",
    taken: set[str] | None = None,
    allowed=None,
) -> tuple[frozenset[Output], list[str], float]:
    """The output set with the most weight, the bridges that wrote it, and its share of the weight.

    With `hosts`, output sets that fuse a layernorm into a linear missing from `hosts` lose to any that
    don't, and among the rest the set that fuses into more of the present linears wins (GDN layers'
    `in_proj.layer_norm_weight` beside attention layers' `linear_qkv.layer_norm_weight`). Output sets
    writing a Megatron parameter in `taken` lose to any that don't.
    """
    scores: Counter[frozenset[Output]] = Counter()
    for vote in entry.votes:
        scores[vote.outputs] += weight.get(vote.bridge, 0.0)
    if allowed is not None:
        # the kinds the target cannot hold never win, and their weight does not count against the rest
        scores = Counter({o: s for o, s in scores.items() if allowed(o)}) or scores
    if hosts is not None:
        valid = {o: s for o, s in scores.items() if _hosts_ok(o, hosts, base)}
        if taken:
            free = {
                o: s for o, s in valid.items() if not {megatron_param(x.megatron, base) for x in o} & taken
            }
            valid = free or valid
        if valid:
            total = sum(scores.values()) or 1.0
            best, score = max(
                valid.items(), key=lambda kv: (len(_fused_hosts(kv[0], base)), kv[1], -len(kv[0]))
            )
            return best, [v.bridge for v in entry.votes if v.outputs == best], score / total
    total = sum(scores.values()) or 1.0
    best, score = max(scores.items(), key=lambda kv: (kv[1], -len(kv[0])))
    return best, [v.bridge for v in entry.votes if v.outputs == best], score / total


def _megatron_base(vocab: Vocabulary, target: _Target) -> str:
    scores: Counter[str] = Counter()
    for name, profile in vocab.profiles.items():
        same = profile.context.multimodal == target.context.multimodal
        scores[profile.megatron_base] += (0.1 + target.similarity[name]) * (CONTEXT_WEIGHT if same else 0.2)
    return scores.most_common(1)[0][0] if scores else ""


# ------------------------------------------------------------------------------------------ synthesis


def synthesize(
    vocab: Vocabulary,
    names: Iterable[str],
    *,
    tied: Iterable[str] = (),
    multimodal: bool | None = None,
    mtp_fields: dict[str, Any] | None = None,
    source: str | None = None,
    model_type: str | None = None,
) -> Synthesis:
    """Write the registry of a model from its checkpoint `names` (plus `tied` names left out of the checkpoint).

    `mtp_fields` are the config fields that size MTP layers (a TODO when the names carry no MTP layer).
    `model_type` names the transformers modeling file that says where each norm sits (`analyzers.layer_roles`).
    """
    # Tied names (lm_head with tie_word_embeddings) are not in the checkpoint: real registries of tied
    # models leave output_layer out, so they are reported, not mapped.
    tied = sorted(set(tied))
    names = sorted(set(names) - set(tied))
    target = _Target(vocab, names, multimodal, model_type)
    base = _megatron_base(vocab, target)
    candidates = [e for e in vocab.entries.values() if not any(t.startswith("G:") for t in e.key)]
    candidates = [e for e in candidates if e.key <= target.tokens]
    # an entry none of whose conventions fits the target's kind claims nothing (its names go to the roles)
    candidates = [e for e in candidates if any(_allowed(target, e.key, v.outputs) for v in e.votes)]
    support = {id(e): sum(target.weight.get(v.bridge, 0.0) for v in e.votes) for e in candidates}
    candidates.sort(key=lambda e: (-len(e.key), -support[id(e)], sorted(e.key)))
    claimed: set[str] = set()
    mappings: list[SynthesizedMapping] = []
    accepted: list[Entry] = []
    for entry in candidates:
        if entry.key & claimed:
            continue
        claimed |= entry.key
        accepted.append(entry)

    # First pass: every entry's best-voted outputs. Second pass: a layernorm fused into a linear
    # (`linear_qkv.layer_norm_weight`) is only right when that linear exists in the registry; otherwise the
    # next-best convention wins (MLA has no linear_qkv; MoE-only models have no dense linear_fc1).
    # Third: one Megatron parameter is written by one group of HF names; when two groups claim it, the
    # group that agrees more keeps it and the other takes its next-best convention (Gemma's
    # post_attention_layernorm becomes `linear_proj.post_layernorm` because pre_feedforward_layernorm
    # holds `mlp.linear_fc1.layer_norm_weight`).
    def allowed_for(entry: Entry):
        return lambda outputs: _allowed(target, entry.key, outputs)

    first = {id(e): _vote(e, target.weight, allowed=allowed_for(e)) for e in accepted}
    hosts = {megatron_param(o.megatron, base) for outs, _, _ in first.values() for o in outs}
    # the linears the target's own tensors imply are hosts even when no catalog mapping can fill them
    # (a dense fused gate_up_proj still makes `mlp.linear_fc1`, which the pre-MLP norm is fused into)
    hosts |= {base + DECODER + HOSTS[r] for r in target.roles.values() if r in HOSTS}
    second = {id(e): _vote(e, target.weight, hosts, base, allowed=allowed_for(e)) for e in accepted}
    taken: set[str] = set()
    for entry in sorted(accepted, key=lambda e: -second[id(e)][2]):
        voted = _vote(entry, target.weight, hosts, base, taken, allowed=allowed_for(entry))
        taken |= {megatron_param(o.megatron, base) for o in voted[0]}
        mappings.extend(_emit(vocab, target, entry, base, voted))
    order = {id(e): i for i, e in enumerate(accepted)}
    mappings.sort(key=lambda m: order.get(m.entry_id, len(order)))
    claimed_tokens = frozenset(t for e in accepted for t in e.key)
    analogies = _analogies(vocab, target, base, claimed_tokens, taken)
    mappings.extend(analogies)
    claimed_tokens |= {t for m in analogies for t in _tokens_of(target, m)}
    by_role, needs = _by_role(vocab, target, base, claimed_tokens, taken, hosts, mappings)
    mappings.extend(by_role)
    mappings.extend(_globs(vocab, target, base, mappings))
    unmapped = _unmapped(vocab, target, mappings, needs)
    todos = _todos(mappings, unmapped, mtp_fields or {})
    nearest = sorted(target.similarity.items(), key=lambda kv: -kv[1])[:5]
    return Synthesis(
        mappings=mappings,
        unmapped=unmapped,
        todos=todos,
        hf_prefix=target.hf_prefix,
        megatron_base=base,
        context=target.context,
        nearest=nearest,
        names_total=len(names),
        excluded=list(vocab.excluded),
        source=source,
        tied=tied,
    )


def _matching(pattern: str, names: list[str]) -> list[str]:
    regex = compile_pattern(pattern)
    return [n for n in names if regex.match(n)]


def _emit(
    vocab: Vocabulary,
    target: _Target,
    entry: Entry,
    base: str,
    voted: tuple[frozenset[Output], list[str], float] | None = None,
) -> list[SynthesizedMapping]:
    outputs, _, _ = voted or _vote(entry, target.weight)
    pool = [n for t in entry.key for n in target.by_token.get(t, [])]
    total = sum(target.weight.get(v.bridge, 0.0) for v in entry.votes) or 1.0
    out = []
    for output in sorted(outputs, key=lambda o: (o.megatron, o.mapping_class)):
        # confidence of one mapping: the weighted share of the voters that write it (whatever else they write)
        bridges = [v.bridge for v in entry.votes if output in v.outputs]
        share = sum(target.weight.get(b, 0.0) for b in bridges) / total
        roles: dict[str, str] = {}
        matched: set[str] = set()
        for role, token in output.roles:
            pattern = hf_pattern(token, target.hf_prefix)
            hits = _matching(pattern, pool)
            if not hits:  # a literal index the target does not have: fall back to the wildcard form
                pattern = hf_pattern(normalize(token), target.hf_prefix)
                hits = _matching(pattern, pool)
            roles[role] = pattern
            matched.update(hits)
        custom = output.mapping_class not in vocab.shared_classes
        note = None
        if custom:
            families = sorted({vocab.profiles[b].family for b in bridges if b in vocab.profiles})
            note = f"{output.mapping_class} is defined in models/{'/'.join(families)}: copy or import it"
        out.append(
            SynthesizedMapping(
                mapping_class=output.mapping_class,
                megatron_param=megatron_param(output.megatron, base),
                hf_params=roles,
                evidence=Evidence(
                    hf_names=sorted(matched)[:4],
                    hf_count=len(matched),
                    bridges=bridges,
                    voters=entry.bridges,
                    confidence=share,
                    level=_level(share, len(bridges)),
                    note=note,
                ),
                custom_class=custom,
                entry_id=id(entry),
            )
        )
    return out


#: confidence factor of a mapping learned by analogy (one path segment of its HF names differs)
ANALOGY_FACTOR = 0.5
Edit = tuple[str, int, str, str]  #: (op "sub" | "del" | "ins", segment position, old word, new word)


def _segment_edit(known: str, name: str) -> Edit | None:
    """The one-segment edit turning token `known` into `name` (same kind, same last segment), or None."""
    if known[:2] != name[:2] or known == name:
        return None
    a, b = known[2:].split("."), name[2:].split(".")
    if a[-1] != b[-1]:
        return None
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        # the module that owns the parameter (second to last) names what it is: never read as another
        return ("sub", diff[0], a[diff[0]], b[diff[0]]) if len(diff) == 1 and diff[0] != len(a) - 2 else None
    if abs(len(a) - len(b)) != 1:
        return None
    longer, shorter, op = (a, b, "del") if len(a) > len(b) else (b, a, "ins")
    for i in range(len(longer)):
        if longer[:i] + longer[i + 1 :] == shorter:
            return (op, i, longer[i], "") if op == "del" else (op, i, "", longer[i])
    return None


def _apply_edit(token: str, edit: Edit) -> str:
    op, i, old, new = edit
    parts = token[2:].split(".")
    if op == "sub" and i < len(parts) and normalize(parts[i]) == normalize(old):
        parts[i] = new if not parts[i].isdigit() else parts[i]
    elif op == "del" and i < len(parts) and normalize(parts[i]) == normalize(old):
        del parts[i]
    elif op == "ins":
        parts.insert(i, new)
    else:
        return token
    return token[:2] + ".".join(parts)


def _analogies(
    vocab: Vocabulary, target: _Target, base: str, claimed: frozenset[str], taken: set[str]
) -> list[SynthesizedMapping]:
    """Mappings for decoder names no entry knows, taught by an entry whose names differ in one path segment.

    ``mlp.shared_mlp.{gate,up}_proj`` is read as ``mlp.shared_experts.{gate,up}_proj``,
    ``mlp.e_score_correction_bias`` as ``mlp.gate.e_score_correction_bias``: the same edit must turn every
    HF name of the entry into a name of the target nobody claimed, the last segment (``weight``, ``bias``)
    never changes, and the Megatron parameters it writes must be free. Confidence is scaled by
    `ANALOGY_FACTOR`; the evidence note says which names were read as which.
    """
    left = {
        t
        for t in target.tokens - claimed
        if t[:2] == "L:" and not _MTP.search(t) and not is_tower_name(t[2:])
    }
    if not left:
        return []
    edits: dict[str, dict[Edit, str]] = {}
    known = {t for e in vocab.entries.values() for t in e.key if t[:2] == "L:"}
    for k in known:
        for u in left:
            edit = _segment_edit(k, u)
            if edit is not None:
                edits.setdefault(k, {})[edit] = u
    # an inserted segment must be a bare wrapper: a module holding more names of its own (an ``indexer``
    # beside the attention's norms) is a different module, not a renamed path
    holds = Counter(
        ".".join(parts[: i + 1])
        for t in target.tokens
        for parts in [t.split(".")]
        for i in range(len(parts) - 1)
    )
    for k in list(edits):
        edits[k] = {
            e: u
            for e, u in edits[k].items()
            if e[0] != "ins" or holds[".".join(u.split(".")[: e[1] + 1])] <= 1
        }
    found: list[tuple[Entry, Edit]] = []
    for entry in vocab.entries.values():
        if not entry.key <= edits.keys():
            continue
        common = set.intersection(*(set(edits[k]) for k in entry.key))
        for edit in sorted(common):
            if len({edits[k][edit] for k in entry.key}) == len(entry.key):
                found.append((entry, edit))
    support = {id(e): sum(target.weight.get(v.bridge, 0.0) for v in e.votes) for e, _ in found}
    found.sort(key=lambda fe: (-len(fe[0].key), -support[id(fe[0])], sorted(fe[0].key), fe[1]))
    out: list[SynthesizedMapping] = []
    for entry, edit in found:
        key = frozenset(edits[k][edit] for k in entry.key)
        if key & claimed:
            continue
        votes = [
            Vote(
                v.bridge,
                v.family,
                frozenset(
                    Output(o.mapping_class, o.megatron, tuple((r, _apply_edit(t, edit)) for r, t in o.roles))
                    for o in v.outputs
                ),
            )
            for v in entry.votes
        ]
        moved = Entry(key, votes)
        voted = _vote(moved, target.weight, allowed=lambda outs, key=key: _allowed(target, key, outs))
        params = {megatron_param(o.megatron, base) for o in voted[0]}
        if (
            not _allowed(target, key, voted[0])
            or params & taken
            or any(not _matching(hf_pattern(t, target.hf_prefix), target.by_token.get(t, [])) for t in key)
        ):
            continue
        claimed |= key
        taken |= params
        reading = ", ".join(f"{k[2:]} as {edits[k][edit][2:]}" for k in sorted(entry.key))
        for m in _emit(vocab, target, moved, base, voted):
            m.evidence.confidence *= ANALOGY_FACTOR
            m.evidence.level = _level(m.evidence.confidence, len(m.evidence.bridges))
            m.evidence.note = "; ".join(filter(None, [f"by analogy: {reading}", m.evidence.note]))
            out.append(m)
    return out


def _tokens_of(target: _Target, m: SynthesizedMapping) -> set[str]:
    """The target's tokens whose names `m` matches."""
    out = set()
    for pattern in m.hf_params.values():
        regex = compile_pattern(pattern)
        out |= {t for t, names in target.by_token.items() if any(regex.match(n) for n in names)}
    return out


_ROLE_WORDS = {"pre_attn": "the pre-attention norm", "pre_mlp": "the pre-MLP norm",
               "post_attn": "the post-attention norm", "post_mlp": "the post-MLP norm",
               "qkv_fused": "a fused q/k/v projection", "mlp_in": "a non-gated MLP's in-projection",
               "mlp_out": "the MLP's out-projection", "mlp_in_gated": "a dense MLP's fused gate/up projection"}  # fmt: skip


def _by_role(
    vocab: Vocabulary,
    target: _Target,
    base: str,
    claimed: frozenset[str],
    taken: set[str],
    hosts: set[str],
    done: list[SynthesizedMapping],
) -> tuple[list[SynthesizedMapping], dict[str, str]]:
    """Mappings for layer tensors no entry or analogy took, taught by every mapping of the same role.

    GLM4's ``post_self_attn_layernorm`` is a post-attention norm (its decoder layer says so): it maps where
    the catalog's post-attention norms map. A fused ``qkv_proj`` takes the class the catalog's bridges use
    for one fused q/k/v tensor, when the modeling file slices it ``[q; k; v]`` as that class does. A role
    with no teacher (a dense MLP's fused ``gate_up_proj``: the catalog's fused gate/up class is for experts
    only) is returned in `needs`, token -> what it would take. A bias no bridge of the catalog teaches
    (the LM bridges' dense MLPs have none) maps beside its linear's weight, with the weight's class.
    """
    out: list[SynthesizedMapping] = []
    needs: dict[str, str] = {}
    source = f"modeling_{target.model_type}.py" if target.model_type else "its name"
    # weights first: a bias no teacher knows follows its weight's mapping
    for token in sorted(target.tokens - claimed, key=lambda t: (t.endswith(".bias"), t)):
        role = target.roles.get(token)
        if role is None or _MTP.search(token) or is_tower_name(token[2:]):
            continue
        suffix, last = token[2:], token.rsplit(".", 1)[-1]
        if role == "mlp_in_gated":
            needs[token] = (
                f"{suffix} is {_ROLE_WORDS[role]} ([gate; up] in one tensor); the catalog's classes take it only "
                "for experts (FusedGatedExpertMapping) or as separate gate/up tensors (GatedMLPMapping): it needs "
                "a local mapping class, a GatedMLPMapping that splits the fused tensor in two (torch.chunk(w, 2, "
                "dim=0)) before the tensor-parallel split, onto mlp.linear_fc1.weight"
            )
            continue
        if role == "qkv_fused":
            from analyzers.modeling_source import modeling_facts

            facts = modeling_facts(target.model_type) if target.model_type else None
            layout = facts.fused_qkv_layout if facts else None
            if layout != "concatenated":
                needs[token] = (
                    f"{suffix} is {_ROLE_WORDS[role]} laid out "
                    + (f"{layout} in {source}" if layout else f"in a way {source} does not show")
                    + "; ConcatenatedQKVMapping takes [q; k; v] only: it needs a local mapping class that "
                    "reorders the tensor into Megatron's per-group [q.., k, v] layout"
                )
                continue
        scores: Counter[tuple[str, str, str]] = Counter()
        bridges: dict[tuple[str, str, str], list[str]] = {}
        voters: list[str] = []
        for entry in vocab.entries.values():
            if (
                len(entry.key) != 1
                or next(iter(entry.key))[:2] != "L:"
                or not next(iter(entry.key)).endswith("." + last)
            ):
                continue
            for vote in entry.votes:
                for o in vote.outputs:
                    if (
                        len(vote.outputs) != 1
                        or o.megatron[:2] != "L:"
                        or megatron_role(o.megatron[2:]) != role
                        or len(o.roles) != 1
                        or o.mapping_class not in vocab.shared_classes
                        or (role == "qkv_fused") == (o.mapping_class == "AutoMapping")
                        or not _hosts_ok(frozenset({o}), hosts, base)
                        or megatron_param(o.megatron, base) in taken
                    ):
                        continue
                    k = (o.mapping_class, o.megatron, o.roles[0][0])
                    scores[k] += target.weight.get(vote.bridge, 0.0)
                    bridges.setdefault(k, []).append(vote.bridge)
                    voters.append(vote.bridge)
        voters_of_role = bool(scores)
        weight = _weight_mapping(target, token, [*done, *out]) if last == "bias" else None
        if not scores and weight is not None:
            megatron = megatron_token(weight.megatron_param[: -len("weight")] + "bias", base)
            scores[(weight.mapping_class, megatron, next(iter(weight.hf_params)))] = 1.0
            bridges[(weight.mapping_class, megatron, next(iter(weight.hf_params)))] = weight.evidence.bridges
            voters = list(weight.evidence.voters)
        if not scores:
            needs[token] = (
                f"{suffix} is {_ROLE_WORDS[role]} (from {source}), and no catalog mapping of that role fits"
            )
            continue
        (cls, megatron, hf_role), score = max(scores.items(), key=lambda kv: (kv[1], kv[0]))
        share = score / (sum(scores.values()) or 1.0)
        pattern = hf_pattern(token, target.hf_prefix)
        names = _matching(pattern, target.by_token[token])
        teachers = sorted(set(bridges[(cls, megatron, hf_role)]))
        confidence = share * ANALOGY_FACTOR
        taken.add(megatron_param(megatron, base))
        out.append(
            SynthesizedMapping(
                mapping_class=cls,
                megatron_param=megatron_param(megatron, base),
                hf_params={hf_role: pattern},
                evidence=Evidence(
                    hf_names=names[:4],
                    hf_count=len(names),
                    bridges=teachers,
                    voters=sorted(set(voters)),
                    confidence=confidence,
                    level=_level(confidence, len(teachers)),
                    note=(
                        f"by role: {suffix} is {_ROLE_WORDS[role]} ({source}), "
                        + (
                            "mapped beside its weight"
                            if weight is not None and not voters_of_role
                            else "mapped as the catalog maps that role"
                        )
                    ),
                ),
                entry_id=-1,
            )
        )
    return out, needs


def _weight_mapping(
    target: _Target, bias_token: str, mappings: list[SynthesizedMapping]
) -> SynthesizedMapping | None:
    """The one-tensor mapping of the weight beside `bias_token`, when it maps ``X.weight`` (not a fused norm)."""
    weight = bias_token[: -len("bias")] + "weight"
    for m in mappings:
        if (
            len(m.hf_params) == 1
            and m.megatron_param.endswith(".weight")
            and not _FUSED_NORM.search(m.megatron_param)
            and _tokens_of(target, m) == {weight}
        ):
            return m
    return None


def _covered(mappings: list[SynthesizedMapping], names: list[str]) -> set[str]:
    covered: set[str] = set()
    for m in mappings:
        for pattern in m.hf_params.values():
            covered.update(_matching(pattern, names))
    return covered


def _globs(
    vocab: Vocabulary, target: _Target, base: str, done: list[SynthesizedMapping]
) -> list[SynthesizedMapping]:
    """``**`` mappings (a whole tower replicated) for names no specific mapping took."""
    covered = _covered(done, target.names)
    left = [n for n in target.names if n not in covered]
    out: list[SynthesizedMapping] = []
    globs = [e for e in vocab.entries.values() if len(e.key) == 1 and next(iter(e.key)).startswith("G:")]
    globs.sort(key=lambda e: (-sum(target.weight.get(b, 0.0) for b in e.bridges), sorted(e.key)))
    for entry in globs:
        pattern = next(iter(entry.key))[2:]
        if not _matching(pattern, left):
            continue
        made = _emit(vocab, _GlobView(target, pattern, left), entry, base)
        out.extend(made)
        now = _covered(made, left)
        left = [n for n in left if n not in now]
    return out


class _GlobView:
    """A target whose only token is one glob (so `_emit` finds its names)."""

    def __init__(self, target: _Target, pattern: str, names: list[str]) -> None:
        self.hf_prefix = target.hf_prefix
        self.weight = target.weight
        self.by_token = {"G:" + pattern: _matching(pattern, names)}


def _unmapped(
    vocab: Vocabulary,
    target: _Target,
    mappings: list[SynthesizedMapping],
    needs: dict[str, str] | None = None,
) -> list[Unmapped]:
    covered = _covered(mappings, target.names)
    known = sorted({t for e in vocab.entries.values() for t in e.key})
    groups: dict[str, list[str]] = {}
    for token, names in target.by_token.items():
        left = [n for n in names if n not in covered]
        if left:
            groups[token] = left
    out = []
    for token, names in sorted(groups.items()):
        shape = hf_pattern(token, target.hf_prefix)
        if is_tower_name(shape):
            block = "vision/audio tower"
        elif _MTP.search(shape):
            block = "mtp"
        else:
            block = "unknown"
        close = difflib.get_close_matches(token, known, n=1, cutoff=0.8)
        hint = f"closest known shape: {close[0][2:]}" if close else None
        out.append(Unmapped(shape=shape, names=names, block=block, hint=hint, needs=(needs or {}).get(token)))
    return out


def _todos(
    mappings: list[SynthesizedMapping], unmapped: list[Unmapped], mtp_fields: dict[str, Any]
) -> list[Todo]:
    todos = []
    for m in mappings:
        if m.custom_class:
            todos.append(Todo("custom mapping class", f"{m.megatron_param}: {m.evidence.note}"))
    for u in unmapped:
        if u.needs:
            todos.append(Todo("needs a local mapping class", u.needs))
    blocks = Counter(u.block for u in unmapped)
    for block, count in sorted(blocks.items()):
        shapes = [u.shape for u in unmapped if u.block == block]
        todos.append(
            Todo(
                block,
                f"{count} HF shape(s) not mapped: {', '.join(shapes[:6])}{' ...' if len(shapes) > 6 else ''}",
            )
        )
    if mtp_fields and not any(_MTP.search(p) for m in mappings for p in [m.megatron_param]):
        fields = ", ".join(f"{k}={v}" for k, v in mtp_fields.items())
        todos.append(
            Todo(
                "mtp",
                f"config has MTP layers ({fields}) but the checkpoint names carry none: MTP mappings not derived",
            )
        )
    return todos


# ------------------------------------------------------------------------------------------ scoring


def score_pairs(predicted: set, truth: set) -> tuple[float, float, float]:
    """Precision, recall, F1 of two sets of (megatron_param, frozenset(hf_params)) pairs."""
    if not predicted and not truth:
        return 1.0, 1.0, 1.0
    tp = len(predicted & truth)
    p = tp / len(predicted) if predicted else 0.0
    r = tp / len(truth) if truth else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


# ------------------------------------------------------------------------------------------ rendering


def render_json(result: Synthesis) -> dict[str, Any]:
    """The `--format json` payload: the counts, then `mappings[]`, one object per mapping, then one per
    unmapped shape (``mapping_class`` None), and `todos[]`."""
    rows = [m.to_json() for m in result.mappings]
    for u in result.unmapped:
        rows.append(
            {
                "megatron_param": None,
                "hf_params": [u.shape],
                "mapping_class": None,
                "unmapped": True,
                "block": u.block,
                "hf_names": u.names[:4],
                "hf_count": len(u.names),
                "hint": u.hint,
                "needs": u.needs,
            }
        )
    return {
        "source": result.source,
        "names_total": result.names_total,
        "mapped_names": result.mapped_names,
        "excluded": result.excluded,
        "mappings": rows,
        "todos": [{"block": t.block, "message": t.message} for t in result.todos],
    }


def render_text(result: Synthesis) -> str:
    lines = [
        f"names: {result.names_total} HF checkpoint names ({result.source or 'given'}); "
        f"{result.mapped_names} mapped, {result.names_total - result.mapped_names} unmapped",
        f"decoder prefix: HF {result.hf_prefix!r} -> Megatron {result.megatron_base + 'decoder.layers.*.'!r}; "
        f"context: moe={result.context.moe} dense={result.context.dense} multimodal={result.context.multimodal}",
        "nearest teachers: " + ", ".join(f"{b} {s:.2f}" for b, s in result.nearest),
    ]
    if result.tied:
        lines.append("tied, not in the checkpoint (not mapped): " + ", ".join(result.tied))
    if result.excluded:
        lines.append("excluded from training: " + ", ".join(result.excluded))
    lines.append("")
    for m in result.mappings:
        hf = ", ".join(f"{r}={p}" for r, p in m.hf_params.items())
        ev = m.evidence
        lines.append(f"{m.mapping_class}  {m.megatron_param}  <-  {hf}")
        lines.append(
            f"    {ev.level} {ev.confidence:.2f}; {ev.hf_count} names; taught by {len(ev.bridges)}/{len(ev.voters)}: "
            + ", ".join(ev.bridges[:4])
            + (" ..." if len(ev.bridges) > 4 else "")
            + (f"; {ev.note}" if ev.note else "")
        )
    if result.unmapped:
        lines += ["", "unmapped HF names:"]
        for u in result.unmapped:
            lines.append(
                f"  {u.shape}  ({len(u.names)} names, {u.block})" + (f"; {u.hint}" if u.hint else "")
            )
            if u.needs:
                lines.append(f"    needs: {u.needs}")
    if result.todos:
        lines += ["", "TODO:"]
        lines += [f"  [{t.block}] {t.message}" for t in result.todos]
    return "\n".join(lines)


def render_python(result: Synthesis) -> str:
    """A `mapping_registry()` body; what cannot be derived is a ``TODO(bridgesmith)`` comment."""
    classes = sorted({m.mapping_class for m in result.mappings})
    lines = [
        "def mapping_registry(self) -> MegatronMappingRegistry:",
        f'    """Synthesized by bridgesmith from {result.names_total} HF checkpoint names."""',
        f"    # uses: {', '.join(classes)}",
        "    mapping_list = [",
    ]
    for m in result.mappings:
        ev = m.evidence
        if m.custom_class:
            lines.append(f"        # TODO(bridgesmith): {ev.note}")
        if ev.level == "low":
            lines.append(
                f"        # TODO(bridgesmith): low confidence ({ev.confidence:.2f}); check against {', '.join(ev.voters[:3])}"
            )
        args = [f'megatron_param="{m.megatron_param}"'] + [f'{r}="{p}"' for r, p in m.hf_params.items()]
        if list(m.hf_params) == ["arg1"]:
            args[1] = f'hf_param="{m.hf_params["arg1"]}"'
        lines.append(
            f"        {m.mapping_class}({', '.join(args)}),  # {ev.level}: {', '.join(ev.bridges[:3])}"
        )
    lines.append("    ]")
    for u in result.unmapped:
        lines.append(f"    # TODO(bridgesmith): unmapped HF {u.shape} ({len(u.names)} names, {u.block})")
    for t in result.todos:
        if t.block in ("mtp",) and "config has" in t.message:
            lines.append(f"    # TODO(bridgesmith): {t.message}")
    lines.append("    return MegatronMappingRegistry(*mapping_list)")
    return "\n".join(lines) + "\n"
