"""The lint rule contract: `LintRule` subclasses yield `Finding`s from what a `RuleContext` shows them;
`Invalid` examples double as tests. The engine depends on this module, never the other way round."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Protocol, TypeVar

from analyzers.catalog.records import BridgeRecord, Catalog, FamilyRecord, Location, RecipeFamily

if TYPE_CHECKING:
    from analyzers.catalog.modules import ModuleInfo
    from analyzers.tree_snapshot import TreeSnapshot

T = TypeVar("T")

#: A rule example: one source text (placed at the rule's EXAMPLE_PATH) or a mini tree {relative path: text}.
Example = str | dict[str, str | bytes]


class RuleContext(Protocol):
    """What a rule sees of one run (the engine's `LintContext` is one): the catalog, the tree's files and
    their parsed modules, each parsed at most once."""

    catalog: Catalog
    files: TreeSnapshot

    def module(self, rel: str) -> ModuleInfo | None:
        """The parsed module at `rel`; None when it is absent or does not parse (MBR000 reports that)."""
        ...

    def text(self, rel: str) -> str | None:
        """The text of `rel`; None when it is absent, unreadable or not UTF-8."""
        ...

    def exists(self, rel: str) -> bool: ...

    def fact(self, name: str, rel: str, compute: Callable[[], T]) -> T:
        """`compute()` for file `rel`, memoised across runs by the file's content."""
        ...


class RuleUnavailable(Exception):  # noqa: N818 (a signal, like StopIteration, not an error)
    """Raised by a rule that cannot run in this environment; the run warns on stderr and goes on."""


@dataclass(frozen=True)
class Edit:
    """One mechanical edit, described by intent; `analyzers.lint.fixes` renders it through libcst.

    kind: "add-import" (`from module import names`), "add-all-entry" (names), "add-star-import" (module),
    "remove-duplicate-all-entry" (names).
    """

    kind: str
    path: str  #: file the edit applies to
    module: str | None = None
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    code: str
    name: str
    message: str
    location: Location
    fix: tuple[Edit, ...] | None = None
    fix_title: str | None = None
    #: other files whose change can make or break this finding (given-file runs keep it when one is named)
    related: tuple[str, ...] = ()
    end_line: int | None = None

    @property
    def path(self) -> str:
        return self.location.path

    @property
    def fixable(self) -> bool:
        return self.fix is not None

    def sort_key(self) -> tuple:
        return (self.location.path, self.location.line, self.location.col, self.code, self.message)


@dataclass(frozen=True)
class Invalid:
    """An example the rule must flag; `expected_replacement` is the tree after `--fix` (changed files only)."""

    code: Example
    #: (path, line) of the expected finding(s); path None means the example's single file
    expected_lines: tuple[int, ...] = ()
    expected_replacement: dict[str, str] | str | None = None
    #: messages must contain this
    expected_message: str | None = None
    #: extra files the example needs (scaffolding beside a single-file example)
    tree: dict[str, str] = field(default_factory=dict)


class LintRule:
    """Base of every rule. Subclasses set the class attributes and override one or more `check_*` hooks.

    `check_bridge`, `check_family`, `check_recipe_family` run per catalog record; `check_tree` once;
    `check_file(path)` once per file the rule claims with `FILES` (a regex on the relative path).
    """

    CODE: ClassVar[str]
    NAME: ClassVar[str]
    MESSAGE: ClassVar[str]
    FIX_TITLE: ClassVar[str | None] = None
    VALID: ClassVar[list[Example]] = []
    INVALID: ClassVar[list[Invalid]] = []
    #: path every string example is written to
    EXAMPLE_PATH: ClassVar[str] = "src/megatron/bridge/models/foo/foo_bridge.py"
    #: regex of relative paths `check_file` runs on (None: the rule has no per-file part)
    FILES: ClassVar[str | None] = None
    #: needs tests/ or docs/ of a full checkout; silent on the wheel tree
    CHECKOUT_ONLY: ClassVar[bool] = False
    #: other codes the examples' test run selects too (a rule about other rules' findings)
    EXAMPLE_SELECT: ClassVar[tuple[str, ...]] = ()
    #: on by default (rules that are not are opt-in with --select)
    DEFAULT: ClassVar[bool] = True
    #: SARIF level ("error", "warning", "note"); None: "warning" for opt-in, checkout-only (tests/docs)
    #: and MBR9xx rules, else "error"
    LEVEL: ClassVar[str | None] = None

    def __init__(self, ctx: RuleContext) -> None:
        self.ctx = ctx

    # -- hooks -------------------------------------------------------------------------------------
    def check_bridge(self, bridge: BridgeRecord) -> Iterator[Finding]:
        return iter(())

    def check_family(self, family: FamilyRecord) -> Iterator[Finding]:
        return iter(())

    def check_recipe_family(self, recipe: RecipeFamily) -> Iterator[Finding]:
        return iter(())

    def check_tree(self) -> Iterator[Finding]:
        return iter(())

    def check_file(self, path: str) -> Iterator[Finding]:
        return iter(())

    # -- helpers -----------------------------------------------------------------------------------
    def finding(
        self,
        location: Location,
        fix: Edit | tuple[Edit, ...] | None = None,
        related: tuple[str, ...] | list[str] = (),
        end_line: int | None = None,
        **fmt: object,
    ) -> Finding:
        """A finding of this rule at `location`; `fmt` fills the `{placeholders}` of MESSAGE."""
        return Finding(
            code=self.CODE,
            name=self.NAME,
            message=self.MESSAGE.format(**fmt),
            location=location,
            fix=(fix,) if isinstance(fix, Edit) else fix,
            fix_title=self.FIX_TITLE if fix else None,
            related=tuple(related),
            end_line=end_line,
        )

    @classmethod
    def claims(cls, path: str) -> bool:
        return cls.FILES is not None and re.search(cls.FILES, path) is not None

    @classmethod
    def summary(cls) -> str:
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else cls.MESSAGE

    @classmethod
    def level(cls) -> str:
        if cls.LEVEL is not None:
            return cls.LEVEL
        return "warning" if not cls.DEFAULT or cls.CHECKOUT_ONLY or cls.CODE.startswith("MBR9") else "error"

    @classmethod
    def overrides(cls, hook: str) -> bool:
        return getattr(cls, hook) is not getattr(LintRule, hook)
