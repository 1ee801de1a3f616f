"""Every lint rule, one module each (named after the rule class, with its code); `RULES` in code order.

The engine's own diagnostics (MBR000, MBR900) are not here: `analyzers.lint.engine` reports them itself and
lists every code in its `ALL_RULES`.
"""

from __future__ import annotations

from analyzers.lint.rule import LintRule
from analyzers.rules.mbr001_bridge_not_imported_by_family import BridgeNotImportedByFamily
from analyzers.rules.mbr002_bridge_missing_from_family_all import BridgeMissingFromFamilyAll
from analyzers.rules.mbr003_family_not_imported_by_models_init import FamilyNotImportedByModelsInit
from analyzers.rules.mbr004_bridge_missing_from_models_all import BridgeMissingFromModelsAll
from analyzers.rules.mbr005_duplicate_all_entry import DuplicateAllEntry
from analyzers.rules.mbr006_import_of_missing_module import ImportOfMissingModule
from analyzers.rules.mbr010_register_bridge_without_model_type import RegisterBridgeWithoutModelType
from analyzers.rules.mbr011_model_type_registered_twice import ModelTypeRegisteredTwice
from analyzers.rules.mbr012_source_registered_twice import SourceRegisteredTwice
from analyzers.rules.mbr013_model_type_differs_from_hf_config import ModelTypeDiffersFromHfConfig
from analyzers.rules.mbr020_wildcard_count_mismatch import WildcardCountMismatch
from analyzers.rules.mbr021_megatron_param_mapped_twice import MegatronParamMappedTwice
from analyzers.rules.mbr022_hf_param_consumed_twice import HfParamConsumedTwice
from analyzers.rules.mbr023_malformed_param_pattern import MalformedParamPattern
from analyzers.rules.mbr030_size_specific_provider_class import SizeSpecificProviderClass
from analyzers.rules.mbr031_model_specific_branch_in_conversion import ModelSpecificBranchInConversion
from analyzers.rules.mbr032_build_conversion_tasks_override import BuildConversionTasksOverride
from analyzers.rules.mbr033_llm_provider_bridge_without_super import LlmProviderBridgeWithoutSuper
from analyzers.rules.mbr034_top_level_field_from_text_config import TopLevelFieldFromTextConfig
from analyzers.rules.mbr035_model_module_not_namespaced import ModelModuleNotNamespaced
from analyzers.rules.mbr036_reimplemented_dequantization import ReimplementedDequantization
from analyzers.rules.mbr040_recipe_not_exported import RecipeNotExported
from analyzers.rules.mbr041_recipe_family_not_wildcard_imported import RecipeFamilyNotWildcardImported
from analyzers.rules.mbr050_family_without_unit_tests import FamilyWithoutUnitTests
from analyzers.rules.mbr051_test_folder_without_init import TestFolderWithoutInit
from analyzers.rules.mbr052_family_without_docs_page import FamilyWithoutDocsPage
from analyzers.rules.mbr053_docs_link_to_missing_file import DocsLinkToMissingFile

RULES: list[type[LintRule]] = [
    BridgeNotImportedByFamily,
    BridgeMissingFromFamilyAll,
    FamilyNotImportedByModelsInit,
    BridgeMissingFromModelsAll,
    DuplicateAllEntry,
    ImportOfMissingModule,
    RegisterBridgeWithoutModelType,
    ModelTypeRegisteredTwice,
    SourceRegisteredTwice,
    ModelTypeDiffersFromHfConfig,
    WildcardCountMismatch,
    MegatronParamMappedTwice,
    HfParamConsumedTwice,
    MalformedParamPattern,
    SizeSpecificProviderClass,
    ModelSpecificBranchInConversion,
    BuildConversionTasksOverride,
    LlmProviderBridgeWithoutSuper,
    TopLevelFieldFromTextConfig,
    ModelModuleNotNamespaced,
    ReimplementedDequantization,
    RecipeNotExported,
    RecipeFamilyNotWildcardImported,
    FamilyWithoutUnitTests,
    TestFolderWithoutInit,
    FamilyWithoutDocsPage,
    DocsLinkToMissingFile,
]

__all__ = ["RULES"]
