"""MBR001: a bridge class that its family `__init__.py` does not import."""

from __future__ import annotations

from collections.abc import Iterator

from analyzers.catalog.records import BridgeRecord
from analyzers.lint.rule import Edit, Finding, Invalid, LintRule
from analyzers.rules._common import imported_names

_INIT = "src/megatron/bridge/models/foo/__init__.py"
_BRIDGE = """from megatron.bridge.models.conversion.model_bridge import MegatronModelBridge


@MegatronModelBridge.register_bridge(source="FooForCausalLM", target=GPTModel, model_type="foo")
class FooBridge(MegatronModelBridge):
    pass
"""
_BAR = _BRIDGE.replace("Foo", "Bar").replace('"foo"', '"bar"')


class BridgeNotImportedByFamily(LintRule):
    """Flags bridge classes that the family package's `__init__.py` does not import.

    ## What it does
    Checks that every bridge class defined under `models/<family>/` is imported by
    `models/<family>/__init__.py`.

    ## Why is this bad?
    Bridges register themselves when their module is imported, and Megatron-Bridge imports
    `megatron.bridge.models` -> each family package -> its bridge modules. A bridge module no
    `__init__` imports is registered only if something else happens to import it first, so
    `AutoBridge.from_hf_pretrained` fails for that architecture depending on import order.

    ## Example
    `models/foo/__init__.py` imports `FooBridge` but not `BarBridge` from `bar_bridge.py`.

    ## Use instead
    `from megatron.bridge.models.foo.bar_bridge import BarBridge` in `models/foo/__init__.py`.
    """

    CODE = "MBR001"
    NAME = "bridge-not-imported-by-family"
    MESSAGE = "bridge `{bridge}` is not imported by `{init}`"
    FIX_TITLE = "import it in the family `__init__.py`"
    VALID = [
        {
            _INIT: "from megatron.bridge.models.foo.foo_bridge import FooBridge\n"
            "from megatron.bridge.models.foo.bar_bridge import BarBridge\n",
            "src/megatron/bridge/models/foo/foo_bridge.py": _BRIDGE,
            "src/megatron/bridge/models/foo/bar_bridge.py": _BAR,
        },
        # Importing the module (not the class) is not enough for this rule; importing the class under an alias is.
        {
            _INIT: "from megatron.bridge.models.foo.foo_bridge import FooBridge as FooBridge\n",
            "src/megatron/bridge/models/foo/foo_bridge.py": _BRIDGE,
        },
    ]
    INVALID = [
        Invalid(
            {
                _INIT: "from megatron.bridge.models.foo.foo_bridge import FooBridge\n",
                "src/megatron/bridge/models/foo/foo_bridge.py": _BRIDGE,
                "src/megatron/bridge/models/foo/bar_bridge.py": _BAR,
            },
            expected_message="`BarBridge`",
            expected_replacement={
                _INIT: "from megatron.bridge.models.foo.bar_bridge import BarBridge\n"
                "from megatron.bridge.models.foo.foo_bridge import FooBridge\n",
            },
        ),
    ]

    def check_bridge(self, bridge: BridgeRecord) -> Iterator[Finding]:
        family = self.ctx.catalog.family(bridge.family)
        if family is None:
            return
        init = f"{family.path}/__init__.py"
        if bridge.diffusion:
            return  # diffusion bridges are imported by module path, not through family packages
        if family.init is None:
            if any(p.location.path == init for p in self.ctx.catalog.problems):
                return  # it exists but does not parse: MBR000 names it once, not one finding per bridge
            yield self.finding(bridge.location, related=[init], bridge=bridge.name, init=init)
            return
        if bridge.name in imported_names(family.init):
            return
        fix = Edit("add-import", init, module=bridge.module, names=(bridge.name,))
        yield self.finding(bridge.location, fix=fix, related=[init], bridge=bridge.name, init=init)
