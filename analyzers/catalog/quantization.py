"""Quantized weight formats named in source text: the one marker table of the catalog and MBR036.

The catalog records which formats a bridge's load hook dequantizes (`BridgeRecord.dequant_formats`,
what `nearest` and `inspect` read); MBR036 looks for the same markers inside one function.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Marker:
    """A lower-case piece of source text that points to a quantized weight format."""

    text: str
    format: str  #: "fp8" | "mxfp4" | "int4"
    label: str  #: how a message names what the marker shows
    #: it names the format on its own; otherwise it only counts inside dequantization code (`_blocks` is
    #: also `transformer_blocks`, INT4 compressed tensors have a `weight_scale` too)
    outright: bool = True


#: in the order MBR036 picks a function's label: the first marker its text holds
MARKERS = (
    Marker("float8_e4m3fn", "fp8", "FP8"),
    Marker("scale_inv", "fp8", "FP8 block-wise"),
    Marker("weight_scale", "fp8", "FP8", outright=False),
    Marker("e2m1", "mxfp4", "E2M1", outright=False),
    Marker("mxfp4", "mxfp4", "MXFP4"),
    Marker("_blocks", "mxfp4", "BLOCKS", outright=False),
    Marker("_scales", "mxfp4", "SCALES", outright=False),
    Marker("int4", "int4", "INT4"),
    Marker("fp8", "fp8", "FP8"),
)
#: formats the shared helpers do not cover (NVFP4)
UNCOVERED = ("nvfp4", "float4_e2m1fn_x2")
#: the load hook a bridge dequantizes in
LOAD_HOOK = "maybe_modify_loaded_hf_weight"


def formats_named(text: str) -> list[str]:
    """The formats `text` (lower case) names outright, sorted.

    >>> formats_named("if w.dtype == torch.float8_e4m3fn: w = dequantize(w, state[k + '_scale_inv'])")
    ['fp8']
    >>> formats_named("self.transformer_blocks")
    []
    """
    return sorted({m.format for m in MARKERS if m.outright and m.text in text})


def first_marker(text: str) -> Marker | None:
    """The first marker (in MARKERS' order) that `text` (lower case) holds.

    >>> first_marker("weight_scale_inv").label
    'FP8 block-wise'
    """
    return next((m for m in MARKERS if m.text in text), None)
