"""Lint configuration: `[tool.bridgesmith.lint]` of the target tree's pyproject.toml, overridden by flags.

[tool.bridgesmith.lint]
select = ["MBR"]                  # codes or prefixes; "ALL" selects the opt-in rules too
ignore = ["MBR030"]
extend-select = ["MBR036"]
per-file-ignores = { "src/megatron/bridge/models/conversion/*" = ["MBR031"] }
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from analyzers.errors import ConfigError

KNOWN_KEYS = {"select", "ignore", "extend-select", "extend-ignore", "per-file-ignores", "baseline"}


@dataclass
class LintConfig:
    select: list[str] | None = None  #: None: the default rules
    ignore: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    #: glob on the relative path -> codes or prefixes
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    source: str = "defaults"  #: where the settings came from (for messages)
    #: `baseline`, resolved against the config file's folder
    baseline_path: Path | None = None

    def selected(self, codes: dict[str, bool]) -> set[str]:
        """The codes that run, given every known code -> on by default."""
        known = set(codes)
        for item in [*(self.select or []), *self.ignore, *self.extend_select]:
            _check_code(item, known, self.source)
        for items in self.per_file_ignores.values():
            for item in items:
                _check_code(item, known, self.source)
        if self.select is None:
            chosen = {c for c, on in codes.items() if on}
        else:
            chosen = {c for c in known if any(_matches(c, s) for s in self.select)}
        chosen |= {c for c in known if any(_matches(c, s) for s in self.extend_select)}
        chosen = {c for c in chosen if not any(_matches(c, i) for i in self.ignore)}
        if not chosen:
            raise ConfigError("the selection is empty: select/ignore leave no rule to run", self.source)
        return chosen

    def ignored_in(self, path: str, code: str) -> bool:
        return any(
            fnmatch.fnmatch(path, pattern) and any(_matches(code, c) for c in codes)
            for pattern, codes in self.per_file_ignores.items()
        )


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
    pfi = section.get("per-file-ignores", {})
    if not isinstance(pfi, dict):
        raise ConfigError("[tool.bridgesmith.lint] per-file-ignores must be a table", name)
    return LintConfig(
        select=_codes(section["select"], "select", name) if "select" in section else None,
        ignore=_codes(section.get("ignore", []), "ignore", name)
        + _codes(section.get("extend-ignore", []), "extend-ignore", name),
        extend_select=_codes(section.get("extend-select", []), "extend-select", name),
        per_file_ignores={k: _codes(v, f"per-file-ignores.{k}", name) for k, v in pfi.items()},
        source=name,
        baseline_path=path.parent / baseline if baseline else None,
    )


def override(
    config: LintConfig,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    extend_select: Iterable[str] | None = None,
) -> LintConfig:
    """Command-line flags over the file: --select replaces, --ignore and --extend-select add."""
    return LintConfig(
        select=[s.upper() for s in select] if select is not None else config.select,
        ignore=config.ignore + [i.upper() for i in ignore or []],
        extend_select=config.extend_select + [e.upper() for e in extend_select or []],
        per_file_ignores=config.per_file_ignores,
        source=config.source if select is None and not ignore and not extend_select else "command line",
        baseline_path=config.baseline_path,
    )
