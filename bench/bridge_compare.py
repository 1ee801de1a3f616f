"""A generated bridge against the real one, through the catalog: precision and recall of what each maps and sets.

Shared by bench/clone_reconstruct.py and bench/onboard.py.

    >>> pr({("a", "x"), ("b", "y")}, {("a", "x")})
    (0.5, 1.0)
"""

from __future__ import annotations

import json
from typing import Any

from analyzers.catalog.records import BridgeRecord, Catalog
from analyzers.provider_eval import UNKNOWN, plain
from analyzers.provider_vocabulary import DEFAULT_STYLES, normalize, resolve_all


def pairs(bridge: BridgeRecord) -> set[tuple[str, str]]:
    """The registry as (megatron_param, hf_param) pairs, one per HF pattern of each mapping."""
    return {(m.megatron_param or "", hf) for m in bridge.registry.mappings for hf in m.hf_params.values()}


def provider_pairs(bridge: BridgeRecord) -> set[tuple[str, str]]:
    """The provider settings as (attribute, source text of the value), as `provider_bridge` writes them."""
    return set(bridge.provider_attributes.items())


def provider_values(catalog: Catalog, bridge: BridgeRecord, config: dict[str, Any]) -> set[tuple[str, str]]:
    """(attribute, value) of every provider setting the bridge itself makes, evaluated on `config`.

    Values rather than source text, so `provider.x = hf_config.y` and `x=hf_config.y` in a constructor
    compare equal; CONFIG_MAPPING and the base's defaults are left out (every bridge shares them), as are
    values the static evaluator cannot decide.
    """
    out = set()
    for attr, resolved in resolve_all(catalog, bridge, config).items():
        setting = resolved.setting
        if (
            setting is None
            or setting.style in (*DEFAULT_STYLES, "config_mapping")
            or resolved.value is UNKNOWN
        ):
            continue
        value = plain(normalize(attr, resolved.value))
        out.add((attr, json.dumps(value, sort_keys=True, default=str)))
    return out


def pr(generated: set, real: set) -> tuple[float, float]:
    """(precision, recall) of `generated` against `real`; 0.0 where a side is empty."""
    hit = len(generated & real)
    return (hit / len(generated) if generated else 0.0, hit / len(real) if real else 0.0)
