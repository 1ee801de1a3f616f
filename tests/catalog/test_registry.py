"""The static registry evaluator on the pinned real tree (expected sets written from its source by hand)
and on small synthetic modules for the shapes the real tree uses."""

from __future__ import annotations

import ast
import textwrap
import time
from pathlib import Path

import pytest

from analyzers.catalog.modules import ModuleLoader
from analyzers.catalog.records import MappingRegistry
from analyzers.catalog.registry import evaluate_registry
from analyzers.realtree import ensure_tree

L = "model.layers.*."  # HF layer prefix used by most text bridges
D = "decoder.layers.*."  # Megatron layer prefix


def _mapping_classes(modules: list) -> set[str]:
    """Classes deriving (by base name) from MegatronParamMapping anywhere in the tree."""
    names = {"MegatronParamMapping"}
    classes = [c for m in modules for c in ast.walk(m.tree) if isinstance(c, ast.ClassDef)]
    changed = True
    while changed:
        changed = False
        for cls in classes:
            if cls.name in names:
                continue
            for base in cls.bases:
                base = base.value if isinstance(base, ast.Subscript) else base
                if getattr(base, "id", getattr(base, "attr", None)) in names:
                    names.add(cls.name)
                    changed = True
                    break
    return names


@pytest.fixture(scope="module")
def real() -> dict:
    root = ensure_tree()
    loader = ModuleLoader(root)
    paths = sorted(
        p for part in ("models", "diffusion") for p in (root / "src/megatron/bridge" / part).rglob("*.py")
    )
    t0 = time.perf_counter()
    modules = [m for p in paths if (m := loader.by_path(p.relative_to(root).as_posix())) is not None]
    parse_s = time.perf_counter() - t0
    mapping = _mapping_classes(modules)
    bridges = [
        (m, c)
        for m in modules
        for c in ast.walk(m.tree)
        if isinstance(c, ast.ClassDef)
        and c.name != "MegatronModelBridge"
        and any(isinstance(f, ast.FunctionDef) and f.name == "mapping_registry" for f in c.body)
    ]
    t0 = time.perf_counter()
    registries = {c.name: evaluate_registry(c, m, loader, mapping) for m, c in bridges}
    eval_s = time.perf_counter() - t0
    assert len(registries) == len(bridges), "bridge class names are unique"
    return {
        "registries": registries,
        "parse_s": parse_s,
        "eval_s": eval_s,
        "mapping": mapping,
        "loader": loader,
    }


def _set(registry: MappingRegistry, conditional: bool | None = False) -> set[tuple]:
    """(class, megatron, hf items) of the records; conditional=None takes all."""
    return {
        (m.mapping_class, m.megatron_param, tuple(m.hf_params.items()))
        for m in registry.mappings
        if conditional is None or bool(m.condition) == conditional
    }


def _auto(pairs: dict[str, str], cls: str = "AutoMapping") -> set[tuple]:
    return {(cls, meg, (("hf_param", hf),)) for meg, hf in pairs.items()}


def _qkv(meg: str, prefix: str, suffix: str = "weight", cls: str = "QKVMapping") -> tuple:
    return (cls, meg, tuple((r, f"{prefix}self_attn.{r}_proj.{suffix}") for r in "qkv"))


def _gated(meg: str, prefix: str, cls: str = "GatedMLPMapping") -> tuple:
    return (cls, meg, (("gate", f"{prefix}gate_proj.weight"), ("up", f"{prefix}up_proj.weight")))


# ---------------------------------------------------------------------------------------------- real tree
def test_qwen3_dict_plus_loop_and_specials(real: dict) -> None:
    reg = real["registries"]["Qwen3Bridge"]
    mtp = "mtp.layers.0.mtp_model_layer."
    expected = _auto(
        {
            "embedding.word_embeddings.weight": "model.embed_tokens.weight",
            "output_layer.weight": "lm_head.weight",
            "decoder.final_layernorm.weight": "model.norm.weight",
            D + "self_attention.linear_qkv.layer_norm_weight": L + "input_layernorm.weight",
            D + "mlp.linear_fc1.layer_norm_weight": L + "post_attention_layernorm.weight",
            D + "self_attention.q_layernorm.weight": L + "self_attn.q_norm.weight",
            D + "self_attention.k_layernorm.weight": L + "self_attn.k_norm.weight",
            D + "self_attention.linear_proj.weight": L + "self_attn.o_proj.weight",
            D + "mlp.linear_fc2.weight": L + "mlp.down_proj.weight",
            "mtp.layers.0.eh_proj.weight": "mtp.fc.weight",
            "mtp.layers.0.enorm.weight": "mtp.pre_fc_norm_embedding.weight",
            "mtp.layers.0.hnorm.weight": "mtp.pre_fc_norm_hidden.weight",
            "mtp.layers.0.final_layernorm.weight": "mtp.norm.weight",
            mtp + "self_attention.linear_qkv.layer_norm_weight": "mtp.layers.0.input_layernorm.weight",
            mtp + "self_attention.q_layernorm.weight": "mtp.layers.0.self_attn.q_norm.weight",
            mtp + "self_attention.k_layernorm.weight": "mtp.layers.0.self_attn.k_norm.weight",
            mtp + "self_attention.linear_proj.weight": "mtp.layers.0.self_attn.o_proj.weight",
            mtp + "mlp.linear_fc1.layer_norm_weight": "mtp.layers.0.post_attention_layernorm.weight",
            mtp + "mlp.linear_fc2.weight": "mtp.layers.0.mlp.down_proj.weight",
        }
    ) | {
        _qkv(D + "self_attention.linear_qkv.weight", L),
        _gated(D + "mlp.linear_fc1.weight", L + "mlp."),
        _qkv("mtp.layers.*.mtp_model_layer.self_attention.linear_qkv.weight", "mtp.layers.*."),
        _gated(mtp + "mlp.linear_fc1.weight", "mtp.layers.0.mlp."),
    }
    assert len(reg.mappings) == 23  # 19 dict entries + 4 special mappings
    assert _set(reg, None) == expected
    assert reg.unresolved == [] and reg.inherits is None
    first = reg.mappings[0]
    assert first.location.path.endswith("qwen/qwen3_bridge.py") and first.via is None


def test_qwen2_has_qkv_bias(real: dict) -> None:
    reg = real["registries"]["Qwen2Bridge"]
    expected = _auto(
        {
            "embedding.word_embeddings.weight": "model.embed_tokens.weight",
            "output_layer.weight": "lm_head.weight",
            "decoder.final_layernorm.weight": "model.norm.weight",
            D + "self_attention.linear_qkv.layer_norm_weight": L + "input_layernorm.weight",
            D + "mlp.linear_fc1.layer_norm_weight": L + "post_attention_layernorm.weight",
            D + "self_attention.linear_proj.weight": L + "self_attn.o_proj.weight",
            D + "mlp.linear_fc2.weight": L + "mlp.down_proj.weight",
        }
    ) | {
        _qkv(D + "self_attention.linear_qkv.weight", L),
        _qkv(D + "self_attention.linear_qkv.bias", L, "bias"),
        _gated(D + "mlp.linear_fc1.weight", L + "mlp."),
    }
    assert len(reg.mappings) == 10 and _set(reg, None) == expected and not reg.unresolved


def test_llama(real: dict) -> None:
    reg = real["registries"]["LlamaBridge"]
    expected = _auto(
        {
            "embedding.word_embeddings.weight": "model.embed_tokens.weight",
            "output_layer.weight": "lm_head.weight",
            "decoder.final_layernorm.weight": "model.norm.weight",
            D + "self_attention.linear_qkv.layer_norm_weight": L + "input_layernorm.weight",
            D + "input_layernorm.weight": L + "input_layernorm.weight",
            D + "mlp.linear_fc1.layer_norm_weight": L + "post_attention_layernorm.weight",
            D + "pre_mlp_layernorm.weight": L + "post_attention_layernorm.weight",
            D + "self_attention.linear_proj.weight": L + "self_attn.o_proj.weight",
            D + "mlp.linear_fc2.weight": L + "mlp.down_proj.weight",
        }
    ) | {_qkv(D + "self_attention.linear_qkv.weight", L), _gated(D + "mlp.linear_fc1.weight", L + "mlp.")}
    assert len(reg.mappings) == 11 and _set(reg, None) == expected and not reg.unresolved


def test_qwen3_moe_experts(real: dict) -> None:
    reg = real["registries"]["Qwen3MoEBridge"]
    expected = _auto(
        {
            "embedding.word_embeddings.weight": "model.embed_tokens.weight",
            "output_layer.weight": "lm_head.weight",
            "decoder.final_layernorm.weight": "model.norm.weight",
            D + "self_attention.linear_qkv.layer_norm_weight": L + "input_layernorm.weight",
            D + "mlp.router.weight": L + "mlp.gate.weight",
            D + "pre_mlp_layernorm.weight": L + "post_attention_layernorm.weight",
            D + "self_attention.q_layernorm.weight": L + "self_attn.q_norm.weight",
            D + "self_attention.k_layernorm.weight": L + "self_attn.k_norm.weight",
            D + "self_attention.linear_proj.weight": L + "self_attn.o_proj.weight",
            D + "mlp.experts.linear_fc2.weight*": L + "mlp.experts.*.down_proj.weight",
            D + "mlp.experts.local_experts.*.linear_fc2.weight": L + "mlp.experts.*.down_proj.weight",
        }
    ) | {
        _qkv(D + "self_attention.linear_qkv.weight", L),
        _gated(D + "mlp.experts.linear_fc1.weight*", L + "mlp.experts.*."),
        _gated(D + "mlp.experts.local_experts.*.linear_fc1.weight", L + "mlp.experts.*."),
    }
    assert len(reg.mappings) == 14 and _set(reg, None) == expected and not reg.unresolved


def test_deepseek_v3_common_helper_from_another_module(real: dict) -> None:
    reg = real["registries"]["DeepSeekV3Bridge"]
    a = D + "self_attention."
    expected = _auto(
        {
            "embedding.word_embeddings.weight": "model.embed_tokens.weight",
            D + "input_layernorm.weight": L + "input_layernorm.weight",
            a + "linear_proj.weight": L + "self_attn.o_proj.weight",
            D + "pre_mlp_layernorm.weight": L + "post_attention_layernorm.weight",
            D + "mlp.linear_fc1.layer_norm_weight": L + "post_attention_layernorm.weight",
            a + "linear_kv_down_proj.weight": L + "self_attn.kv_a_proj_with_mqa.weight",
            a + "linear_kv_up_proj.weight": L + "self_attn.kv_b_proj.weight",
            a + "linear_kv_up_proj.layer_norm_weight": L + "self_attn.kv_a_layernorm.weight",
            a + "kv_layernorm.weight": L + "self_attn.kv_a_layernorm.weight",
            D + "mlp.linear_fc2.weight": L + "mlp.down_proj.weight",
            D + "mlp.router.weight": L + "mlp.gate.weight",
            D + "mlp.router.expert_bias": L + "mlp.gate.e_score_correction_bias",
            D + "mlp.experts.linear_fc2.weight*": L + "mlp.experts.*.down_proj.weight",
            D + "mlp.experts.local_experts.*.linear_fc2.weight": L + "mlp.experts.*.down_proj.weight",
            D + "mlp.shared_experts.linear_fc2.weight": L + "mlp.shared_experts.down_proj.weight",
            "decoder.final_layernorm.weight": "model.norm.weight",
            "output_layer.weight": "lm_head.weight",
            a + "linear_q_down_proj.weight": L + "self_attn.q_a_proj.weight",
            a + "linear_q_up_proj.weight": L + "self_attn.q_b_proj.weight",
            a + "linear_q_up_proj.layer_norm_weight": L + "self_attn.q_a_layernorm.weight",
            a + "q_layernorm.weight": L + "self_attn.q_a_layernorm.weight",
            a + "linear_q_proj.weight": L + "self_attn.q_proj.weight",
        }
    ) | {
        _gated(D + "mlp.linear_fc1.weight", L + "mlp."),
        _gated(D + "mlp.experts.linear_fc1.weight*", L + "mlp.experts.*."),
        _gated(D + "mlp.experts.local_experts.*.linear_fc1.weight", L + "mlp.experts.*."),
        _gated(D + "mlp.shared_experts.linear_fc1.weight", L + "mlp.shared_experts."),
    }
    assert _set(reg) == expected  # 22 dict entries + 4 gated MLPs, all unconditional
    assert {m.via for m in reg.mappings} == {"get_common_mapping_list"}
    assert all(m.location.path.endswith("deepseek/common.py") for m in reg.mappings)
    # MTP: `for mtp_layer in range(num_mtp_layers)` with the count from the HF config. Names without a layer
    # wildcard come out whole (conditional); the others depend on the loop variable and are unresolved.
    conditional = [m for m in reg.mappings if m.condition]
    assert ("AutoMapping", "mtp.final_layernorm.weight", (("hf_param", "model.norm.weight"),)) in _set(
        reg, True
    )
    assert all(
        "hf_config is not None" in m.condition and "range(num_mtp_layers)" in m.condition for m in conditional
    )
    assert len(reg.unresolved) == 9  # 1 loop over the dict (22 entries) + 4 AutoMapping + 4 GatedMLPMapping
    assert all(
        "mtp_layer" in u.reason and u.location.path.endswith("deepseek/common.py") for u in reg.unresolved
    )


def test_kimi_uses_helper_without_config_and_vl_rewrites_mapping_attributes(real: dict) -> None:
    kimi, vl = real["registries"]["KimiK2Bridge"], real["registries"]["KimiK25VLBridge"]
    assert len(kimi.mappings) == 26 and not kimi.unresolved  # hf_config=None: the MTP branch is not taken
    assert not any(m.condition for m in kimi.mappings)
    vl_set = _set(vl)
    assert ("AutoMapping", "language_model.embedding.word_embeddings.weight",
            (("hf_param", "language_model.model.embed_tokens.weight"),)) in vl_set  # fmt: skip
    assert _gated("language_model." + D + "mlp.linear_fc1.weight", "language_model." + L + "mlp.") in vl_set
    assert ("ReplicatedMapping", "vision_tower.**", (("hf_param", "vision_tower.**"),)) in vl_set
    assert len(vl.mappings) == 28


def test_gemma3_vl_reversed_dict_and_conditional_vision_name(real: dict) -> None:
    reg = real["registries"]["Gemma3VLBridge"]
    lm, hf = "language_model.decoder.layers.*.", "language_model.model.layers.*."
    expected = _auto(
        {
            "language_model.embedding.word_embeddings.weight": "language_model.model.embed_tokens.weight",
            lm + "self_attention.linear_qkv.layer_norm_weight": hf + "input_layernorm.weight",
            lm + "self_attention.q_layernorm.weight": hf + "self_attn.q_norm.weight",
            lm + "self_attention.k_layernorm.weight": hf + "self_attn.k_norm.weight",
            lm + "self_attention.linear_proj.weight": hf + "self_attn.o_proj.weight",
            lm + "self_attention.linear_proj.post_layernorm.weight": hf + "post_attention_layernorm.weight",
            lm + "mlp.linear_fc1.layer_norm_weight": hf + "pre_feedforward_layernorm.weight",
            lm + "mlp.linear_fc2.weight": hf + "mlp.down_proj.weight",
            lm + "mlp.linear_fc2.post_layernorm.weight": hf + "post_feedforward_layernorm.weight",
            "language_model.decoder.final_layernorm.weight": "language_model.model.norm.weight",
            "multi_modal_projector.mm_soft_embed_norm.weight": "multi_modal_projector.mm_soft_emb_norm.weight",
            "multi_modal_projector.proj.weight": "multi_modal_projector.mm_input_projection_weight",
        }
    ) | {
        _qkv(lm + "self_attention.linear_qkv.weight", hf),
        _gated(lm + "mlp.linear_fc1.weight", hf + "mlp."),
    }
    assert _set(reg) == expected
    vision = {
        m.hf_params["hf_param"]: m.condition for m in reg.mappings if m.megatron_param == "vision_tower.**"
    }
    assert set(vision) == {"vision_tower.**", "vision_tower.vision_model.**"}
    assert vision["vision_tower.vision_model.**"].startswith("state_source is not None and any(")
    assert "not (state_source is not None)" in vision["vision_tower.**"]
    assert len(reg.mappings) == 16 and not reg.unresolved  # permute_dims=(1, 0) is not an HF name


def test_glm45_conditionals_from_config_and_helper_returns(real: dict) -> None:
    reg = real["registries"]["GLM45Bridge"]
    e = D + "mlp.experts."
    conditional = {(m.mapping_class, m.megatron_param, m.hf_params["hf_param"] if "hf_param" in m.hf_params else None,
                    m.condition) for m in reg.mappings if m.condition}  # fmt: skip
    suffix = 'hf_source is not None and hf_source.has_glob(f"*{base_name}.weight")'
    assert conditional == {
        ("FusedGatedExpertMapping", e + "linear_fc1.weight*", L + "mlp.experts.gate_up_proj.weight",
         f"use_fused_experts and {suffix}"),
        ("FusedGatedExpertMapping", e + "linear_fc1.weight*", L + "mlp.experts.gate_up_proj",
         f"use_fused_experts and not ({suffix})"),
        ("FusedExpertMapping", e + "linear_fc2.weight*", L + "mlp.experts.down_proj.weight",
         f"use_fused_experts and {suffix}"),
        ("FusedExpertMapping", e + "linear_fc2.weight*", L + "mlp.experts.down_proj",
         f"use_fused_experts and not ({suffix})"),
        ("GatedMLPMapping", e + "linear_fc1.weight*", None, "not (use_fused_experts)"),
        ("AutoMapping", e + "linear_fc2.weight*", L + "mlp.experts.*.down_proj.weight", "not (use_fused_experts)"),
    }  # fmt: skip
    assert len(reg.mappings) == 25  # 3 + 12 dict entries, 4 special, 6 conditional
    assert len(reg.unresolved) == 13 and all("mtp_layer" in u.reason for u in reg.unresolved)


def test_gpt_oss_custom_mapping_classes(real: dict) -> None:
    reg = real["registries"]["GPTOSSBridge"]
    x = D + "mlp.experts."
    h = L + "mlp.experts."
    expected = _auto({
        "embedding.word_embeddings.weight": "model.embed_tokens.weight",
        "decoder.final_layernorm.weight": "model.norm.weight",
        "output_layer.weight": "lm_head.weight",
        D + "self_attention.linear_qkv.layer_norm_weight": L + "input_layernorm.weight",
        D + "self_attention.linear_proj.bias": L + "self_attn.o_proj.bias",
        D + "self_attention.linear_proj.weight": L + "self_attn.o_proj.weight",
        D + "self_attention.core_attention.softmax_offset": L + "self_attn.sinks",
        D + "pre_mlp_layernorm.weight": L + "post_attention_layernorm.weight",
        D + "mlp.router.bias": L + "mlp.router.bias",
        D + "mlp.router.weight": L + "mlp.router.weight",
    }) | {
        _qkv(D + "self_attention.linear_qkv.weight", L),
        _qkv(D + "self_attention.linear_qkv.bias", L, "bias"),
    } | _auto({x + "linear_fc2.weight*": h + "down_proj", x + "linear_fc2.bias*": h + "down_proj_bias",
               x + "local_experts.*.linear_fc2.weight": h + "down_proj",
               x + "local_experts.*.linear_fc2.bias": h + "down_proj_bias"}, "GPTOSSMLPDownProjMapping") | _auto(
        {x + "linear_fc1.weight*": h + "gate_up_proj", x + "linear_fc1.bias*": h + "gate_up_proj_bias",
         x + "local_experts.*.linear_fc1.weight": h + "gate_up_proj",
         x + "local_experts.*.linear_fc1.bias": h + "gate_up_proj_bias"}, "GPTOSSMLPGateUpProjMapping")  # fmt: skip
    assert len(reg.mappings) == 20 and _set(reg, None) == expected and not reg.unresolved


def test_super_registry_is_inherited_not_included(real: dict) -> None:
    mimo = real["registries"]["MimoBridge"]
    assert mimo.inherits == "Qwen2Bridge"
    assert all(m.megatron_param.startswith("mtp.layers.*.") for m in mimo.mappings)
    assert len(mimo.mappings) == 18  # 4 norms/projections + 2 x (4 AutoMapping + 2 QKV + 1 gated MLP)
    assert real["registries"]["NemotronOmniBridge"].inherits == "NemotronVLBridge"


def test_every_registry_yields_something(real: dict) -> None:
    empty = [n for n, r in real["registries"].items() if not r.mappings and not r.unresolved]
    assert empty == []
    assert len(real["registries"]) >= 58
    for name, reg in real["registries"].items():
        for m in reg.mappings:
            assert isinstance(m.megatron_param, str) and m.hf_params, (name, m)
            assert all(isinstance(v, str) for v in m.hf_params.values()), (name, m)


def test_evaluation_is_cheap_next_to_parsing(real: dict) -> None:
    # measured: about 0.3-0.6 s for all 60 registries on a busy 2-core machine, parse about 6-14 s there
    assert real["eval_s"] < max(0.5, 0.25 * real["parse_s"])


# ---------------------------------------------------------------------------------------------- synthetic
SHAPES = {
    "src/megatron/bridge/models/conversion/param_mapping.py": """
        class MegatronParamMapping:
            def __init__(self, megatron_param: str, hf_param):
                self.megatron_param = megatron_param
        class AutoMapping(MegatronParamMapping):
            def __init__(self, megatron_param: str, hf_param: str, permute_dims: tuple | None = None):
                super().__init__(megatron_param, hf_param)
        class QKVMapping(MegatronParamMapping):
            def __init__(self, megatron_param: str, q: str, k: str, v: str):
                super().__init__(megatron_param, {"q": q, "k": k, "v": v})
    """,
    "src/megatron/bridge/models/fam/common.py": """
        from megatron.bridge.models.conversion.param_mapping import AutoMapping
        PREFIX = "model."
        EXTRA = {"a.weight": PREFIX + "a.weight"}
        def shared(prefix="decoder.", hf_config=None):
            out = [AutoMapping(f"{prefix}x.weight", "model.x.weight")]
            if hf_config is not None:
                out.append(AutoMapping("mtp.weight", "model.mtp.weight"))
            return out
    """,
    "src/megatron/bridge/models/fam/fam_bridge.py": """
        from megatron.bridge.models.conversion.param_mapping import AutoMapping, QKVMapping
        from megatron.bridge.models.conversion.param_mapping import AutoMapping as AM
        from megatron.bridge.models.fam.common import EXTRA, shared
        from megatron.bridge.models.conversion.mapping_registry import MegatronMappingRegistry
        import outside

        class LocalMapping(AutoMapping):
            pass

        class Base:
            def mapping_registry(self):
                return MegatronMappingRegistry(AM("base.weight", "base.weight"))

        class FamBridge(Base):
            def _suffix(self):
                if self.hf_config.tied:
                    return ".tied"
                return ""

            def mapping_registry(self):
                base = {"e.weight": "model.e.weight"} | EXTRA
                more = {**base, "f.weight": "model.f.weight"}
                out = [AutoMapping(megatron_param=k, hf_param=v) for k, v in more.items()]
                for i in range(2):
                    out.append(LocalMapping(megatron_param=f"layers.{i}.w", hf_param=f"h.{i}.w".replace("h.", "model.h.")))
                for name, hf in (("g", "model.g"), ("h", "model.h")):
                    out += [AM(name + ".bias", hf + ".bias")]
                out.extend(shared(hf_config=self.hf_config))
                name = "model.o" if self.hf_config.x else "model.p"
                out.append(AutoMapping("o.weight", name + self._suffix()))
                out.append(QKVMapping("qkv", q="model.q", k="model.k", v="model.v"))
                for j in range(self.hf_config.n):
                    out.append(AutoMapping(f"mtp.{j}.w", "model.mtp.w"))
                out.extend(outside.more_mappings())
                if self.hf_config.early:
                    return MegatronMappingRegistry(*out)
                out.append(AutoMapping("late.weight", "model.late.weight"))
                return MegatronMappingRegistry(*super().mapping_registry().mappings, *out)
    """,
}


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> MappingRegistry:
    root = tmp_path_factory.mktemp("tree")
    for rel, text in SHAPES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text))
    loader = ModuleLoader(root)
    module = loader.by_path("src/megatron/bridge/models/fam/fam_bridge.py")
    return evaluate_registry(
        module.classes["FamBridge"], module, loader, {"MegatronParamMapping", "AutoMapping", "QKVMapping"}
    )


def _find(reg: MappingRegistry, megatron: str) -> list:
    return [m for m in reg.mappings if m.megatron_param == megatron]


def test_shapes_dicts_comprehensions_loops_and_aliases(shapes: MappingRegistry) -> None:
    plain = {(m.megatron_param, m.hf_list[0]) for m in shapes.mappings if m.condition is None}
    assert {("e.weight", "model.e.weight"), ("a.weight", "model.a.weight"), ("f.weight", "model.f.weight"),
            ("layers.0.w", "model.h.0.w"), ("layers.1.w", "model.h.1.w"), ("g.bias", "model.g.bias"),
            ("h.bias", "model.h.bias"), ("decoder.x.weight", "model.x.weight"), ("qkv", "model.q")} <= plain  # fmt: skip
    assert _find(shapes, "layers.0.w")[0].mapping_class == "LocalMapping"
    assert _find(shapes, "g.bias")[0].mapping_class == "AutoMapping"  # alias AM resolved
    assert _find(shapes, "g.bias")[0].hf_params == {
        "hf_param": "model.g.bias"
    }  # positional named by signature
    assert _find(shapes, "qkv")[0].hf_params == {"q": "model.q", "k": "model.k", "v": "model.v"}
    assert _find(shapes, "decoder.x.weight")[0].via == "shared"


def test_shapes_conditions(shapes: MappingRegistry) -> None:
    assert _find(shapes, "mtp.weight")[0].condition == "hf_config is not None"
    o = {m.hf_list[0]: m.condition for m in _find(shapes, "o.weight")}
    assert o == {
        "model.o.tied": "self.hf_config.x and self.hf_config.tied",
        "model.o": "self.hf_config.x and not (self.hf_config.tied)",
        "model.p.tied": "not (self.hf_config.x) and self.hf_config.tied",
        "model.p": "not (self.hf_config.x) and not (self.hf_config.tied)",
    }
    assert _find(shapes, "late.weight")[0].condition == "not (self.hf_config.early)"
    assert _find(shapes, "e.weight")[0].condition is None  # returned on both paths


def test_shapes_unresolved_and_inherited(shapes: MappingRegistry) -> None:
    reasons = sorted(u.reason for u in shapes.unresolved)
    assert len(reasons) == 2
    assert reasons[0].startswith("megatron_param of AutoMapping from a runtime value: mtp.{j}.w")
    assert reasons[1].startswith("registry entry from a runtime value: outside.more_mappings()")
    assert shapes.inherits == "Base"
    assert not _find(shapes, "base.weight")  # the base's mappings are merged by the catalog builder


def test_no_mapping_registry_gives_empty(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src/m.py").write_text("class B:\n    def provider_bridge(self):\n        return 1\n")
    loader = ModuleLoader(tmp_path)
    module = loader.by_path("src/m.py")
    assert evaluate_registry(module.classes["B"], module, loader, set()) == MappingRegistry()


def test_runaway_loops_are_bounded(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src/m.py").write_text(
        textwrap.dedent("""
        def rec(n):
            return rec(n + 1)
        class B:
            def mapping_registry(self):
                out = []
                for i in range(10 ** 6):
                    out.append(AutoMapping(f"x.{i}", "y"))
                while True:
                    rec(0)
                return MegatronMappingRegistry(*out)
    """)
    )
    loader = ModuleLoader(tmp_path)
    module = loader.by_path("src/m.py")
    t0 = time.perf_counter()
    reg = evaluate_registry(module.classes["B"], module, loader, {"AutoMapping"})
    assert time.perf_counter() - t0 < 5
    assert reg.unresolved and any("nested too deep" in u.reason for u in reg.unresolved)
