"""The roundtrip stops with one line where Megatron-Bridge's import would dereference a missing task."""

import pytest

from codemods.smoke._report import Check
from codemods.smoke._runner import SmokeSetupError, _stop_if_params_unmapped


def test_unmapped_megatron_params_stop_the_run_naming_one() -> None:
    mapping = Check(
        "mapping", "fail", "...", {"unmapped_hf": [], "unmapped_megatron": ["decoder.x.weight", "y"]}
    )
    with pytest.raises(
        SmokeSetupError, match=r"GLM45Bridge maps no HF tensor to 2 Megatron params \(e\.g\. decoder\.x"
    ):
        _stop_if_params_unmapped(mapping, "GLM45Bridge")


def test_a_complete_mapping_goes_on() -> None:
    _stop_if_params_unmapped(
        Check("mapping", "pass", "...", {"unmapped_hf": [], "unmapped_megatron": []}), "B"
    )
