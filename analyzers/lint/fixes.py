"""Findings' fixes -> a `codemods.plan.Plan` (libcst edits through `codemods.registrations`, formatting kept).

Imported only by `--fix` / `--diff`, so plain lint runs never import libcst. This module is the thin
adapter between the lint's `Edit` intents and `codemods.registrations`, which wants an anchor import
to place a new import beside; the adapter picks the neighbour.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from analyzers.errors import BridgesmithError
from analyzers.lint.rule import Edit, Finding


def _anchor(source: str, module: str, path: str, star: bool) -> str | None:
    """The imported module to place `module` beside: the longest shared dotted prefix, ties to the last."""
    from codemods.registrations import imported_modules, package_of

    modules = imported_modules(source, package_of(path), path)
    if star:
        stars = [m for m, names in modules.items() if names is None]
        modules = {m: None for m in stars} or modules
    best, best_score = None, -1
    target = module.split(".")
    for candidate in modules:
        parts = candidate.split(".")
        score = 0
        for a, b in zip(parts, target, strict=False):
            if a != b:
                break
            score += 1
        if score >= best_score:
            best, best_score = candidate, score
    return best


def apply_edit(source: str, edit: Edit) -> str:
    """`source` with one edit applied (unchanged when it is already there)."""
    from codemods import registrations as reg

    if edit.kind == "add-import":
        anchor = _anchor(source, edit.module or "", edit.path, star=False)
        if anchor is None:
            text = source if source.endswith("\n") or not source else source + "\n"
            return text + f"from {edit.module} import {', '.join(edit.names)}\n"
        return reg.add_import(
            source, module=edit.module or "", names=list(edit.names), anchor=anchor, path=edit.path
        )
    if edit.kind == "add-star-import":
        anchor = _anchor(source, edit.module or "", edit.path, star=True)
        if anchor is None:
            text = source if source.endswith("\n") or not source else source + "\n"
            return text + f"from {edit.module} import *\n"
        return reg.add_wildcard_import(source, module=edit.module or "", anchor=anchor, path=edit.path)
    if edit.kind == "add-all-entry":
        return reg.add_all_entries(source, [(None, n) for n in edit.names], path=edit.path)
    if edit.kind == "remove-duplicate-all-entry":
        return reg.remove_duplicate_all_entries(source, path=edit.path)
    raise ValueError(f"unknown edit kind {edit.kind!r}")


def plan_fixes(root: Path, findings: Iterable[Finding]):
    """A Plan with every fixable finding's edits, per file in finding order; writes nothing.

    Returns (plan, fixed findings, failures) where a failure is (finding, reason) for an edit that
    could not be placed (the other fixes still go in).
    """
    from codemods.plan import Plan

    plan = Plan(root)
    texts: dict[str, str] = {}
    fixed: list[Finding] = []
    failures: list[tuple[Finding, str]] = []
    for finding in findings:
        if not finding.fix:
            continue
        staged = dict(texts)
        try:
            for edit in finding.fix:
                if edit.path not in staged:
                    staged[edit.path] = (root / edit.path).read_text(encoding="utf-8")
                staged[edit.path] = apply_edit(staged[edit.path], edit)
        except (OSError, UnicodeDecodeError, BridgesmithError, ValueError) as exc:
            failures.append((finding, str(exc)))
            continue
        texts = staged
        fixed.append(finding)
    for path, text in sorted(texts.items()):
        before = (root / path).read_text(encoding="utf-8")
        if text != before:
            plan.add(path, before, text, "bridgesmith lint --fix")
    return plan, fixed, failures
