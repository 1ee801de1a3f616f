"""The q/k norm kind of the pinned tree's bridges and of transformers' configs, and how nearest and
expressibility use it.

Every expectation is checked against its source: the bridge's provider module (what its attention builds)
and the config's checkpoint shapes, never copied from the output.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from analyzers.catalog.records import Catalog
from analyzers.expressibility import expressibility
from analyzers.hf_config import spec_from_transformers
from analyzers.hf_names import collect_hf_names
from analyzers.nearest import rank
from analyzers.qk_norm import GQA_HEADS, MHA_HEADS, PER_HEAD, WHOLE, bridge_qk_norm, config_qk_norm

pytestmark = pytest.mark.hf

FEATURE = "q/k norm over the whole projection"


def _case(model_type: str):
    spec = spec_from_transformers(model_type)
    return spec, collect_hf_names(spec)


def _k_norm_size(root: Path, path: str, owner: str) -> str:
    """The size expression of the ``self.k_layernorm = build_module(..., hidden_size=...)`` in `owner`."""
    tree = ast.parse((root / path).read_text(encoding="utf-8"))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == owner)
    for node in ast.walk(cls):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "attr", None) == "k_layernorm":
            return ast.unparse(next(k.value for k in node.value.keywords if k.arg == "hidden_size"))
    raise AssertionError(f"{owner} builds no k_layernorm")


def test_olmoe_sizes_its_k_norm_for_mha_and_minimax_m2_for_gqa(real_catalog: Catalog) -> None:
    olmoe = bridge_qk_norm(real_catalog, real_catalog.bridge("OlMoEBridge"))
    assert olmoe is not None and olmoe.kind == WHOLE and olmoe.k_heads == MHA_HEADS
    assert olmoe.k_site is not None
    size = _k_norm_size(Path(real_catalog.root), *olmoe.k_site)
    assert MHA_HEADS in size and GQA_HEADS not in size
    minimax = bridge_qk_norm(real_catalog, real_catalog.bridge("MiniMaxM2Bridge"))
    assert minimax is not None and minimax.kind == WHOLE and minimax.k_heads == GQA_HEADS
    assert minimax.k_site is None  # nothing for a clone to resize


def test_bridges_on_megatron_cores_qk_layernorm_are_per_head(real_catalog: Catalog) -> None:
    for name in ("Qwen3Bridge", "Qwen3MoEBridge", "Exaone4Bridge"):
        bridge = real_catalog.bridge(name)
        assert bridge.provider_attributes.get("qk_layernorm") == "True"
        found = bridge_qk_norm(real_catalog, bridge)
        assert found is not None and found.kind == PER_HEAD, name
    # no q/k norm mapped or set: no kind at all
    llama = real_catalog.bridge("LlamaBridge")
    assert "qk_layernorm" not in llama.provider_attributes
    assert bridge_qk_norm(real_catalog, llama) is None


def test_config_kind_follows_the_q_norm_shape_and_the_kv_heads() -> None:
    for model_type in ("olmo2", "minimax_m2", "qwen3_moe"):
        spec, names = _case(model_type)
        fields = spec.text_fields()
        q = next(n for n in names.names if n.endswith("self_attn.q_norm.weight"))
        head_dim = fields.get("head_dim") or fields["hidden_size"] // fields["num_attention_heads"]
        found = config_qk_norm(spec, names.names, names.shapes)
        assert found is not None
        assert (found.kind == WHOLE) is (names.shapes[q][0] > head_dim), model_type
        if found.whole:
            gqa = fields["num_key_value_heads"] < fields["num_attention_heads"]
            assert found.k_heads == (GQA_HEADS if gqa else MHA_HEADS), model_type
    spec, names = _case("mistral")
    assert config_qk_norm(spec, names.names, names.shapes) is None


def test_nearest_top_candidate_has_the_configs_qk_norm_kind(real_catalog: Catalog) -> None:
    for model_type, exclude in (
        ("olmo2", ()),
        ("minimax_m2", ("minimax_m2",)),
        ("qwen3_moe", ("Qwen3MoEBridge",)),
    ):
        spec, names = _case(model_type)
        mine = config_qk_norm(spec, names.names, names.shapes)
        top = rank(spec, real_catalog, names.names, shapes=names.shapes, exclude=exclude)
        kind = bridge_qk_norm(real_catalog, real_catalog.bridge(top[0].bridge))
        assert kind is not None and kind.kind == mine.kind, (model_type, top[0].bridge)
        # every candidate of the other kind is told why, and scores below the top one
        other = [c for c in top if c.qk_norm == "differs"]
        assert other and all(any("q/k norm" in r for r in c.reasons) for c in other)
        assert all(c.score < top[0].score for c in other)


def test_whole_projection_feature_is_handled_by_the_bridges_that_build_it(real_catalog: Catalog) -> None:
    spec, names = _case("minimax_m2")
    supported, _ = expressibility(spec, real_catalog, names.names, names.shapes)
    feature = next(f for f in supported if f.name == FEATURE)
    assert feature.local
    whole = [b.name for b in real_catalog.bridges
             if not b.diffusion and (k := bridge_qk_norm(real_catalog, b)) is not None and k.whole]  # fmt: skip
    assert (
        sorted(feature.handled_by) == sorted(whole) and "OlMoEBridge" in whole and "Qwen3Bridge" not in whole
    )


def test_a_bridge_qk_norm_is_read_through_the_run_index_when_given(real_tree: Path, tmp_path: Path) -> None:
    """clone-family passes its run's index: the layer-spec modules are the run's view, not a second read."""
    import shutil

    from analyzers.catalog import build_catalog
    from analyzers.source_index import SourceIndex

    root = tmp_path / "tree"
    shutil.copytree(real_tree / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__"))
    index = SourceIndex(root)
    catalog = build_catalog(root, use_cache=False, jobs=1, index=index)
    olmoe = catalog.bridge("OlMoEBridge")
    expected = bridge_qk_norm(catalog, olmoe, index)
    assert expected is not None and expected.kind == WHOLE and expected.k_heads == MHA_HEADS
    for rel in index.files("src", (".py",)):
        (root / rel).write_text("raise RuntimeError('read outside the run source index')\n")
    assert bridge_qk_norm(catalog, olmoe, index) == expected
    # without the index the modules are read from disk again, and the poisoned ones build no norm
    assert bridge_qk_norm(catalog, olmoe) != expected
