"""CPU stand-ins for Megatron-Core's CUDA-only helpers (torch, no Megatron)."""

import pytest

from codemods.smoke._cpu import _sliding_window_mask

pytestmark = pytest.mark.hf


@pytest.mark.parametrize(
    ("sq", "skv", "window"), [(6, 6, (2, 0)), (4, 7, (3, 0)), (5, 5, (1, 1)), (32, 32, (7, 0))]
)
def test_sliding_window_mask_hides_keys_outside_the_window(
    sq: int, skv: int, window: tuple[int, int]
) -> None:
    mask = _sliding_window_mask(sq, skv, window)
    assert mask.shape == (sq, skv) and mask.device.type == "cpu"
    for q in range(sq):
        position = q + skv - sq  # queries are the last sq of the skv positions
        for k in range(skv):
            visible = position - window[0] <= k <= position + window[1]
            assert bool(mask[q, k]) is not visible, (q, k)
