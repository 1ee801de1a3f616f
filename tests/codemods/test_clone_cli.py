"""`python -m codemods clone-family`: dry run, JSON plan, refusals (exit 2, nothing written), apply and rerun."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from codemods.cli import main
from tests.conftest import make_checkout


def _snapshot(root: Path) -> str:
    digest = hashlib.sha1()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def tree(real_tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_checkout(real_tree, tmp_path_factory.mktemp("cli") / "tree")


def test_dry_run_prints_the_full_diff_and_writes_nothing(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _snapshot(tree)
    assert main(["clone-family", "qwen3", "qwen4", "--repo", str(tree), "--dry-run"]) == 0
    out, err = capsys.readouterr()
    assert "--- /dev/null\n+++ b/src/megatron/bridge/models/qwen/qwen4_bridge.py" in out
    assert "+++ b/src/megatron/bridge/models/qwen/__init__.py" in out
    assert "+++ b/docs/models/qwen/index.md" in out
    assert "would write" in err
    assert _snapshot(tree) == before


def test_json_plan_lists_files_reasons_and_todos(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["clone-family", "qwen3", "qwen4", "--repo", str(tree), "--dry-run", "--format", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    files = {f["path"]: f for f in plan["files"]}
    bridge = files["src/megatron/bridge/models/qwen/qwen4_bridge.py"]
    assert bridge["action"] == "create" and bridge["reasons"] == [
        "cloned from src/megatron/bridge/models/qwen/qwen3_bridge.py"
    ]
    assert files["src/megatron/bridge/models/qwen/__init__.py"]["action"] == "modify"
    assert any("revision" in t["message"] for t in plan["todos"])
    assert plan["applied"] is False


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["qwen3", "qwen3_moe"], "model_type 'qwen3_moe' is already registered"),
        (["qwen3", "Qwen-4"], "is not a snake_case identifier"),
        (
            ["qwen3", "qwen4", "--family-dir", "../evil"],
            "--family-dir '../evil' is not a snake_case identifier",
        ),
        (
            ["qwen3", "qwen4", "--class-prefix", "qwen4"],
            "--class-prefix 'qwen4' is not a CamelCase identifier",
        ),
        (["qwen", "qwen4"], "'qwen' is ambiguous"),
        (["qwen9", "qwen10"], "no bridge class, model_type, bridge module or family named 'qwen9'"),
        (
            ["qwen3", "qwen4", "--hf-class", "Qwen3MoeForCausalLM"],
            "Qwen3MoeForCausalLM is already registered",
        ),
    ],
)
def test_refusals_exit_2_with_one_line_and_write_nothing(
    tree: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    before = _snapshot(tree)
    assert main(["clone-family", *argv, "--repo", str(tree)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert _snapshot(tree) == before


def test_apply_then_rerun_changes_nothing(
    real_tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = make_checkout(real_tree, tmp_path / "tree")
    assert main(["clone-family", "deepseek_v3", "deepseek_v5", "--repo", str(tree)]) == 0
    out = capsys.readouterr().out
    assert "wrote" in out and "create src/megatron/bridge/models/deepseek/deepseek_v5_bridge.py" in out
    after = _snapshot(tree)
    assert main(["clone-family", "deepseek_v3", "deepseek_v5", "--repo", str(tree)]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert _snapshot(tree) == after
    # A different clone onto the same name is refused.
    assert main(["clone-family", "qwen3", "deepseek_v5", "--repo", str(tree)]) == 2
    assert "already" in capsys.readouterr().err


def test_smoke_in_the_static_env_names_the_smoke_env_and_writes_nothing(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The main env has torch + transformers but no Megatron: --smoke refuses before anything is written.
    import importlib.util

    assert importlib.util.find_spec("megatron") is None
    before = _snapshot(tree)
    assert main(["clone-family", "qwen3", "qwen8", "--repo", str(tree), "--smoke"]) == 2
    _, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        "error: clone-family --smoke: the smoke test needs megatron.core, megatron.bridge"
    )
    assert "run it in the smoke environment: tox -e smoke" in lines[0]
    assert _snapshot(tree) == before


def test_smoke_hook_runs_on_what_was_just_written(
    tree: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from codemods.commands import clone_family

    seen = []

    def hook(result, args) -> int:
        path = next(new for new, old in result.files.items() if old == result.source.bridge.path)
        seen.append((path, (tree / path).is_file(), result.names.bridge_class))
        return 1

    monkeypatch.setattr(clone_family, "SMOKE_HOOK", hook)
    assert main(["clone-family", "qwen3", "qwen7", "--repo", str(tree), "--smoke"]) == 1
    assert seen == [("src/megatron/bridge/models/qwen/qwen7_bridge.py", True, "Qwen7Bridge")]
    capsys.readouterr()


@pytest.mark.smoke
def test_smoke_runs_the_generated_bridge(
    real_tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Smoke env only (torch + megatron): Qwen3 rebuilt from Qwen2 with Qwen3's config round-trips through the
    # generated Qwen9Bridge (q/k norm added, QKV bias dropped, qk_layernorm set) and computes Qwen3's logits,
    # about 30 s on CPU.
    tree = make_checkout(real_tree, tmp_path / "tree")
    config = Path(__file__).resolve().parents[2] / "fixtures/configs/qwen3-8b/config.json"
    argv = ["clone-family", "qwen2", "qwen9", "--repo", str(tree), "--config", str(config)]
    argv += ["--model-type", "qwen9", "--hf-class", "Qwen9ForCausalLM", "--smoke"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "(Qwen3ForCausalLM via Qwen9Bridge)" in out
    assert "PASS    export          47/47 tensors bit-exact" in out  # 4 toy layers
    assert "PASS    logits          fp32" in out


def test_without_ruff_installed_the_clone_is_one_line_exit_2(tree: Path, tmp_path: Path) -> None:
    """An environment with every package of this one except ruff (and a PATH without it): one line naming
    ruff and where it was looked for, exit 2, nothing written."""
    import os
    import site
    import subprocess
    import sys

    bin_dir, site_dir = tmp_path / "bin", tmp_path / "site"
    bin_dir.mkdir()
    site_dir.mkdir()
    python = bin_dir / "python"
    python.symlink_to(Path(sys.executable).resolve())  # no ruff beside it
    for entry in Path(site.getsitepackages()[0]).iterdir():
        if not entry.name.lower().startswith("ruff"):
            (site_dir / entry.name).symlink_to(entry)
    before = _snapshot(tree)
    env = {
        **os.environ,
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{Path(__file__).resolve().parents[2]}:{site_dir}",
    }
    out = subprocess.run(
        [str(python), "-m", "codemods", "clone-family", "qwen3", "qwen4", "--repo", str(tree)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ruff: not found"), out.stderr
    assert _snapshot(tree) == before
