"""CI's conformance gate: the CPU sweep over every registered bridge must match the checked-in matrix.

A family that passed and now fails breaks the build; a change that makes one pass must update the file
on purpose (`python -m codemods smoke --all --jobs 2 --write-expected tests/smoke/expected_matrix_cpu.json`).
TP=2 with EP=2 runs on a subset covering every mapping class in use (QKV with GQA, gated MLP, experts and
shared experts, MLA, replicated / row / column splits, vocab padding, MiniMax-M2's full-dimension q/k norm
broadcast over the TP group).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = Path(__file__).with_name("expected_matrix_cpu.json")
EXPECTED_TP2 = Path(__file__).with_name("expected_matrix_cpu_tp2.json")
TP2_CASES = "qwen2,qwen3,qwen3_moe,deepseek_v3,ernie4_5_moe,glm4_moe_lite,gpt_oss,minimax_m2,nemotron_h"

pytestmark = pytest.mark.smoke


def sweep(*args: str, log_dir: Path) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-m",
        "codemods",
        "smoke",
        "--all",
        "--jobs",
        "2",
        "--log-dir",
        str(log_dir),
        *args,
    ]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)


def test_cpu_sweep_matches_the_expected_matrix(tmp_path: Path) -> None:
    out = sweep("--expect", str(EXPECTED), log_dir=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr[-4000:]
    assert out.stderr.strip().splitlines()[-1] == f"matrix: matches {EXPECTED}"


def test_cpu_sweep_tp2_ep2_matches_the_expected_matrix(tmp_path: Path) -> None:
    out = sweep(
        "--tp", "2", "--ep", "2", "--cases", TP2_CASES, "--expect", str(EXPECTED_TP2), log_dir=tmp_path
    )
    assert out.returncode == 0, out.stdout + out.stderr[-4000:]
