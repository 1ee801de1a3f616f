"""Toy configs of the hybrid families (Mamba-2 mixers, gated delta net): pure dict work, no torch."""

from codemods.smoke._toy_config import _PUBLISHED_OVERRIDES, MAMBA_TOY_TIME_STEP_MIN, toy_config_dict

# Nemotron-H-8B's shape (config.json values; the pattern is its first 26 layers, repeated).
NEMOTRON_H_LIKE = {
    "model_type": "nemotron_h",
    "hidden_size": 4096,
    "num_hidden_layers": 52,
    "hybrid_override_pattern": "M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M-",
    "mamba_num_heads": 128,
    "mamba_head_dim": 64,
    "ssm_state_size": 128,
    "n_groups": 8,
    "chunk_size": 128,
    "time_step_min": 0.001,
    "vocab_size": 131072,
}

FALCON_H1_LIKE = {
    "model_type": "falcon_h1",
    "hidden_size": 1024,
    "num_hidden_layers": 36,
    "mamba_d_ssm": 1536,
    "mamba_n_heads": 24,
    "mamba_d_head": 64,
    "mamba_n_groups": 1,
    "mamba_d_state": 128,
    "mamba_chunk_size": 128,
    "vocab_size": 32784,
}


def test_nemotron_h_pattern_is_cut_to_the_layers_that_show_every_kind() -> None:
    toy = toy_config_dict(NEMOTRON_H_LIKE)
    assert toy["hybrid_override_pattern"] == "M-M-M-M*"  # Mamba, MLP and attention layers, in order
    assert toy["num_hidden_layers"] == len(toy["hybrid_override_pattern"])


def test_nemotron_h_mamba_is_small_one_chunk_and_unclamped() -> None:
    toy = toy_config_dict(NEMOTRON_H_LIKE)
    assert (toy["mamba_num_heads"], toy["mamba_head_dim"], toy["ssm_state_size"]) == (16, 16, 16)
    assert toy["n_groups"] == 8 and toy["mamba_num_heads"] % toy["n_groups"] == 0  # 2 heads per group
    assert toy["chunk_size"] >= 32  # the logits check's tokens fit one chunk
    assert toy["time_step_min"] == MAMBA_TOY_TIME_STEP_MIN


def test_falcon_h1_ssm_width_follows_its_heads() -> None:
    toy = toy_config_dict(FALCON_H1_LIKE)
    assert toy["mamba_d_ssm"] == toy["mamba_n_heads"] * toy["mamba_d_head"] == 256
    assert toy["mamba_chunk_size"] < 32  # HF's (correct) chunked scan carries state across chunks
    assert "time_step_min" not in toy


def test_mamba_sizes_leave_other_configs_alone() -> None:
    toy = toy_config_dict(
        {"model_type": "esm", "hidden_size": 1280, "num_hidden_layers": 4, "chunk_size": 128}
    )
    assert toy["chunk_size"] == 128


def test_falcon_h1_defaults_get_published_gate_order_and_multipliers() -> None:
    published = _PUBLISHED_OVERRIDES["falcon_h1"]
    assert published["mamba_norm_before_gate"] is False  # Megatron-Core's MambaMixer asserts it
    multipliers = [v for k, v in published.items() if k.endswith("multiplier") and v != 1.0]
    assert len(multipliers) >= 4  # unit multipliers would hide a bridge that drops one
    assert any(v != 1.0 for v in published["ssm_multipliers"]) and any(
        v != 1.0 for v in published["mlp_multipliers"]
    )
