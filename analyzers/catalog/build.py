"""Repo -> Catalog: parse the relevant files in parallel (stdlib ast), reuse cached per-file facts, assemble."""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path
from typing import TYPE_CHECKING

from analyzers import __version__
from analyzers.catalog.modules import ModuleInfo, ModuleLoader, build_module_info, strip_to_outline
from analyzers.catalog.records import SCHEMA_VERSION, Catalog, Location, ParseProblem
from analyzers.errors import ParseError
from analyzers.realtree import cache_dir
from analyzers.repo import BRIDGE_PKG, find_repo

if TYPE_CHECKING:
    from analyzers.catalog.extract import FileFacts

#: folders of src/megatron/bridge whose modules the catalog reads
SCANNED = ("models", "recipes", "diffusion/conversion", "diffusion/models")
PARAM_MAPPING = f"{BRIDGE_PKG}/models/conversion/param_mapping.py"


def _code_digest() -> str:
    """Digest of the catalog package's own sources: editing the tool invalidates its caches."""
    digest = hashlib.blake2b(digest_size=8)
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


CACHE_FORMAT = f"{__version__}-{SCHEMA_VERSION}-{_code_digest()}"
FEW_FILES = 8  #: at most this many re-read files do not rewrite the per-file facts
PARALLEL_THRESHOLD = 64  #: below this many files to parse, a pool costs more than it saves


def collect_files(root: Path) -> list[str]:
    """Relative paths of every module the catalog reads, sorted."""
    found: list[str] = []
    for sub in SCANNED:
        base = root / BRIDGE_PKG / sub
        if not base.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not d.startswith("."))
            rel_dir = Path(dirpath).relative_to(root).as_posix()
            found.extend(f"{rel_dir}/{f}" for f in filenames if f.endswith(".py"))
    return sorted(found)


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


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _mapping_class_names(loader: ModuleLoader) -> set[str]:
    """Class names defined in the shared param_mapping module (local subclasses are found by the evaluator)."""
    info = loader.by_path(PARAM_MAPPING)
    return set(info.classes) if info else set()


_WORKER: dict = {}


def _init_worker(root: str, mapping_classes: set[str]) -> None:
    _WORKER["loader"] = ModuleLoader(Path(root))
    _WORKER["mapping_classes"] = mapping_classes


def _extract_many(items: list[tuple[str, bytes]]) -> list[FileFacts | ParseProblem]:
    loader: ModuleLoader = _WORKER["loader"]
    out: list[FileFacts | ParseProblem] = []
    for rel, data in items:
        out.append(_extract_one(rel, data, loader, _WORKER["mapping_classes"]))
    return out


def _extract_one(
    rel: str, data: bytes, loader: ModuleLoader, mapping_classes: set[str]
) -> FileFacts | ParseProblem:
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return ParseProblem(Location(rel, 1, 0), f"not UTF-8: {exc.reason} at byte {exc.start}")
    try:
        info = build_module_info(rel, source)
    except ParseError as exc:
        line = int(exc.path.rsplit(":", 1)[1]) if exc.path and ":" in exc.path else 1
        return ParseProblem(Location(rel, line or 1, 0), exc.message)
    from analyzers.catalog.extract import extract_file

    return extract_file(info, loader, mapping_classes)


class CatalogCache:
    """Per-tree cache in two pickles: the last assembled catalog (all a warm run reads) and the per-file
    facts keyed by content digest (read only when something changed)."""

    def __init__(self, root: Path) -> None:
        key = hashlib.sha1(str(root).encode()).hexdigest()[:16]
        self.path = cache_dir() / "catalog" / f"{key}.catalog.pickle"
        self.files_path = cache_dir() / "catalog" / f"{key}.files.pickle"
        self.catalog_key: str | None = None
        self.catalog: Catalog | None = None
        self._entries: dict[str, tuple[str, FileFacts | ParseProblem]] | None = None
        #: (digest, outline) of param_mapping.py: a few-file rebuild loads it instead of parsing 160 KB
        self.outline: tuple[str, ModuleInfo] | None = None
        data = _load(self.path)
        if data is not None:
            self.catalog_key, self.catalog = data["catalog_key"], data["catalog"]

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

    def save(self, files: bool = True) -> None:
        """Write the catalog; with `files`, the per-file facts too (the larger pickle)."""
        if files:
            _dump(self.files_path, {"format": CACHE_FORMAT, "entries": self.entries, "outline": self.outline})
        _dump(self.path, {"format": CACHE_FORMAT, "catalog_key": self.catalog_key, "catalog": self.catalog})


def _load(path: Path) -> dict | None:
    try:
        with path.open("rb") as handle:
            data = pickle.load(handle)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, KeyError, TypeError, ImportError):
        return None
    return data if isinstance(data, dict) and data.get("format") == CACHE_FORMAT else None


def _dump(path: Path, payload: dict) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as handle:
            pickle.dump(payload, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache only costs speed


def build_catalog(
    root: str | Path, *, use_cache: bool = True, jobs: int | None = None, read: dict[str, bytes] | None = None
) -> Catalog:
    """The catalog of the Megatron-Bridge tree at `root` (parsed, never imported).

    >>> catalog = build_catalog(ensure_tree())  # doctest: +SKIP
    >>> catalog.bridge("Qwen3Bridge").registrations[0].model_type  # doctest: +SKIP
    'qwen3'
    """
    repo = find_repo(root)
    root = repo.root
    files = collect_files(root)
    contents: dict[str, bytes] = {}
    problems: list[ParseProblem] = []
    for rel in files:
        if read is not None and rel in read:
            contents[rel] = read[rel]  # already read by the caller (the lint reads the whole tree once)
            continue
        try:
            contents[rel] = (root / rel).read_bytes()
        except OSError as exc:
            problems.append(ParseProblem(Location(rel, 1, 0), f"unreadable: {exc.strerror or exc}"))
    digests = {rel: _digest(data) for rel, data in contents.items()}
    tree_key = _digest(
        "\n".join(f"{rel}:{d}" for rel, d in sorted(digests.items())).encode()
        + repr(sorted(repo.parts().items())).encode()
        + _listing_signature(root).encode()
    )
    cache = CatalogCache(root) if use_cache else None
    if cache and cache.catalog_key == tree_key and cache.catalog is not None and not problems:
        return cache.catalog

    # Only a changed tree needs the extraction machinery: keep it out of the warm path's imports.
    from analyzers.catalog.assemble import assemble
    from analyzers.catalog.extract import FileFacts

    def dep_key(rel: str, deps: list[str]) -> str:
        return digests.get(rel, "") + "".join(f"|{d}:{digests.get(d, 'missing')}" for d in deps)

    facts: dict[str, FileFacts | ParseProblem] = {}
    todo: list[str] = []
    had_entries = bool(cache.entries) if cache else False
    for rel in contents:
        hit = cache.entries.get(rel) if cache else None
        if hit is not None:
            key, value = hit
            deps = value.deps if isinstance(value, FileFacts) else []
            if key == dep_key(rel, deps):
                facts[rel] = value
                continue
        todo.append(rel)
    outline_digest = digests.get(PARAM_MAPPING)
    if todo:
        # One loader for the sequential path: the shared modules it parses (param_mapping.py is 160 KB) are reused.
        loader = ModuleLoader(root)
        if cache is not None and cache.outline is not None and cache.outline[0] == outline_digest:
            loader.add(cache.outline[1])
        mapping_classes = _mapping_class_names(loader)
        facts.update(_extract_parallel(loader, todo, contents, mapping_classes, jobs))
        if cache is not None and (cache.outline is None or cache.outline[0] != outline_digest):
            info = loader.by_path(PARAM_MAPPING)
            cache.outline = (outline_digest, strip_to_outline(info)) if info and outline_digest else None
    catalog = assemble(repo, facts, problems)
    if cache is not None:
        cache.entries = {
            rel: (dep_key(rel, value.deps if isinstance(value, FileFacts) else []), value)
            for rel, value in facts.items()
        }
        cache.catalog_key = tree_key if not problems else None
        cache.catalog = catalog
        # A few re-read files are cheaper to re-read next time than rewriting every file's facts now
        # (the pre-commit case); the assembled catalog is always saved, so the next unchanged run is warm.
        cache.save(files=len(todo) > FEW_FILES or not had_entries)
    return catalog


def _extract_parallel(
    loader: ModuleLoader,
    todo: list[str],
    contents: dict[str, bytes],
    mapping_classes: set[str],
    jobs: int | None,
) -> dict[str, FileFacts | ParseProblem]:
    root = loader.root
    jobs = jobs or min(os.cpu_count() or 1, 8)
    items = [(rel, contents[rel]) for rel in todo]
    if jobs <= 1 or len(items) < PARALLEL_THRESHOLD:
        return {rel: _extract_one(rel, data, loader, mapping_classes) for rel, data in items}
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
