"""The logits check: the toy HF model and the Megatron model it was converted into, on the same tokens.

The verdict compares both in fp32 (CPU and CUDA alike) with a tight tolerance: a correct bridge agrees
to about 1e-6 of the logit scale (1.1e-5 at most on CPU, Gemma 4, measured over every passing family;
GLM's 7e-5 was a latent-norm eps the toy now shows), a bridge that computes another function
(interleaved RoPE missed, NoPE layers, multipliers, q/k norm order, a wrong eps) is off by 1e-3 or more. On CUDA a bf16 HF forward is compared as well, as information only: bf16
noise of correct bridges (max 0.48, mean 0.023 measured on an H200) overlaps the error of wrong ones
(max 0.07, mean 0.011), so bf16 figures cannot tell them apart (`bench/results/logits_margin.md`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from codemods.smoke._report import Check

if TYPE_CHECKING:
    from codemods.smoke._vision_logits import LogitsInputs

__all__ = ["BF16_MAX_RTOL", "BF16_MEAN_RTOL", "FP32_RTOL", "check_logits"]

#: fp32 verdict: max |HF - Megatron| <= FP32_RTOL * max(1, max |HF logit|).
FP32_RTOL = 1e-4
#: bf16 (CUDA only, information beside the verdict): HF in bf16 against Megatron in fp32. The bounds
#: are the largest noise measured for correct bridges; a run beyond them is worth a look, not a failure.
BF16_MAX_RTOL = 0.5
BF16_MEAN_RTOL = 0.03
SEQ_LEN = 32
BATCH = 2


def _inputs(vocab: int, seed: int, device: str) -> tuple[Any, Any, Any]:
    import torch

    gen = torch.Generator().manual_seed(seed + 1)
    ids = torch.randint(0, vocab, (BATCH, SEQ_LEN), generator=gen).to(device)
    pos = torch.arange(SEQ_LEN, device=device).unsqueeze(0).expand(BATCH, -1)
    mask = torch.triu(torch.ones(SEQ_LEN, SEQ_LEN, dtype=torch.bool, device=device), diagonal=1)[None, None]
    return ids, pos, mask


def _megatron_logits(
    model: list[Any], ids: Any, pos: Any, mask: Any, vocab: int, tp: int, **extra: Any
) -> Any:
    import torch
    from megatron.core.tensor_parallel.mappings import gather_from_tensor_model_parallel_region

    with torch.no_grad():
        out = model[0].eval()(input_ids=ids, position_ids=pos, attention_mask=mask, **extra)
        if isinstance(out, tuple):  # VLMs that also return the (CP-sliced) loss mask: Gemma 3, Ministral 3
            out = out[0]
        if tp > 1 and out.shape[-1] < vocab:  # vocab-parallel logits
            out = gather_from_tensor_model_parallel_region(out)
    return out[..., :vocab].float()


def _hf_logits(hf_dir: Path, arch: str, ids: Any, dtype: Any, device: str, **extra: Any) -> Any:
    import torch
    import transformers

    # Eager attention is the reference: SDPA silently drops attention-logit softcapping (Gemma 2).
    model = (
        getattr(transformers, arch)
        .from_pretrained(str(hf_dir), dtype=dtype, attn_implementation="eager")
        .to(device)
        .eval()
    )
    with torch.no_grad():
        return model(input_ids=ids, **extra).logits.float()


def _figures(mg: Any, hf: Any) -> dict[str, float]:
    diff = (mg - hf).abs()
    return {
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "max_abs_logit": float(hf.abs().max()),
        "argmax_agreement": float((mg.argmax(-1) == hf.argmax(-1)).float().mean()),
    }


def check_logits(
    model: list[Any],
    hf_dir: Path,
    arch: str,
    vocab: int,
    *,
    device: str,
    tp: int,
    pp: int,
    seed: int,
    inputs: LogitsInputs | None = None,
) -> list[Check]:
    """The fp32 verdict, plus (on CUDA) the bf16 figures; `model` is the Megatron model in fp32.

    `inputs` (VLMs, `_vision_logits`) replaces the random text tokens and adds each side's image arguments.
    """
    import torch

    if pp > 1:
        return [Check("logits", "skipped", "skipped (PP > 1 needs a pipeline schedule)")]
    if inputs is not None and inputs.refusal:
        return [Check("logits", "fail", inputs.refusal)]
    ids, pos, mask = _inputs(vocab, seed, device)
    hf_extra: dict[str, Any] = {}
    mg_extra: dict[str, Any] = {}
    if inputs is not None:
        ids, hf_extra, mg_extra = inputs.ids, inputs.hf, inputs.megatron
    # TF32 would put the GPU's fp32 matmuls and convolutions at bf16-like precision.
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        mg = _megatron_logits(model, ids, pos, mask, vocab, tp, **mg_extra)
        hf = _hf_logits(hf_dir, arch, ids, torch.float32, device, **hf_extra)
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved
    fig = _figures(mg, hf)
    scale = max(1.0, fig["max_abs_logit"])
    tol = FP32_RTOL * scale
    ok = fig["max_abs_diff"] <= tol and bool(torch.isfinite(mg).all())
    summary = (
        f"fp32 |HF - Megatron| max {fig['max_abs_diff']:.3g} (<= {tol:.3g} = {FP32_RTOL:g} x max(1, "
        f"max|logit| {fig['max_abs_logit']:.3g})), mean {fig['mean_abs_diff']:.3g}; argmax agreement "
        f"{fig['argmax_agreement']:.3f}"
    )
    if not ok and inputs is not None:
        summary += inputs.where_beyond((mg - hf).abs().amax(dim=(0, 2)), tol)  # text or image path
    checks = [
        Check(
            "logits",
            "pass" if ok else "fail",
            summary,
            {
                **fig,
                "tolerance": tol,
                "dtype": "float32",
                "input_shape": [BATCH, SEQ_LEN],
                **({"inputs": inputs.note} if inputs is not None else {}),
            },
        )
    ]
    if device == "cuda":
        hf16 = _hf_logits(hf_dir, arch, ids, torch.bfloat16, device, **hf_extra)
        fig16 = _figures(mg, hf16)
        scale16 = max(1.0, fig16["max_abs_logit"])
        max_tol, mean_tol = BF16_MAX_RTOL * scale16, BF16_MEAN_RTOL * scale16
        within = fig16["max_abs_diff"] <= max_tol and fig16["mean_abs_diff"] <= mean_tol
        checks.append(
            Check(
                "logits_bf16",
                "info",
                f"bf16 HF vs fp32 Megatron (information): max {fig16['max_abs_diff']:.3g}, mean "
                f"{fig16['mean_abs_diff']:.3g} ({'within' if within else 'beyond'} the noise of correct "
                f"bridges: {max_tol:.3g} / {mean_tol:.3g}); argmax agreement {fig16['argmax_agreement']:.3f}",
                {
                    **fig16,
                    "max_noise": max_tol,
                    "mean_noise": mean_tol,
                    "within_noise": within,
                    "dtype": "bfloat16",
                },
            )
        )
    return checks
