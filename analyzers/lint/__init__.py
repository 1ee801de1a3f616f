"""Bridge-consistency lint: rules over the catalog, one parse per file, ruff-like output and fixes."""

from analyzers.lint.config import LintConfig, load_config
from analyzers.lint.engine import LintResult, lint_tree
from analyzers.lint.rule import Edit, Finding, Invalid, LintRule

__all__ = ["Edit", "Finding", "Invalid", "LintConfig", "LintResult", "LintRule", "lint_tree", "load_config"]
