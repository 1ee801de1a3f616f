"""`plan_clone`: a new model's bridge, provider/modeling, recipes, registrations, tests, docs and examples,
cloned from an existing model and renamed, as one Plan (nothing is written until `Plan.apply`).

>>> result = plan_clone(ensure_tree(), CloneRequest("qwen3", "qwen4"))  # doctest: +SKIP
>>> print(result.plan.preview())  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import stat
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path, PurePosixPath

from analyzers.catalog.modules import build_module_info, module_name, module_path
from analyzers.catalog.records import Catalog
from analyzers.errors import ConfigError, ParseError, PlanConflictError, ResolveError
from analyzers.repo import MODELS_DIR, RECIPES_DIR, find_repo
from codemods.clone_family._clone_module import (
    TODO,
    CloneContext,
    Registration,
    clone_module,
    current_year,
    license_header,
)
from codemods.clone_family._config_edits import apply_bridge_edits, decide, update_config_dicts
from codemods.clone_family._registry_edits import RegistryPlan, edit_registry, plan_registry
from codemods.clone_family._transformers_index import transformers_has
from codemods.naming import (
    ModelNames,
    Renamer,
    Variant,
    align_camel,
    check_hf_class,
    check_hub_id,
    check_model_type,
    check_stem,
    hf_suffix,
    rename_camel,
)
from codemods.plan import Plan, Todo
from codemods.registrations import (
    add_dict_entry,
    add_set_member,
    all_entries,
    imported_modules,
    package_of,
    register_clone,
)
from codemods.resolve import ResolvedSource, bridge_stem, known_stems, resolve_source

__all__ = ["CloneRequest", "CloneResult", "belongs_to", "plan_clone"]

MISSPELT_MODELING = "modelling_"

_SKIP = {"__pycache__", "data"}
_TEXT_SUFFIXES = (".md", ".sh", ".yaml", ".yml", ".txt", ".json", ".toml", ".cfg")


@dataclass
class CloneRequest:
    """What the user asked for (CLI flags); every field but `src`/`dst` is optional."""

    src: str
    dst: str
    config: str | None = None  #: config.json path, model dir or hub id of the new model
    hf_class: str | None = None
    model_type: str | None = None
    class_prefix: str | None = None
    family_dir: str | None = None  #: new family folder under models/ (default: SRC's family)
    hf_id: str | None = None  #: published checkpoint id used in recipes, docs and examples
    #: bridges the learned mapping vocabulary leaves out (leave-one-out reconstruction benchmarks)
    exclude_teachers: tuple[str, ...] = ()


@dataclass
class CloneResult:
    plan: Plan
    source: ResolvedSource
    names: ModelNames
    family: str  #: the family folder the new model lives in
    #: True when the tree already holds exactly what the plan would write (a second identical run)
    already_applied: bool = False
    files: dict[str, str] = field(default_factory=dict)  #: new path -> the source path it was cloned from


def belongs_to(name: str, stem: str, others: set[str]) -> bool:
    """Whether a file/folder name is the model `stem`'s (`qwen3_vl_provider.py`, `modelling_qwen3_vl`,
    `test_qwen3_bridge.py`, `qwen3-vl.md`) and not a longer model's (`qwen3_moe_bridge.py` for `qwen3`).

    >>> belongs_to("qwen3_bridge.py", "qwen3", {"qwen3_moe"}), belongs_to("qwen3_moe_bridge.py", "qwen3", {"qwen3_moe"})
    (True, False)
    >>> belongs_to("qwen35_bridge.py", "qwen3", set()), belongs_to("qwen3-vl.md", "qwen3_vl", set())
    (False, True)
    """
    base = name
    for suffix in (".py", ".md", ".sh"):
        base = base.removesuffix(suffix)
    base = base.lower().replace("-", "_").replace(".", "")
    for prefix in ("test_", "modeling_", "modelling_"):
        if base.startswith(prefix):
            base = base[len(prefix) :]
            break
    if base != stem and not base.startswith(stem + "_"):
        return False
    return not any(
        other != stem and len(other) > len(stem) and (base == other or base.startswith(other + "_"))
        for other in others
    )


def _imports_name(source: str, path: str, name: str, module: str) -> bool:
    """Whether the module imports `name` (by name, or `*` from its defining `module`)."""
    return any(
        (names is None and mod == module) or (names is not None and name in names)
        for mod, names in imported_modules(source, package_of(path), path).items()
    )


def _walk(root: Path, rel_dir: str) -> list[str]:
    out: list[str] = []
    base = root / rel_dir
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d not in {"__pycache__"} and not d.startswith("."))
        rel = Path(dirpath).relative_to(root).as_posix()
        out.extend(f"{rel}/{f}" for f in sorted(filenames) if not f.endswith((".pyc", ".tmp")))
    return out


def _mode_of(path: Path) -> int | None:
    """A clone's permission bits: its source's (a launch script stays executable)."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None


def _entries(root: Path, rel_dir: str) -> list[str]:
    try:
        return sorted(
            p.name for p in (root / rel_dir).iterdir() if p.name not in _SKIP and not p.name.startswith(".")
        )
    except OSError:
        return []


class _Builder:
    """Collects the files of one clone, renders them and the registration edits into a Plan."""

    def __init__(self, root: Path, catalog: Catalog, request: CloneRequest, year: int) -> None:
        self.root, self.catalog, self.request, self.year = root, catalog, request, year
        try:
            self.src = resolve_source(catalog, request.src)
        except ResolveError:
            for problem in catalog.problems:
                name = PurePosixPath(problem.location.path).name.lower()
                if problem.location.path.startswith(MODELS_DIR) and request.src.lower() in name:
                    raise ParseError(
                        f"SRC {request.src!r} may be defined here, which cannot be read: {problem.message}",
                        problem.location.path,
                    ) from None
            raise
        self.spec = None
        if request.config:
            from analyzers.hf_config import load_spec

            self.spec = load_spec(request.config)
        self.names = self._names()
        self.family = request.family_dir or self.src.family.name
        self.report: list[str] = []
        self.todos: list[Todo] = []
        self.files: dict[str, str] = {}  #: new path -> old path
        self.texts: dict[str, str] = {}  #: new path -> rendered text (created files)
        self.respelt: set[str] = set()  #: SRC's `modelling_` names whose clones are spelt `modeling_`
        self.modified: dict[str, tuple[str, list[str]]] = {}  #: path -> (text, reasons)

    # --- names ----------------------------------------------------------------------------------
    def _names(self) -> ModelNames:
        req, src = self.request, self.src
        check_stem(req.dst)
        if req.family_dir is not None:
            check_stem(req.family_dir, "--family-dir")
            module = f"{MODELS_DIR}/{req.family_dir}.py"
            if (self.root / module).exists():
                raise PlanConflictError(
                    f"--family-dir {req.family_dir!r} would shadow the module of the same name", module
                )
        if req.dst == src.stem:
            raise ResolveError(f"DST {req.dst!r} is SRC itself")
        model_type, hf_class, hf_id = req.model_type, req.hf_class, req.hf_id
        if model_type is not None:
            check_model_type(model_type)
        if hf_class is not None:
            check_hf_class(hf_class)
        if hf_id is not None:
            check_hub_id(hf_id)
        if self.spec is not None:
            where = self.spec.source
            if model_type is None and self.spec.model_type:
                model_type = check_model_type(self.spec.model_type, "config model_type", where)
            if hf_class is None:
                architectures = self.spec.config.get("architectures")
                if architectures is not None and not isinstance(architectures, list):
                    raise ConfigError(
                        f"config architectures {architectures!r} is not a list of class names", where
                    )
                if architectures:
                    hf_class = check_hf_class(architectures[0], "config architectures[0]", where)
            if hf_id is None and self.spec.origin == "hub":
                hf_id = check_hub_id(self.spec.source, "hub id", where)
            if hf_id is None and self.spec.config.get("_name_or_path"):
                hf_id = check_hub_id(
                    self.spec.config["_name_or_path"],
                    "config _name_or_path (pass --hf-id to override)",
                    where,
                )
        prefix = self._src_prefix()
        return ModelNames.derive(
            req.dst,
            src_stem=src.stem,
            src_prefix=prefix,
            src_hf_class=src.hf_class,
            class_prefix=req.class_prefix,
            hf_class=hf_class,
            model_type=model_type,
            hf_id=hf_id,
        )

    def _src_prefix(self) -> str:
        """The CamelCase prefix of SRC's bridge class that spells its stem (`Qwen3VL` of `Qwen3VLBridge`)."""
        name = self.src.bridge.name
        segments = align_camel(name, self.src.stem)
        if segments is not None:
            return "".join(segments[:-1])
        for suffix in ("ModelBridge", "Bridge"):
            if name.endswith(suffix) and len(name) > len(suffix):
                return name[: -len(suffix)]
        return name

    # --- the renamer ----------------------------------------------------------------------------
    def renamer(self, class_names: set[str]) -> Renamer:
        src, names = self.src, self.names
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
                    variants.append(Variant(reg.source, self._new_source(bridge.name, reg.source)))
        src_prefix = self._src_prefix()
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
        return Renamer(variants, protected=self._protected())

    def _new_source(self, bridge: str, source: str) -> str:
        if bridge == self.src.bridge.name and source == self.src.hf_class:
            return self.names.hf_class
        suffix = hf_suffix(source)
        src_hf = self.src.hf_class or ""
        src_suffix = hf_suffix(src_hf)
        old_prefix = src_hf[: -len(src_suffix)] if src_suffix else src_hf
        if old_prefix and source.startswith(old_prefix) and suffix:
            return self.names.hf_prefix + source[len(old_prefix) :]
        return rename_camel(source, self.src.stem, self.names.stem) or source

    def _protected(self) -> set[str]:
        """Names of the tree's other models that start like SRC (`qwen3_moe`, `Qwen3MoE` for `qwen3`)."""
        clone = {b.name for b in self.src.module_bridges}
        out: set[str] = set()
        for bridge in self.catalog.bridges:
            if bridge.name in clone:
                continue
            stem = bridge_stem(bridge)
            out |= {stem, stem.upper(), stem.replace("_", "-")}
            for suffix in ("ModelBridge", "Bridge"):
                if bridge.name.endswith(suffix):
                    out.add(bridge.name[: -len(suffix)])
                    break
            for reg in bridge.registrations:
                if reg.model_type:
                    out |= {reg.model_type, reg.model_type.upper(), reg.model_type.replace("_", "-")}
                if reg.source and (suffix := hf_suffix(reg.source)):
                    out.add(reg.source[: -len(suffix)])
            if bridge.provider_class:
                for suffix in ("ModelProvider", "Provider"):
                    if bridge.provider_class.endswith(suffix):
                        out.add(bridge.provider_class[: -len(suffix)])
                        break
        for family in self.catalog.families:
            for provider in family.providers:
                if family.name != self.src.family.name or align_camel(provider, self.src.stem) is None:
                    out.add(provider.removesuffix("ModelProvider").removesuffix("Provider"))
        return {p for p in out if p}

    # --- which files ----------------------------------------------------------------------------
    def others(self) -> set[str]:
        own = {r.model_type for b in self.src.module_bridges for r in b.registrations if r.model_type}
        return {s for s in known_stems(self.catalog) if s not in own and s != self.src.stem}

    def model_files(self) -> list[tuple[str, str]]:
        """(old, new) paths of SRC's bridge module and its stem-mates (provider, modeling, step, mappings)."""
        src_dir = PurePosixPath(self.src.bridge.path).parent.as_posix()
        new_dir = f"{MODELS_DIR}/{self.family}" if self.request.family_dir else src_dir
        others = self.others()
        pairs: list[tuple[str, str]] = []
        for entry in _entries(self.root, src_dir):
            if entry == "__init__.py" or not belongs_to(entry, self.src.stem, others):
                continue
            full = f"{src_dir}/{entry}"
            if (self.root / full).is_dir():
                for rel in _walk(self.root, full):
                    tail = rel[len(src_dir) + 1 :]
                    pairs.append((rel, f"{new_dir}/{self._rename_path(tail)}"))
            elif entry.endswith(".py"):
                pairs.append((full, f"{new_dir}/{self._rename_path(entry)}"))
        return pairs

    def recipe_files(self) -> tuple[list[tuple[str, str]], list[str]]:
        """(old, new) recipe module paths, and the recipe families cloned whole (dedicated to SRC)."""
        others = self.others()
        pairs: list[tuple[str, str]] = []
        dedicated: list[str] = []
        for family in _entries(self.root, RECIPES_DIR):
            base = f"{RECIPES_DIR}/{family}"
            if not (self.root / base).is_dir() or family == "utils":
                continue
            if belongs_to(family, self.src.stem, others):
                dedicated.append(family)
                pairs.extend(
                    (rel, self._rename_path(rel)) for rel in _walk(self.root, base) if rel.endswith(".py")
                )
                continue
            for entry in _entries(self.root, base):
                full = f"{base}/{entry}"
                if (self.root / full).is_dir():
                    for sub in _entries(self.root, full):
                        if (
                            sub.endswith(".py")
                            and sub != "__init__.py"
                            and belongs_to(sub, self.src.stem, others)
                        ):
                            pairs.append((f"{full}/{sub}", f"{full}/{self._rename_path(sub)}"))
                elif (
                    entry.endswith(".py")
                    and entry != "__init__.py"
                    and belongs_to(entry, self.src.stem, others)
                ):
                    pairs.append((full, f"{base}/{self._rename_path(entry)}"))
        return pairs, dedicated

    def test_files(self) -> list[tuple[str, str]]:
        others = self.others()
        pairs: list[tuple[str, str]] = []
        for base in ("tests/unit_tests/models", "tests/functional_tests/test_groups/models"):
            old_dir = f"{base}/{self.src.family.name}"
            new_dir = f"{base}/{self.family}"
            if not (self.root / old_dir).is_dir():
                continue
            for entry in _entries(self.root, old_dir):
                if (
                    entry.startswith("test_")
                    and entry.endswith(".py")
                    and belongs_to(entry, self.src.stem, others)
                ):
                    pairs.append((f"{old_dir}/{entry}", f"{new_dir}/{self._rename_path(entry)}"))
            if new_dir != old_dir and (self.root / old_dir / "__init__.py").is_file():
                pairs.append((f"{old_dir}/__init__.py", f"{new_dir}/__init__.py"))
        return pairs

    def _rename_path(self, rel: str) -> str:
        parts = []
        for part in rel.split("/"):
            new = self._renamer_for_paths.identifier(part)
            if new != part and new.startswith(MISSPELT_MODELING):
                # The clone's own modules follow the tree's naming rule (MBR035), not SRC's spelling.
                new = "modeling_" + new.removeprefix(MISSPELT_MODELING)
                self.respelt.add(part)
            parts.append(new)
        return "/".join(parts)

    # --- rendering ------------------------------------------------------------------------------
    def build(self) -> CloneResult:
        src, names = self.src, self.names
        self._renamer_for_paths = Renamer(
            [Variant(src.stem, names.stem), Variant(src.stem.replace("_", "-"), names.hyphen)],
            protected=self._protected(),
        )
        model_pairs = self.model_files()
        recipe_pairs, dedicated = self.recipe_files()
        test_pairs = self.test_files()
        py_pairs = [(o, n) for o, n in model_pairs + recipe_pairs if o.endswith(".py")]
        module_map = {module_name(o): module_name(n) for o, n in py_pairs}
        class_names = self._class_names([o for o, _ in py_pairs])
        renamer = self.renamer(class_names)
        self.renamer_ = renamer
        registrations = self._registrations(renamer)
        hf_org = None
        if names.hf_id and "/" in names.hf_id:
            hf_org = self._hf_org()
        ctx = CloneContext(renamer=renamer, module_map=module_map, registrations=registrations, hf_org=hf_org)
        self.ctx = ctx
        recipe_renamer = self._recipe_renamer(renamer, [o for o, _ in recipe_pairs])
        recipe_ctx = CloneContext(
            renamer=recipe_renamer, module_map=module_map, registrations=registrations, hf_org=hf_org
        )
        recipe_olds = {o for o, _ in recipe_pairs}
        name_map, exports = self._exports(module_map, {module_name(o): recipe_renamer for o in recipe_olds})
        # Names the family package will re-export once registered: imports of them follow the clone.
        model_names = {
            old: new
            for o, _ in model_pairs
            if o.endswith(".py")
            for old in exports.get(module_name(o), [])
            if (new := name_map.get(old))
        }
        family_pkg = f"megatron.bridge.models.{src.family.name.replace('/', '.')}"
        for c in (ctx, recipe_ctx):
            c.package_names = {family_pkg: model_names}
            c.package_map = {family_pkg: f"megatron.bridge.models.{self.family}"}
        extra = None
        if self.spec is not None:
            decisions = decide(self.spec, src.bridge, self.catalog, self._registry_plan())
            self.report.extend(f"config: {line}" for line in decisions.report)
            extra = functools.partial(
                apply_bridge_edits, bridge_class=names.bridge_class, decisions=decisions
            )
        jobs = []
        for old, new in model_pairs + recipe_pairs + test_pairs:
            self.files[new] = old
            text = (self.root / old).read_text(encoding="utf-8")
            use = recipe_ctx if old in recipe_olds else ctx
            if old.endswith(".py"):
                mod = (
                    module_name(old) if old.startswith("src/") else old.removesuffix(".py").replace("/", ".")
                )
                jobs.append((new, text, old, mod, use, extra if old == src.bridge.path else None))
            else:
                self.texts[new] = use.prose(text)
        for new, text, notes in _run_clone_jobs(jobs, self.year):
            self.texts[new] = text
            self.report.extend(f"{path}: {message}" for path, message in notes)
        if self.spec is not None:
            self._tests_from_config([new for _, new in test_pairs if new.endswith(".py")])
        self._report_registrations(registrations)
        if self.respelt:
            self.report.append(
                f"named {', '.join(sorted(self.respelt))}'s clone modeling_... (SRC's spelling is MBR035's `modelling_`)"
            )
        self._register(module_map, name_map, exports, dedicated)
        self._complete_registrations(renamer, module_map, registrations)
        self._tables(registrations)
        self._docs_and_examples()
        return self._finish()

    def _registry_plan(self) -> RegistryPlan | None:
        """Registry edits from the new model's HF checkpoint names; None (block TODOs) when they are unavailable."""
        from analyzers.hf_names import NamesUnavailable, collect_hf_names

        try:
            names = collect_hf_names(self.spec)
        except NamesUnavailable as exc:
            self.report.append(f"config: mapping blocks left as TODOs: {exc}")
            return None
        plan = plan_registry(self.catalog, self.src.bridge, names, exclude=self.request.exclude_teachers)
        _, misses = edit_registry(self._src_text(), self.src.bridge.name, plan)
        plan.todos.extend(misses)
        plan.report.extend(f"TODO mapping_registry: {m}" for m in misses)
        plan.report.insert(
            0,
            f"{len(names.names)} HF checkpoint names of the new model (from {names.source}"
            + (f", {names.model_class}" if names.model_class else "")
            + f"): {len(plan.drops)} mappings dropped, {len(plan.adds)} added, {len(plan.retargets)} retargeted",
        )
        return plan

    def _tests_from_config(self, paths: list[str]) -> None:
        """Mock config values of the cloned tests from the new config; toy dicts get toy sizes of it."""
        from codemods.smoke._toy_config import toy_config_dict

        config = self.spec.config
        toy = toy_config_dict(config)
        names = {"model_type": self.names.model_type, "architectures": [self.names.hf_class]}
        for path in paths:
            text, changed = update_config_dicts(self.texts[path], config, toy, names)
            if changed:
                self.texts[path] = text
                self.report.append(f"{path}: {changed} config values from {self.spec.source}")

    def _hf_org(self) -> tuple[str, str] | None:
        """(old org, new org) of hub ids when `--hf-id` names another organisation than SRC's checkpoints."""
        new_org = (self.names.hf_id or "").split("/", 1)[0]
        old_orgs = re.findall(r'"([A-Za-z0-9][\w.-]*)/[\w.-]+"', self._src_text())
        old = max(set(old_orgs), key=old_orgs.count, default=None)
        return (old, new_org) if old and old != new_org else None

    def _src_text(self) -> str:
        return (self.root / self.src.bridge.path).read_text(encoding="utf-8")

    def _class_names(self, paths: list[str]) -> set[str]:
        out: set[str] = set()
        for path in paths:
            info_text = (self.root / path).read_text(encoding="utf-8")
            out.update(re.findall(r"^class (\w+)", info_text, flags=re.MULTILINE))
        return out

    def _registrations(self, renamer: Renamer) -> dict[str, Registration]:
        out: dict[str, Registration] = {}
        for bridge in self.src.module_bridges:
            new_bridge = renamer.identifier(bridge.name)
            for reg in bridge.registrations[:1]:
                if not reg.source:
                    continue
                new_source = self._new_source(bridge.name, reg.source)
                as_string = reg.source_kind != "class" or not transformers_has(new_source)
                if reg.model_type is None:
                    model_type = None
                elif bridge is self.src.bridge:
                    model_type = self.names.model_type
                else:
                    model_type = renamer.identifier(reg.model_type)
                out[new_bridge] = Registration(new_source, as_string, model_type)
        return out

    def _report_registrations(self, registrations: dict[str, Registration]) -> None:
        for bridge, reg in registrations.items():
            how = (
                f'source="{reg.source}" (a string: the installed transformers has no {reg.source})'
                if reg.as_string and not transformers_has(reg.source)
                else f'source="{reg.source}" (a string, as the source registers it)'
                if reg.as_string
                else f"source={reg.source}"
            )
            self.report.append(f"{bridge}: registered with {how}, model_type={reg.model_type!r}")

    def _recipe_renamer(self, renamer: Renamer, paths: list[str]) -> Renamer:
        """The renamer for recipe modules: recipe functions may start with a shorter prefix than the stem
        (`qwen3_30b_a3b_*` in `qwen3_moe.py`); that prefix becomes the new stem there (`qwen4_moe_30b_a3b_*`)."""
        names: list[str] = []
        for path in paths:
            info = build_module_info(path, self._read(path))
            aliases = [local for local, (_, name) in info.imports.items() if local != name]
            names += [
                n for n in [*info.functions, *aliases] if n.endswith("_config") and not n.startswith("_")
            ]
        if not names:
            return renamer
        tokens = [n.split("_") for n in names]
        common: list[str] = []
        for group in zip(*tokens, strict=False):
            if len(set(group)) != 1:
                break
            common.append(group[0])
        prefix = "_".join(common)
        stem = self.src.stem
        if not prefix or prefix == stem or prefix.startswith(stem + "_") or not stem.startswith(prefix + "_"):
            return renamer
        self.report.append(f"recipes: functions {prefix}_* of {stem} become {self.names.stem}_*")
        extra = [Variant(prefix, self.names.stem), Variant(prefix.upper(), self.names.upper)]
        return Renamer(list(renamer.variants) + extra, protected=self._protected() - {prefix, prefix.upper()})

    def _exports(
        self, module_map: dict[str, str], renamers: dict[str, Renamer] | None = None
    ) -> tuple[dict[str, str], dict[str, list[str]]]:
        """Old -> new names that cloned modules define or re-export, and each old module's names."""
        name_map: dict[str, str] = {}
        exports: dict[str, list[str]] = {}
        for old_mod in module_map:
            path = self._path_of(old_mod)
            if path is None:
                continue
            info = build_module_info(path, (self.root / path).read_text(encoding="utf-8"))
            defined = [*info.classes, *info.functions, *info.assignments, *info.imports]
            names = [n for n in dict.fromkeys(defined) if not n.startswith("__")]
            exports[old_mod] = names
            renamer = (renamers or {}).get(old_mod, self.renamer_)
            for name in names:
                new = renamer.identifier(name)
                if new != name:
                    name_map[name] = new
        return name_map, exports

    def _path_of(self, dotted: str) -> str | None:
        return module_path(self.root, dotted)

    # --- registrations --------------------------------------------------------------------------
    def _register(
        self,
        module_map: dict[str, str],
        name_map: dict[str, str],
        exports: dict[str, list[str]],
        dedicated: list[str],
    ) -> None:
        src_family_pkg = f"megatron.bridge.models.{self.src.family.name.replace('/', '.')}"
        new_family_pkg = f"megatron.bridge.models.{self.family}"
        package_map = {src_family_pkg: new_family_pkg}
        cloned_inits = {o for n, o in self.files.items() if o.endswith("__init__.py")}
        new_family_init = f"{MODELS_DIR}/{self.family}/__init__.py"
        if self.request.family_dir and not (self.root / new_family_init).exists():
            self._new_family_init(new_family_init, module_map, name_map)
        candidates = [
            rel
            for base in (MODELS_DIR, RECIPES_DIR)
            for rel in _walk(self.root, base)
            if rel.endswith("__init__.py") and rel not in cloned_inits
        ]
        needles = {m.rsplit(".", 1)[-1] for m in module_map} | set(name_map) | {src_family_pkg}
        pattern = re.compile("|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True)))
        for rel in candidates:
            text = self._current(rel)
            if text is None or not pattern.search(text):
                continue
            new = register_clone(
                text,
                path=rel,
                module_map=module_map,
                name_map=name_map,
                package_map=package_map,
                exports=exports,
                comment=self.renamer_.prose,
            )
            if new != text:
                self._modify(rel, new, f"registers {self.names.stem} where {self.src.stem} is registered")
        if dedicated:
            self.report.append(f"recipes: cloned the recipe families {', '.join(dedicated)} whole")

    def _complete_registrations(
        self, renamer: Renamer, module_map: dict[str, str], registrations: dict[str, Registration]
    ) -> None:
        """Register each new bridge everywhere the lint expects (MBR001/002/004), also where SRC is not:
        the clone mirrors SRC's registrations, not its gaps."""
        from analyzers.lint.fixes import apply_edit
        from analyzers.lint.rule import Edit

        family_init = f"{MODELS_DIR}/{self.family}/__init__.py"
        models_init = f"{MODELS_DIR}/__init__.py"
        family_pkg = f"megatron.bridge.models.{self.family}"
        for bridge in self.src.module_bridges:
            name = renamer.identifier(bridge.name)
            module = module_map.get(bridge.module)
            if name not in registrations or module is None:
                continue
            needed: list[tuple[str, Edit, str]] = []
            family_text = self._current(family_init)
            if family_text is not None:
                if not _imports_name(family_text, family_init, name, module):
                    needed.append((family_init, Edit("add-import", family_init, module, (name,)), "MBR001"))
                if (entries := all_entries(family_text, family_init)) is not None and name not in entries:
                    needed.append((family_init, Edit("add-all-entry", family_init, names=(name,)), "MBR002"))
            models_text = self._current(models_init)
            entries = all_entries(models_text, models_init) if models_text is not None else None
            if models_text is not None and entries is not None and name not in entries:
                if not _imports_name(models_text, models_init, name, module):
                    via = family_pkg if family_text is not None else module
                    needed.append((models_init, Edit("add-import", models_init, via, (name,)), "MBR004"))
                needed.append((models_init, Edit("add-all-entry", models_init, names=(name,)), "MBR004"))
            for rel, edit, code in needed:
                text = apply_edit(self._current(rel) or "", edit)
                what = "exports" if edit.kind == "add-all-entry" else "imports"
                self._modify(rel, text, f"{what} {name} ({self.src.bridge.name} is missing there: {code})")

    def _new_family_init(self, path: str, module_map: dict[str, str], name_map: dict[str, str]) -> None:
        lines = [license_header(self.year)]
        exported: list[str] = []
        for old_mod, new_mod in sorted(module_map.items()):
            if (
                not old_mod.startswith(f"megatron.bridge.models.{self.src.family.name}.")
                or new_mod.count(".") != 4
            ):
                continue
            path_old = self._path_of(old_mod) or ""
            text = (self.root / path_old).read_text(encoding="utf-8") if path_old else ""
            names = [
                name_map[n] for n in re.findall(r"^class (\w+)", text, flags=re.MULTILINE) if n in name_map
            ]
            if names:
                lines.append(f"from {new_mod} import {', '.join(names)}\n")
                exported.extend(names)
        lines.append("\n\n__all__ = [\n" + "".join(f'    "{n}",\n' for n in exported) + "]\n")
        self.texts[path] = "".join(lines[:1]) + "\n" + "".join(lines[1:])
        self.files[path] = ""

    def _tables(self, registrations: dict[str, Registration]) -> None:
        """Per-family tables in tests (the registration matrix): architecture -> dotted bridge path."""
        if not (self.root / "tests").is_dir():
            return
        src_paths = {f"{b.module}.{b.name}": b for b in self.src.module_bridges}
        pattern = re.compile("|".join(re.escape(p) for p in src_paths))
        cloned = set(self.files.values())
        for rel in _walk(self.root, "tests"):
            if not rel.endswith(".py") or rel in cloned:
                continue
            text = self._current(rel)
            if text is None or not pattern.search(text):
                continue
            new = text
            for dotted, bridge in src_paths.items():
                if dotted not in text or not bridge.registrations or not bridge.registrations[0].source:
                    continue
                new_bridge = self.renamer_.identifier(bridge.name)
                reg = registrations.get(new_bridge)
                if reg is None:
                    continue
                new_dotted = self.ctx.dotted_string(dotted)
                try:
                    new = add_dict_entry(
                        new,
                        anchor_key=bridge.registrations[0].source,
                        key=reg.source,
                        value=f'"{new_dotted}"',
                        path=rel,
                    )
                except PlanConflictError:
                    continue
                if reg.as_string:
                    for variable in re.findall(r"^([A-Z_]*STRING[A-Z_]*)\s*=", new, flags=re.MULTILINE):
                        new = add_set_member(new, variable=variable, value=reg.source, path=rel)
            if new != text:
                self._modify(rel, new, "adds the new architecture to the registration table")

    # --- docs and examples ----------------------------------------------------------------------
    def _vendor_dirs(self, base: str) -> list[str]:
        """Vendor folders of `base` (docs/models, examples/models) that hold SRC's family: `qwen` for `qwen_vl`."""
        family = self.src.family.name.split("/")[-1]
        first = re.sub(r"\d+", "", family.split("_")[0])
        found = []
        for d in _entries(self.root, base):
            if not (self.root / base / d).is_dir():
                continue
            if d == family or family.startswith(d + "_") or re.sub(r"\d+", "", d) == first:
                found.append(f"{base}/{d}")
        return sorted(found, key=lambda v: (v.rsplit("/", 1)[-1] != family, v))

    def _docs_and_examples(self) -> None:
        names, others = self.names, self.others()
        if (self.root / "docs/models").is_dir():
            vendors = self._vendor_dirs("docs/models")
            pages = [
                (v, p)
                for v in vendors
                for p in _entries(self.root, v)
                if p != "index.md" and belongs_to(p, self.src.stem, others)
            ]
            if pages:
                for vendor, page in pages:
                    new_page = self._renamer_for_paths.prose(page)
                    self._create(
                        f"{vendor}/{new_page}",
                        self.renamer_.prose(self._read(f"{vendor}/{page}")),
                        f"{vendor}/{page}",
                    )
                    self._index(vendor, page, new_page)
            elif vendors:
                vendor = vendors[0]
                self._create(f"{vendor}/{names.docs_page}", self._docs_template(), "")
                self._index(vendor, None, names.docs_page)
                self.report.append(
                    f"docs: {self.src.stem} has no page; wrote {vendor}/{names.docs_page} from a template"
                )
            else:
                self.report.append("docs: no docs/models folder for this family; no page written")
        if (self.root / "examples/models").is_dir():
            vendors = self._vendor_dirs("examples/models")
            folders = [
                (v, f)
                for v in vendors
                for f in _entries(self.root, v)
                if (self.root / v / f).is_dir() and belongs_to(f, self.src.stem, others)
            ]
            if folders:
                for vendor, folder in folders:
                    new_folder = self._renamer_for_paths.identifier(folder)
                    for rel in _walk(self.root, f"{vendor}/{folder}"):
                        tail = rel[len(vendor) + len(folder) + 2 :]
                        new_rel = f"{vendor}/{new_folder}/{self._rename_path(tail)}"
                        text = self._read(rel)
                        if rel.endswith(".py"):
                            text = clone_module(
                                text,
                                path=rel,
                                module_name=rel.removesuffix(".py").replace("/", "."),
                                ctx=self.ctx,
                                year=self.year,
                            )
                        else:
                            text = self._header_year(self.renamer_.prose(text))
                        self._create(new_rel, self._hub_ids(text), rel)
            else:
                vendor = vendors[0] if vendors else f"examples/models/{self.family}"
                folder = f"{vendor}/{names.stem}"
                for name, text in self._example_templates().items():
                    self._create(f"{folder}/{name}", text, "")
                self.report.append(
                    f"examples: {self.src.stem} has no examples folder; wrote {folder}/ from templates"
                )

    def _hub_ids(self, text: str) -> str:
        hf_org = self.ctx.hf_org
        if not hf_org:
            return text
        return re.sub(
            rf"\b{re.escape(hf_org[0])}/(?={re.escape(self.names.class_prefix)})", f"{hf_org[1]}/", text
        )

    def _header_year(self, text: str) -> str:
        return re.sub(r"(# Copyright \(c\) )\d{4}", lambda m: f"{m.group(1)}{self.year}", text, count=1)

    def _index(self, vendor: str, old_page: str | None, new_page: str) -> None:
        """Add `new_page` to the vendor index: toctree entry and guide-table row, beside `old_page`."""
        path = f"{vendor}/index.md"
        text = self._current(path)
        if text is None:
            self.report.append(f"docs: {vendor} has no index.md; add {new_page} to the docs toctree by hand")
            return
        lines = text.splitlines(keepends=True)
        if any(line.strip() == new_page for line in lines):
            return
        out: list[str] = []
        in_toctree = placed_toc = placed_row = False
        toc_last = -1
        for line in lines:
            if line.startswith("```{toctree}"):
                in_toctree = True
            elif in_toctree and line.startswith("```"):
                in_toctree = False
                if not placed_toc and old_page is None:
                    out.append(f"{new_page}\n")
                    placed_toc = True
            out.append(line)
            if in_toctree and old_page is not None and line.strip() == old_page:
                out.append(f"{new_page}\n")
                placed_toc = True
            if old_page is not None and f"({old_page})" in line and line.lstrip().startswith("|"):
                out.append(
                    self.renamer_.prose(line)
                    .replace(f"({old_page})", f"({new_page})")
                    .replace(f"[{old_page}]", f"[{new_page}]")
                )
                placed_row = True
            toc_last = len(out)
        del toc_last
        if not placed_toc:
            raise PlanConflictError(f"no toctree entry to place {new_page} beside", path)
        if old_page is None:
            table_rows = [i for i, line in enumerate(out) if line.lstrip().startswith("|") and ".md)" in line]
            if table_rows:
                title = self.names.class_prefix
                out.insert(table_rows[-1] + 1, f"| {title} | [{new_page}]({new_page}) |\n")
                placed_row = True
        del placed_row
        self._modify(path, "".join(out), f"lists the {new_page} page")

    def _docs_template(self) -> str:
        n = self.names
        hf_id = n.hf_id or f"<org>/{n.class_prefix}"
        return f"""# {n.class_prefix}

<!-- {TODO}: describe the model; cloned from {self.src.bridge.name} ({self.src.stem}). -->

## Supported Variants

| Variant | HF Path |
|---------|---------|
| {n.class_prefix} | `{hf_id}` |

## Conversion

```bash
# HF -> Megatron
./scripts/conversion/convert.sh import \\
    --hf-model {shlex.quote(hf_id)} \\
    --megatron-path /workspace/models/{n.stem}

# Megatron -> HF
./scripts/conversion/convert.sh export \\
    --hf-model {shlex.quote(hf_id)} \\
    --megatron-path /workspace/models/{n.stem}/iter_0000000 \\
    --hf-path /workspace/models/{n.stem}-hf-export
```

## Known Limitations

- {TODO}: list known limitations.
"""

    def _example_templates(self) -> dict[str, str]:
        n = self.names
        hf_id = n.hf_id or f"<org>/{n.class_prefix}"
        vlm = self.spec is not None and self.spec.kind == "vlm" or "vl" in self.src.stem.split("_")
        script = "hf_to_megatron_generate_vlm.py" if vlm else "hf_to_megatron_generate_text.py"
        image = ' \\\n    --image_path "https://example.com/image.jpeg"' if vlm else ""
        header = "#!/usr/bin/env bash\n" + license_header(self.year) + "\nset -euo pipefail\n\n"
        conversion = (
            header
            + f"""WORKSPACE=${{WORKSPACE:-/workspace}}
HF_MODEL={shlex.quote(hf_id)}

# Import HF -> Megatron
./scripts/conversion/convert.sh import \\
    --hf-model ${{HF_MODEL}} \\
    --megatron-path ${{WORKSPACE}}/models/{n.stem}

# Export Megatron -> HF
./scripts/conversion/convert.sh export \\
    --hf-model ${{HF_MODEL}} \\
    --megatron-path ${{WORKSPACE}}/models/{n.stem}/iter_0000000 \\
    --hf-path ${{WORKSPACE}}/models/{n.stem}-hf-export

# Round-trip check
uv run python examples/conversion/hf_megatron_roundtrip_multi_gpu.py --hf-model-id ${{HF_MODEL}}
"""
        )
        inference = (
            header
            + f"""HF_MODEL={shlex.quote(hf_id)}

uv run python examples/conversion/{script} \\
    --hf_model_path ${{HF_MODEL}}{image} \\
    --prompt "Hello"
"""
        )
        readme = f"""# {n.class_prefix}

Examples for {n.class_prefix} (`{hf_id}`), cloned from {self.src.stem} by bridgesmith.

## Checkpoint conversion

```bash
./scripts/conversion/convert.sh import --hf-model {shlex.quote(hf_id)} --megatron-path ${{WORKSPACE}}/models/{n.stem}
./scripts/conversion/convert.sh export --hf-model {shlex.quote(hf_id)} \\
    --megatron-path ${{WORKSPACE}}/models/{n.stem}/iter_0000000 --hf-path ${{WORKSPACE}}/models/{n.stem}-hf-export
```

See `conversion.sh` for the full sequence and `inference.sh` for generation.
"""
        return {"README.md": readme, "conversion.sh": conversion, "inference.sh": inference}

    # --- plan -----------------------------------------------------------------------------------
    def _read(self, rel: str) -> str:
        return (self.root / rel).read_text(encoding="utf-8")

    def _current(self, rel: str) -> str | None:
        if rel in self.modified:
            return self.modified[rel][0]
        path = self.root / rel
        try:
            return path.read_text(encoding="utf-8") if path.is_file() else None
        except (OSError, UnicodeDecodeError):
            return None

    def _modify(self, rel: str, text: str, reason: str) -> None:
        reasons = self.modified.get(rel, ("", []))[1]
        self.modified[rel] = (text, reasons + ([reason] if reason not in reasons else []))

    def _create(self, rel: str, text: str, origin: str) -> None:
        self.texts[rel] = text
        self.files[rel] = origin

    def _finish(self) -> CloneResult:
        formatted = format_python(self.root, {p: t for p, t in self.texts.items() if p.endswith(".py")})
        self.texts.update(formatted)
        stable = format_python(
            self.root,
            {p: self._read(p) for p in self.modified if p.endswith(".py") and (self.root / p).is_file()},
        )
        for rel, (text, reasons) in list(self.modified.items()):
            if rel.endswith(".py") and stable.get(rel) == self._read(rel):
                text = format_python(self.root, {rel: text})[rel]
                self.modified[rel] = (text, reasons)
        for rel, text in {**self.texts, **{p: t for p, (t, _) in self.modified.items()}}.items():
            if rel.endswith(".py"):
                try:
                    compile(text, rel, "exec")
                except SyntaxError as exc:
                    raise PlanConflictError(
                        f"generated code does not compile (line {exc.lineno}: {exc.msg})", rel
                    ) from None
        plan = Plan(self.root)
        conflicts = self._conflicts()
        for rel in sorted(self.texts):
            origin = self.files.get(rel, "")
            reason = f"cloned from {origin}" if origin else "new file from a template"
            plan.modify(rel, self.texts[rel], reason, mode=_mode_of(self.root / origin) if origin else None)
        for rel, (text, reasons) in sorted(self.modified.items()):
            plan.modify(rel, text, *reasons)
        for rel, text in sorted(self.texts.items()):
            for number, line in enumerate(text.splitlines(), 1):
                if TODO in line:
                    plan.todos.append(Todo(rel, number, line.split(TODO, 1)[1].lstrip(":) ").strip()))
        plan.report = self.report + [f"{t.path}:{t.line}: TODO {t.message}" for t in self.todos]
        result = CloneResult(plan, self.src, self.names, self.family, files=dict(self.files))
        if conflicts:
            if plan.is_empty():
                result.already_applied = True
                return result
            raise PlanConflictError(conflicts[0][1], conflicts[0][0])
        return result

    def _conflicts(self) -> list[tuple[str | None, str]]:
        out: list[tuple[str | None, str]] = []
        names = self.names
        for bridge in self.catalog.bridges:
            if bridge.name == names.bridge_class:
                out.append((bridge.path, f"class {names.bridge_class} already exists"))
            for reg in bridge.registrations:
                if reg.model_type == names.model_type:
                    out.append(
                        (
                            bridge.path,
                            f"model_type {names.model_type!r} is already registered by {bridge.name}",
                        )
                    )
                if reg.source == names.hf_class:
                    out.append((bridge.path, f"{names.hf_class} is already registered by {bridge.name}"))
        for rel in self.texts:
            if (self.root / rel).exists():
                out.append((rel, "target already exists"))
        return out


#: below this many source lines a process pool costs more than it saves
PARALLEL_LINES = 2500


def _clone_job(job: tuple, year: int) -> tuple[str, str, list[tuple[str, str]]]:
    new, text, old, mod, ctx, extra = job
    before = len(ctx.notes)
    out = clone_module(text, path=old, module_name=mod, ctx=ctx, year=year, extra=extra)
    return new, out, ctx.notes[before:]


def _run_clone_jobs(jobs: list[tuple], year: int) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """Clone every module; spread over the cores when the clone is big (libcst parsing dominates)."""
    lines = sum(job[1].count("\n") for job in jobs)
    workers = min(os.cpu_count() or 1, 4)
    if workers < 2 or lines < PARALLEL_LINES or len(jobs) < 2 or not hasattr(os, "fork"):
        return [_clone_job(job, year) for job in jobs]
    # Big files first, dealt round-robin, so the workers finish together.
    order = sorted(range(len(jobs)), key=lambda i: -len(jobs[i][1]))
    with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
        results = dict(
            zip(order, pool.map(_clone_job, [jobs[i] for i in order], [year] * len(order)), strict=True)
        )
    return [results[i] for i in range(len(jobs))]


def format_python(root: Path, texts: dict[str, str]) -> dict[str, str]:
    """Each text formatted by `ruff format` with the tree's own ruff configuration (found from the path)."""
    if not texts:
        return {}
    ruff = _ruff()

    def run(item: tuple[str, str]) -> tuple[str, str]:
        rel, text = item
        proc = subprocess.run(
            [ruff, "format", "--stdin-filename", rel, "-"],
            input=text,
            capture_output=True,
            text=True,
            cwd=root,
            check=False,
        )
        if proc.returncode != 0:
            raise PlanConflictError(f"ruff format failed: {proc.stderr.strip().splitlines()[-1:]}", rel)
        return rel, proc.stdout if proc.stdout else text

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(run, texts.items()))


def _ruff() -> str:
    candidate = Path(sys.executable).with_name("ruff")
    if candidate.is_file():
        return str(candidate)
    try:
        from ruff.__main__ import find_ruff_bin

        return str(find_ruff_bin())
    except (ImportError, FileNotFoundError):
        return "ruff"


def plan_clone(
    root: str | Path, request: CloneRequest, *, catalog: Catalog | None = None, year: int | None = None
) -> CloneResult:
    """Plan the clone of `request.src` as `request.dst` in the tree at `root`; writes nothing.

    Raises ResolveError (SRC unknown or ambiguous, DST not an identifier) and PlanConflictError (DST
    exists, a registration anchor is missing). When the tree already holds exactly this clone, the
    result's plan is empty and `already_applied` is True.
    """
    repo = find_repo(root)
    if catalog is None:
        from analyzers.catalog import build_catalog

        catalog = build_catalog(repo.root)
    return _Builder(repo.root, catalog, request, year or current_year()).build()
