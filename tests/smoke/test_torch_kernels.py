"""The pure-torch kernel references against transformers' own torch paths (the ones it runs on CPU).

The references step through the recurrences one token at a time; transformers' paths are chunked
(SSD blocks, the chunked gated delta rule), so agreement is between two different algorithms.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from codemods.smoke import _torch_kernels as tk  # noqa: E402

pytestmark = pytest.mark.hf
TOL = 1e-5


def _randomize(module, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in module.parameters():
            param.copy_(torch.randn(param.shape, generator=gen) * 0.2 + (1.0 if param.ndim == 1 else 0.0))
        module.A_log.copy_(torch.log(torch.arange(1, module.num_heads + 1, dtype=torch.float32)))


def _mixer_by_reference(mixer, x, group_size: int):
    """The Mamba-2 mixer from its weights, with the references: in_proj, conv, scan, gated norm, out_proj."""
    d, g, n, h = mixer.intermediate_size, mixer.n_groups, mixer.ssm_state_size, mixer.num_heads
    batch, length, _ = x.shape
    zxbcdt = mixer.in_proj(x)
    y = tk.mamba_split_conv1d_scan_combined(
        zxbcdt,
        mixer.conv1d.weight[:, 0],
        mixer.conv1d.bias,
        mixer.dt_bias,
        -torch.exp(mixer.A_log.float()),
        mixer.D,
        chunk_size=mixer.chunk_size,
        headdim=mixer.head_dim,
        ngroups=g,
        norm_before_gate=False,
    )
    z = zxbcdt[..., :d]
    normed = tk.gated_rms_norm(y, None, mixer.norm.weight, mixer.norm.variance_epsilon, group_size, False)
    # the same through mamba_chunk_scan_combined with the gate left to the norm (MambaMixer's prefill path)
    xbc = tk.causal_conv1d(zxbcdt[..., d : 2 * d + 2 * g * n].transpose(1, 2), mixer.conv1d.weight[:, 0],
                           mixer.conv1d.bias, "silu").transpose(1, 2)  # fmt: skip
    xs, b, c = torch.split(xbc, [d, g * n, g * n], dim=-1)
    y2 = tk.mamba_chunk_scan_combined(
        xs.reshape(batch, length, h, -1),
        zxbcdt[..., -h:],
        -torch.exp(mixer.A_log.float()),
        b.reshape(batch, length, g, n),
        c.reshape(batch, length, g, n),
        mixer.chunk_size,
        D=mixer.D,
        dt_bias=mixer.dt_bias,
        dt_softplus=True,
    )
    normed2 = tk.gated_rms_norm(y2.reshape(batch, length, d), z, mixer.norm.weight, mixer.norm.variance_epsilon,
                                group_size, False)  # fmt: skip
    return mixer.out_proj(normed), mixer.out_proj(normed2)


def test_selective_scan_matches_mamba2_chunked_torch_path() -> None:
    from transformers import Mamba2Config
    from transformers.models.mamba2.modeling_mamba2 import Mamba2Mixer

    # 4 chunks of 8 over 32 tokens: transformers' SSD passes state between chunks; 2 heads per group.
    cfg = Mamba2Config(hidden_size=64, num_heads=8, head_dim=16, state_size=16, n_groups=4, chunk_size=8,
                       expand=2, num_hidden_layers=1)  # fmt: skip
    mixer = Mamba2Mixer(cfg, layer_idx=0).float().eval()
    _randomize(mixer, 0)
    x = torch.randn(2, 32, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        hf = mixer.torch_forward(x)
        fused, split = _mixer_by_reference(mixer, x, group_size=mixer.intermediate_size)
    assert float((fused - hf).abs().max()) < TOL * max(1.0, float(hf.abs().max()))
    assert float((split - hf).abs().max()) < TOL * max(1.0, float(hf.abs().max()))


def test_selective_scan_matches_nemotron_h_torch_path_grouped_norm() -> None:
    from transformers import NemotronHConfig
    from transformers.models.nemotron_h.modeling_nemotron_h import NemotronHMamba2Mixer

    # One chunk: transformers' NemotronH torch path is wrong across chunks (see MAMBA_TOY_SIZES).
    cfg = NemotronHConfig(hidden_size=64, mamba_num_heads=16, mamba_head_dim=16, ssm_state_size=16, n_groups=8,
                          chunk_size=64, time_step_min=1e-9, layers_block_type=["mamba"])  # fmt: skip
    mixer = NemotronHMamba2Mixer(cfg, 0).float().eval()
    _randomize(mixer, 2)
    x = torch.randn(2, 32, 64, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        hf = mixer.torch_forward(x)
        fused, split = _mixer_by_reference(mixer, x, group_size=mixer.intermediate_size // mixer.n_groups)
    assert float((fused - hf).abs().max()) < TOL * max(1.0, float(hf.abs().max()))
    assert float((split - hf).abs().max()) < TOL * max(1.0, float(hf.abs().max()))


@pytest.mark.parametrize("length", [32, 100])  # one of HF's 64-token chunks, and two
def test_gated_delta_rule_matches_qwen3_next_chunked_torch_path(length: int) -> None:
    from transformers.models.qwen3_next.modeling_qwen3_next import torch_chunk_gated_delta_rule

    gen = torch.Generator().manual_seed(length)
    batch, heads, key_dim, value_dim = 2, 4, 16, 24
    q = torch.randn(batch, length, heads, key_dim, generator=gen)
    k = torch.randn(batch, length, heads, key_dim, generator=gen)
    v = torch.randn(batch, length, heads, value_dim, generator=gen)
    g = -torch.rand(batch, length, heads, generator=gen)  # log decay
    beta = torch.rand(batch, length, heads, generator=gen)
    hf, hf_state = torch_chunk_gated_delta_rule(
        q, k, v, g, beta, initial_state=None, output_final_state=True, use_qk_l2norm_in_kernel=True
    )
    ours, state = tk.chunk_gated_delta_rule(
        q, k, v, g, beta, output_final_state=True, use_qk_l2norm_in_kernel=True
    )
    assert float((ours - hf).abs().max()) < TOL
    assert float((state - hf_state).abs().max()) < TOL


def test_fla_causal_conv1d_is_the_causal_depthwise_conv() -> None:
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(2, 12, 6, generator=gen)  # (b, l, d) as fla takes it
    conv = torch.nn.Conv1d(6, 6, kernel_size=4, groups=6, padding=3)
    with torch.no_grad():
        expected = torch.nn.functional.silu(conv(x.transpose(1, 2))[..., :12]).transpose(1, 2)
        got, state = tk.fla_causal_conv1d(x, conv.weight[:, 0], conv.bias, activation="silu")
    assert state is None
    assert torch.allclose(got, expected, atol=1e-6)
    # causal: the first output sees only the first input
    x2 = x.clone()
    x2[:, 1:] += 1.0
    assert torch.allclose(tk.fla_causal_conv1d(x2, conv.weight[:, 0], conv.bias, "silu")[0][:, 0], got[:, 0])


def test_gated_rms_norm_gate_order() -> None:
    gen = torch.Generator().manual_seed(6)
    x, z, w = torch.randn(3, 8, generator=gen), torch.randn(3, 8, generator=gen), torch.rand(8, generator=gen)
    after = tk.gated_rms_norm(x, z, w, 1e-5, 4, norm_before_gate=False)
    gated = x * torch.nn.functional.silu(z)
    halves = gated.view(3, 2, 4)
    expected = (halves * torch.rsqrt(halves.pow(2).mean(-1, keepdim=True) + 1e-5)).view(3, 8) * w
    assert torch.allclose(after, expected, atol=1e-6)
    before = tk.gated_rms_norm(x, z, w, 1e-5, 4, norm_before_gate=True)
    assert not torch.allclose(before, after)


def test_toy_ssm_head_vectors_differ_per_head() -> None:
    from codemods.smoke._hybrid import randomize_ssm_head_vectors

    mixer = torch.nn.Module()
    mixer.dt_bias = torch.nn.Parameter(torch.ones(8))
    mixer.D = torch.nn.Parameter(torch.ones(8))
    mixer.A_log = torch.nn.Parameter(torch.zeros(8))
    changed = randomize_ssm_head_vectors(mixer, seed=0)
    assert changed == ["dt_bias", "D"]
    assert len(set(mixer.dt_bias.tolist())) == 8 and len(set(mixer.D.tolist())) == 8
    assert torch.equal(mixer.A_log, torch.zeros(8))
