"""Stage 4, `register`: the clone registered wherever SRC is, and wherever the lint expects a bridge.

Package `__init__`s import and export the clone's modules and names beside SRC's (a new `--family-dir` gets
its own `__init__`); each new bridge is imported and exported as MBR001/002/004 require, also where SRC is
missing; test tables that map SRC's architectures to its dotted bridge path gain the clone's row.
"""

from __future__ import annotations

import re

from analyzers.catalog.modules import module_path, package_of
from analyzers.cst_edits import add_dict_entry, add_set_member, all_entries, imported_modules
from analyzers.errors import PlanConflictError
from analyzers.lint.fixes import apply_edit
from analyzers.lint.rule import Edit
from analyzers.repo import MODELS_DIR
from codemods.clone_family._spec import CloneSpec, Staging, Targets
from codemods.clone_family._templates import license_header
from codemods.registrations import register_clone

__all__ = ["register"]


def register(spec: CloneSpec, targets: Targets, staging: Staging) -> None:
    """Stage the registration edits of the clone (after `render`: they read the staged texts)."""
    _packages(spec, targets, staging)
    _lint_registrations(spec, staging)
    _tables(spec, targets, staging)


def _packages(spec: CloneSpec, targets: Targets, staging: Staging) -> None:
    src_family_pkg = f"megatron.bridge.models.{spec.source.family.name.replace('/', '.')}"
    package_map = {src_family_pkg: f"megatron.bridge.models.{spec.family}"}
    new_family_init = f"{MODELS_DIR}/{spec.family}/__init__.py"
    if spec.request.family_dir and not (spec.root / new_family_init).exists():
        staging.create(new_family_init, _new_family_init(spec), "")
    for rel in targets.package_inits:
        text = staging.current(rel)
        if text is None:
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
            staging.modify(rel, new, f"registers {spec.names.stem} where {spec.source.stem} is registered")


def _new_family_init(spec: CloneSpec) -> str:
    """A `--family-dir` package's `__init__`: imports and `__all__` of the classes its cloned modules define."""
    imports: list[str] = []
    exported: list[str] = []
    for old_mod, new_mod in sorted(spec.module_map.items()):
        if (
            not old_mod.startswith(f"megatron.bridge.models.{spec.source.family.name}.")
            or new_mod.count(".") != 4
        ):
            continue
        path_old = module_path(spec.root, old_mod) or ""
        text = (spec.root / path_old).read_text(encoding="utf-8") if path_old else ""
        names = [
            spec.name_map[n]
            for n in re.findall(r"^class (\w+)", text, flags=re.MULTILINE)
            if n in spec.name_map
        ]
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


def _lint_registrations(spec: CloneSpec, staging: Staging) -> None:
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
        family_text = staging.current(family_init)
        if family_text is not None:
            if not _imports_name(family_text, family_init, name, module):
                needed.append((family_init, Edit("add-import", family_init, module, (name,)), "MBR001"))
            if (entries := all_entries(family_text, family_init)) is not None and name not in entries:
                needed.append((family_init, Edit("add-all-entry", family_init, names=(name,)), "MBR002"))
        models_text = staging.current(models_init)
        entries = all_entries(models_text, models_init) if models_text is not None else None
        if models_text is not None and entries is not None and name not in entries:
            if not _imports_name(models_text, models_init, name, module):
                via = family_pkg if family_text is not None else module
                needed.append((models_init, Edit("add-import", models_init, via, (name,)), "MBR004"))
            needed.append((models_init, Edit("add-all-entry", models_init, names=(name,)), "MBR004"))
        for rel, edit, code in needed:
            text = apply_edit(staging.current(rel) or "", edit)
            what = "exports" if edit.kind == "add-all-entry" else "imports"
            staging.modify(rel, text, f"{what} {name} ({spec.source.bridge.name} is missing there: {code})")


def _tables(spec: CloneSpec, targets: Targets, staging: Staging) -> None:
    """Per-family tables in tests (the registration matrix): architecture -> dotted bridge path."""
    src_paths = {f"{b.module}.{b.name}": b for b in spec.source.module_bridges}
    for rel in targets.tables:
        text = staging.current(rel)
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
            staging.modify(rel, new, "adds the new architecture to the registration table")
