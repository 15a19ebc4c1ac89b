"""Converted checkpoints give the logits of an independent float64 numpy TokShift (tolerance 1e-4).

The random weights are scaled so that the two classic porting slips are caught: LayerNorm eps 1e-5
instead of 1e-6 moves the logits by ~1e-2 and tanh-GELU instead of erf-GELU by ~2e-3 (checked below
by mutating the model), against float32 rounding of ~1e-5.
"""
import numpy as np
import pytest
from mutation_helpers import layer_norm_eps_1e5, tanh_gelu
from tokshift_reference_helpers import random_google_vit, tokshift_logits
from weights_helpers import (
    OFFICIAL_NPZ,
    OFFICIAL_PTH,
    model_cfg,
    model_with,
    paddle_logits,
    random_video,
)

from paddlevideo.modeling.weights import read_weights
from paddlevideo.modeling.weights.google_npz import read_npz

TOL = 1e-4
CASES = [(8, 4), (8, 0), (4, 4), (4, 0)]  # (num_seg, shift_div)


@pytest.fixture(scope="module")
def google_file(tmp_path_factory):
    """A random Google ViT .npz (with pre_logits, which the conversion must ignore)."""
    weights = random_google_vit(seed=0, pre_logits=True)
    path = tmp_path_factory.mktemp("npz") / "ViT-tiny.npz"
    np.savez(path, **weights)
    return str(path), weights


def max_error(state, google, num_seg, shift_div, mutate=None):
    cfg = model_cfg(google, num_seg, shift_div)
    model = model_with(state, cfg)
    if mutate:
        mutate(model)
    video = random_video(batch=2, frames=num_seg, size=cfg["backbone"]["img_size"])
    return float(np.abs(paddle_logits(model, video) - tokshift_logits(google, video, shift_div)).max())


@pytest.mark.parametrize("num_seg,shift_div", CASES)
def test_google_npz_matches_numpy_reference(google_file, num_seg, shift_div):
    path, google = google_file
    assert max_error(read_weights(path).state, google, num_seg, shift_div) < TOL


@pytest.mark.parametrize("num_seg,shift_div", CASES)
def test_official_pth_matches_numpy_reference(num_seg, shift_div):
    google = read_npz(OFFICIAL_NPZ)  # the fixture's weights by an independent path
    assert max_error(read_weights(OFFICIAL_PTH).state, google, num_seg, shift_div) < TOL


@pytest.mark.parametrize("mutate", [layer_norm_eps_1e5, tanh_gelu])
@pytest.mark.parametrize("source", ["npz", "pth"])
def test_parity_tolerance_catches_eps_and_gelu_slips(google_file, mutate, source):
    path, google = google_file
    if source == "pth":
        path, google = OFFICIAL_PTH, read_npz(OFFICIAL_NPZ)
    state = read_weights(path).state
    assert max_error(state, google, 8, 4, mutate) > 5 * TOL
