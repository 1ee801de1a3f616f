"""One-sided probes of a smoke run, each in its own process (tests/smoke/test_dsa.py, test_latent_norm_eps.py).

`python -m tests.smoke.probes MODEL [PROBE[,PROBE]]` runs `run_smoke` with the probes applied and prints the
report as JSON, plus what the probes recorded:

- `hf_latent_eps`: transformers' MLA latent norms (`q_a_layernorm`, `kv_a_layernorm`, built without an eps)
  get the config's `rms_norm_eps`, as Megatron-Bridge gives them; HF side only.
- `dense_indexer`: Megatron-Core's DSA indexer selects every key (top-k = the logits check's tokens): the
  dense MLA function; Megatron side only.
- `record_topk`: the shape of every top-k selection the DSA indexer makes, and its k.
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

#: model_type -> (transformers module, its RMSNorm class), for `hf_latent_eps`.
_HF_NORMS = {
    "glm4_moe_lite": ("transformers.models.glm4_moe_lite.modeling_glm4_moe_lite", "Glm4MoeLiteRMSNorm"),
    "glm_moe_dsa": ("transformers.models.glm_moe_dsa.modeling_glm_moe_dsa", "GlmMoeDsaRMSNorm"),
}


def _hf_latent_eps(model: str) -> None:
    from transformers import AutoConfig

    module, name = _HF_NORMS[model]
    norm = getattr(importlib.import_module(module), name)
    eps = AutoConfig.for_model(model).rms_norm_eps
    init = norm.__init__
    defaults = list(init.__defaults__)
    if defaults != [1e-6]:
        raise AssertionError(f"{name}'s default eps is {defaults}, not the 1e-6 this probe replaces")

    def with_config_eps(self: Any, hidden_size: int, eps: float = eps) -> None:
        init(self, hidden_size, eps)

    norm.__init__ = with_config_eps  # the decoder norms pass eps themselves; only the latent ones change


def _dense_indexer(record: dict[str, Any]) -> None:
    from megatron.core.transformer.experimental_attention_variant import dsa

    from codemods.smoke._logits import SEQ_LEN

    for cls in (dsa.DSAIndexer, dsa.DSAttention):
        init = cls.__init__

        def dense(self: Any, *args: Any, _init: Any = init, **kwargs: Any) -> None:
            _init(self, *args, **kwargs)
            self.index_topk = SEQ_LEN

        cls.__init__ = dense


def _record_topk(record: dict[str, Any]) -> None:
    from megatron.core.transformer.experimental_attention_variant import dsa

    naive = dsa.fused_qk_topk_naive
    record["topk"] = []

    def recording(q: Any, k: Any, weights: Any, index_topk: int, *args: Any, **kwargs: Any) -> Any:
        scores, indices = naive(q, k, weights, index_topk, *args, **kwargs)
        record["topk"].append({"k": index_topk, "indices": list(indices.shape), "keys": scores.shape[-1]})
        return scores, indices

    dsa.fused_qk_topk_naive = recording


def main(argv: list[str]) -> None:
    from codemods.smoke import SmokeOptions
    from codemods.smoke._runner import run_smoke
    from codemods.smoke._te_shim import import_megatron

    model = argv[0]
    probes = [p for p in (argv[1] if len(argv) > 1 else "").split(",") if p]
    import_megatron()
    record: dict[str, Any] = {"probes": probes}
    for probe in probes:
        if probe == "hf_latent_eps":
            _hf_latent_eps(model)
        elif probe == "dense_indexer":
            _dense_indexer(record)
        elif probe == "record_topk":
            _record_topk(record)
        else:
            raise SystemExit(f"unknown probe {probe!r}")
    report = run_smoke(SmokeOptions(model=model))
    print(json.dumps({"report": report.to_dict(), **record}, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
