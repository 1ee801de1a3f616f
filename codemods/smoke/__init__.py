"""Smoke test: toy HF model -> Megatron-Core (AutoBridge) -> HF, with mapping, export, logits and
dequantization checks. Importing this package imports no torch; `run_smoke` does.
"""

from codemods.smoke._cases import SmokeCase, registered_cases_in_subprocess
from codemods.smoke._quantize import QUANT_SCHEMES, quantize_state_dict
from codemods.smoke._report import DEQUANT_HINT, Check, SmokeReport
from codemods.smoke._runner import SmokeOptions, run_smoke, run_smoke_subprocess
from codemods.smoke._toy_config import load_source_config, toy_config_dict

__all__ = [
    "DEQUANT_HINT",
    "QUANT_SCHEMES",
    "Check",
    "SmokeCase",
    "SmokeOptions",
    "SmokeReport",
    "load_source_config",
    "quantize_state_dict",
    "registered_cases_in_subprocess",
    "run_smoke",
    "run_smoke_subprocess",
    "toy_config_dict",
]
