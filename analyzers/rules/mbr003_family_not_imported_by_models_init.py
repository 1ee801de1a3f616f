"""MBR003: a model family package that `models/__init__.py` does not import."""

from __future__ import annotations

from collections.abc import Iterator

from analyzers.catalog.modules import module_name
from analyzers.catalog.records import FamilyRecord
from analyzers.lint.rule import Edit, Finding, Invalid, LintRule
from analyzers.rules._common import MODELS_INIT, imported_names, start

_BRIDGE = """from megatron.bridge.models.conversion.model_bridge import MegatronModelBridge


@MegatronModelBridge.register_bridge(source="BarForCausalLM", target=GPTModel, model_type="bar")
class BarBridge(MegatronModelBridge):
    pass
"""
_BAR = {
    "src/megatron/bridge/models/bar/__init__.py": 'from megatron.bridge.models.bar.bar_bridge import BarBridge\n\n__all__ = ["BarBridge"]\n',
    "src/megatron/bridge/models/bar/bar_bridge.py": _BRIDGE,
}


class FamilyNotImportedByModelsInit(LintRule):
    """Flags model families (with bridges) that `models/__init__.py` does not import.

    ## What it does
    Checks that `megatron/bridge/models/__init__.py` imports every family package that defines a
    bridge (from the package or one of its modules).

    ## Why is this bad?
    Registration happens at import: `megatron.bridge` imports `models`, which imports each family.
    A family left out is registered only when another family happens to import one of its modules
    (for example a VLM bridge subclassing it), so the architecture silently disappears when that
    other import changes, and its bridges are not importable from `megatron.bridge.models`.

    ## Use instead
    `from megatron.bridge.models.<family> import (<Bridge>, ...)` in `models/__init__.py`.
    """

    CODE = "MBR003"
    NAME = "family-not-imported-by-models-init"
    MESSAGE = "family `{family}` is not imported by `models/__init__.py` (bridges: {bridges})"
    FIX_TITLE = "import the family's bridges in `models/__init__.py`"
    VALID = [
        {
            **_BAR,
            MODELS_INIT: 'from megatron.bridge.models.foo import FooBridge\nfrom megatron.bridge.models.bar import BarBridge\n\n__all__ = ["FooBridge", "BarBridge"]\n',
        },
        # Importing one module of the family imports the package too.
        {
            **_BAR,
            MODELS_INIT: 'from megatron.bridge.models.foo import FooBridge\nfrom megatron.bridge.models.bar.bar_bridge import BarBridge\n\n__all__ = ["FooBridge", "BarBridge"]\n',
        },
    ]
    INVALID = [
        Invalid(
            {
                **_BAR,
                MODELS_INIT: 'from megatron.bridge.models.foo import FooBridge\n\n__all__ = ["FooBridge"]\n',
            },
            expected_message="`bar`",
            expected_replacement={
                MODELS_INIT: 'from megatron.bridge.models.bar import BarBridge\nfrom megatron.bridge.models.foo import FooBridge\n\n__all__ = ["FooBridge"]\n'
            },
        ),
    ]

    def check_family(self, family: FamilyRecord) -> Iterator[Finding]:
        catalog = self.ctx.catalog
        if family.name.startswith("diffusion/") or not family.bridges or catalog.models_init is None:
            return
        if family.imported_by_models_init:
            return
        init = f"{family.path}/__init__.py"
        exported = imported_names(family.init) if family.init else set()
        names = tuple(b for b in family.bridges if b in exported)
        fix = Edit("add-import", MODELS_INIT, module=module_name(family.path), names=names) if names else None
        where = init if family.init is not None else family.path
        yield self.finding(
            start(where),
            fix=fix,
            related=[MODELS_INIT],
            family=family.name,
            bridges=", ".join(family.bridges),
        )
