"""nearest and coverage on the real pinned tree's catalog, with names built from fixture configs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from analyzers.coverage import coverage, pattern_regex
from analyzers.hf_config import load_spec
from analyzers.hf_names import collect_hf_names
from analyzers.nearest import bridge_features, rank

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "fixtures" / "configs"


@pytest.fixture
def tree(real_tree: Path) -> Path:
    return real_tree


@pytest.fixture
def catalog(real_catalog):
    return real_catalog


def names_of(fixture: str) -> list[str]:
    return collect_hf_names(load_spec(str(CONFIGS / fixture / "config.json"))).names


def test_pattern_semantics_follow_mb() -> None:
    assert pattern_regex("model.layers.*.mlp.experts.*.up_proj.weight").match(
        "model.layers.3.mlp.experts.17.up_proj.weight"
    )
    assert not pattern_regex("model.layers.*.x").match("model.layers.3.4.x")  # `*` is one run of digits
    assert pattern_regex("vision_tower.**").match("vision_tower.encoder.layers.0.mlp.fc1.weight")


def test_bridge_features_from_registries(catalog) -> None:
    assert {"moe", "mla", "shared_experts", "mtp", "gated_mlp"} <= bridge_features(
        catalog, catalog.bridge("DeepSeekV3Bridge")
    ).blocks
    assert (
        "qk_norm" not in bridge_features(catalog, catalog.bridge("DeepSeekV3Bridge")).blocks
    )  # MLA's qk_layernorm
    assert bridge_features(catalog, catalog.bridge("Qwen2Bridge")).blocks == {"gated_mlp", "qkv_bias"}
    assert "mamba" in bridge_features(catalog, catalog.bridge("FalconH1Bridge")).blocks
    assert bridge_features(catalog, catalog.bridge("GPTOSSBridge")).dequantizes == {"mxfp4"}


@pytest.mark.hf
def test_moe_registry_covers_per_expert_checkpoint_names(catalog) -> None:
    report = coverage(catalog, catalog.bridge("Qwen3MoEBridge"), names_of("qwen3-30b-a3b"))
    assert (report.matched, report.total) == (18867, 18867)
    assert report.unused == [] and report.double_count == 0
    # grouped (experts.linear_fc1.weight*) and per-expert (local_experts.*) mappings are alternatives
    assert report.alternative_count == 48 * 128 * 3


@pytest.mark.hf
def test_coverage_reports_what_is_really_there(catalog) -> None:
    vl = coverage(catalog, catalog.bridge("Qwen3VLBridge"), names_of("qwen3-vl-8b-instruct"))
    assert vl.share == 1.0
    assert sorted(u.role for u in vl.unused) == ["k", "q", "v"]  # QKV-bias mapping; Qwen3-VL has no biases
    qwen3 = coverage(catalog, catalog.bridge("Qwen3Bridge"), names_of("qwen3-8b"))
    assert qwen3.share == 1.0 and all(u.pattern.startswith("mtp.") for u in qwen3.unused)
    # the published checkpoint spells `backbone.embeddings` (transformers also loads `backbone.embedding`)
    hybrid = coverage(catalog, catalog.bridge("NemotronHBridge"), names_of("nemotron-h-8b-base"))
    assert hybrid.share == 1.0 and hybrid.unmatched == []
    assert "backbone.embeddings.weight" not in {u.pattern for u in hybrid.unused}


@pytest.mark.hf
@pytest.mark.parametrize(
    ("fixture", "own", "block"),
    [
        ("qwen3-30b-a3b", "Qwen3MoEBridge", "moe"),
        ("deepseek-v3", "DeepSeekV3Bridge", "mla"),
    ],
)
def test_rank_own_bridge_first_then_leave_one_out(catalog, fixture: str, own: str, block: str) -> None:
    spec = load_spec(str(CONFIGS / fixture / "config.json"))
    names = names_of(fixture)
    ranked = rank(spec, catalog, names)
    assert ranked[0].bridge == own
    assert ranked == rank(spec, catalog, names)  # deterministic
    hidden = rank(spec, catalog, names, exclude=(own,), top=3)
    assert own not in [c.bridge for c in hidden]
    # with its bridge hidden, the family still ranks top-3 and the first one has the model's defining block
    assert catalog.bridge(own).family in {c.family for c in hidden}, [c.bridge for c in hidden]
    assert block in hidden[0].matches


def test_rank_without_names_uses_config_blocks(catalog) -> None:
    spec = load_spec(str(CONFIGS / "deepseek-v3" / "config.json"))
    top = rank(spec, catalog, None, exclude=("deepseek",), top=5)  # whole family out
    assert all(c.family != "deepseek" for c in top)
    assert top[0].fits and "mla" in top[0].matches and "names" not in top[0].components
    assert any(
        r.startswith("dequantizes fp8") or r.startswith("does not dequantize fp8") for r in top[0].reasons
    )


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "analyzers", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [("{oops", "not valid JSON"), ('{"hidden_size": 1}', "config has no model_type")],
)
def test_inspect_bad_config_exits_2_with_one_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(content)
    proc = run_cli("inspect", str(path), "--no-names")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and message in proc.stderr


def test_inspect_unresolvable_repo_id_exits_2(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "analyzers", "inspect", "bridgesmith-test/none", "--no-names"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60,
                          env={**__import__("os").environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path)})  # fmt: skip
    assert proc.returncode == 2 and "HF_HUB_OFFLINE is set" in proc.stderr


def test_inspect_json_on_quantized_config(tree: Path) -> None:
    proc = run_cli(
        "inspect", str(CONFIGS / "gpt-oss-20b"), "--no-names", "--repo", str(tree), "--format", "json"
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["quantization"]["format"] == "mxfp4"
    assert "import loads the raw quantized values" in data["quantization"]["note"]
    assert "GPTOSSBridge" in data["quantization"]["note"]
    assert {f["name"] for f in data["unknown_fields"]} == {"experts_per_token", "initial_context_length"}
    assert data["hf_names"] == {"unavailable": "HF parameter names not requested (--no-names)"}
