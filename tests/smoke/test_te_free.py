"""The TE-free twins compute what the Transformer Engine modules compute (CPU, no model build)."""

from __future__ import annotations

import contextlib
from types import SimpleNamespace
from unittest import mock

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.smoke


@pytest.fixture(scope="module", autouse=True)
def _megatron() -> None:
    from codemods.smoke._te_shim import import_megatron

    import_megatron()  # Megatron-Core first with TE absent, as the smoke run does


def _config(normalization: str = "RMSNorm", zero_centered: bool = False) -> SimpleNamespace:
    return SimpleNamespace(
        normalization=normalization,
        layernorm_zero_centered_gamma=zero_centered,
        params_dtype=torch.float32,
        fused_residual_rmsnorm=False,
    )


def _filled(norm: torch.nn.Module, gen: torch.Generator) -> torch.nn.Module:
    with torch.no_grad():
        for p in norm.parameters():
            p.copy_(torch.randn(p.shape, generator=gen))
    return norm


def test_zero_centred_rms_norm_is_gemmas() -> None:
    from transformers.models.gemma.modeling_gemma import GemmaRMSNorm

    from codemods.smoke._local_modules import TEFreeNorm

    gen = torch.Generator().manual_seed(0)
    ours = _filled(TEFreeNorm(_config(zero_centered=True), 16, eps=1e-6), gen)
    hf = GemmaRMSNorm(16, eps=1e-6)
    hf.weight.data.copy_(ours.weight.data)
    x = torch.randn(3, 5, 16, generator=gen)
    torch.testing.assert_close(ours(x), hf(x), rtol=0, atol=1e-6)
    assert ours.weight.data.abs().sum() > 0  # a weight of 0 would hide the (1 + w)


def test_plain_norms_are_torchs() -> None:
    from codemods.smoke._local_modules import TEFreeNorm

    gen = torch.Generator().manual_seed(1)
    x = torch.randn(4, 16, generator=gen)
    rms = _filled(TEFreeNorm(_config(), 16, eps=1e-5), gen)
    expected = torch.nn.functional.rms_norm(x, (16,), rms.weight, 1e-5)
    torch.testing.assert_close(rms(x), expected, rtol=0, atol=1e-6)
    ln = _filled(TEFreeNorm(_config("LayerNorm", zero_centered=True), 16, eps=1e-5), gen)
    expected = torch.nn.functional.layer_norm(x, (16,), ln.weight + 1, ln.bias, 1e-5)
    torch.testing.assert_close(ln(x), expected, rtol=0, atol=1e-6)


def test_tenorm_default_eps_is_kept() -> None:
    # TENorm(config, size) without eps uses 1e-5 whatever config.layernorm_epsilon says; the twin must
    # too, or it would hide a bridge that forgets to pass eps.
    from codemods.smoke._local_modules import TEFreeNorm

    assert TEFreeNorm(_config(), 8).eps == 1e-5


def test_sliding_window_mask_matches_megatron_core() -> None:
    from megatron.core.transformer import utils

    from codemods.smoke._te_free import sliding_window_mask

    real_ones = torch.ones

    def ones_anywhere(*args, device=None, **kwargs):  # the original asks for CUDA
        return real_ones(*args, **kwargs)

    for sq, skv, window in [(8, 8, (3, 0)), (4, 9, (2, 1)), (6, 6, (0, 0)), (5, 5, (10, 0))]:
        with mock.patch.object(torch, "ones", ones_anywhere):
            expected = utils.get_sliding_window_causal_mask(sq, skv, window)
        assert torch.equal(sliding_window_mask(sq, skv, window), expected), (sq, skv, window)


def test_class_on_a_te_mock_is_rebuilt_from_its_own_body() -> None:
    from codemods.smoke._te_twins import class_body, with_globals

    te = mock.MagicMock()

    class Wrapper(te.pytorch.Linear):  # what Megatron-Core's TE wrappers become without TE
        scale = 3

        def forward(self, x):
            return super().forward(x) * self.scale + OFFSET  # noqa: F821 - resolved in the relinked globals

    with contextlib.suppress(StopIteration):
        Wrapper()  # one call advances the mock's side effect; the bases must still be recoverable
    module, qualname, bases, namespace = class_body(Wrapper)
    assert qualname.endswith("Wrapper") and bases == (te.pytorch.Linear,)

    class Local(torch.nn.Module):
        def forward(self, x):
            return x + 1

    ns = dict(namespace)
    cls = type("Wrapper", (Local,), ns)
    cls.forward = with_globals(namespace["forward"], {"OFFSET": 10})
    assert cls().forward(torch.tensor(1.0)).item() == 16.0  # (1 + 1) * 3 + 10
    assert class_body(Local) is None


def test_grouped_linear_twin_applies_each_experts_weight_to_its_rows() -> None:
    from codemods.smoke._local_modules import ColumnParallelGroupedLinear, RowParallelGroupedLinear

    config = SimpleNamespace(params_dtype=torch.float32, perform_initialization=False)
    groups = SimpleNamespace(expt_tp=SimpleNamespace(size=lambda: 1))
    gen = torch.Generator().manual_seed(2)
    fc1 = ColumnParallelGroupedLinear(
        3,
        8,
        6,
        config=config,
        init_method=None,
        bias=True,
        skip_bias_add=False,
        is_expert=True,
        pg_collection=groups,
    )
    fc2 = RowParallelGroupedLinear(
        3,
        6,
        8,
        config=config,
        init_method=None,
        bias=True,
        skip_bias_add=True,
        is_expert=True,
        pg_collection=groups,
    )
    for module in (fc1, fc2):
        _filled(module, gen)
    x = torch.randn(7, 8, generator=gen)
    splits = [2, 0, 5]
    out, bias = fc1(x, splits)
    assert bias is None
    rows = torch.split(x, splits)
    expected = torch.cat(
        [rows[i] @ getattr(fc1, f"weight{i}").T + getattr(fc1, f"bias{i}") for i in range(3)]
    )
    torch.testing.assert_close(out, expected)
    out2, biases = fc2(out, splits)  # skip_bias_add: one bias per expert comes back, as TE returns it
    assert [b is getattr(fc2, f"bias{i}") for i, b in enumerate(biases)] == [True] * 3
    assert (fc1.partition_dim, fc2.partition_dim) == (0, 1) and out2.shape == (7, 8)


def _provider(spec, **fields) -> SimpleNamespace:
    base = {
        "transformer_layer_spec": spec,
        "normalization": "RMSNorm",
        "layernorm_zero_centered_gamma": False,
        "qk_layernorm": False,
        "qk_l2_norm": False,
        "num_layers": 4,
        "num_moe_experts": None,
        "moe_grouped_gemm": False,
        "multi_latent_attention": False,
        "moe_layer_freq": 1,
    }
    return SimpleNamespace(**{**base, **fields})


def test_gemma2_spec_keeps_its_structure_on_local_twins() -> None:
    from megatron.bridge.models.gemma.gemma2_provider import Gemma2FlexDotProductAttention, gemma2_layer_spec
    from megatron.core.tensor_parallel import RowParallelLinear
    from megatron.core.transformer.transformer_block import TransformerBlockSubmodules

    from codemods.smoke._local_modules import LayerNormColumnParallelLinear, TEFreeNorm
    from codemods.smoke._te_free import te_free_spec

    provider = _provider(gemma2_layer_spec, layernorm_zero_centered_gamma=True, layernorm_epsilon=1e-6)
    notes = te_free_spec(provider)
    block = provider.transformer_layer_spec(provider, dry=True)
    assert isinstance(block, TransformerBlockSubmodules) and block.layer_norm is TEFreeNorm
    layer = block.layer_specs[0].submodules
    attention = layer.self_attention.submodules
    assert (
        attention.linear_qkv is LayerNormColumnParallelLinear
        and layer.mlp.submodules.linear_fc1 is attention.linear_qkv
    )
    assert attention.core_attention is Gemma2FlexDotProductAttention  # the family's own attention, kept
    post_norm = attention.linear_proj  # MB's TERowParallelLinearLayerNorm, rebuilt on the local row linear
    assert post_norm.__name__ == "TERowParallelLinearLayerNorm" and issubclass(post_norm, RowParallelLinear)
    assert post_norm.__init__.__globals__["TENorm"] is TEFreeNorm
    assert any("TERowParallelLinearLayerNorm rebuilt on RowParallelLinear" in n for n in notes)
    assert any("zero-centred" in n for n in notes)
    # its post-norm is TENorm(config, output_size): TE's default eps, named because HF uses 1e-6
    assert any(
        "builds TENorm without eps: TE's default 1e-05, not layernorm_epsilon 1e-06" in n for n in notes
    )


def test_exaone4_qk_norms_are_attentions_tenorm_default() -> None:
    from megatron.bridge.models.exaone.exaone4.exaone4_provider import exaone4_layer_spec
    from megatron.core.tensor_parallel import ColumnParallelLinear

    from codemods.smoke._local_modules import TEFreeNorm
    from codemods.smoke._te_free import te_free_spec

    provider = _provider(exaone4_layer_spec, qk_layernorm=True, layernorm_epsilon=1e-5)
    notes = te_free_spec(provider)
    assert not any("without eps" in n for n in notes)  # HF EXAONE 4.0's eps is TE's default
    attention = provider.transformer_layer_spec(provider).submodules.self_attention.submodules
    assert attention.q_layernorm is TEFreeNorm and attention.k_layernorm is TEFreeNorm
    assert attention.linear_qkv is ColumnParallelLinear
    assert any("q/k layernorm" in n for n in notes)


def test_olmoe_spec_calls_the_local_builder_and_groups_experts() -> None:
    from megatron.bridge.models import gpt_provider
    from megatron.bridge.models.olmoe.olmoe_provider import OLMoESelfAttention, olmoe_layer_spec
    from megatron.core.transformer.moe.experts import TEGroupedMLP

    from codemods.smoke._local_modules import ColumnParallelGroupedLinear
    from codemods.smoke._te_free import te_free_spec

    provider = _provider(olmoe_layer_spec, qk_layernorm=True, num_moe_experts=4, moe_grouped_gemm=True)
    before = gpt_provider.default_layer_spec
    te_free_spec(provider)
    layer = provider.transformer_layer_spec(provider).submodules
    assert gpt_provider.default_layer_spec is before  # the builder swap ends with the spec call
    assert layer.self_attention.module is OLMoESelfAttention
    experts = layer.mlp.keywords["submodules"].experts
    assert (
        experts.func is TEGroupedMLP
        and experts.keywords["submodules"].linear_fc1 is ColumnParallelGroupedLinear
    )


def test_builder_swap_is_undone_when_the_spec_raises() -> None:
    from megatron.bridge.models import gpt_provider
    from megatron.core.models.gpt import gpt_layer_specs

    from codemods.smoke._te_free import _stock_builders_local

    saved = gpt_layer_specs.get_gpt_layer_with_transformer_engine_spec, gpt_provider.default_layer_spec

    def spec(config):
        raise RuntimeError("spec failed")

    with pytest.raises(RuntimeError), _stock_builders_local(spec, lambda line: None):
        assert gpt_provider.default_layer_spec is not saved[1]  # local while the spec builds
        spec(None)
    assert (
        gpt_layer_specs.get_gpt_layer_with_transformer_engine_spec,
        gpt_provider.default_layer_spec,
    ) == saved
