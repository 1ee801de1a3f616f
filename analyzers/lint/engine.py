"""One pass over the tree: the catalog parsed once, each raw file parsed at most once, every rule run.

The engine reports its own diagnostics (MBR000 for a file that does not parse, MBR900 for a suppression
that hides nothing) and runs the rules of `analyzers.rules`; `ALL_RULES` lists every code of both.

Whole-tree results (before selection and suppression) are cached per tree, keyed by the content of
every scanned file, so a warm run stats the files (their digests come from the stat index) and applies
config and suppressions; only changed files are read.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from analyzers import __version__
from analyzers.catalog.build import build_catalog, is_source
from analyzers.catalog.modules import ModuleInfo, build_module_info, indexed_module
from analyzers.catalog.records import Catalog, Location
from analyzers.errors import ParseError
from analyzers.lint.config import LintConfig
from analyzers.lint.mbr000_unparsable_file import UnparsableFile
from analyzers.lint.mbr900_unused_suppression import UnusedSuppression
from analyzers.lint.memo import ContentMemo
from analyzers.lint.rule import Finding, LintRule, RuleUnavailable
from analyzers.lint.suppressions import Suppression, might_have_suppressions, parse_suppressions, suppressing
from analyzers.pickle_store import code_stamp, dump_atomic, load_dict, tree_cache_path
from analyzers.repo import BRIDGE_PKG, Repo, find_repo
from analyzers.rules import RULES
from analyzers.rules._hf_model_types import INDEX_PATH
from analyzers.source_index import SourceIndex
from analyzers.transformers_source import transformers_dir
from analyzers.tree_snapshot import TreeSnapshot, scan_indexed

CACHE_FORMAT = f"lint-{__version__}-6"
#: top-level folders of a checkout whose file listing the checkout-only rules read
LISTED_PARTS = ("src", "docs", "examples", "scripts", "tests", "skills", "tutorials")
#: what the engine itself reports, besides what the rules find
DIAGNOSTICS: list[type[LintRule]] = [UnparsableFile, UnusedSuppression]
#: every code the lint knows, in code order
ALL_RULES: list[type[LintRule]] = sorted([*DIAGNOSTICS, *RULES], key=lambda rule: rule.CODE)
BY_CODE = {rule.CODE: rule for rule in ALL_RULES}


def _is_read(rel: str) -> bool:
    """Files whose contents the lint reads: the package's modules and the docs pages."""
    return (rel.endswith(".py") and rel.startswith(BRIDGE_PKG + "/")) or (
        rel.endswith(".md") and rel.startswith("docs/")
    )


def _scan_tree(repo: Repo, use_cache: bool) -> TreeSnapshot:
    parts = ("src",) if repo.kind == "wheel" else LISTED_PARTS
    return scan_indexed(repo.root, parts, _is_read, use_cache)


class LintContext:
    """What rules see (a `RuleContext`): the catalog, the tree's files, parsed modules (each parsed at most
    once); and what the engine gathers while they run."""

    def __init__(
        self,
        repo: Repo,
        catalog: Catalog,
        files: TreeSnapshot,
        memo: ContentMemo | None = None,
        index: SourceIndex | None = None,
    ) -> None:
        self.repo = repo
        self.root = repo.root
        self.catalog = catalog
        self.files = files
        self.notes: list[str] = []
        #: code -> why the rule could not run in this environment (a warning on stderr)
        self.unavailable: dict[str, str] = {}
        #: code -> the exception a rule raised (exit 2 when the rule is selected)
        self.errors: dict[str, str] = {}
        self.problems: dict[str, Finding] = {}  #: parse failures found while reading raw syntax
        self._modules: dict[str, ModuleInfo | None] = {}
        self.memo = memo if memo is not None else ContentMemo(files, {})
        #: the run's reads and parses, shared with the catalog build (a file it extracted is not parsed again)
        self.index = index if index is not None else SourceIndex(repo.root, files)

    def fact(self, name: str, rel: str, compute):
        """`compute()` for file `rel`, memoised across runs by the file's content (keeps raw parses rare).

        Rules use it for tree-level checks that need raw syntax of many files, so a one-file run does
        not re-parse them: `ctx.fact("MBR010.model_type", path, lambda: ...)`.
        """
        return self.memo(name, rel, compute)

    @property
    def checkout(self) -> bool:
        return self.catalog.tree_kind == "checkout"

    def exists(self, rel: str) -> bool:
        return rel in self.files.paths or (self.root / rel).exists()

    def _bytes(self, rel: str) -> bytes | None:
        """Contents of `rel`: from the snapshot when it tracks the file, else from disk (None if unreadable)."""
        return self.index.data(rel)

    def text(self, rel: str) -> str | None:
        data = self._bytes(rel)
        if data is None:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def parsed(self, rel: str) -> bool:
        """Whether a rule has already parsed `rel` without a problem."""
        return self._modules.get(rel) is not None

    def module(self, rel: str) -> ModuleInfo | None:
        """The parsed module at `rel`, or None (a parse failure becomes an MBR000 finding)."""
        if rel not in self._modules:
            self._modules[rel] = None
            data = self._bytes(rel)
            if data is None:
                return None
            try:
                self._modules[rel] = indexed_module(self.index, rel)
            except ParseError:
                problem = _parse_problem(rel, data)  # where and why, as MBR000 reports it
                if isinstance(problem, Finding):
                    self.problems[rel] = problem
        return self._modules[rel]


def _parse_problem(rel: str, data: bytes) -> ModuleInfo | Finding:
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
    #: selected rules that could not run here: "MBR013 (name) not run: why"
    warnings: list[str] = field(default_factory=list)
    #: selected rules that raised: "MBR010 (name) raised ValueError: ..."
    errors: list[str] = field(default_factory=list)


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
        found: list[Finding] = []
        try:
            if cls.overrides("check_tree"):
                found.extend(rule.check_tree())
            if cls.overrides("check_bridge"):
                for bridge in bridges:
                    found.extend(rule.check_bridge(bridge))
            if cls.overrides("check_family"):
                for family in families:
                    found.extend(rule.check_family(family))
            if cls.overrides("check_recipe_family"):
                for recipe in recipes:
                    found.extend(rule.check_recipe_family(recipe))
            if cls.FILES is not None:
                for rel in py_files if only_files is None else sorted(only_files):
                    if cls.claims(rel) and (only_files is None or ctx.exists(rel)):
                        found.extend(rule.check_file(rel))
        except RuleUnavailable as exc:
            ctx.unavailable[cls.CODE] = f"{cls.CODE} ({cls.NAME}) not run: {exc}"
            continue
        except Exception as exc:  # a rule bug must not stop the other rules; the run still exits 2
            detail = f"{type(exc).__name__}: {exc}".splitlines()[0]
            ctx.errors[cls.CODE] = f"{cls.CODE} ({cls.NAME}) raised {detail}"
            continue
        out.extend(found)
    return out


def _parse_failures(ctx: LintContext, only_files: set[str] | None) -> list[Finding]:
    """MBR000 for every unparsable .py under src/megatron/bridge (the catalog's problems, then the rest)."""
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
        if ctx.parsed(rel):
            continue  # a rule parsed it already
        if rel not in ctx.files.data or ctx.fact("MBR000.compiles", rel, lambda rel=rel: _compiles(ctx, rel)):
            continue
        result = _parse_problem(rel, ctx.files.data[rel])
        if isinstance(result, Finding):
            found[rel] = result
    found.update({rel: f for rel, f in ctx.problems.items() if rel not in found})
    return list(found.values())


def _compiles(ctx: LintContext, rel: str) -> bool:
    try:
        # Decode first: compile() of bytes lets undecodable bytes in comments through.
        compile(ctx.files.data[rel].decode("utf-8"), rel, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except (SyntaxError, ValueError, UnicodeDecodeError):
        return False
    return True


def _catalog_files(ctx: LintContext) -> set[str]:
    """Files the catalog parsed without a problem (no need to parse them again for MBR000)."""
    bad = {p.location.path for p in ctx.catalog.problems}
    return {p for p in ctx.files.data if is_source(p) and p not in bad}


class LintCache:
    """Per tree: the raw findings of the last whole-tree run, and the memoised per-file values."""

    def __init__(self, root: Path) -> None:
        self.path = tree_cache_path("lint", root)
        self.payload = self._read()

    def _read(self) -> dict:
        return load_dict(self.path, CACHE_FORMAT) or {}

    def load(self, key: str) -> RawResult | None:
        if self.payload.get("key") != key:
            return None
        return self.payload["raw"]

    @property
    def facts(self) -> dict:
        return self.payload.setdefault("facts", {})

    def save(self, key: str | None, raw: RawResult | None, facts: dict) -> None:
        """Store a whole-tree result (key given) or only refresh the per-file facts (key None)."""
        payload = dict(self.payload) if key is None else {}
        payload.update({"format": CACHE_FORMAT, "facts": facts})
        if key is not None:
            payload.update({"key": key, "raw": raw})
        dump_atomic(self.path, payload)
        self.payload = payload


def _environment_key() -> str:
    """What besides the tree changes results: the tool (its rule and engine sources, by stat) and the
    installed transformers or the shipped index of its model types (MBR013)."""
    code = code_stamp("lint", "rules", "catalog")
    tdir = transformers_dir()
    version = ""
    try:
        stamp = (tdir / "__init__.py") if tdir is not None else INDEX_PATH
        version = str(stamp.stat().st_mtime_ns)
    except OSError:
        pass
    return f"{CACHE_FORMAT}|{sys.version_info[:2]}|{code}|{tdir}|{version}"


@dataclass
class RawResult:
    """Every rule's findings before selection and suppression, with what the run could not do."""

    findings: list[Finding]
    notes: list[str]
    unavailable: dict[str, str]  #: code -> warning
    errors: dict[str, str]  #: code -> error


def collect_raw(
    repo: Repo, files: TreeSnapshot, only_files: set[str] | None, cache: LintCache | None, memo: ContentMemo
) -> RawResult:
    """Every rule's findings before selection and suppression (whole-tree results come from the cache)."""
    key = files.key(_environment_key())
    if cache is not None and only_files is None and (hit := cache.load(key)) is not None:
        return hit
    index = SourceIndex(repo.root, files)
    catalog = build_catalog(repo.root, use_cache=cache is not None, snapshot=files, index=index)
    ctx = LintContext(repo, catalog, files, memo, index)
    findings = _run_rules(ctx, RULES, only_files)
    findings.extend(_parse_failures(ctx, only_files))
    raw = RawResult(findings, ctx.notes, ctx.unavailable, ctx.errors)
    if cache is not None and only_files is None and not ctx.errors:
        cache.save(key, raw, memo.live())
        memo.changed = False
    return raw


def _keep_for_files(finding: Finding, only_files: set[str]) -> bool:
    return finding.location.path in only_files or any(p in only_files for p in finding.related)


def lint_tree(
    root: str | Path,
    config: LintConfig | None = None,
    paths: Iterable[str] | None = None,
    use_cache: bool = True,
) -> LintResult:
    """Lint the tree at `root`: every file, or `paths` (relative) plus the tree-level findings they affect.

    >>> result = lint_tree(ensure_tree())
    >>> sorted({f.code for f in result.findings})
    ['MBR001', 'MBR002', 'MBR003', 'MBR004', 'MBR005', 'MBR010', 'MBR013', 'MBR032', 'MBR033', 'MBR034', 'MBR035', 'MBR036']
    """
    repo = find_repo(root)
    config = config or LintConfig()
    selected = config.selected({r.CODE: r.DEFAULT for r in ALL_RULES})
    only_files = set(paths) if paths is not None else None
    files = _scan_tree(repo, use_cache)
    cache = LintCache(repo.root) if use_cache else None
    memo = ContentMemo(files, cache.facts if cache is not None else {})
    collected = collect_raw(repo, files, only_files, cache, memo)
    raw = collected.findings
    if only_files is not None:
        raw = [f for f in raw if _keep_for_files(f, only_files)]
    notes = [n for n in collected.notes if n.split(" ", 1)[0] in selected]
    warnings = [w for code, w in sorted(collected.unavailable.items()) if code in selected]
    errors = [e for code, e in sorted(collected.errors.items()) if code in selected]
    notes += [n for code, n in sorted(collected.errors.items()) if code not in selected]
    findings, suppressed, sups = _apply_suppressions(raw, selected, config, files, memo)
    if cache is not None and memo.changed:
        cache.save(None, None, memo.live())
    if UnusedSuppression.CODE in selected:
        not_run = {n.split(" ", 1)[0] for n in notes + warnings + errors}
        findings.extend(_unused_suppressions(sups, selected, only_files, not_run))
    findings.sort(key=Finding.sort_key)
    counted = only_files if only_files is not None else (p for p in files.data if p.endswith(".py"))
    checked = sum(1 for p in counted if not config.excludes(p))
    if only_files and not checked:
        warnings.append(f"every file given is excluded ({config.source}: `exclude`): nothing was checked")
    return LintResult(findings, suppressed, notes, checked, sorted(selected), warnings, errors)


def _apply_suppressions(
    raw: list[Finding], selected: set[str], config: LintConfig, files: TreeSnapshot, memo: ContentMemo
) -> tuple[list[Finding], int, dict[str, list[Suppression]]]:
    sups: dict[str, list[Suppression]] = {}
    for rel in files.digests:
        if found := memo("suppressions", rel, lambda rel=rel: _suppressions_in(rel, files.data[rel])):
            sups[rel] = [replace(sup, used=set()) for sup in found]  # `used` is this run's
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
        if finding.code != UnparsableFile.CODE and finding.path in sups:
            hit = suppressing(sups[finding.path], finding.code, finding.location.line, finding.end_line)
            if hit is not None:
                hit.used.add(finding.code)
                suppressed += 1
                continue
        kept.append(finding)
    return kept, suppressed, sups


def _suppressions_in(rel: str, data: bytes) -> list[Suppression]:
    if not might_have_suppressions(data):
        return []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return []
    return parse_suppressions(text, rel.endswith(".py"))


def _unused_suppressions(
    sups: dict[str, list[Suppression]], selected: set[str], only_files: set[str] | None, not_run: set[str]
) -> Iterator[Finding]:
    known = set(BY_CODE)
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
