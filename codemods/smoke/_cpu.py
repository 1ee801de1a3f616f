"""Run Megatron-Core's CUDA-only calls on the CPU, inside one smoke run and nowhere else.

Megatron-Core asks for the CUDA device while it builds and runs a model (rotary embeddings, attention
masks, the GPT model, routers, Mamba mixers all create tensors on `torch.cuda.current_device()`) and forks
its model-parallel CUDA RNG tracker around dropout. On a CPU-only torch both raise. Inside
`cuda_calls_on_cpu()` the device answers "cpu" and the fork is a null context; on exit every patched
attribute is restored, so nothing outside the run sees a change.
"""

from __future__ import annotations

import contextlib
from typing import Any

from codemods.smoke._hybrid import absent_kernel_patches
from codemods.smoke._scoped import scoped_patches
from codemods.smoke._te_free import te_free_cpu_patches

__all__ = ["cuda_calls_on_cpu", "kernel_references"]


def _patches() -> list[tuple[Any, str, Any]]:
    """(owner, attribute, replacement) for every CUDA-only call the CPU run must answer."""
    import torch
    from megatron.core.fusions import fused_softmax
    from megatron.core.tensor_parallel import random as tp_random

    def _null_fork(self: Any, name: str = "") -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    return [
        (torch.cuda, "current_device", lambda: "cpu"),
        # Profiler ranges (Qwen3-VL's forward marks its stages); a CPU-only torch has no NVTX.
        (torch.cuda.nvtx, "range_push", lambda msg: 0),
        (torch.cuda.nvtx, "range_pop", lambda: 0),
        (tp_random.CudaRNGStatesTracker, "fork", _null_fork),
        *te_free_cpu_patches(),
        *absent_kernel_patches(),  # pure-torch references of the Mamba / gated-delta-net kernels
        *_cuda_device_patches(),
        # The unfused softmax builds its sliding-window mask with device="cuda" (Mistral, Gemma 2/3).
        (fused_softmax, "get_sliding_window_causal_mask", _sliding_window_mask),
    ]


#: Megatron-Bridge modules that build `torch.device("cuda", torch.cuda.current_device())` on the conversion
#: path: a device *index*, which the redirected `current_device()` ("cpu") is not. MiniMax-M2's full-dimension
#: q/k norm mapping does it at TP > 1 (`_FullDimQKNormMapping.hf_to_megatron`).
_CUDA_DEVICE_MODULES = ("megatron.bridge.models.minimax_m2.minimax_m2_bridge",)


def _cuda_device_patches() -> list[tuple[Any, str, Any]]:
    """Each such module's `torch` as a view of torch whose `device("cuda", ...)` is the CPU."""
    import sys

    import torch

    return [
        (module, "torch", _torch_on_cpu())
        for name in _CUDA_DEVICE_MODULES
        if (module := sys.modules.get(name)) is not None and getattr(module, "torch", None) is torch
    ]


def _torch_on_cpu() -> Any:
    """`torch` with `torch.device` answering the CPU for any CUDA device (isinstance checks still hold).

    Example:
        >>> _torch_on_cpu().device("cuda", 0)
        device(type='cpu')
    """
    import types

    import torch

    class _DeviceType(type):
        def __call__(cls, kind: Any, index: Any = None) -> Any:
            if isinstance(kind, str) and kind.split(":")[0] == "cuda":
                return torch.device("cpu")
            return torch.device(kind) if index is None else torch.device(kind, index)

        def __instancecheck__(cls, obj: Any) -> bool:
            return isinstance(obj, torch.device)

    class _TorchOnCpu(types.ModuleType):
        device = _DeviceType("device", (), {})

        def __getattr__(self, name: str) -> Any:
            return getattr(torch, name)

    return _TorchOnCpu("torch")


def _sliding_window_mask(sq: int, skv: int, window_size: tuple[int, int]) -> Any:
    """True where a query may not attend: keys more than window_size[0] before it or window_size[1] after it
    (the [sq, skv] mask Megatron-Core's unfused softmax expects), built on the CPU."""
    import torch

    offset = torch.arange(skv)[None, :] - torch.arange(sq)[:, None] - (skv - sq)  # key - query position
    return (offset < -window_size[0]) | (offset > window_size[1])


def cuda_calls_on_cpu() -> contextlib.AbstractContextManager[None]:
    """Answer Megatron-Core's CUDA device and RNG-fork calls on the CPU until the block ends.

    Example (`model` and its inputs are a smoke run's: not run as a doctest):
        >>> with cuda_calls_on_cpu():  # doctest: +SKIP
        ...     logits = model(input_ids=ids, position_ids=pos, attention_mask=mask)
    """
    return scoped_patches(_patches())


def kernel_references() -> contextlib.AbstractContextManager[None]:
    """On CUDA: the pure-torch references for whichever Mamba / gated-delta-net kernels are absent."""
    return scoped_patches(absent_kernel_patches())
