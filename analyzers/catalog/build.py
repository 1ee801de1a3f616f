"""Repo -> Catalog: parse the relevant files in parallel (stdlib ast), reuse cached per-file facts, assemble."""

from __future__ import annotations

import os
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from analyzers import __version__
from analyzers.catalog.modules import (
    ModuleInfo,
    ModuleLoader,
    build_module_info,
    indexed_module,
    strip_to_outline,
)
from analyzers.catalog.records import SCHEMA_VERSION, Catalog, Location, ParseProblem
from analyzers.errors import ParseError
from analyzers.pickle_store import (
    UNPICKLING_ERRORS,
    code_stamp,
    discard,
    dump_atomic,
    load_dict,
    tree_cache_path,
)
from analyzers.repo import BRIDGE_PKG, find_repo
from analyzers.source_index import SourceIndex
from analyzers.tree_snapshot import TreeSnapshot, digest_bytes, scan_indexed

if TYPE_CHECKING:
    from analyzers.catalog.extract import FileFacts

#: folders of src/megatron/bridge whose modules the catalog reads
SCANNED = ("models", "recipes", "diffusion/conversion", "diffusion/models")
SOURCE_PREFIXES = tuple(f"{BRIDGE_PKG}/{sub}/" for sub in SCANNED)
PARAM_MAPPING = f"{BRIDGE_PKG}/models/conversion/param_mapping.py"


#: editing the catalog package invalidates its caches
CACHE_FORMAT = f"{__version__}-{SCHEMA_VERSION}-{code_stamp('catalog')}"
FEW_FILES = 8  #: at most this many re-read files do not rewrite the per-file facts
PARALLEL_THRESHOLD = 64  #: below this many files to parse, a pool costs more than it saves


def scan_sources(root: Path, use_index: bool = True) -> TreeSnapshot:
    """The modules the catalog reads (every .py under SCANNED), digested through the tree's stat index."""
    return scan_indexed(root, [f"{BRIDGE_PKG}/{sub}" for sub in SCANNED], is_source, use_index)


def is_source(rel: str) -> bool:
    return rel.endswith(".py") and rel.startswith(SOURCE_PREFIXES)


#: checkout folders whose listings (not contents) the catalog reads: which families have tests, docs, examples
LISTED = (
    "tests/unit_tests/models",
    "tests/functional_tests/test_groups/models",
    "docs/models",
    "examples/models",
)


def _listing_signature(root: Path) -> str:
    """Names under the listed checkout folders, two levels deep: a new docs page or test folder is a change."""
    names: list[str] = []
    for top in LISTED:
        try:
            with os.scandir(root / top) as entries:
                for entry in entries:
                    names.append(f"{top}/{entry.name}")
                    if entry.is_dir():
                        names.extend(f"{top}/{entry.name}/{sub}" for sub in os.listdir(entry.path))
        except OSError:
            continue
    return "\n".join(sorted(names))


def _mapping_class_names(loader: ModuleLoader) -> set[str]:
    """Class names defined in the shared param_mapping module (local subclasses are found by the evaluator)."""
    info = loader.by_path(PARAM_MAPPING)
    return set(info.classes) if info else set()


_WORKER: dict = {}


def _init_worker(root: str, mapping_classes: set[str]) -> None:
    _WORKER["loader"] = ModuleLoader(Path(root))  # the worker's own index: it reads what it is sent
    _WORKER["mapping_classes"] = mapping_classes


def _extract_many(items: list[tuple[str, bytes]]) -> list[FileFacts | ParseProblem]:
    loader: ModuleLoader = _WORKER["loader"]
    out: list[FileFacts | ParseProblem] = []
    for rel, data in items:
        out.append(_extract_one(rel, data, loader, _WORKER["mapping_classes"]))
    return out


def _extract_one(
    rel: str, data: bytes, loader: ModuleLoader, mapping_classes: set[str], index: SourceIndex | None = None
) -> FileFacts | ParseProblem:
    """The file's facts; with `index`, its parse is the run's (the lint's rules reuse it)."""
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return ParseProblem(Location(rel, 1, 0), f"not UTF-8: {exc.reason} at byte {exc.start}")
    try:
        info = indexed_module(index, rel) if index is not None else build_module_info(rel, source)
    except ParseError as exc:
        line = int(exc.path.rsplit(":", 1)[1]) if exc.path and ":" in exc.path else 1
        return ParseProblem(Location(rel, line or 1, 0), exc.message)
    from analyzers.catalog.extract import extract_file

    return extract_file(info, loader, mapping_classes)


class CatalogCache:
    """Per-tree cache in two pickles: the last assembled catalog (all a warm run reads) and the per-file
    facts keyed by content digest (read only when something changed)."""

    def __init__(self, root: Path) -> None:
        self.path = tree_cache_path("catalog", root, ".catalog.pickle")
        self.files_path = tree_cache_path("catalog", root, ".files.pickle")
        self._entries: dict[str, tuple[str, FileFacts | ParseProblem]] | None = None
        #: (digest, outline) of param_mapping.py: a few-file rebuild loads it instead of parsing 160 KB
        self.outline: tuple[str, ModuleInfo] | None = None

    def catalog_for(self, tree_key: str) -> Catalog | None:
        """The cached catalog if it was built from the tree `tree_key` names; otherwise only its header is read."""
        try:
            with self.path.open("rb") as handle:
                header = pickle.load(handle)
                if not isinstance(header, dict) or header.get("format") != CACHE_FORMAT:
                    return None
                if header.get("catalog_key") != tree_key:
                    return None
                catalog = pickle.load(handle)
        except FileNotFoundError:
            return None
        except UNPICKLING_ERRORS as exc:
            discard(self.path, exc)
            return None
        return catalog if isinstance(catalog, Catalog) else None

    @property
    def entries(self) -> dict[str, tuple[str, FileFacts | ParseProblem]]:
        if self._entries is None:
            data = _load(self.files_path)
            self._entries = data["entries"] if data is not None else {}
            self.outline = data.get("outline") if data is not None else None
        return self._entries

    @entries.setter
    def entries(self, value: dict[str, tuple[str, FileFacts | ParseProblem]]) -> None:
        self._entries = value

    def save(self, catalog_key: str | None, catalog: Catalog, files: bool = True) -> None:
        """Write the catalog (after a small header with its tree key); with `files`, the per-file facts too."""
        if files:
            dump_atomic(
                self.files_path, {"format": CACHE_FORMAT, "entries": self.entries, "outline": self.outline}
            )
        dump_atomic(self.path, {"format": CACHE_FORMAT, "catalog_key": catalog_key}, catalog)


def _load(path: Path) -> dict | None:
    return load_dict(path, CACHE_FORMAT)


def build_catalog(
    root: str | Path,
    *,
    use_cache: bool = True,
    jobs: int | None = None,
    snapshot: TreeSnapshot | None = None,
    index: SourceIndex | None = None,
) -> Catalog:
    """The catalog of the Megatron-Bridge tree at `root` (parsed, never imported).

    `snapshot`: the tree as the caller already scanned it (the lint scans once for both); it must track
    every module under SCANNED. `index`: the run's sources (over that snapshot), whose reads and parses
    the build shares with the caller.

    >>> catalog = build_catalog(ensure_tree())
    >>> catalog.bridge("Qwen3Bridge").registrations[0].model_type
    'qwen3'
    """
    repo = find_repo(root)
    root = repo.root
    if snapshot is None:
        snapshot = scan_sources(root, use_index=use_cache)
    problems = [
        ParseProblem(Location(rel, 1, 0), f"unreadable: {why}")
        for rel, why in sorted(snapshot.unreadable.items())
        if is_source(rel)
    ]
    digests = {rel: d for rel, d in snapshot.digests.items() if is_source(rel)}
    contents = snapshot.data
    tree_key = digest_bytes(
        "\n".join(f"{rel}:{d}" for rel, d in sorted(digests.items())).encode()
        + repr(sorted(repo.parts().items())).encode()
        + _listing_signature(root).encode()
    )
    cache = CatalogCache(root) if use_cache else None
    if cache is not None and not problems and (cached := cache.catalog_for(tree_key)) is not None:
        return cached

    # Only a changed tree needs the extraction machinery: keep it out of the warm path's imports.
    from analyzers.catalog.assemble import assemble
    from analyzers.catalog.extract import FileFacts

    # One loader for the sequential path: the shared modules it parses (param_mapping.py is 160 KB) are reused.
    if index is None or index.root != root:
        index = SourceIndex(root, snapshot)
    loader = ModuleLoader(root, index)
    outline_digest = digests.get(PARAM_MAPPING)
    had_entries = bool(cache.entries) if cache else False
    if cache is not None and cache.outline is not None and cache.outline[0] == outline_digest:
        loader.add(cache.outline[1])
    # Every file's evaluation consults the mapping class names, whether or not it reads param_mapping.py.
    mapping_classes = _mapping_class_names(loader)
    classes_key = digest_bytes(" ".join(sorted(mapping_classes)).encode())

    def dep_key(rel: str, deps: list[str]) -> str:
        own = f"{digests.get(rel, '')}|{classes_key}"
        return own + "".join(f"|{d}:{digests.get(d, 'missing')}" for d in deps)

    facts: dict[str, FileFacts | ParseProblem] = {}
    todo: list[str] = []
    for rel in digests:
        hit = cache.entries.get(rel) if cache else None
        if hit is not None:
            key, value = hit
            deps = value.deps if isinstance(value, FileFacts) else []
            if key == dep_key(rel, deps):
                facts[rel] = value
                continue
        todo.append(rel)
    if todo:
        facts.update(_extract_parallel(loader, index, todo, contents, mapping_classes, jobs))
    if cache is not None and (cache.outline is None or cache.outline[0] != outline_digest):
        info = loader.by_path(PARAM_MAPPING)
        # stripped in place, so a parse of its own: the index's is the run's, which the lint reads whole
        outline = strip_to_outline(build_module_info(PARAM_MAPPING, info.source)) if info else None
        cache.outline = (outline_digest, outline) if outline and outline_digest else None
    facts = dict(sorted(facts.items()))  # cached and re-read files in one order, as a cold build has them
    catalog = assemble(repo, facts, problems)
    if cache is not None:
        cache.entries = {
            rel: (dep_key(rel, value.deps if isinstance(value, FileFacts) else []), value)
            for rel, value in facts.items()
        }
        # A few re-read files are cheaper to re-read next time than rewriting every file's facts now
        # (the pre-commit case); the assembled catalog is always saved, so the next unchanged run is warm.
        cache.save(
            tree_key if not problems else None, catalog, files=len(todo) > FEW_FILES or not had_entries
        )
    return catalog


def _extract_parallel(
    loader: ModuleLoader,
    index: SourceIndex,
    todo: list[str],
    contents: Mapping[str, bytes],
    mapping_classes: set[str],
    jobs: int | None,
) -> dict[str, FileFacts | ParseProblem]:
    root = loader.root
    jobs = jobs or min(os.cpu_count() or 1, 8)
    items = [(rel, contents[rel]) for rel in todo]
    if jobs <= 1 or len(items) < PARALLEL_THRESHOLD:
        return {rel: _extract_one(rel, data, loader, mapping_classes, index) for rel, data in items}
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    # Big files first, dealt round-robin, so the workers finish together.
    items.sort(key=lambda item: -len(item[1]))
    chunks = [items[i::jobs] for i in range(jobs)]
    ctx = get_context("fork") if hasattr(os, "fork") else get_context()
    with ProcessPoolExecutor(
        jobs, mp_context=ctx, initializer=_init_worker, initargs=(str(root), mapping_classes)
    ) as pool:
        results = list(pool.map(_extract_many, chunks))
    out: dict[str, FileFacts | ParseProblem] = {}
    for chunk, result in zip(chunks, results, strict=True):
        for (rel, _), value in zip(chunk, result, strict=True):
            out[rel] = value
    return out
