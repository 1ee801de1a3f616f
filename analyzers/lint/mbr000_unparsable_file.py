"""MBR000, an engine diagnostic (the engine reports it, no rule runs): a file the lint cannot parse (syntax
error, not UTF-8, null bytes)."""

from __future__ import annotations

from analyzers.catalog.records import Location
from analyzers.lint.rule import Finding, Invalid, LintRule


class UnparsableFile(LintRule):
    """Reports files under `src/megatron/bridge` that do not parse, at the error's location.

    ## What it does
    Every `.py` file of the package is parsed (the catalog's files once, the others only to check
    they parse); a syntax error or an undecodable byte becomes a finding at its line and column, and
    the other rules go on with the rest of the tree.

    ## Why is this bad?
    Python fails to import the module, so every bridge it registers disappears; and no other rule
    can check the file.
    """

    CODE = "MBR000"
    NAME = "unparsable-file"
    MESSAGE = "cannot parse: {detail}"
    VALID = ["class FooBridge:\n    pass\n"]
    INVALID = [
        Invalid("class FooBridge(\n    pass\n", expected_lines=(1,)),
        Invalid({"src/megatron/bridge/models/foo/foo_bridge.py": b"x = '\xe9'\n"}, expected_lines=(1,)),
    ]

    @classmethod
    def make(cls, location: Location, detail: str) -> Finding:
        return Finding(cls.CODE, cls.NAME, cls.MESSAGE.format(detail=detail), location)
