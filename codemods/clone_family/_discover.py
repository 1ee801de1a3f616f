"""Which files a clone reads and writes: SRC's own files and their clones' paths (`find_cloned_files`, what
`resolve` builds the module map from), and the places the clone is registered and documented (`discover`).

Only reads the tree.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from analyzers.repo import MODELS_DIR, RECIPES_DIR
from analyzers.walk import OWN_FILES, iter_files
from codemods.clone_family._placement import Placement
from codemods.clone_family._spec import ClonedFiles, CloneSpec, Pair, Targets
from codemods.naming import DOCS_DIR, EXAMPLES_DIR, Renamer, functional_tests_dir, unit_tests_dir
from codemods.resolve import ResolvedSource

__all__ = ["belongs_to", "discover", "entries", "find_cloned_files", "rename_path", "vendor_dirs", "walk"]

MISSPELT_MODELING = "modelling_"
#: folder entries that are never SRC's files
_SKIP = {"__pycache__", "data"}


def belongs_to(name: str, stem: str, others: set[str] | frozenset[str]) -> bool:
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


def walk(root: Path, rel_dir: str) -> list[str]:
    """Every file of the tree's own under `rel_dir` (`OWN_FILES`), sorted, as paths relative to `root`."""
    return [p.relative_to(root).as_posix() for p in iter_files(root / rel_dir, skip=OWN_FILES)]


def entries(root: Path, rel_dir: str) -> list[str]:
    """The sorted names in folder `rel_dir` (none when it is missing)."""
    try:
        return sorted(
            p.name for p in (root / rel_dir).iterdir() if p.name not in _SKIP and not p.name.startswith(".")
        )
    except OSError:
        return []


class _PathRenamer:
    """Renames the parts of SRC's paths, noting the `modelling_` parts whose clones are spelt `modeling_`."""

    def __init__(self, renamer: Renamer) -> None:
        self.renamer = renamer
        self.respelt: set[str] = set()

    def __call__(self, rel: str) -> str:
        parts = []
        for part in rel.split("/"):
            new = self.renamer.identifier(part)
            if new != part and new.startswith(MISSPELT_MODELING):
                # The clone's own modules follow the tree's naming rule (MBR035), not SRC's spelling.
                new = "modeling_" + new.removeprefix(MISSPELT_MODELING)
                self.respelt.add(part)
            parts.append(new)
        return "/".join(parts)


def rename_path(paths: Renamer, rel: str) -> str:
    """`rel` with its parts renamed as a clone's path."""
    return _PathRenamer(paths)(rel)


def find_cloned_files(
    root: Path, source: ResolvedSource, placement: Placement, paths: Renamer, others: frozenset[str]
) -> ClonedFiles:
    """SRC's model, recipe and test files and their clones' paths, in the folders `placement` chose."""
    rename = _PathRenamer(paths)
    models = _model_files(root, source, placement, rename, others)
    recipes, dedicated = _recipe_files(root, source, placement.recipe_family, rename, others)
    tests = _test_files(root, source, placement.family, rename, others)
    return ClonedFiles(
        tuple(models), tuple(recipes), tuple(tests), tuple(dedicated), frozenset(rename.respelt)
    )


def _model_files(
    root: Path, source: ResolvedSource, placement: Placement, rename: _PathRenamer, others: frozenset[str]
) -> list[Pair]:
    """SRC's bridge module and its stem-mates (provider, modeling, step, mappings)."""
    src_dir = PurePosixPath(source.bridge.path).parent.as_posix()
    new_dir = f"{MODELS_DIR}/{placement.model_dir}"
    pairs: list[Pair] = []
    for entry in entries(root, src_dir):
        if entry == "__init__.py" or not belongs_to(entry, source.stem, others):
            continue
        full = f"{src_dir}/{entry}"
        if (root / full).is_dir():
            for rel in walk(root, full):
                pairs.append((rel, f"{new_dir}/{rename(rel[len(src_dir) + 1 :])}"))
        elif entry.endswith(".py"):
            pairs.append((full, f"{new_dir}/{rename(entry)}"))
    return pairs


def _recipe_files(
    root: Path,
    source: ResolvedSource,
    recipe_family: str | None,
    rename: _PathRenamer,
    others: frozenset[str],
) -> tuple[list[Pair], list[str]]:
    """SRC's recipe modules, and the recipe families dedicated to SRC (cloned whole); their clones go to
    `recipe_family` when given, else beside them."""

    def moved(rel: str, family: str) -> str:
        if recipe_family is None:
            return rename(rel)
        rest = rel[len(f"{RECIPES_DIR}/{family}/") :]
        return f"{RECIPES_DIR}/{recipe_family}/{rename(rest)}"

    pairs: list[Pair] = []
    dedicated: list[str] = []
    for family in entries(root, RECIPES_DIR):
        base = f"{RECIPES_DIR}/{family}"
        if not (root / base).is_dir() or family == "utils":
            continue
        if belongs_to(family, source.stem, others):
            dedicated.append(family)
            for rel in walk(root, base):
                new = moved(rel, family)
                # an existing recipe family keeps its package `__init__`s (the clone is registered in them)
                if rel.endswith(".py") and not (rel.endswith("/__init__.py") and (root / new).exists()):
                    pairs.append((rel, new))
            continue
        for entry in entries(root, base):
            full = f"{base}/{entry}"
            if (root / full).is_dir():
                for sub in entries(root, full):
                    if sub.endswith(".py") and sub != "__init__.py" and belongs_to(sub, source.stem, others):
                        pairs.append((f"{full}/{sub}", moved(f"{full}/{sub}", family)))
            elif entry.endswith(".py") and entry != "__init__.py" and belongs_to(entry, source.stem, others):
                pairs.append((full, moved(full, family)))
    return pairs, dedicated


def _test_files(
    root: Path, source: ResolvedSource, family: str, rename: _PathRenamer, others: frozenset[str]
) -> list[Pair]:
    """SRC's unit and functional tests; a new family's test folders get SRC's family's `__init__` (an
    existing family's keep theirs)."""
    pairs: list[Pair] = []
    for tests_dir in (unit_tests_dir, functional_tests_dir):
        old_dir, new_dir = tests_dir(source.family.name), tests_dir(family)
        if not (root / old_dir).is_dir():
            continue
        for entry in entries(root, old_dir):
            if entry.startswith("test_") and entry.endswith(".py") and belongs_to(entry, source.stem, others):
                pairs.append((f"{old_dir}/{entry}", f"{new_dir}/{rename(entry)}"))
        if (
            new_dir != old_dir
            and (root / old_dir / "__init__.py").is_file()
            and not (root / new_dir / "__init__.py").exists()
        ):
            pairs.append((f"{old_dir}/__init__.py", f"{new_dir}/__init__.py"))
    return pairs


def vendor_dirs(root: Path, base: str, family: str) -> list[str]:
    """Vendor folders of `base` (docs/models, examples/models) that hold `family`: `qwen` for `qwen_vl`."""
    family = family.split("/")[-1]
    first = re.sub(r"\d+", "", family.split("_")[0])
    found = []
    for d in entries(root, base):
        if not (root / base / d).is_dir():
            continue
        if d == family or family.startswith(d + "_") or re.sub(r"\d+", "", d) == first:
            found.append(f"{base}/{d}")
    return sorted(found, key=lambda v: (v.rsplit("/", 1)[-1] != family, v))


def discover(spec: CloneSpec) -> Targets:
    """The package `__init__`s, test tables, docs pages and example folders the clone is added to."""
    root = spec.root
    docs_vendors, docs_pages = _in_vendor_dirs(spec, DOCS_DIR, lambda vendor, entry: entry != "index.md")
    example_vendors, example_folders = _in_vendor_dirs(
        spec, EXAMPLES_DIR, lambda vendor, entry: (root / vendor / entry).is_dir()
    )
    family = spec.placement.family
    docs_dst = _vendor_for(root, DOCS_DIR, family, docs_vendors, spec) if docs_vendors is not None else None
    examples_dst = (
        _vendor_for(root, EXAMPLES_DIR, family, example_vendors, spec)
        if example_vendors is not None
        else None
    )
    return Targets(
        package_inits=tuple(_package_inits(spec)),
        tables=tuple(_tables(spec)),
        docs_vendors=docs_vendors,
        docs_pages=docs_pages,
        example_vendors=example_vendors,
        example_folders=example_folders,
        docs_dst=docs_dst,
        examples_dst=examples_dst,
        # A family named after the model holds its examples directly (examples/models/falcon_h1/).
        examples_flat=family == spec.names.stem and family != spec.source.family.name,
    )


def _vendor_for(
    root: Path, base: str, family: str, src_vendors: tuple[str, ...], spec: CloneSpec
) -> str | None:
    """The vendor folder of `base` the clone is documented in: SRC's when the clone stays in SRC's family,
    else the chosen family's (`docs/models/exaone`), else a new one named after the family."""
    if family == spec.source.family.name:
        if src_vendors:
            return src_vendors[0]
        # SRC's family has no docs page folder (no page is written), examples get one named after it.
        return f"{base}/{family}" if base == EXAMPLES_DIR else None
    found = vendor_dirs(root, base, family)
    return found[0] if found else f"{base}/{family}"


def _in_vendor_dirs(
    spec: CloneSpec, base: str, wanted: Callable[[str, str], bool]
) -> tuple[tuple[str, ...] | None, tuple[Pair, ...]]:
    """The vendor folders of `base` that hold SRC's family (None without `base`), and the (vendor, entry)
    of SRC's own entries there that are `wanted`."""
    if not (spec.root / base).is_dir():
        return None, ()
    vendors = vendor_dirs(spec.root, base, spec.source.family.name)
    own = tuple(
        (vendor, entry)
        for vendor in vendors
        for entry in entries(spec.root, vendor)
        if wanted(vendor, entry) and belongs_to(entry, spec.source.stem, spec.others)
    )
    return tuple(vendors), own


def _package_inits(spec: CloneSpec) -> list[str]:
    """`__init__`s under models/ and recipes/ (not cloned ones) that name a cloned module or name."""
    cloned = {old for old, _ in spec.files.pairs if old.endswith("__init__.py")}
    src_family_pkg = f"megatron.bridge.models.{spec.source.family.name.replace('/', '.')}"
    needles = {m.rsplit(".", 1)[-1] for m in spec.module_map} | set(spec.name_map) | {src_family_pkg}
    pattern = re.compile("|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True)))
    return [
        rel
        for base in (MODELS_DIR, RECIPES_DIR)
        for rel in walk(spec.root, base)
        if rel.endswith("__init__.py")
        and rel not in cloned
        and (text := spec.index.text(rel)) is not None
        and pattern.search(text)
    ]


def _tables(spec: CloneSpec) -> list[str]:
    """Test modules (not cloned ones) that name one of SRC's bridges by its dotted path."""
    if not (spec.root / "tests").is_dir():
        return []
    cloned = {old for old, _ in spec.files.pairs}
    pattern = re.compile("|".join(re.escape(f"{b.module}.{b.name}") for b in spec.source.module_bridges))
    return [
        rel
        for rel in walk(spec.root, "tests")
        if rel.endswith(".py")
        and rel not in cloned
        and (text := spec.index.text(rel)) is not None
        and pattern.search(text)
    ]
