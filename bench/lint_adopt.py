"""Adopting the lint on Megatron-Bridge main the way a maintainer would, through pre-commit itself.

    python bench/lint_adopt.py [--mirror /work/.mirror/NVIDIA-NeMo+Megatron-Bridge/repo] [--out bench/out/adopt]

1. A git copy of Megatron-Bridge main (archived from a bare mirror, minus the two `.gif`s the snapshot
   lacks) whose `.pre-commit-config.yaml` holds only the `bridgesmith-lint` hook of this repository at
   its HEAD commit; pre-commit (installed into a fresh venv with pip) clones it and builds the hook's
   environment as it would from GitHub.
2. Adopt: `bridgesmith-lint --baseline .bridgesmith-baseline.json --write-baseline`, `baseline` in
   `[tool.bridgesmith.lint]` of the tree's pyproject.toml, committed (the hook runs on that commit).
3. A commit touching one bridge with no new defect must pass; a second such commit is timed (the hook's
   wall time on its second run, from pre-commit's own `--verbose` duration, and the whole `git commit`).
4. A commit that plants a defect (a bridge's `model_type` removed) must be blocked with exactly that finding.
5. Extra: a commit that only appends a comment to `models/__init__.py` (the issue's case) passes, and one
   that deletes a bridge module still imported by its family `__init__.py` is blocked with MBR006.
6. `bridgesmith-lint --fix` on main, then the tree's own `ruff format --check` and `ruff check` (its
   ruff.toml, the ruff of the hook's environment) on the files the fixes touched: clean.
Writes bench/results/lint_adopt.md. Needs git, network-free pip (this machine's index), python3.11.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
MIRROR = Path("/work/.mirror/NVIDIA-NeMo+Megatron-Bridge/repo")
BRIDGE = "src/megatron/bridge/models/qwen/qwen3_bridge.py"
DEFECT_BRIDGE = "src/megatron/bridge/models/olmoe/olmoe_bridge.py"
DELETED = "src/megatron/bridge/models/glm/glm45_bridge.py"
FINDING = re.compile(r"^(\S+):(\d+):(\d+): (MBR\d{3}) ", re.MULTILINE)
BUDGET_S = 1.5


def sh(cmd: list[str], cwd: Path, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if check and out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return out


def checkout(mirror: Path, dest: Path, env: dict[str, str]) -> str:
    """Archive HEAD of the bare mirror into `dest` (without the absent .gif blobs); returns the commit."""
    git = ["git", f"--git-dir={mirror}"]
    head = sh([*git, "rev-parse", "HEAD"], cwd=dest.parent, env=env).stdout.strip()
    names = sh([*git, "ls-tree", "-r", "HEAD", "--name-only"], cwd=dest.parent, env=env).stdout.splitlines()
    keep = [n for n in names if not re.search(r"(ddp|pp)\.gif$", n)]
    archive = dest.parent / "mb.tar"
    with open(archive, "wb") as fh:
        # git names the absent blobs on stderr even though the pathspec leaves them out
        subprocess.run(
            [*git, "archive", "HEAD", "--", *keep], stdout=fh, stderr=subprocess.DEVNULL, check=True
        )
    dest.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    archive.unlink()
    return head


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mirror", type=Path, default=MIRROR)
    parser.add_argument("--out", type=Path, default=PROJECT / "bench/out/adopt")
    parser.add_argument("--results", type=Path, default=PROJECT / "bench/results/lint_adopt.md")
    args = parser.parse_args()
    out: Path = args.out.resolve()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE")
    }
    env.update(
        {
            "GIT_AUTHOR_NAME": "bench",
            "GIT_AUTHOR_EMAIL": "bench@example.com",
            "GIT_COMMITTER_NAME": "bench",
            "GIT_COMMITTER_EMAIL": "bench@example.com",
            "PRE_COMMIT_HOME": str(out / "pre-commit-home"),
            "BRIDGESMITH_CACHE": str(out / "cache"),
        }
    )
    rev = sh(["git", "rev-parse", "HEAD"], cwd=PROJECT, env=env).stdout.strip()
    dirty = sh(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT, env=env).stdout
    rows: list[tuple[str, str, str]] = []

    t0 = time.perf_counter()
    venv = out / "venv"
    sh(["python3.11", "-m", "venv", str(venv)], cwd=out, env=env)
    sh([str(venv / "bin/pip"), "install", "-q", "pre-commit"], cwd=out, env=env)
    version = sh([str(venv / "bin/pre-commit"), "--version"], cwd=out, env=env).stdout.strip()
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"

    tree = out / "Megatron-Bridge"
    mb_head = checkout(args.mirror.resolve(), tree, env)
    (tree / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {PROJECT}\n    rev: {rev}\n    hooks:\n      - id: bridgesmith-lint\n"
    )
    sh(["git", "init", "-q", "-b", "main"], cwd=tree, env=env)
    sh(["git", "add", "-A"], cwd=tree, env=env)
    sh(["git", "commit", "-q", "--no-verify", "-m", "Megatron-Bridge main"], cwd=tree, env=env)
    sh(["pre-commit", "install"], cwd=tree, env=env)
    start = time.perf_counter()
    sh(["pre-commit", "install-hooks"], cwd=tree, env=env)
    rows.append(("pre-commit builds the hook environment", "ok", f"{time.perf_counter() - start:.1f} s"))
    hook_env = next((out / "pre-commit-home").glob("repo*/py_env-*"))
    hook_pkgs = sh([str(hook_env / "bin/python"), "-m", "pip", "list", "--format=freeze"], cwd=out, env=env)
    hook_deps = sorted(line.split("==")[0] for line in hook_pkgs.stdout.splitlines() if "==" in line)

    def commit(message: str) -> tuple[subprocess.CompletedProcess, float]:
        start = time.perf_counter()
        done = sh(["git", "commit", "-m", message], cwd=tree, env=env, check=False)
        return done, time.perf_counter() - start

    def hook_run(files: list[str]) -> float:
        """The hook's own duration as pre-commit reports it (`--verbose`: '- duration: 0.52s')."""
        done = sh(
            ["pre-commit", "run", "bridgesmith-lint", "--verbose", "--files", *files],
            cwd=tree,
            env=env,
            check=False,
        )
        match = re.search(r"duration: ([\d.]+)s", done.stdout)
        return float(match.group(1)) if match else float("nan")

    lint = str(hook_env / "bin/bridgesmith-lint")
    # 6. (run first, before the baseline hides the findings) --fix on main, then the tree's own ruff (its ruff.toml) on the touched files
    fixed = sh([lint, "--fix", "--no-cache"], cwd=tree, env=env, check=False)
    touched = sh(["git", "diff", "--name-only"], cwd=tree, env=env).stdout.split()
    ruff = str(hook_env / "bin/ruff")
    ruff_version = sh([ruff, "--version"], cwd=tree, env=env).stdout.strip()
    fmt = sh([ruff, "format", "--check", *touched], cwd=tree, env=env, check=False)
    check = sh([ruff, "check", "--no-cache", *touched], cwd=tree, env=env, check=False)
    fix_line = next(
        (line for line in fixed.stderr.splitlines() if line.startswith("Fixed ")), fixed.stderr.strip()
    )
    rows.append(
        (
            f"`bridgesmith-lint --fix` on main, then the tree's ruff format --check and ruff check ({ruff_version}) "
            "on the touched files",
            "pass" if touched and fmt.returncode == 0 and check.returncode == 0 else "FAIL",
            f"{fix_line} touched: {', '.join(f'`{p}`' for p in touched)}; format exit {fmt.returncode}, "
            f"check exit {check.returncode}",
        )
    )
    sh(["git", "reset", "-q", "--hard"], cwd=tree, env=env)

    # 2. adopt
    before = sh([lint, "--exit-zero", "--statistics"], cwd=tree, env=env)
    total = sum(int(line.split()[0]) for line in before.stdout.splitlines() if line.strip())
    recorded = sh([lint, "--baseline", ".bridgesmith-baseline.json", "--write-baseline"], cwd=tree, env=env)
    pyproject = tree / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text() + '\n[tool.bridgesmith.lint]\nbaseline = ".bridgesmith-baseline.json"\n'
    )
    sh(["git", "add", "pyproject.toml", ".bridgesmith-baseline.json"], cwd=tree, env=env)
    adopted, _ = commit("Adopt bridgesmith-lint with a baseline")
    rows.append(
        (
            f"adopt: {total} findings on main recorded ({recorded.stderr.strip()})",
            "pass" if adopted.returncode == 0 else "FAIL",
            "baseline committed",
        )
    )

    # 3. a commit touching one bridge, no new defect (twice: the second is timed)
    timings = []
    for i in range(3):
        path = tree / BRIDGE
        path.write_text(path.read_text() + f"\n_ADOPT_EDIT_{i} = {i}\n")
        sh(["git", "add", BRIDGE], cwd=tree, env=env)
        hook_s = hook_run([BRIDGE])
        done, wall = commit(f"Touch {BRIDGE} ({i})")
        timings.append((done.returncode, hook_s, wall))
    ok = all(rc == 0 for rc, _, _ in timings)
    second = timings[1]
    rows.append(
        (
            f"commit touching one bridge (`{BRIDGE}`), no new defect",
            "pass" if ok else "FAIL",
            "hook (pre-commit's duration) "
            + ", ".join(f"{h:.2f} s" for _, h, _ in timings)
            + "; whole `git commit` "
            + ", ".join(f"{w:.2f} s" for _, _, w in timings),
        )
    )
    within = second[1] <= BUDGET_S
    rows.append(
        (
            f"hook wall time, second run <= {BUDGET_S} s",
            "pass" if within else "FAIL",
            f"{second[1]:.2f} s (whole `git commit` {second[2]:.2f} s)",
        )
    )

    # 4. plant a defect: the bridge's model_type removed
    path = tree / DEFECT_BRIDGE
    text = path.read_text()
    planted = re.sub(r',\s*model_type="olmoe"', "", text, count=1)
    assert planted != text, "no model_type to remove"
    path.write_text(planted)
    sh(["git", "add", DEFECT_BRIDGE], cwd=tree, env=env)
    blocked, wall = commit("Plant a defect")
    found = FINDING.findall(blocked.stdout + blocked.stderr)
    exact = blocked.returncode != 0 and [(p, c) for p, _, _, c in found] == [(DEFECT_BRIDGE, "MBR010")]
    shown = re.findall(r"^\S+:\d+:\d+: MBR\d{3} .*$", blocked.stdout + blocked.stderr, re.MULTILINE)
    rows.append(
        (
            f"commit planting a defect (`model_type` removed from `{DEFECT_BRIDGE}`)",
            "pass" if exact else "FAIL",
            f"blocked (exit {blocked.returncode}) with {len(found)} finding(s): `{'`; `'.join(shown)}`",
        )
    )
    sh(["git", "checkout", "HEAD", "--", DEFECT_BRIDGE], cwd=tree, env=env)
    sh(["git", "reset", "-q"], cwd=tree, env=env)

    # 5. the case and a deletion
    init = tree / "src/megatron/bridge/models/__init__.py"
    init.write_text(init.read_text() + "# a comment\n")
    sh(["git", "add", "src/megatron/bridge/models/__init__.py"], cwd=tree, env=env)
    comment, _ = commit("Comment in models/__init__.py")
    rows.append(
        (
            "commit appending a comment to `models/__init__.py` (blocked with 14 findings before)",
            "pass" if comment.returncode == 0 else "FAIL",
            (comment.stdout + comment.stderr).strip().splitlines()[-1][:160]
            if comment.returncode
            else "passes",
        )
    )
    sh(["git", "rm", "-q", DELETED], cwd=tree, env=env)
    deleted, _ = commit("Delete a bridge module")
    found = FINDING.findall(deleted.stdout + deleted.stderr)
    rows.append(
        (
            f"commit deleting `{DELETED}` (still imported by its family `__init__.py`)",
            "pass" if deleted.returncode != 0 and {c for *_, c in found} == {"MBR006"} else "FAIL",
            f"blocked (exit {deleted.returncode}): "
            + "; ".join(f"{p}:{line} {c}" for p, line, _, c in found),
        )
    )
    sh(["git", "reset", "-q", "--hard"], cwd=tree, env=env)

    passed = all(status in ("ok", "pass") for _, status, _ in rows)
    lines = [
        "# Lint adoption on Megatron-Bridge main through pre-commit",
        "",
        f"`python bench/lint_adopt.py` ({time.strftime('%Y-%m-%d', time.gmtime())}, {time.perf_counter() - t0:.0f} s in all):",
        f"Megatron-Bridge main `{mb_head[:12]}`, bridgesmith `{rev[:12]}`{' (with uncommitted changes)' if dirty else ''}, "
        f"{version} in a fresh venv, hook `bridgesmith-lint` installed by pre-commit from this repository.",
        f"The hook's environment holds: {', '.join(hook_deps)}.",
        "",
        "| step | result | detail |",
        "|---|---|---|",
        *(f"| {a} | {b} | {c} |" for a, b, c in rows),
        "",
        f"All steps pass: {'yes' if passed else 'NO'}.",
        "",
    ]
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text("\n".join(lines))
    sys.stdout.write("\n".join(lines))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
