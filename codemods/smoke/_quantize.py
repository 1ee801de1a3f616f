"""Rewrite a toy checkpoint the way published quantized checkpoints store it, keeping the dequantized reference.

Written independently of Megatron-Bridge's `quantization_utils` on purpose: the reference must not
come from the code under test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["QUANT_SCHEMES", "QuantizedCheckpoint", "quantize_state_dict", "should_quantize"]

QUANT_SCHEMES = ("none", "fp8-block", "fp8-tensor", "mxfp4")

FP8_MAX = 448.0  # largest finite float8_e4m3fn
FP8_BLOCK = 128
MXFP4_GROUP = 32
#: FP4 E2M1 code -> value (code 8..15 are the negatives); the order GPT-OSS checkpoints use.
FP4_VALUES = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0)

#: Linear weights inside decoder layers; norms, routers (`mlp.gate`, `block_sparse_moe.gate`) and biases stay.
_LINEAR = re.compile(r"(^|\.)layers\.\d+\..*\.weight$")
_SKIP = re.compile(r"norm|\.gate\.weight$|\.router\.|embed|lm_head|e_score_correction")


@dataclass
class QuantizedCheckpoint:
    """A quantized state dict and what it means."""

    scheme: str  #: one of QUANT_SCHEMES
    tensors: dict[str, Any]  #: checkpoint name -> tensor, as written to safetensors
    reference: dict[str, Any]  #: original name -> dequantized tensor (model dtype)
    quantized: list[str] = field(default_factory=list)  #: original names that were quantized
    companions: list[str] = field(default_factory=list)  #: scale / block names added

    def quantization_config(self) -> dict[str, Any]:
        """The `quantization_config` a published checkpoint of this scheme carries in config.json."""
        if self.scheme == "fp8-block":
            return {
                "quant_method": "fp8",
                "fmt": "e4m3",
                "activation_scheme": "dynamic",
                "weight_block_size": [FP8_BLOCK, FP8_BLOCK],
            }
        if self.scheme == "fp8-tensor":
            return {"quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic"}
        return {"quant_method": "mxfp4"}


#: GPT-OSS's fused expert weights ([experts, in, out]), the only tensors its MXFP4 checkpoints quantize
#: (attention, router, embeddings and the head stay bf16: `modules_to_not_convert`).
_MXFP4_EXPERTS = re.compile(r"(^|\.)layers\.\d+\.mlp\.experts\.(gate_up_proj|down_proj)$")


def should_quantize(name: str, tensor: Any, scheme: str = "fp8-block") -> bool:
    """True for the tensors a published checkpoint of `scheme` quantizes: 2-D linear weights of decoder
    layers for FP8 (DeepSeek-V3), the 3-D fused expert weights for MXFP4 (GPT-OSS)."""
    if scheme == "mxfp4":
        return tensor.ndim == 3 and bool(_MXFP4_EXPERTS.search(name))
    return tensor.ndim == 2 and bool(_LINEAR.search(name)) and not _SKIP.search(name)


def _fp8_block(w: Any) -> tuple[Any, Any, Any]:
    import torch

    rows, cols = w.shape
    br, bc = -(-rows // FP8_BLOCK), -(-cols // FP8_BLOCK)
    padded = torch.zeros(br * FP8_BLOCK, bc * FP8_BLOCK, dtype=torch.float32)
    padded[:rows, :cols] = w.float()
    blocks = padded.view(br, FP8_BLOCK, bc, FP8_BLOCK)
    amax = blocks.abs().amax(dim=(1, 3)).clamp(min=1e-12)
    scale_inv = (amax / FP8_MAX).float()  # dequantized = fp8 * scale_inv, per 128x128 block
    q = (blocks / scale_inv[:, None, :, None]).view_as(padded)[:rows, :cols].to(torch.float8_e4m3fn)
    expanded = scale_inv.repeat_interleave(FP8_BLOCK, 0).repeat_interleave(FP8_BLOCK, 1)[:rows, :cols]
    return q, scale_inv, (q.float() * expanded)


def _fp8_tensor(w: Any) -> tuple[Any, Any, Any]:
    import torch

    scale_inv = (w.float().abs().amax().clamp(min=1e-12) / FP8_MAX).reshape(())
    q = (w.float() / scale_inv).to(torch.float8_e4m3fn)
    return q, scale_inv, q.float() * scale_inv


def _mxfp4(w: Any) -> tuple[Any, Any, Any]:
    import torch

    rows, cols = w.shape
    if cols % MXFP4_GROUP:
        raise ValueError(f"mxfp4 needs the last dim divisible by {MXFP4_GROUP}, got {cols}")
    groups = w.float().view(rows, cols // MXFP4_GROUP, MXFP4_GROUP)
    amax = groups.abs().amax(dim=-1).clamp(min=2.0**-126)
    exponent = torch.ceil(torch.log2(amax / 6.0)).clamp(-127, 127)  # scaled values fit in [-6, 6]
    scaled = groups / torch.exp2(exponent)[..., None]
    values = torch.tensor(FP4_VALUES[:8])
    codes = (scaled.abs()[..., None] - values).abs().argmin(dim=-1)
    codes = codes + 8 * (scaled < 0).long()
    packed = (codes[..., 0::2] | (codes[..., 1::2] << 4)).to(torch.uint8)
    scales = (exponent + 127).to(torch.uint8)
    table = torch.tensor(FP4_VALUES)
    deq = table[codes] * torch.exp2(exponent)[..., None]
    return packed, scales, deq.reshape(rows, cols)


def quantize_state_dict(state: dict[str, Any], scheme: str) -> QuantizedCheckpoint:
    """Quantize the linear weights of `state` with `scheme`; `reference` holds what a correct import yields.

    FP8 (DeepSeek-V3 style): `X.weight` becomes float8_e4m3fn plus `X.weight_scale_inv` (one float32 per
    128x128 block for fp8-block, a scalar for fp8-tensor). MXFP4 (GPT-OSS style): the fused expert tensor
    `X` ([experts, in, out]) is replaced by `X_blocks` ([experts, out, in/32, 16] uint8, two E2M1 codes a
    byte, low nibble first) and `X_scales` ([experts, out, in/32] uint8 E8M0).

    Example:
        >>> import torch; state = {"model.layers.0.self_attn.q_proj.weight": torch.randn(256, 256)}
        >>> q = quantize_state_dict(state, "fp8-block")
        >>> q.tensors["model.layers.0.self_attn.q_proj.weight_scale_inv"].shape
        torch.Size([2, 2])
    """
    if scheme not in QUANT_SCHEMES or scheme == "none":
        raise ValueError(f"unknown quantization scheme {scheme!r}")
    out = QuantizedCheckpoint(scheme=scheme, tensors={}, reference={})
    for name, tensor in state.items():
        if not should_quantize(name, tensor, scheme):
            out.tensors[name] = tensor
            out.reference[name] = tensor
            continue
        if scheme == "mxfp4":
            # Stored as [experts, out, in] with groups of 32 along `in`, the transpose of the bf16 tensor.
            experts, cols, rows = tensor.shape
            stored = tensor.transpose(1, 2).reshape(experts * rows, cols)
            blocks, scales, deq = _mxfp4(stored)
            groups = blocks.shape[1]
            out.tensors[name + "_blocks"] = blocks.reshape(experts, rows, groups, MXFP4_GROUP // 2)
            out.tensors[name + "_scales"] = scales.reshape(experts, rows, groups)
            out.companions += [name + "_blocks", name + "_scales"]
            deq = deq.reshape(experts, rows, cols).transpose(1, 2)
        else:
            q, scale_inv, deq = (_fp8_block if scheme == "fp8-block" else _fp8_tensor)(tensor)
            out.tensors[name] = q
            out.tensors[name + "_scale_inv"] = scale_inv
            out.companions.append(name + "_scale_inv")
        out.reference[name] = deq.to(tensor.dtype)
        out.quantized.append(name)
    return out
