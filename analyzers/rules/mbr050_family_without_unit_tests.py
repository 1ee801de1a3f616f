"""MBR050 (checkout only): a model family with bridges and no unit-test folder."""

from __future__ import annotations

from collections.abc import Iterator

from analyzers.catalog.records import FamilyRecord
from analyzers.lint.rule import Finding, Invalid, LintRule
from analyzers.rules._common import start

UNIT = "tests/unit_tests/models"


class FamilyWithoutUnitTests(LintRule):
    """Flags model families with bridges but no `tests/unit_tests/models/<family>/` folder.

    ## What it does
    On a full checkout, checks that every family under `models/` that defines a bridge has a
    unit-test folder of the same name. Diffusion bridges keep their tests elsewhere and are not
    checked. Needs `tests/`: the wheel tree has none, so the rule does not run there.

    ## Why is this bad?
    The bridge's `provider_bridge` and mapping registry are then covered at best by the
    registration matrix, so a broken mapping is found by the first user converting a checkpoint.

    ## Use instead
    `tests/unit_tests/models/<family>/test_<model>_bridge.py` with provider and mapping tests.
    """

    CODE = "MBR050"
    NAME = "family-without-unit-tests"
    MESSAGE = "family `{family}` has no unit-test folder `{expected}/`"
    CHECKOUT_ONLY = True
    VALID = [
        {
            "tests/unit_tests/models/foo/__init__.py": "",
            "tests/unit_tests/models/foo/test_foo_bridge.py": "def test_x():\n    pass\n",
        }
    ]
    INVALID = [Invalid({"tests/unit_tests/models/bar/__init__.py": ""}, expected_message="`foo`")]

    def check_family(self, family: FamilyRecord) -> Iterator[Finding]:
        if family.name.startswith("diffusion/") or not family.bridges:
            return
        expected = f"{UNIT}/{family.name}"
        if family.unit_tests or self.ctx.exists(expected):
            return
        where = f"{family.path}/__init__.py" if family.init is not None else family.path
        yield self.finding(start(where), related=[expected], family=family.name, expected=expected)
