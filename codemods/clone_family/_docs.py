"""Stage 5, `document`: the clone's docs page (listed in its vendor's index) and its examples folder.

SRC's own page and examples are cloned and renamed; without them the page and the example scripts are
written from the templates, and the report says so.
"""

from __future__ import annotations

import re
import shlex

from codemods.clone_family._clone_module import clone_module
from codemods.clone_family._discover import rename_path, walk
from codemods.clone_family._docs_index import list_page
from codemods.clone_family._spec import FROM_TEMPLATE, CloneSpec, Targets
from codemods.clone_family._templates import TODO, license_header, render
from codemods.plan import Plan
from codemods.rename_engine import dotted_module

__all__ = ["document"]


def document(spec: CloneSpec, targets: Targets, plan: Plan) -> None:
    """Stage the clone's docs page, its index entry and its examples."""
    _docs(spec, targets, plan)
    _examples(spec, targets, plan)


def _docs(spec: CloneSpec, targets: Targets, plan: Plan) -> None:
    if targets.docs_vendors is None:
        return
    names = spec.names
    dst = targets.docs_dst
    if dst is None:
        plan.report.append("docs: no docs/models folder for this family; no page written")
        return
    if targets.docs_pages:
        for vendor, page in targets.docs_pages:
            new_page = spec.paths.prose(page)
            text = spec.renamer.prose(plan.read(f"{vendor}/{page}"))
            plan.create(f"{dst}/{new_page}", text, f"cloned from {vendor}/{page}", origin=f"{vendor}/{page}")
            _index(spec, plan, dst, page if dst == vendor else None, new_page)
        return
    plan.create(f"{dst}/{names.docs_page}", render("docs_page.md", **_values(spec)), FROM_TEMPLATE)
    _index(spec, plan, dst, None, names.docs_page)
    plan.report.append(f"docs: {spec.source.stem} has no page; wrote {dst}/{names.docs_page} from a template")


def _index(spec: CloneSpec, plan: Plan, vendor: str, old_page: str | None, new_page: str) -> None:
    path = f"{vendor}/index.md"
    text = plan.current(path)
    if text is None:
        plan.report.append(f"docs: {vendor} has no index.md; add {new_page} to the docs toctree by hand")
        return
    listed = list_page(
        text, path, old_page, new_page, title=spec.names.class_prefix, prose=spec.renamer.prose
    )
    if listed is not None:
        plan.modify(path, listed, f"lists the {new_page} page")


def _examples(spec: CloneSpec, targets: Targets, plan: Plan) -> None:
    if targets.example_vendors is None or targets.examples_dst is None:
        return
    dst = targets.examples_dst
    if not targets.example_folders:
        folder = dst if targets.examples_flat else f"{dst}/{spec.names.stem}"
        values = _values(spec)
        for name in ("README.md", "conversion.sh", "inference.sh"):
            plan.create(f"{folder}/{name}", render(f"examples/{name}", **values), FROM_TEMPLATE)
        plan.report.append(
            f"examples: {spec.source.stem} has no examples folder; wrote {folder}/ from templates"
        )
        return
    for vendor, folder in targets.example_folders:
        new_folder = dst if targets.examples_flat else f"{dst}/{spec.paths.identifier(folder)}"
        for rel in walk(spec.root, f"{vendor}/{folder}"):
            new_rel = f"{new_folder}/{rename_path(spec.paths, rel[len(vendor) + len(folder) + 2 :])}"
            text = plan.read(rel)
            if rel.endswith(".py"):
                module = dotted_module(rel)
                text = clone_module(text, path=rel, module_name=module, ctx=spec.ctx, year=spec.year).text
            else:
                text = _header_year(spec.renamer.prose(text), spec.year)
            plan.create(new_rel, _hub_ids(spec, text), f"cloned from {rel}", origin=rel)


def _values(spec: CloneSpec) -> dict[str, str]:
    """What the templates are filled with."""
    names = spec.names
    hf_id = names.hf_id or f"<org>/{names.class_prefix}"
    vlm = spec.config is not None and spec.config.kind == "vlm" or "vl" in spec.source.stem.split("_")
    return {
        "class_prefix": names.class_prefix,
        "stem": names.stem,
        "hf_id": hf_id,
        "hf_id_shell": shlex.quote(hf_id),
        "source_bridge": spec.source.bridge.name,
        "source_stem": spec.source.stem,
        "todo": TODO,
        "license_header": license_header(spec.year),
        "generate_script": "hf_to_megatron_generate_vlm.py" if vlm else "hf_to_megatron_generate_text.py",
        "image_arg": ' \\\n    --image_path "https://example.com/image.jpeg"' if vlm else "",
    }


def _hub_ids(spec: CloneSpec, text: str) -> str:
    """Hub ids of the new model (`Org/ClassPrefix...`) moved to `--hf-id`'s organisation."""
    hf_org = spec.ctx.hf_org
    if not hf_org:
        return text
    return re.sub(
        rf"\b{re.escape(hf_org[0])}/(?={re.escape(spec.names.class_prefix)})", f"{hf_org[1]}/", text
    )


def _header_year(text: str, year: int) -> str:
    return re.sub(r"(# Copyright \(c\) )\d{4}", lambda m: f"{m.group(1)}{year}", text, count=1)
