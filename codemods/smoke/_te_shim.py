"""Import Megatron-Core and Megatron-Bridge where Transformer Engine is not installed.

`megatron.bridge` imports `transformer_engine.pytorch` at import time (its LoRA layers), while
Megatron-Core decides once per module, at import, whether TE is there (`HAVE_TE`). A stub that
exists before Megatron-Core is imported makes Megatron-Core build TE modules and fail later
(`get_cpu_offload_context`), so the order matters: Megatron-Core's modules first with TE truly
absent, then a finder that gives `megatron.bridge` a dummy `transformer_engine`.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
import typing
from typing import Any

__all__ = ["import_megatron", "te_is_stubbed"]

#: Megatron-Core modules that read `HAVE_TE` at import and that `megatron.bridge` would otherwise
#: import only after the stub is in place (measured on megatron-core 0.19.2 / megatron-bridge 0.6.2).
_CORE_MODULES = (
    "megatron.core",
    "megatron.core.parallel_state",
    "megatron.core.models.gpt.gpt_layer_specs",
    "megatron.core.models.gpt.gpt_model",
    "megatron.core.models.gpt.experimental_attention_variant_module_specs",
    "megatron.core.models.gpt.heterogeneous.heterogeneous_layer_specs",
    "megatron.core.models.hybrid.hybrid_block",
    "megatron.core.models.hybrid.hybrid_layer_specs",
    "megatron.core.models.multimodal.llava_model",
    "megatron.core.models.vision.clip_vit_model",
    "megatron.core.models.vision.vit_layer_specs",
    "megatron.core.post_training.modelopt.gpt.model_specs",
    "megatron.core.post_training.modelopt.hybrid.model_specs",
    "megatron.core.post_training.modelopt.layers",
    "megatron.core.ssm.mamba_context_parallel",
    "megatron.core.transformer.custom_layers.batch_invariant_kernels",
    "megatron.core.transformer.experimental_attention_variant.absorbed_mla",
    "megatron.core.transformer.heterogeneous.linear_replacements",
    "megatron.core.transformer.multi_latent_attention",
    "megatron.core.transformer.moe.experts",
    "megatron.core.dist_checkpointing.exchange_utils",
)

_STUB_VERSION = "2.8.0"


class _AnyAttr(type):
    """A class whose every attribute is another such class, so `te.ops.Sequential[...]` resolves."""

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _AnyAttr(name, (), {})

    def __getitem__(cls, item: Any) -> Any:
        return cls


class _StubModule(types.ModuleType):
    __version__ = _STUB_VERSION

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _AnyAttr(name, (), {})


class _TransformerEngineStub(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(
        self, fullname: str, path: Any = None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname == "transformer_engine" or fullname.startswith("transformer_engine."):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = _StubModule(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        return None


_STUB = _TransformerEngineStub()


def te_is_stubbed() -> bool:
    """True when `transformer_engine` resolves to this module's dummy package."""
    return _STUB in sys.meta_path


def _ensure_typing_override() -> None:
    # megatron.training uses `typing.override` (3.12); Python 3.11 has it only in typing_extensions.
    if not hasattr(typing, "override"):
        import typing_extensions

        typing.override = typing_extensions.override  # type: ignore[attr-defined]


def import_megatron() -> types.ModuleType:
    """Import `megatron.bridge` safely with or without Transformer Engine; returns the module.

    Example:
        >>> bridge = import_megatron()
        >>> bridge.AutoBridge
        <class 'megatron.bridge.models.conversion.auto_bridge.AutoBridge'>
    """
    _ensure_typing_override()
    if "megatron.bridge" in sys.modules:
        return sys.modules["megatron.bridge"]
    if importlib.util.find_spec("transformer_engine") is not None:
        return importlib.import_module("megatron.bridge")
    for name in _CORE_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            # Optional Megatron-Core parts (a missing extra); they stay absent, not stubbed.
            continue
    sys.meta_path.insert(0, _STUB)
    module = importlib.import_module("megatron.bridge")
    importlib.import_module("megatron.bridge.models.gpt_provider")
    return module
