"""Per-file facts -> Catalog: resolve inheritance across modules, group families, recipes, tests, docs."""

from __future__ import annotations

import copy
import re
from pathlib import Path

from analyzers import __version__
from analyzers.catalog.class_table import ClassTable
from analyzers.catalog.extract import FileFacts
from analyzers.catalog.provider_records import (
    base_provider_settings,
    bridge_provider_facts,
    provider_defaults,
)
from analyzers.catalog.quantization import LOAD_HOOK
from analyzers.catalog.records import (
    SCHEMA_VERSION,
    BridgeRecord,
    Catalog,
    FamilyRecord,
    MappingClassRecord,
    MappingRegistry,
    ParseProblem,
    RecipeFamily,
    RecipeFunction,
    Registration,
)
from analyzers.repo import BRIDGE_PKG, Repo

MODEL_BRIDGE = "megatron.bridge.models.conversion.model_bridge.MegatronModelBridge"
PARAM_MAPPING_MODULE = "megatron.bridge.models.conversion.param_mapping"
MODELS_PREFIX = f"{BRIDGE_PKG}/models/"
RECIPES_PREFIX = f"{BRIDGE_PKG}/recipes/"
DIFFUSION_PREFIX = f"{BRIDGE_PKG}/diffusion/conversion/"
#: folders under models/ that hold shared machinery, not a model family
NOT_FAMILIES = {"conversion", "common", "decorators", "hf_pretrained", "__pycache__"}


def _family_of(path: str) -> str | None:
    if path.startswith(MODELS_PREFIX):
        parts = path[len(MODELS_PREFIX) :].split("/")
        if len(parts) > 1 and parts[0] not in NOT_FAMILIES:
            return parts[0]
    elif path.startswith(DIFFUSION_PREFIX):
        parts = path[len(DIFFUSION_PREFIX) :].split("/")
        if len(parts) > 1:
            return f"diffusion/{parts[0]}"
    return None


def _family_dir(family: str) -> str:
    if family.startswith("diffusion/"):
        return DIFFUSION_PREFIX + family.split("/", 1)[1]
    return MODELS_PREFIX + family


def canonical(name: str) -> str:
    """Name reduced for matching folders, pages and families: `qwen2.5-vl` -> `qwen25vl`."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def family_keys(family: str, bridges: list[BridgeRecord]) -> set[str]:
    """Canonical names a family is known by: folder, bridge module stems, model types, class prefixes."""
    keys = {canonical(family.split("/")[-1])}
    for b in bridges:
        keys.add(canonical(b.module.rsplit(".", 1)[-1].removesuffix("_bridge")))
        keys.add(canonical(b.name.removesuffix("Bridge")))
        keys.update(canonical(r.model_type) for r in b.registrations if r.model_type)
    return keys - {""}


class FamilyNames:
    """Every family's canonical keys, with their digit-free forms, prepared once per catalog."""

    def __init__(self, keys: dict[str, set[str]]) -> None:
        self.keys = keys
        self.stripped = {family: {_strip_digits(k) for k in ks} for family, ks in keys.items()}
        self.short = {family: family.split("/")[-1].lower() for family in keys}


def _strip_digits(text: str) -> str:
    return re.sub(r"\d+", "", text)


def assign_names(candidates: list[str], names: FamilyNames) -> dict[str, list[str]]:
    """Family -> the candidate names (folders, pages) that belong to it, best tier only per candidate.

    Tiers: the canonical name is a key of the family; equal once digits are dropped; one is a `_` prefix
    of the other's folder name.
    """
    out: dict[str, list[str]] = {family: [] for family in names.keys}
    for cand in candidates:
        c = canonical(cand)
        c_stripped = _strip_digits(c)
        low = cand.lower()
        tiers = (
            [f for f, ks in names.keys.items() if c in ks],
            [f for f, ks in names.stripped.items() if c_stripped and c_stripped in ks],
            [
                f
                for f, short in names.short.items()
                if short.startswith(low + "_") or low.startswith(short + "_")
            ],
        )
        for tier in tiers:
            if tier:
                for family in tier:
                    out[family].append(cand)
                break
    return out


def _registry_of(qualname: str, table: ClassTable, seen: set[str] | None = None) -> MappingRegistry:
    """The registry `mapping_registry()` returns, following inheritance and `super()` calls."""
    seen = seen or set()
    seen.add(qualname)
    _, cls = table.by_qualname[qualname]
    own = cls.registry
    base_bridge = next(
        (a for a in table.ancestors(qualname) if a in table.by_qualname and table.by_qualname[a][1].registry),
        None,
    )
    if own is None:
        if base_bridge and base_bridge not in seen:
            inherited = copy.deepcopy(_registry_of(base_bridge, table, seen))
            inherited.inherits = table.by_qualname[base_bridge][1].name
            return inherited
        return MappingRegistry()
    if own.inherits and base_bridge and base_bridge not in seen:
        merged = copy.deepcopy(_registry_of(base_bridge, table, seen))
        merged.mappings.extend(own.mappings)
        merged.unresolved.extend(own.unresolved)
        merged.inherits = table.by_qualname[base_bridge][1].name
        merged.functions = own.functions
        return merged
    return own


def assemble(repo: Repo, facts: dict[str, FileFacts | ParseProblem], problems: list[ParseProblem]) -> Catalog:
    files = [f for f in facts.values() if isinstance(f, FileFacts)]
    problems = problems + [p for p in facts.values() if isinstance(p, ParseProblem)]
    table = ClassTable(files)
    by_path = {f.path: f for f in files}

    base_methods: set[str] = set()
    if MODEL_BRIDGE in table.by_qualname:
        base_methods = set(table.by_qualname[MODEL_BRIDGE][1].methods)

    # Mapping classes: the shared module's classes and everything deriving from them.
    shared_mapping = {q for q, (f, _) in table.by_qualname.items() if f.module == PARAM_MAPPING_MODULE}
    mapping_classes: list[MappingClassRecord] = []
    for qualname, (f, cls) in sorted(table.by_qualname.items()):
        if qualname in shared_mapping or any(a in shared_mapping for a in table.ancestors(qualname)):
            mapping_classes.append(
                MappingClassRecord(cls.name, cls.bases, f.path, cls.location, _family_of(f.path))
            )

    registrations: dict[tuple[str, str], list[Registration]] = {}
    for f in files:
        for reg in f.registrations:
            registrations.setdefault((f.module, reg.bridge), []).append(reg)

    bridges: list[BridgeRecord] = []
    for qualname, (f, cls) in sorted(
        table.by_qualname.items(), key=lambda kv: (kv[1][0].path, kv[1][1].location.line)
    ):
        family = _family_of(f.path)
        if family is None or not table.derives(qualname, MODEL_BRIDGE):
            continue
        regs = registrations.get((f.module, cls.name), [])
        if not regs:
            # register_bridge_implementation(bridge_class=X) may name a class imported from elsewhere.
            regs = [
                r
                for (mod, name), rs in registrations.items()
                if name == cls.name and mod != f.module
                for r in rs
            ]
        provider = cls.provider_class or next((r.provider for r in regs if r.provider), None)
        hooks = sorted(m for m in cls.methods if m in base_methods)
        bridges.append(
            BridgeRecord(
                name=cls.name,
                module=f.module,
                path=f.path,
                location=cls.location,
                family=family,
                bases=cls.bases,
                registrations=regs,
                provider_class=provider,
                hooks=hooks,
                provider_bridge_calls_super=cls.provider_bridge_calls_super,
                provider_attributes=cls.provider_attributes,
                config_fields=cls.config_fields,
                registry=_registry_of(qualname, table),
                doc=cls.doc,
                diffusion=family.startswith("diffusion/"),
                writes_model_type=cls.writes_model_type,
                dequant_formats=cls.dequant_formats if LOAD_HOOK in hooks else [],
                **bridge_provider_facts(qualname, table, MODEL_BRIDGE),
            )
        )

    recipes = _recipes(files, by_path)
    families = _families(repo, files, bridges, mapping_classes, table, by_path, recipes)
    config_mapping = next((f.config_mapping for f in files if f.config_mapping), [])
    return Catalog(
        schema_version=SCHEMA_VERSION,
        tool_version=__version__,
        root=str(repo.root),
        tree_kind=repo.kind,
        parts=repo.parts(),
        bridges=bridges,
        families=families,
        mapping_classes=mapping_classes,
        recipes=recipes,
        models_init=by_path[f"{MODELS_PREFIX}__init__.py"].init
        if f"{MODELS_PREFIX}__init__.py" in by_path
        else None,
        recipes_init=by_path[f"{RECIPES_PREFIX}__init__.py"].init
        if f"{RECIPES_PREFIX}__init__.py" in by_path
        else None,
        config_mapping=[tuple(p) for p in config_mapping],
        problems=sorted(problems, key=lambda p: (p.location.path, p.location.line)),
        base_provider_settings=base_provider_settings(table, MODEL_BRIDGE),
        provider_defaults=provider_defaults(
            table,
            {c for b in bridges for c in b.provider_classes}
            | {b.provider_class for b in bridges if b.provider_class},
        ),
        activation_map=next((f.activation_map for f in files if f.activation_map), {}),
    )


def _recipes(files: list[FileFacts], by_path: dict[str, FileFacts]) -> list[RecipeFamily]:
    groups: dict[str, list[FileFacts]] = {}
    for f in files:
        if f.path.startswith(RECIPES_PREFIX):
            parts = f.path[len(RECIPES_PREFIX) :].split("/")
            if len(parts) > 1 and parts[0] not in ("utils", "__pycache__"):
                groups.setdefault(parts[0], []).append(f)
    top_init = by_path.get(f"{RECIPES_PREFIX}__init__.py")
    star = set(top_init.init.star_imports) if top_init and top_init.init else set()
    out = []
    for name, members in sorted(groups.items()):
        base = f"megatron.bridge.recipes.{name}"
        hardware: set[str] = set()
        functions: list[RecipeFunction] = []
        for f in sorted(members, key=lambda m: m.path):
            parts = f.path[len(RECIPES_PREFIX) :].split("/")
            hw = parts[1] if len(parts) > 2 else None
            if hw:
                hardware.add(hw)
            for fn, loc in f.functions:
                if not fn.startswith("_") and fn.endswith("_config"):
                    functions.append(RecipeFunction(fn, f.module, loc, hw))
        init_facts = by_path.get(f"{RECIPES_PREFIX}{name}/__init__.py")
        wildcard = sorted(
            m.removeprefix("megatron.bridge.recipes.") for m in star if m == base or m.startswith(base + ".")
        )
        out.append(
            RecipeFamily(
                name=name,
                path=f"{RECIPES_PREFIX}{name}",
                hardware=sorted(hardware),
                modules=sorted(f.module for f in members),
                functions=functions,
                init=init_facts.init if init_facts else None,
                wildcard_imported=wildcard,
            )
        )
    return out


def _assign_examples(examples_root: Path, keys: FamilyNames) -> dict[str, list[str]]:
    """examples/models/<vendor>/<model>/ or examples/models/<model>/ folders, by family."""
    out: dict[str, list[str]] = {family: [] for family in keys.keys}
    for vendor in _listdir(examples_root):
        subdirs = [d for d in _listdir(examples_root / vendor) if (examples_root / vendor / d).is_dir()]
        by_leaf = assign_names(subdirs, keys)
        for family, leaves in by_leaf.items():
            out[family].extend(f"{vendor}/{leaf}" for leaf in leaves)
        for family, matched in assign_names([vendor], keys).items():
            if matched and not by_leaf[family]:
                out[family].append(vendor)
    return out


def _listdir(path: Path) -> list[str]:
    try:
        return sorted(p.name for p in path.iterdir())
    except OSError:
        return []


def _families(
    repo: Repo,
    files: list[FileFacts],
    bridges: list[BridgeRecord],
    mapping_classes: list[MappingClassRecord],
    table: ClassTable,
    by_path: dict[str, FileFacts],
    recipes: list[RecipeFamily],
) -> list[FamilyRecord]:
    names = sorted({fam for f in files if (fam := _family_of(f.path))})
    models_init = by_path.get(f"{MODELS_PREFIX}__init__.py")
    models_imports = set(models_init.init.imports) if models_init and models_init.init else set()
    root = repo.root
    parts = repo.parts()
    unit_root = root / "tests/unit_tests/models"
    functional_root = root / "tests/functional_tests/test_groups/models"
    docs_root = root / "docs/models"
    examples_root = root / "examples/models"
    keys = FamilyNames({name: family_keys(name, [b for b in bridges if b.family == name]) for name in names})
    recipe_names = assign_names([r.name for r in recipes], keys)
    example_dirs = _assign_examples(examples_root, keys) if parts["examples"] else {}
    doc_pages: dict[str, list[str]] = {name: [] for name in names}
    if parts["docs"]:
        for vendor in _listdir(docs_root):
            pages = [p.removesuffix(".md") for p in _listdir(docs_root / vendor) if p.endswith(".md")]
            for family, matched in assign_names(pages, keys).items():
                doc_pages[family].extend(f"{vendor}/{page}.md" for page in matched)
            # A family of the vendor's name with no page of its own is documented by the folder's index.
            for family, matched in assign_names([vendor], keys).items():
                if matched and not doc_pages[family] and (docs_root / vendor / "index.md").is_file():
                    doc_pages[family].append(f"{vendor}/index.md")
    members_of: dict[str, list[FileFacts]] = {name: [] for name in names}
    for f in files:
        if (fam := _family_of(f.path)) is not None:
            members_of[fam].append(f)
    out = []
    for name in names:
        directory = _family_dir(name)
        members = members_of[name]
        package = f"megatron.bridge.{directory.removeprefix('src/megatron/bridge/').replace('/', '.')}"
        providers = sorted(
            cls.name
            for f in members
            for cls in f.classes
            if cls.name.endswith("Provider")
            or any("Provider" in a.rsplit(".", 1)[-1] for a in table.ancestors(cls.qualname))
        )
        modeling = sorted(
            {
                "/".join(f.path[len(directory) + 1 :].split("/")[:1]).removesuffix(".py")
                for f in members
                if re.match(r"modell?ing_", f.path[len(directory) + 1 :])
            }
        )
        init_facts = by_path.get(f"{directory}/__init__.py")
        record = FamilyRecord(
            name=name,
            path=directory,
            bridges=[b.name for b in bridges if b.family == name],
            modules=sorted(f.module for f in members),
            providers=providers,
            modeling=modeling,
            mapping_classes=sorted(m.name for m in mapping_classes if m.family == name),
            init=init_facts.init if init_facts else None,
            imported_by_models_init=any(m == package or m.startswith(package + ".") for m in models_imports),
            recipes=recipe_names[name],
        )
        short = name.split("/")[-1]
        if parts["tests"]:
            if (unit_root / short).is_dir():
                record.unit_tests = repo.rel(unit_root / short)
            if (functional_root / short).is_dir():
                record.functional_tests = repo.rel(functional_root / short)
        record.docs = [repo.rel(docs_root / page) for page in doc_pages[name]]
        record.examples = [repo.rel(examples_root / folder) for folder in example_dirs.get(name, [])]
        out.append(record)
    return out
