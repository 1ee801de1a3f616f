"""clone-family's module transform, one behaviour per test: a small module of qwen3 cloned as qwen4."""

from __future__ import annotations

import dataclasses
import textwrap

from codemods.clone_family._clone_module import CloneContext, Registration, clone_module
from codemods.naming import Renamer, Variant
from tests.codemod import assert_codemod

RENAMER = Renamer(
    [
        Variant("qwen3", "qwen4"),
        Variant("QWEN3", "QWEN4"),
        Variant("Qwen3", "Qwen4"),
        Variant("Qwen3ForCausalLM", "Qwen4ForCausalLM"),
    ],
    protected=["qwen3_moe", "Qwen3MoE"],
)
MODELS = "megatron.bridge.models.qwen"
CTX = CloneContext(
    renamer=RENAMER,
    module_map={
        f"{MODELS}.qwen3_bridge": f"{MODELS}.qwen4_bridge",
        f"{MODELS}.qwen3_provider": f"{MODELS}.qwen4_provider",
    },
    registrations={"Qwen4Bridge": Registration("Qwen4ForCausalLM", as_string=True, model_type="qwen4")},
)
HEADER = "# Copyright (c) {year}, NVIDIA CORPORATION.  All rights reserved.\n"


def _clone(code: str, *, ctx: CloneContext = CTX) -> str:
    """`code` cloned as if it were qwen3_bridge.py; its license line must take the clone's year."""
    cloned = clone_module(
        HEADER.format(year=2024) + code,
        path="src/megatron/bridge/models/qwen/qwen3_bridge.py",
        module_name=f"{MODELS}.qwen3_bridge",
        ctx=ctx,
        year=2026,
    )
    assert cloned.text.startswith(HEADER.format(year=2026))
    return cloned.text.removeprefix(HEADER.format(year=2026))


def test_names_are_renamed_in_their_case_and_longer_models_kept() -> None:
    assert_codemod(
        _clone,
        """
        class Qwen3Bridge(Base):
            layers = QWEN3_LAYERS
            moe = Qwen3MoEModelProvider

        def qwen3_8b_pretrain_config(): ...
        """,
        """
        class Qwen4Bridge(Base):
            layers = QWEN4_LAYERS
            moe = Qwen3MoEModelProvider

        def qwen4_8b_pretrain_config(): ...
        """,
    )


def test_imports_of_cloned_modules_follow_the_module_map() -> None:
    assert_codemod(
        _clone,
        """
        from megatron.bridge.models.qwen.qwen3_provider import Qwen3ModelProvider
        from .qwen3_provider import QWEN3_LAYERS as LAYERS_OF_QWEN3
        """,
        """
        from megatron.bridge.models.qwen.qwen4_provider import Qwen4ModelProvider
        from .qwen4_provider import QWEN4_LAYERS as LAYERS_OF_QWEN4
        """,
    )


def test_names_imported_from_a_module_not_cloned_are_kept_and_noted() -> None:
    code = "from megatron.bridge.models.qwen.configuration_qwen3 import Qwen3Config\n\nconfig = Qwen3Config\n"
    assert_codemod(_clone, code, code)
    notes = clone_module(code, path="q.py", module_name=f"{MODELS}.qwen3_bridge", ctx=CTX, year=2026).notes
    assert notes == (f"kept Qwen3Config ({MODELS}.configuration_qwen3 is not cloned; no Qwen4Config)",)


def test_attribute_chains_rooted_at_an_imported_module_stay() -> None:
    assert_codemod(
        _clone,
        """
        import transformers.models.qwen3 as qwen3_hf
        model = qwen3_hf.modeling_qwen3.Qwen3Model
        """,
        """
        import transformers.models.qwen3 as qwen3_hf
        model = qwen3_hf.modeling_qwen3.Qwen3Model
        """,
    )


def test_keyword_arguments_keep_the_callees_spelling() -> None:
    assert_codemod(
        _clone, "provider = Qwen3Provider(qwen3_norm=True)\n", "provider = Qwen4Provider(qwen3_norm=True)\n"
    )


def test_strings_by_kind_weight_names_kept() -> None:
    assert_codemod(
        _clone,
        """
        MAPPING = {
            "decoder.layers.*.self_attention.q_layernorm.weight": "model.layers.*.self_attn.q_norm.weight",
            "model_type": "qwen3",
            "bridge": "megatron.bridge.models.qwen.qwen3_bridge.Qwen3Bridge",
            "hub": "Qwen/Qwen3-8B",
            "other": "qwen3_moe",
        }
        """,
        """
        MAPPING = {
            "decoder.layers.*.self_attention.q_layernorm.weight": "model.layers.*.self_attn.q_norm.weight",
            "model_type": "qwen4",
            "bridge": "megatron.bridge.models.qwen.qwen4_bridge.Qwen4Bridge",
            "hub": "Qwen/Qwen4-8B",
            "other": "qwen3_moe",
        }
        """,
    )


def test_docstrings_comments_and_messages_are_prose() -> None:
    assert_codemod(
        _clone,
        '''
        def load(name):
            """Load a Qwen3 checkpoint."""
            # qwen3 ties its embeddings
            return f"loading {name} for Qwen3", f"{name}.qwen3.weight"
        ''',
        '''
        def load(name):
            """Load a Qwen4 checkpoint."""
            # qwen4 ties its embeddings
            return f"loading {name} for Qwen4", f"{name}.qwen3.weight"
        ''',
    )


def test_registration_takes_the_new_source_and_model_type() -> None:
    # the new HF class is a string (transformers lacks it): the import of the old one goes
    assert_codemod(
        _clone,
        """
        from transformers import Qwen3ForCausalLM


        @MegatronModelBridge.register_bridge(source=Qwen3ForCausalLM, target=GPTModel, model_type="qwen3")
        class Qwen3Bridge(MegatronModelBridge):
            pass
        """,
        """


        @MegatronModelBridge.register_bridge(source="Qwen4ForCausalLM", target=GPTModel, model_type="qwen4")
        class Qwen4Bridge(MegatronModelBridge):
            pass
        """,
    )


def test_a_pinned_hub_revision_is_unpinned_with_a_todo() -> None:
    assert_codemod(
        _clone,
        'QWEN3_REVISION = "0123456789abcdef0123456789abcdef01234567"\n',
        'QWEN4_REVISION = None  # TODO(bridgesmith): pin the revision of the new checkpoint (was "0123456789abcdef0123456789abcdef01234567")\n',
    )


def test_hub_ids_move_to_the_new_organisation() -> None:
    ctx = dataclasses.replace(CTX, hf_org=("Qwen", "acme"))
    assert_codemod(
        _clone,
        '''
        HF_ID = "Qwen/Qwen3-8B"
        """See Qwen/Qwen3-8B and Qwen/Qwen2-7B."""
        ''',
        '''
        HF_ID = "acme/Qwen4-8B"
        """See acme/Qwen4-8B and Qwen/Qwen2-7B."""
        ''',
        ctx=ctx,
    )


def test_a_module_without_old_spellings_only_takes_the_year() -> None:
    code = textwrap.dedent(
        """
        import torch

        def rotate(x):  # no model name here
            return torch.flip(x, [0])
        """
    )
    assert_codemod(_clone, code, code)
