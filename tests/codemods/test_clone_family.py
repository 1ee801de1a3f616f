"""clone-family on copies of the real tree (wheel src + our checkout overlay): complete, safe, idempotent."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from analyzers.catalog.records import Catalog
from analyzers.cst_edits import imported_modules
from codemods.clone_family import CloneRequest, belongs_to, plan_clone

BRIDGE = "src/megatron/bridge"
RUFF = str(Path(sys.executable).with_name("ruff"))

#: SRC, DST, files the clone must create (relative to src/megatron/bridge unless they start with a top folder)
CASES = {
    "dense": (
        "qwen3",
        "qwen4",
        [
            "models/qwen/qwen4_bridge.py",
            "recipes/qwen/qwen4.py",
            "recipes/qwen/h100/qwen4.py",
            "tests/unit_tests/models/qwen/test_qwen4_bridge.py",
            "tests/functional_tests/test_groups/models/qwen/test_qwen4_conversion.py",
            "docs/models/qwen/qwen4.md",
            "examples/models/qwen/qwen4/README.md",
        ],
    ),
    "moe": (
        "qwen3_moe",
        "qwen4_moe",
        [
            "models/qwen/qwen4_moe_bridge.py",
            "recipes/qwen/qwen4_moe.py",
            "recipes/qwen/h100/qwen4_moe.py",
            "recipes/qwen/gb200/qwen4_moe.py",
            "tests/unit_tests/models/qwen/test_qwen4_moe_bridge.py",
            "docs/models/qwen/qwen4-moe.md",
        ],
    ),
    "vlm": (
        "qwen3_vl",
        "qwen4_vl",
        [
            "models/qwen_vl/qwen4_vl_bridge.py",
            "models/qwen_vl/qwen4_vl_provider.py",
            "models/qwen_vl/modeling_qwen4_vl/model.py",
            "recipes/qwen_vl/qwen4_vl.py",
            "tests/unit_tests/models/qwen_vl/test_qwen4_vl_bridge.py",
            "docs/models/qwen/qwen4-vl.md",
            "examples/models/qwen/qwen4_vl/conversion.sh",
        ],
    ),
    "custom_provider": (
        "olmoe",
        "olmoe2",
        [
            "models/olmoe/olmoe2_bridge.py",
            "models/olmoe/olmoe2_provider.py",
            "recipes/olmoe2/__init__.py",
            "recipes/olmoe2/h100/olmoe2_7b.py",
            "tests/unit_tests/models/olmoe/test_olmoe2_bridge.py",
        ],
    ),
    "registry_helpers": (
        "deepseek_v3",
        "deepseek_v5",
        [
            "models/deepseek/deepseek_v5_bridge.py",
            "recipes/deepseek/deepseek_v5.py",
            "recipes/deepseek/h100/deepseek_v5.py",
            "docs/models/deepseek/deepseek-v5.md",
            "examples/models/deepseek/deepseek_v5/README.md",
        ],
    ),
    "vlm_hf_encoder": (
        "gemma3_vl",
        "gemma5_vl",
        [
            "models/gemma_vl/gemma5_vl_bridge.py",
            "models/gemma_vl/gemma5_vl_provider.py",
            "models/gemma_vl/modeling_gemma5_vl.py",
            "recipes/gemma5_vl/gemma5_vl.py",
            "docs/models/gemma/gemma5-vl.md",
        ],
    ),
}


def _full(rel: str) -> str:
    return rel if rel.split("/")[0] in {"tests", "docs", "examples", "scripts"} else f"{BRIDGE}/{rel}"


def _registrations(path: Path) -> list[dict[str, object]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "register_bridge":
            out.append(
                {
                    kw.arg: ast.literal_eval(kw.value)
                    if isinstance(kw.value, ast.Constant)
                    else ast.unparse(kw.value)
                    for kw in node.keywords
                }
            )
    return out


def _weight_strings(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant)
        and isinstance(n.value, str)
        and re.fullmatch(r"[\w*]+(\.[\w*]+)+\.(weight|bias|layer_norm_weight)", n.value)
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_clone_applies_compiles_lints_and_is_idempotent(
    case: str, writable_checkout: Path, real_catalog: Catalog
) -> None:
    src, dst, expected = CASES[case]
    tree = writable_checkout
    inits_before = {
        p.relative_to(tree).as_posix(): p.read_text() for p in (tree / BRIDGE).rglob("__init__.py")
    }
    result = plan_clone(tree, CloneRequest(src, dst), catalog=real_catalog)
    created = {e.path for e in result.plan.changes if e.kind == "create"}
    assert {_full(rel) for rel in expected} <= created
    assert all(e.kind in {"create", "modify"} for e in result.plan.changes)
    result.plan.apply()

    changed_py = [e.path for e in result.plan.changes if e.path.endswith(".py")]
    compiled = subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *changed_py], cwd=tree, capture_output=True, text=True
    )
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    lint = subprocess.run(
        [RUFF, "check", "--no-cache", "--config", "ruff.toml", *changed_py],
        cwd=tree,
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr

    # The bridge registers the new names; the HF class is a string when transformers lacks it.
    new_bridge = tree / _full(expected[0])
    regs = _registrations(new_bridge)
    assert regs and regs[0]["model_type"] == result.names.model_type
    assert regs[0]["source"] == result.names.hf_class
    old_bridge = tree / result.source.bridge.path
    assert _weight_strings(new_bridge) == _weight_strings(old_bridge)

    # Every package __init__ that registered SRC's bridge or modules now registers the clone's too.
    old_modules = {m for m in result.files.values() if m.startswith("src/")}
    new_of = {old: new for new, old in result.files.items()}

    def module(path: str) -> str:
        return path.removeprefix("src/").removesuffix(".py").removesuffix("/__init__").replace("/", ".")

    for rel, before in inits_before.items():
        if rel in old_modules:  # an __init__ cloned whole (a recipe family dedicated to SRC) is not edited
            continue
        after = (tree / rel).read_text()
        if re.search(rf"\b{result.source.bridge.name}\b", before):
            assert result.names.bridge_class in after, rel
        pkg = ".".join(rel.removeprefix("src/").split("/")[:-1])
        for mod in imported_modules(before, pkg, rel):
            path = "src/" + mod.replace(".", "/")
            old = f"{path}.py" if f"{path}.py" in old_modules else f"{path}/__init__.py"
            if old in old_modules:
                assert module(new_of[old]) in imported_modules(after, pkg, rel), (rel, mod)

    again = plan_clone(tree, CloneRequest(src, dst), catalog=real_catalog)
    assert again.already_applied and again.plan.is_empty()
    result.plan.undo()
    assert {
        p.relative_to(tree).as_posix(): p.read_text() for p in (tree / BRIDGE).rglob("__init__.py")
    } == inits_before


def test_registration_table_and_string_source(writable_checkout: Path, real_catalog: Catalog) -> None:
    result = plan_clone(writable_checkout, CloneRequest("qwen3", "qwen4"), catalog=real_catalog)
    matrix = next(e for e in result.plan.changes if e.path.endswith("test_autobridge_registration_matrix.py"))
    added = [line[1:].strip() for line in matrix.diff().splitlines() if line.startswith("+ ")]
    assert added == [
        '"Qwen4ForCausalLM": "megatron.bridge.models.qwen.qwen4_bridge.Qwen4Bridge",',
        '"Qwen4ForCausalLM",',
    ]
    bridge = next(e for e in result.plan.changes if e.path.endswith("qwen4_bridge.py"))
    assert "from transformers import" not in bridge.after  # Qwen3ForCausalLM is no longer needed
    assert "qwen3" not in bridge.after.lower().replace("qwen3 ", "")


def test_moe_recipes_get_the_new_prefix(writable_checkout: Path, real_catalog: Catalog) -> None:
    result = plan_clone(writable_checkout, CloneRequest("qwen3_moe", "qwen4_moe"), catalog=real_catalog)
    h100 = next(e for e in result.plan.changes if e.path.endswith("recipes/qwen/h100/qwen4_moe.py"))
    functions = re.findall(r"^def (\w+)", h100.after, flags=re.MULTILINE)
    assert functions and all(f.startswith("qwen4_moe_") for f in functions)
    assert "qwen4_moe_30b_a3b_pretrain_8gpu_h100_bf16_config" in functions


def test_overrides_and_family_dir(writable_checkout: Path, real_catalog: Catalog) -> None:
    request = CloneRequest(
        "qwen3",
        "mymodel",
        hf_class="MyModelForCausalLM",
        model_type="my_model",
        class_prefix="MyModel",
        family_dir="mymodel",
        hf_id="acme/MyModel-7B",
    )
    result = plan_clone(writable_checkout, request, catalog=real_catalog)
    paths = {e.path: e for e in result.plan.changes}
    assert f"{BRIDGE}/models/mymodel/mymodel_bridge.py" in paths
    init = paths[f"{BRIDGE}/models/mymodel/__init__.py"].after
    assert "from megatron.bridge.models.mymodel.mymodel_bridge import MyModelBridge" in init
    regs = paths[f"{BRIDGE}/models/mymodel/mymodel_bridge.py"].after
    assert 'source="MyModelForCausalLM"' in regs and 'model_type="my_model"' in regs
    recipe = paths[f"{BRIDGE}/recipes/mymodel/h100/mymodel.py"].after
    assert '"acme/MyModel-8B"' in recipe and "Qwen/" not in recipe
    result.plan.apply()
    lint = subprocess.run(
        [RUFF, "check", "--no-cache", "--config", "ruff.toml", *[p for p in paths if p.endswith(".py")]],
        cwd=writable_checkout,
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout


def test_belongs_to_is_exact() -> None:
    others = {"qwen3_moe", "qwen3_next", "qwen3_vl"}
    assert belongs_to("qwen3_bridge.py", "qwen3", others)
    assert belongs_to("test_qwen3_bridge.py", "qwen3", others)
    assert not belongs_to("qwen3_moe_bridge.py", "qwen3", others)
    assert not belongs_to("qwen35_bridge.py", "qwen3", others)
    assert belongs_to("modelling_qwen3_vl", "qwen3_vl", set())
    assert belongs_to("qwen3-vl.md", "qwen3_vl", set())


def test_clones_add_no_lint_finding(writable_checkout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A clone is registered where the lint expects it, also where SRC is not (Qwen3Bridge is missing
    from models.__all__), and its modules are spelt `modeling_` (SRC's package is `modelling_qwen3_vl`)."""
    from analyzers.lint.config import LintConfig
    from analyzers.lint.engine import lint_tree

    monkeypatch.setenv("BRIDGESMITH_CACHE", str(writable_checkout.parent / "cache"))
    before = lint_tree(writable_checkout, LintConfig(select=["ALL"]))
    assert any(f.code == "MBR004" and "`Qwen3Bridge`" in f.message for f in before.findings)
    assert any(f.code == "MBR035" and "modelling_qwen3_vl" in f.message for f in before.findings)
    reports = []
    for src, dst in (("qwen3", "qwen4"), ("qwen3_vl", "qwen4_vl")):
        result = plan_clone(writable_checkout, CloneRequest(src, dst))
        reports += result.plan.report
        result.plan.apply()
    after = lint_tree(writable_checkout, LintConfig(select=["ALL"]))
    about_clones = [f for f in after.findings if "qwen4" in f.path.lower() + f.message.lower()]
    assert about_clones == []
    assert {(f.code, f.path) for f in after.findings} <= {(f.code, f.path) for f in before.findings}
    assert any("modelling_qwen3_vl's clone modeling_" in line for line in reports)
