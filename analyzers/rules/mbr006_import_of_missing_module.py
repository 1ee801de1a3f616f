"""MBR006: an `__init__.py` that imports a module of the package that does not exist."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from analyzers.catalog.modules import TREE_NAMESPACE, module_candidates, resolve_relative
from analyzers.catalog.modules import module_name as dotted_name
from analyzers.catalog.records import Location
from analyzers.lint.rule import Finding, Invalid, LintRule
from analyzers.repo import BRIDGE_PKG

_INIT = "src/megatron/bridge/models/foo/__init__.py"
_BRIDGE = """from megatron.bridge.models.conversion.model_bridge import MegatronModelBridge


@MegatronModelBridge.register_bridge(source="FooForCausalLM", target=GPTModel, model_type="foo")
class FooBridge(MegatronModelBridge):
    pass
"""


def _unguarded_imports(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports that run when the package is imported: module level and under `if`, not inside `try`."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            yield from _unguarded_imports(node.body)
            yield from _unguarded_imports(node.orelse)


class ImportOfMissingModule(LintRule):
    """Flags an `__init__.py` import of a `megatron.bridge` module that is not in the tree.

    ## What it does
    Reads the imports of every `__init__.py` under `src/megatron/bridge/` (module level and under
    `if`; imports inside `try` are taken as optional) and checks that each imported
    `megatron.bridge...` module, absolute or relative, exists as a `.py` file or a package.

    ## Why is this bad?
    `import megatron.bridge` imports every family package; one `__init__.py` that still imports a
    deleted or renamed bridge module makes the whole package fail with `ModuleNotFoundError`, for
    every model. Deleting the file is a change git sees only as a deletion, so nothing else checks it.

    ## Example
    `models/foo/__init__.py` keeps `from megatron.bridge.models.foo.foo_bridge import FooBridge`
    after `foo_bridge.py` was deleted.

    ## Use instead
    Remove the import (and its `__all__` entries), or restore the module.
    """

    CODE = "MBR006"
    NAME = "import-of-missing-module"
    MESSAGE = "`{module}` is imported here but does not exist in the tree"
    EXAMPLE_PATH = _INIT
    VALID = [
        {
            _INIT: 'from megatron.bridge.models.foo.foo_bridge import FooBridge\n\n__all__ = ["FooBridge"]\n',
            "src/megatron/bridge/models/foo/foo_bridge.py": _BRIDGE,
        },
        # relative import of an existing module; an optional import inside try
        {
            _INIT: "from .foo_bridge import FooBridge\n\ntry:\n    from .bar_bridge import BarBridge\nexcept ImportError:\n    BarBridge = None\n",
            "src/megatron/bridge/models/foo/foo_bridge.py": _BRIDGE,
        },
    ]
    INVALID = [
        Invalid(
            # bar_bridge.py was deleted; the scaffold's foo_bridge.py is still there
            {
                _INIT: "from megatron.bridge.models.foo.foo_bridge import FooBridge\n"
                "from megatron.bridge.models.foo.bar_bridge import BarBridge\n"
            },
            expected_lines=(2,),
            expected_message="`megatron.bridge.models.foo.bar_bridge`",
        ),
        Invalid(
            {
                _INIT: "from .foo_bridge import FooBridge\nfrom . import missing_helpers\nimport megatron.bridge.models.gone\n",
                "src/megatron/bridge/models/foo/foo_bridge.py": _BRIDGE,
            },
            expected_lines=(3,),
            expected_message="`megatron.bridge.models.gone`",
        ),
    ]

    def check_tree(self) -> Iterator[Finding]:
        inits = [
            p for p in self.ctx.files.data if p.startswith(BRIDGE_PKG + "/") and p.endswith("/__init__.py")
        ]
        for rel in sorted(inits):
            for line, col, module in self.ctx.fact(
                f"{self.CODE}.imports", rel, lambda rel=rel: self._imports(rel)
            ):
                paths = module_candidates(module)
                if any(self.ctx.exists(p) for p in paths):
                    continue
                yield self.finding(Location(rel, line, col), related=paths, module=module)

    def _imports(self, rel: str) -> list[tuple[int, int, str]]:
        """(line, col, dotted module) of the tree modules `rel` imports unguarded."""
        info = self.ctx.module(rel)
        if info is None:
            return []
        here = dotted_name(rel)
        out: list[tuple[int, int, str]] = []
        for node in _unguarded_imports(info.tree.body):
            if isinstance(node, ast.ImportFrom):
                names = [resolve_relative(here, True, node.level, node.module)]
            else:
                names = [alias.name for alias in node.names]
            for name in names:
                if name.startswith(TREE_NAMESPACE):
                    out.append((node.lineno, node.col_offset, name))
        return out
