"""clone-family refuses a `--config` Megatron-Core cannot compute as configured (exit 2, nothing written,
every feature named); `--allow-unsupported` writes it with TODOs at each place (exit 1); rules that could
not run are warnings, not silence."""

from __future__ import annotations

import ast
import json
import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

from codemods.cli import main
from tests.codemods.test_clone_cli import _snapshot
from tests.conftest import make_checkout

pytestmark = pytest.mark.hf

PROJECT = Path(__file__).resolve().parents[2]
BRIDGE = "src/megatron/bridge"


def _default_config(model_type: str, dest: Path, **overrides: object) -> Path:
    from transformers import AutoConfig

    AutoConfig.for_model(model_type, **overrides).save_pretrained(dest)
    return dest


@pytest.fixture(scope="module")
def tree(real_tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_checkout(real_tree, tmp_path_factory.mktemp("expressible") / "tree")


@pytest.fixture(scope="module")
def configs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("configs")
    return {
        "granite": _default_config("granite", base / "granite"),
        # ibm-granite/granite-3.0-2b-base's published multipliers
        "granite-3.0": _default_config(
            "granite",
            base / "granite-3.0",
            embedding_multiplier=12.0,
            residual_multiplier=0.22,
            attention_multiplier=0.015625,
            logits_scaling=8.0,
        ),
        "cohere": _default_config("cohere", base / "cohere"),
        "phi3": _default_config("phi3", base / "phi3"),
    }


def _error_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("dry_run", [False, True])
def test_cohere_default_config_is_refused_before_anything_is_written(
    tree: Path, configs: dict[str, Path], capsys: pytest.CaptureFixture[str], dry_run: bool
) -> None:
    before = _snapshot(tree)
    argv = ["clone-family", "mistral", "cohere", "--config", str(configs["cohere"]), "--repo", str(tree)]
    assert main(argv + (["--dry-run"] if dry_run else [])) == 2
    out, err = capsys.readouterr()
    line = _error_line(err)
    assert line.startswith(f"error: clone-family: {configs['cohere']}: cannot be expressed: ")
    assert "logit scale (Megatron-Core's muP output multiplier" in line
    assert out == ""
    assert _snapshot(tree) == before


def test_a_megatron_core_feature_the_clone_writes_is_not_refused(
    tree: Path, configs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # Granite's default attention_multiplier (1.0) replaces 1/sqrt(head_dim): no bridge reads it, but
    # Megatron-Core computes it as softmax_scale, and the clone writes that setting.
    argv = ["clone-family", "mistral", "granite", "--config", str(configs["granite"]), "--repo", str(tree)]
    assert main(argv + ["--dry-run"]) == 0
    out, err = capsys.readouterr()
    assert "cannot be expressed" not in err
    assert "softmax_scale" in out + err
    # the default's other multipliers are 1.0: they change nothing, so nothing is said about them
    assert "embedding multiplier" not in err and "logits scaling" not in err


def test_every_unsupported_feature_is_named_on_one_line(
    tree: Path, configs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    before = _snapshot(tree)
    argv = [
        "clone-family",
        "mistral",
        "granite",
        "--config",
        str(configs["granite-3.0"]),
        "--repo",
        str(tree),
    ]
    assert main(argv + ["--format", "json"]) == 2
    out, err = capsys.readouterr()
    line = _error_line(err)
    named = line.split("cannot be expressed: ", 1)[1].split("; ")
    # the attention multiplier is not named: the clone writes it as softmax_scale
    assert [n.split(" (", 1)[0] for n in named] == [
        "embedding multiplier",
        "residual multiplier",
        "logits scaling",
    ]
    assert "mup_embedding_mult" in named[0] and "local layer spec" in named[1]
    assert out == ""  # JSON convention: an error is one line on stderr, no document
    argv = ["clone-family", "mistral", "cohere", "--config", str(configs["cohere"]), "--repo", str(tree)]
    assert main(argv) == 2
    line = _error_line(capsys.readouterr().err)
    assert "logit scale (Megatron-Core's muP output multiplier" in line
    assert "parallel attention + MLP residual (a local layer spec" in line
    assert _snapshot(tree) == before


def _method_span(text: str, cls: str, method: str) -> tuple[int, int]:
    node = next(n for n in ast.parse(text).body if isinstance(n, ast.ClassDef) and n.name == cls)
    func = next(n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == method)
    return func.lineno, func.end_lineno or func.lineno


def test_allow_unsupported_writes_todos_where_each_feature_belongs_and_exits_1(
    real_tree: Path, tmp_path: Path, configs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    tree = make_checkout(real_tree, tmp_path / "tree")
    argv = [
        "clone-family",
        "mistral",
        "granite",
        "--config",
        str(configs["granite-3.0"]),
        "--repo",
        str(tree),
    ]
    assert main(argv + ["--allow-unsupported", "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["applied"] is True
    assert [f["name"] for f in doc["unsupported"]] == [
        "embedding multiplier",
        "residual multiplier",
        "logits scaling",
    ]
    bridge = f"{BRIDGE}/models/granite/granite_bridge.py"
    text = (tree / bridge).read_text(encoding="utf-8")
    first, last = _method_span(text, "GraniteBridge", "provider_bridge")
    todo_lines = [
        i
        for i, line in enumerate(text.splitlines(), 1)
        if "TODO(bridgesmith): " in line and "is not expressed" in line
    ]
    assert len(todo_lines) == 3 and all(first < i <= last for i in todo_lines)
    assert "residual multiplier (residual_multiplier=0.22) is not expressed" in text
    todos = [t for t in doc["todos"] if t["path"] == bridge and "is not expressed" in t["message"]]
    assert sorted(t["line"] for t in todos) == todo_lines

    # a fused checkpoint tensor no catalog class takes is expressed by the local class the clone writes
    # (tests/codemods/test_clone_local_mappings.py: where a mapping feature's TODO goes when none does)
    argv = ["clone-family", "llama", "phi3", "--config", str(configs["phi3"]), "--repo", str(tree)]
    assert main(argv + ["--allow-unsupported"]) == 0
    out = capsys.readouterr().out
    assert "unsupported: fused gate/up MLP tensor" not in out
    text = (tree / f"{BRIDGE}/models/phi3/phi3_bridge.py").read_text(encoding="utf-8")
    first, last = _method_span(text, "Phi3Bridge", "mapping_registry")
    uses = [i for i, line in enumerate(text.splitlines(), 1) if "FusedGateUpMLPMapping(" in line]
    assert len(uses) == 2 and first < uses[1] <= last  # the class statement, then its registry entry
    assert "fused gate/up MLP tensor" not in text  # no TODO for it


def test_without_transformers_the_unchecked_rules_are_a_warning(
    tree: Path, configs: dict[str, Path], tmp_path: Path
) -> None:
    # an environment without transformers: this interpreter with its site-packages less transformers
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    for entry in Path(site.getsitepackages()[0]).iterdir():
        if not entry.name.lower().startswith("transformers"):
            (site_dir / entry.name).symlink_to(entry)
    before = _snapshot(tree)
    env = {**os.environ, "PYTHONPATH": f"{PROJECT}:{site_dir}", "PYTHONNOUSERSITE": "1"}
    out = subprocess.run(
        [sys.executable, "-S", "-m", "codemods", "clone-family", "mistral", "cohere",
         "--config", str(configs["cohere"]), "--repo", str(tree), "--dry-run"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300, check=False,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert lines[0] == (
        "warning: clone-family: expressibility not checked (transformers is not installed): interleaved RoPE "
        "(rotate_half), q/k norm after RoPE, q/k norm over the whole projection, parallel attention + MLP "
        "residual, MoE router scoring (sigmoid/softmax), norms scaling by 1 + weight, RoPE skipped on some layers"
    )
    assert lines[1].startswith("warning: clone-family: expressibility not checked (no HF checkpoint names): ")
    # the config's own field is still checked; the parallel residual only the modeling file shows is not
    assert "logit scale" in lines[-1] and "parallel" not in lines[-1]
    assert _snapshot(tree) == before


# --- a local-module feature SRC does not compute ----------------------------------------------------


@pytest.fixture(scope="module")
def qk_configs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("qk_configs")
    minimax = _default_config("minimax_m2", base / "minimax_m2")
    heads = json.loads((minimax / "config.json").read_text())["num_attention_heads"]
    return {
        "olmo2": _default_config("olmo2", base / "olmo2"),
        "minimax_m2": minimax,
        # the same model with as many K/V heads as query heads
        "minimax_m2_mha": _default_config("minimax_m2", base / "minimax_m2_mha", num_key_value_heads=heads),
    }


def test_olmo2_from_a_per_head_source_is_refused_naming_the_bridges_that_compute_it(
    tree: Path, qk_configs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from analyzers.catalog import build_catalog
    from analyzers.qk_norm import bridge_qk_norm

    catalog = build_catalog(tree)
    assert not bridge_qk_norm(catalog, catalog.bridge("Exaone4Bridge")).whole
    before = _snapshot(tree)
    config = qk_configs["olmo2"]
    assert main(["clone-family", "Exaone4Bridge", "olmo2", "--config", str(config), "--repo", str(tree)]) == 2
    line = _error_line(capsys.readouterr().err)
    assert "Exaone4Bridge does not compute: q/k norm over the whole projection (names: " in line
    # OlMoE computes it but normalises the block inputs; Exaone4 the outputs: no bridge computes both
    assert "OlMoEBridge" in line and "no bridge computes both" in line
    assert "--allow-unsupported" in line  # the bench's refusal line, like every refusal
    assert _snapshot(tree) == before


def test_olmo2_from_olmoe_is_refused_for_its_post_norms(
    tree: Path, qk_configs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    before = _snapshot(tree)
    config = qk_configs["olmo2"]
    assert main(["clone-family", "OlMoEBridge", "olmo2", "--config", str(config), "--repo", str(tree)]) == 2
    line = _error_line(capsys.readouterr().err)
    # OlMoE builds the whole-projection norm but normalises block inputs; Exaone4's layer spec the outputs
    assert (
        "OlMoEBridge does not compute: norms after attention and MLP only" in line and "Exaone4Bridge" in line
    )
    assert "no bridge computes both" in line
    # OlMoE computes the whole-projection norm: it is named only as what Exaone4 lacks
    assert (
        "OlMoEBridge does not compute: q/k norm" not in line
        and "; q/k norm over the whole projection (" not in line
    )
    assert "which do not compute q/k norm over the whole projection" in line
    assert _snapshot(tree) == before


def _k_norm_sizes(code: str) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "attr", None) == "k_layernorm":
            out.append(ast.unparse(next(k.value for k in node.value.keywords if k.arg == "hidden_size")))
    return out


@pytest.mark.parametrize(
    ("case", "heads"), [("minimax_m2", "num_query_groups"), ("minimax_m2_mha", "num_attention_heads")]
)
def test_a_gqa_config_from_olmoe_sizes_the_cloned_k_norm_by_num_query_groups(
    tree: Path, qk_configs: dict[str, Path], case: str, heads: str
) -> None:
    from analyzers.catalog import build_catalog
    from codemods.clone_family import CloneRequest, plan_clone

    request = CloneRequest(
        "OlMoEBridge",
        "mmx",
        config=str(qk_configs[case]),
        model_type="mmx",  # minimax_m2 is registered in the real tree
        hf_class="MmxForCausalLM",
        exclude_teachers=("MiniMaxM2Bridge",),
    )
    result = plan_clone(tree, request, catalog=build_catalog(tree))
    assert not result.unsupported
    source = (tree / BRIDGE / "models/olmoe/olmoe_provider.py").read_text()
    assert _k_norm_sizes(source) == ["self.hidden_size_per_attention_head * self.config.num_attention_heads"]
    cloned = [
        c.after
        for c in result.plan.changes
        if c.path.endswith("_provider.py") and "k_layernorm" in (c.after or "")
    ]
    assert len(cloned) == 1
    assert _k_norm_sizes(cloned[0]) == [f"self.hidden_size_per_attention_head * self.config.{heads}"]
    # the Q norm stays over every query head
    assert (
        "* self.config.num_attention_heads"
        in cloned[0].split("self.k_layernorm")[0].split("self.q_layernorm")[1]
    )
    report = "\n".join(result.plan.report)
    assert ("k_layernorm sized by num_query_groups" in report) is (heads == "num_query_groups")
