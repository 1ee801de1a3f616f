"""Toy-config derivation: pure dict work, no torch."""

from codemods.smoke._toy_config import toy_config_dict

# Shape of a DeepSeek-V3-like config (values as published for the real model).
DEEPSEEK_LIKE = {
    "model_type": "deepseek_v3",
    "hidden_size": 7168,
    "intermediate_size": 18432,
    "moe_intermediate_size": 2048,
    "num_hidden_layers": 61,
    "num_attention_heads": 128,
    "num_key_value_heads": 128,
    "n_routed_experts": 256,
    "n_shared_experts": 1,
    "num_experts_per_tok": 8,
    "n_group": 8,
    "topk_group": 4,
    "first_k_dense_replace": 3,
    "q_lora_rank": 1536,
    "kv_lora_rank": 512,
    "qk_rope_head_dim": 64,
    "qk_nope_head_dim": 128,
    "v_head_dim": 128,
    "head_dim": 64,
    "vocab_size": 129280,
    "bos_token_id": 0,
    "eos_token_id": 1,
    "num_nextn_predict_layers": 1,
    "quantization_config": {"quant_method": "fp8"},
    "torch_dtype": "bfloat16",
}


def test_mla_moe_structure_is_kept_small() -> None:
    toy = toy_config_dict(DEEPSEEK_LIKE)
    assert (toy["hidden_size"], toy["num_hidden_layers"], toy["vocab_size"]) == (256, 4, 1024)
    assert toy["first_k_dense_replace"] == 1  # layer 0 dense, layers 1-3 MoE
    assert (toy["n_routed_experts"], toy["num_experts_per_tok"], toy["n_group"], toy["topk_group"]) == (
        4,
        2,
        1,
        1,
    )
    assert toy["num_key_value_heads"] == toy["num_attention_heads"] == 4  # MHA stays MHA
    assert toy["qk_head_dim"] == 32 + 16 and toy["head_dim"] == 16
    assert toy["num_nextn_predict_layers"] == 0
    assert "quantization_config" not in toy and "torch_dtype" not in toy and toy["dtype"] == "bfloat16"


def test_gqa_layer_types_and_token_ids() -> None:
    src = {
        "model_type": "x",
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "num_hidden_layers": 48,
        "vocab_size": 151936,
        "eos_token_id": 151645,
        "pad_token_id": [151643, 5],
        "sliding_window": 4096,
        "layer_types": (["sliding_attention"] * 5 + ["full_attention"]) * 8,
        "mlp_only_layers": [0, 30],
    }
    toy = toy_config_dict(src)
    assert toy["num_key_value_heads"] == 2  # GQA stays GQA, divisible by TP=2
    # the source's own first period: five sliding-window layers, then a full one
    assert toy["num_hidden_layers"] == 6 and toy["layer_types"] == src["layer_types"][:6]
    assert toy["sliding_window"] == 8 and toy["mlp_only_layers"] == [0]
    assert toy["eos_token_id"] < 1024 and toy["pad_token_id"] == [1023, 5]


def test_vlm_text_and_vision_configs_shrink() -> None:
    src = {
        "model_type": "vlm",
        "text_config": {"hidden_size": 5120, "num_hidden_layers": 40},
        "vision_config": {"hidden_size": 1024, "num_hidden_layers": 24, "intermediate_size": 4096},
    }
    toy = toy_config_dict(src)
    assert toy["text_config"] == {"hidden_size": 256, "num_hidden_layers": 4}
    assert toy["vision_config"] == {"hidden_size": 64, "num_hidden_layers": 1, "intermediate_size": 128}


def test_layer_count_covers_every_layer_kind_and_period() -> None:
    from codemods.smoke._toy_config import MAX_TOY_LAYERS, toy_layer_count

    assert toy_layer_count({"num_hidden_layers": 36}) == 4  # at least 4: NoPE periods, layer-0 specials
    assert toy_layer_count({"num_hidden_layers": 2}) == 2  # never more than the source
    assert toy_layer_count({"num_hidden_layers": 26, "sliding_window_pattern": 6}) == 6
    nope = [1, 1, 1, 0] * 9  # SmolLM3: every fourth layer without RoPE
    assert toy_layer_count({"num_hidden_layers": 36, "no_rope_layers": nope}) == 4
    hybrid = "M-M-M-MM-M-M*-M-M-M-M*-"  # a Mamba / MLP / attention pattern string
    assert toy_layer_count({"num_hidden_layers": len(hybrid), "hybrid_override_pattern": hybrid}) == 13
    assert toy_layer_count({"num_hidden_layers": 64, "full_attention_interval": 32}) == MAX_TOY_LAYERS
    toy = toy_config_dict(
        {"model_type": "x", "num_hidden_layers": len(hybrid), "hybrid_override_pattern": hybrid}
    )
    assert toy["hybrid_override_pattern"] == hybrid[:13] and toy["num_hidden_layers"] == 13
    assert set(toy["hybrid_override_pattern"]) == set(hybrid)  # every layer kind is in the toy


def test_required_fields_left_none_by_the_config_class_are_filled() -> None:
    # NemotronConfig and DeepseekV2Config default these to None; their models cannot be built so.
    nemotron = toy_config_dict(
        {"model_type": "nemotron", "num_attention_heads": 48, "num_key_value_heads": None}
    )
    assert nemotron["num_key_value_heads"] == 2  # GQA, as the published checkpoints
    v2 = toy_config_dict({"model_type": "deepseek_v2", "n_routed_experts": 64, "num_experts_per_tok": None})
    assert v2["num_experts_per_tok"] == 2
    dense = toy_config_dict({"model_type": "x", "num_experts_per_tok": None})
    assert dense["num_experts_per_tok"] is None  # no experts: nothing to route to


def test_sliding_window_is_shorter_than_the_logits_sequence() -> None:
    from codemods.smoke._logits import SEQ_LEN

    assert toy_config_dict({"model_type": "mistral", "sliding_window": 4096})["sliding_window"] < SEQ_LEN


def test_hy_v3_carries_first_k_dense_replace_as_its_published_config() -> None:
    # HYV3Config has only mlp_layer_types; tencent/Hy3's config.json also says first_k_dense_replace: 1,
    # which HYV3Bridge reads.
    src = {"model_type": "hy_v3", "num_hidden_layers": 80, "mlp_layer_types": ["dense"] + ["sparse"] * 79}
    toy = toy_config_dict(src)
    assert toy["mlp_layer_types"] == ["dense", "sparse", "sparse", "sparse"]
    assert toy["first_k_dense_replace"] == 1


def test_glm_moe_dsa_says_which_indexer_rope_transformers_computes() -> None:
    toy = toy_config_dict({"model_type": "glm_moe_dsa", "num_hidden_layers": 78, "index_topk": 2048})
    assert toy["indexer_rope_interleave"] is False  # GlmMoeDsa's indexer: half-split RoPE


def test_published_overrides_replace_a_default_that_no_checkpoint_has() -> None:
    from codemods.smoke._toy_config import _PUBLISHED_OVERRIDES

    rope = _PUBLISHED_OVERRIDES["deepseek_v4"]["rope_parameters"]
    assert (rope["rope_type"], rope["factor"], rope["original_max_position_embeddings"]) == (
        "yarn",
        16.0,
        65536,
    )


def test_square_mlp_stays_square() -> None:
    toy = toy_config_dict({"model_type": "gpt_oss", "hidden_size": 2880, "intermediate_size": 2880})
    assert toy["intermediate_size"] == toy["hidden_size"] == 256
    assert (
        toy_config_dict({"model_type": "x", "hidden_size": 4096, "intermediate_size": 11008})[
            "intermediate_size"
        ]
        == 512
    )


def test_sizes_tied_to_a_shrunk_size_shrink_with_it() -> None:
    src = {
        "model_type": "gemma4_text",
        "vocab_size": 262144,
        "vocab_size_per_layer_input": 262144,
        "head_dim": 256,
        "global_head_dim": 512,
    }
    toy = toy_config_dict(src)
    assert toy["vocab_size_per_layer_input"] == toy["vocab_size"] == 1024
    assert toy["global_head_dim"] == 2 * toy["head_dim"] == 128


def test_yarn_keeps_its_original_context_and_compression_fires_within_the_logits_tokens() -> None:
    # YaRN's frequencies depend on original_max_position_embeddings itself, not on its ratio to the toy's
    # positions: shrinking it changes the function (measured: GPT-OSS with 16 instead of 4096 took a branch
    # where HF and Megatron-Core differ by 0.15, a regime no checkpoint uses).
    rope = {"rope_type": "yarn", "factor": 32.0, "original_max_position_embeddings": 4096}
    toy = toy_config_dict(
        {"model_type": "gpt_oss", "max_position_embeddings": 131072, "rope_parameters": rope}
    )
    assert toy["rope_parameters"] == rope
    v4 = toy_config_dict(
        {
            "model_type": "deepseek_v4",
            "compress_rates": {"compressed_sparse_attention": 4, "heavily_compressed_attention": 128},
            "o_groups": 8,
            "o_lora_rank": 1024,
        }
    )
    assert v4["compress_rates"] == {"compressed_sparse_attention": 4, "heavily_compressed_attention": 16}
    assert (v4["o_groups"], v4["o_lora_rank"]) == (2, 32)


def test_mlp_layer_types_follow_the_toys_first_k_dense_replace() -> None:
    # GlmMoeDsaConfig: 3 dense layers of 78; transformers builds from the list, the bridge from the field.
    src = {
        "model_type": "glm_moe_dsa",
        "num_hidden_layers": 78,
        "first_k_dense_replace": 3,
        "mlp_layer_types": ["dense"] * 3 + ["sparse"] * 75,
    }
    toy = toy_config_dict(src)
    assert toy["first_k_dense_replace"] == 1
    assert toy["mlp_layer_types"] == ["dense"] + ["sparse"] * (toy["num_hidden_layers"] - 1)
    odd = {**src, "mlp_layer_types": ["dense", "sparse", "dense"] + ["sparse"] * 75}
    assert toy_config_dict(odd)["mlp_layer_types"][:3] == ["dense", "sparse", "dense"]  # not a prefix: kept
