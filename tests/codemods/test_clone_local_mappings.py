"""clone-family's local mapping classes (real tree, transformers' default configs): a dense MLP's fused
gate/up tensor, which no catalog class takes, gets `FusedGateUpMLPMapping` written into the bridge module and
used by its registry, so Phi3 is no longer refused; the class converts both ways as GatedMLPMapping lays the
halves out."""

from __future__ import annotations

import json
from pathlib import Path

import libcst as cst
import pytest

from analyzers.expressibility import expressibility
from analyzers.hf_config import load_spec
from analyzers.hf_names import collect_hf_names
from analyzers.modeling_source import modeling_facts
from codemods.cli import main
from codemods.clone_family._expressible import _Annotate
from codemods.clone_family._local_mappings import FEATURE, insert_local_classes, plan_local_mappings
from codemods.clone_family._registry_edits import plan_registry
from tests.conftest import make_checkout

BRIDGE = "src/megatron/bridge"
PARAM_MAPPING = "megatron.bridge.models.conversion.param_mapping"


def _phi3_plan(catalog):
    names = collect_hf_names(load_spec(from_transformers="phi3"))
    return plan_registry(catalog, catalog.bridge("LlamaBridge"), names, model_type="phi3")


def test_gate_up_layout_is_read_from_the_decoder_layers_mlp() -> None:
    assert modeling_facts("phi3").fused_gate_up_layout == "gate-up"
    # its audio encoder's MLP splits up-first; the decoder layers' MLP, which the checkpoint's LM has, gate-first
    assert modeling_facts("phi4_multimodal").fused_gate_up_layout == "gate-up"
    assert modeling_facts("llama").fused_gate_up_layout is None


def test_phi3_registry_maps_gate_up_proj_through_the_local_class(real_catalog) -> None:
    plan = _phi3_plan(real_catalog)
    adds = {(k.mapping_class, k.megatron_param, tuple(k.hf_list)) for k in plan.adds}
    assert (
        "FusedGateUpMLPMapping",
        "decoder.layers.*.mlp.linear_fc1.weight",
        ("model.layers.*.mlp.gate_up_proj.weight",),
    ) in adds
    assert [(m.class_name, m.feature) for m in plan.local] == [("FusedGateUpMLPMapping", FEATURE)]
    assert plan.classes["GatedMLPMapping"] == PARAM_MAPPING
    assert plan.classes["MegatronParamMapping"] == PARAM_MAPPING
    assert not [t for t in plan.todos if "gate_up_proj" in t]
    # the pre-MLP norm Llama fuses into linear_fc1 stays there: the new registry has linear_fc1
    assert not [t for t in plan.element_todos.values() if "linear_fc1" in t]


def test_the_analyzers_feature_is_the_one_the_class_expresses(real_catalog) -> None:
    spec = load_spec(from_transformers="phi3")
    names = collect_hf_names(spec)
    _, unsupported = expressibility(spec, real_catalog, names.names, names.shapes)
    assert FEATURE in [f.name for f in unsupported if f.kind == "mapping"]


def test_no_local_class_without_a_gate_first_split() -> None:
    # Llama's modeling file has no fused gate/up projection: nothing tells which half is the gate
    assert plan_local_mappings(["model.layers.*.mlp.gate_up_proj.weight"], "llama", "") == []
    # an expert tensor (a second index) is FusedGatedExpertMapping's
    assert plan_local_mappings(["model.layers.*.mlp.experts.*.gate_up_proj.weight"], "phi3", "") == []


def test_the_class_goes_above_the_bridge_class_once() -> None:
    (local,) = plan_local_mappings(["model.layers.*.mlp.gate_up_proj.weight"], "phi3", "")
    code = "from a import B\n\n\n@register\nclass Phi3Bridge(B):\n    pass\n"
    module = insert_local_classes(cst.parse_module(code), "Phi3Bridge", [local, local])
    classes = [s.name.value for s in module.body if isinstance(s, cst.ClassDef)]
    assert classes == ["FusedGateUpMLPMapping", "Phi3Bridge"]
    assert module.code.startswith("import torch\nfrom a import B\n")
    # run again on its own output: nothing changes
    assert insert_local_classes(module, "Phi3Bridge", [local]).code == module.code


def test_registry_todos_of_a_mapping_feature_go_into_mapping_registry(real_catalog, real_tree: Path) -> None:
    # with --allow-unsupported a mapping feature no class expresses is a TODO in mapping_registry
    spec = load_spec(from_transformers="phi3")
    names = collect_hf_names(spec)
    _, unsupported = expressibility(spec, real_catalog, names.names, names.shapes)
    (feature,) = [f for f in unsupported if f.name == FEATURE]
    source = (real_tree / "src/megatron/bridge/models/llama/llama_bridge.py").read_text(encoding="utf-8")
    comment = f"# TODO(bridgesmith): {feature.name} ({', '.join(feature.evidence)}) is not expressed"
    text = cst.parse_module(source).visit(_Annotate("LlamaBridge", {"mapping_registry": [comment]})).code
    lines = [line.strip() for line in text.splitlines()]
    first = next(i for i, line in enumerate(lines) if line.startswith("def mapping_registry("))
    last = next(i for i, line in enumerate(lines) if i > first and line.startswith("def "))
    assert lines.count(comment) == 1 and first < lines.index(comment) < last


def test_clone_family_writes_the_class_and_is_not_refused(
    real_tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from transformers import AutoConfig

    tree = make_checkout(real_tree, tmp_path / "tree")
    AutoConfig.for_model("phi3").save_pretrained(tmp_path / "phi3")
    config = str(tmp_path / "phi3" / "config.json")
    argv = ["clone-family", "llama", "phi3", "--repo", str(tree), "--config", config, "--format", "json"]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["applied"] is True and doc["unsupported"] == []
    text = (tree / f"{BRIDGE}/models/phi3/phi3_bridge.py").read_text(encoding="utf-8")
    module = cst.parse_module(text)
    classes = [s.name.value for s in module.body if isinstance(s, cst.ClassDef)]
    assert classes == ["FusedGateUpMLPMapping", "Phi3Bridge"]
    assert (
        'FusedGateUpMLPMapping(\n                    megatron_param="decoder.layers.*.mlp.linear_fc1.weight",'
        in text
    )
    assert 'hf_param="model.layers.*.mlp.gate_up_proj.weight"' in text
    compile(text, "phi3_bridge.py", "exec")
    # the tree's ruff formatting holds for the lines written
    assert max(len(line) for line in text.split("class Phi3Bridge")[0].splitlines()) <= 120
