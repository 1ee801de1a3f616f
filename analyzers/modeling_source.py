"""What a transformers modeling file computes that its config does not say, read as source (never imported).

Four facts decide whether Megatron-Core's GPT layer computes the same function, and none has a config flag:

- interleaved RoPE: `rotate_half` pairs even and odd channels (``x[..., 0::2]``) instead of halves;
- q/k norm after RoPE: the attention's forward applies the rotary embedding before the q/k norm;
- q/k norm over the whole projection: the norm is built over ``num_attention_heads * head_dim`` (or
  ``hidden_size``), not per head;
- parallel residual: the decoder layer adds attention and MLP outputs of the same input to the residual.

>>> modeling_facts("cohere").parallel_residual
True
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass

from analyzers.catalog._syntax import callee_name
from analyzers.transformers_source import modeling_path, read_text


@dataclass(frozen=True)
class ModelingFacts:
    path: str  #: the modeling file read
    interleaved_rope: bool
    qk_norm_after_rope: bool
    qk_norm_whole_projection: bool
    parallel_residual: bool
    #: how the MoE router scores experts ("sigmoid" | "softmax"), None for a dense model
    router_scoring: str | None = None
    #: the norm scales by ``1 + weight`` (Gemma's RMSNorm, Nemotron's LayerNorm1P): Megatron's zero-centred gamma
    zero_centered_norm: bool = False
    #: the test under which the attention applies RoPE, when only some layers do (NoPE layers)
    rope_condition: str | None = None
    #: decoder-layer norm module -> where it sits: "pre_attn" | "pre_mlp" | "post_attn" | "post_mlp"
    norm_roles: tuple[tuple[str, str], ...] = ()
    #: how the attention splits a fused q/k/v projection's output: "concatenated" (``[q; k; v]`` slices or a
    #: split on the last dim) | "per-head" (viewed per head before the split); None without a fused projection
    fused_qkv_layout: str | None = None
    #: the model multiplies the token embeddings by ``sqrt(hidden_size)`` (Gemma's scaled word embedding)
    embedding_scaled: bool = False
    #: how a dense MLP splits its fused gate/up projection's output: "gate-up" (``gate, up = x.chunk(2, dim=-1)``,
    #: Megatron's own [gate; up] order) | "up-gate"; None without one or when the forward shows neither
    fused_gate_up_layout: str | None = None


@functools.lru_cache(maxsize=64)
def modeling_facts(model_type: str) -> ModelingFacts | None:
    """The facts of `transformers/models/<model_type>/modeling_<model_type>.py`; None when there is none."""
    path = modeling_path(model_type)
    text = read_text(path) if path is not None else None
    if text is None:
        return None
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    attention = [c for c in classes if c.name.endswith("Attention")]
    layers = [c for c in classes if c.name.endswith("DecoderLayer")]
    return ModelingFacts(
        path=str(path),
        interleaved_rope="rotate_half" in functions and _step_two_slices(functions["rotate_half"]),
        qk_norm_after_rope=any(_norm_after_rope(c) for c in attention),
        qk_norm_whole_projection=any(_whole_projection_norm(c) for c in attention),
        parallel_residual=any(_parallel_residual(c) for c in layers),
        router_scoring=_router_scoring(classes),
        rope_condition=next((c for a in attention if (c := _rope_condition(a))), None),
        zero_centered_norm=any(
            _one_plus_weight(c) for c in classes if c.name.endswith(("RMSNorm", "LayerNorm1P", "Norm"))
        ),
        norm_roles=next((r for c in layers if (r := _norm_roles(c))), ()),
        fused_qkv_layout=next((lay for c in attention if (lay := _fused_qkv_layout(c))), None),
        embedding_scaled=any(
            scales_by_root_hidden(c) for c in classes if c.name.endswith(("Model", "Embedding"))
        ),
        fused_gate_up_layout=_decoder_gate_up_layout(classes, layers),
    )


def scales_by_root_hidden(node: ast.AST) -> bool:
    """``hidden_size ** 0.5`` in `node` (Gemma2's ``normalizer``, Gemma3's ``embed_scale``; MB's scaled
    embedding modules, whose ``forward`` multiplies by it)."""
    return any(
        isinstance(n, ast.BinOp)
        and isinstance(n.op, ast.Pow)
        and isinstance(n.right, ast.Constant)
        and n.right.value == 0.5
        and "hidden_size" in ast.unparse(n.left)
        for n in ast.walk(node)
    )


def _rope_condition(cls: ast.ClassDef) -> str | None:
    forward = _method(cls, "forward")
    if forward is None:
        return None
    for node in ast.walk(forward):
        if isinstance(node, ast.If):
            calls = [n for stmt in node.body for n in ast.walk(stmt) if isinstance(n, ast.Call)]
            if any(getattr(c.func, "id", "").startswith("apply_rotary_pos_emb") for c in calls):
                return ast.unparse(node.test)
    return None


def _one_plus_weight(cls: ast.ClassDef) -> bool:
    for node in ast.walk(cls):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            sides = [ast.unparse(node.left), ast.unparse(node.right)]
            if any(s in ("1", "1.0") for s in sides) and any("self.weight" in s for s in sides):
                return True
    return False


_ROUTERS = ("Router", "TopkRouter", "Gate", "MoeGate", "SparseMoeBlock", "MoeBlock", "MoE", "Moe")


def _router_scoring(classes: list[ast.ClassDef]) -> str | None:
    """sigmoid or softmax, as the router (else the MoE block) scores the experts, in any of its methods;
    a shared expert's sigmoid gate is not routing."""
    for suffixes in (_ROUTERS[:4], _ROUTERS[4:]):
        found: set[str] = set()
        for cls in classes:
            if not cls.name.endswith(suffixes):
                continue
            for node in ast.walk(cls):
                if isinstance(node, ast.Call) and "shared" not in ast.unparse(node):
                    func = node.func
                    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                    if name in ("sigmoid", "softmax"):
                        found.add(name)
        if found:
            return "sigmoid" if "sigmoid" in found else "softmax"
    return None


def _method(cls: ast.ClassDef, name: str) -> ast.FunctionDef | None:
    return next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == name), None)


def _step_two_slices(fn: ast.FunctionDef) -> bool:
    return any(
        isinstance(n, ast.Slice) and isinstance(n.step, ast.Constant) and n.step.value == 2
        for n in ast.walk(fn)
    )


_QK_NORMS = ("q_norm", "query_layernorm", "q_layernorm", "q_ln")


def _calls(fn: ast.FunctionDef) -> list[tuple[int, str]]:
    """(line, callee's last name) of every call in `fn`, in source order."""
    return sorted(
        (node.lineno, callee_name(node.func)) for node in ast.walk(fn) if isinstance(node, ast.Call)
    )


def _norm_after_rope(cls: ast.ClassDef) -> bool:
    forward = _method(cls, "forward")
    if forward is None:
        return False
    calls = _calls(forward)
    rope = next((line for line, name in calls if name.startswith("apply_rotary_pos_emb")), None)
    norm = next((line for line, name in calls if name in _QK_NORMS), None)
    return rope is not None and norm is not None and rope < norm


def _whole_projection_norm(cls: ast.ClassDef) -> bool:
    init = _method(cls, "__init__")
    if init is None:
        return False
    for node in ast.walk(init):
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Attribute)
            and node.targets[0].attr in _QK_NORMS
            and isinstance(node.value, ast.Call)
            and node.value.args
        ):
            size = ast.unparse(node.value.args[0])
            if "num_attention_heads" in size or size.endswith("hidden_size"):
                return True
    return False


def _parallel_residual(cls: ast.ClassDef) -> bool:
    """``hidden_states = residual + attn_out + mlp_out``: one sum of three or more terms with a residual."""
    forward = _method(cls, "forward")
    if forward is None:
        return False
    for node in ast.walk(forward):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.BinOp):
            terms = _sum_terms(node.value)
            if len(terms) >= 3 and any("residual" in t for t in terms):
                return True
    return False


def _sum_terms(node: ast.expr) -> list[str]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _sum_terms(node.left) + _sum_terms(node.right)
    return [ast.unparse(node)]


_ATTN_MODULE = re.compile(r"(^|_)(self_attn|attn|attention|self_attention|mixer|linear_attn)$")
_MLP_MODULE = re.compile(r"(^|_)(mlp|feed_forward|ffn|block_sparse_moe|moe)$")
_NORM_MODULE = re.compile(r"(norm|layernorm|(^|_)ln(_\w+)?)$")


def _self_calls(fn: ast.FunctionDef) -> list[tuple[tuple[int, int], str]]:
    """``self.<module>(...)`` calls in execution order (an inner call ends before its outer one)."""
    out = []
    for node in ast.walk(fn):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "self"
        ):
            out.append(((node.end_lineno or 0, node.end_col_offset or 0), node.func.attr))
    return sorted(out)


def _residual_adds(fn: ast.FunctionDef) -> list[tuple[int, int]]:
    """Where the forward adds a residual (``h = residual + h``), as (line, col) of the statement's end."""
    out = []
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign | ast.AugAssign) and isinstance(node.value, ast.BinOp):
            if isinstance(node.value.op, ast.Add) and any(
                isinstance(n, ast.Name) and "residual" in n.id for n in ast.walk(node.value)
            ):
                out.append((node.end_lineno or 0, node.end_col_offset or 0))
    return out


def _norm_roles(cls: ast.ClassDef) -> tuple[tuple[str, str], ...]:
    """Each norm of the decoder layer's forward: before the attention / MLP it feeds (no residual add
    between them), else after the block it follows (Gemma2's ``post_attention_layernorm``, GLM4's
    ``post_self_attn_layernorm``)."""
    forward = _method(cls, "forward")
    if forward is None:
        return ()
    calls = _self_calls(forward)
    adds = _residual_adds(forward)
    roles: dict[str, str] = {}
    for i, (at, name) in enumerate(calls):
        if not _NORM_MODULE.search(name) or name in roles:
            continue
        after = next(((p, n) for p, n in calls[i + 1 :] if _block(n)), None)
        before = next(((p, n) for p, n in reversed(calls[:i]) if _block(n)), None)
        if after is not None and not any(at < a <= after[0] for a in adds):
            roles[name] = f"pre_{_block(after[1])}"
        elif before is not None:
            roles[name] = f"post_{_block(before[1])}"
    return tuple(roles.items())


def _block(name: str) -> str | None:
    if _NORM_MODULE.search(name):
        return None
    if _ATTN_MODULE.search(name):
        return "attn"
    if _MLP_MODULE.search(name):
        return "mlp"
    return None


_FUSED_QKV = re.compile(r"^(qkv_proj|qkv|query_key_value|c_attn|Wqkv|wqkv|W_pack)$")


def _fused_qkv_layout(cls: ast.ClassDef) -> str | None:
    """ "concatenated" when the fused projection's output is sliced or split on its last dim as it comes,
    "per-head" when it is viewed / reshaped first (GPT-NeoX's per-head ``[q_h, k_h, v_h]``)."""
    forward = _method(cls, "forward")
    if forward is None:
        return None
    for node in ast.walk(forward):
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        value = node.value
        calls = [
            n
            for n in ast.walk(value)
            if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and isinstance(n.func.value, ast.Name)
            and n.func.value.id == "self"
            and _FUSED_QKV.match(n.func.attr)
        ]
        if not calls:
            continue
        if value is not calls[0]:
            text = ast.unparse(value)
            return "per-head" if re.search(r"\.(view|reshape|unflatten)\(", text) else None
        target = ast.unparse(node.targets[0])
        for use in ast.walk(forward):
            if isinstance(use, ast.Subscript) and ast.unparse(use.value) == target:
                return "concatenated" if isinstance(use.slice, ast.Tuple | ast.Slice) else None
            if isinstance(use, ast.Call) and isinstance(use.func, ast.Attribute):
                owner = ast.unparse(use.func.value)
                if owner == target and use.func.attr in ("view", "reshape", "unflatten"):
                    return "per-head"
                if owner == target and use.func.attr == "split":
                    return "concatenated"
        return None
    return None


_FUSED_GATE_UP = re.compile(r"^(gate_up_proj|gate_up|w13|fc1_gate_up)$")


def _decoder_gate_up_layout(classes: list[ast.ClassDef], layers: list[ast.ClassDef]) -> str | None:
    """The fused gate/up layout of the MLP classes the decoder layers build (Phi4-multimodal's audio MLP
    splits up-first, its language model's gate-first), of every MLP class when no layer names one; None
    when they disagree."""
    by_name = {c.name: c for c in classes if c.name.endswith("MLP")}
    built = {
        n.func.id
        for layer in layers
        for n in ast.walk(layer)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in by_name
    }
    layouts = {lay for name in (built or by_name) if (lay := _fused_gate_up_layout(by_name[name]))}
    return layouts.pop() if len(layouts) == 1 else None


def _fused_gate_up_layout(cls: ast.ClassDef) -> str | None:
    """ "gate-up" when the forward splits the fused projection's output in two halves, gate first
    (``gate, up = h.chunk(2, dim=-1)``), "up-gate" when the gate is the second half; None otherwise (an
    interleaved split, or one the forward does not show)."""
    forward = _method(cls, "forward")
    if forward is None:
        return None
    fused = set()
    for node in ast.walk(forward):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = node.value
            if (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Attribute)
                and isinstance(value.func.value, ast.Name)
                and value.func.value.id == "self"
                and _FUSED_GATE_UP.match(value.func.attr)
            ):
                fused.add(node.targets[0].id)
    for node in ast.walk(forward):
        if not (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Tuple)
            and len(node.targets[0].elts) == 2
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute)
            and node.value.func.attr == "chunk"
            and ast.unparse(node.value.func.value) in fused
        ):
            continue
        args = [ast.unparse(a) for a in node.value.args] + [
            ast.unparse(k.value) for k in node.value.keywords if k.arg == "dim"
        ]
        if args != ["2", "-1"]:
            return None
        first, second = (ast.unparse(e) for e in node.targets[0].elts)
        if "gate" in first and "gate" not in second:
            return "gate-up"
        if "gate" in second and "gate" not in first:
            return "up-gate"
        return None
    return None
