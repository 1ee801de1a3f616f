"""move-module's import transform, one behaviour per test: qwen3_next_bridge moves from the qwen package to
`megatron.bridge.models.qwen3_next.bridge`; each import keeps its style."""

from __future__ import annotations

import libcst as cst

from codemods.refactors.move_module import _ImportMover
from tests.codemod import assert_codemod

MODELS = "megatron.bridge.models"
OLD = f"{MODELS}.qwen.qwen3_next_bridge"
NEW = f"{MODELS}.qwen3_next.bridge"


def _move(code: str, *, package: str = f"{MODELS}.qwen", self_package: str | None = None) -> str:
    """`code`, a module of `package`, with its imports of OLD pointed at NEW (`self_package`: the moved
    module's own package before the move, when `code` is the moved module)."""
    return cst.parse_module(code).visit(_ImportMover(OLD, NEW, package, self_package)).code


def test_absolute_from_import_reads_from_the_new_module() -> None:
    assert_codemod(
        _move,
        f"""
        from {OLD} import Qwen3NextBridge
        from {OLD} import (
            Qwen3NextBridge,  # the bridge
            Qwen3NextModelProvider,
        )
        """,
        f"""
        from {NEW} import Qwen3NextBridge
        from {NEW} import (
            Qwen3NextBridge,  # the bridge
            Qwen3NextModelProvider,
        )
        """,
        package=f"{MODELS}.deepseek",
    )


def test_relative_from_import_stays_relative() -> None:
    assert_codemod(
        _move,
        """
        from .qwen3_next_bridge import Qwen3NextBridge
        """,
        """
        from ..qwen3_next.bridge import Qwen3NextBridge
        """,
    )


def test_relative_import_from_another_package_is_rebased() -> None:
    assert_codemod(
        _move,
        """
        from ..qwen.qwen3_next_bridge import Qwen3NextBridge
        """,
        """
        from ..qwen3_next.bridge import Qwen3NextBridge
        """,
        package=f"{MODELS}.deepseek",
    )


def test_module_imported_from_its_package_keeps_its_binding() -> None:
    # `from pkg import mod` still binds `qwen3_next_bridge`, as the code below it uses it
    assert_codemod(
        _move,
        f"""
        from {MODELS}.qwen import qwen3_next_bridge
        from {MODELS}.qwen import (qwen3_next_bridge)
        from . import qwen3_next_bridge
        """,
        f"""
        from {MODELS}.qwen3_next import bridge as qwen3_next_bridge
        from {MODELS}.qwen3_next import bridge as qwen3_next_bridge
        from ..qwen3_next import bridge as qwen3_next_bridge
        """,
    )


def test_module_imported_under_an_alias_keeps_the_alias() -> None:
    assert_codemod(
        _move,
        f"""
        from {MODELS}.qwen import qwen3_next_bridge as next_module
        import {OLD} as next_bridge
        import os, {OLD} as next_bridge
        """,
        f"""
        from {MODELS}.qwen3_next import bridge as next_module
        import {NEW} as next_bridge
        import os, {NEW} as next_bridge
        """,
    )


def test_same_base_name_needs_no_alias() -> None:
    def move_same_name(code: str) -> str:
        new = f"{MODELS}.qwen3_next.qwen3_next_bridge"
        return cst.parse_module(code).visit(_ImportMover(OLD, new, f"{MODELS}.qwen")).code

    assert_codemod(
        move_same_name,
        f"""
        from {MODELS}.qwen import qwen3_next_bridge
        """,
        f"""
        from {MODELS}.qwen3_next import qwen3_next_bridge
        """,
    )


def test_the_other_names_of_the_package_import_stay_on_their_line() -> None:
    assert_codemod(
        _move,
        f"""
        from {MODELS}.qwen import qwen3_bridge, qwen3_next_bridge
        from {MODELS}.qwen import qwen3_next_bridge, qwen3_moe_bridge  # noqa: F401
        # re-exports
        from . import qwen3_next_bridge, qwen3_bridge
        """,
        f"""
        from {MODELS}.qwen import qwen3_bridge
        from {MODELS}.qwen3_next import bridge as qwen3_next_bridge
        from {MODELS}.qwen import qwen3_moe_bridge  # noqa: F401
        from {MODELS}.qwen3_next import bridge as qwen3_next_bridge  # noqa: F401
        # re-exports
        from . import qwen3_bridge
        from ..qwen3_next import bridge as qwen3_next_bridge
        """,
    )


def test_a_parenthesised_import_keeps_its_trailing_comma() -> None:
    assert_codemod(
        _move,
        f"""
        from {MODELS}.qwen import (
            qwen3_bridge,
            qwen3_next_bridge,
        )
        from {MODELS}.qwen import (
            qwen3_next_bridge,
            qwen3_moe_bridge,
        )
        """,
        f"""
        from {MODELS}.qwen import (
            qwen3_bridge,
        )
        from {MODELS}.qwen3_next import bridge as qwen3_next_bridge
        from {MODELS}.qwen import (
            qwen3_moe_bridge,
        )
        from {MODELS}.qwen3_next import bridge as qwen3_next_bridge
        """,
    )


def test_a_plain_import_and_its_dotted_uses_follow() -> None:
    assert_codemod(
        _move,
        f"""
        import {OLD}

        bridge = {OLD}.Qwen3NextBridge
        """,
        f"""
        import {NEW}

        bridge = {NEW}.Qwen3NextBridge
        """,
    )


def test_prefix_sharing_modules_star_imports_strings_and_comments_stay() -> None:
    # strings and comments are the text pass's (`_text`), not this transform's
    code = f"""
    from {MODELS}.qwen import *
    from {MODELS}.qwen import qwen3_bridge, qwen3_moe_bridge
    from {MODELS}.qwen.qwen3_next_bridge_utils import helper
    from .qwen3_bridge import Qwen3Bridge
    import {MODELS}.qwen.qwen3_bridge

    BRIDGE = "{OLD}.Qwen3NextBridge"  # {OLD}
    """
    assert_codemod(_move, code, code)


def test_the_moved_module_rebases_its_own_relative_imports() -> None:
    # seen from its new package; absolute imports and imports that already climb out keep their target
    assert_codemod(
        _move,
        """
        import torch
        from megatron.core import parallel_state
        from .qwen3_provider import Qwen3ModelProvider
        from . import qwen3_bridge
        from ..conversion.model_bridge import MegatronModelBridge
        """,
        """
        import torch
        from megatron.core import parallel_state
        from ..qwen.qwen3_provider import Qwen3ModelProvider
        from ..qwen import qwen3_bridge
        from ..conversion.model_bridge import MegatronModelBridge
        """,
        package=f"{MODELS}.qwen3_next",
        self_package=f"{MODELS}.qwen",
    )
