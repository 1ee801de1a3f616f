"""clone-family: a new model's bridge, provider/modeling, recipes, registrations, tests, docs and examples,
cloned from an existing model and renamed, as one Plan (nothing is written until `Plan.apply`).

The clone runs in stages, each a function of the frozen spec the first one resolves:

- `_resolve`: the request -> CloneSpec (SRC, the new names, SRC's files and the module map, renamers,
  contexts); every bad input raises here, before anything is rendered
- `_expressible`: `--config`'s features no bridge expresses refuse the clone here (or, allowed, become
  TODOs in the cloned bridge)
- `_discover`: the package `__init__`s, test tables, docs pages and example folders the clone joins
- `_render`: SRC's modules cloned in the syntax tree (`_clone_module`), over a process pool when big
- `_register`: package, lint (MBR001/002/004) and test-table registrations
- `_docs`: the docs page, its index entry (`_docs_index`) and the examples (`templates/` when SRC has none)
- `_format`: ruff format of the changed statements only (`_ranges`), the compile check and the conflicts
  -> the Plan

>>> result = plan_clone(ensure_tree(), CloneRequest("qwen3", "qwen4"))
>>> [c.path for c in result.plan.changes if c.kind == "create"]
['src/megatron/bridge/models/qwen/qwen4_bridge.py', 'src/megatron/bridge/recipes/qwen/h100/qwen4.py', 'src/megatron/bridge/recipes/qwen/qwen4.py']
"""

from __future__ import annotations

from pathlib import Path

from analyzers.catalog.records import Catalog
from analyzers.repo import find_repo
from analyzers.source_index import SourceIndex
from codemods.clone_family._discover import belongs_to, discover
from codemods.clone_family._docs import document
from codemods.clone_family._expressible import annotate_unsupported, check_expressible
from codemods.clone_family._format import format_plan
from codemods.clone_family._register import register
from codemods.clone_family._render import render
from codemods.clone_family._resolve import resolve
from codemods.clone_family._spec import CloneRequest, CloneResult
from codemods.clone_family._templates import current_year
from codemods.plan import Plan

__all__ = ["CloneRequest", "CloneResult", "belongs_to", "plan_clone"]


def plan_clone(
    root: str | Path,
    request: CloneRequest,
    *,
    catalog: Catalog | None = None,
    year: int | None = None,
    index: SourceIndex | None = None,
) -> CloneResult:
    """Plan the clone of `request.src` as `request.dst` in the tree at `root`; writes nothing.

    Every stage reads the tree's files through one `SourceIndex` (`index`, over the tree's root, or a new
    one): each file is read and parsed once, and the catalog this builds parses SRC's modules for them.
    An index holds one run's view of the tree: give each run its own.

    Raises ResolveError (SRC unknown or ambiguous, DST not an identifier), PlanConflictError (DST
    exists, a registration anchor is missing) and UnexpressibleError (`--config` has features no bridge
    expresses, unless `request.allow_unsupported`). When the tree already holds exactly this clone, the
    result's plan is empty and `already_applied` is True.
    """
    repo = find_repo(root)
    if index is None:
        index = SourceIndex(repo.root)
    elif index.root.resolve() != repo.root.resolve():
        raise ValueError(f"the source index is over {index.root}, not the tree at {repo.root}")
    if catalog is None:
        from analyzers.catalog import build_catalog

        catalog = build_catalog(repo.root, index=index)
    spec = resolve(repo.root, catalog, request, year or current_year(), index)
    verdict = check_expressible(spec)  # raises UnexpressibleError, before anything is rendered
    targets = discover(spec)
    plan = Plan(spec.root, report=list(spec.report), index=index)  # every stage writes into it
    render(spec, plan, carry=verdict.carry if verdict is not None else None)
    register(spec, targets, plan)
    document(spec, targets, plan)
    annotate_unsupported(spec, plan, verdict)
    result = format_plan(spec, plan)
    if verdict is not None:
        result.unsupported = [f.to_json() for f in verdict.refused]
        result.unchecked = list(verdict.unchecked)
    return result
