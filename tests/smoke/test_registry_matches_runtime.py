"""The catalog's static registries against Megatron-Bridge's own `mapping_registry()`, run on CPU.

Smoke env only (torch + megatron-core + megatron-bridge, TE stubbed by `codemods.smoke._te_shim`):
    .venv-smoke/bin/python -m pytest -m smoke tests/smoke/test_registry_matches_runtime.py
The catalog is built from the pinned wheel tree, the same 0.6.2 code as the installed package.
"""

from __future__ import annotations

import copy
import importlib.util

import pytest

pytestmark = pytest.mark.smoke

#: bridge -> why its runtime registry is not what the static records say (a bug of the static evaluator,
#: reported to the catalog's owner; remove the entry once fixed -- the tests fail on a stale entry too).
KNOWN_PATTERN_BUGS: dict[str, str] = {}
#: bridge -> why the HF roles differ while the patterns agree.
KNOWN_ROLE_DIFFERENCES = {
    # `_HCAlphaSecondaryMapping(..., hf_scale_param=...)` passes it on as `hf_param`; the static records keep
    # the constructor's keyword, as the catalog contract says.
    "DeepSeekV4Bridge": "local mapping class renames its HF keyword (hf_scale_param -> hf_param)",
}
#: bridges whose module imports diffusers at import time
NEEDS_DIFFUSERS = {"FluxBridge", "WanBridge"}


@pytest.fixture(scope="module")
def rows(real_catalog):
    from codemods.smoke.runtime_registry import compare_catalog

    return {row.bridge: row for row in compare_catalog(real_catalog)}


def _describe(row) -> str:
    missing = "; ".join(f"{k}" for k in row.missing) or "-"
    extra = "; ".join(f"{k}" for k in row.extra) or "-"
    return f"{row.bridge}: runtime-only [{missing}] static-only [{extra}]"


def _check_known(failing: dict[str, str], known: dict[str, str], kinds: set[str], rows) -> None:
    expected = {name for name in known if name in rows and rows[name].kind in kinds}
    new = {name: text for name, text in failing.items() if name not in known}
    fixed = expected - set(failing)
    assert not new, "static registry disagrees with runtime:\n" + "\n".join(new.values())
    assert not fixed, f"fixed now, remove from the known list: {sorted(fixed)}"


def test_every_bridge_builds_at_runtime(rows, real_catalog):
    assert set(rows) == {b.name for b in real_catalog.bridges}
    errors = {name: row.error for name, row in rows.items() if row.error}
    expected = set() if importlib.util.find_spec("diffusers") else NEEDS_DIFFUSERS
    assert set(errors) == expected, errors
    for name in expected:
        assert "diffusers" in errors[name]


def test_plain_bridges_match_runtime_exactly(rows):
    plain = [row for row in rows.values() if row.kind == "plain" and not row.error]
    # 33 plain bridges build without diffusers on 0.6.2; a much smaller number means the comparison broke
    assert len(plain) >= 30, [row.bridge for row in plain]
    assert all(sum(row.runtime.values()) >= 4 for row in plain)
    failing = {row.bridge: _describe(row) for row in plain if row.verdict != "match"}
    _check_known(failing, KNOWN_PATTERN_BUGS, {"plain"}, rows)


def test_conditional_bridges_runtime_is_a_subset(rows):
    conditional = [row for row in rows.values() if row.kind == "conditional" and not row.error]
    assert len(conditional) >= 10
    failing = {
        row.bridge: _describe(row)
        for row in conditional
        if row.verdict != "subset" or row.unconditional_missing
    }
    _check_known(failing, KNOWN_PATTERN_BUGS, {"conditional"}, rows)
    # the default config takes one branch only: the static records keep more than it builds
    assert any(row.extra for row in conditional)


def test_unresolved_bridges_miss_only_what_they_declare(rows):
    unresolved = [row for row in rows.values() if row.kind == "unresolved" and not row.error]
    assert len(unresolved) >= 8
    failing = {
        row.bridge: f"{row.bridge}: unexplained {sorted(row.unexplained)} unconditional-missing "
        f"{sorted(row.unconditional_missing)}"
        for row in unresolved
        if row.unexplained or row.unconditional_missing
    }
    _check_known(failing, KNOWN_PATTERN_BUGS, {"unresolved"}, rows)
    # MTP layers named from the config: the runtime has mappings the static records could only declare
    assert sum(sum(row.missing.values()) for row in unresolved) > 0


def test_hf_roles_match_runtime(rows):
    failing = {}
    for row in rows.values():
        runtime_only, _ = row.role_differences
        if not row.error and runtime_only:
            failing[row.bridge] = f"{row.bridge}: runtime roles {sorted(runtime_only)}"
    _check_known(failing, KNOWN_ROLE_DIFFERENCES, {"plain", "conditional", "unresolved"}, rows)


def test_registry_aliases_are_not_compared(rows):
    """`MegatronMappingRegistry` adds separate-layernorm aliases itself; they are no bridge's mappings."""
    from megatron.bridge.models.qwen.qwen3_bridge import Qwen3Bridge

    raw = {m.megatron_param for m in Qwen3Bridge().mapping_registry().mappings}
    compared = {key[0] for key in rows["Qwen3Bridge"].runtime}
    assert "decoder.layers.*.input_layernorm.weight" in raw - compared
    assert "decoder.layers.*.self_attention.linear_qkv.layer_norm_weight" in compared
    assert rows["Qwen3Bridge"].verdict == "match"


def test_a_wrong_static_record_is_reported(real_catalog):
    """Negative control: a static registry with one mapping dropped and one pattern changed."""
    from codemods.smoke.runtime_registry import compare_bridge

    bridge = copy.deepcopy(real_catalog.bridge("Qwen3Bridge"))
    dropped = bridge.registry.mappings.pop(0)
    changed = next(m for m in bridge.registry.mappings if m.mapping_class == "QKVMapping")
    original_q = changed.hf_params["q"]
    changed.hf_params["q"] = original_q.replace("q_proj", "query")

    row = compare_bridge(bridge)

    assert row.error is None
    assert row.verdict == "mismatch"
    qkv_runtime = (changed.megatron_param, tuple(sorted({**changed.hf_params, "q": original_q}.values())))
    assert set(row.missing) == {(dropped.megatron_param, (dropped.hf_params["hf_param"],)), qkv_runtime}
    assert set(row.extra) == {(changed.megatron_param, tuple(sorted(changed.hf_params.values())))}
