"""Stage 3, `render`: SRC's model, recipe and test files cloned under the new names into the plan.

Python modules are cloned in the syntax tree (`clone_module`), over a process pool when the clone is big;
other files get the prose renamer. With `--config`, the cloned bridge takes the config's decisions and the
cloned tests its values. Reports what was kept and how each new bridge registers.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import NamedTuple

import libcst as cst

from codemods.clone_family._clone_module import ClonedModule, clone_module
from codemods.clone_family._config_edits import apply_bridge_edits, update_config_dicts
from codemods.clone_family._docstrings import bridge_docstring
from codemods.clone_family._embedding_scale import apply_embedding_scale
from codemods.clone_family._post_norm import apply_generated_spec, apply_post_norm
from codemods.clone_family._provider_edits import apply_provider_defaults
from codemods.clone_family._qk_norm_carry import KNormCarry, carry_edit
from codemods.clone_family._spec import CloneJob, CloneSpec
from codemods.clone_family._transformers_index import transformers_has
from codemods.plan import Plan
from codemods.rename_engine import dotted_module

__all__ = ["PARALLEL_LINES", "render"]

#: below this many source lines a process pool costs more than it saves
PARALLEL_LINES = 2500


def render(spec: CloneSpec, plan: Plan, *, carry: KNormCarry | None = None) -> None:
    """Stage every cloned file of `spec.files` (in pair order) and report what the clone kept.

    `carry`: the K norm build to size for GQA (`_qk_norm_carry`), from the expressibility check."""
    edits = {spec.source.bridge.path: _bridge_edits(spec), **_provider_module_edits(spec)}
    for path, edit, before_bridge in _module_plan_edits(spec):
        first = edits.get(path)
        chain = (edit, first) if before_bridge else (first, edit)
        edits[path] = edit if first is None else functools.partial(_chain, edits=chain)
    if carry is not None:
        edit = carry_edit(spec, carry)
        first = edits.get(carry.path)
        edits[carry.path] = edit if first is None else functools.partial(_chain, edits=(first, edit))
        plan.report.append(f"{carry.path}: k_layernorm sized by num_query_groups ({carry.reason})")
    recipes = {old for old, _ in spec.files.recipes}
    texts: dict[str, str] = {}
    jobs: list[CloneJob] = []
    for old, new in spec.files.pairs:
        text = plan.read(old)
        ctx = spec.recipe_ctx if old in recipes else spec.ctx
        if old.endswith(".py"):
            edit = edits.get(old)
            jobs.append(CloneJob(old, new, text, dotted_module(old), ctx, edit))
        else:
            texts[new] = ctx.prose(text)
    for job, cloned in zip(jobs, _clone_all(jobs, spec.year), strict=True):
        texts[job.new] = cloned.text
        plan.report.extend(f"{job.old}: {note}" for note in cloned.notes)
    for old, new in spec.files.pairs:
        plan.create(new, texts[new], f"cloned from {old}", origin=old)
    if spec.config is not None:
        _tests_from_config(spec, plan)
    plan.report.extend(_registration_lines(spec))
    if spec.files.respelt:
        plan.report.append(
            f"named {', '.join(sorted(spec.files.respelt))}'s clone modeling_... (SRC's spelling is MBR035's `modelling_`)"
        )
    if spec.files.dedicated:
        plan.report.append(f"recipes: cloned the recipe families {', '.join(spec.files.dedicated)} whole")


def _bridge_edits(spec: CloneSpec) -> functools.partial:
    """The edits of the cloned bridge module: its docstring for the new model, with `--config` the config's
    decisions; picklable, for the pool."""
    config = None
    if spec.decisions is not None:
        config = functools.partial(
            apply_bridge_edits, bridge_class=spec.names.bridge_class, decisions=spec.decisions
        )
    return functools.partial(
        _edit_bridge,
        config=config,
        bridge_class=spec.names.bridge_class,
        hf_class=spec.names.hf_class,
        hf_id=spec.names.hf_id,
    )


def _provider_module_edits(spec: CloneSpec) -> dict[str, functools.partial]:
    """Field defaults of cloned provider dataclasses the config rewrites: source path -> edit (picklable)."""
    plan = spec.decisions.provider if spec.decisions is not None else None
    if plan is None:
        return {}
    by_path: dict[str, dict[str, dict[str, str]]] = {}
    for write in plan.writes.values():
        if write.default_of is None or write.literal is None:
            continue
        path = _defining_path(spec, write.default_of)
        if path is not None and path != spec.source.bridge.path:
            cls = spec.renamer.identifier(write.default_of)
            by_path.setdefault(path, {}).setdefault(cls, {})[write.attr] = write.literal
    return {
        path: functools.partial(apply_provider_defaults, classes=classes, plan=plan)
        for path, classes in by_path.items()
    }


class _ModuleEdit(NamedTuple):
    """A config decision's edit of one of SRC's modules (picklable, for the pool)."""

    path: str  #: the source module
    edit: functools.partial
    before_bridge: bool  #: runs before the module's other edits (it binds a name they use)


def _module_plan_edits(spec: CloneSpec) -> list[_ModuleEdit]:
    """The config's decisions about SRC's own modules: the post-norm-only layer spec, the scaled embedding
    dropped."""
    decisions = spec.decisions
    out: list[_ModuleEdit] = []
    post_norm = decisions.post_norm if decisions is not None else None
    if post_norm is not None and post_norm.generated:
        # before the provider edits: `provider.transformer_layer_spec = post_norm_layer_spec` needs it bound
        generate = functools.partial(
            apply_generated_spec, teachers=post_norm.teachers, model=spec.names.class_prefix
        )
        out.append(_ModuleEdit(post_norm.path, generate, True))
    elif post_norm is not None:
        functions = tuple(spec.renamer.identifier(f) for f in post_norm.functions)
        out.append(
            _ModuleEdit(post_norm.path, functools.partial(apply_post_norm, functions=functions), False)
        )
    if decisions is not None and decisions.embedding_scale is not None:
        classes = tuple(spec.renamer.identifier(c) for c in decisions.embedding_scale.classes)
        drop = functools.partial(apply_embedding_scale, classes=classes)
        out.append(_ModuleEdit(decisions.embedding_scale.path, drop, False))
    return out


def _chain(module: cst.Module, *, edits: tuple[Callable[[cst.Module], cst.Module], ...]) -> cst.Module:
    """`edits` applied in order (a module with more than one config-driven edit; picklable, for the pool)."""
    for edit in edits:
        module = edit(module)
    return module


def _defining_path(spec: CloneSpec, cls: str) -> str | None:
    """The cloned source module that defines provider class `cls`."""
    for settings in spec.catalog.provider_defaults.values():
        for s in settings:
            if s.via == cls and s.location is not None:
                if any(old == s.location.path for old, _ in spec.files.models):
                    return s.location.path
    return None


def _edit_bridge(
    module: cst.Module,
    *,
    config: Callable[[cst.Module], cst.Module] | None,
    bridge_class: str,
    hf_class: str,
    hf_id: str | None,
) -> cst.Module:
    module = bridge_docstring(module, bridge_class, hf_class, hf_id)
    return config(module) if config is not None else module


def _clone(job: CloneJob, year: int) -> ClonedModule:
    return clone_module(
        job.text, path=job.old, module_name=job.module, ctx=job.ctx, year=year, extra=job.edits
    )


def _clone_all(jobs: list[CloneJob], year: int) -> list[ClonedModule]:
    """Clone every module; spread over the cores when the clone is big (libcst parsing dominates)."""
    lines = sum(job.text.count("\n") for job in jobs)
    workers = min(os.cpu_count() or 1, 4)
    if workers < 2 or lines < PARALLEL_LINES or len(jobs) < 2 or not hasattr(os, "fork"):
        return [_clone(job, year) for job in jobs]
    # Big files first, dealt round-robin, so the workers finish together.
    order = sorted(range(len(jobs)), key=lambda i: -len(jobs[i].text))
    with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
        results = dict(
            zip(order, pool.map(_clone, [jobs[i] for i in order], [year] * len(order)), strict=True)
        )
    return [results[i] for i in range(len(jobs))]


def _tests_from_config(spec: CloneSpec, plan: Plan) -> None:
    """Mock config values of the cloned tests from the new config; toy dicts get toy sizes of it."""
    from codemods.smoke._toy_config import toy_config_dict

    assert spec.config is not None
    config = spec.config.config
    toy = toy_config_dict(config)
    names = {"model_type": spec.names.model_type, "architectures": [spec.names.hf_class]}
    for _, path in spec.files.tests:
        if not path.endswith(".py"):
            continue
        text, changed = update_config_dicts(plan.current(path) or "", config, toy, names)
        if changed:
            plan.modify(path, text)
            plan.report.append(f"{path}: {changed} config values from {spec.config.source}")


def _registration_lines(spec: CloneSpec) -> list[str]:
    lines = []
    for bridge, reg in spec.registrations.items():
        how = (
            f'source="{reg.source}" (a string: the installed transformers has no {reg.source})'
            if reg.as_string and not transformers_has(reg.source)
            else f'source="{reg.source}" (a string, as the source registers it)'
            if reg.as_string
            else f"source={reg.source}"
        )
        lines.append(f"{bridge}: registered with {how}, model_type={reg.model_type!r}")
    return lines
