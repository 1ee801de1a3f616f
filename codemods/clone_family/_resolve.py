"""Stage 1, `resolve`: a CloneRequest -> the frozen CloneSpec every later stage reads.

Resolves SRC, checks every flag and the new config (raising before anything is rendered), derives the new
names, finds SRC's files and their clones' paths (the module map), and builds the renamers, registrations
and clone contexts from them.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path, PurePosixPath

from analyzers.catalog.modules import indexed_module, module_name, module_path
from analyzers.catalog.records import Catalog
from analyzers.errors import ConfigError, ParseError, PlanConflictError, ResolveError
from analyzers.hf_config import ModelSpec, load_spec
from analyzers.hf_names_record import HFNames, NamesUnavailable
from analyzers.repo import MODELS_DIR
from analyzers.source_index import SourceIndex
from codemods.clone_family._clone_module import CloneContext, Registration
from codemods.clone_family._config_edits import decide
from codemods.clone_family._discover import find_cloned_files
from codemods.clone_family._placement import place
from codemods.clone_family._registry_edits import RegistryPlan, edit_registry, plan_registry
from codemods.clone_family._spec import ClonedFiles, CloneRequest, CloneSpec
from codemods.clone_family._transformers_index import registered_class, registered_mapping, transformers_has
from codemods.naming import (
    ModelNames,
    Renamer,
    Variant,
    align_camel,
    check_hf_class,
    check_hub_id,
    check_model_type,
    check_stem,
    class_prefix_of,
    hf_suffix,
    rename_camel,
)
from codemods.resolve import ResolvedSource, other_model_spellings, other_stems, resolve_source

__all__ = ["resolve"]


def resolve(root: Path, catalog: Catalog, request: CloneRequest, year: int, index: SourceIndex) -> CloneSpec:
    """The spec of cloning `request.src` as `request.dst` in the tree at `root` (reads, never writes; every
    file through the run's `index`, which the spec carries on to the later stages).

    Raises ResolveError (SRC unknown or ambiguous, a flag malformed), ConfigError (`--config` unreadable or
    malformed), ParseError (SRC's module cannot be read) and PlanConflictError (`--family-dir` shadows a module).
    """
    config = _load_config(request.config)
    hf_names = _collect_names(config)
    picked: list[str] = []
    if request.src is None:
        if config is None:
            raise ResolveError(f"clone-family {request.dst}: SRC is missing; name it, or pass --config")
        names = hf_names if isinstance(hf_names, HFNames) else None
        request = dataclasses.replace(
            request, src=_nearest_source(catalog, config, names, request, picked, index)
        )
    return _resolve(root, catalog, request, year, config, hf_names, picked, index)


def _resolve(
    root: Path,
    catalog: Catalog,
    request: CloneRequest,
    year: int,
    config: ModelSpec | None,
    hf_names: HFNames | NamesUnavailable | None,
    picked: list[str],
    index: SourceIndex,
) -> CloneSpec:
    found = hf_names if isinstance(hf_names, HFNames) else None
    source = _source(catalog, request.src or "")
    names = _names(root, request, source, config)
    placement = place(root, catalog, source, names.stem, request.family_dir)
    family = placement.family
    report: list[str] = picked + ([placement.reason] if placement.moved or request.family_dir else [])
    own = {b.name for b in source.module_bridges}
    protected = other_model_spellings(catalog, own, source.family, source.stem)
    others = frozenset(other_stems(catalog, own))
    paths = Renamer(
        [Variant(source.stem, names.stem), Variant(source.stem.replace("_", "-"), names.hyphen)],
        protected=protected,
    )
    files = find_cloned_files(root, source, placement, paths, others)
    taken = _taken_prefix(catalog, names, source, files)
    if taken is not None:
        free = _free_prefix(catalog, names, source)
        if free is None:
            raise PlanConflictError(f"class {names.bridge_class} already exists; pass --class-prefix", taken)
        again = _resolve(
            root, catalog, dataclasses.replace(request, class_prefix=free), year, config, hf_names, [], index
        )
        note = f"class prefix {free} (not {names.class_prefix}: class {names.bridge_class} already exists in {taken})"
        return dataclasses.replace(again, report=(*picked, note, *again.report))
    if names.bridge_class not in request.exclude_teachers and any(
        b.name == names.bridge_class for b in catalog.bridges
    ):
        # a second run of this clone: what it wrote the first time teaches nothing about the model (else a
        # rule on a field only the new bridge reads would count as taught, and the second plan would differ)
        request = dataclasses.replace(
            request, exclude_teachers=(*request.exclude_teachers, names.bridge_class)
        )
    py_pairs = [(o, n) for o, n in files.models + files.recipes if o.endswith(".py")]
    module_map = {module_name(o): module_name(n) for o, n in py_pairs}
    renamer = _renamer(source, names, protected, _class_names(index, [o for o, _ in py_pairs]))
    registrations = _registrations(source, names, renamer)
    hf_org = _hf_org(index, source, names) if names.hf_id and "/" in names.hf_id else None
    recipe_renamer = _recipe_renamer(index, source, names, renamer, protected, files, report)
    recipe_modules = {module_name(o) for o, _ in files.recipes}
    name_map, exports = _exports(index, module_map, renamer, {m: recipe_renamer for m in recipe_modules})
    clashes = _recipe_clashes(index, catalog, files, name_map, names)
    if clashes:
        # Wildcard imports (`recipes/__init__.py`) would let a clone shadow the existing recipe of that name.
        extra = [Variant(old, new) for old, new in clashes.items()]
        recipe_renamer = Renamer(list(recipe_renamer.variants) + extra, protected=recipe_renamer.protected)
        name_map, exports = _exports(index, module_map, renamer, {m: recipe_renamer for m in recipe_modules})
        shown = ", ".join(f"{o} -> {n}" for o, n in list(clashes.items())[:3])
        more = f" and {len(clashes) - 3} more" if len(clashes) > 3 else ""
        report.append(
            f"recipes: {len(clashes)} cloned recipe functions would collide with existing recipe exports; "
            f"renamed {shown}{more}"
        )
    # Names the family package will re-export once registered: imports of them follow the clone.
    model_names = {
        old: new
        for o, _ in files.models
        if o.endswith(".py")
        for old in exports.get(module_name(o), ())
        if (new := name_map.get(old))
    }
    family_pkg = f"megatron.bridge.models.{source.family.name.replace('/', '.')}"
    hf_classes = _hf_classes(source, names, report)
    contexts = [
        CloneContext(
            renamer=r,
            module_map=module_map,
            registrations=registrations,
            hf_org=hf_org,
            package_names={family_pkg: model_names},
            package_map={family_pkg: placement.package},
            hf_classes=hf_classes,
            hub_placeholders=names.hf_id is None,
        )
        for r in (renamer, recipe_renamer)
    ]
    decisions = None
    if config is not None:
        registry = _registry_plan(index, catalog, source, config, hf_names, request.exclude_teachers, report)
        decisions = decide(
            config,
            source.bridge,
            catalog,
            registry,
            index=index,
            hf_names=found,
            cloned=frozenset(o for o, _ in files.models),
            exclude=request.exclude_teachers,
        )
        report.extend(f"config: {line}" for line in decisions.report)
    return CloneSpec(
        root=root,
        catalog=catalog,
        request=request,
        year=year,
        source=source,
        config=config,
        names=names,
        family=family,
        placement=placement,
        others=others,
        paths=paths,
        files=files,
        module_map=module_map,
        renamer=renamer,
        ctx=contexts[0],
        recipe_ctx=contexts[1],
        registrations=registrations,
        name_map=name_map,
        exports=exports,
        decisions=decisions,
        report=tuple(report),
        index=index,
        hf_names=found,
    )


# --- SRC, its config and the new names --------------------------------------------------------------
def _source(catalog: Catalog, src: str) -> ResolvedSource:
    try:
        return resolve_source(catalog, src)
    except ResolveError:
        for problem in catalog.problems:
            name = PurePosixPath(problem.location.path).name.lower()
            if problem.location.path.startswith(MODELS_DIR) and src.lower() in name:
                raise ParseError(
                    f"SRC {src!r} may be defined here, which cannot be read: {problem.message}",
                    problem.location.path,
                ) from None
        raise


def _collect_names(config: ModelSpec | None) -> HFNames | NamesUnavailable | None:
    """The new model's checkpoint names, collected once for every stage (nearest, the registry and provider
    plans, expressibility); why they are unavailable instead; None without `--config`."""
    if config is None:
        return None
    from analyzers.hf_names import collect_hf_names

    try:
        return collect_hf_names(config)
    except NamesUnavailable as exc:
        return exc


def _nearest_source(
    catalog: Catalog,
    config: ModelSpec,
    names: HFNames | None,
    request: CloneRequest,
    report: list[str],
    index: SourceIndex,
) -> str:
    """SRC for a clone from `config` alone: nearest's top candidate, reported with its score and reasons."""
    from analyzers.nearest import rank

    candidates = rank(
        config,
        catalog,
        names.names if names else None,
        shapes=names.shapes if names else None,
        exclude=request.exclude_teachers,
        top=1,
        index=index,
    )
    if not candidates:
        raise ResolveError(
            f"clone-family {request.dst}: nearest finds no bridge to clone for {config.source}"
        )
    best = candidates[0]
    reasons = "; ".join(best.reasons[:3])
    report.append(
        f"SRC {best.bridge} ({best.family}): nearest's top candidate, score {best.score:.3f}: {reasons}"
    )
    return best.bridge


def _load_config(config: str | None) -> ModelSpec | None:
    return load_spec(config) if config else None


def _names(root: Path, req: CloneRequest, src: ResolvedSource, config: ModelSpec | None) -> ModelNames:
    """The new model's names: DST and the flags, else the config's, else SRC's renamed; each checked."""
    check_stem(req.dst)
    if req.dst == src.stem:
        raise ResolveError(f"DST {req.dst!r} is SRC itself")
    model_type, hf_class, hf_id = req.model_type, req.hf_class, req.hf_id
    if model_type is not None:
        check_model_type(model_type)
    if hf_class is not None:
        check_hf_class(hf_class)
    if hf_id is not None:
        check_hub_id(hf_id)
    if config is not None:
        where = config.source
        if model_type is None and config.model_type:
            model_type = check_model_type(config.model_type, "config model_type", where)
        if hf_class is None:
            architectures = config.config.get("architectures")
            if architectures is not None and not isinstance(architectures, list):
                raise ConfigError(
                    f"config architectures {architectures!r} is not a list of class names", where
                )
            if architectures:
                hf_class = check_hf_class(architectures[0], "config architectures[0]", where)
        if hf_id is None and config.origin == "hub":
            hf_id = check_hub_id(config.source, "hub id", where)
        if hf_id is None and config.config.get("_name_or_path"):
            hf_id = check_hub_id(
                config.config["_name_or_path"], "config _name_or_path (pass --hf-id to override)", where
            )
    if hf_class is None and (src.hf_class or "").endswith("ForCausalLM"):
        # transformers' own spelling of the architecture (`Ernie4_5ForCausalLM`), not SRC's renamed.
        hf_class = registered_class(model_type or req.dst, "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES")
    return ModelNames.derive(
        req.dst,
        src_stem=src.stem,
        src_prefix=_src_prefix(src),
        src_hf_class=src.hf_class,
        class_prefix=req.class_prefix,
        hf_class=hf_class,
        model_type=model_type,
        hf_id=hf_id,
    )


def _taken_prefix(catalog: Catalog, names: ModelNames, src: ResolvedSource, files: ClonedFiles) -> str | None:
    """The path of another model's bridge already named like the clone's (none: the clone's own, on a rerun)."""
    clone_path = next((new for old, new in files.models if old == src.bridge.path), None)
    return next(
        (b.path for b in catalog.bridges if b.name == names.bridge_class and b.path != clone_path), None
    )


def _free_prefix(catalog: Catalog, names: ModelNames, src: ResolvedSource) -> str | None:
    """A class prefix no bridge or provider has: transformers' for the model_type (`Ernie4_5`), the stem
    with `_` kept between digits, then numbered."""
    used = {class_prefix_of(b.name) for b in catalog.bridges} | {
        class_prefix_of(p) for f in catalog.families for p in f.providers
    }
    hf = registered_class(names.model_type, "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES") or ""
    suffix = hf_suffix(hf)
    tokens = names.stem.split("_")
    joined = tokens[0][:1].upper() + tokens[0][1:]
    for prev, token in zip(tokens, tokens[1:], strict=False):
        keep = prev[-1:].isdigit() and token[:1].isdigit()
        joined += ("_" if keep else "") + token[:1].upper() + token[1:]
    candidates = [hf[: -len(suffix)] if suffix else "", joined]
    candidates += [f"{names.class_prefix}V{n}" for n in range(2, 10)]
    return next((c for c in candidates if c and c not in used and c != names.class_prefix), None)


def _src_prefix(src: ResolvedSource) -> str:
    """The CamelCase prefix of SRC's bridge class that spells its stem (`Qwen3VL` of `Qwen3VLBridge`)."""
    segments = align_camel(src.bridge.name, src.stem)
    if segments is not None:
        return "".join(segments[:-1])
    return class_prefix_of(src.bridge.name)


# --- what the rename must leave alone ---------------------------------------------------------------
# --- the renamers -----------------------------------------------------------------------------------
def _class_names(index: SourceIndex, paths: list[str]) -> set[str]:
    """The classes SRC's modules define."""
    return {name for path in paths for name in indexed_module(index, path).classes}


def _renamer(src: ResolvedSource, names: ModelNames, protected: set[str], class_names: set[str]) -> Renamer:
    """Every spelling of SRC in its modules -> the new one: stems, model types, HF sources, class prefixes."""
    variants = [Variant(src.stem, names.stem), Variant(src.stem.upper(), names.upper)]
    if "_" in src.stem:
        variants.append(Variant(src.stem.replace("_", "-"), names.hyphen))
    base = Renamer([Variant(src.stem, names.stem)])
    for bridge in src.module_bridges:
        for reg in bridge.registrations:
            if reg.model_type and re.fullmatch(r"[a-z][a-z0-9_]*", reg.model_type):
                new = names.model_type if bridge is src.bridge else base.identifier(reg.model_type)
                variants.append(Variant(reg.model_type, new))
            if reg.source:
                variants.append(Variant(reg.source, _new_source(src, names, bridge.name, reg.source)))
    src_prefix = _src_prefix(src)
    variants.append(Variant(src_prefix, names.class_prefix))
    old_segments = align_camel(src_prefix, src.stem)
    new_segments = align_camel(names.class_prefix, names.stem)
    if old_segments and new_segments and len(old_segments) > 2:
        # Prose and hub ids spell multi-token names with hyphens: Qwen3-VL -> Qwen4-VL.
        variants.append(Variant("-".join(old_segments[:-1]), "-".join(new_segments[:-1])))
    variants.append(Variant(src.bridge.name, names.bridge_class))
    for cls in sorted(class_names):
        segments = align_camel(cls, src.stem)
        if segments is None:
            continue
        seg = "".join(segments[:-1])
        if seg == src_prefix:
            continue
        new = rename_camel(seg, src.stem, names.stem)
        if new:
            variants.append(Variant(seg, new))
    return Renamer(variants, protected=protected)


def _new_source(src: ResolvedSource, names: ModelNames, bridge: str, source: str) -> str:
    """The HF source a cloned bridge registers in place of SRC's `source`."""
    if bridge == src.bridge.name and source == src.hf_class:
        return names.hf_class
    suffix = hf_suffix(source)
    src_hf = src.hf_class or ""
    src_suffix = hf_suffix(src_hf)
    old_prefix = src_hf[: -len(src_suffix)] if src_suffix else src_hf
    if old_prefix and source.startswith(old_prefix) and suffix:
        return names.hf_prefix + source[len(old_prefix) :]
    return rename_camel(source, src.stem, names.stem) or source


def _recipe_renamer(
    index: SourceIndex,
    src: ResolvedSource,
    names: ModelNames,
    renamer: Renamer,
    protected: set[str],
    files: ClonedFiles,
    report: list[str],
) -> Renamer:
    """The renamer for recipe modules: recipe functions may start with a shorter prefix than the stem
    (`qwen3_30b_a3b_*` in `qwen3_moe.py`); that prefix becomes the new recipe prefix there (`qwen4_moe_30b_a3b_*`)."""
    functions: list[str] = []
    for path, _ in files.recipes:
        info = indexed_module(index, path)
        aliases = [local for local, (_, name) in info.imports.items() if local != name]
        functions += [
            n for n in [*info.functions, *aliases] if n.endswith("_config") and not n.startswith("_")
        ]
    if not functions:
        return renamer
    common: list[str] = []
    for group in zip(*(n.split("_") for n in functions), strict=False):
        if len(set(group)) != 1:
            break
        common.append(group[0])
    prefix = "_".join(common)
    stem = src.stem
    if not prefix or prefix == stem or prefix.startswith(stem + "_") or not stem.startswith(prefix + "_"):
        return renamer
    new = names.recipe_prefix
    report.append(f"recipes: functions {prefix}_* of {stem} become {new}_*")
    extra = [Variant(prefix, new), Variant(prefix.upper(), new.upper())]
    return Renamer(list(renamer.variants) + extra, protected=protected - {prefix, prefix.upper()})


def _recipe_clashes(
    index: SourceIndex, catalog: Catalog, files: ClonedFiles, name_map: dict[str, str], names: ModelNames
) -> dict[str, str]:
    """Cloned recipe functions whose new name is an existing recipe's -> `<recipe prefix>_<old name>`."""
    own = {module_name(new) for _, new in files.recipes}  # the clone's own, on a rerun
    existing = {f.name for r in catalog.recipes for f in r.functions if f.module not in own}
    out: dict[str, str] = {}
    for old_path, _ in files.recipes:
        info = indexed_module(index, old_path)
        for name in info.functions:
            if not name.startswith("_") and name_map.get(name, name) in existing:
                out[name] = f"{names.recipe_prefix}_{name}"
    return out


def _exports(
    index: SourceIndex, module_map: dict[str, str], renamer: Renamer, renamers: dict[str, Renamer]
) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """Old -> new names that cloned modules define or re-export, and each old module's names."""
    name_map: dict[str, str] = {}
    exports: dict[str, tuple[str, ...]] = {}
    for old_mod in module_map:
        path = module_path(index.root, old_mod)
        if path is None:
            continue
        info = indexed_module(index, path)
        defined = [*info.classes, *info.functions, *info.assignments, *info.imports]
        exported = tuple(n for n in dict.fromkeys(defined) if not n.startswith("__"))
        exports[old_mod] = exported
        module_renamer = renamers.get(old_mod, renamer)
        for name in exported:
            new = module_renamer.identifier(name)
            if new != name:
                name_map[name] = new
    return name_map, exports


def _hf_classes(src: ResolvedSource, names: ModelNames, report: list[str]) -> dict[str, str]:
    """SRC's HF config and causal-LM classes -> those transformers' registry names for the new model_type."""
    causal = "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES"
    src_types = [
        mt for mt, cls in (registered_mapping(causal) or {}).items() if src.hf_class and cls == src.hf_class
    ] or [src.model_type or ""]
    # Gemma3ForCausalLM serves gemma3 and gemma3_text: the text model's config is the causal LM's.
    src_types = [mt for mt in src_types if mt.endswith("_text")] or src_types
    out: dict[str, str] = {}
    for mapping in ("CONFIG_MAPPING_NAMES", causal):
        new = registered_class(names.model_type, mapping)
        for model_type in src_types:
            old = registered_class(model_type, mapping)
            if old and new and old != new:
                out.setdefault(old, new)
    if out:
        listed = ", ".join(f"{old} -> {new}" for old, new in out.items())
        report.append(f"transformers classes from its registry for model_type {names.model_type!r}: {listed}")
    return out


# --- registrations and hub ids ----------------------------------------------------------------------
def _registrations(src: ResolvedSource, names: ModelNames, renamer: Renamer) -> dict[str, Registration]:
    """New bridge class -> what it registers: the new HF source (a string when transformers lacks it)."""
    out: dict[str, Registration] = {}
    for bridge in src.module_bridges:
        new_bridge = renamer.identifier(bridge.name)
        for reg in bridge.registrations[:1]:
            if not reg.source:
                continue
            new_source = _new_source(src, names, bridge.name, reg.source)
            as_string = reg.source_kind != "class" or not transformers_has(new_source)
            if reg.model_type is None:
                model_type = None
            elif bridge is src.bridge:
                model_type = names.model_type
            else:
                model_type = renamer.identifier(reg.model_type)
            out[new_bridge] = Registration(new_source, as_string, model_type)
    return out


#: a hub id, `org/name` (group 1: the org), and one quoted in prose (a docstring's `from_pretrained("Qwen/...")`)
_HUB_ID = re.compile(r"([A-Za-z0-9][\w.-]*)/[\w.-]+")
_QUOTED_HUB_ID = re.compile(rf'"{_HUB_ID.pattern}"')


def _hub_orgs(tree: ast.Module) -> list[str]:
    """The organisation of each hub id the module's strings spell: a string that is one, or one quoted in a
    string (the examples of its docstrings), once per spelling."""
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            whole = _HUB_ID.fullmatch(node.value)
            out += [whole.group(1)] if whole else _QUOTED_HUB_ID.findall(node.value)
    return out


def _hf_org(index: SourceIndex, src: ResolvedSource, names: ModelNames) -> tuple[str, str] | None:
    """(old org, new org) of hub ids when `--hf-id` names another organisation than SRC's checkpoints."""
    new_org = (names.hf_id or "").split("/", 1)[0]
    old_orgs = _hub_orgs(indexed_module(index, src.bridge.path).tree)
    old = max(set(old_orgs), key=old_orgs.count, default=None)
    return (old, new_org) if old and old != new_org else None


# --- --config ---------------------------------------------------------------------------------------
def _registry_plan(
    index: SourceIndex,
    catalog: Catalog,
    src: ResolvedSource,
    config: ModelSpec,
    hf_names: HFNames | NamesUnavailable | None,
    exclude_teachers: tuple[str, ...],
    report: list[str],
) -> RegistryPlan | None:
    """Registry edits from the new model's HF checkpoint names; None (block TODOs) when they are unavailable."""
    if not isinstance(hf_names, HFNames):
        report.append(f"config: mapping blocks left as TODOs: {hf_names}")
        return None
    plan = plan_registry(
        catalog, src.bridge, hf_names, exclude=exclude_teachers, model_type=config.model_type
    )
    _, misses = edit_registry(index.source(src.bridge.path, universal=True), src.bridge.name, plan)
    plan.todos.extend(misses)
    plan.report.extend(f"TODO mapping_registry: {m}" for m in misses)
    plan.report.insert(
        0,
        f"{len(hf_names.names)} HF checkpoint names of the new model (from {hf_names.source}"
        + (f", {hf_names.model_class}" if hf_names.model_class else "")
        + f"): {len(plan.drops)} mappings dropped, {len(plan.adds)} added, {len(plan.retargets)} retargeted",
    )
    return plan
