"""rename-family: rename a whole model family consistently, as one Plan.

Moved and renamed: the family package (`models/<old>/`), its recipe modules (a recipe family named like it
moves whole, otherwise only its `<old>*` modules, per-hardware subfolders included), and every file under
`tests/`, `docs/`, `examples/`, `scripts/` whose path names the family. Rewritten with libcst in every
Python file that mentions an old spelling: identifiers, imports (style kept: relative stays relative),
`__all__` entries and other identifier strings, dotted `megatron.bridge...` paths, tree paths, comments and
docstrings. Markdown and other text files get the same renamer on their whole text.

The names are clone-family's (`codemods.naming`): token-boundary, case-preserving, never inside a longer
name of another family (`minimax_m2` keeps `minimax_m3`, `qwen` keeps `qwen3`). Never renamed: what HF
owns (registered `model_type` strings, HF classes and hub ids) and weight-name strings of mapping
registries.

>>> plan = plan_rename_family(root, "olmoe", "olmo_moe", catalog=catalog)
>>> plan.report[-1]
'7 files moved, 2 files edited'
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import libcst as cst

from analyzers.catalog.modules import module_name, resolve_relative
from analyzers.catalog.records import Catalog, FamilyRecord
from analyzers.errors import ParseError, PlanConflictError, ResolveError
from analyzers.repo import MODELS_DIR, RECIPES_DIR
from analyzers.source_index import SourceIndex
from codemods._cst import dotted as dotted_name
from codemods._cst import dotted_expr
from codemods.clone_family import belongs_to
from codemods.naming import (
    Renamer,
    Variant,
    align_camel,
    check_class_prefix,
    check_stem,
    rename_camel,
)
from codemods.plan import Plan
from codemods.refactors import _ruff
from codemods.refactors._done import already_done, refuse_unreadable
from codemods.refactors.move_module import TEXT_SUFFIXES
from codemods.refactors.rename_symbol import FROZEN_DOCS, check_compiles
from codemods.rename_engine import ModuleNames, RenameTransformer, StringPolicy, dotted_module, rename_module
from codemods.resolve import bridge_stem, other_family_spellings, other_stems, resolve_source

__all__ = ["FamilyRename", "plan_rename_family", "resolve_family"]

#: top-level folders (besides src/) whose files follow the family when their path names it
CHECKOUT_DIRS = ("tests", "docs", "examples", "scripts")
#: folders of `<dir>/models/<vendor>/` whose vendor folder is shared by a vendor's families (never renamed)
VENDOR_DIRS = ("docs", "examples")
#: first components of a string that is a path inside the tree (not a hub id `org/name`)
TREE_ROOTS = ("src/", "megatron/", "tests/", "docs/", "examples/", "scripts/", "models/", "recipes/", "./")
#: hooks whose string literals are weight names: only their docstrings and comments are renamed
REGISTRY_HOOKS = frozenset({"mapping_registry"})
#: a link into the repository itself: its path follows the rename (naming's prose keeps URLs verbatim)
_REPO_URL = re.compile(
    r"(https?://github\.com/[\w.-]+/Megatron-Bridge/(?:tree|blob)/[\w.-]+/)([^\s)>\]\"'`#?]+)"
)
_HF_URL = re.compile(r"huggingface\.co/[^\s)\]>`'\"]+")
#: `org/name` not inside a longer path: a hub id when its org is not a tree folder and its name no file
_HUB_ID = re.compile(r"(?<![\w./-])([A-Za-z0-9][\w.-]*)/([A-Za-z0-9][\w.-]*)(?![\w/-])")
_FILE_EXT = re.compile(r"\.(py|md|mdx|sh|ya?ml|json|toml|txt|rst)$")
#: HF model classes named in prose (`OlMoEForCausalLM`): HF's names, even when misspelled
_HF_CLASS = re.compile(
    r"(?<![\w])[A-Za-z]\w*(?:ForCausalLM|ForConditionalGeneration|ForSequenceClassification)(?![\w])"
)


@dataclass
class FamilyRename:
    """A resolved rename: the family, its names, and every file it moves."""

    old: str  #: the family folder under models/
    new: str
    family: FamilyRecord
    matched_by: str  #: "family" or how a model name resolved (class, model_type, stem)
    renamer: Renamer  #: identifiers, strings and prose
    paths: Renamer  #: path components (stem spellings only)
    #: strings HF owns, never renamed: registered model types and HF sources
    hf_facing: set[str] = field(default_factory=set)
    moves: dict[str, str] = field(default_factory=dict)  #: old relative path -> new relative path
    kept_vendor: list[str] = field(default_factory=list)  #: vendor folders named like the family, kept
    #: CamelCase class prefixes (`OlMoE`): renamed inside identifiers, kept where prose names the model
    brands: list[str] = field(default_factory=list)

    def module_map(self) -> dict[str, str]:
        """Old dotted module -> new, for every moved module and package under src/."""
        out: dict[str, str] = {}
        for old, new in self.moves.items():
            if old.startswith("src/") and old.endswith(".py"):
                out[module_name(old)] = module_name(new)
        return out


def resolve_family(catalog: Catalog, old: str) -> tuple[FamilyRecord, str]:
    """The family `old` names: a family folder, or a bridge class / model_type / bridge stem of exactly one
    family. ResolveError when nothing or several families match (the candidates are listed)."""
    family = catalog.family(old)
    if family is not None:
        return family, "family"
    bridges = [b for b in catalog.bridges if not b.diffusion]
    for how, found in (
        ("class", [b for b in bridges if b.name == old]),
        ("model_type", [b for b in bridges if any(r.model_type == old for r in b.registrations)]),
        ("stem", [b for b in bridges if bridge_stem(b) == old]),
    ):
        families = sorted({b.family for b in found})
        if len(families) > 1:
            listed = ", ".join(f"{b.family} ({b.name})" for b in sorted(found, key=lambda b: b.family))
            raise ResolveError(f"{old!r} is ambiguous ({how}): families {listed}; name the family folder")
        if families and (record := catalog.family(families[0])) is not None:
            return record, how
    # nothing matched: resolve_source words the error and lists similar names
    source = resolve_source(catalog, old)
    return source.family, source.matched_by


def _others(catalog: Catalog, family: FamilyRecord) -> set[str]:
    """Model stems and folder names of the other families (what `belongs_to` must not take)."""
    stems = other_stems(catalog, set(family.bridges)) | {f.name for f in catalog.families}
    return stems - {family.name}


def _external_names(source: str, module: str, is_package: bool) -> set[str]:
    """Names a module binds from outside megatron.bridge (transformers, torch, ...): they keep their spelling."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            mod = resolve_relative(module, is_package, node.level, node.module)
            if not mod.startswith("megatron.bridge"):
                out |= {a.asname or a.name for a in node.names if a.name != "*"}
        elif isinstance(node, ast.Import):
            out |= {
                a.asname or a.name.split(".")[0]
                for a in node.names
                if not a.name.startswith("megatron.bridge")
            }
    return out


def _defined_names(source: str) -> tuple[list[str], list[str]]:
    """(classes, other names) defined anywhere in a module."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return [], []
    classes = [n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    others = [n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return classes, others


class _Resolver:
    """Builds a FamilyRename: which files move, under which names, and what stays."""

    def __init__(
        self, index: SourceIndex, catalog: Catalog, old: str, new: str, class_prefix: str | None = None
    ) -> None:
        self.index, self.root, self.catalog = index, index.root, catalog
        check_stem(new, "NEW")
        self.class_prefix = check_class_prefix(class_prefix) if class_prefix is not None else None
        self.family, self.matched_by = resolve_family(catalog, old)
        self.old, self.new = self.family.name, new
        if "/" in self.old:
            raise ResolveError(f"family {self.old!r} is not a folder directly under models/")
        #: why there is nothing to do: OLD names no family any more but names NEW another way (a model
        #: type, a class), so the rename is done
        self.done = ""
        if new == self.old:
            why = f"target already exists: family {new!r} (the family {old!r} names)"
            if self.matched_by == "family":
                raise PlanConflictError(why, self.family.path)
            self.done = f"{self.family.path}: {why}"
        self.others = _others(catalog, self.family)
        self.kept_vendor: set[str] = set()

    def build(self) -> FamilyRename:
        old, new = self.old, self.new
        variants = [Variant(old, new), Variant(old.upper(), new.upper())]
        if "_" in old:
            variants.append(Variant(old.replace("_", "-"), new.replace("_", "-")))
        protected = other_family_spellings(self.catalog, self.family)
        paths = Renamer(list(variants), protected=protected)
        moves = self._src_moves(paths)
        hf_facing, external = self._hf_facing(moves)
        classes: set[str] = set()
        for rel in moves:
            if rel.endswith(".py"):
                classes.update(_defined_names(self.index.source(rel))[0])
        for cls in sorted(classes):
            segments = align_camel(cls, old)
            if segments is None:
                continue
            prefix = "".join(segments[:-1])
            renamed = self.class_prefix or rename_camel(prefix, old, new)
            if renamed and prefix not in {v.old for v in variants}:
                variants.append(Variant(prefix, renamed))
        renamer = Renamer(variants, protected=protected | external | hf_facing)
        moves.update(self._checkout_moves(paths))
        # standalone in prose, `OlMoE` or `GLM` names the model; only the snake/hyphen stems are tree names
        brands = [v.old for v in variants if v.old not in {old, old.replace("_", "-")}]
        return FamilyRename(
            old,
            new,
            self.family,
            self.matched_by,
            renamer,
            paths,
            hf_facing,
            moves,
            sorted(self.kept_vendor),
            brands,
        )

    def _walk(self, rel_dir: str) -> list[str]:
        return sorted(self.index.files(rel_dir, ("",)))

    def _rename_path(self, paths: Renamer, rel: str) -> str:
        return "/".join(paths.identifier(part) for part in rel.split("/"))

    def _src_moves(self, paths: Renamer) -> dict[str, str]:
        moves: dict[str, str] = {}
        family_dir = f"{MODELS_DIR}/{self.old}"
        for rel in self._walk(family_dir):
            tail = rel[len(family_dir) + 1 :]
            moves[rel] = f"{MODELS_DIR}/{self.new}/{self._rename_path(paths, tail)}"
        for recipe in self.family.recipes:
            base = f"{RECIPES_DIR}/{recipe}"
            whole = belongs_to(recipe, self.old, self.others)
            for rel in self._walk(base):
                tail = rel[len(base) + 1 :]
                if whole:
                    moves[rel] = f"{RECIPES_DIR}/{paths.identifier(recipe)}/{self._rename_path(paths, tail)}"
                elif belongs_to(PurePosixPath(rel).name, self.old, self.others):
                    moves[rel] = f"{base}/{self._rename_path(paths, tail)}"
        return {k: v for k, v in moves.items() if k != v or k.startswith(family_dir)}

    def _checkout_moves(self, paths: Renamer) -> dict[str, str]:
        moves: dict[str, str] = {}
        for top in CHECKOUT_DIRS:
            if not (self.root / top).is_dir():
                continue
            for rel in self._walk(top):
                if FROZEN_DOCS.search(rel):
                    continue
                parts = rel.split("/")
                if parts[1:2] == ["models"] and parts[0] in VENDOR_DIRS and len(parts) > 3:
                    # a vendor folder (docs/models/qwen/) holds several families' pages: it keeps its name
                    new = "/".join([*parts[:3], self._rename_path(paths, "/".join(parts[3:]))])
                    if parts[2] == self.old:
                        self.kept_vendor.add("/".join(parts[:3]))
                else:
                    new = self._rename_path(paths, rel)
                if new != rel:
                    moves[rel] = new
        return moves

    def _hf_facing(self, moves: dict[str, str]) -> tuple[set[str], set[str]]:
        """(model types and HF sources of the family's bridges, names its modules import from outside)."""
        own = set(self.family.bridges)
        hf: set[str] = set()
        for bridge in self.catalog.bridges:
            if bridge.name in own:
                for reg in bridge.registrations:
                    hf |= {x for x in (reg.model_type, reg.source) if x}
        external: set[str] = set()
        for rel in moves:
            if rel.endswith(".py"):
                external |= _external_names(
                    self.index.source(rel), module_name(rel), rel.endswith("__init__.py")
                )
        return hf, external


# --- text -------------------------------------------------------------------------------------------
def _masked_spans(text: str, hf_facing: set[str], brands: Iterable[str] = ()) -> list[tuple[int, int]]:
    """Spans prose renaming must skip: huggingface.co URLs, hub ids, HF classes, quoted model types / HF
    sources, and `brands` standing alone (`OLMoE-7B` names the model; `OLMoESelfAttention` is code)."""
    spans = [m.span() for m in _HF_URL.finditer(text)]
    spans += [m.span() for m in _HF_CLASS.finditer(text)]
    for word in brands:
        spans += [m.span() for m in re.finditer(rf"(?<![\w]){re.escape(word)}(?![\w])", text)]
    for m in _HUB_ID.finditer(text):
        org, name = m.group(1), m.group(2)
        if f"{org}/" in TREE_ROOTS or _FILE_EXT.search(name) or org.islower() and name.islower():
            continue
        spans.append(m.span())
    for word in hf_facing:
        for m in re.finditer(rf"(?<=[`'\"]){re.escape(word)}(?=[`'\"])", text):
            spans.append(m.span())
    return sorted(spans)


class _FamilyStrings(StringPolicy):
    """rename-family's strings: HF-facing values are kept (and counted), prose is renamed around what HF owns,
    dotted paths follow moved modules, tree paths (`src/...`, `tests/...`) follow moved files."""

    def __init__(self, rename: FamilyRename, root: Path, module_map: dict[str, str]) -> None:
        super().__init__(rename.renamer)
        self.rename, self.root, self.module_map = rename, root, module_map
        self.kept: dict[str, int] = {}  #: HF-facing string -> times left as is
        self._exists: dict[str, bool] = {}

    def prose(self, text: str) -> str:
        text = _REPO_URL.sub(lambda m: m.group(1) + self.path(m.group(2)), text)
        spans = _masked_spans(text, self.rename.hf_facing, self.rename.brands)
        if not spans:
            return self.rename.renamer.prose(text)
        out: list[str] = []
        pos = 0
        for start, end in spans:
            if start < pos:
                continue
            out.append(self.rename.renamer.prose(text[pos:start]))
            out.append(text[start:end])
            pos = end
        out.append(self.rename.renamer.prose(text[pos:]))
        return "".join(out)

    def path(self, text: str) -> str:
        return "/".join(self.rename.paths.identifier(p) for p in text.split("/"))

    def is_module(self, dotted: str) -> bool:
        if dotted not in self._exists:
            base = self.root / "src" / Path(*dotted.split("."))
            self._exists[dotted] = base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()
        return self._exists[dotted]

    def dotted(self, text: str) -> str:
        """A `megatron.bridge...` module path, or a module path plus attributes, renamed."""
        parts = text.split(".")
        for cut in range(len(parts), 0, -1):
            head = ".".join(parts[:cut])
            if head in self.module_map:
                return ".".join(
                    [self.module_map[head], *(self.rename.renamer.identifier(p) for p in parts[cut:])]
                )
        for cut in range(len(parts), 0, -1):
            head = ".".join(parts[:cut])
            if self.is_module(head):
                return ".".join([head, *(self.rename.renamer.identifier(p) for p in parts[cut:])])
        return text

    def other(self, text: str) -> str:
        return self.path(text) if "/" in text and text.startswith(TREE_ROOTS) else text

    def string(self, body: str, prose: bool) -> str:
        if body in self.rename.hf_facing:
            self.kept[body] = self.kept.get(body, 0) + 1
            return body
        return super().string(body, prose)


class _FamilyTransformer(RenameTransformer):
    """The rename engine plus what only a family rename does: dotted `megatron.bridge...` attribute chains and
    `import megatron.bridge...` statements follow moved modules; mapping registries' weight names stay."""

    def __init__(self, names: ModuleNames, strings: _FamilyStrings) -> None:
        super().__init__(names, strings, frozen_functions=REGISTRY_HOOKS)
        self.strings: _FamilyStrings = strings

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        dotted = dotted_name(original)
        if dotted.startswith("megatron.bridge."):
            new = self.strings.dotted(dotted)
            if new != dotted:
                return dotted_expr(new).with_changes(lpar=updated.lpar, rpar=updated.rpar)
        return updated

    def leave_Import(self, original: cst.Import, updated: cst.Import) -> cst.Import:
        aliases = []
        for alias in updated.names:
            dotted = dotted_name(alias.name)
            new = self.strings.dotted(dotted) if dotted.startswith("megatron.bridge") else dotted
            if (
                alias.asname is not None
                and isinstance(alias.asname.name, cst.Name)
                and dotted.startswith("megatron.bridge")
            ):
                alias = alias.with_changes(
                    asname=alias.asname.with_changes(name=cst.Name(self.names.name(alias.asname.name.value)))
                )
            aliases.append(alias.with_changes(name=dotted_expr(new)) if new != dotted else alias)
        return updated.with_changes(names=aliases)


def _rewrite_python(strings: _FamilyStrings, path: str, text: str) -> str:
    # relative imports are resolved where the file is now; the family's packages move together
    module, is_package = dotted_module(path), path.endswith("__init__.py")

    def owned(mod: str) -> str | None:
        return strings.dotted(mod) if mod.startswith("megatron.bridge") else None

    rename = strings.rename
    names = ModuleNames(
        rename.renamer,
        rename.paths,
        module,
        is_package,
        owned=owned,
        kept=frozenset(_external_names(text, module, is_package)),
    )
    try:
        return rename_module(text, _FamilyTransformer(names, strings))
    except cst.ParserSyntaxError as exc:
        raise ParseError(f"cannot parse: {exc.message} (line {exc.raw_line})", path) from None


def _conflicts(index: SourceIndex, catalog: Catalog, rename: FamilyRename) -> None:
    """Refuse when NEW already exists: its folders, a moved file's target, a renamed class's new name."""
    root = index.root
    for top in (MODELS_DIR, RECIPES_DIR):
        if (root / top / rename.new).exists():
            raise PlanConflictError(f"target already exists: family {rename.new!r}", f"{top}/{rename.new}")
        if (root / top / f"{rename.new}.py").exists():
            raise PlanConflictError(
                f"family {rename.new!r} would shadow the module of the same name (a package hides it)",
                f"{top}/{rename.new}.py",
            )
    if catalog.family(rename.new) is not None:
        raise PlanConflictError(
            f"target already exists: family {rename.new!r}", catalog.family(rename.new).path
        )
    for old, new in sorted(rename.moves.items()):
        if new in rename.moves:
            continue
        if (root / new).exists():
            raise PlanConflictError(f"target already exists (renaming {old})", new)
    classes: set[str] = set()
    for old in rename.moves:
        if old.startswith("src/") and old.endswith(".py"):
            classes.update(_defined_names(index.source(old))[0])
    renamed = {rename.renamer.identifier(c) for c in classes} - classes
    defined = {b.name for b in catalog.bridges} | {m.name for m in catalog.mapping_classes}
    defined |= {p for f in catalog.families for p in f.providers}
    for name in sorted(renamed & defined):
        raise PlanConflictError(f"target already exists: class {name!r} is defined in the tree")


def plan_rename_family(
    root: Path, old: str, new: str, *, catalog: Catalog | None = None, class_prefix: str | None = None
) -> Plan:
    """Plan renaming family `old` (folder or model name) to `new`; never writes.

    `class_prefix` replaces the CamelCase prefix of the family's classes (default: the old prefix with
    its casing carried over to `new`: OlMoE, olmoe -> olmo_moe gives OlmoMoe).

    Raises ResolveError (OLD unknown or ambiguous, NEW not a snake_case identifier) and PlanConflictError
    (NEW exists, a path escapes the tree); a rename already done gives an empty plan with its `nothing_to_do`.
    """
    root = Path(root)
    if catalog is None:
        from analyzers.catalog import build_catalog

        catalog = build_catalog(root)
    index = SourceIndex(root)  # one read per file for the whole plan
    resolver = _Resolver(index, catalog, old, new, class_prefix)
    if resolver.done:
        return already_done(root, resolver.done)
    rename = resolver.build()
    refuse_unreadable(catalog, f"{MODELS_DIR}/{rename.old}/", "rename-family")
    refuse_unreadable(catalog, f"{RECIPES_DIR}/{rename.old}/", "rename-family")
    _conflicts(index, catalog, rename)
    strings = _FamilyStrings(rename, root, rename.module_map())
    plan = Plan(root)
    how = "" if rename.matched_by == "family" else f" ({old!r} resolved by {rename.matched_by})"
    plan.report.append(f"rename family {rename.old} -> {rename.new}{how}")

    pattern = rename.renamer.search_pattern()
    assert pattern is not None
    new_dirs = sorted(
        {PurePosixPath(n).parent.as_posix() for o, n in rename.moves.items() if o.endswith(".py")}
    )
    with _ruff.workspace(root, [d for d in new_dirs if not (root / d).is_dir()]) as ruff_cwd:
        py_sources = index.mentioning(pattern, (".py",))
        for path in rename.moves:
            if path.endswith(".py") and path not in py_sources:
                py_sources[path] = index.source(path)
        for path, text in sorted(py_sources.items()):
            new_path = rename.moves.get(path, path)
            after = _rewrite_python(strings, path, text)
            if new_path == path:
                if after != text:
                    after = _ruff.sort_changed_imports(ruff_cwd, path, text, after)
                    plan.modify(path, after, "renamed references")
                continue
            after = _ruff.sort_changed_imports(ruff_cwd, new_path, text, after)
            plan.move(path, new_path, after, f"moved from {path}")
    for rel in index.files("", TEXT_SUFFIXES):
        if rel.startswith(".") or rel.endswith(".py"):
            continue
        text = index.source(rel)
        new_rel = rename.moves.get(rel, rel)
        if FROZEN_DOCS.search(rel):
            if pattern.search(text):
                plan.report.append(f"left frozen docs of a released version: {rel}")
            continue
        after = strings.prose(text) if pattern.search(text) else text
        if new_rel != rel:
            plan.move(rel, new_rel, after, f"moved from {rel}")
        elif after != text:
            plan.modify(rel, after, "renamed names and paths in text")
    for old_path, new_path in sorted(rename.moves.items()):
        if not plan.touches(old_path):
            try:
                (root / old_path).read_text(encoding="utf-8")
            except UnicodeDecodeError:
                raise PlanConflictError("cannot move a binary file (plans hold text)", old_path) from None
            except OSError as exc:
                raise ParseError(f"cannot read: {exc.strerror}", old_path) from None
            plan.move(old_path, new_path, None, f"moved from {old_path}")

    for vendor in rename.kept_vendor:
        plan.report.append(
            f"kept the vendor folder {vendor} (shared by a vendor's families); rename it by hand if wanted"
        )
    for value, count in sorted(strings.kept.items()):
        plan.report.append(
            f"kept HF-facing string {value!r} ({count}x): model types and HF classes are HF's names"
        )
    moved = sum(1 for e in plan.changes if e.kind == "delete")
    plan.report.append(f"{moved} files moved, {len(plan.changes) - 2 * moved} files edited")
    check_compiles(plan)
    return plan
