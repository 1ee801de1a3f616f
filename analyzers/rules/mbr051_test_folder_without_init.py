"""MBR051 (checkout only): a model test folder without `__init__.py`."""

from __future__ import annotations

from collections.abc import Iterator

from analyzers.lint.rule import Finding, Invalid, LintRule
from analyzers.rules._common import start

ROOTS = ("tests/unit_tests/models/", "tests/functional_tests/test_groups/models/")


class TestFolderWithoutInit(LintRule):
    """Flags folders of model tests that hold `test_*.py` files but no `__init__.py`.

    ## What it does
    On a full checkout, checks every folder under `tests/unit_tests/models/` and
    `tests/functional_tests/test_groups/models/` that contains test files.

    ## Why is this bad?
    Megatron-Bridge runs pytest in its default (`prepend`) import mode, where a test folder without
    `__init__.py` is imported as a top-level directory and its files by their bare names: two
    families with a `test_<x>.py` of the same name then fail collection with "import file
    mismatch", and the other model test folders all have `__init__.py`.

    ## Use instead
    Add an empty `__init__.py` (with the license header) to the folder.
    """

    __test__ = False  # not a pytest class
    CODE = "MBR051"
    NAME = "test-folder-without-init"
    MESSAGE = "test folder `{folder}/` has no `__init__.py`{clash}"
    CHECKOUT_ONLY = True
    VALID = [
        {
            "tests/unit_tests/models/foo/__init__.py": "",
            "tests/unit_tests/models/foo/test_foo.py": "def test_x():\n    pass\n",
        }
    ]
    INVALID = [
        Invalid(
            {
                "tests/unit_tests/models/foo/test_bridge.py": "def test_x():\n    pass\n",
                "tests/unit_tests/models/bar/__init__.py": "",
                "tests/unit_tests/models/bar/test_bridge.py": "def test_y():\n    pass\n",
            },
            expected_message="test_bridge.py",
        )
    ]

    def check_tree(self) -> Iterator[Finding]:
        folders: dict[str, list[str]] = {}
        basenames: dict[str, int] = {}
        for rel in self.ctx.files.paths:
            folder, _, name = rel.rpartition("/")
            if rel.startswith("tests/") and name.startswith("test_") and name.endswith(".py"):
                basenames[name] = basenames.get(name, 0) + 1
                if rel.startswith(ROOTS):
                    folders.setdefault(folder, []).append(name)
        for folder, names in sorted(folders.items()):
            if f"{folder}/__init__.py" in self.ctx.files.paths:
                continue
            clashes = sorted(n for n in names if basenames.get(n, 0) > 1)
            clash = f" (and `{clashes[0]}` has the same name as another test file)" if clashes else ""
            first = sorted(names)[0]
            yield self.finding(start(f"{folder}/{first}"), folder=folder, clash=clash)
