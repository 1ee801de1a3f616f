"""The catalog on the real pinned tree: registrations, bridges, families, recipes, parts, bad input.

Expected values were read off the 0.6.2 sources by hand (grep of `register_bridge(` and
`register_bridge_implementation(` outside models/conversion/: 61 calls; the files named below).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analyzers.catalog import build as build_module
from analyzers.catalog import build_catalog
from analyzers.errors import RepoError

PROJECT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analyzers", *args], capture_output=True, text=True, cwd=cwd or PROJECT
    )


@pytest.fixture
def models_tree(real_tree, tmp_path, monkeypatch) -> Path:
    """A writable copy of the real models/ folder, with a catalog cache of its own."""
    monkeypatch.setenv("BRIDGESMITH_CACHE", str(tmp_path / "cache"))
    tree = tmp_path / "tree"
    shutil.copytree(real_tree / "src/megatron/bridge/models", tree / "src/megatron/bridge/models")
    return tree


def test_every_registration_is_found(real_catalog):
    regs = real_catalog.registrations()
    assert len(regs) == 61
    registered = [b for b in real_catalog.bridges if b.registrations]
    assert len(registered) == 60
    assert sum(1 for b in registered if b.diffusion) == 4
    assert len({b.family for b in registered if not b.diffusion}) == 35


@pytest.mark.parametrize(
    ("bridge", "expected"),
    [
        # models/qwen/qwen3_bridge.py: decorator, HF class imported from transformers
        ("Qwen3Bridge", [("decorator", "Qwen3ForCausalLM", "class", "GPTModel", "qwen3", None)]),
        ("Qwen3MoEBridge", [("decorator", "Qwen3MoeForCausalLM", "class", "GPTModel", "qwen3_moe", None)]),
        # models/ernie/ernie_45_bridge.py: source is the module constant _ERNIE45_MOE_HF_CLASS_NAME
        (
            "Ernie45Bridge",
            [
                (
                    "decorator",
                    "Ernie4_5_MoeForCausalLM",
                    "constant",
                    "GPTModel",
                    "ernie4_5_moe",
                    "GPTModelProvider",
                )
            ],
        ),
        # models/exaone/exaone_moe/exaone_moe_bridge.py: decorator plus a register_bridge_implementation alias
        (
            "ExaoneMoeBridge",
            [
                (
                    "decorator",
                    "ExaoneMoeForCausalLM",
                    "class",
                    "GPTModel",
                    "exaone_moe",
                    "ExaoneMoeModelProvider",
                ),
                ("implementation", "ExaoneMoEForCausalLM", "string", "GPTModel", None, None),
            ],
        ),
        # models/ministral3/ministral3_bridge.py: register_bridge(...)(cls) inside try/except
        (
            "Ministral3Bridge",
            [("call", "Mistral3ForConditionalGeneration", "class", "Ministral3Model", "mistral3", None)],
        ),
        # models/hy_v3/hy_v3_bridge.py: string source
        ("HYV3Bridge", [("decorator", "HYV3ForCausalLM", "string", "GPTModel", "hy_v3", "GPTModelProvider")]),
        # models/mistral/mistral_bridge.py registers without model_type
        ("MistralBridge", [("decorator", "MistralForCausalLM", "class", "GPTModel", None, None)]),
    ],
)
def test_registration_fields(real_catalog, bridge, expected):
    record = real_catalog.bridge(bridge)
    assert record is not None
    got = [
        (r.style, r.source, r.source_kind, r.target, r.model_type, r.provider) for r in record.registrations
    ]
    assert got == expected


def test_guarded_call_registration_is_marked(real_catalog):
    (reg,) = real_catalog.bridge("Ministral3Bridge").registrations
    assert reg.guarded and reg.location.path.endswith("ministral3/ministral3_bridge.py")


def test_qwen3_bridge_facts(real_catalog):
    b = real_catalog.bridge("Qwen3Bridge")
    assert b.family == "qwen" and b.module == "megatron.bridge.models.qwen.qwen3_bridge"
    assert b.bases == ["MegatronModelBridge"]
    assert b.hooks == ["mapping_registry", "provider_bridge"]
    assert b.provider_bridge_calls_super is True
    assert b.provider_attributes == {
        "normalization": '"RMSNorm"',
        "gated_linear_unit": "True",
        "add_bias_linear": "False",
        "add_qkv_bias": "False",
        "hidden_dropout": "0.0",
        "qk_layernorm": "True",
        "autocast_dtype": "torch.bfloat16",
    }


def test_dequantizing_bridges_override_the_load_hook(real_catalog):
    hooked = {b.name for b in real_catalog.bridges if "maybe_modify_loaded_hf_weight" in b.hooks}
    # shared/README: DeepSeek-V3, MiniMax-M2, Ministral3, GPT-OSS dequantize on load (among others).
    assert {"DeepSeekV3Bridge", "MiniMaxM2Bridge", "Ministral3Bridge", "GPTOSSBridge"} <= hooked
    assert "Qwen3Bridge" not in hooked


def test_config_mapping_is_data(real_catalog):
    pairs = dict(real_catalog.config_mapping)
    assert pairs["num_hidden_layers"] == "num_layers"
    assert pairs["num_key_value_heads"] == "num_query_groups"
    assert ("num_local_experts", "num_moe_experts") in real_catalog.config_mapping


def test_family_and_recipes(real_catalog):
    qwen = real_catalog.family("qwen")
    assert {"Qwen2Bridge", "Qwen3Bridge", "Qwen3MoEBridge", "Qwen3NextBridge"} <= set(qwen.bridges)
    assert "megatron.bridge.models.qwen.qwen3_bridge" in qwen.init.imports
    # models/__init__.py of 0.6.2 does not import the qwen LLM family (it is reached through qwen_vl and mimo).
    assert qwen.imported_by_models_init is False
    assert real_catalog.family("llama").imported_by_models_init is True
    assert "qwen" in qwen.recipes
    recipes = next(r for r in real_catalog.recipes if r.name == "qwen")
    assert recipes.hardware == ["gb200", "h100"]
    assert recipes.wildcard_imported == ["qwen", "qwen.h100"]
    h100 = {f.name for f in recipes.functions if f.hardware == "h100"}
    assert "qwen3_8b_pretrain_16gpu_h100_bf16_config" in h100
    assert "qwen3_8b_pretrain_config" in recipes.init.all


def test_wheel_tree_reports_checkout_parts_absent(real_catalog):
    assert real_catalog.tree_kind == "wheel"
    assert real_catalog.parts == {
        "tests": False,
        "docs": False,
        "examples": False,
        "scripts": False,
        "skills": False,
    }
    assert all(f.unit_tests is None and not f.docs for f in real_catalog.families)


def test_mapping_classes_include_local_subclasses(real_catalog):
    names = {m.name for m in real_catalog.mapping_classes}
    assert {"AutoMapping", "QKVMapping", "GatedMLPMapping", "ReplicatedMapping"} <= names
    local = [m for m in real_catalog.mapping_classes if m.family]
    assert local, "families define their own mapping subclasses"


def test_json_round_trip(real_catalog):
    from analyzers.catalog.records import Catalog

    data = json.loads(json.dumps(real_catalog.to_json()))
    assert Catalog.from_json(data) == real_catalog


def test_warm_run_parses_nothing(real_tree, tmp_path, monkeypatch):
    monkeypatch.setenv("BRIDGESMITH_CACHE", str(tmp_path / "cache"))
    cold = build_catalog(real_tree, jobs=1)
    calls = []
    original = build_module._extract_one
    monkeypatch.setattr(build_module, "_extract_one", lambda *a: calls.append(a[0]) or original(*a))
    warm = build_catalog(real_tree, jobs=1)
    assert calls == [] and warm == cold


def test_changed_file_is_reparsed_alone(models_tree, monkeypatch):
    tree = models_tree
    build_catalog(tree, jobs=1)
    target = tree / "src/megatron/bridge/models/qwen/qwen3_bridge.py"
    target.write_text(target.read_text().replace('model_type="qwen3"', 'model_type="qwen3x"'))
    calls = []
    original = build_module._extract_one
    monkeypatch.setattr(build_module, "_extract_one", lambda *a: calls.append(a[0]) or original(*a))
    catalog = build_catalog(tree, jobs=1)
    assert calls == ["src/megatron/bridge/models/qwen/qwen3_bridge.py"]
    assert catalog.bridge("Qwen3Bridge").registrations[0].model_type == "qwen3x"
    # The incremental rebuild (cached facts, outline of param_mapping.py) equals a full parse.
    monkeypatch.setattr(build_module, "_extract_one", original)
    assert catalog == build_catalog(tree, use_cache=False, jobs=1)


def test_syntax_error_is_reported_and_the_rest_catalogued(models_tree):
    tree = models_tree
    broken = tree / "src/megatron/bridge/models/qwen/qwen3_bridge.py"
    broken.write_text(
        broken.read_text().replace("class Qwen3Bridge(MegatronModelBridge):", "class Qwen3Bridge(:")
    )
    (tree / "src/megatron/bridge/models/llama/notes.py").write_bytes(b"x = '\xff'\n")
    result = run_cli("catalog", "--repo", str(tree))
    assert result.returncode == 0
    assert (
        "src/megatron/bridge/models/qwen/qwen3_bridge.py:29:1: syntax error at line 29: invalid syntax"
        in result.stderr
    )
    assert "src/megatron/bridge/models/llama/notes.py:1:1: not UTF-8" in result.stderr
    assert "Qwen2Bridge" in result.stdout and "Qwen3Bridge [qwen]" not in result.stdout


@pytest.mark.parametrize(
    ("repo", "message"),
    [
        ("/nonexistent/bridgesmith", "error: /nonexistent/bridgesmith: no such directory"),
        (".", "not a Megatron-Bridge tree (no src/megatron/bridge/models/)"),
    ],
)
def test_bad_repo_is_one_line_exit_2(repo, message):
    result = run_cli("catalog", "--repo", repo)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr


def test_repo_found_from_current_directory(real_tree):
    result = run_cli(
        "catalog", "--family", "qwen", "--format", "json", cwd=real_tree / "src/megatron/bridge/models"
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["schema_version"] == 2 and data["command"] == "catalog"
    assert {b["name"] for b in data["bridges"]} >= {"Qwen3Bridge", "Qwen2Bridge"}
    assert {b["family"] for b in data["bridges"]} == {"qwen"}


def test_no_tree_around_cwd(tmp_path):
    result = run_cli("catalog", cwd=tmp_path)
    assert result.returncode == 2 and "no Megatron-Bridge tree around the current directory" in result.stderr


def test_unknown_family_lists_known(real_tree):
    result = run_cli("catalog", "--repo", str(real_tree), "--family", "qwen9")
    assert result.returncode == 2 and "unknown family 'qwen9'" in result.stderr and "qwen_vl" in result.stderr


def test_table_view(real_tree):
    result = run_cli("catalog", "--repo", str(real_tree), "--format", "table")
    assert result.returncode == 0
    row = next(line for line in result.stdout.splitlines() if line.startswith("qwen "))
    assert row.split()[1] == "6" and "absent" in row


#: the counts of the pinned tree, as every view and the README state them
COUNTS = (
    "60 registered bridge classes (4 diffusion), 61 registrations, 39 families (35 + 4 diffusion); "
    "not families (no registered bridge): gpt, hybrid, mamba, megatron_mimo"
)


def test_every_view_counts_the_same_families(real_tree):
    # A family is a package with at least one registered bridge class: models/gpt, hybrid and mamba hold
    # providers others build on and megatron_mimo registers none, so none of them is counted, in any view.
    text = run_cli("catalog", "--repo", str(real_tree)).stdout.splitlines()
    table = run_cli("catalog", "--repo", str(real_tree), "--format", "table").stdout.splitlines()
    doc = json.loads(run_cli("catalog", "--repo", str(real_tree), "--format", "json").stdout)
    assert any(line.startswith(COUNTS + "; tree: wheel") for line in text)
    assert table[-1].startswith(COUNTS + "; tree: wheel")
    rows = [line.split()[0] for line in table[2:-1]]
    assert rows == [f["name"] for f in doc["families"]] and len(rows) == 39
    assert doc["summary"] == {
        "registered_bridges": 60,
        "diffusion_bridges": 4,
        "registrations": 61,
        "families": 39,
        "diffusion_families": 4,
        "packages_without_bridges": ["gpt", "hybrid", "mamba", "megatron_mimo"],
    }
    assert [f["name"] for f in doc["packages_without_bridges"]] == doc["summary"]["packages_without_bridges"]
    assert sum(len(f["bridges"]) for f in doc["families"]) == 60
    assert "39 families (35 + 4 diffusion)" in (PROJECT / "README.md").read_text()


def test_family_filter_keeps_the_counts_consistent(real_tree):
    doc = json.loads(
        run_cli("catalog", "--repo", str(real_tree), "--family", "gpt", "--format", "json").stdout
    )
    assert doc["families"] == [] and [f["name"] for f in doc["packages_without_bridges"]] == ["gpt"]
    assert doc["summary"]["families"] == 0 and doc["bridges"] == []
    qwen = run_cli("catalog", "--repo", str(real_tree), "--family", "qwen", "--format", "table").stdout
    assert qwen.splitlines()[-1].startswith(
        "6 registered bridge classes (0 diffusion), 6 registrations, 1 families"
    )


def test_static_catalog_never_imports_heavy_packages(real_tree):
    code = (
        "import sys; from analyzers.cli import main; main(['catalog', '--repo', sys.argv[1], '--format', 'json']);"
        "heavy = [m for m in ('torch', 'transformers', 'megatron', 'libcst', 'rope') if m in sys.modules];"
        "sys.stderr.write(repr(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(real_tree)], capture_output=True, text=True, cwd=PROJECT
    )
    assert result.stderr.endswith("[]"), result.stderr[-300:]


def test_missing_repo_raises_repo_error(tmp_path):
    from analyzers.repo import find_repo

    with pytest.raises(RepoError):
        find_repo(tmp_path)


def test_checkout_parts_are_catalogued(checkout, tmp_path, monkeypatch):
    monkeypatch.setenv("BRIDGESMITH_CACHE", str(tmp_path / "cache"))
    catalog = build_catalog(checkout)
    assert catalog.tree_kind == "checkout"
    assert catalog.parts["tests"] and catalog.parts["docs"] and catalog.parts["examples"]
    qwen = catalog.family("qwen")
    assert qwen.unit_tests == "tests/unit_tests/models/qwen"
    assert qwen.functional_tests == "tests/functional_tests/test_groups/models/qwen"
    # Pages are assigned by name: qwen3-vl.md belongs to qwen_vl, not to the qwen LLM family.
    assert qwen.docs == ["docs/models/qwen/qwen.md", "docs/models/qwen/qwen3-moe.md"]
    assert catalog.family("qwen_vl").docs == ["docs/models/qwen/qwen3-vl.md"]
    assert catalog.family("qwen_vl").examples == ["examples/models/qwen/qwen3_vl"]
    assert catalog.family("deepseek").examples == ["examples/models/deepseek/deepseek_v3"]
    assert catalog.family("llama").unit_tests is None


def test_incremental_rebuild_equals_full_parse(models_tree):
    """Custom mapping subclasses, positional arguments and cross-module helpers, re-read through the cached
    outline of param_mapping.py, give the same records as a full parse."""
    tree = models_tree
    build_catalog(tree, jobs=1)
    models = tree / "src/megatron/bridge/models"
    touched = (
        "gpt_oss/gpt_oss_bridge.py",
        "deepseek/common.py",
        "deepseek/deepseek_v4_bridge.py",
        "gemma_vl/gemma3_vl_bridge.py",
        "llama/llama_bridge.py",
    )
    for rel in touched:
        (models / rel).write_text((models / rel).read_text() + "\n# touched\n")
    assert build_catalog(tree, jobs=1) == build_catalog(tree, use_cache=False, jobs=1)


def test_new_docs_page_is_seen_by_a_warm_run(checkout, tmp_path, monkeypatch):
    """The cache key covers the listings of tests/, docs/ and examples/, not only the .py sources."""
    monkeypatch.setenv("BRIDGESMITH_CACHE", str(tmp_path / "cache"))
    tree = tmp_path / "tree"
    shutil.copytree(checkout, tree)
    assert build_catalog(tree).family("qwen").docs == [
        "docs/models/qwen/qwen.md",
        "docs/models/qwen/qwen3-moe.md",
    ]
    (tree / "docs/models/qwen/qwen3-next.md").write_text("# Qwen3-Next\n")
    assert "docs/models/qwen/qwen3-next.md" in build_catalog(tree).family("qwen").docs


def test_shared_memos_keep_every_files_dependencies(real_tree):
    """Files extracted with one loader (memos shared between files) record the dependencies a fresh
    loader per file finds: a memo hit counts what computing the memoised value read."""
    from analyzers.catalog.build import _extract_one, _mapping_class_names
    from analyzers.catalog.modules import ModuleLoader

    families = ("deepseek", "glm", "kimi", "nemotron_vl", "gemma_vl", "qwen_vl")
    files = sorted(
        p.relative_to(real_tree).as_posix()
        for family in families
        for p in (real_tree / "src/megatron/bridge/models" / family).glob("*_bridge.py")
    )
    shared = ModuleLoader(real_tree)
    classes = _mapping_class_names(shared)
    together = {rel: _extract_one(rel, (real_tree / rel).read_bytes(), shared, classes).deps for rel in files}
    for rel in files:
        alone = _extract_one(rel, (real_tree / rel).read_bytes(), ModuleLoader(real_tree), classes).deps
        assert together[rel] == alone, rel


def test_a_changed_shared_module_invalidates_every_reader(models_tree):
    """Renaming a class of param_mapping.py re-reads every bridge whose registry used it."""
    tree = models_tree
    build_catalog(tree, jobs=1)
    param_mapping = tree / "src/megatron/bridge/models/conversion/param_mapping.py"
    param_mapping.write_text(
        param_mapping.read_text().replace("class AutoMapping(", "class AutoMappingRenamed(", 1)
    )
    warm = build_catalog(tree, jobs=1)
    assert warm == build_catalog(tree, use_cache=False, jobs=1)
    assert len(warm.bridge("DeepSeekV3Bridge").registry.mappings) < 10  # AutoMapping no longer resolves
