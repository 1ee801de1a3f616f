"""The smoke run's own error: the toy roundtrip cannot run in this configuration.

Its own module because the runner and the TE-free / hybrid / DSA swaps it drives all raise it.
"""

from __future__ import annotations

from analyzers.errors import SmokeTestFailure

__all__ = ["SmokeSetupError"]


class SmokeSetupError(SmokeTestFailure):
    """The toy roundtrip cannot run in this configuration (reported as the run's error)."""
