"""`assert_codemod`, libcst's `CodemodTest.assertCodemod` for bridgesmith's transforms: one behaviour per call,
the code before and after written as indented strings."""

from __future__ import annotations

import difflib
import textwrap
from collections.abc import Callable

__all__ = ["assert_codemod"]


def assert_codemod(transform: Callable[..., str], before: str, after: str, **args: object) -> None:
    """`transform(dedent(before), **args)` is `dedent(after)`; otherwise fails with the diff between them."""
    expected = textwrap.dedent(after)
    actual = transform(textwrap.dedent(before), **args)
    if actual != expected:
        delta = difflib.unified_diff(
            expected.splitlines(keepends=True), actual.splitlines(keepends=True), "expected", "actual"
        )
        raise AssertionError("the transform's output differs:\n" + "".join(delta))
