"""Stage 4, `register`: the clone registered wherever SRC is, and wherever the lint expects a bridge.

Package `__init__`s import and export the clone's modules and names beside SRC's (a new `--family-dir` gets
its own `__init__`); each new bridge is imported and exported as MBR001/002/004 require, also where SRC is
missing; test tables that map SRC's architectures to its dotted bridge path gain the clone's row.
"""

from __future__ import annotations

import re

from analyzers.catalog.modules import indexed_module, module_name, module_path, package_of
from analyzers.cst_edits import add_dict_entry, add_set_member, all_entries, from_imports, imported_modules
from analyzers.errors import PlanConflictError
from analyzers.lint.fixes import apply_edit
from analyzers.lint.rule import Edit
from analyzers.repo import MODELS_DIR, RECIPES_DIR
from codemods.clone_family._spec import FROM_TEMPLATE, CloneSpec, Targets
from codemods.clone_family._templates import license_header
from codemods.plan import Plan
from codemods.registrations import register_clone

__all__ = ["register"]


def register(spec: CloneSpec, targets: Targets, plan: Plan) -> None:
    """Stage the registration edits of the clone (after `render`: they read the staged texts)."""
    _packages(spec, targets, plan)
    _lint_registrations(spec, plan)
    _tables(spec, targets, plan)


def _packages(spec: CloneSpec, targets: Targets, plan: Plan) -> None:
    placement = spec.placement
    src_family_pkg = f"megatron.bridge.models.{spec.source.family.name.replace('/', '.')}"
    package_map = {src_family_pkg: placement.package}
    src_pkg = "megatron.bridge.models." + placement.src_dir.replace("/", ".")
    if src_pkg != src_family_pkg:
        package_map[src_pkg] = placement.package  # a sub-package per model: exaone.exaone4 -> exaone.exaone5
    new_family_init = f"{MODELS_DIR}/{placement.model_dir}/__init__.py"
    if placement.moved and not (spec.root / new_family_init).exists():
        plan.create(new_family_init, _new_family_init(spec), FROM_TEMPLATE)
    moved = _moved_dirs(spec)
    for rel in targets.package_inits:
        text = plan.current(rel)
        if text is None:
            continue
        folder = rel.rsplit("/", 1)[0]
        if folder in moved:
            # SRC's own package: the clone registers in the chosen family's package instead.
            if moved[folder] != folder:
                _register_moved(spec, plan, rel, f"{moved[folder]}/__init__.py")
            continue
        new = register_clone(
            text,
            path=rel,
            module_map=dict(spec.module_map),
            name_map=dict(spec.name_map),
            package_map=package_map,
            exports={m: list(names) for m, names in spec.exports.items()},
            comment=spec.renamer.prose,
        )
        if new != text:
            plan.modify(rel, new, f"registers {spec.names.stem} where {spec.source.stem} is registered")
    if placement.moved:
        _register_in_parent(spec, plan, new_family_init)


def _moved_dirs(spec: CloneSpec) -> dict[str, str]:
    """SRC's package folders whose `__init__` the clone leaves -> the clone's folder: SRC's model folder (and
    its family's, when the clone goes to another family) and the recipe folders the recipes left."""
    placement = spec.placement
    out: dict[str, str] = {}
    if placement.moved:
        new = f"{MODELS_DIR}/{placement.model_dir}"
        out[f"{MODELS_DIR}/{placement.src_dir}"] = new
        if placement.family != spec.source.family.name:
            out[f"{MODELS_DIR}/{spec.source.family.name}"] = new
    for old, new in spec.files.recipes:
        old_dir, new_dir = old.rsplit("/", 1)[0], new.rsplit("/", 1)[0]
        if old_dir.split("/")[:5] != new_dir.split("/")[:5]:
            out[old_dir] = new_dir
    return out


def _register_moved(spec: CloneSpec, plan: Plan, src_init: str, dst_init: str) -> None:
    """Register the clone in `dst_init` as SRC is in `src_init` (another family's package): the same imports
    and `__all__` entries, renamed; a missing `dst_init` is created with them."""
    src_text = plan.current(src_init) or ""
    imports: list[tuple[str, list[str] | None]] = []
    exported: list[str] = []
    for mod, names in from_imports(src_text, package_of(src_init), src_init):
        new_mod = spec.module_map.get(mod)
        if new_mod is None:
            continue
        olds = list(spec.exports.get(mod, ())) if names is None else names
        renamed = [spec.name_map[n] for n in olds if n in spec.name_map]
        if names is not None and not renamed:
            continue
        imports.append((new_mod, None if names is None else renamed))
        exported += renamed
    if not imports:
        return
    src_all = all_entries(src_text, src_init)
    listed = [n for n in exported if src_all is not None and any(spec.name_map.get(o) == n for o in src_all)]
    text = plan.current(dst_init)
    if text is None:
        body = "".join(
            f"from {mod} import *  # noqa: F403\n"
            if names is None
            else f"from {mod} import {', '.join(names)}\n"
            for mod, names in imports
        )
        all_list = (
            "\n\n__all__ = [\n" + "".join(f'    "{n}",\n' for n in listed) + "]\n"
            if src_all is not None
            else ""
        )
        plan.create(dst_init, license_header(spec.year) + "\n" + body + all_list, FROM_TEMPLATE)
        _register_star(spec, plan, src_init, dst_init)
        return
    new = text
    for mod, names in imports:
        kind = "add-star-import" if names is None else "add-import"
        new = apply_edit(new, Edit(kind, dst_init, mod, tuple(names or ())))
    if listed and all_entries(new, dst_init) is not None:
        new = apply_edit(new, Edit("add-all-entry", dst_init, names=tuple(listed)))
    if new == text:
        return
    if plan.creates(dst_init):
        plan.modify(dst_init, new)
    else:
        plan.modify(dst_init, new, f"registers {spec.names.stem} in its family {spec.placement.family}")


def _register_star(spec: CloneSpec, plan: Plan, src_init: str, dst_init: str) -> None:
    """A new package the tree star-imports SRC's beside (`recipes/__init__.py`) is star-imported there too."""
    src_pkg = module_name(src_init)
    dst_pkg = module_name(dst_init)
    parent = src_init.rsplit("/", 2)[0] + "/__init__.py"
    for rel in {parent, f"{RECIPES_DIR}/__init__.py"}:
        text = plan.current(rel)
        if text is None:
            continue
        modules = imported_modules(text, package_of(rel), rel)
        if src_pkg in modules and modules[src_pkg] is None and dst_pkg not in modules:
            plan.modify(
                rel,
                apply_edit(text, Edit("add-star-import", rel, dst_pkg)),
                f"imports the new package {dst_pkg}",
            )


def _register_in_parent(spec: CloneSpec, plan: Plan, new_init: str) -> None:
    """A model sub-package (`exaone/exaone4x/`) is imported and exported by its family's `__init__`."""
    placement = spec.placement
    if "/" not in placement.model_dir:
        return
    parent = f"{MODELS_DIR}/{placement.model_dir.rsplit('/', 1)[0]}/__init__.py"
    text = plan.current(parent)
    if text is None:
        return
    names = tuple(
        spec.renamer.identifier(b.name) for b in spec.source.module_bridges if b.name in spec.name_map
    )
    created = plan.current(new_init) or ""
    names = tuple(all_entries(created, new_init) or names)
    if not names:
        return
    new = apply_edit(text, Edit("add-import", parent, placement.package, names))
    if all_entries(new, parent) is not None:
        new = apply_edit(new, Edit("add-all-entry", parent, names=names))
    if new != text:
        plan.modify(parent, new, f"imports the new sub-package {placement.package}")


def _new_family_init(spec: CloneSpec) -> str:
    """A new family (or model sub-) package's `__init__`: imports and `__all__` of the classes its cloned modules define."""
    imports: list[str] = []
    exported: list[str] = []
    for old_mod, new_mod in sorted(spec.module_map.items()):
        if new_mod.rsplit(".", 1)[0] != spec.placement.package:
            continue
        path_old = module_path(spec.root, old_mod)
        classes = indexed_module(spec.index, path_old).classes if path_old else {}
        names = [spec.name_map[n] for n in classes if n in spec.name_map]
        if names:
            imports.append(f"from {new_mod} import {', '.join(names)}\n")
            exported.extend(names)
    all_list = "\n\n__all__ = [\n" + "".join(f'    "{n}",\n' for n in exported) + "]\n"
    return license_header(spec.year) + "\n" + "".join(imports) + all_list


def _imports_name(source: str, path: str, name: str, module: str) -> bool:
    """Whether the module imports `name` (by name, or `*` from its defining `module`)."""
    return any(
        (names is None and mod == module) or (names is not None and name in names)
        for mod, names in imported_modules(source, package_of(path), path).items()
    )


def _lint_registrations(spec: CloneSpec, plan: Plan) -> None:
    """Register each new bridge everywhere the lint expects (MBR001/002/004), also where SRC is not:
    the clone mirrors SRC's registrations, not its gaps."""
    family_init = f"{MODELS_DIR}/{spec.family}/__init__.py"
    models_init = f"{MODELS_DIR}/__init__.py"
    family_pkg = f"megatron.bridge.models.{spec.family}"
    for bridge in spec.source.module_bridges:
        name = spec.renamer.identifier(bridge.name)
        module = spec.module_map.get(bridge.module)
        if name not in spec.registrations or module is None:
            continue
        needed: list[tuple[str, Edit, str]] = []
        # a new family's `__init__` (`_new_family_init`) imports and exports its bridges already; the
        # lint's registrations go where the tree registers models today
        family_text = None if plan.creates(family_init) else plan.current(family_init)
        if family_text is not None:
            if not _imports_name(family_text, family_init, name, module):
                needed.append((family_init, Edit("add-import", family_init, module, (name,)), "MBR001"))
            if (entries := all_entries(family_text, family_init)) is not None and name not in entries:
                needed.append((family_init, Edit("add-all-entry", family_init, names=(name,)), "MBR002"))
        models_text = plan.current(models_init)
        entries = all_entries(models_text, models_init) if models_text is not None else None
        if models_text is not None and entries is not None and name not in entries:
            if not _imports_name(models_text, models_init, name, module):
                via = family_pkg if family_text is not None else module
                needed.append((models_init, Edit("add-import", models_init, via, (name,)), "MBR004"))
            needed.append((models_init, Edit("add-all-entry", models_init, names=(name,)), "MBR004"))
        for rel, edit, code in needed:
            text = apply_edit(plan.current(rel) or "", edit)
            what = "exports" if edit.kind == "add-all-entry" else "imports"
            plan.modify(rel, text, f"{what} {name} ({spec.source.bridge.name} is missing there: {code})")


def _tables(spec: CloneSpec, targets: Targets, plan: Plan) -> None:
    """Per-family tables in tests (the registration matrix): architecture -> dotted bridge path."""
    src_paths = {f"{b.module}.{b.name}": b for b in spec.source.module_bridges}
    for rel in targets.tables:
        text = plan.current(rel)
        if text is None:
            continue
        new = text
        for dotted, bridge in src_paths.items():
            if dotted not in text or not bridge.registrations or not bridge.registrations[0].source:
                continue
            reg = spec.registrations.get(spec.renamer.identifier(bridge.name))
            if reg is None:
                continue
            try:
                new = add_dict_entry(
                    new,
                    anchor_key=bridge.registrations[0].source,
                    key=reg.source,
                    value=f'"{spec.ctx.dotted_string(dotted)}"',
                    path=rel,
                )
            except PlanConflictError:
                continue
            if reg.as_string:
                for variable in re.findall(r"^([A-Z_]*STRING[A-Z_]*)\s*=", new, flags=re.MULTILINE):
                    new = add_set_member(new, variable=variable, value=reg.source, path=rel)
        if new != text:
            plan.modify(rel, new, "adds the new architecture to the registration table")
