"""Stage 6, `format_plan`: the plan's texts formatted like the tree, checked, and returned as the result.

Only the lines the clone changed are formatted (`ruff format --range`, with the tree's own ruff
configuration): a cloned file against its source, an edited file against the tree's text, so the source's
formatting of every other line stays as it was (ruff's default 88 columns would re-flow the lines of a tree
without a ruff configuration). A file written from a template is formatted whole. Every Python text must
compile. A target that exists already is a conflict, unless the plan is empty: then the tree
holds exactly this clone (a second identical run).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from analyzers.errors import PlanConflictError
from analyzers.ruff_binary import required_ruff, ruff_on_text
from codemods.clone_family._ranges import changed_ranges, splice_changed, unstable_lines
from codemods.clone_family._spec import CloneResult, CloneSpec
from codemods.clone_family._templates import TODO
from codemods.plan import ChangeContents, CreateFile, Plan, Todo

__all__ = ["format_changed", "format_plan", "format_python"]


def format_plan(spec: CloneSpec, plan: Plan) -> CloneResult:
    """`plan` with every written Python text formatted like the tree, as the clone's result; PlanConflictError
    when a text does not compile or the clone collides with the tree."""
    root = spec.root
    created = [c for c in plan.items if isinstance(c, CreateFile)]
    edited = [c for c in plan.items if isinstance(c, ChangeContents) and c.path.endswith(".py")]
    texts = {c.path: c.contents for c in created if c.path.endswith(".py")}
    texts.update((c.path, c.new) for c in edited)
    # a clone is held against its source, an edited file against the tree's text; a template's text has
    # neither (formatted whole)
    before = {c.path: plan.read(c.origin) for c in created if c.path in texts and c.origin}
    before.update((c.path, c.old) for c in edited)
    for rel, text in format_changed(root, texts, before).items():
        plan.modify(rel, text)
    for view in plan.edits:
        if view.after is not None and view.path.endswith(".py"):
            try:
                compile(view.after, view.path, "exec")
            except SyntaxError as exc:
                raise PlanConflictError(
                    f"generated code does not compile (line {exc.lineno}: {exc.msg})", view.path
                ) from None
    files = {c.path: c.origin for c in plan.items if isinstance(c, CreateFile)}  # in the order written
    # new files first, then the edits, each sorted by path
    plan.items.sort(key=lambda c: (not isinstance(c, CreateFile), c.path))
    created = [c for c in plan.items if isinstance(c, CreateFile)]
    for change in created:
        for number, line in enumerate(change.contents.splitlines(), 1):
            if TODO in line:
                plan.todos.append(Todo(change.path, number, line.split(TODO, 1)[1].lstrip(":) ").strip()))
    conflicts = _conflicts(spec, created)
    result = CloneResult(plan, spec.source, spec.names, spec.family, files=files)
    if conflicts:
        # a second identical run: every new file is there already with exactly the planned text
        plan.items = [
            ChangeContents(c.path, disk, c.contents, c.reasons)
            if isinstance(c, CreateFile) and (disk := _disk(spec, c.path)) is not None
            else c
            for c in plan.items
        ]
        if plan.is_empty():
            result.already_applied = True
            return result
        raise PlanConflictError(conflicts[0][1], conflicts[0][0])
    return result


def _disk(spec: CloneSpec, rel: str) -> str | None:
    """The tree's text of `rel`, None when it is no file or cannot be read: what is on disk now, as the run
    reads it (a plan writes nothing, so the index's one read of a file during the run is the disk's)."""
    return spec.index.text(rel, universal=True) if (spec.root / rel).is_file() else None


def _conflicts(spec: CloneSpec, created: list[CreateFile]) -> list[tuple[str | None, str]]:
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
    for change in created:
        if (spec.root / change.path).exists():
            out.append((change.path, "target already exists"))
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
        proc = ruff_on_text(ruff, ["format", *extra], text, rel, root)
        if proc.returncode != 0:
            raise PlanConflictError(f"ruff format failed: {proc.stderr.strip().splitlines()[-1:]}", rel)
        return proc.stdout if proc.stdout else text

    def sort_imports(rel: str, text: str) -> str:
        # A renamed or moved module can leave its import block out of order (I001); fixing only the unsorted
        # blocks touches no other line, and the source's blocks were sorted.
        proc = ruff_on_text(ruff, ["check", "--select", "I", "--fix", "--quiet"], text, rel, root)
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
