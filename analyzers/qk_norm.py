"""The q/k norm kind: of a bridge (what its layer spec builds) and of a new config (what its checkpoint holds).

Megatron-Core's ``qk_layernorm`` normalises each head over ``head_dim``. Some HF models (OLMo-2, OLMoE,
MiniMax-M2) normalise the whole q and k projections, over ``num_heads * head_dim`` and
``num_key_value_heads * head_dim``; a bridge for them swaps in a local attention module or norm factory.
Which kind a bridge computes is read from its Megatron-Bridge source (never imported): the functions and
classes its ``transformer_layer_spec`` setting reaches, followed through the tree's modules, where a
``q_layernorm`` / ``k_layernorm`` is built over a head count. The K norm's size says whether the bridge holds
GQA (``num_query_groups``) or assumes MHA (``num_attention_heads``: with fewer K heads the shapes differ).

>>> bridge_qk_norm(catalog, catalog.bridge("OlMoEBridge")).k_heads
'num_attention_heads'
>>> spec = load_spec(from_transformers="olmoe")
>>> config_qk_norm(spec, collect_hf_names(spec).names, collect_hf_names(spec).shapes).kind
'whole_projection'
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analyzers.catalog.modules import ModuleInfo, build_module_info, indexed_module, module_path
from analyzers.catalog.records import BridgeRecord, Catalog
from analyzers.errors import ParseError
from analyzers.hf_config import ModelSpec
from analyzers.source_index import SourceIndex

__all__ = ["PER_HEAD", "WHOLE", "QKNorm", "bridge_qk_norm", "config_qk_norm", "qk_norm_fit"]

PER_HEAD = "per_head"
WHOLE = "whole_projection"
#: the attribute a K norm sized for GQA multiplies head_dim by, and the one an MHA-assuming build uses
GQA_HEADS, MHA_HEADS = "num_query_groups", "num_attention_heads"

_QK_NAME = re.compile(r"\.(q_norm|k_norm|q_layernorm|k_layernorm|query_layernorm|key_layernorm)\.weight$")
_Q_NAME = re.compile(r"\.(q_norm|q_layernorm|query_layernorm)\.weight$")
_K_NAME = re.compile(r"\.(k_norm|k_layernorm|key_layernorm)\.weight$")
_TOWER = re.compile(
    r"(^|\.)(visual|vision_tower|vision_model|vision_encoder|vit|audio_tower|audio_model)(\.|$)"
)
_NORM_ATTRS = {"q_layernorm": "q", "k_layernorm": "k"}
#: how deep the references of a layer-spec function are followed (spec -> attention class -> norm factory)
_DEPTH = 4


@dataclass(frozen=True)
class QKNorm:
    """How q and k are normalised."""

    kind: str  #: PER_HEAD | WHOLE
    #: whole projection: the head count the K norm is sized by (GQA_HEADS, or MHA_HEADS when the build
    #: assumes MHA); a config's: GQA_HEADS when it has fewer K/V heads than query heads, else MHA_HEADS
    k_heads: str | None
    evidence: str  #: where it shows (a source line, a checkpoint shape, a modeling file)
    #: a bridge's K norm build: (tree-relative path, enclosing class or function) of the ``k_layernorm``
    #: whose size multiplies ``num_attention_heads`` (what a clone edits to hold GQA); None otherwise
    k_site: tuple[str, str] | None = None

    @property
    def whole(self) -> bool:
        return self.kind == WHOLE

    def describe(self) -> str:
        if not self.whole:
            return "per head (over head_dim)"
        sized = {GQA_HEADS: "K sized by num_query_groups", MHA_HEADS: "K sized by num_attention_heads"}
        return f"over the whole projection ({sized.get(self.k_heads or '', 'K size unknown')})"


# ------------------------------------------------------------------------------------------- a config


def config_qk_norm(
    spec: ModelSpec,
    names: list[str] | None = None,
    shapes: dict[str, tuple[int, ...] | None] | None = None,
) -> QKNorm | None:
    """The config's q/k norm kind: from the checkpoint's q norm shape (wider than head_dim: whole
    projection), else from transformers' modeling file; None when the model has no q/k norm (or, without
    names, none its modeling file shows)."""
    from analyzers.modeling_source import modeling_facts

    fields = spec.text_fields()
    heads, kv = fields.get("num_attention_heads"), fields.get("num_key_value_heads")
    k_heads = GQA_HEADS if isinstance(heads, int) and isinstance(kv, int) and kv < heads else MHA_HEADS
    dim = fields.get("head_dim")
    hidden = fields.get("hidden_size")
    if not dim and isinstance(heads, int) and heads and isinstance(hidden, int):
        dim = hidden // heads
    text = [n for n in names or [] if not _TOWER.search(n)]
    for name, shape in (shapes or {}).items():
        if _Q_NAME.search(name) and not _TOWER.search(name) and shape and dim:
            if shape[0] > dim:
                return QKNorm(WHOLE, k_heads, f"names: {name} has shape {tuple(shape)} (head_dim {dim})")
            return QKNorm(PER_HEAD, None, f"names: {name} has shape {tuple(shape)} (head_dim {dim})")
    facts = modeling_facts(spec.model_type) if spec.model_type else None
    has_names = any(_QK_NAME.search(n) for n in text)
    if names and not has_names:
        return None
    if facts is not None and facts.qk_norm_whole_projection:
        return QKNorm(
            WHOLE, k_heads, f"modeling_{spec.model_type}.py: q_norm built over num_attention_heads * head_dim"
        )
    if has_names:
        return QKNorm(PER_HEAD, None, "names: q/k norm weights")
    return None


# ------------------------------------------------------------------------------------------- a bridge


def bridge_qk_norm(catalog: Catalog, bridge: BridgeRecord, index: SourceIndex | None = None) -> QKNorm | None:
    """The q/k norm the bridge's Megatron model computes; None when it maps and sets no q/k norm.

    `index`: the run's sources (clone-family's), through which the modules the layer spec reaches are read;
    without one they are read from disk, memoised in this process by their stamps."""
    mappings = _mappings(catalog, bridge)
    hf = [p for m in mappings for p in m.hf_params.values() if not _TOWER.search(p)]
    # MLA's q/kv layernorms normalise the latent projections: another block (nearest's "mla")
    mla = any(re.search(r"linear_(q|kv)_down_proj", m.megatron_param or "") for m in mappings)
    flag = bridge.provider_attributes.get("qk_layernorm", "")
    if mla or (not any(_QK_NAME.search(p) for p in hf) and flag not in ("True", "true")):
        return None
    modules = _Modules(str(catalog.root), index)
    return _spec_qk_norm(modules, tuple(_spec_starts(catalog, bridge))) or QKNorm(
        PER_HEAD,
        None,
        f"{bridge.name}: Megatron-Core's qk_layernorm (its layer spec builds no other q/k norm)",
    )


def _mappings(catalog: Catalog, bridge: BridgeRecord) -> list[Any]:
    from analyzers.coverage import registry_mappings

    return [m for _, m in registry_mappings(catalog, bridge)]


def _spec_starts(catalog: Catalog, bridge: BridgeRecord) -> list[tuple[str, str]]:
    """(module path, top-level name) of every function its `transformer_layer_spec` settings name."""
    from analyzers.provider_vocabulary import settings_of

    out = []
    for s in settings_of(catalog, bridge):
        if s.attr != "transformer_layer_spec" or s.location is None:
            continue
        for name in re.findall(r"[A-Za-z_]\w*", s.value):
            out.append((s.location.path, name))
    return out


def _spec_qk_norm(modules: _Modules, starts: tuple[tuple[str, str], ...]) -> QKNorm | None:
    seen: set[tuple[str, str]] = set()
    found: dict[str, tuple[str, str, tuple[str, str]]] = {}  # "q"/"k" -> (size text, evidence, site)
    todo = [(path, name, 0) for path, name in starts]
    while todo:
        path, name, depth = todo.pop(0)
        resolved = _resolve(modules, path, name)
        if resolved is None or (resolved[0].path, name) in seen:
            continue
        info, node = resolved
        seen.add((info.path, node.name))
        for which, size, line in _norm_builds(modules, info, node):
            found.setdefault(which, (size, f"{info.path}:{line}", (info.path, node.name)))
        if depth < _DEPTH:
            refs = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} - {node.name}
            todo.extend((info.path, ref, depth + 1) for ref in sorted(refs))
    whole = {w: v for w, v in found.items() if re.search(rf"\b({GQA_HEADS}|{MHA_HEADS})\b", v[0])}
    if not whole:
        return None
    k = whole.get("k")
    k_heads = None
    if k is not None:
        k_heads = GQA_HEADS if re.search(rf"\b{GQA_HEADS}\b", k[0]) else MHA_HEADS
    evidence = "; ".join(f"{w}_layernorm over {v[0].strip()} ({v[1]})" for w, v in sorted(whole.items()))
    site = k[2] if k is not None and k_heads == MHA_HEADS else None
    return QKNorm(WHOLE, k_heads, evidence, site)


def _norm_builds(modules: _Modules, info: ModuleInfo, node: ast.AST) -> list[tuple[str, str, int]]:
    """("q" | "k", the size text, line) of each q/k norm built in `node`: ``self.k_layernorm = f(...,
    hidden_size=SIZE)``, or a norm factory set as ``...k_layernorm = Factory`` / ``k_layernorm=Factory``
    (the factory's whole source is the size text: it computes the size from the config)."""
    out = []
    for sub in ast.walk(node):
        pairs: list[tuple[str, ast.expr]] = []
        if isinstance(sub, ast.Assign):
            pairs = [(t.attr, sub.value) for t in sub.targets if isinstance(t, ast.Attribute)]
        elif isinstance(sub, ast.Call):
            pairs = [(k.arg, k.value) for k in sub.keywords if k.arg]
        for attr, value in pairs:
            if attr not in _NORM_ATTRS:
                continue
            if isinstance(value, ast.Call):
                size = next((k.value for k in value.keywords if k.arg == "hidden_size"), None)
                if size is None and value.args:
                    size = value.args[-1] if len(value.args) > 1 else value.args[0]
                if size is not None:
                    out.append((_NORM_ATTRS[attr], ast.unparse(size), sub.lineno))
            elif isinstance(value, ast.Name):
                factory = _resolve(modules, info.path, value.id)
                if factory is not None and isinstance(factory[1], ast.ClassDef):
                    heads = [
                        h for h in (GQA_HEADS, MHA_HEADS) if re.search(rf"\b{h}\b", ast.unparse(factory[1]))
                    ]
                    out.append(
                        (_NORM_ATTRS[attr], f"{value.id}({', '.join(heads) or 'head_dim'})", sub.lineno)
                    )
    return out


def _resolve(
    modules: _Modules, path: str, name: str
) -> tuple[ModuleInfo, ast.FunctionDef | ast.ClassDef] | None:
    """The top-level function or class `name` means in module `path`, through imports of the tree."""
    for _ in range(4):
        info = modules.get(path)
        if info is None:
            return None
        node = info.functions.get(name) or info.classes.get(name)
        if node is not None:
            return info, node  # type: ignore[return-value]
        if name not in info.imports:
            return None
        module, name = info.imports[name]
        found = module_path(Path(modules.root), module) if module.startswith("megatron.bridge") else None
        if found is None or not name:
            return None
        path = found
    return None


@dataclass(frozen=True)
class _Modules:
    """Where the modules of the tree at `root` are read: the run's index, else disk (memoised by stamp)."""

    root: str
    index: SourceIndex | None = None

    def get(self, path: str) -> ModuleInfo | None:
        if self.index is None:
            return _module(self.root, path)
        try:
            return indexed_module(self.index, path)
        except ParseError:
            return None


def _module(root: str, path: str) -> ModuleInfo | None:
    try:
        stat = (Path(root) / path).stat()
    except OSError:
        return None
    # keyed by the file's stamp: a tree written in this process (a clone applied) is read again
    return _parse(root, path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=512)
def _parse(root: str, path: str, _mtime: int, _size: int) -> ModuleInfo | None:
    try:
        return build_module_info(path, (Path(root) / path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ParseError):
        return None


# ------------------------------------------------------------------------------------------- the fit


def qk_norm_fit(config: QKNorm | None, bridge: QKNorm | None) -> tuple[str, str]:
    """How a bridge's q/k norm serves the config's: ("same" | "carried" | "none" | "differs", reason).

    "carried": a whole-projection bridge that sizes K by num_attention_heads, for a GQA config: the clone
    resizes its K norm (`codemods.clone_family`). "none": the config has no q/k norm (the clone turns the
    bridge's off). "differs": per head against whole projection, or the config's kind without the bridge's.
    """
    if config is None:
        return ("same" if bridge is None else "none"), (
            "" if bridge is None else f"q/k norm {bridge.describe()}; the model has none"
        )
    if bridge is None:
        return "differs", f"no q/k norm; the model's is {config.describe()}"
    if config.kind != bridge.kind:
        return "differs", f"q/k norm {bridge.describe()}; the model's is {config.describe()}"
    if config.whole and config.k_heads == GQA_HEADS and bridge.k_heads == MHA_HEADS:
        return "carried", (
            f"q/k norm {bridge.describe()}; the model has GQA: the clone sizes the K norm by num_query_groups"
        )
    return "same", f"q/k norm {bridge.describe()}, as the model's"
