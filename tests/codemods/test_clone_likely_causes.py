"""A failed smoke check on a clone names its likely cause, with the evidence.

The reports in fixtures/clone_family/smoke_reports/ are real `clone-family --config ... --smoke` runs of
this tool (venv-smoke, CPU, transformers 5.12.1 default configs; the log path removed): helium from llama
(logits), phi3 from llama (mapping), cohere from mistral (crash reading rms_norm_eps), olmo2 from qwen3
(pre- vs post-norms), mixtral from minimax_m2 (the cloned layer spec). The clone's files are stood in for
by SRC's own bridge module, which is what those clones set for the attributes checked here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyzers.catalog.records import Catalog
from analyzers.expressibility import Feature, expressibility
from analyzers.hf_config import load_spec
from analyzers.hf_names import collect_hf_names
from codemods.clone_family._likely_causes import likely_causes, set_names

pytestmark = pytest.mark.hf

REPORTS = Path(__file__).resolve().parents[2] / "fixtures/clone_family/smoke_reports"
MODELS = "src/megatron/bridge/models"


def _report(name: str) -> dict:
    return json.loads((REPORTS / f"{name}.json").read_text(encoding="utf-8"))


def _features(model_type: str, tmp_path: Path, catalog: Catalog) -> list[Feature]:
    from transformers import AutoConfig

    AutoConfig.for_model(model_type).save_pretrained(tmp_path / model_type)
    spec = load_spec(str(tmp_path / model_type))
    names = collect_hf_names(spec)
    supported, unsupported = expressibility(spec, catalog, names.names, names.shapes)
    return supported + unsupported


def _source(real_tree: Path, path: str, clone_path: str) -> dict[str, str]:
    return {clone_path: (real_tree / MODELS / path).read_text(encoding="utf-8")}


def test_logits_failure_names_the_interleaved_rope_the_clone_did_not_set(
    real_tree: Path, real_catalog: Catalog, tmp_path: Path
) -> None:
    report = _report("helium")
    assert [c["status"] for c in report["checks"]] == ["pass", "pass", "pass", "fail"]
    features = _features("helium", tmp_path, real_catalog)
    files = _source(real_tree, "llama/llama_bridge.py", f"{MODELS}/llama/helium_bridge.py")
    causes = likely_causes(report, features, files, "LlamaBridge")
    assert [c["check"] for c in causes] == ["logits"]
    assert causes[0]["cause"].startswith(
        "likely cause: interleaved RoPE: the clone does not set rotary_interleaved"
    )
    assert "modeling_helium.py: rotate_half pairs even and odd channels" in causes[0]["evidence"]
    assert any(e.startswith("fp32 |HF - Megatron| max 0.0562") for e in causes[0]["evidence"])
    # once the clone sets it, that is no longer the likely cause
    files = {**files, "x.py": "provider.rotary_interleaved = True\n"}
    causes = likely_causes(report, features, files, "LlamaBridge")
    assert not any("interleaved" in c["cause"] for c in causes)
    assert causes[0]["cause"].startswith("likely cause: none found")


def test_mapping_failure_names_the_unconsumed_hf_tensors_and_the_biases(
    real_tree: Path, real_catalog: Catalog, tmp_path: Path
) -> None:
    features = _features("phi3", tmp_path, real_catalog)
    files = _source(real_tree, "llama/llama_bridge.py", f"{MODELS}/llama/phi3_bridge.py")
    causes = likely_causes(_report("phi3"), features, files, "LlamaBridge")
    text = [c["cause"] for c in causes]
    assert text[0].startswith(
        "likely cause: no mapping takes HF model.layers.*.mlp.gate_up_proj.weight (4): fused gate/up MLP tensor "
        "is not expressible (a mapping that takes the dense MLP's fused gate/up tensor"
    )
    assert text[1].startswith("likely cause: no mapping takes HF model.layers.*.self_attn.qkv_proj.weight (4): fused "
                              "q/k/v tensor, which ")  # fmt: skip
    assert "Qwen3VLBridge" in text[1]  # a bridge whose registry splits a fused q/k/v tensor
    assert any(
        "decoder.layers.*.mlp.linear_fc1.bias (4)" in t and "does not set add_bias_linear" in t for t in text
    )
    assert any("linear_qkv.bias (4)" in t and "does not set add_qkv_bias" in t for t in text)
    assert {c["check"] for c in causes} == {"mapping"}


def test_crash_reading_a_missing_field_names_the_cloned_line(real_tree: Path) -> None:
    files = _source(real_tree, "mistral/mistral_bridge.py", f"{MODELS}/mistral/cohere_bridge.py")
    [cause] = likely_causes(_report("cohere"), [], files, "MistralBridge")
    assert cause["cause"] == (
        "likely cause: the clone reads hf_config.rms_norm_eps, which CohereConfig does not have: a provider "
        "setting copied from MistralBridge for a field the new config lacks"
    )
    assert (
        "cohere_bridge.py:76 in provider_bridge: layernorm_epsilon=hf_config.rms_norm_eps,"
        in cause["evidence"]
    )


def test_post_norm_model_and_a_cloned_layer_spec(
    real_tree: Path, real_catalog: Catalog, tmp_path: Path
) -> None:
    features = _features("olmo2", tmp_path, real_catalog)
    files = _source(real_tree, "qwen/qwen3_bridge.py", f"{MODELS}/qwen/olmo2_bridge.py")
    causes = [c["cause"] for c in likely_causes(_report("olmo2"), features, files, "Qwen3Bridge")]
    assert any(
        "Megatron builds pre-norms (decoder.layers.*.input_layernorm.weight (4)) where HF has post-norms "
        "(model.layers.*.post_feedforward_layernorm.weight)" in c
        for c in causes
    )
    files = {f"{MODELS}/minimax_m2/mixtral_provider.py": "", f"{MODELS}/minimax_m2/mixtral_bridge.py": ""}
    [cause] = likely_causes(_report("mixtral"), [], files, "MiniMaxM2Bridge")
    assert cause["cause"].startswith(
        "likely cause: the clone's mixtral_provider (copied from MiniMaxM2Bridge)"
    )
    assert cause["evidence"][0].startswith("ValueError: spec sets q_layernorm=")


def test_a_passing_report_has_no_cause_and_set_names_reads_every_style() -> None:
    assert likely_causes({"passed": True, "checks": []}, [], {}, "X") == []
    names = set_names({"a.py": "provider.a = 1\nP(b=2)\nd = {'c': 3}\nclass K:\n    e: bool = True\n"})
    assert {"a", "b", "c", "e"} <= names
