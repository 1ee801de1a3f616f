"""rename-param's literal transform, one behaviour per test: `mtp.layers.*.transformer_layer.` becomes
`mtp.layers.*.mtp_model_layer.` in the string literals of a bridge's registry functions, nowhere else."""

from __future__ import annotations

import textwrap

import libcst as cst

from codemods.refactors.rename_param import ParamPattern, _Rewriter, _SideFinder
from tests.codemod import assert_codemod

OLD, NEW = "mtp.layers.*.transformer_layer.", "mtp.layers.*.mtp_model_layer."
REGISTRY = "Qwen3NextBridge.mapping_registry"


def _rewriter(code: str, scope: set[str], side: str | None) -> tuple[str, _Rewriter]:
    module = cst.parse_module(code)
    finder = _SideFinder()
    module.visit(finder)
    rewriter = _Rewriter(ParamPattern(OLD, NEW), scope, finder.side, side)
    return module.visit(rewriter).code, rewriter


def _rename(code: str, *, scope: frozenset[str] = frozenset({REGISTRY}), side: str | None = None) -> str:
    return _rewriter(code, set(scope), side)[0]


def test_literals_of_the_registry_are_rewritten_keeping_their_quotes() -> None:
    assert_codemod(
        _rename,
        """
        class Qwen3NextBridge(MegatronModelBridge):
            def mapping_registry(self) -> MegatronMappingRegistry:
                return MegatronMappingRegistry(
                    AutoMapping(
                        megatron_param="mtp.layers.*.transformer_layer.mlp.linear_fc2.weight",
                        hf_param='mtp.layers.*.transformer_layer.mlp.down_proj.weight',
                    ),
                )
        """,
        """
        class Qwen3NextBridge(MegatronModelBridge):
            def mapping_registry(self) -> MegatronMappingRegistry:
                return MegatronMappingRegistry(
                    AutoMapping(
                        megatron_param="mtp.layers.*.mtp_model_layer.mlp.linear_fc2.weight",
                        hf_param='mtp.layers.*.mtp_model_layer.mlp.down_proj.weight',
                    ),
                )
        """,
    )


def test_wildcards_keep_the_matched_index_or_field() -> None:
    assert_codemod(
        _rename,
        """
        class Qwen3NextBridge(MegatronModelBridge):
            def mapping_registry(self):
                layer = "language_model.mtp.layers.0.transformer_layer.input_layernorm.weight"
                return [f"mtp.layers.{i}.transformer_layer.mlp.weight" for i in range(2)]
        """,
        """
        class Qwen3NextBridge(MegatronModelBridge):
            def mapping_registry(self):
                layer = "language_model.mtp.layers.0.mtp_model_layer.input_layernorm.weight"
                return [f"mtp.layers.{i}.mtp_model_layer.mlp.weight" for i in range(2)]
        """,
    )


def test_only_whole_dotted_segments_match() -> None:
    code = """
    class Qwen3NextBridge(MegatronModelBridge):
        def mapping_registry(self):
            return {
                "nomtp.layers.*.transformer_layer.weight": "a",
                "mtp.layers.*.transformer_layers.weight": "b",
                "mtp.layers.*.transformer_layer_norm.weight": "c",
            }
    """
    assert_codemod(_rename, code, code)


def test_code_outside_the_registry_functions_and_comments_stay() -> None:
    # the same text in module constants, other methods, other classes and comments is not a mapping
    code = """
    MTP_PREFIX = "mtp.layers.*.transformer_layer."


    class Qwen3NextBridge(MegatronModelBridge):
        def mapping_registry(self):
            # mtp.layers.*.transformer_layer. is the HF name too
            return MTP_PREFIX

        def provider_bridge(self, hf_pretrained):
            return "mtp.layers.*.transformer_layer.weight"


    class Qwen3Bridge(MegatronModelBridge):
        def mapping_registry(self):
            return "mtp.layers.*.transformer_layer.weight"
    """
    assert_codemod(_rename, code, code)


def test_helpers_and_nested_functions_of_the_registry_are_rewritten() -> None:
    assert_codemod(
        _rename,
        """
        def _mtp_mappings(prefix):
            def name(i):
                return f"{prefix}.mtp.layers.{i}.transformer_layer.weight"

            return name
        """,
        """
        def _mtp_mappings(prefix):
            def name(i):
                return f"{prefix}.mtp.layers.{i}.mtp_model_layer.weight"

            return name
        """,
        scope=frozenset({"_mtp_mappings"}),
    )


def test_one_side_rewrites_keywords_positions_and_dict_entries_of_that_side() -> None:
    # megatron: `megatron_param=`, the first positional argument, a dict's key; hf: the rest
    assert_codemod(
        _rename,
        """
        class Qwen3NextBridge(MegatronModelBridge):
            def mapping_registry(self):
                pairs = {"mtp.layers.*.transformer_layer.a": "mtp.layers.*.transformer_layer.a"}
                return [
                    AutoMapping(
                        hf_param="mtp.layers.*.transformer_layer.b",
                        megatron_param="mtp.layers.*.transformer_layer.b",
                    ),
                    GatedMLPMapping(
                        "mtp.layers.*.transformer_layer.c",
                        "mtp.layers.*.transformer_layer.gate",
                        up="mtp.layers.*.transformer_layer.up",
                    ),
                ]
        """,
        """
        class Qwen3NextBridge(MegatronModelBridge):
            def mapping_registry(self):
                pairs = {"mtp.layers.*.transformer_layer.a": "mtp.layers.*.mtp_model_layer.a"}
                return [
                    AutoMapping(
                        hf_param="mtp.layers.*.mtp_model_layer.b",
                        megatron_param="mtp.layers.*.transformer_layer.b",
                    ),
                    GatedMLPMapping(
                        "mtp.layers.*.transformer_layer.c",
                        "mtp.layers.*.mtp_model_layer.gate",
                        up="mtp.layers.*.mtp_model_layer.up",
                    ),
                ]
        """,
        side="hf",
    )


def test_with_one_side_a_literal_of_unknown_side_is_left_and_listed() -> None:
    code = textwrap.dedent(
        """
        class Qwen3NextBridge(MegatronModelBridge):
            def mapping_registry(self):
                name = "mtp.layers.*.transformer_layer.weight"
                return AutoMapping(megatron_param="mtp.layers.*.transformer_layer.bias", hf_param=name)
        """
    )
    after, rewriter = _rewriter(code, {REGISTRY}, "megatron")
    assert after == code.replace(
        'megatron_param="mtp.layers.*.transformer_layer.bias"',
        'megatron_param="mtp.layers.*.mtp_model_layer.bias"',
    )
    assert rewriter.skipped == ['"mtp.layers.*.transformer_layer.weight"']
    assert rewriter.edits == [
        ('"mtp.layers.*.transformer_layer.bias"', '"mtp.layers.*.mtp_model_layer.bias"')
    ]
    assert rewriter.functions == {REGISTRY}
