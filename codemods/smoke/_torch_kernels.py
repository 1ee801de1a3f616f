"""Pure-torch references for the CUDA/Triton kernels Megatron-Core's Mamba and gated-delta-net layers call.

Megatron-Core's `MambaMixer` calls mamba_ssm's selective-scan kernels (`mamba_chunk_scan_combined`,
`mamba_split_conv1d_scan_combined`) and its gated RMSNorm, and `GatedDeltaNet` calls flash-linear-attention's
(fla) `causal_conv1d`, `l2norm` and `chunk_gated_delta_rule`. None of them runs on the CPU. Each function
here computes the same thing as the kernel it stands in for, with the kernel's signature, written from the
recurrence's definition (one time step after the other) rather than from a chunked algorithm: HF's own torch
paths (`torch_forward`, `torch_chunk_gated_delta_rule`) are chunked, so agreement of the two is evidence,
not a copy agreeing with itself. They are used only inside a smoke run (`_hybrid.absent_kernels_in_torch`).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

__all__ = [
    "GatedRMSNorm",
    "causal_conv1d",
    "chunk_gated_delta_rule",
    "fla_causal_conv1d",
    "l2norm",
    "mamba_chunk_scan_combined",
    "mamba_split_conv1d_scan_combined",
    "selective_scan",
]


def causal_conv1d(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, activation: str | None
) -> Any:
    """Depthwise causal convolution over the last axis: x (b, d, l), weight (d, w) -> (b, d, l)."""
    width = weight.shape[-1]
    out = F.conv1d(x, weight.unsqueeze(1).to(x.dtype), bias, padding=width - 1, groups=x.shape[1])
    out = out[..., : x.shape[-1]]
    if activation in ("silu", "swish"):
        out = F.silu(out)
    elif activation is not None:
        raise NotImplementedError(f"causal_conv1d reference: activation {activation!r}")
    return out


def selective_scan(
    x: torch.Tensor,
    dt: torch.Tensor,
    A: torch.Tensor,  # noqa: N803 - the SSM's own names
    B: torch.Tensor,  # noqa: N803
    C: torch.Tensor,  # noqa: N803
    D: torch.Tensor | None = None,  # noqa: N803
    z: torch.Tensor | None = None,
    dt_bias: torch.Tensor | None = None,
    dt_softplus: bool = False,
    dt_limit: tuple[float, float] = (0.0, math.inf),
    initial_states: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The Mamba-2 (SSD) recurrence, one step at a time; returns (y, final state).

    x (b, l, h, p), dt (b, l, h), A (h,), B and C (b, l, g, n) with head i reading group i // (h / g),
    D (h,) or (h, p), z (b, l, h, p). Per step: h_t = exp(dt_t A) h_{t-1} + dt_t x_t B_t^T,
    y_t = h_t C_t + D x_t, then y * silu(z) when z is given.
    """
    batch, length, heads, headdim = x.shape
    groups, state_dim = B.shape[2], B.shape[3]
    dt = dt.float()
    if dt_bias is not None:
        dt = dt + dt_bias.float()
    if dt_softplus:
        dt = F.softplus(dt)
    if dt_limit != (0.0, math.inf):
        dt = dt.clamp(min=dt_limit[0], max=dt_limit[1])
    Bh = B.float().repeat_interleave(heads // groups, dim=2)  # noqa: N806
    Ch = C.float().repeat_interleave(heads // groups, dim=2)  # noqa: N806
    xf = x.float()
    state = (
        initial_states.float().clone()
        if initial_states is not None
        else xf.new_zeros(batch, heads, headdim, state_dim)
    )
    decay = torch.exp(dt * A.float().view(1, 1, heads))  # (b, l, h)
    ys = []
    for t in range(length):
        state = (
            state * decay[:, t, :, None, None]
            + (dt[:, t, :, None, None] * xf[:, t, :, :, None]) * Bh[:, t, :, None, :]
        )
        ys.append((state * Ch[:, t, :, None, :]).sum(-1))
    y = torch.stack(ys, dim=1)
    if D is not None:
        y = y + xf * (
            D.float().view(1, 1, heads, 1) if D.dim() == 1 else D.float().view(1, 1, heads, headdim)
        )
    if z is not None:
        y = y * F.silu(z.float())
    return y.to(x.dtype), state


def mamba_chunk_scan_combined(
    x: torch.Tensor,
    dt: torch.Tensor,
    A: torch.Tensor,  # noqa: N803
    B: torch.Tensor,  # noqa: N803
    C: torch.Tensor,  # noqa: N803
    chunk_size: int,
    D: torch.Tensor | None = None,  # noqa: N803
    z: torch.Tensor | None = None,
    dt_bias: torch.Tensor | None = None,
    initial_states: torch.Tensor | None = None,
    seq_idx: torch.Tensor | None = None,
    cu_seqlens: torch.Tensor | None = None,
    dt_softplus: bool = False,
    dt_limit: tuple[float, float] = (0.0, math.inf),
    return_final_states: bool = False,
    return_varlen_states: bool = False,
    **_kernel_options: Any,  # state_dtype and the like: storage choices, not the function
) -> Any:
    """mamba_ssm's `mamba_chunk_scan_combined` (the chunk size only tiles the kernel's work)."""
    if seq_idx is not None or cu_seqlens is not None or return_varlen_states:
        raise NotImplementedError("mamba_chunk_scan_combined reference: packed sequences")
    y, state = selective_scan(x, dt, A, B, C, D, z, dt_bias, dt_softplus, dt_limit, initial_states)
    return (y, state) if return_final_states else y


def mamba_split_conv1d_scan_combined(
    zxbcdt: torch.Tensor,
    conv1d_weight: torch.Tensor,
    conv1d_bias: torch.Tensor | None,
    dt_bias: torch.Tensor,
    A: torch.Tensor,  # noqa: N803
    D: torch.Tensor,  # noqa: N803
    chunk_size: int,
    initial_states: torch.Tensor | None = None,
    seq_idx: torch.Tensor | None = None,
    dt_limit: tuple[float, float] = (0.0, math.inf),
    return_final_states: bool = False,
    activation: str = "silu",
    rmsnorm_weight: torch.Tensor | None = None,
    rmsnorm_eps: float = 1e-6,
    outproj_weight: torch.Tensor | None = None,
    outproj_bias: torch.Tensor | None = None,
    headdim: int | None = None,
    ngroups: int = 1,
    norm_before_gate: bool = True,
    **_kernel_options: Any,
) -> Any:
    """mamba_ssm's `mamba_split_conv1d_scan_combined`: split z|xBC|dt, causal conv on xBC, SSD scan, gate."""
    if seq_idx is not None:
        raise NotImplementedError("mamba_split_conv1d_scan_combined reference: packed sequences")
    heads = D.shape[0]
    headdim = headdim if D.dim() == 1 else D.shape[1]
    assert headdim is not None
    dim = heads * headdim
    state_dim = (zxbcdt.shape[-1] - 2 * dim - heads) // ngroups // 2
    z, xbc, dt = torch.split(zxbcdt, [dim, dim + 2 * ngroups * state_dim, heads], dim=-1)
    xbc = causal_conv1d(xbc.transpose(1, 2), conv1d_weight, conv1d_bias, activation).transpose(1, 2)
    x, b, c = torch.split(xbc, [dim, ngroups * state_dim, ngroups * state_dim], dim=-1)
    batch, length = x.shape[:2]
    x = x.reshape(batch, length, heads, headdim)
    b = b.reshape(batch, length, ngroups, state_dim)
    c = c.reshape(batch, length, ngroups, state_dim)
    zh = z.reshape(batch, length, heads, headdim)
    y, state = selective_scan(
        x,
        dt,
        A,
        b,
        c,
        D,
        zh if rmsnorm_weight is None else None,
        dt_bias,
        True,
        dt_limit,
        initial_states,
    )
    y = y.reshape(batch, length, dim)
    if rmsnorm_weight is not None:
        y = gated_rms_norm(y, z, rmsnorm_weight, rmsnorm_eps, dim // ngroups, norm_before_gate)
    if outproj_weight is not None:
        y = F.linear(y, outproj_weight, outproj_bias)
    return (y, state) if return_final_states else y


def gated_rms_norm(
    x: torch.Tensor,
    z: torch.Tensor | None,
    weight: torch.Tensor,
    eps: float,
    group_size: int,
    norm_before_gate: bool,
    bias: torch.Tensor | None = None,
) -> torch.Tensor:
    """RMSNorm over groups of `group_size` channels, gated by silu(z) before or after the norm."""
    dtype = x.dtype
    xf = x.float()
    if z is not None and not norm_before_gate:
        xf = xf * F.silu(z.float())
    grouped = xf.reshape(*xf.shape[:-1], -1, group_size)
    grouped = grouped * torch.rsqrt(grouped.pow(2).mean(-1, keepdim=True) + eps)
    out = grouped.reshape(xf.shape) * weight.float()
    if bias is not None:
        out = out + bias.float()
    if z is not None and norm_before_gate:
        out = out * F.silu(z.float())
    return out.to(dtype)


class GatedRMSNorm(torch.nn.Module):
    """mamba_ssm's `RMSNormGated` (`layernorm_gated.RMSNorm`): weight only, `forward(x, z=None)`."""

    def __init__(
        self,
        hidden_size: int,
        eps: float = 1e-5,
        group_size: int | None = None,
        norm_before_gate: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.eps = eps
        self.group_size = group_size or hidden_size
        self.norm_before_gate = norm_before_gate
        self.weight = torch.nn.Parameter(torch.ones(hidden_size, device=device, dtype=dtype))
        self.register_parameter("bias", None)

    def forward(self, x: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        return gated_rms_norm(x, z, self.weight, self.eps, self.group_size, self.norm_before_gate)


def l2norm(x: torch.Tensor, dim: int = -1, eps: float = 1e-6, output_dtype: Any = None) -> torch.Tensor:
    """fla's `l2norm`: x / sqrt(sum(x^2) + eps) along `dim`."""
    out = x.float() * torch.rsqrt(x.float().pow(2).sum(dim=dim, keepdim=True) + eps)
    return out.to(output_dtype or x.dtype)


def fla_causal_conv1d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    activation: str | None = None,
    initial_state: torch.Tensor | None = None,
    output_final_state: bool = False,
    cu_seqlens: torch.Tensor | None = None,
    **_kernel_options: Any,
) -> tuple[torch.Tensor, None]:
    """fla's `causal_conv1d` (x as (b, l, d), weight (d, w)); returns (y, None)."""
    if initial_state is not None or output_final_state or cu_seqlens is not None:
        raise NotImplementedError("fla causal_conv1d reference: cached states or packed sequences")
    return causal_conv1d(x.transpose(1, 2), weight, bias, activation).transpose(1, 2), None


def chunk_gated_delta_rule(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    g: torch.Tensor,
    beta: torch.Tensor,
    scale: float | None = None,
    initial_state: torch.Tensor | None = None,
    output_final_state: bool = False,
    use_qk_l2norm_in_kernel: bool = False,
    cu_seqlens: torch.Tensor | None = None,
    **_kernel_options: Any,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """fla's `chunk_gated_delta_rule`, one step at a time: q, k (b, l, h, dk), v (b, l, h, dv), g and beta (b, l, h).

    Per head: S_t = exp(g_t) S_{t-1}; S_t += k_t (beta_t (v_t - S_t^T k_t))^T; o_t = S_t^T (scale q_t).
    """
    if cu_seqlens is not None:
        raise NotImplementedError("chunk_gated_delta_rule reference: packed sequences")
    dtype = v.dtype
    if use_qk_l2norm_in_kernel:
        q, k = l2norm(q), l2norm(k)
    q, k, v, g, beta = (t.float() for t in (q, k, v, g, beta))
    batch, length, heads, key_dim = k.shape
    scale = key_dim**-0.5 if scale is None else scale
    state = (
        initial_state.float().clone()
        if initial_state is not None
        else q.new_zeros(batch, heads, key_dim, v.shape[-1])
    )
    outs = []
    for t in range(length):
        state = state * g[:, t].exp()[..., None, None]
        k_t = k[:, t]
        delta = (v[:, t] - torch.einsum("bhk,bhkv->bhv", k_t, state)) * beta[:, t, :, None]
        state = state + k_t[..., None] * delta[..., None, :]
        outs.append(torch.einsum("bhk,bhkv->bhv", q[:, t] * scale, state))
    out = torch.stack(outs, dim=1).to(dtype)
    return out, (state if output_final_state else None)
