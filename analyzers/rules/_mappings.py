"""Mapping-pattern helpers shared by the MBR02x rules (private)."""

from __future__ import annotations

import ast
import re

from analyzers.catalog.records import MappingRecord

#: keyword roles of mapping constructors that hold HF parameter patterns
PATTERN_ROLES = {"hf_param", "gate", "up", "q", "k", "v", "g", "qkv", "z", "b", "a", "qkvz", "ba"}


def wildcard_groups(pattern: str) -> int:
    """Capture groups of a pattern as MegatronParamMapping counts them: each `**`, then each `*`."""
    count = pattern.count("**")
    return count + pattern.replace("**", "").count("*")


def hf_patterns(mapping: MappingRecord) -> list[tuple[str, str]]:
    return [
        (role, p) for role, p in mapping.hf_params.items() if role in PATTERN_ROLES and isinstance(p, str)
    ]


def loop_free(condition: str | None) -> str | None:
    """The mapping's `if` conditions without the `for` loops that produced it."""
    if condition is None:
        return None
    parts = [p for p in condition.split(" and ") if not p.startswith("for ")]
    return " and ".join(parts) or None


_NORM_FUSED = re.compile(
    r"\.(input_layernorm\.|pre_mlp_layernorm\.|norm\.|self_attention\.linear_qkv\.layer_norm_|self_attention\.in_proj\.layer_norm_|"
    r"mixer\.in_proj\.layer_norm_|mlp\.linear_fc1\.layer_norm_)(weight|bias)$"
)
_KV_NORM = re.compile(r"\.self_attention\.(kv_layernorm\.|linear_kv_up_proj\.layer_norm_)(weight|bias)$")
_Q_NORM = re.compile(r"\.self_attention\.(q_layernorm\.|linear_q_up_proj\.layer_norm_)(weight|bias)$")


def canonical_megatron(param: str) -> str:
    """One key for Megatron names that are alternative layouts of one HF tensor (only one exists per model).

    Fused vs separate layer norms (TE `linear_qkv.layer_norm_weight` vs `input_layernorm.weight`, and the
    per-layer-type norms of hybrid models), grouped vs sequential experts (`experts.linear_fc1.weight*` vs
    `experts.local_experts.*.linear_fc1.weight`), `conv1d.weight` vs `conv1d_weight`, `final_norm` vs
    `final_layernorm`, MTP's `mtp_model_layer` vs `transformer_layer`, split `linear_fc1_up` vs gated
    `linear_fc1`, and MLA `linear_q_proj` vs the non-MLA `linear_qkv` fallback.
    """
    p = re.sub(r"\.local_experts\.\*\.(linear_fc\d)\.(weight|bias)$", r".\1.\2*", param)
    p = p.replace(".mtp_model_layer.", ".transformer_layer.")
    p = re.sub(r"\.conv1d_(weight|bias)$", r".conv1d.\1", p)
    p = re.sub(r"\.final_norm\.", ".final_layernorm.", p)
    p = re.sub(r"\.linear_fc1_(up|gate)\.", ".linear_fc1.", p)
    p = re.sub(r"\.self_attention\.(linear_q_proj|linear_q_down_proj)\.", ".self_attention.linear_qkv.", p)
    p = _NORM_FUSED.sub(r".<norm>.\2", p)
    p = _KV_NORM.sub(r".self_attention.<kv_norm>.\2", p)
    return _Q_NORM.sub(r".self_attention.<q_norm>.\2", p)


def skips_validation(node: ast.ClassDef) -> bool:
    """The class body opts out of MB's wildcard validation: `is_grouped_export = True`, its own
    `_validate_patterns`, or an `__init__` that never calls a base `__init__`."""
    for stmt in node.body:
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "is_grouped_export" for t in stmt.targets
        ):
            if isinstance(stmt.value, ast.Constant) and stmt.value.value is True:
                return True
        elif isinstance(stmt, ast.FunctionDef) and stmt.name == "_validate_patterns":
            return True
        elif isinstance(stmt, ast.FunctionDef) and stmt.name == "__init__":
            if not any(
                isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "__init__"
                for n in ast.walk(stmt)
            ):
                return True
    return False


def exempt_from_wildcard_check(classes: dict[str, tuple[bool, list[str]]]) -> set[str]:
    """Mapping classes (name -> (body skips validation, bases)) that skip the check, with their subclasses.

    The root class (no base among `classes`) is where the validation lives, so its own skips don't count.
    """
    exempt = {
        name
        for name, (skips, bases) in classes.items()
        if skips and any(b.rsplit(".", 1)[-1] in classes for b in bases)
    }
    changed = True
    while changed:
        changed = False
        for name, (_, bases) in classes.items():
            if name not in exempt and any(b.rsplit(".", 1)[-1] in exempt for b in bases):
                exempt.add(name)
                changed = True
    return exempt
