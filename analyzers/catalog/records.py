"""The catalog's records: plain dataclasses, JSON-serialisable, the contract every tool reads.

Paths are POSIX strings relative to the tree root. Changes of the records bump ``SCHEMA_VERSION`` (the
version of `Catalog.to_json`, which the caches and `from_json` read; the document `catalog --format json`
prints has its own, in `analyzers.envelope`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 2
#: older documents `Catalog.from_json` still reads (fields added since then take their defaults)
READABLE_SCHEMA_VERSIONS = (1, 2)

#: Hooks of MegatronModelBridge that bridges override.
KNOWN_HOOKS = (
    "provider_bridge",
    "mapping_registry",
    "megatron_to_hf_config",
    "hf_config_to_provider_kwargs",
    "maybe_modify_loaded_hf_weight",
    "maybe_modify_converted_hf_weight",
    "build_conversion_tasks",
    "stream_weights_megatron_to_hf",
    "stream_weights_hf_to_megatron",
    "load_weights_hf_to_megatron",
    "get_hf_tokenizer_kwargs",
)


@dataclass(frozen=True)
class Location:
    path: str  #: relative POSIX path
    line: int  #: 1-based
    col: int = 0  #: 0-based

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col + 1}"


@dataclass
class Registration:
    """One `register_bridge(...)` (or `register_bridge_implementation(...)`) of a bridge class."""

    bridge: str  #: class name of the registered bridge
    source: str | None  #: HF class name (or string) registered as source
    source_kind: str  #: "class" | "string" | "constant" | "unknown"
    target: str | None  #: Megatron model class name
    model_type: str | None
    provider: str | None  #: provider class name when given
    style: str  #: "decorator" | "call" | "implementation"
    location: Location
    guarded: bool = False  #: inside try/except or an if


@dataclass
class MappingRecord:
    """One mapping object in a registry: its class and every parameter pattern it names."""

    mapping_class: str
    megatron_param: str | None
    #: HF side, role -> pattern. Keyword roles keep their name (hf_param, q, k, v, gate, up, ...);
    #: positional HF arguments get "arg1", "arg2", ...
    hf_params: dict[str, str]
    location: Location
    #: source text of the enclosing `if` conditions, joined with " and "; None when unconditional
    condition: str | None = None
    #: name of the helper function that produced the mapping, when not the method itself
    via: str | None = None

    @property
    def hf_list(self) -> list[str]:
        return list(self.hf_params.values())


@dataclass
class Unresolved:
    """A piece of a registry the static evaluator could not resolve (never silently dropped)."""

    reason: str
    source: str  #: source text, shortened
    location: Location


@dataclass
class ProviderSetting:
    """One provider attribute a bridge's `provider_bridge` sets (see `catalog/provider_settings.py`)."""

    attr: str  #: provider attribute (a TransformerConfig / provider dataclass field)
    #: "assign" | "constructor" | "kwargs" | "removed" (popped from the kwargs) | "config_mapping" | "default"
    style: str
    #: the value as one expression over ``hf_config`` (local variables inlined); "" for "removed"
    value: str
    #: HF config fields the value and its condition read (dotted for dict keys: ``rope_scaling.factor``)
    fields: list[str]
    constant: bool  #: reads nothing from the config (a literal or a module-level name such as ``F.silu``)
    condition: str | None  #: the enclosing `if` tests (inlined), joined with " and "; None when unconditional
    location: Location | None
    #: who wrote it when not the bridge's own provider_bridge: an ancestor bridge, a helper
    #: (``self._build_dense_provider``), the base's ``hf_config_to_provider_kwargs`` / ``provider_bridge``
    via: str | None = None


@dataclass
class MappingRegistry:
    mappings: list[MappingRecord] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)
    #: the bridge whose registry `super().mapping_registry()` refers to, when used
    inherits: str | None = None
    #: "path::Class.method" / "path::function" of the `mapping_registry` the bridge resolves to and of every
    #: helper evaluating it ran, sorted (a `super().mapping_registry()` base's stay in the base's record)
    functions: list[str] = field(default_factory=list)


@dataclass
class BridgeRecord:
    name: str
    module: str  #: dotted module name
    path: str
    location: Location
    family: str  #: folder under models/ (or "diffusion/<x>")
    bases: list[str]  #: base class names as written
    registrations: list[Registration] = field(default_factory=list)
    provider_class: str | None = None  #: PROVIDER_CLASS or the registration's provider
    hooks: list[str] = field(default_factory=list)  #: overridden hooks (KNOWN_HOOKS and other methods)
    provider_bridge_calls_super: bool | None = None
    #: provider attribute -> source text of the value, as set in provider_bridge
    provider_attributes: dict[str, str] = field(default_factory=dict)
    #: HF config fields read anywhere in the class (hf_config.x, text_config.x, getattr(cfg, "x"))
    config_fields: list[str] = field(default_factory=list)
    registry: MappingRegistry = field(default_factory=MappingRegistry)
    doc: str | None = None  #: first docstring line
    diffusion: bool = False
    #: the class body assigns `MODEL_TYPE` or stores a `"model_type"` key (as `megatron_to_hf_config` does)
    writes_model_type: bool = False
    #: formats its load hook (`maybe_modify_loaded_hf_weight`) dequantizes, as its module names them
    #: ("fp8", "mxfp4", "int4"; "other" when it names none); empty without the hook
    dequant_formats: list[str] = field(default_factory=list)
    #: what provider_bridge sets, in order (later settings win), its tree ancestors' included; the base
    #: bridge's part is `Catalog.base_provider_settings`, CONFIG_MAPPING is `config_mapping` (+ extras)
    provider_settings: list[ProviderSetting] = field(default_factory=list)
    #: which part of the base `MegatronModelBridge` it starts from: "provider_bridge" (super() up to the base:
    #: CONFIG_MAPPING and all base settings), "kwargs" (`hf_config_to_provider_kwargs`: CONFIG_MAPPING and
    #: the kwargs part), None (the provider is built without the base)
    provider_base: str | None = None
    #: the config expression CONFIG_MAPPING is read from (``hf_config``, ``hf_config.text_config``)
    provider_scope: str | None = None
    #: CONFIG_MAPPING pairs its class (or a tree ancestor) adds to the base's
    config_mapping_extra: list[tuple[str, str]] = field(default_factory=list)
    #: provider classes its provider_bridge calls (qualified where resolvable)
    provider_classes: list[str] = field(default_factory=list)


@dataclass
class MappingClassRecord:
    """A mapping class defined in the tree (the shared ones and local subclasses)."""

    name: str
    bases: list[str]
    path: str
    location: Location
    family: str | None  #: None for the shared conversion module


@dataclass
class InitFile:
    """What a package `__init__.py` imports and exports."""

    path: str
    #: module -> imported names (relative imports resolved to absolute)
    imports: dict[str, list[str]] = field(default_factory=dict)
    star_imports: list[str] = field(default_factory=list)  #: modules wildcard-imported
    all: list[str] | None = None  #: `__all__` entries (None when absent)
    all_location: Location | None = None


@dataclass
class RecipeFunction:
    name: str
    module: str
    location: Location
    hardware: str | None  #: "h100", "gb200", ... or None for the family level


@dataclass
class RecipeFamily:
    name: str
    path: str
    hardware: list[str]  #: per-hardware subfolders
    modules: list[str]  #: dotted module names
    functions: list[RecipeFunction]
    init: InitFile | None
    #: which of `<family>` / `<family>.<hw>` recipes/__init__.py wildcard-imports
    wildcard_imported: list[str] = field(default_factory=list)


@dataclass
class FamilyRecord:
    name: str  #: folder name under models/ (`diffusion/<name>` for diffusion/conversion/<name>/)
    path: str
    bridges: list[str] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)  #: dotted modules of the family package
    providers: list[str] = field(default_factory=list)  #: provider classes defined in the family
    modeling: list[str] = field(default_factory=list)  #: modeling_<x> / modelling_<x> modules or folders
    mapping_classes: list[str] = field(default_factory=list)
    init: InitFile | None = None
    imported_by_models_init: bool = False
    recipes: list[str] = field(default_factory=list)  #: recipe family names that belong to this family
    unit_tests: str | None = None
    functional_tests: str | None = None
    docs: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)


@dataclass
class ParseProblem:
    location: Location
    message: str


@dataclass
class Catalog:
    schema_version: int
    tool_version: str
    root: str
    tree_kind: str  #: "checkout" (full git checkout) or "wheel" (src only)
    parts: dict[str, bool]  #: tests/docs/examples/scripts/skills present
    bridges: list[BridgeRecord]
    families: list[FamilyRecord]
    mapping_classes: list[MappingClassRecord]
    recipes: list[RecipeFamily]
    models_init: InitFile | None
    recipes_init: InitFile | None
    #: (hf_field, provider_field) pairs of CONFIG_MAPPING in the conversion module
    config_mapping: list[tuple[str, str]]
    problems: list[ParseProblem] = field(default_factory=list)
    #: what the base `MegatronModelBridge.provider_bridge` sets besides CONFIG_MAPPING; `via` says which part
    #: ("hf_config_to_provider_kwargs", or None for provider_bridge itself)
    base_provider_settings: list[ProviderSetting] = field(default_factory=list)
    #: provider class (qualified) -> its dataclass field defaults through its tree ancestors (style "default")
    provider_defaults: dict[str, list[ProviderSetting]] = field(default_factory=dict)
    #: HF activation name -> Megatron activation callable, as written in MB's ACTIVATION_FUNC_MAP
    activation_map: dict[str, str] = field(default_factory=dict)

    def bridge(self, name: str) -> BridgeRecord | None:
        return next((b for b in self.bridges if b.name == name), None)

    def family(self, name: str) -> FamilyRecord | None:
        return next((f for f in self.families if f.name == name), None)

    def registrations(self) -> list[Registration]:
        return [r for b in self.bridges for r in b.registrations]

    def registered_families(self) -> list[FamilyRecord]:
        """The families, as a Megatron-Bridge maintainer counts them: the packages with at least one
        registered bridge class (`models/<name>/`, and `diffusion/conversion/<name>/` as `diffusion/<name>`).

        `self.families` also holds the packages under models/ that register no bridge (`gpt`, `mamba`,
        `hybrid`: providers other families build on; `megatron_mimo`); every view counts only these.
        """
        registered = {b.family for b in self.bridges if b.registrations}
        return [f for f in self.families if f.name in registered]

    def to_json(self) -> dict[str, Any]:
        return _plain(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Catalog:
        return _catalog_from_json(data)


def _plain(obj: Any) -> Any:
    """JSON-ready copy of records (dataclasses.asdict deep-copies every leaf, several times slower)."""
    if hasattr(obj, "__dataclass_fields__"):
        return {name: _plain(getattr(obj, name)) for name in obj.__dataclass_fields__}
    if isinstance(obj, list | tuple):
        return [_plain(item) for item in obj]
    if isinstance(obj, dict):
        return {key: _plain(value) for key, value in obj.items()}
    return obj


def _loc(d: dict | None) -> Location | None:
    return Location(**d) if d else None


def _init(d: dict | None) -> InitFile | None:
    if d is None:
        return None
    return InitFile(
        path=d["path"],
        imports=d["imports"],
        star_imports=d["star_imports"],
        all=d["all"],
        all_location=_loc(d["all_location"]),
    )


def _registry(d: dict) -> MappingRegistry:
    return MappingRegistry(
        mappings=[MappingRecord(**{**m, "location": _loc(m["location"])}) for m in d["mappings"]],
        unresolved=[Unresolved(**{**u, "location": _loc(u["location"])}) for u in d["unresolved"]],
        inherits=d["inherits"],
        functions=d.get("functions", []),
    )


def _setting(d: dict) -> ProviderSetting:
    return ProviderSetting(**{**d, "location": _loc(d["location"])})


def _catalog_from_json(data: dict[str, Any]) -> Catalog:
    if data.get("schema_version") not in READABLE_SCHEMA_VERSIONS:
        raise ValueError(
            f"catalog schema_version {data.get('schema_version')!r} is not one of {READABLE_SCHEMA_VERSIONS}"
        )
    bridges = []
    for b in data["bridges"]:
        regs = [Registration(**{**r, "location": _loc(r["location"])}) for r in b["registrations"]]
        bridges.append(
            BridgeRecord(
                **{
                    **b,
                    "location": _loc(b["location"]),
                    "registrations": regs,
                    "registry": _registry(b["registry"]),
                    "provider_settings": [_setting(s) for s in b.get("provider_settings", [])],
                    "config_mapping_extra": [tuple(p) for p in b.get("config_mapping_extra", [])],
                }
            )
        )
    recipes = []
    for r in data["recipes"]:
        fns = [RecipeFunction(**{**f, "location": _loc(f["location"])}) for f in r["functions"]]
        recipes.append(RecipeFamily(**{**r, "functions": fns, "init": _init(r["init"])}))
    return Catalog(
        schema_version=data["schema_version"],
        tool_version=data["tool_version"],
        root=data["root"],
        tree_kind=data["tree_kind"],
        parts=data["parts"],
        bridges=bridges,
        families=[FamilyRecord(**{**f, "init": _init(f["init"])}) for f in data["families"]],
        mapping_classes=[
            MappingClassRecord(**{**m, "location": _loc(m["location"])}) for m in data["mapping_classes"]
        ],
        recipes=recipes,
        models_init=_init(data["models_init"]),
        recipes_init=_init(data["recipes_init"]),
        config_mapping=[tuple(p) for p in data["config_mapping"]],
        problems=[ParseProblem(location=_loc(p["location"]), message=p["message"]) for p in data["problems"]],
        base_provider_settings=[_setting(s) for s in data.get("base_provider_settings", [])],
        provider_defaults={k: [_setting(s) for s in v] for k, v in data.get("provider_defaults", {}).items()},
        activation_map=dict(data.get("activation_map", {})),
    )
