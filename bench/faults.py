"""Fault benchmark: clone-family and rename-family killed inside the write phase, then the next command run.

    python bench/faults.py [--points 25] [--seed 14] [--out bench/results/faults.md]
    python bench/faults.py --writers 20   # two clones at once, 20 rounds -> bench/results/two_writers.md

On a checkout-shaped copy of the real tree, each command runs in a child process
(`tests/reliability/fault_child.py`) that counts the change set's file operations (journal, folders, staged
writes, renames, unlinks) and at a random one sends itself SIGINT, SIGTERM or SIGKILL. Then:

1. the killed run: SIGINT/SIGTERM must exit 128+signal with one line and leave the tree as before;
   SIGKILL leaves a journal;
2. `python -m codemods recover` must leave the tree byte-identical (bytes and modes) to before;
3. the same command run again must exit 0 and leave the tree byte-identical to a clean run's result.

A trial is "half-written" when 2 or 3 fails. `--points` kill points per command and signal (default 25:
2 commands x 3 signals x 25 = 150 trials).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from analyzers.realtree import ensure_tree  # noqa: E402
from tests.conftest import make_checkout  # noqa: E402
from tests.reliability.conftest import snapshot  # noqa: E402

COMMANDS = {
    "clone-family": ["clone-family", "qwen3", "qwen4"],
    "rename-family": ["rename-family", "olmoe", "olmo_moe"],
}
SIGNALS = ("SIGINT", "SIGTERM", "SIGKILL")

Snapshot = dict[str, tuple[bytes, int]]


def restore(root: Path, current: Snapshot, wanted: Snapshot) -> None:
    """Make the tree `wanted` again, touching only what differs (a trial starts from the pristine tree)."""
    for rel in current.keys() - wanted.keys():
        (root / rel).unlink()
    for rel, (data, mode) in wanted.items():
        if current.get(rel) != (data, mode):
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            target.chmod(mode)
    for dirpath, _dirs, _files in sorted(os.walk(root, topdown=False), key=lambda t: -len(t[0])):
        path = Path(dirpath)
        if path != root and not any(path.iterdir()):
            path.rmdir()


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=PROJECT, env=env, capture_output=True, text=True, check=False
    )


def child(action: str, k: int, command: list[str], root: Path, env: dict[str, str]):
    return run(
        ["-m", "tests.reliability.fault_child", action, str(k), "--", *command, "--repo", str(root)], env
    )


def two_writers(rounds: int, out: Path) -> int:
    """`rounds` times: clone qwen4 and qwen5 at once (file operations slowed so the applies overlap);
    every registration of a writer that exits 0 must be present, and a refused writer must leave nothing."""
    models = "src/megatron/bridge/models"
    ok = both = refused = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "BRIDGESMITH_CACHE": str(Path(tmp) / "cache"),
            "BRIDGESMITH_LOCK_WAIT": "120",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        for i in range(rounds):
            root = make_checkout(ensure_tree(), Path(tmp) / f"tree{i}")
            procs = {
                dst: subprocess.Popen(
                    [sys.executable, "-m", "tests.reliability.fault_child", "none", "0", "0.02", "--"]
                    + ["clone-family", "qwen3", dst, "--repo", str(root)],
                    cwd=PROJECT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for dst in ("qwen4", "qwen5")
            }
            codes = {dst: (p.wait(), p.stderr.read()) for dst, p in procs.items()}
            family = (root / models / "qwen" / "__init__.py").read_text()
            top = (root / models / "__init__.py").read_text()
            good = True
            for dst, (code, err) in codes.items():
                cls = f"Qwen{dst[-1]}Bridge"
                present = (
                    cls in family and cls in top and (root / models / "qwen" / f"{dst}_bridge.py").is_file()
                )
                absent = (
                    cls not in family
                    and cls not in top
                    and not (root / models / "qwen" / f"{dst}_bridge.py").exists()
                )
                good &= present if code == 0 else (code == 2 and err.count("\n") == 1 and absent)
            ok += good
            both += all(c == 0 for c, _ in codes.values())
            refused += sum(c == 2 for c, _ in codes.values())
            shutil.rmtree(root)
            print(f"round {i + 1}: {'ok' if good else 'LOST'} {[c for c, _ in codes.values()]}", flush=True)
    elapsed = time.perf_counter() - started
    out.write_text(
        "\n".join(
            [
                "# Two writers at once",
                "",
                f"`python bench/faults.py --writers {rounds}` ({elapsed:.0f} s): two `clone-family` runs (qwen4, qwen5) "
                "started together on one tree, file operations slowed by 0.02 s so the applies overlap.",
                "",
                "| rounds | every registration present or the writer refused cleanly | both applied | one refused (exit 2, one line, nothing written) |",
                "|---|---|---|---|",
                f"| {rounds} | {ok} | {both} | {refused} |",
                "",
            ]
        ),
        encoding="utf-8",
    )
    print(f"two writers: {ok} of {rounds} rounds lost nothing")
    return 0 if ok == rounds else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=25, help="kill points per command and signal")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--out", default=str(PROJECT / "bench/results/faults.md"))
    parser.add_argument(
        "--writers", type=int, default=0, help="run N rounds of two concurrent clones instead"
    )
    opts = parser.parse_args()
    if opts.writers:
        return two_writers(opts.writers, PROJECT / "bench/results/two_writers.md")
    rng = random.Random(opts.seed)
    rows = []
    total = clean = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "BRIDGESMITH_CACHE": str(Path(tmp) / "cache"), "PYTHONDONTWRITEBYTECODE": "1"}
        for name, command in COMMANDS.items():
            root = make_checkout(ensure_tree(), Path(tmp) / name)
            before = snapshot(root)
            counted = child("count", 0, command, root, env)
            assert counted.returncode == 0, counted.stderr
            ops = int(counted.stdout.strip().splitlines()[-1].split()[-1])
            after = snapshot(root)
            for sig in SIGNALS:
                stats = {"trials": 0, "exit": 0, "one_line": 0, "recovered": 0, "applied": 0, "half": 0}
                for _ in range(opts.points):
                    restore(root, snapshot(root), before)
                    k = rng.randint(1, ops)
                    killed = child(sig, k, command, root, env)
                    stats["trials"] += 1
                    expected = -signal.SIGKILL if sig == "SIGKILL" else 128 + getattr(signal, sig)
                    stats["exit"] += killed.returncode == expected
                    if sig != "SIGKILL":
                        err = killed.stderr
                        stats["one_line"] += err.count("\n") == 1 and err.startswith(
                            f"error: interrupted by {sig}"
                        )
                    recovered = run(["-m", "codemods", "recover", "--repo", str(root)], env)
                    back = recovered.returncode == 0 and snapshot(root) == before
                    stats["recovered"] += back
                    again = run(["-m", "codemods", *command, "--repo", str(root)], env)
                    done = again.returncode == 0 and snapshot(root) == after
                    stats["applied"] += done
                    stats["half"] += not (back and done)
                total += stats["trials"]
                clean += stats["trials"] - stats["half"]
                rows.append((name, ops, sig, stats))
                print(name, sig, stats, flush=True)
            shutil.rmtree(root)
    elapsed = time.perf_counter() - started
    lines = [
        "# Fault benchmark: kills inside the write phase",
        "",
        f"`python bench/faults.py --points {opts.points} --seed {opts.seed}` ({elapsed:.0f} s on this machine). Each "
        "trial kills the command at a random file operation of its write phase (journal, folders, staged "
        "writes, renames, unlinks), runs `python -m codemods recover`, then the same command again.",
        "",
        "| command | file ops | signal | trials | exit code as expected | one-line message | tree as before after recover | next run fully applied | half-written |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, ops, sig, s in rows:
        one = "-" if sig == "SIGKILL" else s["one_line"]
        lines.append(
            f"| {name} | {ops} | {sig} | {s['trials']} | {s['exit']} | {one} | {s['recovered']} | {s['applied']} | {s['half']} |"
        )
    lines += ["", f"Nothing half-written in {clean} of {total} trials.", ""]
    Path(opts.out).write_text("\n".join(lines), encoding="utf-8")
    print(f"nothing half-written in {clean} of {total}")
    return 0 if clean == total else 1


if __name__ == "__main__":
    sys.exit(main())
