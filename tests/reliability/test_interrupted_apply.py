"""Interrupted applies leave nothing half-written: SIGINT/SIGTERM (from a thread) roll back in-process,
a SIGKILL (of a child) leaves a journal that the next write command rolls back first."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import analyzers.changes as changes
from codemods.cli import main
from tests.conftest import PROJECT
from tests.reliability.conftest import snapshot

QWEN = "src/megatron/bridge/models/qwen"
CLONE = ["clone-family", "qwen3", "qwen4"]
RENAME = ["rename-family", "olmoe", "olmo_moe"]


class _PausingOs:
    """`os` for analyzers.changes: the K-th `os.replace` sets `reached` and sleeps until a signal ends it."""

    def __init__(self, k: int) -> None:
        self.k, self.calls = k, 0
        self.reached = threading.Event()

    def __getattr__(self, name: str):
        return getattr(os, name)

    def replace(self, src, dst):
        self.calls += 1
        if self.calls == self.k:
            self.reached.set()
            threading.Event().wait(60)  # interrupted by the signal's handler in the main thread
        return os.replace(src, dst)


@pytest.mark.parametrize(
    ("command", "sig", "k"),
    [
        (CLONE, signal.SIGINT, 6),
        (CLONE, signal.SIGTERM, 10),
        (RENAME, signal.SIGINT, 4),
        (RENAME, signal.SIGTERM, 11),
    ],
)
def test_signal_mid_apply_rolls_back_and_says_so(
    writable_checkout: Path,
    own_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
    sig: int,
    k: int,
) -> None:
    before = snapshot(writable_checkout)
    pausing = _PausingOs(k)
    monkeypatch.setattr(changes, "os", pausing)

    finished = threading.Event()

    def send() -> None:
        while not finished.is_set():
            if pausing.reached.wait(0.1):
                os.kill(os.getpid(), sig)
                return

    sender = threading.Thread(target=send)
    sender.start()
    try:
        code = main([*command, "--repo", str(writable_checkout)])
    finally:
        finished.set()
        sender.join()
    assert pausing.reached.is_set()
    err = capsys.readouterr().err
    name = signal.Signals(sig).name
    assert code == 128 + sig
    assert err.count("\n") == 1 and err.startswith(
        f"error: interrupted by {name} during the apply: rolled back "
    )
    assert err.endswith(" file operations, the tree is as before\n")
    assert snapshot(writable_checkout) == before
    assert not changes.journal_path(writable_checkout).exists()
    # and the same command, uninterrupted, then applies in full
    monkeypatch.setattr(changes, "os", os)
    assert main([*command, "--repo", str(writable_checkout)]) == 0


def _child(root: Path, cache: Path, action: str, k: int, command: list[str]) -> subprocess.Popen[str]:
    env = {**os.environ, "BRIDGESMITH_CACHE": str(cache)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.reliability.fault_child",
            action,
            str(k),
            "--",
            *command,
            "--repo",
            str(root),
        ],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill_at(root: Path, cache: Path, k: int, command: list[str]) -> None:
    child = _child(root, cache, "pause", k, command)
    assert child.stdout is not None
    for line in child.stdout:
        if line.startswith("FAULT-POINT"):
            break
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL


@pytest.mark.parametrize("command", [CLONE, RENAME], ids=["clone-family", "rename-family"])
def test_sigkill_leaves_a_journal_that_the_next_command_rolls_back(
    writable_checkout: Path, own_cache: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    root = writable_checkout
    before = snapshot(root)
    _kill_at(root, own_cache, 25, command)
    half = snapshot(root)
    assert half != before  # the kill did land inside the write phase
    assert any(".bridgesmith-" in path for path in half)
    assert changes.journal_path(root).exists()
    # a dry run is a write command too: it rolls back first, then plans on the restored tree
    assert main([*command, "--repo", str(root), "--dry-run"]) == 0
    err = capsys.readouterr().err
    first = err.splitlines()[0]
    assert first.startswith(f"warning: {root}: rolled back an interrupted apply")
    assert first.endswith("paths restored, the tree is as before it")
    assert snapshot(root) == before
    assert main([*command, "--repo", str(root)]) == 0
    assert not any(".bridgesmith-" in path for path in snapshot(root))


def test_recover_command_after_sigkill(writable_checkout: Path, own_cache: Path, capsys) -> None:
    root = writable_checkout
    before = snapshot(root)
    _kill_at(root, own_cache, 12, CLONE)
    assert snapshot(root) != before
    assert main(["recover", "--repo", str(root)]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "rolled back an interrupted apply" in out
    assert snapshot(root) == before
    assert main(["recover", "--repo", str(root)]) == 0
    assert capsys.readouterr().out == f"{root}: nothing to recover\n"


def test_second_writer_waits_then_names_the_holder(writable_checkout: Path, own_cache: Path) -> None:
    root = writable_checkout
    before = snapshot(root)
    holder = _child(root, own_cache, "pause", 3, CLONE)
    assert holder.stdout is not None
    for line in holder.stdout:
        if line.startswith("FAULT-POINT"):
            break
    env = {**os.environ, "BRIDGESMITH_CACHE": str(own_cache), "BRIDGESMITH_LOCK_WAIT": "0.5"}
    second = subprocess.run(
        [sys.executable, "-m", "codemods", "clone-family", "qwen3", "qwen5", "--repo", str(root)],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
    )
    holder.send_signal(signal.SIGTERM)
    holder.wait()
    assert second.returncode == 2
    assert second.stderr.count("\n") == 1
    assert second.stderr.startswith(f"error: {root}: the tree is being written by pid {holder.pid} (")
    assert holder.returncode == 128 + signal.SIGTERM
    assert holder.stderr.read().startswith("error: interrupted by SIGTERM during the apply")
    assert snapshot(root) == before


def test_lint_fix_is_one_transaction(
    writable_checkout: Path,
    own_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # the fixes of several files go in through the same change set as the codemods: all or none
    from analyzers.cli import main as analyzers_main

    monkeypatch.chdir(writable_checkout)
    before = snapshot(writable_checkout)
    pausing = _PausingOs(2)
    monkeypatch.setattr(changes, "os", pausing)
    finished = threading.Event()

    def send() -> None:
        while not finished.is_set():
            if pausing.reached.wait(0.1):
                os.kill(os.getpid(), signal.SIGINT)
                return

    sender = threading.Thread(target=send)
    sender.start()
    try:
        code = analyzers_main(["lint", "--fix"])
    finally:
        finished.set()
        sender.join()
    assert pausing.reached.is_set() and pausing.calls >= 2
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 128 + signal.SIGINT
    assert err[-1].startswith("error: interrupted by SIGINT during the apply: rolled back ")
    assert snapshot(writable_checkout) == before
    monkeypatch.setattr(changes, "os", os)
    assert analyzers_main(["lint", "--fix"]) in (0, 1)
    assert snapshot(writable_checkout) != before
