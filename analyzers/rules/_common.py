"""Helpers shared by rules: family paths, init files, statement locations (private to analyzers.rules)."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from analyzers.catalog.modules import ModuleInfo
from analyzers.catalog.records import BridgeRecord, Catalog, FamilyRecord, InitFile, Location
from analyzers.repo import BRIDGE_PKG, MODELS_DIR, RECIPES_DIR

MODELS_INIT = f"{MODELS_DIR}/__init__.py"
RECIPES_INIT = f"{RECIPES_DIR}/__init__.py"
CONVERSION_DIR = f"{MODELS_DIR}/conversion/"


def init_path(family: FamilyRecord) -> str:
    return f"{family.path}/__init__.py"


def imported_names(init: InitFile | None) -> set[str]:
    if init is None:
        return set()
    return {name for names in init.imports.values() for name in names}


def start(path: str) -> Location:
    return Location(path, 1, 0)


def all_entry_nodes(module: ModuleInfo) -> Iterator[ast.Constant]:
    """String constants of every module-level `__all__ = [...]` / `__all__ += [...]`."""
    for node in module.tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        value = getattr(node, "value", None)
        if (
            isinstance(target, ast.Name)
            and target.id == "__all__"
            and isinstance(value, ast.List | ast.Tuple)
        ):
            for elt in value.elts:
                if isinstance(elt, ast.Constant) and isinstance(elt.value, str):
                    yield elt


def llm_bridge(bridge: BridgeRecord) -> bool:
    """A text-only LLM bridge: registered with target GPTModel/MambaModel and not a multimodal family."""
    targets = {r.target for r in bridge.registrations if r.target}
    if not targets or not targets <= {"GPTModel", "MambaModel"}:
        return False
    return not is_vlm(bridge)


def is_vlm(bridge: BridgeRecord) -> bool:
    fam = bridge.family.lower()
    if any(tag in fam for tag in ("_vl", "omni", "audio", "asr", "vision")):
        return True
    sources = " ".join(r.source or "" for r in bridge.registrations)
    return "ConditionalGeneration" in sources or "VL" in bridge.name


def bridge_ancestors(catalog: Catalog, bridge: BridgeRecord) -> list[BridgeRecord]:
    """Bridges of the tree that `bridge` derives from, nearest first (by class name)."""
    out: list[BridgeRecord] = []
    todo = list(bridge.bases)
    while todo:
        name = todo.pop(0).rsplit(".", 1)[-1]
        base = catalog.bridge(name)
        if base is not None and base not in out and base is not bridge:
            out.append(base)
            todo.extend(base.bases)
    return out


def is_bridge_file(path: str) -> bool:
    return path.startswith(f"{MODELS_DIR}/") and path.endswith("_bridge.py") and "/conversion/" not in path


__all__ = [
    "BRIDGE_PKG",
    "CONVERSION_DIR",
    "MODELS_INIT",
    "RECIPES_INIT",
    "all_entry_nodes",
    "bridge_ancestors",
    "imported_names",
    "init_path",
    "is_bridge_file",
    "is_vlm",
    "llm_bridge",
    "start",
]
