"""One pass over the tree: the catalog parsed once, each raw file parsed at most once, every rule run.

Whole-tree results (before selection and suppression) are cached per tree, keyed by the content of
every scanned file, so a warm run reads the files, hashes them and applies config and suppressions.
"""

from __future__ import annotations

import ast
import hashlib
import os
import pickle
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from analyzers import __version__
from analyzers.catalog.modules import ModuleInfo, build_module_info
from analyzers.catalog.records import Catalog, Location
from analyzers.errors import ParseError
from analyzers.lint.config import LintConfig
from analyzers.lint.rule import Finding, LintRule
from analyzers.lint.suppressions import Suppression, might_have_suppressions, parse_suppressions, suppressing
from analyzers.repo import BRIDGE_PKG, Repo, find_repo

CACHE_FORMAT = f"lint-{__version__}-4"
#: top-level folders of a checkout whose file listing the checkout-only rules read
LISTED_PARTS = ("src", "docs", "examples", "scripts", "tests", "skills", "tutorials")
PARSE_ERROR = "MBR000"
UNUSED_NOQA = "MBR900"


@dataclass
class TreeFiles:
    """The tree's files: every listed path, and bytes of the ones the lint reads (src .py, docs .md)."""

    paths: set[str]
    data: dict[str, bytes]

    def key(self, extra: str) -> str:
        h = hashlib.blake2b(digest_size=16)
        h.update(extra.encode())
        for rel in sorted(self.paths):
            h.update(rel.encode() + b"\0")
            blob = self.data.get(rel)
            if blob is not None:
                h.update(hashlib.blake2b(blob, digest_size=16).digest())
        return h.hexdigest()


def _read_tree(repo: Repo) -> TreeFiles:
    paths: set[str] = set()
    data: dict[str, bytes] = {}
    root = str(repo.root)
    parts = ("src",) if repo.kind == "wheel" else LISTED_PARTS
    for part in parts:
        top = os.path.join(root, part)
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = [d for d in dirnames if d != "__pycache__" and not d.startswith(".")]
            rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
            for name in filenames:
                rel = f"{rel_dir}/{name}"
                paths.add(rel)
                if (name.endswith(".py") and rel.startswith(BRIDGE_PKG + "/")) or (
                    name.endswith(".md") and rel.startswith("docs/")
                ):
                    try:
                        with open(os.path.join(dirpath, name), "rb") as handle:
                            data[rel] = handle.read()
                    except OSError:
                        data[rel] = b""
    return TreeFiles(paths, data)


class LintContext:
    """What rules see: the catalog, the tree's files, parsed modules (each parsed at most once)."""

    def __init__(self, repo: Repo, catalog: Catalog, files: TreeFiles) -> None:
        self.repo = repo
        self.root = repo.root
        self.catalog = catalog
        self.files = files
        self.notes: list[str] = []
        self.problems: dict[str, Finding] = {}  #: parse failures found while reading raw syntax
        self._modules: dict[str, ModuleInfo | None] = {}
        #: (fact, path) -> (digest of the file, value): small per-file facts kept between runs
        self.facts: dict[tuple[str, str], tuple[str, object]] = {}

    def fact(self, name: str, rel: str, compute):
        """`compute()` for file `rel`, memoised across runs by the file's content (keeps raw parses rare).

        Rules use it for tree-level checks that need raw syntax of many files, so a one-file run does
        not re-parse them: `ctx.fact("MBR010.model_type", path, lambda: ...)`.
        """
        data = self.files.data.get(rel)
        digest = hashlib.blake2b(data, digest_size=12).hexdigest() if data is not None else "?"
        hit = self.facts.get((name, rel))
        if hit is not None and hit[0] == digest:
            return hit[1]
        value = compute()
        self.facts[(name, rel)] = (digest, value)
        return value

    @property
    def checkout(self) -> bool:
        return self.catalog.tree_kind == "checkout"

    def exists(self, rel: str) -> bool:
        return rel in self.files.paths or (self.root / rel).exists()

    def text(self, rel: str) -> str | None:
        data = self.files.data.get(rel)
        if data is None:
            try:
                data = (self.root / rel).read_bytes()
            except OSError:
                return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def module(self, rel: str) -> ModuleInfo | None:
        """The parsed module at `rel`, or None (a parse failure becomes an MBR000 finding)."""
        if rel not in self._modules:
            self._modules[rel] = None
            data = self.files.data.get(rel)
            if data is None:
                try:
                    data = (self.root / rel).read_bytes()
                except OSError:
                    return None
            problem = _parse_problem(rel, data)
            if isinstance(problem, Finding):
                self.problems[rel] = problem
            else:
                self._modules[rel] = problem
        return self._modules[rel]


def _parse_problem(rel: str, data: bytes) -> ModuleInfo | Finding:
    from analyzers.rules.mbr000_unparsable_file import UnparsableFile

    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1)
        return UnparsableFile.make(Location(rel, line, col), f"not UTF-8: {exc.reason} at byte {exc.start}")
    try:
        return build_module_info(rel, source)
    except ParseError as exc:
        try:
            ast.parse(source, filename=rel)
        except SyntaxError as err:
            return UnparsableFile.make(Location(rel, err.lineno or 1, max((err.offset or 1) - 1, 0)), err.msg)
        except ValueError as err:
            return UnparsableFile.make(Location(rel, 1, 0), str(err))
        return UnparsableFile.make(Location(rel, 1, 0), exc.message)


@dataclass
class LintResult:
    findings: list[Finding]  #: selected, not suppressed, sorted
    suppressed: int = 0
    notes: list[str] = field(default_factory=list)
    files_checked: int = 0
    rules_run: list[str] = field(default_factory=list)


def _scope(catalog: Catalog, only_files: set[str]) -> tuple[set[str], set[str]] | None:
    """Model families and recipe families a change to `only_files` can affect; None when it can affect any.

    A file outside every family folder (models/__init__.py, conversion/, tests/, docs/) can touch every bridge.
    """
    families: set[str] = set()
    recipes: set[str] = set()
    for rel in only_files:
        fam = next((f.name for f in catalog.families if rel.startswith(f.path + "/")), None)
        rec = next((r.name for r in catalog.recipes if rel.startswith(r.path + "/")), None)
        if fam is None and rec is None:
            return None
        families.update([fam] if fam else [])
        recipes.update([rec] if rec else [])
    for family in catalog.families:
        if family.name in families:
            recipes.update(family.recipes)
        elif recipes & set(family.recipes):
            families.add(family.name)
    return families, recipes


def _run_rules(ctx: LintContext, rules: list[type[LintRule]], only_files: set[str] | None) -> list[Finding]:
    out: list[Finding] = []
    cat = ctx.catalog
    py_files = sorted(ctx.files.data)
    bridges, families, recipes = cat.bridges, cat.families, cat.recipes
    scope = _scope(cat, only_files) if only_files is not None else None
    if scope is not None:
        # Pre-commit on a few files: bridge/family/recipe rules only where the change can reach.
        fams, recs = scope
        bridges = [
            b
            for b in cat.bridges
            if b.family in fams
            or b.path in only_files
            or any(m.location.path in only_files for m in b.registry.mappings)
        ]
        families = [f for f in cat.families if f.name in fams]
        recipes = [r for r in cat.recipes if r.name in recs]
    for cls in rules:
        if cls.CHECKOUT_ONLY and not ctx.checkout:
            ctx.notes.append(f"{cls.CODE} ({cls.NAME}) not run: needs a full checkout (tests/, docs/)")
            continue
        rule = cls(ctx)
        try:
            if cls.overrides("check_tree"):
                out.extend(rule.check_tree())
            if cls.overrides("check_bridge"):
                for bridge in bridges:
                    out.extend(rule.check_bridge(bridge))
            if cls.overrides("check_family"):
                for family in families:
                    out.extend(rule.check_family(family))
            if cls.overrides("check_recipe_family"):
                for recipe in recipes:
                    out.extend(rule.check_recipe_family(recipe))
            if cls.FILES is not None:
                for rel in py_files if only_files is None else sorted(only_files):
                    if cls.claims(rel):
                        out.extend(rule.check_file(rel))
        except Exception as exc:  # a rule bug must not stop the other rules
            ctx.notes.append(f"internal error in {cls.CODE} ({cls.NAME}): {type(exc).__name__}: {exc}")
    return out


def _parse_failures(ctx: LintContext, only_files: set[str] | None) -> list[Finding]:
    """MBR000 for every unparsable .py under src/megatron/bridge (the catalog's problems, then the rest)."""
    from analyzers.rules.mbr000_unparsable_file import UnparsableFile

    found: dict[str, Finding] = {}
    for problem in ctx.catalog.problems:
        found.setdefault(problem.location.path, UnparsableFile.make(problem.location, problem.message))
    scanned = {p for p in ctx.files.data if p.endswith(".py")} if only_files is None else only_files
    catalog_ok = _catalog_files(ctx)
    for rel in sorted(scanned):
        if rel in found or rel in catalog_ok or not rel.endswith(".py"):
            continue
        if rel in ctx.problems:
            found[rel] = ctx.problems[rel]
            continue
        data = ctx.files.data.get(rel)
        if data is None:
            continue
        try:
            # Decode first: compile() of bytes lets undecodable bytes in comments through.
            compile(data.decode("utf-8"), rel, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
        except (SyntaxError, ValueError, UnicodeDecodeError):
            result = _parse_problem(rel, data)
            if isinstance(result, Finding):
                found[rel] = result
    found.update({rel: f for rel, f in ctx.problems.items() if rel not in found})
    return list(found.values())


def _catalog_files(ctx: LintContext) -> set[str]:
    """Files the catalog parsed without a problem (no need to parse them again for MBR000)."""
    from analyzers.catalog.build import SCANNED

    prefixes = tuple(f"{BRIDGE_PKG}/{s}/" for s in SCANNED)
    bad = {p.location.path for p in ctx.catalog.problems}
    return {p for p in ctx.files.data if p.startswith(prefixes) and p.endswith(".py") and p not in bad}


class LintCache:
    """Raw findings of the last whole-tree run, per tree."""

    def __init__(self, root: Path) -> None:
        from analyzers.realtree import cache_dir

        key = hashlib.sha1(str(root).encode()).hexdigest()[:16]
        self.path = cache_dir() / "lint" / f"{key}.pickle"

    def _read(self) -> dict:
        try:
            with self.path.open("rb") as handle:
                data = pickle.load(handle)
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, TypeError):
            return {}
        return data if isinstance(data, dict) and data.get("format") == CACHE_FORMAT else {}

    def load(self, key: str) -> tuple[list[Finding], list[str]] | None:
        data = self._read()
        if data.get("key") != key:
            return None
        return data["findings"], data["notes"]

    def load_facts(self) -> dict:
        return self._read().get("facts", {})

    def save(
        self, key: str | None, findings: list[Finding] | None, notes: list[str] | None, facts: dict
    ) -> None:
        """Store a whole-tree result (key given) or only refresh the per-file facts (key None)."""
        payload = self._read() if key is None else {}
        payload.update({"format": CACHE_FORMAT, "facts": facts})
        if key is not None:
            payload.update({"key": key, "findings": findings, "notes": notes})
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            with tmp.open("wb") as handle:
                pickle.dump(payload, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.path)
        except OSError:
            pass


def _environment_key() -> str:
    """What besides the tree changes results: the tool and the installed transformers (MBR013)."""
    from analyzers.transformers_source import transformers_dir

    tdir = transformers_dir()
    version = ""
    if tdir is not None:
        try:
            version = str((tdir / "__init__.py").stat().st_mtime_ns)
        except OSError:
            pass
    return f"{CACHE_FORMAT}|{sys.version_info[:2]}|{tdir}|{version}"


def collect_raw(
    repo: Repo, files: TreeFiles, only_files: set[str] | None, use_cache: bool
) -> tuple[list[Finding], list[str]]:
    """Every rule's findings before selection and suppression (whole-tree results come from the cache)."""
    from analyzers.rules import ALL_RULES

    key = files.key(_environment_key())
    cache = LintCache(repo.root) if use_cache else None
    if cache is not None and only_files is None and (hit := cache.load(key)) is not None:
        return hit
    from analyzers.catalog import build_catalog

    catalog = build_catalog(repo.root, use_cache=use_cache, read=files.data)
    ctx = LintContext(repo, catalog, files)
    if cache is not None:
        ctx.facts = cache.load_facts()
    rules = [r for r in ALL_RULES if r.CODE not in (PARSE_ERROR, UNUSED_NOQA)]
    findings = _run_rules(ctx, rules, only_files)
    findings.extend(_parse_failures(ctx, only_files))
    if cache is not None:
        live = {k: v for k, v in ctx.facts.items() if k[1] in files.data}
        cache.save(key if only_files is None else None, findings, ctx.notes, live)
    return findings, ctx.notes


def _keep_for_files(finding: Finding, only_files: set[str]) -> bool:
    return finding.location.path in only_files or any(p in only_files for p in finding.related)


def lint_tree(
    root: str | Path,
    config: LintConfig | None = None,
    paths: Iterable[str] | None = None,
    use_cache: bool = True,
) -> LintResult:
    """Lint the tree at `root`: every file, or `paths` (relative) plus the tree-level findings they affect.

    >>> result = lint_tree(ensure_tree())  # doctest: +SKIP
    >>> sorted({f.code for f in result.findings})  # doctest: +SKIP
    ['MBR002', 'MBR004', ...]
    """
    from analyzers.rules import ALL_RULES

    repo = find_repo(root)
    config = config or LintConfig()
    selected = config.selected({r.CODE: r.DEFAULT for r in ALL_RULES})
    only_files = set(paths) if paths is not None else None
    files = _read_tree(repo)
    raw, notes = collect_raw(repo, files, only_files, use_cache)
    if only_files is not None:
        raw = [f for f in raw if _keep_for_files(f, only_files)]
    notes = [n for n in notes if n.split(" ", 1)[0] in selected or n.startswith("internal error")]
    findings, suppressed, sups = _apply_suppressions(raw, selected, config, files, repo.root)
    if UNUSED_NOQA in selected:
        findings.extend(_unused_suppressions(sups, selected, only_files, notes))
    findings.sort(key=Finding.sort_key)
    checked = len(only_files) if only_files is not None else sum(1 for p in files.data if p.endswith(".py"))
    return LintResult(findings, suppressed, notes, checked, sorted(selected))


def _apply_suppressions(
    raw: list[Finding], selected: set[str], config: LintConfig, files: TreeFiles, root: Path
) -> tuple[list[Finding], int, dict[str, list[Suppression]]]:
    sups: dict[str, list[Suppression]] = {}
    for rel, data in files.data.items():
        if might_have_suppressions(data):
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                continue
            if found := parse_suppressions(text, rel.endswith(".py")):
                sups[rel] = found
    kept: list[Finding] = []
    suppressed = 0
    seen: set[tuple] = set()
    for finding in raw:
        if finding.code not in selected or config.ignored_in(finding.path, finding.code):
            continue
        ident = (finding.code, finding.location, finding.message)
        if ident in seen:
            continue
        seen.add(ident)
        if finding.code != PARSE_ERROR and finding.path in sups:
            hit = suppressing(sups[finding.path], finding.code, finding.location.line, finding.end_line)
            if hit is not None:
                hit.used.add(finding.code)
                suppressed += 1
                continue
        kept.append(finding)
    return kept, suppressed, sups


def _unused_suppressions(
    sups: dict[str, list[Suppression]], selected: set[str], only_files: set[str] | None, notes: list[str]
) -> Iterator[Finding]:
    from analyzers.rules import ALL_RULES
    from analyzers.rules.mbr900_unused_suppression import UnusedSuppression

    known = {r.CODE for r in ALL_RULES}
    not_run = {n.split(" ", 1)[0] for n in notes if "not run" in n}
    for rel, items in sorted(sups.items()):
        if only_files is not None and rel not in only_files:
            continue
        for sup in items:
            if sup.file_level and not sup.codes:
                if not sup.used:
                    yield UnusedSuppression.make(Location(rel, sup.line, sup.col), "bridgesmith: noqa")
                continue
            for code in sup.codes:
                if code not in known:
                    yield UnusedSuppression.make(Location(rel, sup.line, sup.col), f"{code} (unknown code)")
                elif code in selected and code not in not_run and code not in sup.used:
                    yield UnusedSuppression.make(Location(rel, sup.line, sup.col), code)
