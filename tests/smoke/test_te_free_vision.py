"""The VLM TE-free pieces on real Megatron-Core modules: the packed (THD) attention the vision towers
use, TE's post-scale attention bias, and the provide() scope (CPU, one gloo rank, no model build)."""

from __future__ import annotations

import math

import pytest

from codemods.smoke._cpu import cuda_calls_on_cpu

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.smoke

HEADS, DIM = 2, 8


@pytest.fixture(scope="module", autouse=True)
def _parallel_state() -> None:
    from codemods.smoke._te_shim import import_megatron

    import_megatron()  # Megatron-Core first with TE absent, as the smoke run does
    from megatron.core import parallel_state

    from codemods.smoke._runner import SmokeOptions, _init_distributed

    _init_distributed(SmokeOptions(model="-"))  # one gloo rank, as an in-process smoke run sets up
    if not parallel_state.model_parallel_is_initialized():
        parallel_state.initialize_model_parallel(1, 1)


def _attention(cls: type, mask_type: str) -> torch.nn.Module:
    from megatron.core.transformer.enums import AttnMaskType
    from megatron.core.transformer.transformer_config import TransformerConfig

    config = TransformerConfig(
        num_layers=1,
        hidden_size=HEADS * DIM,
        num_attention_heads=HEADS,
        attention_softmax_in_fp32=True,
        masked_softmax_fusion=False,
        attention_dropout=0.0,
    )
    return cls(config, 1, getattr(AttnMaskType, mask_type), "self").eval()


def _reference(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """softmax(q k^T / sqrt(d) + bias) v for [s, heads, d] tensors; returns [s, heads x d]."""
    scores = torch.einsum("qhd,khd->hqk", q, k) / math.sqrt(DIM)
    if bias is not None:
        scores = scores + bias
    out = torch.einsum("hqk,khd->qhd", scores.softmax(-1), v)
    return out.reshape(out.shape[0], -1)


def test_packed_sequences_attend_within_their_segment() -> None:
    from megatron.core.packed_seq_params import PackedSeqParams

    from codemods.smoke._te_free_vision import PackedDotProductAttention

    gen = torch.Generator().manual_seed(0)
    lengths = [6, 10]  # two images of a vision tower, packed
    q, k, v = (torch.randn(sum(lengths), HEADS, DIM, generator=gen) for _ in range(3))
    cu = torch.tensor([0, 6, 16], dtype=torch.int32)
    packed = PackedSeqParams(
        cu_seqlens_q=cu, cu_seqlens_kv=cu, qkv_format="thd", max_seqlen_q=10, max_seqlen_kv=10
    )
    with torch.no_grad(), cuda_calls_on_cpu():
        out = _attention(PackedDotProductAttention, "no_mask")(q, k, v, None, packed_seq_params=packed)
    expected = torch.cat([_reference(q[a:b], k[a:b], v[a:b], None) for a, b in ((0, 6), (6, 16))])
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-6)
    # attending over both images at once would be another function
    assert (out - _reference(q, k, v, None)).abs().max() > 1e-2


def test_unpacked_input_is_the_local_attention_unchanged() -> None:
    from codemods.smoke._local_modules import LocalDotProductAttention
    from codemods.smoke._te_free_vision import PackedDotProductAttention

    gen = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(5, 1, HEADS, DIM, generator=gen) for _ in range(3))
    mask = torch.ones(5, 5, dtype=torch.bool).triu(1)[None, None]  # as the logits check passes it
    with torch.no_grad(), cuda_calls_on_cpu():
        ours = _attention(PackedDotProductAttention, "causal")(q, k, v, mask)
        local = _attention(LocalDotProductAttention, "causal")(q, k, v, mask)
    torch.testing.assert_close(ours, local, rtol=0, atol=0)


def test_post_scale_attention_bias_is_tes() -> None:
    # Gemma 3 VL: causal text plus bidirectional image blocks, as an additive bias and no mask type.
    from codemods.smoke._local_modules import LocalDotProductAttention

    gen = torch.Generator().manual_seed(2)
    s = 7
    q, k, v = (torch.randn(s, HEADS, DIM, generator=gen) for _ in range(3))
    allowed = torch.ones(s, s, dtype=torch.bool).tril()
    allowed[2:5, 2:5] = True  # an image block attends both ways
    bias = torch.zeros(1, 1, s, s).masked_fill(~allowed, torch.finfo(torch.float32).min)
    attention = _attention(LocalDotProductAttention, "no_mask")
    with torch.no_grad(), cuda_calls_on_cpu():
        out = attention(q[:, None], k[:, None], v[:, None], None, attention_bias=bias)
    torch.testing.assert_close(out[:, 0], _reference(q, k, v, bias[0]), rtol=0, atol=1e-6)
    assert (
        attention.scale_mask_softmax.__class__.__name__ == "FusedScaleMaskSoftmax"
    )  # restored after the call


def test_provide_scope_is_the_provider_objects_and_the_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    """The TE names a VLM's provide() reaches are twins during that call only, on that provider only."""
    from megatron.bridge.models.qwen_vl import qwen3_vl_provider
    from megatron.bridge.models.qwen_vl.modelling_qwen3_vl import model as qwen3_vl_model
    from megatron.core.models.gpt import gpt_layer_specs

    from codemods.smoke._te_free_vision import te_free_provide

    def names() -> tuple:
        return (
            qwen3_vl_model.TENorm,
            qwen3_vl_model.get_vit_layer_with_transformer_engine_spec.__globals__["TEDotProductAttention"],
            gpt_layer_specs.TESpecProvider,
        )

    before = names()
    seen = []
    # Stands in for the real provide() (which builds a model): it reads the globals the real one reads.
    monkeypatch.setattr(
        qwen3_vl_provider.Qwen3VLModelProvider, "provide", lambda self, *a, **k: seen.append(names())
    )
    provider = qwen3_vl_provider.Qwen3VLModelProvider(num_layers=1, hidden_size=64, num_attention_heads=2)
    notes = te_free_provide(provider)
    assert notes and any("PackedDotProductAttention" in line for line in notes)
    assert "provide" in vars(provider)  # an instance attribute; the class is untouched
    other = qwen3_vl_provider.Qwen3VLModelProvider(num_layers=1, hidden_size=64, num_attention_heads=2)
    other.provide()  # another provider object: no scope
    provider.provide()
    assert seen[0] == before
    norm, attention, backend = seen[1]
    assert (norm.__name__, attention.__name__) == ("TEFreeNorm", "PackedDotProductAttention")
    assert backend is not None and backend is not before[2]
    assert names() == before  # restored after the call


def test_text_providers_are_not_touched() -> None:
    # Gemma 3's text provider has its own provide() and TE-based classes, but no vision tower.
    from megatron.bridge.models.gemma.gemma3_provider import Gemma3ModelProvider

    from codemods.smoke._te_free_vision import te_free_provide

    provider = Gemma3ModelProvider(num_layers=1, hidden_size=64, num_attention_heads=2)
    assert te_free_provide(provider) is None
    assert "provide" not in vars(provider)
