"""VLM toy configs: the fields tied to the shrunk sizes follow them (pure dict work, no torch)."""

from codemods.smoke._toy_config import toy_config_dict
from codemods.smoke._toy_vision import scaled_sections

# Shape of a Qwen2.5-VL-7B-like config.json (values as published): no head_dim (28 heads of 128), the
# 3-D RoPE split in the text rope parameters, token ids past any toy vocabulary.
QWEN25_VL_LIKE = {
    "model_type": "qwen2_5_vl",
    "image_token_id": 151655,
    "video_token_id": 151656,
    "vision_start_token_id": 151652,
    "vision_end_token_id": 151653,
    "text_config": {
        "model_type": "qwen2_5_vl_text",
        "hidden_size": 3584,
        "num_attention_heads": 28,
        "num_key_value_heads": 4,
        "num_hidden_layers": 28,
        "vocab_size": 152064,
        "bos_token_id": 151643,
        "eos_token_id": 151645,
        "rope_parameters": {"rope_type": "default", "rope_theta": 1e6, "mrope_section": [16, 24, 24]},
    },
    "vision_config": {
        "depth": 32,
        "hidden_size": 1280,
        "num_heads": 16,
        "fullatt_block_indexes": [7, 15, 23, 31],
        "initializer_range": 0.02,
    },
}


def test_mrope_section_sums_to_the_toy_rotary_half_dim() -> None:
    toy = toy_config_dict(QWEN25_VL_LIKE)
    text = toy["text_config"]
    assert text["hidden_size"] // text["num_attention_heads"] == 64
    assert text["rope_parameters"]["mrope_section"] == [8, 12, 12]  # 16:24:24 kept, sum 32 = 64 / 2
    source = QWEN25_VL_LIKE["text_config"]["rope_parameters"]
    assert source["mrope_section"] == [16, 24, 24]  # the source dict is untouched


def test_partial_rotary_and_a_missing_section_use_the_published_one() -> None:
    # Qwen3.5: rotary over a quarter of head_dim; transformers' default config carries no section.
    src = {
        "model_type": "qwen3_5",
        "text_config": {
            "hidden_size": 4096,
            "num_attention_heads": 16,
            "head_dim": 256,
            "num_hidden_layers": 8,
            "vocab_size": 248320,
            "rope_parameters": {"rope_theta": 1e7, "partial_rotary_factor": 0.25},
        },
        "vision_config": {"depth": 27, "hidden_size": 1152, "num_heads": 16},
    }
    assert toy_config_dict(src)["text_config"]["rope_parameters"]["mrope_section"] == [3, 3, 2]  # 64*0.25/2
    assert scaled_sections([11, 11, 10], 8) == [3, 3, 2]


def test_token_ids_move_inside_the_toy_vocabulary_and_stay_distinct() -> None:
    toy = toy_config_dict(QWEN25_VL_LIKE)
    vocab = toy["text_config"]["vocab_size"]
    ids = [
        toy[k] for k in ("image_token_id", "video_token_id", "vision_start_token_id", "vision_end_token_id")
    ]
    text_ids = [toy["text_config"]["bos_token_id"], toy["text_config"]["eos_token_id"]]
    assert all(0 <= i < vocab for i in ids)
    assert len(set(ids + text_ids)) == len(ids + text_ids)


def test_vision_tower_indexes_heads_and_init_fit_the_one_layer_tower() -> None:
    vision = toy_config_dict(QWEN25_VL_LIKE)["vision_config"]
    assert (vision["depth"], vision["hidden_size"], vision["num_heads"]) == (1, 64, 2)
    assert vision["fullatt_block_indexes"] == []  # no layer 7 in a one-layer tower
    assert vision["initializer_range"] == 64**-0.5  # order-1 activations (exact vs tanh GELU differ there)
    deepstack = dict(QWEN25_VL_LIKE, vision_config={"depth": 27, "deepstack_visual_indexes": [8, 16, 24]})
    assert toy_config_dict(deepstack)["vision_config"]["deepstack_visual_indexes"] == [0]


def test_per_modality_sizes_and_linked_widths() -> None:
    ernie = {
        "model_type": "ernie4_5_vl_moe",
        "text_config": {
            "hidden_size": 2560,
            "num_attention_heads": 20,
            "num_hidden_layers": 28,
            "moe_intermediate_size": [1536, 512],  # text experts, vision experts
        },
        "vision_config": {"depth": 32, "hidden_size": 1280, "num_heads": 16},
    }
    assert toy_config_dict(ernie)["text_config"]["moe_intermediate_size"] == [128, 48]
    minimax = {
        "model_type": "minimax_m3_vl",
        "projector_hidden_size": 6144,
        "merged_hidden_size": 24576,
        "text_config": {"hidden_size": 6144, "num_attention_heads": 48, "num_hidden_layers": 4},
        "vision_config": {"num_hidden_layers": 32, "hidden_size": 1280, "num_attention_heads": 16},
    }
    toy = toy_config_dict(minimax)
    assert (toy["projector_hidden_size"], toy["merged_hidden_size"]) == (256, 1024)


def test_grouped_kv_heads_of_a_tower_stay_grouped() -> None:
    exaone = {
        "model_type": "exaone4_5",
        "text_config": {"hidden_size": 4096, "num_attention_heads": 32, "num_hidden_layers": 4},
        "vision_config": {"depth": 32, "hidden_size": 1280, "num_heads": 16, "num_key_value_heads": 8},
    }
    vision = toy_config_dict(exaone)["vision_config"]
    assert (vision["num_heads"], vision["num_key_value_heads"]) == (2, 1)


def test_published_fields_the_bridge_reads() -> None:
    glm = {
        "model_type": "glm4v_moe",
        "text_config": {"hidden_size": 4096, "num_attention_heads": 96, "num_hidden_layers": 46},
        "vision_config": {"depth": 24, "hidden_size": 1536, "num_heads": 12},
    }
    text = toy_config_dict(glm)["text_config"]
    assert (text["head_dim"], text["use_qk_norm"]) == (64, False)
    gemma3 = {
        "model_type": "gemma3",
        "text_config": {"hidden_size": 2560, "num_attention_heads": 8, "num_hidden_layers": 34},
        "vision_config": {"num_hidden_layers": 27, "hidden_size": 1152, "num_attention_heads": 16},
    }
    assert toy_config_dict(gemma3)["vision_config"]["vision_use_head"] is False


def test_text_models_are_untouched() -> None:
    src = {"model_type": "qwen3", "hidden_size": 4096, "num_attention_heads": 32, "num_hidden_layers": 36}
    toy = toy_config_dict(src)
    assert "vision_config" not in toy and "rope_parameters" not in toy
