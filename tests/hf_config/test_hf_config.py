"""CONFIG forms -> ModelSpec on the fixture configs (fields of published config.json files)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from analyzers.errors import ConfigError
from analyzers.hf_config import (
    architecture_fields,
    config_quantization,
    detect_blocks,
    load_spec,
    unknown_fields,
)

CONFIGS = Path(__file__).resolve().parents[2] / "fixtures" / "configs"


def fields(spec) -> dict[str, tuple[object, str]]:
    return {f.name: (f.value, f.where) for f in architecture_fields(spec)}


def test_llm_fields_live_at_top_level() -> None:
    spec = load_spec(str(CONFIGS / "llama-3.1-8b" / "config.json"))
    assert (spec.origin, spec.model_type, spec.kind) == ("file", "llama", "llm")
    assert spec.architectures == ["LlamaForCausalLM"]
    got = fields(spec)
    assert got["num_layers"] == (32, "top level")
    assert got["num_key_value_heads"] == (8, "top level")
    assert got["rope_theta"] == (500000.0, "top level")
    assert got["rope_scaling_type"] == ("llama3", "top level")
    assert got["norm_eps"] == (1e-05, "top level")
    assert "head_dim" not in got  # Llama-3.1 derives it; the config does not set it


def test_vlm_fields_live_in_text_config_and_tie_is_read_at_top_level() -> None:
    spec = load_spec(str(CONFIGS / "qwen3-vl-8b-instruct"))  # a directory with config.json
    assert (spec.origin, spec.kind, spec.tie_word_embeddings) == ("dir", "vlm", False)
    got = fields(spec)
    assert got["hidden_size"] == (4096, "text_config")
    assert got["rope_theta"] == (5000000, "text_config")
    blocks = detect_blocks(spec)
    assert blocks["vision"]["model_type"] == "qwen3_vl"
    assert blocks["vision"]["num_layers"] == 27


def test_moe_mla_mtp_and_fp8_of_deepseek_v3() -> None:
    spec = load_spec(str(CONFIGS / "deepseek-v3" / "config.json"))
    blocks = detect_blocks(spec)
    assert blocks["moe"]["n_routed_experts"] == 256
    assert blocks["moe"]["first_k_dense_replace"] == 3
    assert blocks["shared_experts"] == {"n_shared_experts": 1}
    assert blocks["mla"]["kv_lora_rank"] == 512
    assert blocks["mtp"] == {"num_nextn_predict_layers": 1}
    assert config_quantization(spec)["quant_method"] == "fp8"
    assert "qk_norm" not in blocks


def test_hybrid_linear_attention_and_sliding_windows() -> None:
    nemotron = detect_blocks(load_spec(str(CONFIGS / "nemotron-h-8b-base" / "config.json")))
    assert nemotron["mamba"]["hybrid_override_pattern"].count("*") == 4
    qwen_next = detect_blocks(load_spec(str(CONFIGS / "qwen3-next-80b-a3b-instruct" / "config.json")))
    assert qwen_next["linear_attention"]["full_attention_interval"] == 4
    assert qwen_next["shared_experts"] == {"shared_expert_intermediate_size": 512}
    gpt_oss = detect_blocks(load_spec(str(CONFIGS / "gpt-oss-20b" / "config.json")))
    assert gpt_oss["sliding_window"]["layer_types"] == {"sliding_attention": 12, "full_attention": 12}
    # Qwen2.5 declares a window but turns it off
    assert "sliding_window" not in detect_blocks(
        load_spec(str(CONFIGS / "qwen2.5-7b-instruct" / "config.json"))
    )


def test_unknown_fields_are_those_no_bridge_reads() -> None:
    spec = load_spec(str(CONFIGS / "gpt-oss-20b" / "config.json"))
    known = {"hidden_size", "num_hidden_layers", "num_local_experts", "sliding_window", "rope_scaling"}
    names = {f.name for f in unknown_fields(spec, known)}
    assert "swiglu_limit" in names and "experts_per_token" in names
    assert not names & known
    assert "transformers_version" not in names and "eos_token_id" not in names


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "config is a JSON list, not an object"),
        ('{"hidden_size": 8}', "config has no model_type"),
    ],
)
def test_bad_configs_give_one_line_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message) as info:
        load_spec(str(path))
    assert "\n" not in str(info.value)


def test_missing_paths(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file or directory"):
        load_spec(str(tmp_path / "nope" / "config.json"))
    with pytest.raises(ConfigError, match="model directory has no config.json"):
        load_spec(str(tmp_path))


def test_repo_id_offline_miss_is_a_quick_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    start = time.monotonic()
    with pytest.raises(ConfigError, match="not in the local hub cache and HF_HUB_OFFLINE is set"):
        load_spec("bridgesmith-test/no-such-model")
    assert time.monotonic() - start < 10


def test_repo_id_from_the_hub_cache_offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A hub cache laid out as huggingface_hub lays it out resolves with no network."""
    import huggingface_hub.constants as hub_constants

    repo = tmp_path / "models--acme--tiny-qwen3"
    snapshot = repo / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    (snapshot / "config.json").write_text((CONFIGS / "qwen3-8b" / "config.json").read_text())
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    spec = load_spec("acme/tiny-qwen3")
    assert (spec.origin, spec.model_type, spec.model_dir) == ("hub", "qwen3", str(snapshot))


@pytest.mark.hf
def test_from_transformers_default_config() -> None:
    spec = load_spec(from_transformers="qwen3_moe")
    assert spec.origin == "transformers" and spec.model_type == "qwen3_moe"
    assert spec.architectures == ["Qwen3MoeForCausalLM"] and spec.architectures_inferred
    assert "moe" in detect_blocks(spec)
    json.dumps(spec.config)  # plain JSON, as inspect --format json prints it
    with pytest.raises(ConfigError, match="does not know model_type 'no_such_arch'"):
        load_spec(from_transformers="no_such_arch")
