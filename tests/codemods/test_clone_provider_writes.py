"""clone-family --config writes every implied provider setting where SRC sets its provider, in SRC's style
(assignments, constructor keywords, kwargs dicts, cloned provider defaults), and removes what would read a
field the new config lacks. Real tree, transformers' own default configs of models MB does not support."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from analyzers.catalog.records import Catalog
from codemods.clone_family import CloneRequest, plan_clone
from tests.codemods.test_clone_config import _check_tree

pytestmark = pytest.mark.hf


def _config(model_type: str, tmp_path: Path) -> str:
    from transformers import AutoConfig

    out = tmp_path / model_type
    AutoConfig.for_model(model_type).save_pretrained(out)
    return str(out / "config.json")


def _clone(
    tree: Path, catalog: Catalog, src: str, dst: str, config: str
) -> tuple[ast.FunctionDef, dict, list]:
    """The clone's provider_bridge, the texts it writes and its report (applied, compiled, ruff-clean)."""
    result = plan_clone(tree, CloneRequest(src, dst, config=config), catalog=catalog)
    texts = {e.path: e.after for e in result.plan.changes if e.after is not None}
    result.plan.apply()
    _check_tree(tree, [e.path for e in result.plan.changes])
    path = next(new for new, old in result.files.items() if old == result.source.bridge.path)
    return _method(texts[path], result.names.bridge_class), texts, list(result.plan.report)


def _method(text: str, cls: str, name: str = "provider_bridge") -> ast.FunctionDef:
    tree = ast.parse(text)
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls)
    return next(n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == name)


def _assigned(fn: ast.FunctionDef) -> dict[str, str]:
    """provider.x = v at the method's top level (the last one wins)."""
    return {
        s.targets[0].attr: ast.unparse(s.value)
        for s in fn.body
        if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Attribute)
    }


def _config_reads(fn: ast.FunctionDef) -> set[str]:
    """Fields read as plain `hf_config.x` attributes (an AttributeError when the config lacks them)."""
    return {
        n.attr
        for n in ast.walk(fn)
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "hf_config"
    }


def test_assignment_style_qwen3_cloned_for_helium(
    writable_checkout: Path, real_catalog: Catalog, tmp_path: Path
) -> None:
    # Helium has interleaved RoPE (its modeling file pairs even/odd channels) and no q/k norm; Qwen3Bridge sets
    # qk_layernorm = True and leaves rotary_interleaved to its default.
    fn, _, report = _clone(writable_checkout, real_catalog, "qwen3", "helium", _config("helium", tmp_path))
    settings = _assigned(fn)
    assert settings["rotary_interleaved"] == "True"
    assert settings["qk_layernorm"] == "False"
    line = next(r for r in report if "provider.rotary_interleaved = True" in r)
    assert "Qwen3Bridge gives False" in line and "Ernie45Bridge" in line


def test_constructor_style_mistral_cloned_for_stablelm(
    writable_checkout: Path, real_catalog: Catalog, tmp_path: Path
) -> None:
    # StableLM: LayerNorm with layer_norm_eps (no rms_norm_eps), RoPE on a quarter of the channels. MistralBridge
    # passes layernorm_epsilon=hf_config.rms_norm_eps to MistralModelProvider, whose default is RMSNorm.
    fn, texts, report = _clone(
        writable_checkout, real_catalog, "mistral", "stablelm", _config("stablelm", tmp_path)
    )
    call = next(
        n
        for n in ast.walk(fn)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "cls"
    )
    kwargs = {k.arg: ast.unparse(k.value) for k in call.keywords}
    assert kwargs["layernorm_epsilon"] == "hf_config.layer_norm_eps"  # read as the config spells it
    assert kwargs["rotary_percent"] == "hf_config.partial_rotary_factor"
    assert "rms_norm_eps" not in _config_reads(fn)
    # the norm type is a field default of the cloned provider dataclass: rewritten there
    provider = ast.parse(texts["src/megatron/bridge/models/stablelm/stablelm_provider.py"])
    cls = next(n for n in provider.body if isinstance(n, ast.ClassDef) and n.name == "StablelmModelProvider")
    defaults = {
        s.target.id: ast.unparse(s.value) for s in cls.body if isinstance(s, ast.AnnAssign) and s.value
    }
    assert defaults["normalization"] == "'LayerNorm'"
    assert any("provider.normalization" in r and "MistralModelProvider default" in r for r in report)


def test_kwargs_style_sarvam_moe_cloned_for_qwen2_moe(
    writable_checkout: Path, real_catalog: Catalog, tmp_path: Path
) -> None:
    # SarvamMoEBridge fills a dict (`config["x"] = v`) and returns SarvamMoEModelProvider(**config); Qwen2-MoE
    # routes by softmax, has no expert bias, a gated shared expert and q/k/v biases.
    config = _config("qwen2_moe", tmp_path)
    fn, _, report = _clone(writable_checkout, real_catalog, "sarvam_moe", "qwen2_moe", config)
    entries = {
        s.targets[0].slice.value: ast.unparse(s.value)
        for s in fn.body
        if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Subscript)
    }
    assert entries["moe_router_score_function"] == "'softmax'"
    assert entries["moe_router_enable_expert_bias"] == "False"
    assert entries["moe_shared_expert_gate"] == "True"
    assert entries["moe_shared_expert_intermediate_size"] == "hf_config.shared_expert_intermediate_size"
    assert entries["rotary_base"] == "rope_theta_from_hf(hf_config)"  # imported from transformers_compat
    # the family helper it calls is not cloned: its reads of fields Qwen2-MoE lacks are named, not hidden
    assert any(
        "TODO provider." in r and "sarvam/common.py (not cloned) reads num_shared_experts" in r
        for r in report
    )


def test_missing_field_reads_go_glm45_cloned_for_qwen2_moe(
    writable_checkout: Path, real_catalog: Catalog, tmp_path: Path
) -> None:
    # GLM45Bridge computes moe_layer_freq from first_k_dense_replace, which Qwen2MoeConfig lacks (AttributeError
    # at load), and routes by sigmoid with an expert bias.
    fn, _, _ = _clone(writable_checkout, real_catalog, "glm45", "qwen2_moe", _config("qwen2_moe", tmp_path))
    settings = _assigned(fn)
    assert "first_k_dense_replace" not in _config_reads(fn)
    assert settings["moe_layer_freq"] == "[1] * hf_config.num_hidden_layers"
    assert settings["moe_router_score_function"] == "'softmax'"
    assert settings["moe_router_enable_expert_bias"] == "False"
    assert settings["moe_shared_expert_gate"] == "True"
    assert settings["moe_shared_expert_intermediate_size"] == "hf_config.shared_expert_intermediate_size"


def test_a_layer_spec_with_qk_norms_goes_minimax_m2_cloned_for_mixtral(
    writable_checkout: Path, real_catalog: Catalog, tmp_path: Path
) -> None:
    # MiniMax-M2's spec builds full-dimension q/k norms; Mixtral has none (Megatron-Core refuses a q_layernorm
    # module with qk_layernorm off), routes by softmax and has no expert bias.
    fn, texts, report = _clone(
        writable_checkout, real_catalog, "minimax_m2", "mixtral", _config("mixtral", tmp_path)
    )
    bridge = texts["src/megatron/bridge/models/mixtral/mixtral_bridge.py"]
    settings = _assigned(fn)
    assert "transformer_layer_spec" not in settings
    imported = {
        a.asname or a.name for n in ast.parse(bridge).body if isinstance(n, ast.ImportFrom) for a in n.names
    }
    assert "mixtral_layer_spec" not in imported  # nor its import
    assert settings["qk_layernorm"] == "False"
    assert settings["moe_router_score_function"] == "'softmax'"
    assert settings["moe_router_enable_expert_bias"] == "False"
    assert settings["moe_ffn_hidden_size"] == "hf_config.intermediate_size"
    assert any(
        r.startswith("config: provider.transformer_layer_spec: removed MiniMaxM2Bridge's") for r in report
    )


def test_a_missing_field_read_moves_to_the_field_named_like_it_exaone_moe_cloned_for_hy_v3(
    checkout: Path, real_catalog: Catalog, tmp_path: Path
) -> None:
    # ExaoneMoeBridge reads routed_scaling_factor, which HYV3Config lacks; it has router_scaling_factor. With
    # HYV3Bridge left out of the teachers (as when the family is hidden), nothing teaches that field, so the
    # read moves to the field named like it; removing it would leave the default 1.0 and change the function.
    request = CloneRequest(
        "exaone_moe",
        "hyv3x",
        config=_config("hy_v3", tmp_path),
        model_type="hyv3x",
        hf_class="HYV3xForCausalLM",
        exclude_teachers=("HYV3Bridge",),
    )
    result = plan_clone(checkout, request, catalog=real_catalog)
    path = next(new for new, old in result.files.items() if old == result.source.bridge.path)
    text = next(e.after for e in result.plan.changes if e.path == path)
    fn = _method(text, result.names.bridge_class)
    # ExaoneMoeBridge builds its provider from constructor keywords
    keywords = {
        k.arg: ast.unparse(k.value) for n in ast.walk(fn) if isinstance(n, ast.Call) for k in n.keywords
    }
    assert keywords["moe_router_topk_scaling_factor"] == "hf_config.router_scaling_factor"
    assert "routed_scaling_factor" not in _config_reads(fn)
    line = next(r for r in result.plan.report if "provider.moe_router_topk_scaling_factor = " in r)
    assert "the config has router_scaling_factor, named like it" in line


def _qwen3_moe_clone(checkout: Path, catalog: Catalog, src: str, tmp_path: Path):
    """`src` cloned for transformers' default Qwen3-MoE config (norm_topk_prob=False) with Qwen3MoEBridge
    left out of the teachers, as when its family is hidden: no bridge reads norm_topk_prob then."""
    request = CloneRequest(
        src,
        "qwen3x_moe",
        config=_config("qwen3_moe", tmp_path),
        model_type="qwen3x_moe",
        hf_class="Qwen3xMoeForCausalLM",
        exclude_teachers=("Qwen3MoEBridge",),
    )
    result = plan_clone(checkout, request, catalog=catalog)
    path = next(new for new, old in result.files.items() if old == result.source.bridge.path)
    texts = {e.path: e.after for e in result.plan.changes if e.after is not None}
    return result, _method(texts[path], result.names.bridge_class), texts


def test_a_setting_src_gives_without_reading_the_field_becomes_the_read_olmoe_cloned_for_qwen3_moe(
    checkout: Path, real_catalog: Catalog, tmp_path: Path
) -> None:
    # OlMoEBridge writes moe_router_pre_softmax = True, the value norm_topk_prob=False implies, without reading
    # the field: the feature is expressed (no refusal) and the clone reads it (every Qwen3-MoE checkpoint).
    result, fn, texts = _qwen3_moe_clone(checkout, real_catalog, "olmoe", tmp_path)
    assert _assigned(fn)["moe_router_pre_softmax"] == "not hf_config.norm_topk_prob"
    line = next(r for r in result.plan.report if "provider.moe_router_pre_softmax = " in r)
    assert "OlMoEBridge gives True without reading norm_topk_prob" in line
    # OlMoE's recipe family goes into the existing qwen one: its package __init__s take the clone's exports
    created = {e.path for e in result.plan.changes if e.before is None}
    assert "src/megatron/bridge/recipes/qwen/__init__.py" not in created
    assert "qwen3x_moe_7b_pretrain_config" in texts["src/megatron/bridge/recipes/qwen/__init__.py"]


def test_a_read_of_the_field_goes_where_src_builds_its_provider_exaone_moe_cloned_for_qwen3_moe(
    checkout: Path, real_catalog: Catalog, tmp_path: Path
) -> None:
    # ExaoneMoeModelProvider's field default gives pre-softmax routing; a dataclass default cannot read the
    # config, so the read goes into the constructor call of provider_bridge, and the default stays.
    result, fn, texts = _qwen3_moe_clone(checkout, real_catalog, "exaone_moe", tmp_path)
    keywords = {
        k.arg: ast.unparse(k.value) for n in ast.walk(fn) if isinstance(n, ast.Call) for k in n.keywords
    }
    assert keywords["moe_router_pre_softmax"] == "not hf_config.norm_topk_prob"
    provider = next(t for p, t in texts.items() if p.endswith("qwen3x_moe_provider.py"))
    assert "moe_router_pre_softmax: bool = True" in provider


def test_an_if_that_only_computes_a_replaced_local_goes_exaone_moe_cloned_for_qwen3_moe(
    checkout: Path, real_catalog: Catalog, tmp_path: Path
) -> None:
    # ExaoneMoeBridge computes moe_layer_freq in an if/else whose last branch reads first_k_dense_replace,
    # which Qwen3MoeConfig lacks; the clone writes moe_layer_freq from num_hidden_layers, so the whole `if`
    # goes (an AttributeError at load otherwise), and so does `is_moe_layer`, which only that `if` read.
    result, fn, texts = _qwen3_moe_clone(checkout, real_catalog, "exaone_moe", tmp_path)
    assert "first_k_dense_replace" not in _config_reads(fn)
    assigned = {
        t.id for n in ast.walk(fn) if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)
    }
    assert not assigned & {"is_moe_layer", "mlp_layer_types", "first_dense_layer_count", "moe_layer_freq"}
    keywords = {
        k.arg: ast.unparse(k.value) for n in ast.walk(fn) if isinstance(n, ast.Call) for k in n.keywords
    }
    assert keywords["moe_layer_freq"] == "[1] * hf_config.num_hidden_layers"
    # the keyword the clone adds to the constructor call leaves the source's comments on the others
    path = next(new for new, old in result.files.items() if old == result.source.bridge.path)
    assert (
        "moe_router_topk=hf_config.num_experts_per_tok,  # Maps to num_experts_per_tok in HF" in texts[path]
    )


def test_a_setting_src_contradicts_reads_the_config_through_hf_pretrained_where_no_config_is_bound_qwen3_cloned_for_qwen3_moe(
    checkout: Path, real_catalog: Catalog, tmp_path: Path
) -> None:
    # Qwen3Bridge's provider_bridge never binds hf_config: the read goes through hf_pretrained.config, so the
    # bridge follows the field on every checkpoint (a literal would hold for this config only)
    result, fn, _ = _qwen3_moe_clone(checkout, real_catalog, "qwen3", tmp_path)
    assert _assigned(fn)["moe_router_pre_softmax"] == "not hf_pretrained.config.norm_topk_prob"


def test_a_removed_read_gives_megatron_cores_default_not_srcs_provider_default_exaone_moe_cloned_for_qwen3_moe(
    checkout: Path, real_catalog: Catalog, tmp_path: Path
) -> None:
    # ExaoneMoeBridge reads routed_scaling_factor (Qwen3-MoE has none: no scaling); dropping the keyword would
    # leave ExaoneMoeModelProvider's default 2.5, EXAONE's own scale, so the clone says None, Megatron-Core's.
    result, fn, _ = _qwen3_moe_clone(checkout, real_catalog, "exaone_moe", tmp_path)
    keywords = {
        k.arg: ast.unparse(k.value) for n in ast.walk(fn) if isinstance(n, ast.Call) for k in n.keywords
    }
    assert keywords["moe_router_topk_scaling_factor"] == "None"
    line = next(r for r in result.plan.report if "provider.moe_router_topk_scaling_factor = " in r)
    assert "not ExaoneMoeModelProvider's 2.5" in line
