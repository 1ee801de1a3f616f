"""Bridge-consistency lint: rules over the catalog, one parse per file, ruff-like output and fixes.

This package's own names are the rule contract a rule module imports; the engine that runs every rule is
`analyzers.lint.engine` (it imports the rules, so importing the contract never loads it).
"""

from analyzers.lint.config import LintConfig, load_config
from analyzers.lint.rule import Edit, Finding, Invalid, LintRule, RuleContext, RuleUnavailable

__all__ = [
    "Edit",
    "Finding",
    "Invalid",
    "LintConfig",
    "LintRule",
    "RuleContext",
    "RuleUnavailable",
    "load_config",
]
