"""Registration edits in the syntax tree: style-preserving, sorted where sorted, idempotent, loud on a missing anchor."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from analyzers.cst_edits import (
    add_all_entries,
    add_dict_entry,
    add_import,
    add_import_names,
    add_set_member,
    add_wildcard_import,
    natural_key,
    remove_duplicate_all_entries,
)
from analyzers.errors import PlanConflictError
from codemods.registrations import register_clone

FAMILY_INIT = "src/megatron/bridge/models/qwen/__init__.py"


def d(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def test_natural_order_matches_isort() -> None:
    mods = ["qwen.qwen35_bridge", "qwen.qwen4_bridge", "qwen.qwen3_bridge", "gemma3_vl", "gemma.h100"]
    assert sorted(mods, key=natural_key) == [
        "gemma.h100",
        "gemma3_vl",
        "qwen.qwen3_bridge",
        "qwen.qwen4_bridge",
        "qwen.qwen35_bridge",
    ]


def test_add_import_sorted_with_trailing_comment() -> None:
    before = d("""
        from megatron.bridge.models.qwen.qwen3_bridge import Qwen3Bridge  # noqa: F401
        from megatron.bridge.models.qwen.qwen35_bridge import Qwen35Bridge  # noqa: F401
    """)
    after = add_import(
        before,
        module="megatron.bridge.models.qwen.qwen4_bridge",
        names=["Qwen4Bridge"],
        anchor="megatron.bridge.models.qwen.qwen3_bridge",
        path=FAMILY_INIT,
    )
    assert after == d("""
        from megatron.bridge.models.qwen.qwen3_bridge import Qwen3Bridge  # noqa: F401
        from megatron.bridge.models.qwen.qwen4_bridge import Qwen4Bridge  # noqa: F401
        from megatron.bridge.models.qwen.qwen35_bridge import Qwen35Bridge  # noqa: F401
    """)
    again = add_import(
        after,
        module="megatron.bridge.models.qwen.qwen4_bridge",
        names=["Qwen4Bridge"],
        anchor="megatron.bridge.models.qwen.qwen3_bridge",
        path=FAMILY_INIT,
    )
    assert again == after


def test_add_import_relative_parenthesized_with_comment() -> None:
    before = d("""
        \"\"\"Recipes.\"\"\"

        # Qwen3 models
        from .qwen3 import (
            qwen3_8b_sft_config,
        )
    """)
    after = add_import(
        before,
        module="megatron.bridge.recipes.qwen.qwen4",
        names=["qwen4_8b_sft_config"],
        anchor="megatron.bridge.recipes.qwen.qwen3",
        path="src/megatron/bridge/recipes/qwen/__init__.py",
        comment=lambda c: c.replace("Qwen3", "Qwen4"),
    )
    assert after == before + "\n" + d("""
        # Qwen4 models
        from .qwen4 import (
            qwen4_8b_sft_config,
        )
    """)


def test_wildcard_import_and_missing_anchor() -> None:
    path = "src/megatron/bridge/recipes/__init__.py"
    before = (
        "from megatron.bridge.recipes.gemma3_vl import *\nfrom megatron.bridge.recipes.gemma4_vl import *\n"
    )
    after = add_wildcard_import(
        before,
        module="megatron.bridge.recipes.gemma5_vl",
        anchor="megatron.bridge.recipes.gemma3_vl",
        path=path,
    )
    assert after.splitlines()[-1] == "from megatron.bridge.recipes.gemma5_vl import *"
    with pytest.raises(PlanConflictError, match="no import of megatron.bridge.recipes.llama"):
        add_wildcard_import(before, module="x.y", anchor="megatron.bridge.recipes.llama", path=path)


def test_add_import_names_keeps_sorted_members() -> None:
    before = d("""
        from megatron.bridge.models.gemma_vl import (
            Gemma3VLBridge,
            Gemma3VLModel,
        )
    """)
    after = add_import_names(
        before,
        module="megatron.bridge.models.gemma_vl",
        names=["Gemma5VLBridge"],
        after="Gemma3VLModel",
        path="src/megatron/bridge/models/__init__.py",
    )
    assert "    Gemma3VLModel,\n    Gemma5VLBridge,\n)" in after
    assert (
        add_import_names(
            after,
            module="megatron.bridge.models.gemma_vl",
            names=["Gemma5VLBridge"],
            after="Gemma3VLModel",
            path="src/megatron/bridge/models/__init__.py",
        )
        == after
    )


def test_all_entries_group_after_anchor_and_keep_comments() -> None:
    before = d("""
        __all__ = [
            # Qwen3 models
            "qwen3_a_config",
            "qwen3_b_config",
            # MoE models
            "moe_config",
        ]
    """)
    after = add_all_entries(
        before, [("qwen3_a_config", "qwen4_a_config"), ("qwen3_b_config", "qwen4_b_config")], path="x.py"
    )
    assert after == d("""
        __all__ = [
            # Qwen3 models
            "qwen3_a_config",
            "qwen3_b_config",
            "qwen4_a_config",
            "qwen4_b_config",
            # MoE models
            "moe_config",
        ]
    """)
    assert add_all_entries(after, [("qwen3_a_config", "qwen4_a_config")], path="x.py") == after
    with pytest.raises(PlanConflictError):
        add_all_entries("x = 1\n", [(None, "a")], path="x.py")


def test_remove_duplicate_all_entries() -> None:
    before = '__all__ = ["A", "B", "A"]\n'
    assert remove_duplicate_all_entries(before, path="x.py") == '__all__ = ["A", "B"]\n'
    assert remove_duplicate_all_entries('__all__ = ["A"]\n', path="x.py") == '__all__ = ["A"]\n'


def test_dict_entry_and_set_member_sorted() -> None:
    before = d("""
        EXPECTED = {
            "A": "m.a",
            "C": "m.c",
        }
        STRING = {
            "A",
        }
    """)
    after = add_dict_entry(before, anchor_key="A", key="B", value='"m.b"', path="t.py")
    after = add_set_member(after, variable="STRING", value="B", path="t.py")
    assert '    "A": "m.a",\n    "B": "m.b",\n    "C": "m.c",' in after
    assert '    "A",\n    "B",\n}' in after
    assert add_dict_entry(after, anchor_key="A", key="B", value='"m.b"', path="t.py") == after
    with pytest.raises(PlanConflictError):
        add_dict_entry(before, anchor_key="Z", key="B", value='"m.b"', path="t.py")


def test_register_clone_on_the_real_family_init(real_tree: Path) -> None:
    source = (real_tree / FAMILY_INIT).read_text()
    edited = register_clone(
        source,
        path=FAMILY_INIT,
        module_map={"megatron.bridge.models.qwen.qwen3_bridge": "megatron.bridge.models.qwen.qwen4_bridge"},
        name_map={"Qwen3Bridge": "Qwen4Bridge"},
    )
    added = [line for line in edited.splitlines() if line not in source.splitlines()]
    assert added == ["from megatron.bridge.models.qwen.qwen4_bridge import Qwen4Bridge  # noqa: F401"]
    lines = edited.splitlines()
    assert (
        lines.index(added[0])
        == lines.index(
            "from megatron.bridge.models.qwen.qwen3_next_bridge import Qwen3NextBridge  # noqa: F401"
        )
        + 1
    )
