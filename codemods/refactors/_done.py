"""Refusals that mean "already done": the CLI says `nothing to do: ...` and exits 0."""

from __future__ import annotations

from analyzers.catalog.records import Catalog
from analyzers.errors import ParseError, PlanConflictError, ResolveError


class AlreadyRenamed(PlanConflictError):
    """NEW exists and OLD is gone: a finished refactor run again."""

    nothing_to_do = True


class AlreadyGone(ResolveError):
    """OLD no longer exists and NEW does: a finished refactor run again."""

    nothing_to_do = True


def refuse_unreadable(catalog: Catalog, prefix: str, what: str) -> None:
    """ParseError for the first file under `prefix` the catalog could not read or parse: a refactor that
    must read it would otherwise skip it and leave the tree half-renamed."""
    for problem in catalog.problems:
        if problem.location.path.startswith(prefix):
            raise ParseError(f"{what} must read this file: {problem.message}", problem.location.path)
