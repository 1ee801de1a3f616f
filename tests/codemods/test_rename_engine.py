"""The shared rename engine with its plain string policy, one behaviour per test: qwen3 -> qwen4 in `pkg.mod`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from codemods.naming import Renamer, Variant
from codemods.rename_engine import ModuleNames, RenameTransformer, StringPolicy, rename_module
from tests.codemod import assert_codemod

RENAMER = Renamer([Variant("qwen3", "qwen4"), Variant("Qwen3", "Qwen4")], protected=["qwen3_moe"])
OWNED = {"pkg.qwen3_provider": "pkg.qwen4_provider", "pkg": "pkg"}


def _rename(
    code: str,
    *,
    kept: Iterable[str] = (),
    renamed: Mapping[str, str] | None = None,
    moved: Mapping[str, str] | None = None,
    frozen: Iterable[str] = (),
) -> str:
    names = ModuleNames(
        RENAMER,
        RENAMER,
        "pkg.mod",
        False,
        owned=OWNED.get,
        kept=frozenset(kept),
        renamed=renamed or {},
        moved=moved or {},
    )
    return rename_module(code, RenameTransformer(names, StringPolicy(RENAMER), frozen_functions=frozen))


def test_names_are_renamed_but_kept_ones_and_chains_rooted_at_them() -> None:
    assert_codemod(
        _rename,
        """
        model = Qwen3Model(qwen3_moe=torch.qwen3.Qwen3Op)
        """,
        """
        model = Qwen4Model(qwen3_moe=torch.qwen3.Qwen3Op)
        """,
        kept={"torch"},
    )


def test_imports_of_owned_modules_are_renamed_relative_ones_stay_relative() -> None:
    assert_codemod(
        _rename,
        """
        from pkg.qwen3_provider import Qwen3Provider as Qwen3P
        from .qwen3_provider import QWEN3_LAYERS, qwen3_layers
        """,
        """
        from pkg.qwen4_provider import Qwen4Provider as Qwen4P
        from .qwen4_provider import QWEN3_LAYERS, qwen4_layers
        """,
    )


def test_imports_from_outside_keep_their_names_unless_the_new_ones_are_known() -> None:
    assert_codemod(
        _rename,
        """
        from transformers.models.qwen3 import Qwen3Config, Qwen3Model
        """,
        """
        from transformers.models.qwen4 import Qwen4Config, Qwen3Model
        """,
        renamed={"Qwen3Config": "Qwen4Config"},
        moved={"transformers.models.qwen3": "transformers.models.qwen4"},
    )


def test_strings_by_kind() -> None:
    assert_codemod(
        _rename,
        '''
        """The Qwen3 module."""
        NAMES = ["qwen3", "megatron.bridge.models.qwen3", "model.qwen3.weight", b"qwen3", "a qwen3 model"]
        ''',
        '''
        """The Qwen4 module."""
        NAMES = ["qwen4", "megatron.bridge.models.qwen3", "model.qwen3.weight", b"qwen3", "a qwen4 model"]
        ''',
    )


def test_comments_and_fstring_prose() -> None:
    assert_codemod(
        _rename,
        """
        x = f"the qwen3 model {n}", f"{n}.qwen3"  # qwen3 only
        """,
        """
        x = f"the qwen4 model {n}", f"{n}.qwen3"  # qwen4 only
        """,
    )


def test_frozen_functions_keep_their_strings_not_their_docstrings_or_comments() -> None:
    assert_codemod(
        _rename,
        '''
        def mapping_registry():
            """Weights of qwen3."""
            return {"qwen3": f"qwen3 {n}"}  # qwen3
        ''',
        '''
        def mapping_registry():
            """Weights of qwen4."""
            return {"qwen3": f"qwen3 {n}"}  # qwen4
        ''',
        frozen={"mapping_registry"},
    )
