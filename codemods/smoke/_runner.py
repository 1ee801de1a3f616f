"""The roundtrip: toy HF checkpoint -> Megatron-Core model (AutoBridge) -> HF, with its checks.

Runs in one process per rank (gloo on CPU, NCCL on CUDA); `torch.distributed.run` starts the ranks
when TP x PP > 1. Everything heavy is imported inside the functions.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from codemods.smoke._cpu import cuda_calls_on_cpu, kernel_references
from codemods.smoke._dsa import local_linear_mapped
from codemods.smoke._errors import SmokeSetupError
from codemods.smoke._logits import BATCH, SEQ_LEN, check_logits
from codemods.smoke._quantize import QuantizedCheckpoint, quantize_state_dict
from codemods.smoke._report import DEQUANT_HINT, Check, SmokeReport
from codemods.smoke._te_free import match_hf_rope, te_free_spec
from codemods.smoke._toy_config import load_source_config, toy_config_dict
from codemods.smoke._vision_logits import logits_inputs

__all__ = ["SmokeOptions", "run_smoke"]

#: Provider flags that need fused kernels (Apex / TE / CUDA-only Triton); off for the smoke run.
_FUSION_FLAGS_OFF = (
    "gradient_accumulation_fusion",
    "bias_activation_fusion",
    "bias_dropout_fusion",
    "masked_softmax_fusion",
    "persist_layer_norm",
    "apply_rope_fusion",
    "moe_permute_fusion",
    "cross_entropy_loss_fusion",
    "moe_shared_expert_overlap",
    "moe_grouped_gemm",  # the TE-free spec builds SequentialMLP (local_experts.*), which every MoE bridge maps
)
#: A quantized weight whose imported std is off the reference's by more than this factor fails.
DEQUANT_STD_FACTOR = 4.0
#: Exported vs dequantized reference: bf16 rounding of a scale or product (helpers multiply in bf16).
DEQUANT_RTOL = 1.0 / 64
_HELPER_BY_SCHEME = {
    "fp8-block": "maybe_dequantize_fp8_blockwise",
    "fp8-tensor": "maybe_dequantize_fp8",
    "mxfp4": "dequantize_mxfp4",
}


@dataclass
class SmokeOptions:
    """What to smoke-test and how."""

    model: str  #: HF model_type (qwen3) or a path to a config.json / checkpoint folder
    config: str | None = None  #: explicit config.json (overrides MODEL as a path)
    quantize: str = "none"  #: none, fp8-block, fp8-tensor, mxfp4
    device: str = "cpu"  #: cpu or cuda
    tp: int = 1
    pp: int = 1
    ep: int = 1  #: expert-parallel size (MoE)
    num_layers: int | None = (
        None  #: toy decoder layers (default: enough to cover the config's layer patterns)
    )
    seed: int = 0
    workdir: str | None = None  #: where the toy checkpoints go (a temp folder by default)
    bridge: str | None = None  #: "module:Class" of a bridge to use instead of the registered one
    architecture: str | None = None  #: HF class to build (default: the config's, else transformers')
    repo: str | None = None  #: a Megatron-Bridge tree whose src/ is imported instead of the installed one


def _rank() -> int:
    return int(os.environ.get("RANK", "0"))


def _init_distributed(opts: SmokeOptions) -> None:
    import torch
    import torch.distributed as dist

    if dist.is_initialized():
        return
    if "RANK" not in os.environ:
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        if "MASTER_PORT" not in os.environ:
            import socket

            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                os.environ["MASTER_PORT"] = str(sock.getsockname()[1])
        os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0")
    if opts.device == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend="nccl" if opts.device == "cuda" else "gloo")


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for dist_name in ("torch", "transformers", "megatron-core", "megatron-bridge"):
        try:
            out[dist_name] = version(dist_name)
        except PackageNotFoundError:
            out[dist_name] = "absent"
    return out


def _prepare_checkpoints(opts: SmokeOptions, work: Path, report: SmokeReport) -> dict[str, Any]:
    """Rank 0 writes `orig/` (toy HF checkpoint) and, when quantizing, `quant/`; returns paths and tensors."""
    from safetensors.torch import save_file

    from codemods.smoke._toy_model import build_toy_checkpoint, read_safetensors

    toy = toy_config_dict(load_source_config(opts.model, opts.config), num_layers=opts.num_layers)
    report.toy_config = toy
    report.model_type = toy["model_type"]
    orig = work / "orig"
    build_toy_checkpoint(toy, orig, seed=opts.seed, architecture=opts.architecture)
    original = read_safetensors(orig)
    architecture = json.loads((orig / "config.json").read_text())["architectures"][0]
    result: dict[str, Any] = {
        "toy": toy,
        "orig": orig,
        "load": orig,
        "original": original,
        "quant": None,
        "architecture": architecture,
    }
    if opts.quantize != "none":
        quant = quantize_state_dict(original, opts.quantize)
        qdir = work / "quant"
        qdir.mkdir(parents=True, exist_ok=True)
        config = json.loads((orig / "config.json").read_text())
        config["quantization_config"] = quant.quantization_config()
        (qdir / "config.json").write_text(json.dumps(config, indent=2))
        for extra in orig.glob("generation_config.json"):
            (qdir / extra.name).write_text(extra.read_text())
        save_file({k: v.contiguous() for k, v in quant.tensors.items()}, str(qdir / "model.safetensors"))
        # The dequantized reference as an HF checkpoint of its own, for the HF side of the logits check.
        rdir = work / "reference"
        rdir.mkdir(parents=True, exist_ok=True)
        (rdir / "config.json").write_text((orig / "config.json").read_text())
        save_file({k: v.contiguous() for k, v in quant.reference.items()}, str(rdir / "model.safetensors"))
        result.update(load=qdir, quant=quant, reference_dir=rdir)
    return result


def _hf_names(mapping: Any) -> list[str]:
    hf = mapping.hf_param
    return [hf] if isinstance(hf, str) else list(hf.values())


def _gather(obj: Any) -> list[Any]:
    import torch.distributed as dist

    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def _dequantize_exported(name: str, exported: dict[str, Any]) -> Any:
    """An exported tensor as values: FP8 with a `_scale_inv` companion (requantized export) is dequantized."""
    import torch

    tensor = exported[name]
    scale = exported.get(name + "_scale_inv")
    if tensor.dtype != torch.float8_e4m3fn or scale is None:
        return tensor
    if scale.ndim == 2:
        rows, cols = tensor.shape
        scale = scale.repeat_interleave(128, 0).repeat_interleave(128, 1)[:rows, :cols]
    return tensor.float() * scale.float()


def _check_mapping(
    tasks: list[Any], model_params: list[str], hf_keys: set[str], companions: set[str]
) -> Check:
    task_params = {t.global_param_name for t in tasks if t is not None}
    used_hf = {name for t in tasks if t is not None for name in _hf_names(t.mapping)}
    # Each rank has tasks for its own shard only (its experts under EP): the union is what counts.
    per_rank = _gather((sorted(task_params), sorted(used_hf), sorted(model_params)))
    task_params = {n for names, _, _ in per_rank for n in names}
    used_hf = {n for _, names, _ in per_rank for n in names}
    model_params = sorted({n for _, _, names in per_rank for n in names})
    unmapped_megatron = sorted(set(model_params) - task_params)
    unmapped_hf = sorted(hf_keys - used_hf - companions)
    ok = not unmapped_megatron and not unmapped_hf
    return Check(
        "mapping",
        "pass" if ok else "fail",
        f"{len(hf_keys - companions) - len(unmapped_hf)}/{len(hf_keys - companions)} HF tensors mapped, "
        f"{len(model_params) - len(unmapped_megatron)}/{len(model_params)} Megatron params have a task"
        + ("" if ok else f"; unmapped HF: {unmapped_hf[:5]}; unmapped Megatron: {unmapped_megatron[:5]}"),
        {"unmapped_hf": unmapped_hf, "unmapped_megatron": unmapped_megatron},
    )


def _stop_if_params_unmapped(mapping: Check, bridge: str) -> None:
    """Megatron-Bridge's import dereferences a missing task (AttributeError on None); say what is missing."""
    unmapped = mapping.details["unmapped_megatron"]
    if unmapped:
        raise SmokeSetupError(
            f"{bridge} maps no HF tensor to {len(unmapped)} Megatron params (e.g. {unmapped[0]}); the import "
            "cannot run"
        )


def _check_filled(model: list[Any]) -> Check:
    import torch

    unfilled = []
    total = 0
    for chunk in model:
        for name, param in chunk.named_parameters():
            total += 1
            if torch.isnan(param.detach().float()).any():
                unfilled.append(name)
    per_rank = _gather((total, unfilled))
    total = sum(t for t, _ in per_rank)
    unfilled = sorted({n for _, names in per_rank for n in names})
    return Check(
        "filled",
        "pass" if not unfilled else "fail",
        f"{total - len(unfilled)}/{total} Megatron params written by the import (all ranks)"
        + (f"; never written: {unfilled[:5]}" if unfilled else ""),
        {"unfilled": unfilled, "total": total},
    )


def _check_export(exported: dict[str, Any], expected: dict[str, Any], quantized: bool) -> Check:
    import torch

    missing = sorted(set(expected) - set(exported))
    extra = sorted(
        k for k in set(exported) - set(expected) if not k.endswith(("_scale_inv", "_blocks", "_scales"))
    )
    mismatched: dict[str, float] = {}
    worst = 0.0
    for name in sorted(set(expected) & set(exported)):
        ref = expected[name]
        got = _dequantize_exported(name, exported) if quantized else exported[name]
        if got.shape != ref.shape:
            mismatched[name] = math.inf
            continue
        if quantized:
            diff = (got.float() - ref.float()).abs()
            bound = DEQUANT_RTOL * ref.float().abs() + 1e-8
            excess = float((diff - bound).max())
            worst = max(worst, float(diff.max()))
            if excess > 0:
                mismatched[name] = float(diff.max())
        elif not torch.equal(got.to(ref.dtype), ref):
            mismatched[name] = float((got.float() - ref.float()).abs().max())
            worst = max(worst, mismatched[name])
    ok = not missing and not mismatched
    what = f"equal to the dequantized reference (rtol {DEQUANT_RTOL:g})" if quantized else "bit-exact"
    summary = f"{len(expected) - len(missing) - len(mismatched)}/{len(expected)} tensors {what}, max |diff| {worst:.3g}"
    if missing:
        summary += f"; not exported: {missing[:5]}"
    if mismatched:
        summary += f"; differ: {list(mismatched)[:5]}"
    return Check(
        "export",
        "pass" if ok else "fail",
        summary,
        {"missing": missing, "extra": extra, "mismatched": mismatched, "max_abs_diff": worst},
    )


def _check_dequant(tasks: list[Any], quant: QuantizedCheckpoint, bridge_obj: Any) -> Check:
    """Std of each imported Megatron param built from quantized weights against the dequantized reference."""
    import torch
    from megatron.bridge.models.conversion.model_bridge import MegatronModelBridge

    quantized = set(quant.quantized)
    rows = []
    for task in tasks:
        if task is None or task.param_weight is None:
            continue
        names = [n for n in _hf_names(task.mapping) if n in quantized]
        if not names:
            continue
        ref = torch.cat([quant.reference[n].float().flatten() for n in names])
        got = task.param_weight.detach().float()
        got_std = float(got.std()) if not torch.isnan(got).any() else math.nan
        ref_std = float(ref.std())
        ratio = got_std / ref_std if ref_std > 0 else math.inf
        rows.append(
            {
                "param": task.global_param_name,
                "imported_std": got_std,
                "reference_std": ref_std,
                "ratio": ratio,
            }
        )
    rows = [r for per_rank in _gather(rows) for r in per_rank]
    bad = [r for r in rows if not (1 / DEQUANT_STD_FACTOR <= r["ratio"] <= DEQUANT_STD_FACTOR)]
    overrides = (
        type(bridge_obj).maybe_modify_loaded_hf_weight
        is not MegatronModelBridge.maybe_modify_loaded_hf_weight
    )
    details = {"params": rows, "bridge_overrides_hook": overrides, "quantized_hf_tensors": len(quantized)}
    if not rows:
        return Check(
            "dequantization",
            "fail",
            f"no Megatron param was imported from the {len(quantized)} quantized HF tensors; {DEQUANT_HINT}",
            details,
        )
    if not bad:
        worst = max(rows, key=lambda r: abs(math.log(r["ratio"])))
        return Check(
            "dequantization",
            "pass",
            f"{len(rows)} params from quantized weights, imported std within x{DEQUANT_STD_FACTOR:g} of the "
            f"reference (worst {worst['param']}: {worst['imported_std']:.3g} vs {worst['reference_std']:.3g})",
            details,
        )
    worst = max(bad, key=lambda r: abs(math.log(r["ratio"])) if r["ratio"] == r["ratio"] else math.inf)
    hook = "overrides" if overrides else "does not override"
    return Check(
        "dequantization",
        "fail",
        f"{len(bad)}/{len(rows)} params off: {worst['param']} imported std {worst['imported_std']:.3g} vs "
        f"{worst['reference_std']:.3g} for the dequantized reference; {type(bridge_obj).__name__} {hook} "
        f"maybe_modify_loaded_hf_weight and loads raw {quant.scheme} values: {DEQUANT_HINT} "
        f"(e.g. {_HELPER_BY_SCHEME[quant.scheme]})",
        details,
    )


@contextlib.contextmanager
def _dev_bridge_registered(spec: str | None, architecture: str) -> Iterator[None]:
    """Import the bridge class `module:Class` and make AutoBridge dispatch `architecture` to it, until
    the block ends (Megatron-Bridge's dispatch tables are restored then).

    Importing the module runs its `register_bridge` decorator (for whatever source it names); the class
    is then registered for the toy's architecture too, so a bridge for an architecture the installed
    Megatron-Bridge does not know yet can be tested before AutoBridge validates the checkpoint.
    """
    if spec is None:
        yield
        return
    import importlib

    import transformers
    from megatron.bridge.models.conversion import model_bridge as mb
    from megatron.core.models.gpt import GPTModel

    tables = [
        getattr(mb, name)
        for name in (
            "get_model_bridge",
            "stream_weights_megatron_to_hf",
            "stream_weights_megatron_to_hf_quant",
        )
        if hasattr(mb, name)
    ]
    saved = [dict(table._exact_types) for table in tables]
    try:
        module_name, _, cls_name = spec.partition(":")
        try:
            bridge_cls = getattr(importlib.import_module(module_name), cls_name)
        except (ImportError, AttributeError) as exc:
            raise SmokeSetupError(f"--bridge {spec}: cannot import it ({type(exc).__name__}: {exc})") from exc
        target = _registered_target(mb, bridge_cls) or GPTModel
        for source in {architecture, getattr(transformers, architecture, architecture)}:
            mb.register_bridge_implementation(source=source, target=target, bridge_class=bridge_cls)
        yield
    finally:
        for table, entries in zip(tables, saved, strict=True):
            table._exact_types.clear()
            table._exact_types.update(entries)
            table._dispatch_cache.clear()


def _registered_target(mb: Any, bridge_cls: type) -> Any:
    """The Megatron model class the decorator of `bridge_cls`, or of the nearest registered base, named (a
    subclass of a VLM bridge converts the same VLM model class), else None."""
    for cls in bridge_cls.__mro__:
        for key, impl in mb.stream_weights_megatron_to_hf._exact_types.items():
            cells = [c.cell_contents for c in (getattr(impl, "__closure__", None) or ())]
            if isinstance(key, tuple) and len(key) == 2 and cls in cells:
                return key[1]
    return None


def _roundtrip(opts: SmokeOptions, report: SmokeReport, work: Path, timings: dict[str, float]) -> None:
    import torch.distributed as dist

    t0 = time.perf_counter()
    prepared = _prepare_checkpoints(opts, work, report) if _rank() == 0 else None
    prepared = _gather(prepared)[0] if dist.get_world_size() > 1 else prepared
    report.toy_config = prepared["toy"]
    report.model_type = prepared["toy"]["model_type"]
    timings["toy_checkpoint"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    from codemods.smoke._te_shim import import_megatron

    import_megatron()
    from megatron.bridge import AutoBridge
    from megatron.core import parallel_state

    timings["import_megatron"] = time.perf_counter() - t0
    redirected = cuda_calls_on_cpu() if opts.device == "cpu" else kernel_references()
    with redirected, _dev_bridge_registered(opts.bridge, prepared["architecture"]):
        _convert_and_check(opts, report, prepared, timings, AutoBridge, parallel_state)


def _convert_and_check(
    opts: SmokeOptions,
    report: SmokeReport,
    prepared: dict[str, Any],
    timings: dict[str, float],
    AutoBridge: Any,  # noqa: N803 - the class, imported by the caller after the TE set-up
    parallel_state: Any,
) -> None:
    import torch

    t0 = time.perf_counter()
    bridge = AutoBridge.from_hf_pretrained(str(prepared["load"]))
    model_bridge = bridge._model_bridge
    report.bridge = type(model_bridge).__name__
    report.architecture = (bridge.hf_pretrained.config.architectures or ["?"])[0]
    provider = bridge.to_megatron_provider(load_weights=False)
    report.adjustments.extend(te_free_spec(provider))
    for flag in _FUSION_FLAGS_OFF:
        if getattr(provider, flag, False):
            setattr(provider, flag, False)
            report.adjustments.append(f"{flag} -> False")
    if hasattr(provider, "cross_entropy_fusion_impl"):
        provider.cross_entropy_fusion_impl = "native"
    provider.tensor_model_parallel_size = opts.tp
    provider.pipeline_model_parallel_size = opts.pp
    # Megatron-Core's default splits experts like the rest (ETP = TP). EP spreads whole experts over the
    # ranks (ETP = 1 so that EP x ETP fits the world), and expert biases (GPT-OSS) need ETP = 1 as well.
    moe = bool(getattr(provider, "num_moe_experts", None))
    expert_tp = (
        1 if opts.ep > 1 or (moe and opts.tp > 1 and getattr(provider, "add_bias_linear", False)) else None
    )
    if moe:
        if opts.ep > 1:
            provider.expert_model_parallel_size = opts.ep
        if expert_tp is not None:
            provider.expert_tensor_parallel_size = expert_tp
    elif opts.ep > 1:
        report.adjustments.append(f"EP={opts.ep} not applied: the model has no experts")
    provider.sequence_parallel = False
    report.adjustments.extend(match_hf_rope(provider, bridge.hf_pretrained.config))
    if opts.device == "cpu":
        provider.use_cpu_initialization = True
        if getattr(provider, "num_moe_experts", None):
            # The all-to-all dispatcher creates a CUDA stream at construction.
            provider.moe_token_dispatcher_type = "allgather"
            report.adjustments.append("moe_token_dispatcher_type -> allgather (CPU)")
    elif getattr(provider, "moe_token_dispatcher_type", None) == "flex":
        report.adjustments.extend(_flex_dispatcher_available(provider))
    provider.finalize()
    if not parallel_state.model_parallel_is_initialized():
        parallel_state.initialize_model_parallel(
            opts.tp,
            opts.pp,
            expert_model_parallel_size=opts.ep,
            expert_tensor_parallel_size=expert_tp,
        )
    if opts.device == "cuda":
        from megatron.core import tensor_parallel

        tensor_parallel.model_parallel_cuda_manual_seed(opts.seed)
    model = provider.provide_distributed_model(
        wrap_with_ddp=False, use_cpu_initialization=opts.device == "cpu", bf16=False, fp16=False
    )
    with torch.no_grad():
        for chunk in model:
            for param in chunk.parameters():
                param.fill_(math.nan)  # whatever the import does not write stays NaN
    timings["build_megatron"] = time.perf_counter() - t0
    with local_linear_mapped(model) as notes:
        report.adjustments.extend(notes)
        _check_conversion(opts, report, prepared, timings, bridge, model)


def _flex_dispatcher_available(provider: Any) -> list[str]:
    """The flex dispatcher (MiniMax-M3 asks for it) needs DeepEP or HybridEP, which these machines cannot
    install; without its backend the all-to-all dispatcher routes the same tokens to the same experts."""
    from megatron.core.transformer.moe import fused_a2a

    backend = getattr(provider, "moe_flex_dispatcher_backend", "deepep")
    if getattr(fused_a2a, "HAVE_HYBRIDEP" if backend == "hybridep" else "HAVE_DEEP_EP", False):
        return []
    provider.moe_token_dispatcher_type = "alltoall"
    return [f"moe_token_dispatcher_type flex ({backend}, not installed) -> alltoall (same routing)"]


def _check_conversion(
    opts: SmokeOptions,
    report: SmokeReport,
    prepared: dict[str, Any],
    timings: dict[str, float],
    bridge: Any,
    model: list[Any],
) -> None:
    """Mapping, import, export and logits checks of the built Megatron `model`."""
    model_bridge = bridge._model_bridge
    t0 = time.perf_counter()
    tasks = bridge.get_conversion_tasks(model)
    unwrapped_names = sorted(
        {t.global_param_name for t in tasks if t is not None} | _global_param_names(model_bridge, model)
    )
    hf_keys = set(bridge.hf_pretrained.state.source.get_all_keys())
    quant: QuantizedCheckpoint | None = prepared["quant"]
    companions = set(quant.companions) if quant else set()
    if quant and quant.scheme == "mxfp4":
        # The bf16 name is gone from an MXFP4 checkpoint; the bridge is expected to ask for it.
        hf_keys |= set(quant.quantized)
    report.checks.append(_check_mapping(tasks, unwrapped_names, hf_keys, companions))
    _stop_if_params_unmapped(report.checks[-1], report.bridge)
    bridge.load_hf_weights(model)
    timings["import"] = time.perf_counter() - t0
    report.checks.append(_check_filled(model))
    if quant:
        report.checks.append(_check_dequant(bridge.get_conversion_tasks(model), quant, model_bridge))

    t0 = time.perf_counter()
    exported = {
        name: tensor for name, tensor in bridge.export_hf_weights(model, cpu=True, show_progress=False)
    }
    timings["export"] = time.perf_counter() - t0
    expected = quant.reference if quant else prepared["original"]
    report.checks.append(_check_export(exported, expected, quantized=quant is not None))

    t0 = time.perf_counter()
    hf_dir = prepared.get("reference_dir", prepared["orig"])
    vocab = int(
        report.toy_config.get("vocab_size") or report.toy_config.get("text_config", {}).get("vocab_size")
    )
    hf_config = bridge.hf_pretrained.config
    inputs = logits_inputs(
        hf_config, report.architecture, report.bridge, model[0], vocab, BATCH, SEQ_LEN, opts.seed, opts.device
    )
    if inputs is not None:
        report.adjustments.append(inputs.note)
    report.checks.extend(
        check_logits(
            model,
            hf_dir,
            report.architecture,
            vocab,
            device=opts.device,
            tp=opts.tp,
            pp=opts.pp,
            seed=opts.seed,
            inputs=inputs,
        )
    )
    timings["logits"] = time.perf_counter() - t0


def _global_param_names(model_bridge: Any, model: list[Any]) -> set[str]:
    names = model_bridge._megatron_global_param_names_all_pp_ranks(model)
    return {n for n in names if "_extra_state" not in n}


def world_size(opts: SmokeOptions) -> int:
    """Ranks a run needs: PP stages of lcm(TP, EP) ranks (experts spread over the data-parallel ranks)."""
    return opts.pp * math.lcm(opts.tp, opts.ep)


def run_smoke(opts: SmokeOptions) -> SmokeReport:
    """Run one smoke test in this process (one rank); every rank returns the same report.

    Example (a toy roundtrip, ~30 s on CPU: not run as a doctest):
        >>> run_smoke(SmokeOptions(model="qwen3")).passed  # doctest: +SKIP
        True
    """
    start = time.perf_counter()
    report = SmokeReport(
        model=opts.model, quantize=opts.quantize, device=opts.device, tp=opts.tp, pp=opts.pp, ep=opts.ep
    )
    if opts.repo:
        sys.path.insert(0, str(Path(opts.repo) / "src"))
    report.versions = _versions()
    timings: dict[str, float] = {}
    _init_distributed(opts)
    tmp = None
    if opts.workdir:
        work = Path(opts.workdir)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="bridgesmith-smoke-")
        work = Path(tmp.name)
    # Megatron-Core writes attention-backend switches (NVTE_*) into the environment while it builds a
    # model; they belong to this run only.
    nvte_before = {k: v for k, v in os.environ.items() if k.startswith("NVTE_")}
    try:
        _roundtrip(opts, report, work, timings)
    except Exception as exc:  # noqa: BLE001 - any crash of the roundtrip is a failed smoke test, reported
        import traceback

        report.error = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        report.traceback = "".join(traceback.format_exception(exc)[-6:])
    finally:
        import torch.distributed as dist

        if dist.get_world_size() > 1:
            dist.barrier()
        if tmp is not None and _rank() == 0:
            tmp.cleanup()
        for key in [k for k in os.environ if k.startswith("NVTE_")]:
            del os.environ[key]
        os.environ.update(nvte_before)
    timings["total"] = time.perf_counter() - start
    report.timings_s = {k: round(v, 2) for k, v in timings.items()}
    return report


def options_to_json(opts: SmokeOptions) -> str:
    return json.dumps(asdict(opts))


def options_from_json(text: str) -> SmokeOptions:
    return SmokeOptions(**json.loads(text))


#: set (to anything) to run every case in a process of its own, imports included (the reference of
#: bench/smoke_fork_speed.py; a way out should forking ever misbehave)
FRESH_PROCESSES = "BRIDGESMITH_SMOKE_FRESH_PROCESSES"


def _run_case(options_json: str, report_path: str) -> int:
    """One single-rank run that writes its report: what `python -m codemods.smoke` does on rank 0."""
    report = run_smoke(options_from_json(options_json))
    report.write(Path(report_path))
    return 0 if report.passed else 1


def run_smoke_subprocess(
    opts: SmokeOptions, log: Path, python: str | None = None, timeout: float | None = None
) -> SmokeReport:
    """Run the smoke test in fresh processes (`torch.distributed.run` when it needs several ranks), with
    everything the libraries print going to `log`.

    A fresh process keeps Megatron's global state (parallel groups, the TE stub, the CPU redirection)
    out of the caller, and one case's crash out of the next.
    """
    import subprocess

    world = world_size(opts)
    with tempfile.TemporaryDirectory(prefix="bridgesmith-smoke-report-") as tmp:
        report_path = Path(tmp) / "report.json"
        paths = [str(Path(__file__).resolve().parents[2])]
        if opts.repo:
            paths.insert(0, str(Path(opts.repo) / "src"))
        env = {
            # A rendezvous this process set up for an in-process run (tests) is not the child's: it picks its
            # own; nor are the attention-backend switches Megatron-Core sets while it builds (NVTE_*).
            **{
                k: v
                for k, v in os.environ.items()
                if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_PORT") and not k.startswith("NVTE_")
            },
            "PYTHONPATH": os.pathsep.join([*paths, os.environ.get("PYTHONPATH", "")]),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
        }
        log.parent.mkdir(parents=True, exist_ok=True)
        returncode: int | str
        if (
            world == 1
            and opts.device == "cpu"
            and not opts.repo
            and python is None
            and not os.environ.get(FRESH_PROCESSES)
        ):
            # this interpreter's own stack: forked from a process that imported it once (`_warm`)
            from codemods.smoke._warm import forked_run

            returncode = forked_run(_run_case, (options_to_json(opts), str(report_path)), env, log, timeout)
        else:
            launcher = [python or sys.executable]
            if world > 1:
                launcher += ["-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={world}"]
            cmd = [*launcher, "-m", "codemods.smoke", options_to_json(opts), str(report_path)]
            with log.open("w") as out:
                try:
                    returncode = subprocess.run(
                        cmd, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, check=False
                    ).returncode
                except subprocess.TimeoutExpired:
                    returncode = f"killed after {timeout:g} s"
        if report_path.is_file():
            report = SmokeReport.from_dict(json.loads(report_path.read_text()))
            report.log = str(log)
            return report
    report = SmokeReport(
        model=opts.model, quantize=opts.quantize, device=opts.device, tp=opts.tp, pp=opts.pp, ep=opts.ep
    )
    tail = [line for line in log.read_text(errors="replace").splitlines() if line.strip()][-1:] or [""]
    report.error = f"smoke process exited {returncode} without a report: {tail[0][:300]}"
    report.log = str(log)
    return report
