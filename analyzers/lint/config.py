"""Lint configuration: `[tool.bridgesmith.lint]` of the target tree's pyproject.toml, overridden by flags.

[tool.bridgesmith.lint]
select = ["MBR"]                  # codes or prefixes; "ALL" selects the opt-in rules too
ignore = ["MBR030"]
extend-select = ["MBR036"]
per-file-ignores = { "src/megatron/bridge/models/conversion/*" = ["MBR031"], "__init__.py" = ["MBR005"] }
exclude = ["docs/archive"]        # no findings in these files or folders
baseline = ".bridgesmith-baseline.json"

File patterns follow ruff's: globs in globset's syntax (`*` and `?` also match `/`, `**/` any folders,
`{a,b}`, `[...]`) against the path relative to the tree root; a pattern without a `/` also matches the
file's name anywhere (and for `exclude`, any folder's name); `!` before a per-file-ignores pattern
applies the codes to the files it does not match. Unlike ruff, `exclude` also holds for files named on
the command line (the pre-commit hook's use, ruff's `--force-exclude`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from analyzers.errors import ConfigError

KNOWN_KEYS = {
    "select",
    "ignore",
    "extend-select",
    "extend-ignore",
    "per-file-ignores",
    "extend-per-file-ignores",
    "exclude",
    "extend-exclude",
    "baseline",
}


def glob_regex(pattern: str) -> str:
    """The regex of a globset glob with its default options (as ruff compiles file patterns).

    >>> bool(re.fullmatch(glob_regex("docs/**/*.md"), "docs/parallelisms.md"))
    True
    """
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        if pattern.startswith("**", i):
            before = i == 0 or pattern[i - 1] == "/"
            after = i + 2 == n or pattern[i + 2] == "/"
            if before and after:
                if i + 2 == n:
                    out.append(".*")  # trailing `/**` (or a lone `**`): everything below
                    i += 2
                else:
                    out.append("(?:.*/)?")  # `**/`: any folders, none included
                    i += 3
                continue
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append(".*")
            i += 1
        elif pattern[i] == "?":
            out.append(".")
            i += 1
        elif pattern[i] == "[" and (close := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : close]
            out.append("[^" + re.escape(body[1:]) + "]" if body[:1] == "!" else "[" + re.escape(body) + "]")
            i = close + 1
        elif pattern[i] == "{" and (close := pattern.find("}", i)) != -1:
            alternatives = pattern[i + 1 : close].split(",")
            out.append("(?:" + "|".join(glob_regex(a) for a in alternatives) + ")")
            i = close + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


@functools.lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(glob_regex(pattern), re.DOTALL)


def path_matches(pattern: str, path: str) -> bool:
    """Whether the relative POSIX `path` matches a ruff file pattern (see the module docstring)."""
    pattern = pattern.removeprefix("./")
    if _compiled(pattern).fullmatch(path):
        return True
    return "/" not in pattern and _compiled(pattern).fullmatch(path.rsplit("/", 1)[-1]) is not None


def excluded_by(pattern: str, path: str) -> bool:
    """Whether `path` or a folder above it matches an `exclude` pattern."""
    parts = path.split("/")
    return any(path_matches(pattern, "/".join(parts[: i + 1])) for i in range(len(parts)))


@dataclass(frozen=True)
class Selection:
    """One level of rule selection (the config file's, then the command line's), as ruff resolves it."""

    select: list[str] | None = None  #: None: keep the previous level's (the defaults at the first)
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)  #: ignore and extend-ignore
    source: str = "defaults"


def _specificity(selector: str) -> int:
    return 0 if selector.strip().upper() == "ALL" else len(selector.strip())


@dataclass
class LintConfig:
    select: list[str] | None = None  #: None: the default rules
    ignore: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    #: ruff file pattern (a leading `!` negates it) -> codes or prefixes
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    #: ruff file patterns of files and folders whose findings are never reported
    exclude: list[str] = field(default_factory=list)
    source: str = "defaults"  #: where the settings came from (for messages)
    #: `baseline`, resolved against the config file's folder
    baseline_path: Path | None = None
    #: levels applied after this file's own selection (the command line's)
    overrides: tuple[Selection, ...] = ()

    def levels(self) -> list[Selection]:
        own = Selection(self.select, self.extend_select, self.ignore, self.source)
        return [own, *self.overrides]

    def selected(self, codes: dict[str, bool]) -> set[str]:
        """The codes that run, given every known code -> on by default.

        As ruff: each level's `select` (if any) replaces what came before; within a level a more
        specific selector wins over a less specific one (`MBR005` over `MBR0` over `MBR` over `ALL`),
        and `ignore` wins over `select` at the same specificity.
        """
        known = set(codes)
        for level in self.levels():
            for item in [*(level.select or []), *level.ignore, *level.extend_select]:
                _check_code(item, known, level.source)
        for items in self.per_file_ignores.values():
            for item in items:
                _check_code(item, known, self.source)
        state = {c for c, on in codes.items() if on}
        source = self.source
        for level in self.levels():
            on = [*(level.select or []), *level.extend_select]
            updates: dict[str, bool] = {}
            for spec in sorted({_specificity(s) for s in [*on, *level.ignore]}):
                for selector in (s for s in on if _specificity(s) == spec):
                    updates.update((c, True) for c in known if _matches(c, selector))
                for selector in (s for s in level.ignore if _specificity(s) == spec):
                    updates.update((c, False) for c in known if _matches(c, selector))
            if level.select is not None:
                state = set()
            state = {c for c in state if updates.get(c, True)} | {c for c, v in updates.items() if v}
            if level.select is not None or level.ignore or level.extend_select:
                source = level.source
        if not state:
            raise ConfigError("the selection is empty: select/ignore leave no rule to run", source)
        return state

    def excludes(self, path: str) -> bool:
        """Whether `path` is excluded (not checked at all)."""
        return any(excluded_by(pattern, path) for pattern in self.exclude)

    def ignored_in(self, path: str, code: str) -> bool:
        """Whether `code` is not reported in `path` (per-file-ignores or exclude)."""
        if self.excludes(path):
            return True
        for pattern, codes in self.per_file_ignores.items():
            negated = pattern.startswith("!")
            if path_matches(pattern.removeprefix("!"), path) != negated and any(
                _matches(code, c) for c in codes
            ):
                return True
        return False


def _matches(code: str, selector: str) -> bool:
    selector = selector.strip().upper()
    return selector == "ALL" or code.startswith(selector)


def _check_code(item: str, known: set[str], source: str) -> None:
    item = item.strip().upper()
    if item == "ALL" or any(code.startswith(item) for code in known):
        return
    raise ConfigError(f"unknown rule code '{item}'", source)


def _codes(value: object, key: str, source: str) -> list[str]:
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"[tool.bridgesmith.lint] {key} must be a list of rule codes", source)
    return [v.strip().upper() for v in value]


def load_config(root: Path, pyproject: Path | None = None) -> LintConfig:
    """Read `[tool.bridgesmith.lint]` from the tree's pyproject.toml, or from `pyproject` when given.

    Defaults when the tree has no pyproject.toml or it has no such table; a `pyproject` that does not
    exist, a file that is not valid TOML (the tree's own too: ruff would stop on it as well) and a
    malformed table are `ConfigError`s.
    """
    if pyproject is not None:
        path, name = pyproject, str(pyproject)
        if not path.is_file():
            raise ConfigError("no such file" if not path.exists() else "not a file", name)
    else:
        path, name = root / "pyproject.toml", "pyproject.toml"
        if not path.is_file():
            return LintConfig()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", name) from None
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", name) from None
    section = data.get("tool", {}).get("bridgesmith", {}).get("lint")
    if section is None:
        return LintConfig(source=name)
    if not isinstance(section, dict):
        raise ConfigError("[tool.bridgesmith.lint] must be a table", name)
    unknown = set(section) - KNOWN_KEYS
    if unknown:
        raise ConfigError(f"[tool.bridgesmith.lint] unknown key '{sorted(unknown)[0]}'", name)
    baseline = section.get("baseline")
    if baseline is not None and (not isinstance(baseline, str) or not baseline):
        raise ConfigError("[tool.bridgesmith.lint] baseline must be a file name", name)
    pfi: dict[str, list[str]] = {}
    for key in ("per-file-ignores", "extend-per-file-ignores"):
        table = section.get(key, {})
        if not isinstance(table, dict):
            raise ConfigError(f"[tool.bridgesmith.lint] {key} must be a table", name)
        for pattern, codes in table.items():
            pfi.setdefault(pattern, []).extend(_codes(codes, f"{key}.{pattern}", name))
    exclude: list[str] = []
    for key in ("exclude", "extend-exclude"):
        value = section.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ConfigError(f"[tool.bridgesmith.lint] {key} must be a list of file patterns", name)
        exclude.extend(value)
    return LintConfig(
        select=_codes(section["select"], "select", name) if "select" in section else None,
        ignore=_codes(section.get("ignore", []), "ignore", name)
        + _codes(section.get("extend-ignore", []), "extend-ignore", name),
        extend_select=_codes(section.get("extend-select", []), "extend-select", name),
        per_file_ignores=pfi,
        exclude=exclude,
        source=name,
        baseline_path=path.parent / baseline if baseline else None,
    )


def override(
    config: LintConfig,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    extend_select: Iterable[str] | None = None,
    extend_ignore: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
) -> LintConfig:
    """Command-line flags over the file, as ruff's: a selection level of their own (--select replaces
    the selection, --extend-select adds, --ignore and --extend-ignore remove); --exclude replaces."""
    level = Selection(
        select=[s.upper() for s in select] if select is not None else None,
        extend_select=[e.upper() for e in extend_select or []],
        ignore=[i.upper() for i in [*(ignore or []), *(extend_ignore or [])]],
        source="command line",
    )
    flags = level.select is not None or level.ignore or level.extend_select
    return replace(
        config,
        exclude=list(exclude) if exclude is not None else config.exclude,
        overrides=(*config.overrides, level) if flags else config.overrides,
    )
