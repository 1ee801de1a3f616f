"""The likely cause of a failed smoke check on a clone, from the clone's own decisions and the config's
expressibility: which check failed and what it says, held against the features the config needs and the
provider attributes the cloned files set.

Every cause is a guess with its evidence ("likely"), never a verdict: the smoke report's figures are the facts.

>>> import json; from analyzers.expressibility import expressibility
>>> report = json.loads(Path("fixtures/clone_family/smoke_reports/helium.json").read_text())
>>> spec = load_spec(from_transformers="helium"); names = collect_hf_names(spec)
>>> features = sum(expressibility(spec, catalog, names.names, names.shapes), [])
>>> text = (root / "src/megatron/bridge/models/llama/llama_bridge.py").read_text()
>>> [(c["check"], c["cause"]) for c in likely_causes(report, features, {"models/x/helium_bridge.py": text}, "LlamaBridge")]
[('logits', 'likely cause: interleaved RoPE: the clone does not set rotary_interleaved (as Ernie45Bridge, Ernie45VLBridge do; LlamaBridge does not)')]
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from typing import Any

from analyzers.expressibility import Feature

__all__ = ["likely_causes", "set_names"]

_LAYER = re.compile(r"\.\d+\.")
_NO_ATTRIBUTE = re.compile(r"'(\w+)' object has no attribute '(\w+)'")
_FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\w+)\n\s*(.+)')


def likely_causes(
    report: Mapping[str, Any], features: Iterable[Feature], files: Mapping[str, str], source_bridge: str
) -> list[dict[str, Any]]:
    """Likely causes of `report`'s failure (a SmokeReport's dict): one {check, cause, evidence} each.

    `features` are the config's function-changing features (supported and unsupported), `files` the
    clone's Python files (path -> text), `source_bridge` the bridge it was cloned from.
    """
    if report.get("passed"):
        return []
    features = list(features)
    out: list[dict[str, Any]] = []
    if report.get("error"):
        out.extend(_crash(report, files, source_bridge))
    for check in report.get("checks", []):
        if check.get("status") != "fail":
            continue
        name, details = check.get("name"), check.get("details") or {}
        if name == "mapping":
            out.extend(_mapping(details, features, files))
        elif name == "filled":
            out.extend(_unwritten("filled", details.get("unfilled", []), "no mapping writes them on import"))
        elif name == "export":
            out.extend(_export(details))
        elif name == "logits":
            out.extend(_logits(check, features, files, source_bridge))
    return out


def set_names(files: Mapping[str, str]) -> set[str]:
    """Every name the files give a value to: attribute and annotated assignments, keyword arguments, dict
    keys and identifier-like strings (CONFIG_MAPPING pairs, `config_kwargs` keys)."""
    out: set[str] = set()
    for text in files.values():
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
                for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    if isinstance(target, ast.Attribute):
                        out.add(target.attr)
                    elif isinstance(target, ast.Name):
                        out.add(target.id)
            elif isinstance(node, ast.keyword) and node.arg:
                out.add(node.arg)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
                out.add(node.value)
    return out


def _groups(names: Iterable[str]) -> list[str]:
    """Names with their layer indices as `*`, each group once, with its count."""
    counts: dict[str, int] = {}
    for name in names:
        key = _LAYER.sub(".*.", name)
        counts[key] = counts.get(key, 0) + 1
    return [f"{k} ({n})" if n > 1 else k for k, n in counts.items()]


def _leaf(group: str) -> str:
    return group.split(" (", 1)[0]


def _cause(check: str, cause: str, *evidence: str) -> dict[str, Any]:
    return {"check": check, "cause": f"likely cause: {cause}", "evidence": [e for e in evidence if e]}


def _crash(report: Mapping[str, Any], files: Mapping[str, str], source: str) -> list[dict[str, Any]]:
    error, trace = report.get("error") or "", report.get("traceback") or ""
    stems = {p.rsplit("/", 1)[-1].removesuffix(".py") for p in files}
    own = [f for f in _FRAME.findall(trace) if f[0].rsplit("/", 1)[-1].removesuffix(".py") in stems]
    frame = (
        f"{own[-1][0].rsplit('/', 1)[-1]}:{own[-1][1]} in {own[-1][2]}: {own[-1][3].strip()}" if own else ""
    )
    missing = _NO_ATTRIBUTE.search(error)
    if missing and missing.group(1).endswith("Config"):
        return [_cause("error", f"the clone reads hf_config.{missing.group(2)}, which {missing.group(1)} does not "
                       f"have: a provider setting copied from {source} for a field the new config lacks",
                       error, frame)]  # fmt: skip
    mentioned = sorted(s for s in stems if re.search(rf"\b{re.escape(s)}\b", error))
    if mentioned or re.search(r"\bspec\b|when instantiating", error):
        where = f"the clone's {', '.join(mentioned)}" if mentioned else "the provider's layer spec"
        return [_cause("error", f"{where} (copied from {source}) builds modules the provider settings contradict "
                       "or the config does not have: the provider / layer spec decision of the clone", error, frame)]  # fmt: skip
    if own:
        return [
            _cause("error", f"the cloned code fails in {own[-1][2]} (copied from {source})", error, frame)
        ]
    return []


def _matching(group: str, features: list[Feature]) -> Feature | None:
    for f in features:
        for e in f.evidence:
            if e.startswith("names: ") and _leaf(group).endswith(e.removeprefix("names: ").split(" ", 1)[0]):
                return f
    return None


def _mapping(details: Mapping[str, Any], features: list[Feature], files: Mapping[str, str]) -> list[dict]:
    out = []
    hf = _groups(details.get("unmapped_hf", []))
    megatron = _groups(details.get("unmapped_megatron", []))
    for group in hf:
        feature = _matching(group, features)
        if feature is not None and not feature.supported:
            out.append(_cause("mapping", f"no mapping takes HF {group}: {feature.name} is not expressible "
                              f"({feature.needs})", *feature.evidence))  # fmt: skip
        elif feature is not None:
            out.append(_cause("mapping", f"no mapping takes HF {group}: {feature.name}, which "
                              f"{', '.join(feature.handled_by)} map, is not in the clone's registry", *feature.evidence))  # fmt: skip
        else:
            out.append(_cause("mapping", f"no mapping of the clone's registry takes HF {group}"))
    hf_leaves = [_leaf(g) for g in hf]
    biases: dict[str, list[str]] = {}
    unwritten = []
    for group in megatron:
        leaf = _leaf(group)
        if leaf.endswith(".bias"):
            biases.setdefault("add_qkv_bias" if "linear_qkv" in leaf else "add_bias_linear", []).append(group)
        elif "input_layernorm" in leaf and any("post_" in g for g in hf_leaves):
            post = next(
                (f for f in features if "post" in f.name.lower() or "after attention" in f.name), None
            )
            out.append(_cause("mapping", f"Megatron builds pre-norms ({group}) where HF has post-norms "
                              f"({', '.join(g for g in hf_leaves if 'post_' in g)}): the layer spec's norm placement"
                              + (f"; {post.name}: {post.needs or 'handled by ' + ', '.join(post.handled_by)}" if post else "")))  # fmt: skip
        else:
            unwritten.append(group)
    given = set_names(files)
    for attr, groups in biases.items():
        state = (
            f"sets {attr} (check its value)"
            if attr in given
            else f"does not set {attr} (the provider's default builds them)"
        )
        out.append(_cause("mapping", f"Megatron builds biases the HF checkpoint lacks ({', '.join(groups)}): the clone {state}"))  # fmt: skip
    if unwritten:
        also = " (the Megatron side of the HF tensors above)" if hf else ""
        out.append(
            _cause("mapping", f"Megatron builds {', '.join(unwritten)} and no mapping writes them{also}")
        )
    return out


def _unwritten(check: str, names: list[str], why: str) -> list[dict]:
    return [_cause(check, f"Megatron {', '.join(_groups(names)[:5])}: {why}")] if names else []


def _export(details: Mapping[str, Any]) -> list[dict]:
    out = []
    if details.get("missing"):
        out.append(_cause("export", f"the export writes no HF {', '.join(_groups(details['missing'])[:5])}"))
    if details.get("extra"):
        out.append(
            _cause(
                "export", f"the export writes HF {', '.join(_groups(details['extra'])[:5])} the model lacks"
            )
        )
    mismatched = details.get("mismatched") or []
    if mismatched:
        names = [m if isinstance(m, str) else m.get("name", str(m)) for m in mismatched]
        out.append(_cause("export", f"HF {', '.join(_groups(names)[:5])} come back changed: the mapping class's "
                          "export does not invert its import (a fused or permuted tensor)"))  # fmt: skip
    return out


def _logits(
    check: Mapping[str, Any], features: list[Feature], files: Mapping[str, str], source: str
) -> list[dict]:
    given = set_names(files)
    figure = check.get("summary", "")
    out = []
    for f in features:
        if not f.supported and not f.neutral:
            out.append(_cause("logits", f"{f.name} is not expressible: {f.needs}", *f.evidence, figure))
    for f in features:
        # a feature SRC handles is inherited with the clone (e.g. through the base bridge's CONFIG_MAPPING)
        if (
            f.supported
            and source not in f.handled_by
            and f.attrs
            and f.value not in (None, False)
            and not any(a in given for a in f.attrs)
        ):
            out.append(_cause("logits", f"{f.name}: the clone does not set {' / '.join(f.attrs)} (as "
                              f"{', '.join(f.handled_by[:3])} do; {source} does not)", *f.evidence, figure))  # fmt: skip
    if not out:
        out.append(_cause("logits", "none found in the config's features: the clone sets an attribute of every "
                          f"feature it needs; compare its provider settings with {source}'s "
                          "(python -m analyzers inspect --bridge)", figure))  # fmt: skip
    return out
