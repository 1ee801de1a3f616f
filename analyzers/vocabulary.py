"""The HF -> Megatron mapping vocabulary, learned from the mapping registries of the catalog's bridges.

Every registry pattern is cut into a *token* that no longer depends on the model's prefixes:

- ``L:<suffix>``  a decoder-layer parameter, after the layer index (``L:self_attn.q_proj.weight``);
- ``B:<rest>``    a whole-model parameter under the model's base (``B:norm.weight`` for ``model.norm.weight``);
- ``A:<name>``    anything else, absolute (``A:lm_head.weight``, ``A:visual.blocks.*.attn.qkv.weight``);
- ``G:<glob>``    an HF pattern with ``**`` (``G:visual.**``), which claims a whole subtree.

A vocabulary entry is keyed by the set of HF tokens one mapping reads (``{q, k, v}`` for QKV), and holds
one vote per teaching bridge: the set of mappings (class, Megatron token, roles) that bridge writes for
those HF names. Keeping the whole set per bridge is what lets whole-model conventions be learned: MoE
experts feed two Megatron targets (grouped and sequential experts); ``post_attention_layernorm`` feeds
``mlp.linear_fc1.layer_norm_weight`` in dense models, ``pre_mlp_layernorm.weight`` in MoE models and both
in mixed ones. The Megatron base (``decoder.`` vs ``language_model.decoder.``) is a per-bridge vote too.

>>> from analyzers.catalog import build_catalog
>>> vocab = learn_vocabulary(build_catalog(root), exclude=["Qwen3Bridge"])
>>> [v.bridge for v in vocab.entries[frozenset({"L:self_attn.q_proj.weight", "L:self_attn.k_proj.weight", "L:self_attn.v_proj.weight"})].votes][:3]
['Ernie45Bridge', 'Ernie45VLBridge', 'Exaone4Bridge']
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from analyzers.catalog.records import BridgeRecord, Catalog, MappingRecord
from analyzers.coverage import pattern_regex, registry_mappings
from analyzers.errors import ResolveError

#: Megatron prefix of the language model's layers, after the whole-model base.
DECODER = "decoder.layers.*."
#: first components of Megatron names that belong to the language model (and so move under its base)
LM_COMPONENTS = frozenset({"embedding", "decoder", "output_layer", "mtp", "rotary_pos_emb"})
#: words in HF names that mark a vision / audio tower or a multimodal projector
TOWER_WORDS = re.compile(
    r"(^|\.|_)(visual|vision|vit|siglip|image|audio|speech|whisper|multi_modal|mm_projector|"
    r"multimodal|patch_embed|merger|sound|thinker\.visual|talker|code2wav)(\.|_|$)"
)
_DIGITS = re.compile(r"(?<=\.)\d+(?=\.|$)|^\d+(?=\.)")
#: dense MLP parameters after the layer index (to tell dense, MoE and mixed models apart)
_DENSE_MLP = re.compile(
    r"^(mlp|feed_forward|ffn|block_sparse_moe)\.(down_proj|gate_proj|up_proj|gate_up_proj|fc1|fc2|w1|w2|w3|"
    r"c_fc|c_proj|dense_h_to_4h|dense_4h_to_h|linear_fc1|linear_fc2)\."
)


def normalize(token: str) -> str:
    """Replace every numeric path segment by ``*`` (``experts.7.up_proj`` -> ``experts.*.up_proj``)."""
    return _DIGITS.sub("*", token)


@lru_cache(maxsize=4096)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Megatron-Bridge's matching (``**`` anything, ``*`` digits only), cached: coverage's `pattern_regex`."""
    return pattern_regex(pattern)


def is_tower_name(name: str) -> bool:
    """True for names of a vision/audio tower or a multimodal projector."""
    return bool(TOWER_WORDS.search(name))


@dataclass(frozen=True)
class Output:
    """One mapping a bridge writes for an entry's HF names, in prefix-free tokens."""

    mapping_class: str
    megatron: str  #: Megatron token: ``L:``, ``B:`` or ``A:`` (see the module docstring)
    roles: tuple[tuple[str, str], ...]  #: (role, HF token as written, digits kept)

    def describe(self) -> str:
        args = ", ".join(f"{r}={t}" for r, t in self.roles)
        return f"{self.mapping_class}({self.megatron} <- {args})"


@dataclass(frozen=True)
class Context:
    """What kind of model a bridge (or the target) is: decides conventions that depend on the whole model."""

    moe: bool  #: has routed experts
    dense: bool  #: has dense MLP layers
    multimodal: bool  #: has vision/audio towers


@dataclass
class Vote:
    bridge: str
    family: str
    outputs: frozenset[Output]


@dataclass
class Entry:
    """All that the training set says about one group of HF tokens."""

    key: frozenset[str]  #: normalized HF tokens
    votes: list[Vote] = field(default_factory=list)

    @property
    def bridges(self) -> list[str]:
        return [v.bridge for v in self.votes]


@dataclass
class BridgeProfile:
    """The whole-model facts of one teaching bridge."""

    name: str
    family: str
    hf_prefix: str | None  #: HF text before the decoder layer index (``model.layers.``)
    megatron_base: str  #: ``""`` or ``language_model.``
    tokens: frozenset[str]  #: normalized HF tokens of its registry
    context: Context
    custom_classes: frozenset[str]  #: mapping classes defined in the bridge's family


@dataclass
class Vocabulary:
    entries: dict[frozenset[str], Entry]
    profiles: dict[str, BridgeProfile]
    #: mapping classes of the shared conversion module (anything else is a custom class)
    shared_classes: frozenset[str]
    #: HF decoder prefixes seen, with how many bridges use each
    hf_prefixes: Counter[str]
    excluded: list[str] = field(default_factory=list)

    def entries_with(self, token: str) -> list[Entry]:
        return [e for e in self.entries.values() if token in e.key]


# ------------------------------------------------------------------------------------------ tokenizing


def hf_base(hf_prefix: str | None) -> str | None:
    """``model.layers.`` -> ``model.``; ``transformer.h.`` -> ``transformer.``; ``layers.`` -> ``""``."""
    if hf_prefix is None:
        return None
    stripped = hf_prefix.rstrip(".")
    return stripped.rsplit(".", 1)[0] + "." if "." in stripped else ""


def hf_token(pattern: str, hf_prefix: str | None) -> str:
    """The prefix-free token of an HF pattern or checkpoint name (digits kept)."""
    if "**" in pattern:
        return "G:" + pattern
    if hf_prefix is not None and pattern.startswith(hf_prefix):
        rest = pattern[len(hf_prefix) :]
        head, _, tail = rest.partition(".")
        if tail and (head == "*" or head.isdigit()):
            return "L:" + tail
    base = hf_base(hf_prefix)
    if base is not None and pattern.startswith(base) and not is_tower_name(pattern[len(base) :]):
        return "B:" + pattern[len(base) :]
    return "A:" + pattern


def hf_pattern(token: str, hf_prefix: str | None) -> str:
    """Inverse of `hf_token` for a target with decoder prefix `hf_prefix` (layer index as ``*``)."""
    kind, rest = token[:2], token[2:]
    if kind == "L:":
        return f"{hf_prefix or ''}*.{rest}"
    if kind == "B:":
        return (hf_base(hf_prefix) or "") + rest
    return rest


def megatron_token(param: str, base: str) -> str:
    if param.startswith(base + DECODER):
        return "L:" + param[len(base + DECODER) :]
    if param.startswith(base) and param[len(base) :].split(".", 1)[0] in LM_COMPONENTS:
        return "B:" + param[len(base) :]
    return "A:" + param


def megatron_param(token: str, base: str) -> str:
    kind, rest = token[:2], token[2:]
    if kind == "L:":
        return base + DECODER + rest
    if kind == "B:":
        return base + rest
    return rest


def context_of(tokens: Iterable[str], multimodal: bool | None = None) -> Context:
    """Context from normalized HF tokens (and, for a target, what the config says about towers)."""
    tokens = list(tokens)
    layer = [t[2:] for t in tokens if t.startswith("L:")]
    moe = any(re.search(r"(^|\.)experts\.", t) for t in layer)
    dense = any(_DENSE_MLP.search(t) for t in layer)
    if multimodal is None:
        multimodal = any(is_tower_name(t[2:]) for t in tokens if t[:2] in ("A:", "G:"))
    return Context(moe=moe, dense=dense, multimodal=multimodal)


# ------------------------------------------------------------------------------------------- learning


def _decoder_prefixes(mappings: list[MappingRecord]) -> tuple[str | None, str]:
    """(HF decoder prefix, Megatron base) voted over a registry's decoder-layer mappings."""
    hf_votes: Counter[str] = Counter()
    base_votes: Counter[str] = Counter()
    for m in mappings:
        if not m.megatron_param:
            continue
        found = re.match(r"^(.*?)decoder\.layers\.\*\.", m.megatron_param)
        if not found or "mtp" in found.group(1) or is_tower_name(found.group(1)):
            continue  # MTP layers and vision towers have decoders of their own
        base_votes[found.group(1)] += 1
        for pattern in m.hf_list:
            head = re.match(r"^([^*]*?)\*\.", pattern)
            if head and "**" not in pattern and not is_tower_name(head.group(1)):
                hf_votes[head.group(1)] += 1
    hf_prefix = hf_votes.most_common(1)[0][0] if hf_votes else None
    base = base_votes.most_common(1)[0][0] if base_votes else ""
    return hf_prefix, base


def bridge_mappings(catalog: Catalog, bridge: BridgeRecord) -> list[MappingRecord]:
    """The bridge's registry, with the parent's when it calls ``super().mapping_registry()``."""
    return [m for _, m in registry_mappings(catalog, bridge)]


def profile_bridge(
    bridge: BridgeRecord, mappings: list[MappingRecord], shared_classes: frozenset[str]
) -> BridgeProfile:
    hf_prefix, base = _decoder_prefixes(mappings)
    tokens = frozenset(normalize(hf_token(p, hf_prefix)) for m in mappings for p in m.hf_list)
    custom = frozenset(m.mapping_class for m in mappings if m.mapping_class not in shared_classes)
    return BridgeProfile(
        name=bridge.name,
        family=bridge.family,
        hf_prefix=hf_prefix,
        megatron_base=base,
        tokens=tokens,
        context=context_of(tokens),
        custom_classes=custom,
    )


def shared_mapping_classes(catalog: Catalog) -> frozenset[str]:
    """Mapping classes of the shared conversion module (``family is None``)."""
    return frozenset(m.name for m in catalog.mapping_classes if m.family is None)


def resolve_excludes(catalog: Catalog, exclude: Iterable[str]) -> set[str]:
    """Bridge names left out for `exclude` items naming bridges or families; ResolveError for unknown ones."""
    out: set[str] = set()
    for item in exclude:
        by_name = [b.name for b in catalog.bridges if b.name.lower() == item.lower()]
        by_family = [b.name for b in catalog.bridges if b.family.lower() == item.lower()]
        if not by_name and not by_family:
            raise ResolveError(f"--exclude {item!r} names no bridge or family of the catalog")
        out.update(by_name or by_family)
    return out


def learn_vocabulary(catalog: Catalog, exclude: Iterable[str] = ()) -> Vocabulary:
    """Learn the vocabulary from every non-diffusion bridge of `catalog` but those `exclude` names."""
    skipped = resolve_excludes(catalog, exclude)
    shared = shared_mapping_classes(catalog)
    entries: dict[frozenset[str], Entry] = {}
    profiles: dict[str, BridgeProfile] = {}
    prefixes: Counter[str] = Counter()
    for bridge in catalog.bridges:
        mappings = bridge_mappings(catalog, bridge)
        if bridge.diffusion or bridge.name in skipped or not mappings:
            continue
        profile = profile_bridge(bridge, mappings, shared)
        profiles[bridge.name] = profile
        if profile.hf_prefix:
            prefixes[profile.hf_prefix] += 1
        grouped: dict[frozenset[str], set[Output]] = {}
        for m in mappings:
            if not m.megatron_param or not m.hf_params:
                continue
            roles = tuple((role, hf_token(p, profile.hf_prefix)) for role, p in m.hf_params.items())
            key = frozenset(normalize(t) for _, t in roles)
            out = Output(m.mapping_class, megatron_token(m.megatron_param, profile.megatron_base), roles)
            grouped.setdefault(key, set()).add(out)
        for key, outs in grouped.items():
            entry = entries.setdefault(key, Entry(key))
            entry.votes.append(Vote(bridge.name, bridge.family, frozenset(outs)))
    return Vocabulary(entries, profiles, shared, prefixes, excluded=sorted(skipped))
