"""Megatron-Core local twins of the Transformer Engine modules a layer spec names, one for one.

Each twin takes the TE wrapper's constructor arguments, holds parameters of the same names (so a bridge's
mapping and Megatron-Bridge's TP handling see what they see with TE) and computes what the TE module
computes (read against `megatron/core/extensions/transformer_engine.py`, megatron-core 0.19.2):

- `TEFreeNorm` for `TENorm`: `te.pytorch.LayerNorm` / `RMSNorm` chosen by `config.normalization`, eps
  from the caller, the weight applied as `1 + w` when `config.layernorm_zero_centered_gamma` (TE's
  `zero_centered_gamma`), computed in fp32 and cast back to the input's dtype as TE's kernels do.
- `LayerNormColumnParallelLinear` for `TELayerNormColumnParallelLinear`: that norm (parameters
  `layer_norm_weight` / `layer_norm_bias`, eps `config.layernorm_epsilon`) then `ColumnParallelLinear`.
- `LocalDotProductAttention` for `TEDotProductAttention`: Megatron-Core's `DotProductAttention`, which
  reads the same `softmax_scale`, `window_size` / `window_attn_skip_freq` and `softmax_type`, and also
  accepts the TE-only keyword arguments (`k_channels`, `v_channels`, `num_splits`) and TE's post-scale
  `attention_bias`.
- `ColumnParallelGroupedLinear` / `RowParallelGroupedLinear` for `TEColumnParallelGroupedLinear` /
  `TERowParallelGroupedLinear` (experts' fc1 / fc2 under Megatron-Core's `TEGroupedMLP`): one
  `weight{i}` per local expert applied to that expert's rows, sharded by the expert TP group only.

Import it only after `_te_shim.import_megatron()` (it imports Megatron-Core).
"""

from __future__ import annotations

from typing import Any

import torch
from megatron.core.tensor_parallel import ColumnParallelLinear
from megatron.core.transformer.dot_product_attention import DotProductAttention

__all__ = [
    "ColumnParallelGroupedLinear",
    "LayerNormColumnParallelLinear",
    "LocalDotProductAttention",
    "RowParallelGroupedLinear",
    "TEFreeNorm",
    "te_norm",
]

_NORMS = ("LayerNorm", "RMSNorm")


def te_norm(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    *,
    rms: bool,
    zero_centered: bool,
    eps: float,
) -> torch.Tensor:
    """TE's LayerNorm / RMSNorm forward: statistics and affine in fp32, the result in x's dtype.

    Example:
        >>> te_norm(torch.ones(2, 4), torch.zeros(4), None, rms=True, zero_centered=True, eps=1e-6).sum()
        tensor(8.0000)
    """
    xf = x.float()
    gamma = weight.float() + 1.0 if zero_centered else weight.float()
    if rms:
        out = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps) * gamma
    else:
        beta = bias.float() if bias is not None else None
        out = torch.nn.functional.layer_norm(xf, xf.shape[-1:], gamma, beta, eps)
    return out.to(x.dtype)


def _norm_kind(config: Any) -> bool:
    """True for RMSNorm; TENorm's own error for anything TE has no norm for."""
    if config.normalization not in _NORMS:
        raise Exception("Only LayerNorm and RMSNorm are currently supported")  # TENorm's message
    return config.normalization == "RMSNorm"


def _gamma(size: int, config: Any) -> torch.nn.Parameter:
    # TE initialises a zero-centred gamma to 0 (its reset_parameters), a plain one to 1.
    fill = 0.0 if config.layernorm_zero_centered_gamma else 1.0
    return torch.nn.Parameter(torch.full((size,), fill, dtype=config.params_dtype))


class TEFreeNorm(torch.nn.Module):
    """`TENorm` without TE: parameters `weight` (and `bias` for LayerNorm), TE's function."""

    def __init__(
        self,
        config: Any,
        hidden_size: int,
        eps: float = 1e-5,
        has_residual: bool = False,
        # WrappedTorchNorm's keywords (it stands in for that too); both read the config instead.
        persist_layer_norm: bool = False,
        zero_centered_gamma: bool = False,
        normalization: str = "LayerNorm",
    ) -> None:
        super().__init__()
        if has_residual and getattr(config, "fused_residual_rmsnorm", False):
            raise ValueError("fused_residual_rmsnorm needs Transformer Engine's TEFusedResidualRMSNorm")
        self.rms = _norm_kind(config)
        self.zero_centered = bool(config.layernorm_zero_centered_gamma)
        self.eps = eps
        self.weight = _gamma(hidden_size, config)
        self.bias = (
            None if self.rms else torch.nn.Parameter(torch.zeros(hidden_size, dtype=config.params_dtype))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return te_norm(
            x, self.weight, self.bias, rms=self.rms, zero_centered=self.zero_centered, eps=self.eps
        )


class LayerNormColumnParallelLinear(ColumnParallelLinear):
    """`TELayerNormColumnParallelLinear` without TE: the input norm, then the column-parallel linear."""

    def __init__(
        self,
        input_size: int,
        output_size: int,
        *,
        config: Any,
        init_method: Any,
        gather_output: bool,
        bias: bool,
        skip_bias_add: bool,
        is_expert: bool,
        skip_weight_param_allocation: bool = False,
        tp_comm_buffer_name: str | None = None,
        tp_group: Any = None,
        stride: int = 1,
        name: str | None = None,
    ) -> None:
        # The TE wrapper's own refusals, kept so a spec TE would reject is rejected here too.
        if gather_output:
            raise ValueError("Transformer Engine linear layers do not support gather_output = True")
        if is_expert:
            raise ValueError("Transformer Engine linear layers do not yet support MoE")
        if skip_weight_param_allocation:
            raise ValueError("Transformer Engine linear layers do not support skip_weight_param_allocation")
        super().__init__(
            input_size,
            output_size,
            config=config,
            init_method=init_method,
            bias=bias,
            gather_output=False,
            stride=stride,
            skip_bias_add=skip_bias_add,
            is_expert=False,
            tp_comm_buffer_name=tp_comm_buffer_name,
            tp_group=tp_group,
            name=name,
        )
        self.norm_rms = _norm_kind(config)
        self.norm_zero_centered = bool(config.layernorm_zero_centered_gamma)
        self.norm_eps = config.layernorm_epsilon
        self.layer_norm_weight = _gamma(input_size, config)
        if not self.norm_rms:
            self.layer_norm_bias = torch.nn.Parameter(torch.zeros(input_size, dtype=config.params_dtype))
        else:
            self.layer_norm_bias = None

    def forward(
        self,
        input_: torch.Tensor,
        weight: torch.Tensor | None = None,
        runtime_gather_output: bool | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        normed = te_norm(
            input_,
            self.layer_norm_weight,
            self.layer_norm_bias,
            rms=self.norm_rms,
            zero_centered=self.norm_zero_centered,
            eps=self.norm_eps,
        )
        return super().forward(normed, weight, runtime_gather_output)


class LocalDotProductAttention(DotProductAttention):
    """`TEDotProductAttention`'s constructor on Megatron-Core's `DotProductAttention`."""

    def __init__(
        self,
        config: Any,
        layer_number: int,
        attn_mask_type: Any,
        attention_type: str,
        attention_dropout: float | None = None,
        softmax_scale: float | None = None,
        k_channels: int | None = None,
        v_channels: int | None = None,
        num_splits: int | None = None,  # a TE kernel-splitting knob; the function is the same
        cp_comm_type: str | None = "p2p",
        pg_collection: Any = None,
    ) -> None:
        if softmax_scale is None and k_channels is not None:
            softmax_scale = k_channels**-0.5  # TE's default for separate k/v head sizes
        super().__init__(
            config,
            layer_number,
            attn_mask_type,
            attention_type,
            attention_dropout=attention_dropout,
            softmax_scale=softmax_scale,
            cp_comm_type=cp_comm_type,
            pg_collection=pg_collection,
        )
        if v_channels is not None:
            heads = self.hidden_size_per_partition // self.hidden_size_per_attention_head
            self.hidden_size_per_attention_head = v_channels
            self.hidden_size_per_partition = v_channels * heads

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        attention_mask: torch.Tensor | None,
        attn_mask_type: Any = None,
        attention_bias: torch.Tensor | None = None,
        packed_seq_params: Any = None,
    ) -> torch.Tensor:
        if attention_bias is None:
            return super().forward(query, key, value, attention_mask, attn_mask_type, None, packed_seq_params)
        # TE's post-scale bias (Gemma 3 VL's causal text + bidirectional image visibility): added to the
        # scaled scores before the mask and softmax. The parent computes the scores inside one method, so its
        # softmax module sees them biased for this call only.
        softmax = self.scale_mask_softmax
        self.scale_mask_softmax = _PostScaleBias(softmax, attention_bias)
        try:
            return super().forward(query, key, value, attention_mask, attn_mask_type, None, packed_seq_params)
        finally:
            self.scale_mask_softmax = softmax


class _PostScaleBias(torch.nn.Module):
    """A softmax module whose input scores get `bias` added first."""

    def __init__(self, softmax: torch.nn.Module, bias: torch.Tensor) -> None:
        super().__init__()
        self.softmax = softmax
        self.bias = bias

    def forward(self, scores: torch.Tensor, mask: torch.Tensor | None, *rest: Any) -> torch.Tensor:
        return self.softmax(scores + self.bias.to(scores.dtype), mask, *rest)


class _GroupedLinear(torch.nn.Module):
    """TE's `GroupedLinear` for experts without TE: `weight{i}` (`bias{i}`) per local expert, each applied
    to its expert's rows of the input (split by `m_splits`).

    As in `TEGroupedLinear`, the expert TP group only shards the weights (column: the output dim, row:
    the input dim) and no communication happens here (the token dispatcher does it); a bias with
    `skip_bias_add` comes back as one tensor per expert, as TE returns it.
    """

    partition_dim = 0  #: read by Megatron-Bridge's parallelism detection (0 column, 1 row)
    tensor_model_parallel = True

    def __init__(
        self,
        num_gemms: int,
        input_size: int,
        output_size: int,
        *,
        config: Any,
        init_method: Any,
        bias: bool,
        skip_bias_add: bool,
        is_expert: bool = False,
        tp_comm_buffer_name: str | None = None,
        pg_collection: Any = None,
        name: str | None = None,
    ) -> None:
        from megatron.core.process_groups_config import ProcessGroupCollection
        from megatron.core.utils import divide

        super().__init__()
        if not is_expert:
            raise ValueError("TEGroupedLinear only supports expert parallelism")  # TE's refusal
        if pg_collection is None:
            pg_collection = ProcessGroupCollection.use_mpu_process_groups()
        tp = pg_collection.expt_tp.size()
        if self.partition_dim == 0:
            output_size = divide(output_size, tp)
        else:
            input_size = divide(input_size, tp)
        self.num_gemms, self.in_features, self.out_features = num_gemms, input_size, output_size
        self.use_bias, self.return_bias = bias, skip_bias_add and bias
        for i in range(num_gemms):
            weight = torch.nn.Parameter(torch.empty(output_size, input_size, dtype=config.params_dtype))
            if config.perform_initialization:
                init_method(weight)
            weight.allreduce = False  # expert parameters reduce over the expert data-parallel group
            self.register_parameter(f"weight{i}", weight)
            if bias:
                b = torch.nn.Parameter(torch.zeros(output_size, dtype=config.params_dtype))
                b.allreduce = False
                self.register_parameter(f"bias{i}", b)

    def forward(self, x: torch.Tensor, m_splits: list[int]) -> tuple[torch.Tensor, Any]:
        chunks = torch.split(x, m_splits)
        outs = []
        for i, chunk in enumerate(chunks):
            out = torch.nn.functional.linear(chunk, getattr(self, f"weight{i}"))
            if self.use_bias and not self.return_bias:
                out = out + getattr(self, f"bias{i}")
            outs.append(out)
        out = torch.cat(outs) if outs else x.new_zeros(0, self.out_features)
        if self.return_bias:
            return out, [getattr(self, f"bias{i}") for i in range(self.num_gemms)]
        return out, None


class ColumnParallelGroupedLinear(_GroupedLinear):
    """`TEColumnParallelGroupedLinear` without TE (experts' fc1)."""

    partition_dim = 0


class RowParallelGroupedLinear(_GroupedLinear):
    """`TERowParallelGroupedLinear` without TE (experts' fc2)."""

    partition_dim = 1
