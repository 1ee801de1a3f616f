"""Cross-check the catalog's static mapping registries against Megatron-Bridge's own, at runtime.

For each bridge of the catalog, import its class from the installed package (TE-free, through
`import_megatron`), call `mapping_registry()` with `hf_config` set to transformers' default config for
the registered architecture, and compare its mappings with the static records as multisets of
`(megatron_param, sorted HF patterns)`. Needs torch + megatron-core + megatron-bridge (the smoke env).

>>> rows = compare_catalog(build_catalog(ensure_tree()))
>>> [r.bridge for r in rows if r.verdict == "mismatch"]
[]
"""

from __future__ import annotations

import contextlib
import importlib
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from analyzers.catalog.records import BridgeRecord, Catalog
from codemods.smoke._te_shim import import_megatron

__all__ = [
    "Key",
    "RegistryComparison",
    "RoleKey",
    "compare_bridge",
    "compare_catalog",
    "runtime_keys",
    "static_keys",
]

_UNRESOLVED_TEMPLATE = re.compile(r"^megatron_param of \S+ from a runtime value: (.+?)( \(\d+ times\))?$")

#: (megatron_param, sorted HF patterns): one mapping, roles ignored.
Key = tuple[str, tuple[str, ...]]
#: (megatron_param, sorted (role, HF pattern) pairs); a runtime `hf_param` string has the role "hf_param".
RoleKey = tuple[str, tuple[tuple[str, str], ...]]


@dataclass
class RegistryComparison:
    """Static vs runtime registry of one bridge."""

    bridge: str
    #: "plain" (no conditions, nothing unresolved), "conditional" or "unresolved"
    kind: str
    static: Counter[Key]
    #: the static mappings without a condition (they must all be in any runtime registry)
    unconditional: Counter[Key]
    runtime: Counter[Key] = field(default_factory=Counter)
    #: what hf_config the runtime call saw: a config class name, or "none"
    config: str = "none"
    #: why the runtime registry could not be built (then `runtime` is empty)
    error: str | None = None
    #: the same mappings as `static` / `runtime`, with their HF roles
    static_roles: Counter[RoleKey] = field(default_factory=Counter)
    runtime_roles: Counter[RoleKey] = field(default_factory=Counter)
    #: megatron_param templates of the static `unresolved` entries, as regexes
    unresolved_patterns: list[re.Pattern[str]] = field(default_factory=list)

    @property
    def missing(self) -> Counter[Key]:
        """In the runtime registry, absent from the static one."""
        return self.runtime - self.static

    @property
    def extra(self) -> Counter[Key]:
        """In the static registry, absent from the runtime one."""
        return self.static - self.runtime

    @property
    def unconditional_missing(self) -> Counter[Key]:
        """Unconditional static mappings absent from the runtime registry (any such is a static bug)."""
        return self.unconditional - self.runtime

    @property
    def unexplained(self) -> Counter[Key]:
        """`missing` less the mappings an `unresolved` entry stands for (same megatron_param template)."""
        return Counter(
            {
                k: n
                for k, n in self.missing.items()
                if not any(p.fullmatch(k[0]) for p in self.unresolved_patterns)
            }
        )

    @property
    def role_differences(self) -> tuple[set[RoleKey], set[RoleKey]]:
        """(runtime, static) role keys of mappings that both sides have by pattern but with other HF roles."""
        both = set(self.runtime) & set(self.static)
        runtime, static = set(self.runtime_roles), set(self.static_roles)

        def shared(roles: set[RoleKey]) -> set[RoleKey]:
            return {k for k in roles if (k[0], tuple(sorted(p for _, p in k[1]))) in both}

        return shared(runtime - static), shared(static - runtime)

    @property
    def verdict(self) -> str:
        """The outcome in one word.

        Plain bridges: match / mismatch. Conditional: subset / not subset. Unresolved: explained when every
        runtime mapping absent from the static records matches an unresolved template, else unexplained.
        error: the runtime registry could not be built.
        """
        if self.error:
            return "error"
        if self.kind == "plain":
            return "match" if self.static == self.runtime else "mismatch"
        if self.kind == "unresolved":
            return "explained" if not self.unexplained else "unexplained"
        return "subset" if not self.missing else "not subset"


def static_keys(bridge: BridgeRecord, *, unconditional_only: bool = False) -> Counter[Key]:
    return Counter(
        (m.megatron_param or "", tuple(sorted(m.hf_params.values())))
        for m in bridge.registry.mappings
        if not (unconditional_only and m.condition)
    )


def static_role_keys(bridge: BridgeRecord) -> Counter[RoleKey]:
    return Counter(
        (m.megatron_param or "", tuple(sorted(m.hf_params.items()))) for m in bridge.registry.mappings
    )


def _unresolved_pattern(reason: str) -> re.Pattern[str] | None:
    # reason: "megatron_param of X from a runtime value: mtp.layers.{i}.enorm.weight (3 times)". The text
    # shows the first of the n values only, so with n > 1 the tail after the last placeholder may vary.
    match = _UNRESOLVED_TEMPLATE.search(reason)
    if match is None:
        return None
    parts = re.split(r"\{[^}]*\}", match.group(1))
    if match.group(2) and len(parts) > 1:
        parts[-1] = ""
    return re.compile(".+".join(re.escape(p) for p in parts) + (".*" if match.group(2) else ""))


def _hf_roles(mapping: Any) -> dict[str, str]:
    hf = mapping.hf_param
    return {str(k): str(v) for k, v in hf.items()} if isinstance(hf, dict) else {"hf_param": str(hf)}


def runtime_keys(registry: Any, derived: set[int]) -> tuple[Counter[Key], Counter[RoleKey]]:
    """The registry's mappings, less those the registry derived itself (`derived` holds their ids)."""
    own = [m for m in registry.mappings if id(m) not in derived]
    roles = [(m.megatron_param, _hf_roles(m)) for m in own]
    return (
        Counter((mp, tuple(sorted(r.values()))) for mp, r in roles),
        Counter((mp, tuple(sorted(r.items()))) for mp, r in roles),
    )


@contextlib.contextmanager
def _record_derived() -> Iterator[set[int]]:
    """Ids of the mappings `MegatronMappingRegistry.__init__` adds on its own (layer-norm and quantizer aliases).

    The static catalog records what a bridge writes; the registry adds aliases (`input_layernorm.weight`
    beside `linear_qkv.layer_norm_weight`, ...) and, with ENABLE_BRIDGE_QUANT_MAPPING, `_amax` mappings.
    A registry built from another's `.mappings` receives those aliases as arguments, so they are
    tracked by identity, not by position.
    """
    from megatron.bridge.models.conversion.mapping_registry import MegatronMappingRegistry

    derived: set[int] = set()
    keep: list[Any] = []  # keeps the aliases alive so their ids stay unique
    originals = {}
    for name in ("_add_separate_layernorm_mappings", "_add_quantization_mappings"):
        original = MegatronMappingRegistry.__dict__[name]
        originals[name] = original

        def wrapper(self: Any, _original: Any = original) -> None:
            before = len(self.mappings)
            _original(self)
            added = self.mappings[before:]
            keep.extend(added)
            derived.update(id(m) for m in added)

        setattr(MegatronMappingRegistry, name, wrapper)
    try:
        yield derived
    finally:
        for name, original in originals.items():
            setattr(MegatronMappingRegistry, name, original)


def _model_type_of_architecture() -> dict[str, str]:
    from transformers.models.auto import modeling_auto

    out: dict[str, str] = {}
    for name in dir(modeling_auto):
        if name.startswith("MODEL_") and name.endswith("_MAPPING_NAMES"):
            for model_type, arch in getattr(modeling_auto, name).items():
                for a in arch if isinstance(arch, (list, tuple)) else (arch,):
                    out.setdefault(a, model_type)
    return out


def _default_config(bridge: BridgeRecord, arch_types: dict[str, str]) -> Any:
    """transformers' default config for the bridge's registered architecture or model_type; None if unknown."""
    from transformers import AutoConfig

    for reg in bridge.registrations:
        for model_type in (arch_types.get(reg.source or ""), reg.model_type):
            if not model_type:
                continue
            try:
                return AutoConfig.for_model(model_type)
            except (ValueError, KeyError):
                continue
    return None


def compare_bridge(bridge: BridgeRecord, arch_types: dict[str, str] | None = None) -> RegistryComparison:
    """Build `bridge`'s registry in this process and compare it with the static records."""
    registry = bridge.registry
    if registry.unresolved:
        kind = "unresolved"
    elif any(m.condition for m in registry.mappings):
        kind = "conditional"
    else:
        kind = "plain"
    result = RegistryComparison(
        bridge.name,
        kind,
        static_keys(bridge),
        static_keys(bridge, unconditional_only=True),
        static_roles=static_role_keys(bridge),
    )
    result.unresolved_patterns = [p for u in registry.unresolved if (p := _unresolved_pattern(u.reason))]
    try:
        import_megatron()
        cls = getattr(importlib.import_module(bridge.module), bridge.name)
        instance = cls()
        config = _default_config(
            bridge, arch_types if arch_types is not None else _model_type_of_architecture()
        )
        # What MB's dispatch does with a raw config (`register_bridge_implementation`): both attributes.
        instance.hf_pretrained = config
        instance.hf_config = config
        if config is not None:
            result.config = type(config).__name__
        with _record_derived() as derived:
            built = instance.mapping_registry()
        result.runtime, result.runtime_roles = runtime_keys(built, derived)
    except Exception as exc:  # noqa: BLE001 -- one bridge's failure is a row of the report, not the end of it
        result.error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:200]
    return result


def compare_catalog(catalog: Catalog) -> list[RegistryComparison]:
    """Compare every bridge of `catalog` (the installed package's own tree) with its runtime registry."""
    import_megatron()
    arch_types = _model_type_of_architecture()
    return [compare_bridge(b, arch_types) for b in catalog.bridges]
