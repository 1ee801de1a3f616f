"""MBR002: a bridge class missing from its family's `__all__`."""

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


class BridgeMissingFromFamilyAll(LintRule):
    """Flags bridge classes left out of the family `__all__` when the family declares one.

    ## What it does
    When `models/<family>/__init__.py` defines `__all__`, every bridge class of the family must be
    listed in it.

    ## Why is this bad?
    `__all__` is the family's public surface: `from megatron.bridge.models.<family> import *`, the
    docs and `models/__init__.py` re-export from it. A bridge imported only for its registration
    side effect (`# noqa: F401`) and left out of `__all__` is invisible to those users, and the
    next clean-up of "unused" imports drops its registration.

    ## Use instead
    List the bridge in `__all__` beside the providers.
    """

    CODE = "MBR002"
    NAME = "bridge-missing-from-family-all"
    MESSAGE = "bridge `{bridge}` is missing from `__all__` of `{init}`"
    FIX_TITLE = "add it to `__all__`"
    VALID = [
        {
            _INIT: 'from megatron.bridge.models.foo.foo_bridge import FooBridge\n\n__all__ = ["FooBridge"]\n',
            "src/megatron/bridge/models/foo/foo_bridge.py": _BRIDGE,
        },
        # A family without `__all__` exports everything it imports.
        {
            _INIT: "from megatron.bridge.models.foo.foo_bridge import FooBridge\n",
            "src/megatron/bridge/models/foo/foo_bridge.py": _BRIDGE,
        },
    ]
    INVALID = [
        Invalid(
            {
                _INIT: 'from megatron.bridge.models.foo.foo_bridge import FooBridge  # noqa: F401\nfrom megatron.bridge.models.foo.foo_provider import FooProvider, FooProvider2\n\n__all__ = [\n    "FooProvider",\n    "FooProvider2",\n]\n',
                "src/megatron/bridge/models/foo/foo_bridge.py": _BRIDGE,
                "src/megatron/bridge/models/foo/foo_provider.py": "class FooProvider:\n    pass\n\n\nFooProvider2 = FooProvider\n",
            },
            expected_message="`FooBridge`",
            expected_replacement={
                _INIT: 'from megatron.bridge.models.foo.foo_bridge import FooBridge  # noqa: F401\nfrom megatron.bridge.models.foo.foo_provider import FooProvider, FooProvider2\n\n__all__ = [\n    "FooBridge",\n    "FooProvider",\n    "FooProvider2",\n]\n',
            },
        ),
    ]

    def check_bridge(self, bridge: BridgeRecord) -> Iterator[Finding]:
        family = self.ctx.catalog.family(bridge.family)
        if family is None or family.init is None or family.init.all is None:
            return
        if bridge.name in family.init.all:
            return
        init = f"{family.path}/__init__.py"
        edits = []
        if bridge.name not in imported_names(family.init):
            edits.append(Edit("add-import", init, module=bridge.module, names=(bridge.name,)))
        edits.append(Edit("add-all-entry", init, names=(bridge.name,)))
        yield self.finding(bridge.location, fix=tuple(edits), related=[init], bridge=bridge.name, init=init)
