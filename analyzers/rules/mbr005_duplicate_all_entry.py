"""MBR005: the same name listed twice in an `__all__` of models/ or recipes/."""

from __future__ import annotations

from collections.abc import Iterator

from analyzers.catalog.records import Location
from analyzers.lint.rule import Edit, Finding, Invalid, LintRule
from analyzers.rules._common import all_entry_nodes

_INIT = "src/megatron/bridge/models/foo/__init__.py"
_BRIDGE = "class FooBridge:\n    pass\n\n\nclass FooProvider:\n    pass\n"


class DuplicateAllEntry(LintRule):
    """Flags names listed more than once in a package `__all__` under models/ or recipes/.

    ## What it does
    Reads every `__all__` of the `__init__.py` files under `models/` and `recipes/` and reports the
    second and later occurrences of a name.

    ## Why is this bad?
    A duplicate is usually a merge or copy-paste slip that hides a missing entry (two families
    edited the same line); tools that compare `__all__` with what is imported count it twice.

    ## Use instead
    Keep one entry.
    """

    CODE = "MBR005"
    NAME = "duplicate-all-entry"
    MESSAGE = "`{name}` is listed twice in `__all__` (first at line {first})"
    FIX_TITLE = "remove the duplicate entry"
    EXAMPLE_PATH = _INIT
    FILES = r"^src/megatron/bridge/(models|recipes)/(.+/)?__init__\.py$"
    VALID = [
        'from megatron.bridge.models.foo.foo_bridge import FooBridge, FooProvider\n\n__all__ = ["FooBridge", "FooProvider"]\n',
    ]
    INVALID = [
        Invalid(
            'from megatron.bridge.models.foo.foo_bridge import FooBridge, FooProvider\n\n__all__ = [\n    "FooBridge",\n    "FooBridge",\n    "FooProvider",\n]\n',
            expected_lines=(5,),
            tree={"src/megatron/bridge/models/foo/foo_bridge.py": _BRIDGE},
            expected_replacement='from megatron.bridge.models.foo.foo_bridge import FooBridge, FooProvider\n\n__all__ = [\n    "FooBridge",\n    "FooProvider",\n]\n',
        ),
    ]

    def check_file(self, path: str) -> Iterator[Finding]:
        module = self.ctx.module(path)
        if module is None:
            return
        first: dict[str, int] = {}
        for node in all_entry_nodes(module):
            if node.value in first:
                fix = Edit("remove-duplicate-all-entry", path, names=(node.value,))
                yield self.finding(
                    Location(path, node.lineno, node.col_offset),
                    fix=fix,
                    name=node.value,
                    first=first[node.value],
                )
            else:
                first[node.value] = node.lineno
