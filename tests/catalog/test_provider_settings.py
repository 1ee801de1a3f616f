"""Provider settings on the pinned tree: every style MB writes, checked against the source lines they come from."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from analyzers.catalog import build_catalog
from analyzers.catalog.records import Catalog, ProviderSetting

MODELS = "src/megatron/bridge/models"


def _settings(catalog: Catalog, bridge: str, attr: str) -> list[ProviderSetting]:
    found = [s for s in catalog.bridge(bridge).provider_settings if s.attr == attr]
    assert found, f"{bridge} records no {attr}"
    return found


def _line(root: Path, setting: ProviderSetting) -> str:
    return (root / setting.location.path).read_text(encoding="utf-8").splitlines()[setting.location.line - 1]


def test_every_bridge_with_a_provider_bridge_records_settings(real_catalog: Catalog) -> None:
    with_hook = [b for b in real_catalog.bridges if "provider_bridge" in b.hooks]
    assert len(with_hook) >= 55
    assert [b.name for b in with_hook if not b.provider_settings] == []


def test_mistral_constructor_keywords_read_the_config(real_catalog: Catalog, real_tree: Path) -> None:
    mistral = real_catalog.bridge("MistralBridge")
    assert mistral.provider_base is None  # built from MistralModelProvider(...), not from the base bridge
    assert mistral.provider_classes == [
        "megatron.bridge.models.mistral.mistral_provider.MistralModelProvider"
    ]
    (eps,) = _settings(real_catalog, "MistralBridge", "layernorm_epsilon")
    assert eps.style == "constructor" and eps.fields == ["rms_norm_eps"] and not eps.constant
    assert "layernorm_epsilon=hf_config.rms_norm_eps" in _line(real_tree, eps).replace(" ", "")
    # `window_size` is a local set under `if getattr(hf_config, "sliding_window", None) is not None:`
    (window,) = _settings(real_catalog, "MistralBridge", "window_size")
    assert window.fields == ["sliding_window"] and "hf_config.sliding_window - 1" in window.value
    # the yarn branch builds the class through partial(MistralModelProvider, scale_factor=...)
    (scale,) = _settings(real_catalog, "MistralBridge", "scale_factor")
    assert scale.condition and "yarn" in scale.condition and "partial(" in _line(real_tree, scale)


def test_qwen3_assignments_after_super(real_catalog: Catalog, real_tree: Path) -> None:
    qwen3 = real_catalog.bridge("Qwen3Bridge")
    assert qwen3.provider_base == "provider_bridge"
    for attr, value in (("qk_layernorm", "True"), ("add_qkv_bias", "False"), ("normalization", "'RMSNorm'")):
        (setting,) = _settings(real_catalog, "Qwen3Bridge", attr)
        assert (setting.style, setting.value, setting.constant) == ("assign", value, True)
        assert f"provider.{attr} = " in _line(real_tree, setting)


def test_kwargs_dicts_in_every_spelling(real_catalog: Catalog, real_tree: Path) -> None:
    # provider_kwargs = dict(...), then provider_kwargs["rope_scaling"] = True under the llama3 test
    (eps,) = _settings(real_catalog, "LlamaNemotronBridge", "layernorm_epsilon")
    assert eps.style == "kwargs" and "rms_norm_eps" in eps.fields
    (rope,) = _settings(real_catalog, "LlamaNemotronBridge", "rope_scaling")
    assert rope.value == "True" and "llama3" in rope.condition
    assert 'provider_kwargs["rope_scaling"] = True' in _line(real_tree, rope)
    # hf_config_to_provider_kwargs(llm_config) and then provider_kwargs["x"] = ...
    omni = real_catalog.bridge("NemotronOmniBridge")
    assert (omni.provider_base, omni.provider_scope) == ("kwargs", "hf_config.llm_config")
    (act,) = _settings(real_catalog, "NemotronOmniBridge", "activation_func")
    assert act.style == "kwargs" and act.value == "squared_relu" and act.constant
    # a dict a helper in the family's common module builds, passed as **config
    (layers,) = _settings(real_catalog, "SarvamMoEBridge", "moe_layer_freq")
    assert layers.via == "get_common_config" and layers.location.path == f"{MODELS}/sarvam/common.py"
    assert set(layers.fields) == {"first_k_dense_replace", "num_hidden_layers"}


def test_helper_methods_and_their_conditions(real_catalog: Catalog) -> None:
    gemma4 = real_catalog.bridge("Gemma4Bridge")
    dense = [s for s in gemma4.provider_settings if s.via == "self._build_dense_provider"]
    moe = [s for s in gemma4.provider_settings if s.via == "self._build_moe_provider"]
    assert dense and moe
    assert all("enable_moe_block" in s.condition for s in dense + moe)
    assert {s.style for s in dense} == {"constructor"} and {s.style for s in moe} == {"assign"}


def test_config_mapping_base_and_class_extras(real_catalog: Catalog, real_tree: Path) -> None:
    assert ("rms_norm_eps", "layernorm_epsilon") in real_catalog.config_mapping
    nemotron_h = real_catalog.bridge("NemotronHBridge")
    source = (real_tree / nemotron_h.path).read_text(encoding="utf-8")
    assert nemotron_h.config_mapping_extra
    for hf, megatron in nemotron_h.config_mapping_extra:
        assert (hf, megatron) not in real_catalog.config_mapping
        assert f'("{hf}", "{megatron}")' in source
    # CONFIG_MAPPING = Step35Bridge.CONFIG_MAPPING: the same extras
    assert (
        real_catalog.bridge("Step37Bridge").config_mapping_extra
        == real_catalog.bridge("Step35Bridge").config_mapping_extra
    )


def test_base_bridge_settings_unroll_the_yarn_table(real_catalog: Catalog, real_tree: Path) -> None:
    tree = ast.parse((real_tree / f"{MODELS}/conversion/model_bridge.py").read_text(encoding="utf-8"))
    base = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "MegatronModelBridge")
    table = next(
        s.value
        for s in base.body
        if isinstance(s, ast.Assign) and s.targets[0].id == "YARN_ROPE_SCALING_MAPPING"
    )
    pairs = [tuple(e.value for e in t.elts) for t in table.elts]
    by_attr = {s.attr: s for s in real_catalog.base_provider_settings}
    for hf_key, attr in pairs:
        assert f"get({hf_key!r})" in by_attr[attr].value and "yarn" in by_attr[attr].condition
    act = by_attr["activation_func"]
    assert act.via == "self.hf_config_to_provider_kwargs" and {"hidden_act", "hidden_activation"} <= set(
        act.fields
    )


def test_activation_map_is_mbs(real_catalog: Catalog, real_tree: Path) -> None:
    text = (real_tree / "src/megatron/bridge/utils/activation_map.py").read_text(encoding="utf-8")
    keys = set()
    for stmt in ast.parse(text).body:
        value = getattr(stmt, "value", None)
        if isinstance(stmt, ast.AnnAssign) and stmt.target.id == "ACTIVATION_FUNC_MAP":
            keys |= {k.value for k in value.keys}
        elif isinstance(value, ast.Call) and ast.unparse(value.func) == "ACTIVATION_FUNC_MAP.update":
            keys |= {k.value for k in value.args[0].keys}
    assert keys and set(real_catalog.activation_map) == keys
    assert real_catalog.activation_map["gelu_pytorch_tanh"] == "fast_gelu"


def test_provider_defaults_follow_the_class_hierarchy(real_catalog: Catalog) -> None:
    mistral = {
        s.attr: s
        for s in real_catalog.provider_defaults[
            "megatron.bridge.models.mistral.mistral_provider.MistralModelProvider"
        ]
    }
    assert (
        mistral["normalization"].value == '"RMSNorm"'
        and mistral["normalization"].via == "MistralModelProvider"
    )
    assert mistral["make_vocab_size_divisible_by"].via == "GPTModelProvider"  # inherited, not redefined


def test_a_version_1_document_still_loads(real_catalog: Catalog) -> None:
    data = json.loads(json.dumps(real_catalog.to_json()))
    data["schema_version"] = 1
    for key in ("base_provider_settings", "provider_defaults", "activation_map"):
        data.pop(key)
    for bridge in data["bridges"]:
        for key in (
            "provider_settings",
            "provider_base",
            "provider_scope",
            "config_mapping_extra",
            "provider_classes",
        ):
            bridge.pop(key)
    old = Catalog.from_json(data)
    assert old.bridge("Qwen3Bridge").provider_settings == [] and old.bridge("Qwen3Bridge").registrations


def test_config_kwargs_update_and_partial_in_a_planted_bridge(writable_checkout: Path) -> None:
    """The spelling of Megatron-Bridge main's Llama bridge: a kwargs hook overridden, `.update(...)` with
    keywords, conditional entries; the base provider_bridge is inherited and calls the override."""
    bridge = writable_checkout / MODELS / "llama" / "planted_bridge.py"
    bridge.write_text(
        "from megatron.bridge.models.conversion.model_bridge import MegatronModelBridge\n\n\n"
        "class PlantedBridge(MegatronModelBridge):\n"
        "    def hf_config_to_provider_kwargs(self, hf_config):\n"
        "        config_kwargs = super().hf_config_to_provider_kwargs(hf_config)\n"
        "        config_kwargs.update(normalization='RMSNorm', gated_linear_unit=True)\n"
        "        scaling = getattr(hf_config, 'rope_scaling', None) or {}\n"
        "        if scaling.get('rope_type') == 'llama3':\n"
        "            config_kwargs['rope_scaling_factor'] = scaling.get('factor', 8.0)\n"
        "        return config_kwargs\n",
        encoding="utf-8",
    )
    init = writable_checkout / MODELS / "llama" / "__init__.py"
    init.write_text(
        init.read_text() + "from megatron.bridge.models.llama.planted_bridge import PlantedBridge  # noqa\n"
    )
    planted = build_catalog(writable_checkout).bridge("PlantedBridge")
    by_attr = {s.attr: s for s in planted.provider_settings}
    assert planted.provider_base == "kwargs"  # CONFIG_MAPPING through the overridden hook's super()
    assert by_attr["normalization"].style == "kwargs" and by_attr["normalization"].value == "'RMSNorm'"
    factor = by_attr["rope_scaling_factor"]
    assert "llama3" in factor.condition and "rope_scaling.factor" in factor.fields
    # the inherited base provider_bridge runs around the hook
    assert by_attr["position_embedding_type"].via == "MegatronModelBridge"


def test_inspect_bridge_shows_its_provider_settings(real_tree: Path, capsys) -> None:
    from analyzers.cli import main

    assert main(["inspect", "--bridge", "MistralBridge", "--repo", str(real_tree), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    eps = next(s for s in doc["settings"] if s["attr"] == "layernorm_epsilon")
    assert (eps["style"], eps["fields"]) == ("constructor", ["rms_norm_eps"])
    assert doc["styles"] == {"constructor": len(doc["settings"])}
    assert main(["inspect", "--bridge", "Qwen3Bridge", "--repo", str(real_tree)]) == 0
    text = capsys.readouterr().out
    assert "config_mapping" in text and "layernorm_epsilon = hf_config.rms_norm_eps" in text  # CONFIG_MAPPING
    assert main(["inspect", "--bridge", "NoSuchBridge", "--repo", str(real_tree)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "NoSuchBridge" in err


def test_nearest_and_inspect_without_names_import_no_torch_or_transformers(real_tree: Path) -> None:
    import subprocess
    import sys

    config = Path(__file__).resolve().parents[2] / "fixtures" / "configs" / "mistral-7b-v0.3" / "config.json"
    probe = (
        "import sys, io, contextlib; from analyzers.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['nearest', {str(config)!r}, '--no-names', '--repo', {str(real_tree)!r}]) == 0\n"
        f"    assert main(['inspect', {str(config)!r}, '--no-names', '--bridge', 'MistralBridge', '--repo', {str(real_tree)!r}]) == 0\n"
        "print([m for m in ('torch', 'transformers', 'megatron') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])  # fmt: skip
    assert out.stdout.strip() == "[]"
