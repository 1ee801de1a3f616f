"""What the stages of a clone pass on: the request, the frozen spec `resolve` builds from it, the places
`discover` finds, the typed clone jobs of `render` and the result. The stages write into one Plan (`codemods.plan`,
over `analyzers.changes`): created files with their origin, edits of existing ones, the report."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from analyzers.catalog.records import Catalog
from analyzers.hf_config import ModelSpec
from analyzers.hf_names_record import HFNames
from analyzers.source_index import SourceIndex
from codemods.clone_family._clone_module import CloneContext, Registration
from codemods.clone_family._config_edits import ConfigDecisions
from codemods.clone_family._placement import Placement
from codemods.naming import ModelNames, Renamer
from codemods.plan import Plan
from codemods.resolve import ResolvedSource

__all__ = [
    "FROM_TEMPLATE",
    "CloneJob",
    "CloneRequest",
    "CloneResult",
    "CloneSpec",
    "ClonedFiles",
    "Pair",
    "Targets",
]

#: (source path, clone path)
Pair = tuple[str, str]

#: the plan's reason for a file the clone writes from a template (a clone's reason names its source)
FROM_TEMPLATE = "new file from a template"


@dataclass(frozen=True)
class CloneRequest:
    """What the user asked for (CLI flags); every field but `dst` is optional."""

    src: str | None  #: the model to clone; None: nearest's top candidate for `config`
    dst: str
    config: str | None = None  #: config.json path, model dir or hub id of the new model
    hf_class: str | None = None
    model_type: str | None = None
    class_prefix: str | None = None
    family_dir: str | None = None  #: family folder under models/, nested or existing (default: by vendor)
    hf_id: str | None = None  #: published checkpoint id used in recipes, docs and examples
    #: bridges the learned mapping vocabulary leaves out (leave-one-out reconstruction benchmarks)
    exclude_teachers: tuple[str, ...] = ()
    #: write the clone although `--config` has features no bridge expresses (TODOs at each place; exit 1)
    allow_unsupported: bool = False


@dataclass(frozen=True)
class ClonedFiles:
    """SRC's own files and where their clones go."""

    models: tuple[Pair, ...]  #: the bridge module and its stem-mates (provider, modeling, step, mappings)
    recipes: tuple[Pair, ...]  #: recipe modules (per-hardware ones included)
    tests: tuple[Pair, ...]  #: unit and functional tests (and a new test package's `__init__`)
    dedicated: tuple[str, ...]  #: recipe families dedicated to SRC, cloned whole
    respelt: frozenset[str]  #: SRC's `modelling_` path parts whose clones are spelt `modeling_`

    @property
    def pairs(self) -> tuple[Pair, ...]:
        return self.models + self.recipes + self.tests


@dataclass(frozen=True)
class CloneSpec:
    """Everything a clone is decided by, resolved up front: names, renamers, files, module map, contexts."""

    root: Path
    catalog: Catalog
    request: CloneRequest
    year: int  #: stamped in the license headers
    source: ResolvedSource
    config: ModelSpec | None  #: the new model's HF config (`--config`)
    names: ModelNames
    family: str  #: the family folder the new model lives in
    placement: Placement  #: the folders of the model, its recipes, docs and examples
    others: frozenset[str]  #: stems of the tree's other models (the files `belongs_to` must leave)
    paths: Renamer  #: renames path components (stem spellings only)
    files: ClonedFiles
    module_map: Mapping[str, str]  #: old dotted module -> new, for every cloned module
    renamer: Renamer  #: identifiers, strings and prose
    ctx: CloneContext  #: how model and test modules are cloned
    recipe_ctx: CloneContext  #: how recipe modules are cloned (a recipe prefix may be shorter than the stem)
    registrations: Mapping[str, Registration]  #: new bridge class -> what it registers
    name_map: Mapping[str, str]  #: old -> new names the cloned modules define or re-export
    exports: Mapping[str, tuple[str, ...]]  #: old dotted module -> the names it defines or imports
    decisions: ConfigDecisions | None  #: what `--config` decides for the cloned bridge
    report: tuple[str, ...]  #: decisions taken while resolving
    #: the run's reads and parses of the tree: every stage reads an existing file of it through this, so
    #: each is read and parsed once (the catalog's parse of a module, when the run built the catalog)
    index: SourceIndex = field(compare=False, repr=False)
    #: the new model's checkpoint names, collected once (None: no `--config`, or they are unavailable)
    hf_names: HFNames | None = None


@dataclass(frozen=True)
class Targets:
    """Where the clone is registered and documented, besides its own files."""

    package_inits: tuple[str, ...]  #: package `__init__`s (models/, recipes/) naming SRC's modules or names
    tables: tuple[str, ...]  #: test modules that map SRC's architectures to dotted bridge paths
    docs_vendors: (
        tuple[str, ...] | None
    )  #: docs/models/<vendor> folders of SRC's family; None: no docs/models
    docs_pages: tuple[Pair, ...]  #: (vendor folder, page) of SRC's own pages
    example_vendors: tuple[str, ...] | None  #: examples/models/<vendor> folders; None: no examples/models
    example_folders: tuple[Pair, ...]  #: (vendor folder, folder) of SRC's own examples
    docs_dst: str | None = None  #: the docs/models/<vendor> folder of the chosen family (may be new)
    examples_dst: str | None = None  #: the folder the clone's examples folder goes in (may be new)
    examples_flat: bool = (
        False  #: a new family named after the model: its examples are examples/models/<stem>/
    )


@dataclass(frozen=True)
class CloneJob:
    """One Python module to clone (a process-pool task: everything in it pickles)."""

    old: str  #: the source path
    new: str  #: the clone's path
    text: str  #: the source's text
    module: str  #: the source's dotted module (its relative imports resolve against it)
    ctx: CloneContext
    #: the config-driven edits of the cloned bridge module (`--config`)
    edits: Callable[[cst.Module], cst.Module] | None = None


@dataclass
class CloneResult:
    plan: Plan
    source: ResolvedSource
    names: ModelNames
    family: str  #: the family folder the new model lives in
    #: True when the tree already holds exactly what the plan would write (a second identical run)
    already_applied: bool = False
    files: dict[str, str] = field(default_factory=dict)  #: new path -> the source path it was cloned from
    #: `--config`'s features no bridge expresses (Feature.to_json()), written anyway with --allow-unsupported
    unsupported: list[dict] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)  #: expressibility rules that could not run, and why
