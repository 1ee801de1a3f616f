"""rename-family's module transform, one behaviour per test: a module of the family olmoe renamed olmo_moe."""

from __future__ import annotations

from pathlib import Path

from codemods.naming import Renamer, Variant
from codemods.refactors.rename_family import FamilyRename, _FamilyStrings, _rewrite_python
from tests.codemod import assert_codemod

VARIANTS = [Variant("olmoe", "olmo_moe"), Variant("OLMOE", "OLMO_MOE"), Variant("OlMoE", "OlmoMoe")]
MODELS = "megatron.bridge.models"
MOVED = {
    f"{MODELS}.olmoe": f"{MODELS}.olmo_moe",
    f"{MODELS}.olmoe.olmoe_bridge": f"{MODELS}.olmo_moe.olmo_moe_bridge",
    f"{MODELS}.olmoe.olmoe_provider": f"{MODELS}.olmo_moe.olmo_moe_provider",
}


def _rename(code: str, *, path: str = "src/megatron/bridge/models/olmoe/olmoe_bridge.py") -> str:
    rename = FamilyRename(
        "olmoe",
        "olmo_moe",
        family=None,  # the transform reads names, paths and what HF owns, not the family record
        matched_by="family",
        renamer=Renamer(VARIANTS, protected={"olmoe", "OlmoeForCausalLM"}),
        paths=Renamer(VARIANTS[:2]),
        hf_facing={"olmoe", "OlmoeForCausalLM"},
        brands=["OlMoE"],
    )
    return _rewrite_python(_FamilyStrings(rename, Path("/no-tree"), MOVED), path, code)


def test_imports_follow_the_moved_modules_and_relative_stays_relative() -> None:
    assert_codemod(
        _rename,
        """
        from megatron.bridge.models.olmoe.olmoe_provider import OlMoEModelProvider
        from .olmoe_provider import OLMOE_LAYERS
        import megatron.bridge.models.olmoe.olmoe_provider as olmoe_provider
        from megatron.bridge.models.conversion.model_bridge import MegatronModelBridge
        """,
        """
        from megatron.bridge.models.olmo_moe.olmo_moe_provider import OlmoMoeModelProvider
        from .olmo_moe_provider import OLMO_MOE_LAYERS
        import megatron.bridge.models.olmo_moe.olmo_moe_provider as olmo_moe_provider
        from megatron.bridge.models.conversion.model_bridge import MegatronModelBridge
        """,
    )


def test_names_from_outside_keep_their_spelling() -> None:
    code = "from transformers import OlmoeForCausalLM\n\nmodel = OlmoeForCausalLM\n"
    assert_codemod(_rename, code, code)


def test_keyword_arguments_follow_the_rename() -> None:
    # the family's own signatures are renamed with it
    assert_codemod(
        _rename,
        "provider = OlMoEModelProvider(olmoe_layers=2)\n",
        "provider = OlmoMoeModelProvider(olmo_moe_layers=2)\n",
    )


def test_dotted_paths_and_tree_paths_follow_the_moves() -> None:
    assert_codemod(
        _rename,
        """
        bridge = megatron.bridge.models.olmoe.olmoe_bridge.OlMoEBridge
        BRIDGE = "megatron.bridge.models.olmoe.olmoe_bridge.OlMoEBridge"
        TEST = "tests/unit_tests/models/olmoe/test_olmoe_bridge.py"
        """,
        """
        bridge = megatron.bridge.models.olmo_moe.olmo_moe_bridge.OlmoMoeBridge
        BRIDGE = "megatron.bridge.models.olmo_moe.olmo_moe_bridge.OlmoMoeBridge"
        TEST = "tests/unit_tests/models/olmo_moe/test_olmo_moe_bridge.py"
        """,
    )


def test_what_hf_owns_is_kept_in_code_and_prose() -> None:
    assert_codemod(
        _rename,
        '''
        @MegatronModelBridge.register_bridge(source=OlmoeForCausalLM, model_type="olmoe")
        class OlMoEBridge(MegatronModelBridge):
            """OLMoE-7B (HuggingFace OlmoeForCausalLM, allenai/OLMoE-1B-7B-0924); the olmoe family."""
        ''',
        '''
        @MegatronModelBridge.register_bridge(source=OlmoeForCausalLM, model_type="olmoe")
        class OlmoMoeBridge(MegatronModelBridge):
            """OLMoE-7B (HuggingFace OlmoeForCausalLM, allenai/OLMoE-1B-7B-0924); the olmo_moe family."""
        ''',
    )


def test_a_mapping_registry_keeps_its_weight_names() -> None:
    assert_codemod(
        _rename,
        '''
        def mapping_registry(self):
            """Weights of the olmoe family."""
            return {"decoder.layers.*.mlp.router.weight": "model.layers.*.mlp.gate.weight", "x": f"olmoe {n}"}
        ''',
        '''
        def mapping_registry(self):
            """Weights of the olmo_moe family."""
            return {"decoder.layers.*.mlp.router.weight": "model.layers.*.mlp.gate.weight", "x": f"olmoe {n}"}
        ''',
    )
