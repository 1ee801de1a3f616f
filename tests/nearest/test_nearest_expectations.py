"""`nearest` with a model's own bridge hidden ranks a clone a maintainer would pick (bench/nearest_loo.py).

The heuristic's weights move; what must hold are properties: the own bridge first, a hidden bridge's
family or a reasoned clone near the top, conventions and hard constraints respected.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzers.hf_config import load_spec
from analyzers.hf_names import collect_hf_names
from analyzers.nearest import bridge_features, model_conventions, provider_conventions, rank, specific_fields

CONFIGS = Path(__file__).resolve().parents[2] / "fixtures" / "configs"


@pytest.fixture
def catalog(real_catalog):
    return real_catalog


def test_conventions_and_fields_learned_from_providers(catalog) -> None:
    gemma = bridge_features(catalog, catalog.bridge("GemmaBridge"))
    assert gemma.conventions == {"tied": "True", "activation": "gelu", "norm": "rmsnorm"}
    # Mistral reads the tie flag from the config: a value that adapts is no convention
    assert "tied" not in bridge_features(catalog, catalog.bridge("MistralBridge")).conventions
    assert provider_conventions({"activation_func": "hf_config.hidden_act"}) == {}
    assert {"attn_logit_softcapping", "final_logit_softcapping", "query_pre_attn_scalar"} <= bridge_features(
        catalog, catalog.bridge("Gemma2Bridge")
    ).fields
    assert specific_fields(["hidden_size", "get", "to_json_string", "q_lora_rank"]) == {"q_lora_rank"}
    llama = load_spec(str(CONFIGS / "llama-3.1-8b" / "config.json"))
    assert model_conventions(llama) == {"tied": "False", "activation": "silu", "norm": "rmsnorm"}


@pytest.mark.hf
@pytest.mark.parametrize(
    ("fixture", "hidden", "reasoned"),
    [
        ("llama-3.1-8b", "LlamaBridge", {"MistralBridge", "LlamaNemotronBridge"}),
        ("mistral-7b-v0.3", "MistralBridge", {"LlamaBridge", "LlamaNemotronBridge"}),
        ("qwen2.5-7b-instruct", "Qwen2Bridge", {"MimoBridge", "Qwen3Bridge"}),
        ("qwen3-8b", "Qwen3Bridge", {"Qwen2Bridge", "Qwen3MoEBridge", "Exaone4Bridge"}),
    ],
)
def test_hidden_bridge_leaves_a_reasoned_clone_on_top(
    catalog, fixture: str, hidden: str, reasoned: set[str]
) -> None:
    spec = load_spec(str(CONFIGS / fixture / "config.json"))
    names = collect_hf_names(spec).names
    assert rank(spec, catalog, names, top=1)[0].bridge == hidden
    top = rank(spec, catalog, names, exclude=(hidden,), top=3)
    assert reasoned & {c.bridge for c in top}, [(c.bridge, c.score) for c in top]
    # the first one keeps the model's conventions (Gemma, which hard-codes tied embeddings and GeGLU,
    # ranked first for Llama before the conventions check)
    mine, first = model_conventions(spec), bridge_features(catalog, catalog.bridge(top[0].bridge)).conventions
    assert all(first[k] == v for k, v in mine.items() if k in first), (top[0].bridge, first, mine)


@pytest.mark.hf
def test_gemma2_prefers_its_family_over_a_sliding_window_lookalike(catalog) -> None:
    spec = load_spec(from_transformers="gemma2")
    names = collect_hf_names(spec).names
    top = rank(spec, catalog, names, exclude=("Gemma2Bridge",), top=3)
    assert top[0].family == "gemma"  # was MistralBridge: both have a sliding window
    mistral = next(
        c for c in rank(spec, catalog, names, exclude=("Gemma2Bridge",)) if c.bridge == "MistralBridge"
    )
    # Gemma2's softcapping / pre-attention scalar fields, which Mistral's provider never reads, tell them apart;
    # attn_logit_softcapping, which no bridge but the hidden Gemma2Bridge reads, counts against both
    fields = next(r for r in mistral.reasons if "specific config fields" in r)
    assert fields.startswith(
        "reads 0 of the model's 4 specific config fields; not read: attn_logit_softcapping, final_logit_softcapping"
    )
    assert top[0].components["fields"] > mistral.components["fields"]
    assert (
        top[0].components["names"] > mistral.components["names"]
    )  # Mistral has no pre/post-feedforward norms


def test_mamba_is_told_apart_from_gated_delta_nets(catalog) -> None:
    """A_log / dt_bias / conv1d sit in Mamba mixers and in gated delta nets: only the first are Mamba."""
    mamba = {b.name for b in catalog.bridges if "mamba" in bridge_features(catalog, b).blocks}
    assert {"FalconH1Bridge", "NemotronHBridge", "NemotronVLBridge"} <= mamba
    # Qwen3-Next / Qwen3.5 keep those parameters under `self_attention.` / `linear_attn.` (was tagged Mamba,
    # which diluted the block's rarity five Qwen bridges deep)
    assert not {b for b in mamba if b.startswith("Qwen")}, sorted(mamba)
    assert "linear_attention" in bridge_features(catalog, catalog.bridge("Qwen3NextBridge")).blocks


@pytest.mark.hf
def test_mamba_hybrid_ranks_the_other_hybrid_first(catalog) -> None:
    spec = load_spec(str(CONFIGS / "nemotron-h-8b-base" / "config.json"))
    top = rank(spec, catalog, collect_hf_names(spec).names, exclude=("NemotronHBridge",), top=3)
    assert "mamba" in top[0].matches, [(c.bridge, c.score) for c in top]
    assert all(
        c.fits and "mamba" not in c.missing for c in top
    )  # the other hybrids, then the Nemotron VLM/omni


@pytest.mark.hf
def test_a_mamba_hybrid_starts_from_a_bridge_that_maps_mamba_mixers(catalog) -> None:
    """Falcon-H1's attention and MLP names are Llama's, but GPTModel cannot hold its Mamba layers."""
    spec = load_spec(from_transformers="falcon_h1")
    names = collect_hf_names(spec).names
    ranked = rank(spec, catalog, names, exclude=("FalconH1Bridge",))
    fitting = [c.bridge for c in ranked if c.fits]
    mamba = {b.name for b in catalog.bridges if "mamba" in bridge_features(catalog, b).blocks}
    assert set(fitting) == mamba - {"FalconH1Bridge"}  # exactly the bridges that map Mamba mixers
    assert [c.bridge for c in ranked[: len(fitting)]] == fitting  # every fitting one before any other
    llama = next(c for c in ranked if c.bridge == "LlamaBridge")
    assert llama.score > ranked[0].score and any("maps no Mamba mixer" in r for r in llama.reasons)
