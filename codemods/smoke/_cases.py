"""Which smoke cases the installed Megatron-Bridge offers: every registered bridge, by HF architecture.

Read from Megatron-Bridge's own dispatch table (`get_model_bridge`), so a bridge counts exactly when
AutoBridge would pick it. Each architecture becomes a case with the transformers model_type that builds
it, or a skip reason (no class in the installed transformers, a diffusion bridge).
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from analyzers.errors import ConfigError

__all__ = ["SmokeCase", "registered_cases", "registered_cases_in_subprocess"]


@dataclass(frozen=True)
class SmokeCase:
    """One registered architecture and how the sweep runs it."""

    architecture: str
    bridge: str  #: bridge class name
    module: str  #: the bridge's module
    family: str  #: the `models/<family>` folder of the bridge
    model_type: str | None  #: transformers' model_type that builds `architecture` (None: cannot)
    quantize: str | None  #: scheme for the dequantization column (bridges that dequantize on load)
    skip: str | None = None  #: why the sweep does not run it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _model_types_by_architecture() -> dict[str, list[str]]:
    from transformers.models.auto import modeling_auto

    out: dict[str, list[str]] = {}
    for table in (
        "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES",
        "MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES",
        "MODEL_FOR_VISION_2_SEQ_MAPPING_NAMES",
        "MODEL_MAPPING_NAMES",
    ):
        for model_type, names in getattr(modeling_auto, table, {}).items():
            for name in names if isinstance(names, list | tuple) else [names]:
                out.setdefault(name, [])
                if model_type not in out[name]:
                    out[name].append(model_type)
    return out


def _pick_model_type(candidates: list[str]) -> str:
    # A causal-LM class shared by a composite config and its text part (qwen3_5 / qwen3_5_text) is
    # built from the text config: that is what a text checkpoint of it carries.
    text = [c for c in candidates if c.endswith("_text")]
    return (text or candidates)[0]


def _family(module: str) -> str:
    parts = module.split(".")
    if "models" in parts and parts.index("models") + 1 < len(parts) - 1:
        return parts[parts.index("models") + 1]
    return parts[-2] if len(parts) > 1 else module


def _dequant_scheme(bridge_cls: type) -> str | None:
    """The quantized format a bridge dequantizes on load (it overrides the load hook for it), else None."""
    from megatron.bridge.models.conversion.model_bridge import MegatronModelBridge

    hook = bridge_cls.maybe_modify_loaded_hf_weight
    if hook is MegatronModelBridge.maybe_modify_loaded_hf_weight:
        return None
    try:
        source = inspect.getsource(hook).lower()
    except (OSError, TypeError):
        return None
    if "mxfp4" in source:
        return "mxfp4"
    if "fp8" in source or "dequant" in source or "scale_inv" in source:
        return "fp8-block"
    return None


def registered_cases() -> list[SmokeCase]:
    """Every architecture the installed Megatron-Bridge registers, sorted by family and architecture.

    Example:
        >>> from codemods.smoke._te_shim import import_megatron; _ = import_megatron()  # its shims first, as a smoke run
        >>> [c.model_type for c in registered_cases() if c.bridge == "Qwen3Bridge"]
        ['qwen3']
    """
    import transformers
    from megatron.bridge.models.conversion import model_bridge as mb

    by_arch = _model_types_by_architecture()
    cases = []
    for key, impl in mb.get_model_bridge._exact_types.items():
        architecture = key if isinstance(key, str) else key.__name__
        bridge_cls = type(impl(None))
        module = bridge_cls.__module__
        skip = None
        model_type = None
        if ".diffusion." in module:
            skip = "diffusion bridge: no causal-LM toy"
        elif not hasattr(transformers, architecture) or architecture not in by_arch:
            skip = (
                f"transformers {transformers.__version__} has no {architecture} (remote code, which the "
                "smoke test does not run)"
            )
        else:
            model_type = _pick_model_type(by_arch[architecture])
        cases.append(
            SmokeCase(
                architecture=architecture,
                bridge=bridge_cls.__name__,
                module=module,
                family=_family(module),
                model_type=model_type,
                quantize=_dequant_scheme(bridge_cls),
                skip=skip,
            )
        )
    return sorted(cases, key=lambda c: (c.family, c.architecture))


def registered_cases_in_subprocess(repo: str | None = None) -> tuple[list[SmokeCase], dict[str, str]]:
    """`registered_cases()` and the library versions, read in a child process (Megatron stays out of
    the caller; everything it prints goes nowhere)."""
    with tempfile.TemporaryDirectory(prefix="bridgesmith-cases-") as tmp:
        out = Path(tmp) / "cases.json"
        code = "import sys; from codemods.smoke._cases import _write_cases; _write_cases(sys.argv[1])"
        paths = [str(Path(__file__).resolve().parents[2])]
        if repo:
            paths.insert(0, str(Path(repo) / "src"))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([*paths, os.environ.get("PYTHONPATH", "")])}
        if repo:
            proc = subprocess.run(
                [sys.executable, "-c", code, str(out)], env=env, capture_output=True, text=True, check=False
            )
            printed = proc.stderr
        else:
            # the installed stack: the warm process the sweep's cases are forked from imports it once
            from codemods.smoke._warm import forked_run

            log = Path(tmp) / "cases.log"
            forked_run(_write_cases, (str(out),), env, log, None)
            printed = log.read_text(errors="replace")
        if not out.is_file():
            last = [line for line in printed.splitlines() if line.strip()][-1:] or ["no output"]
            raise ConfigError(f"cannot list the registered bridges: {last[0]}")
        data = json.loads(out.read_text())
    return [SmokeCase(**c) for c in data["cases"]], data["versions"]


def _write_cases(path: str) -> int:
    from codemods.smoke._runner import _versions
    from codemods.smoke._te_shim import import_megatron

    import_megatron()
    data = {"cases": [c.to_dict() for c in registered_cases()], "versions": _versions()}
    Path(path).write_text(json.dumps(data))
    return 0
