"""User-facing failures. Each carries a path and renders as one line; only cli.py maps them to exit codes."""

from __future__ import annotations

from pathlib import Path


class BridgesmithError(Exception):
    """Base of every failure the user should see as one clear line."""

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class RepoError(BridgesmithError):
    """The --repo path is missing or is not a Megatron-Bridge tree."""


class TreeFetchError(BridgesmithError):
    """The pinned real tree could not be downloaded, verified or unpacked."""


class ConfigError(BridgesmithError):
    """A configuration (config.json, pyproject [tool.bridgesmith]) is malformed or unresolvable."""


class UnexpressibleError(ConfigError):
    """A config has features no bridge computes as configured (clone-family refuses it; exit 2)."""

    def __init__(self, message: str, path: str | Path | None = None, notes: tuple[str, ...] = ()) -> None:
        super().__init__(message, path)
        self.notes = notes  #: warnings to show before the error (rules that could not be checked)


class ParseError(BridgesmithError):
    """A source file could not be parsed."""


class ResolveError(BridgesmithError):
    """A name (family, bridge, model) does not resolve, or resolves to several candidates."""


class PlanConflictError(BridgesmithError):
    """A planned edit conflicts with the tree: the target exists, an anchor is missing, a path escapes."""


class ToolMissingError(BridgesmithError):
    """A program the command runs (ruff) is not installed where it looks."""


class UsageError(BridgesmithError):
    """Command-line flags that do not go together."""


class SmokeTestFailure(BridgesmithError):
    """A smoke-test check failed."""
