"""clone-family places a clone as maintainers lay families out, and names what it cannot know honestly:
family folder by vendor, nested and existing `--family-dir`, docs/examples/recipes/registrations that follow
it, recipe names that shadow nothing, hub-id placeholders, transformers' registry classes, free class
prefixes, and SRC picked by nearest when only a config is given."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analyzers.catalog import build_catalog
from analyzers.hf_config import load_spec
from analyzers.nearest import rank
from codemods.cli import main
from codemods.clone_family import CloneRequest, plan_clone

BRIDGE = "src/megatron/bridge"


def _plan(tree: Path, *args: str, **flags: str):
    result = plan_clone(tree, CloneRequest(*args, **flags), year=2026)
    created = {e.path: e.after for e in result.plan.changes if e.kind == "create"}
    modified = {e.path: e.after for e in result.plan.changes if e.kind == "modify"}
    return result, created, modified


def test_another_vendors_model_gets_a_family_folder_named_after_it(checkout: Path) -> None:
    result, created, modified = _plan(checkout, "mistral", "granite")
    assert f"{BRIDGE}/models/granite/granite_bridge.py" in created
    assert "GraniteBridge" in created[f"{BRIDGE}/models/granite/__init__.py"]
    assert not any(p.startswith(f"{BRIDGE}/models/mistral/") for p in {**created, **modified})
    assert any(line.startswith("placement: models/granite/") for line in result.plan.report)


def test_same_vendor_stays_in_the_family(checkout: Path) -> None:
    result, created, _ = _plan(checkout, "qwen3", "qwen4")
    assert f"{BRIDGE}/models/qwen/qwen4_bridge.py" in created
    assert result.family == "qwen"


def test_family_dir_joins_an_existing_family_with_its_layout(writable_checkout: Path) -> None:
    # The family's test folder exists already: the clone joins it instead of refusing its __init__.
    tests = writable_checkout / "tests/unit_tests/models/exaone"
    tests.mkdir(parents=True)
    (tests / "__init__.py").write_text("")
    result, created, modified = _plan(writable_checkout, "qwen3", "exaone4x", family_dir="exaone")
    # exaone keeps one sub-package per model (exaone/exaone4/, exaone/exaone45/)
    assert f"{BRIDGE}/models/exaone/exaone4x/exaone4x_bridge.py" in created
    assert "Exaone4xBridge" in modified[f"{BRIDGE}/models/exaone/__init__.py"]
    assert "tests/unit_tests/models/exaone/test_exaone4x_bridge.py" in created
    assert "tests/unit_tests/models/exaone/__init__.py" not in created
    # recipes and their registration follow the family, SRC's family is left alone
    assert f"{BRIDGE}/recipes/exaone/exaone4x.py" in created
    assert "exaone4x_" in modified[f"{BRIDGE}/recipes/exaone/__init__.py"]
    assert not any("/qwen/" in p for p in {**created, **modified})


def test_family_dir_accepts_a_nested_folder(checkout: Path) -> None:
    _, created, modified = _plan(checkout, "qwen3", "exaone4x", family_dir="exaone/exaone4x")
    assert f"{BRIDGE}/models/exaone/exaone4x/__init__.py" in created
    assert "megatron.bridge.models.exaone.exaone4x" in modified[f"{BRIDGE}/models/exaone/__init__.py"]


def test_docs_examples_recipes_follow_a_new_family_dir(checkout: Path) -> None:
    _, created, modified = _plan(checkout, "qwen3", "exaone4x", family_dir="exaone4x")
    written = set(created) | set(modified)
    for path in written:
        if path.startswith(("docs/", "examples/", f"{BRIDGE}/recipes/{''}")) and "/qwen" in path:
            pytest.fail(f"{path} is in qwen's folders, not the chosen family's")
    assert (
        "docs/models/exaone4x/exaone4x.md" in created
    )  # a new vendor folder (the checkout has no exaone docs)
    assert f"{BRIDGE}/recipes/exaone4x/__init__.py" in created
    assert "megatron.bridge.recipes.exaone4x" in modified[f"{BRIDGE}/recipes/__init__.py"]


def test_cloned_recipes_shadow_no_existing_export(checkout: Path) -> None:
    catalog = build_catalog(checkout)
    existing = {f.name for r in catalog.recipes for f in r.functions}
    _, created, _ = _plan(checkout, "llama", "phi3")
    defined = {
        name
        for path, text in created.items()
        if path.startswith(f"{BRIDGE}/recipes/")
        for name in re.findall(r"^def ([a-z]\w*)", text, flags=re.MULTILINE)
    }
    assert defined and not defined & existing


def test_guessed_hub_ids_become_todos(checkout: Path) -> None:
    result, created, _ = _plan(checkout, "llama", "phi3")
    texts = "".join(created.values())
    assert "Meta-Phi3" not in texts and "meta-phi3/" not in texts
    assert any("hub id" in t.message or "published checkpoint" in t.message for t in result.plan.todos)


def test_hub_id_flag_keeps_the_given_organisation(checkout: Path) -> None:
    _, created, _ = _plan(checkout, "llama", "phi3", hf_id="microsoft/Phi-3-mini-4k-instruct")
    texts = "".join(created.values())
    assert "published checkpoint (not" not in texts


def test_bridge_docstring_names_the_new_model(checkout: Path) -> None:
    _, created, _ = _plan(checkout, "glm45", "qwen2x")
    bridge = next(t for p, t in created.items() if p.endswith("qwen2x_bridge.py"))
    docstring = bridge.split("class QWEN2XBridge", 1)[1].split('"""')[1]
    assert "GLM 4.5" not in docstring and "zai-org" not in docstring  # SRC's prose and checkpoint are gone
    assert docstring.strip().startswith("Megatron Bridge for QWEN2XForCausalLM.")


@pytest.mark.hf
def test_tests_use_the_registry_config_class(checkout: Path) -> None:
    result, created, _ = _plan(checkout, "qwen3", "granite", model_type="granite")
    test = created["tests/unit_tests/models/granite/test_granite_bridge.py"]
    assert "from transformers import GraniteConfig, GraniteForCausalLM" in test
    assert any("GraniteConfig" in line for line in result.plan.report)


@pytest.mark.hf
def test_a_taken_class_prefix_is_replaced_by_a_free_one(checkout: Path) -> None:
    result, created, _ = _plan(checkout, "qwen3", "ernie4_5")
    assert result.names.bridge_class == "Ernie4_5Bridge"  # Ernie45Bridge is the tree's ERNIE 4.5 MoE
    assert result.names.hf_class == "Ernie4_5ForCausalLM"  # transformers' spelling
    assert any(line.startswith("class prefix Ernie4_5") for line in result.plan.report)


@pytest.mark.hf
def test_src_is_nearest_top_candidate_when_only_a_config_is_given(
    checkout: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from transformers import AutoConfig

    AutoConfig.for_model("granite").save_pretrained(tmp_path)  # an architecture the tree does not have
    config = tmp_path / "config.json"
    assert (
        main(["clone-family", "granite", "--config", str(config), "--repo", str(checkout), "--dry-run"]) == 0
    )
    err = capsys.readouterr().err
    from analyzers.hf_names import collect_hf_names

    spec = load_spec(str(config))
    names = collect_hf_names(spec)
    top = rank(spec, build_catalog(checkout), names.names, shapes=names.shapes, top=1)[0]
    assert f"clone-family {top.bridge} -> " in err
    assert f"SRC {top.bridge} ({top.family}): nearest's top candidate, score {top.score:.3f}" in err


def test_dst_alone_without_config_is_one_line_exit_2(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["clone-family", "qwen4", "--repo", str(checkout), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "SRC is missing" in err and err.count("\n") == 1
