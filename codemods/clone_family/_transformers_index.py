"""Does the installed transformers define a class? Answered by reading its source, never by importing it."""

from __future__ import annotations

from analyzers.transformers_source import (
    auto_mapped_names,
    auto_mapping,
    folder_classes,
    has_module,
    model_folders,
    transformers_dir,
)

__all__ = [
    "registered_class",
    "registered_mapping",
    "transformers_dir",
    "transformers_has",
    "transformers_module_exists",
]


def registered_class(model_type: str, mapping: str = "CONFIG_MAPPING_NAMES") -> str | None:
    """The class transformers' registry names for `model_type` (`Exaone4Config` for `exaone4`); None when
    transformers is not installed or does not know the model type."""
    base = transformers_dir()
    return auto_mapping(base, mapping).get(model_type) if base is not None else None


def transformers_has(name: str) -> bool:
    """Whether the installed transformers defines (or auto-maps) a class `name`; False when not installed.

    Looks in the auto mappings first, then in the model folders whose squashed name starts `name`
    (`Qwen3VLTextConfig` -> `models/qwen3_vl/`).
    """
    base = transformers_dir()
    if base is None:
        return False
    if name in auto_mapped_names(base):
        return True
    squashed = name.lower()
    for folder in model_folders(base):
        key = folder.replace("_", "")
        if key and squashed.startswith(key) and name in folder_classes(base, folder):
            return True
    return False


def transformers_module_exists(dotted: str) -> bool:
    """Whether `transformers.x.y` exists as a module or package in the installed transformers."""
    base = transformers_dir()
    return base is not None and has_module(base, dotted)


def registered_mapping(mapping: str) -> dict[str, str] | None:
    """model_type -> class of one of transformers' auto mappings; None when transformers is not installed."""
    base = transformers_dir()
    return auto_mapping(base, mapping) if base is not None else None
