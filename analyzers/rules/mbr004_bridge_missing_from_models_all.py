"""MBR004: a bridge missing from `megatron.bridge.models.__all__`."""

from __future__ import annotations

from collections.abc import Iterator

from analyzers.catalog.modules import module_name
from analyzers.catalog.records import BridgeRecord
from analyzers.lint.rule import Edit, Finding, Invalid, LintRule
from analyzers.rules._common import MODELS_INIT, imported_names

_BRIDGE = """from megatron.bridge.models.conversion.model_bridge import MegatronModelBridge


@MegatronModelBridge.register_bridge(source="FooForCausalLM", target=GPTModel, model_type="foo")
class FooBridge(MegatronModelBridge):
    pass


@MegatronModelBridge.register_bridge(source="Foo2ForCausalLM", target=GPTModel, model_type="foo2")
class Foo2Bridge(FooBridge):
    pass


@MegatronModelBridge.register_bridge(source="Foo3ForCausalLM", target=GPTModel, model_type="foo3")
class Foo3Bridge(FooBridge):
    pass
"""
_INIT = 'from megatron.bridge.models.foo.foo_bridge import Foo2Bridge, Foo3Bridge, FooBridge\n\n__all__ = ["FooBridge", "Foo2Bridge", "Foo3Bridge"]\n'


class BridgeMissingFromModelsAll(LintRule):
    """Flags bridges that `megatron.bridge.models` does not export in its `__all__`.

    ## What it does
    Every registered (non-diffusion) bridge class must be imported by `models/__init__.py` and listed
    in its `__all__`.

    ## Why is this bad?
    `megatron.bridge.models` is where users and tests import bridges from
    (`from megatron.bridge.models import Qwen3Bridge`); a bridge missing there is importable only
    by its module path, and the registration-matrix test that lists exported bridges misses it.

    ## Use instead
    Import it from the family package in `models/__init__.py` and add it to `__all__`.
    """

    CODE = "MBR004"
    NAME = "bridge-missing-from-models-all"
    MESSAGE = "bridge `{bridge}` is missing from `__all__` of `models/__init__.py`"
    FIX_TITLE = "import it in `models/__init__.py` and add it to `__all__`"
    VALID = [
        {
            "src/megatron/bridge/models/foo/foo_bridge.py": _BRIDGE,
            "src/megatron/bridge/models/foo/__init__.py": _INIT,
            MODELS_INIT: 'from megatron.bridge.models.foo import (\n    Foo2Bridge,\n    Foo3Bridge,\n    FooBridge,\n)\n\n__all__ = [\n    "FooBridge",\n    "Foo2Bridge",\n    "Foo3Bridge",\n]\n',
        },
    ]
    INVALID = [
        Invalid(
            {
                "src/megatron/bridge/models/foo/foo_bridge.py": _BRIDGE,
                "src/megatron/bridge/models/foo/__init__.py": _INIT,
                MODELS_INIT: 'from megatron.bridge.models.foo import (\n    Foo2Bridge,\n    FooBridge,\n)\n\n__all__ = [\n    "FooBridge",\n    "Foo2Bridge",\n]\n',
            },
            expected_message="`Foo3Bridge`",
            expected_replacement={
                MODELS_INIT: 'from megatron.bridge.models.foo import (\n    Foo2Bridge,\n    Foo3Bridge,\n    FooBridge,\n)\n\n__all__ = [\n    "FooBridge",\n    "Foo2Bridge",\n    "Foo3Bridge",\n]\n',
            },
        ),
    ]

    def check_bridge(self, bridge: BridgeRecord) -> Iterator[Finding]:
        models = self.ctx.catalog.models_init
        if bridge.diffusion or models is None or models.all is None or bridge.name in models.all:
            return
        if not bridge.registrations:
            return  # an abstract base bridge is not part of the public surface
        edits = []
        if bridge.name not in imported_names(models):
            family = self.ctx.catalog.family(bridge.family)
            via_family = family is not None and bridge.name in imported_names(family.init)
            module = module_name(family.path) if via_family and family else bridge.module
            edits.append(Edit("add-import", MODELS_INIT, module=module, names=(bridge.name,)))
        edits.append(Edit("add-all-entry", MODELS_INIT, names=(bridge.name,)))
        yield self.finding(bridge.location, fix=tuple(edits), related=[MODELS_INIT], bridge=bridge.name)
