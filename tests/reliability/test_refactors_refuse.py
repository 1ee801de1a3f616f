"""Refactors complete or refuse: unreadable / undecodable / unparsable inputs, shadowing targets, colliding
patterns and paths outside the tree are one line and exit 2 with nothing written; a finished refactor
run again says "nothing to do" and exits 0."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from codemods.cli import main
from tests.reliability.conftest import snapshot

MODELS = "src/megatron/bridge/models"
AS_ROOT = os.geteuid() == 0  # root reads mode-000 files


def _run(root: Path, args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main([*args, "--repo", str(root)])
    out, err = capsys.readouterr()
    return code, out, err


def _refused(root: Path, args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    before = snapshot(root)
    code, _, err = _run(root, args, capsys)
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert snapshot(root) == before
    return err.removeprefix("error: ").rstrip("\n")


def _spoil(path: Path, how: str) -> None:
    if how == "non-utf8":
        path.write_bytes(path.read_bytes() + b"# \xff\n")
    elif how == "unparsable":
        path.write_text(path.read_text() + "\ndef broken(:\n")
    else:
        path.chmod(0)


SPOILS = [
    "non-utf8",
    "unparsable",
    pytest.param("mode-000", marks=pytest.mark.skipif(AS_ROOT, reason="root")),
]


@pytest.mark.parametrize("how", SPOILS)
def test_rename_symbol_refuses_an_unreadable_importer(
    writable_checkout: Path, own_cache: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    init = writable_checkout / MODELS / "qwen" / "__init__.py"
    _spoil(init, how)
    message = _refused(writable_checkout, ["rename-symbol", "Qwen2Bridge", "Qwen2xBridge"], capsys)
    expected = {
        "non-utf8": "cannot read: not UTF-8 (invalid start byte at byte ",
        "unparsable": "cannot parse: invalid syntax",
        "mode-000": "cannot read: Permission denied",
    }[how]
    assert message.startswith(f"{MODELS}/qwen/__init__.py: {expected}")


@pytest.mark.parametrize("how", SPOILS)
def test_rename_param_refuses_an_unreadable_bridge(
    writable_checkout: Path, own_cache: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    bridge = writable_checkout / MODELS / "qwen" / "qwen2_bridge.py"
    _spoil(bridge, how)
    args = ["rename-param", "self_attention.linear_qkv.weight", "self_attention.linear_qkv2.weight"]
    message = _refused(writable_checkout, args, capsys)
    assert message.startswith(f"{MODELS}/qwen/qwen2_bridge.py: rename-param must read this file: ")


@pytest.mark.parametrize("how", SPOILS[:1])
def test_rename_family_refuses_an_undecodable_member(
    writable_checkout: Path, own_cache: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    _spoil(writable_checkout / MODELS / "olmoe" / "olmoe_provider.py", how)
    message = _refused(writable_checkout, ["rename-family", "olmoe", "olmo_moe"], capsys)
    assert message.startswith(f"{MODELS}/olmoe/olmoe_provider.py: cannot read: not UTF-8 (invalid start byte")


def test_rename_param_onto_an_existing_pattern_is_refused(
    writable_checkout: Path, own_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["rename-param", "linear_qkv.weight", "linear_proj.weight", "--side", "megatron"]
    message = _refused(writable_checkout, args, capsys)
    assert "target already exists: " in message and "would map it twice" in message


def test_rename_param_pattern_with_a_newline_is_refused(
    writable_checkout: Path, own_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = _refused(
        writable_checkout, ["rename-param", "linear_qkv.weight", "linear_qkv\n.weight"], capsys
    )
    assert message == "NEW 'linear_qkv\\n.weight' is not a parameter-name pattern"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["rename-family", "olmoe", "gpt_provider"],
            f"{MODELS}/gpt_provider.py: family 'gpt_provider' would shadow the module of the same name "
            "(a package hides it)",
        ),
        (
            ["clone-family", "qwen3", "qwen4", "--family-dir", "gpt_provider"],
            f"{MODELS}/gpt_provider.py: --family-dir 'gpt_provider' would shadow the module of the same name",
        ),
        (
            ["move-module", "megatron.bridge.models.qwen.qwen3_next_bridge", "megatron.bridge.models.qwen"],
            f"{MODELS}/qwen.py: target would be hidden by the package {MODELS}/qwen/ of the same name",
        ),
        (
            ["move-module", "megatron.bridge.models.qwen.qwen3_next_bridge", "os.path"],
            "'os.path' is not a module under megatron.bridge",
        ),
        (
            ["move-module", "megatron.bridge.models.qwen.qwen3_next_bridge", "src/../../outside/evil.py"],
            "'src/../../outside/evil.py' is not a module path inside the tree (a part is not an identifier)",
        ),
        (
            [
                "move-module",
                "megatron.bridge.models.qwen.qwen3_next_bridge",
                "src/../../../../outside/evil.py",
            ],
            "'src/../../../../outside/evil.py' is not a module path inside the tree (a part is not an identifier)",
        ),
        (
            ["rename-symbol", "\uff31wen3Bridge", "Qwen9Bridge"],
            "OLD 'Ｑwen3Bridge' is not a plain identifier: Python reads it as 'Qwen3Bridge'",
        ),
        (
            ["rename-symbol", "Qwen3Bridge", "\uff31wen9Bridge"],
            "NEW 'Ｑwen9Bridge' is not a plain identifier: Python reads it as 'Qwen9Bridge'",
        ),
    ],
    ids=[
        "rename-family-shadow",
        "clone-family-shadow",
        "move-module-shadow",
        "move-os-path",
        "move-outside",
        "move-far-outside",
        "full-width-old",
        "full-width-new",
    ],
)
def test_bad_targets_are_refused_at_once(
    writable_checkout: Path,
    own_cache: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    assert _refused(writable_checkout, args, capsys) == message


@pytest.mark.parametrize(
    "args",
    [
        ["rename-symbol", "Qwen3Bridge", "Qwen3DenseBridge"],
        ["rename-family", "olmoe", "olmo_moe"],
        [
            "move-module",
            "megatron.bridge.models.qwen.qwen3_next_bridge",
            "megatron.bridge.models.qwen3_next.bridge",
        ],
        ["rename-param", "mtp.layers.*.enorm.weight", "mtp.layers.*.enorm_x.weight"],
    ],
    ids=["rename-symbol", "rename-family", "move-module", "rename-param"],
)
def test_a_finished_refactor_run_again_has_nothing_to_do(
    writable_checkout: Path, own_cache: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, _, err = _run(writable_checkout, args, capsys)
    assert code == 0, err
    after = snapshot(writable_checkout)
    code, out, err = _run(writable_checkout, args, capsys)
    assert code == 0, err
    assert out.startswith("nothing to do: ") and out.count("\n") == 1
    assert snapshot(writable_checkout) == after


def test_move_module_refuses_an_undecodable_module(
    writable_checkout: Path, own_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _spoil(writable_checkout / MODELS / "qwen" / "qwen3_next_bridge.py", "non-utf8")
    args = [
        "move-module",
        "megatron.bridge.models.qwen.qwen3_next_bridge",
        "megatron.bridge.models.qwen3_next.bridge",
    ]
    message = _refused(writable_checkout, args, capsys)
    assert message.startswith(
        f"{MODELS}/qwen/qwen3_next_bridge.py: cannot read: not UTF-8 (invalid start byte"
    )


def test_clone_family_names_a_source_it_cannot_read(
    writable_checkout: Path, own_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _spoil(writable_checkout / MODELS / "qwen" / "qwen2_bridge.py", "unparsable")
    message = _refused(writable_checkout, ["clone-family", "qwen2", "qwen9"], capsys)
    assert message.startswith(
        f"{MODELS}/qwen/qwen2_bridge.py: SRC 'qwen2' may be defined here, which cannot be read: "
    )
