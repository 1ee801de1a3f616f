"""The catalog: a static picture of a Megatron-Bridge tree (bridges, registries, registrations, recipes)."""

from analyzers.catalog.build import build_catalog
from analyzers.catalog.records import (
    SCHEMA_VERSION,
    BridgeRecord,
    Catalog,
    FamilyRecord,
    Location,
    MappingRecord,
    MappingRegistry,
    Registration,
)

__all__ = [
    "SCHEMA_VERSION",
    "BridgeRecord",
    "Catalog",
    "FamilyRecord",
    "Location",
    "MappingRecord",
    "MappingRegistry",
    "Registration",
    "build_catalog",
]
