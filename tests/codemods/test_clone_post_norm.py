"""A post-norm-only model (EXAONE 4.0: no input norms, norms after attention and MLP) cloned from a bridge
whose layer spec has post-norm modules (Gemma3's sandwich spec): the cloned spec keeps them and drops the
fused pre-norms, the provider loses what is Gemma's and not EXAONE's (scaled embedding, zero-centred norms,
its softmax scale, its (5, 1) layer pattern), and RoPE is skipped on the full-attention layers. From a source
without post-norm modules the config is still refused. Real tree, transformers' default Exaone4Config, the
EXAONE bridges left out of the teachers (as when the family is hidden)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from analyzers.catalog.records import Catalog
from analyzers.errors import UnexpressibleError
from codemods.clone_family import CloneRequest, plan_clone
from tests.codemods.test_clone_config import _check_tree
from tests.codemods.test_clone_provider_writes import _assigned, _config, _method

pytestmark = pytest.mark.hf

HIDDEN = ("Exaone4Bridge", "Exaone45Bridge")


def _request(src: str, config: str) -> CloneRequest:
    return CloneRequest(
        src,
        "exaone4x",
        config=config,
        model_type="exaone4x",
        hf_class="Exaone4xForCausalLM",
        exclude_teachers=HIDDEN,
    )


def _keywords(fn: ast.FunctionDef) -> dict[str, str]:
    return {
        k.arg: ast.unparse(k.value)
        for n in ast.walk(fn)
        if isinstance(n, ast.Call)
        for k in n.keywords
        if k.arg
    }


@pytest.fixture(scope="module")
def exaone4_config(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _config("exaone4", tmp_path_factory.mktemp("exaone4"))


def test_gemma3_cloned_for_exaone4_keeps_post_norms_and_drops_pre_norms(
    writable_checkout: Path, real_catalog: Catalog, exaone4_config: str
) -> None:
    result = plan_clone(
        writable_checkout, _request("Gemma3ModelBridge", exaone4_config), catalog=real_catalog
    )
    texts = {e.path: e.after for e in result.plan.changes if e.after is not None}
    result.plan.apply()
    _check_tree(writable_checkout, [e.path for e in result.plan.changes])
    provider_path = next(p for p in texts if p.endswith("/exaone4x_provider.py"))
    provider = ast.parse(texts[provider_path])
    spec_fn = next(
        n for n in provider.body if isinstance(n, ast.FunctionDef) and n.name == "exaone4x_layer_spec"
    )
    slots = _keywords(spec_fn)
    assert slots["linear_qkv"] == "TEColumnParallelLinear"
    assert slots["linear_fc1"] == "TEColumnParallelLinear"
    assert slots["linear_proj"] == "TERowParallelLinearLayerNorm"
    assert slots["linear_fc2"] == "TERowParallelLinearLayerNorm"
    # the plain linear is bound the way the module binds its other TE classes
    bound = {
        t.id
        for n in provider.body
        if isinstance(n, ast.Assign)
        for t in ast.walk(n.targets[0])
        if isinstance(t, ast.Name)
    }
    assert "TEColumnParallelLinear" in bound
    cls = next(n for n in provider.body if isinstance(n, ast.ClassDef) and n.name == "Exaone4xModelProvider")
    defaults = {
        s.target.id: ast.unparse(s.value)
        for s in cls.body
        if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name) and s.value is not None
    }
    assert "exaone4x_layer_spec" in defaults["transformer_layer_spec"]
    assert defaults["layernorm_zero_centered_gamma"] == "False"  # Exaone4RMSNorm scales by its weight
    assert defaults["interleaved_attn_pattern"] == "(3, 1)"  # layer_types: three sliding, one full
    provide = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "provide")
    assert not any(
        isinstance(n, ast.Attribute) and n.attr == "embedding" and isinstance(n.ctx, ast.Store)
        for n in ast.walk(provide)
    )  # Gemma3's sqrt(hidden_size) embedding is not swapped in
    bridge_path = next(new for new, old in result.files.items() if old == result.source.bridge.path)
    fn = _method(texts[bridge_path], result.names.bridge_class)
    settings = _assigned(fn)
    assert settings["softmax_scale"] == "None"  # not Gemma3's 1/sqrt(query_pre_attn_scalar), nor its default
    assert settings["no_rope_freq"] == "[int(t == 'full_attention') for t in hf_config.layer_types]"
    registry = ast.unparse(_method(texts[bridge_path], result.names.bridge_class, "mapping_registry"))
    assert "decoder.layers.*.self_attention.linear_proj.post_layernorm.weight" in registry
    assert "decoder.layers.*.mlp.linear_fc2.post_layernorm.weight" in registry
    assert "layer_norm_weight" not in registry and "input_layernorm" not in registry
    report = "\n".join(result.plan.report)
    assert "layer spec: gemma3_layer_spec of gemma3_provider.py keeps its post-norm" in report
    assert "keeps Megatron-Core's embedding instead of Gemma3LanguageModelEmbedding" in report


def test_qwen3_cloned_for_exaone4_gets_the_post_norm_spec_from_the_template(
    writable_checkout: Path, real_catalog: Catalog, exaone4_config: str
) -> None:
    # Qwen3Bridge builds the stock layer spec (fused pre-norms, no post-norm): the clone writes the spec
    result = plan_clone(writable_checkout, _request("Qwen3Bridge", exaone4_config), catalog=real_catalog)
    texts = {e.path: e.after for e in result.plan.changes if e.after is not None}
    result.plan.apply()
    _check_tree(writable_checkout, [e.path for e in result.plan.changes])
    bridge_path = next(new for new, old in result.files.items() if old == result.source.bridge.path)
    module = ast.parse(texts[bridge_path])
    spec_fn = next(
        n for n in module.body if isinstance(n, ast.FunctionDef) and n.name == "post_norm_layer_spec"
    )
    slots = _keywords(spec_fn)
    assert slots["linear_qkv"] == slots["linear_fc1"] == "TEColumnParallelLinear"
    assert slots["linear_proj"] == slots["linear_fc2"] == "TERowParallelLinearLayerNorm"
    assert "AutoMapping.register_module_type('TERowParallelLinearLayerNorm', 'row')" in ast.unparse(module)
    fn = _method(texts[bridge_path], result.names.bridge_class)
    settings = _assigned(fn)
    assert settings["transformer_layer_spec"] == "post_norm_layer_spec"
    # no hf_config in Qwen3Bridge's provider_bridge: the values follow the loaded config, not this one's
    assert settings["window_size"] == "(hf_pretrained.config.sliding_window - 1, 0)"
    assert (
        settings["no_rope_freq"] == "[int(t == 'full_attention') for t in hf_pretrained.config.layer_types]"
    )
    registry = ast.unparse(_method(texts[bridge_path], result.names.bridge_class, "mapping_registry"))
    assert "decoder.layers.*.self_attention.linear_proj.post_layernorm.weight" in registry
    assert "decoder.layers.*.mlp.linear_fc2.post_layernorm.weight" in registry
    assert not [t for t in result.plan.todos if "post-norm" in t.message]


def test_a_source_with_its_own_spec_without_post_norm_modules_is_still_refused(
    checkout: Path, real_catalog: Catalog, exaone4_config: str
) -> None:
    # MiniMax-M2's own layer spec (full-dimension q/k norms) has no post-norm module to keep
    with pytest.raises(UnexpressibleError) as info:
        plan_clone(checkout, _request("MiniMaxM2Bridge", exaone4_config), catalog=real_catalog)
    message = str(info.value)
    assert "norms after attention and MLP only (no pre-norm)" in message
    assert "layer spec has them: Gemma2Bridge, Gemma3ModelBridge" in message
