"""Expressibility before writing: a `--config` whose features Megatron-Core's GPTModel cannot compute as
configured is refused up front (`UnexpressibleError`, exit 2, nothing written), naming every such feature
and what it would take; with `--allow-unsupported` the clone is written anyway, with a `TODO(bridgesmith)`
comment at each place a feature concerns (the provider_bridge, the mapping registry).

The features are `analyzers.expressibility`'s unsupported ones, less the neutral ones (a multiplier of 1).
The rules it could not run (no transformers modeling file, no checkpoint names) are returned as notes, so
an absent rule is never mistaken for a supported feature.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from analyzers.errors import UnexpressibleError
from analyzers.expressibility import POST_NORM_ONLY, Feature, expressibility, unchecked
from codemods.clone_family._qk_norm_carry import FEATURE as QK_FEATURE
from codemods.clone_family._qk_norm_carry import KNormCarry, plan_k_norm_carry
from codemods.clone_family._spec import CloneSpec
from codemods.clone_family._templates import TODO
from codemods.plan import Plan

__all__ = ["Verdict", "annotate_unsupported", "check_expressible", "refusal_message"]

#: feature kinds whose fix goes into the mapping registry; every other kind concerns the provider
_MAPPING_KINDS = frozenset({"mapping"})
#: stands for "the clone rewrote SRC's layer spec for a post-norm-only model" among the written attributes
SPEC_WRITTEN = "transformer_layer_spec (post-norm only)"


@dataclass(frozen=True)
class Verdict:
    """What the check found for `--config`."""

    unsupported: tuple[Feature, ...]  #: features no bridge computes as configured (not neutral)
    unchecked: tuple[str, ...]  #: rule groups that could not run, with why
    #: local-module features some bridges compute but SRC does not (and the clone does not carry)
    untaught: tuple[Feature, ...] = ()
    carry: KNormCarry | None = None  #: the K norm build the clone sizes for GQA
    local: tuple[Feature, ...] = ()  #: every supported local-module feature (SRC's own included)

    @property
    def refused(self) -> tuple[Feature, ...]:
        """Everything the clone would compute wrongly: unsupported, then untaught by SRC."""
        return self.unsupported + self.untaught


def check_expressible(spec: CloneSpec) -> Verdict | None:
    """The verdict on `spec.config` (None without `--config`); raises UnexpressibleError when a feature
    cannot be expressed and the request does not allow it."""
    if spec.config is None:
        return None
    names = spec.hf_names
    name_list, shapes = (names.names, names.shapes) if names else (None, None)
    supported, unsupported = expressibility(
        spec.config, spec.catalog, name_list, shapes, exclude=spec.request.exclude_teachers, index=spec.index
    )
    written = _written_by_clone(spec)
    if spec.decisions is not None and spec.decisions.post_norm is not None:
        written |= {SPEC_WRITTEN}
    by_local_class = _local_classes(spec)
    fit, carry = plan_k_norm_carry(spec, name_list, shapes)
    src = spec.source.bridge.name
    untaught = []
    for f in supported:
        if not f.local:
            continue
        if src not in f.handled_by:
            untaught.append(f)
        elif f.name == QK_FEATURE and fit == "carried" and carry is None:
            # SRC sizes K by num_attention_heads somewhere the clone does not copy: it cannot resize it
            untaught.append(f)
    verdict = Verdict(
        tuple(
            f
            for f in unsupported
            if not f.neutral and not _expressed(f, written) and f.name not in by_local_class
        ),
        tuple(unchecked(spec.config, name_list)),
        tuple(untaught),
        carry,
        tuple(f for f in supported if f.local),
    )
    if verdict.refused and not spec.request.allow_unsupported:
        raise UnexpressibleError(
            refusal_message(
                spec.request.config or spec.config.source,
                verdict.unsupported,
                verdict.untaught,
                src,
                verdict.local,
            ),
            notes=verdict.unchecked,
        )
    return verdict


def _written_by_clone(spec: CloneSpec) -> frozenset[str]:
    """The provider attributes the clone gives the implied value: those it writes (not the ones it removes),
    and those SRC's provider already gives that value (OlMoE's `moe_router_pre_softmax = True`)."""
    plan = spec.decisions.provider if spec.decisions is not None else None
    if plan is None:
        return frozenset()
    written = {a for a, w in plan.writes.items() if w.literal is not None or w.expr is not None}
    return frozenset(written | plan.kept)


def _local_classes(spec: CloneSpec) -> frozenset[str]:
    """The mapping features the clone expresses with a class it writes into the bridge module
    (`_local_mappings`: a dense MLP's fused gate/up tensor)."""
    registry = spec.decisions.registry if spec.decisions is not None else None
    return frozenset(m.feature for m in registry.local) if registry is not None else frozenset()


def _expressed(feature: Feature, written: frozenset[str]) -> bool:
    """A Megatron-Core feature no bridge teaches yet is still computed when the clone writes every provider
    attribute that expresses it (e.g. Granite's `softmax_scale = attention_multiplier`); a decoder layer
    without pre-norms when the clone's layer spec keeps SRC's post-norm modules and drops its fused pre-norms."""
    if feature.name == POST_NORM_ONLY:
        return SPEC_WRITTEN in written
    return feature.kind == "mcore" and bool(feature.attrs) and set(feature.attrs) <= written


def refusal_message(
    config: str,
    features: tuple[Feature, ...],
    untaught: tuple[Feature, ...] = (),
    src: str | None = None,
    local: tuple[Feature, ...] = (),
) -> str:
    """`clone-family: CONFIG: cannot be expressed: <feature> (<what it would take>); ...`, then
    `SRC does not compute: <feature> (clone from <the bridges that do>)`, one line; `local`: every
    local-module feature of the config (a bridge to clone from must compute them all)."""
    parts = []
    if features:
        listed = "; ".join(f"{f.name} ({_one_line(f.needs or 'no bridge handles it')})" for f in features)
        parts.append(f"cannot be expressed: {listed}")
    if untaught:
        listed = "; ".join(
            f"{f.name} ({', '.join(f.evidence)}; {_teachers(f, src, local)})" for f in untaught
        )
        parts.append(f"{src or 'SRC'} does not compute: {listed}")
    return (
        f"clone-family: {config}: {'; '.join(parts)} "
        "(--allow-unsupported writes the starting point with TODOs)"
    )


def _teachers(feature: Feature, src: str | None, local: tuple[Feature, ...] = ()) -> str:
    """Which bridges compute `feature`, and whether one of them computes every other local feature too."""
    others = [b for b in feature.handled_by if b != src]
    if not others:
        return f"{src} builds it where the clone cannot adapt it"
    shown = ", ".join(others[:4]) + (f" +{len(others) - 4}" if len(others) > 4 else "")
    rest = [f for f in local if f.name != feature.name]
    fit = [b for b in others if all(b in f.handled_by for f in rest)]
    if rest and not fit:
        return (
            f"its local module is in {shown}, which do not compute {', '.join(f.name for f in rest)}: no bridge "
            "computes both (a local layer spec combining them)"
        )
    return (
        f"its local module is in {shown}: clone from {'one of ' + ', '.join(fit) if len(fit) > 1 else fit[0]}"
    )


def annotate_unsupported(spec: CloneSpec, plan: Plan, verdict: Verdict | None) -> None:
    """With `--allow-unsupported`: the cloned bridge module gets a TODO comment per unsupported feature at
    the method it concerns, and the report a line per feature and per unchecked rule group."""
    if verdict is None:
        return
    plan.report.extend(f"expressibility: {line}" for line in verdict.unchecked)
    if not verdict.refused:
        return
    plan.report.extend(
        f"unsupported: {f.name} ({', '.join(f.evidence)}): {_one_line(f.needs or '')}"
        for f in verdict.unsupported
    )
    src = spec.source.bridge.name
    plan.report.extend(
        f"not computed by {src}: {f.name} ({', '.join(f.evidence)}): {_teachers(f, src, verdict.local)}"
        for f in verdict.untaught
    )
    new = next((n for o, n in spec.files.models if o == spec.source.bridge.path), None)
    if new is None or not plan.creates(new):
        return
    by_method: dict[str, list[str]] = {}
    for f in verdict.unsupported:
        method = "mapping_registry" if f.kind in _MAPPING_KINDS else "provider_bridge"
        by_method.setdefault(method, []).append(
            f"# {TODO}: {f.name} ({', '.join(f.evidence)}) is not expressed: {_one_line(f.needs or '')}"
        )
    for f in verdict.untaught:
        by_method.setdefault("provider_bridge", []).append(
            f"# {TODO}: {f.name} ({', '.join(f.evidence)}) is not computed by {src}'s layer spec: "
            f"{_teachers(f, src, verdict.local)}"
        )
    module = cst.parse_module(plan.current(new) or "")
    plan.modify(new, module.visit(_Annotate(spec.names.bridge_class, by_method)).code)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _comment_lines(comments: list[str]) -> list[cst.EmptyLine]:
    return [cst.EmptyLine(indent=True, comment=cst.Comment(c)) for c in comments]


class _Annotate(cst.CSTTransformer):
    """Comments above the first statement after the docstring of each method of the bridge class (above
    the class itself for a method it inherits)."""

    def __init__(self, bridge_class: str, by_method: dict[str, list[str]]) -> None:
        super().__init__()
        self.bridge_class = bridge_class
        self.by_method = by_method

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        if original.name.value != self.bridge_class:
            return updated
        body = list(updated.body.body)
        missing: list[str] = []
        for method, comments in self.by_method.items():
            index = next(
                (i for i, s in enumerate(body) if isinstance(s, cst.FunctionDef) and s.name.value == method),
                None,
            )
            if index is None:
                missing.extend(comments)
                continue
            body[index] = _annotate_function(body[index], comments)
        updated = updated.with_changes(body=updated.body.with_changes(body=body))
        if missing:
            updated = updated.with_changes(leading_lines=[*updated.leading_lines, *_comment_lines(missing)])
        return updated


def _annotate_function(func: cst.FunctionDef, comments: list[str]) -> cst.FunctionDef:
    if not isinstance(func.body, cst.IndentedBlock):
        return func.with_changes(leading_lines=[*func.leading_lines, *_comment_lines(comments)])
    stmts = list(func.body.body)
    first = stmts[0]
    docstring = (
        isinstance(first, cst.SimpleStatementLine)
        and isinstance(first.body[0], cst.Expr)
        and isinstance(first.body[0].value, cst.SimpleString | cst.ConcatenatedString)
    )
    at = 1 if docstring and len(stmts) > 1 else 0
    stmts[at] = stmts[at].with_changes(leading_lines=[*stmts[at].leading_lines, *_comment_lines(comments)])
    return func.with_changes(body=func.body.with_changes(body=stmts))
