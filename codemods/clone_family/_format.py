"""Stage 6, `format_plan`: the staged texts formatted like the tree, checked, and laid out as a Plan.

Only the lines the clone changed are formatted (`ruff format --range`, with the tree's own ruff
configuration): a cloned file against its source, an edited file against the tree's text, so the source's
formatting of every other line stays as it was (ruff's default 88 columns would re-flow the lines of a tree
without a ruff configuration). A file written from a template is formatted whole. Every Python text must
compile. A target that exists already is a conflict, unless the plan is empty: then the tree
holds exactly this clone (a second identical run).
"""

from __future__ import annotations

import stat
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from analyzers.errors import PlanConflictError
from analyzers.ruff_binary import required_ruff
from codemods.clone_family._ranges import changed_ranges, splice_changed, unstable_lines
from codemods.clone_family._spec import CloneResult, CloneSpec, Staging
from codemods.clone_family._templates import TODO
from codemods.plan import Plan, Todo

__all__ = ["format_changed", "format_plan", "format_python"]


def format_plan(spec: CloneSpec, staging: Staging) -> CloneResult:
    """The Plan of everything staged; PlanConflictError when it does not compile or collides with the tree."""
    root = spec.root
    created = {p: t for p, t in staging.created.items() if p.endswith(".py")}
    # a clone is held against its source, a template's text has none (formatted whole)
    before = {p: staging.read(o) for p in created if (o := staging.origins.get(p))}
    edited = {p: t for p, (t, _) in staging.modified.items() if p.endswith(".py") and (root / p).is_file()}
    before.update((p, staging.read(p)) for p in edited)
    formatted = format_changed(root, {**created, **edited}, before)
    staging.created.update((p, formatted[p]) for p in created)
    for rel in edited:
        staging.modified[rel] = (formatted[rel], staging.modified[rel][1])
    for rel, text in {**staging.created, **{p: t for p, (t, _) in staging.modified.items()}}.items():
        if rel.endswith(".py"):
            try:
                compile(text, rel, "exec")
            except SyntaxError as exc:
                raise PlanConflictError(
                    f"generated code does not compile (line {exc.lineno}: {exc.msg})", rel
                ) from None
    plan = Plan(root)
    conflicts = _conflicts(spec, staging)
    for rel in sorted(staging.created):
        origin = staging.origins.get(rel, "")
        reason = f"cloned from {origin}" if origin else "new file from a template"
        plan.modify(rel, staging.created[rel], reason, mode=_mode_of(root / origin) if origin else None)
    for rel, (text, reasons) in sorted(staging.modified.items()):
        plan.modify(rel, text, *reasons)
    for rel, text in sorted(staging.created.items()):
        for number, line in enumerate(text.splitlines(), 1):
            if TODO in line:
                plan.todos.append(Todo(rel, number, line.split(TODO, 1)[1].lstrip(":) ").strip()))
    plan.report = list(staging.report)
    result = CloneResult(plan, spec.source, spec.names, spec.family, files=dict(staging.origins))
    if conflicts:
        if plan.is_empty():
            result.already_applied = True
            return result
        raise PlanConflictError(conflicts[0][1], conflicts[0][0])
    return result


def _mode_of(path: Path) -> int | None:
    """A clone's permission bits: its source's (a launch script stays executable)."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None


def _conflicts(spec: CloneSpec, staging: Staging) -> list[tuple[str | None, str]]:
    """(path, message) of everything the new names or files collide with."""
    out: list[tuple[str | None, str]] = []
    names = spec.names
    for bridge in spec.catalog.bridges:
        if bridge.name == names.bridge_class:
            out.append((bridge.path, f"class {names.bridge_class} already exists"))
        for reg in bridge.registrations:
            if reg.model_type == names.model_type:
                out.append(
                    (bridge.path, f"model_type {names.model_type!r} is already registered by {bridge.name}")
                )
            if reg.source == names.hf_class:
                out.append((bridge.path, f"{names.hf_class} is already registered by {bridge.name}"))
    for rel in staging.created:
        if (spec.root / rel).exists():
            out.append((rel, "target already exists"))
    return out


def format_python(root: Path, texts: dict[str, str]) -> dict[str, str]:
    """Each text formatted whole by `ruff format` with the tree's own ruff configuration (found from the path)."""
    return format_changed(root, texts, {})


def format_changed(root: Path, texts: dict[str, str], before: dict[str, str]) -> dict[str, str]:
    """Each text with the lines it changed against `before[path]` formatted (the whole text when `before`
    has no entry for it), by `ruff format` with the tree's own ruff configuration (found from the path).

    One whole-file format per file: its rewrite of every statement that holds a changed line is taken,
    every other line is kept. Where that cannot be done (the text does not tokenize, the splice does not
    compile), each changed hunk ruff would rewrite is formatted by one `ruff format --range` call (ruff
    widens a range to whole logical lines), bottom up so the line numbers above stay valid.
    """
    if not texts:
        return {}
    ruff = required_ruff("clone-family formats the files it writes with the tree's ruff configuration")

    def ruff_format(rel: str, text: str, *extra: str) -> str:
        proc = subprocess.run(
            [ruff, "format", *extra, "--stdin-filename", rel, "-"],
            input=text,
            capture_output=True,
            text=True,
            cwd=root,
            check=False,
        )
        if proc.returncode != 0:
            raise PlanConflictError(f"ruff format failed: {proc.stderr.strip().splitlines()[-1:]}", rel)
        return proc.stdout if proc.stdout else text

    def sort_imports(rel: str, text: str) -> str:
        # A renamed or moved module can leave its import block out of order (I001); fixing only the unsorted
        # blocks touches no other line, and the source's blocks were sorted.
        proc = subprocess.run(
            [ruff, "check", "--select", "I", "--fix", "--quiet", "--stdin-filename", rel, "-"],
            input=text,
            capture_output=True,
            text=True,
            cwd=root,
            check=False,
        )
        return proc.stdout if proc.stdout and _compiles(proc.stdout, rel) else text

    def run(item: tuple[str, str]) -> tuple[str, str]:
        rel, text = item
        rel, text = _run(rel, text)
        return rel, sort_imports(rel, text)

    def _run(rel: str, text: str) -> tuple[str, str]:
        whole = ruff_format(rel, text)
        if rel not in before or whole == text:
            return rel, whole
        changed = changed_ranges(before[rel], text)
        spliced = splice_changed(text, whole, changed)
        if spliced is not None and _compiles(spliced, rel):
            return rel, spliced
        unstable = unstable_lines(text, whole)
        for start, end in reversed(changed):
            if any(start <= line <= end for line in unstable):
                text = ruff_format(rel, text, f"--range={start}-{end + 1}")
        return rel, text

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(run, texts.items()))


def _compiles(text: str, rel: str) -> bool:
    try:
        compile(text, rel, "exec")
    except SyntaxError:
        return False
    return True
