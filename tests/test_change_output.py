"""One presentation of every write: `lint --diff`/`--fix`, `clone-family` and the refactors print the same
change-set part in their JSON documents (`analyzers.change_output`), on a real change of the real tree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyzers.change_output import CHANGE_SET_KEYS
from analyzers.changes import ChangeContents, CreateFile, DeleteFile, MoveFile, normalise

OLMOE = "megatron.bridge.models.olmoe.olmoe_bridge"


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and ".ruff_cache" not in p.parts
    }


def _expected_diff(doc: dict, before: dict[str, bytes], root: Path) -> str:
    """The diff the typed changes render for what the command changed on disk (before -> after)."""

    def old(path: str) -> str:
        return normalise(before[path].decode("utf-8"))

    def new(path: str) -> str:
        return (root / path).read_text(encoding="utf-8")

    out = []
    for entry in doc["files"]:  # sorted by path, as the change set describes its changes
        path = entry["path"]
        if "moved_from" in entry:
            continue  # described with its source
        if "moved_to" in entry:
            out.append(MoveFile(path, entry["moved_to"], old(path), new(entry["moved_to"])).describe())
        elif entry["action"] == "create":
            out.append(CreateFile(path, new(path)).describe())
        elif entry["action"] == "delete":
            out.append(DeleteFile(path, old(path)).describe())
        else:
            out.append(ChangeContents(path, old(path), new(path)).describe())
    return "".join(out)


def _change_set_part(doc: dict) -> list[str]:
    return [k for k in doc if k in CHANGE_SET_KEYS]


def test_every_write_command_prints_the_same_change_set_part(
    writable_checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from analyzers.cli import main as analyzers_main
    from codemods.cli import main as codemods_main

    root = writable_checkout
    repo = ["--repo", str(root), "--format", "json"]
    docs = {}

    # lint: the fixes document of --diff, then --fix writes exactly that diff
    before = _files(root)
    assert analyzers_main(["lint", "--diff", "--select", "MBR005", *repo]) == 1
    docs["lint"] = lint = json.loads(capsys.readouterr().out)
    assert lint["applied"] is False and _files(root) == before
    assert analyzers_main(["lint", "--fix", "--select", "MBR005", *repo]) == 0
    capsys.readouterr()
    assert lint["diff"] == _expected_diff(lint, before, root)

    # clone-family and a refactor with moves: dry run, then the applied document's diff is the same
    for command, argv in [
        ("clone-family", ["qwen3", "qwen4"]),
        ("move-module", [OLMOE, "megatron.bridge.models.olmoe.olmoe_hf_bridge"]),
    ]:
        before = _files(root)
        assert codemods_main([command, *argv, *repo, "--dry-run"]) == 0
        dry = json.loads(capsys.readouterr().out)
        assert codemods_main([command, *argv, *repo]) == 0
        docs[command] = applied = json.loads(capsys.readouterr().out)
        assert (dry["applied"], applied["applied"]) == (False, True)
        assert dry["diff"] == applied["diff"] == _expected_diff(applied, before, root)
        assert dry["files"] == applied["files"]

    assert any("moved_to" in e for e in docs["move-module"]["files"])
    for command, doc in docs.items():
        assert _change_set_part(doc) == list(CHANGE_SET_KEYS), command
        assert doc["root"] == str(root) and doc["already_applied"] is False and doc["diff"]
        paths = [e["path"] for e in doc["files"]]
        assert paths == sorted(paths)
        for entry in doc["files"]:
            assert list(entry)[:3] == ["path", "action", "reasons"], (command, entry)
            assert entry["action"] in ("create", "modify", "delete")
    # the lint's files say which findings their edits fix, besides the edits themselves
    (fixed,) = lint["files"]
    assert fixed["reasons"] == lint["fixed"] and fixed["edits"]
