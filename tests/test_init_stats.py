"""Default initialisation of every layer must follow PyTorch's distributions.

Values cannot match torch's bit for bit (different generators), so each randomly initialised
parameter is checked against its theoretical bound and its empirical std against torch's;
constant-initialised parameters and buffers must equal torch's exactly.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import ember


def _inv_sqrt(n: int) -> float:
    return 1.0 / math.sqrt(n)


# name -> (builder of the layer from module t, {parameter: uniform bound, or None for N(0, 1)})
LAYERS = {
    "linear": (lambda t: t.nn.Linear(400, 300),
               {"weight": _inv_sqrt(400), "bias": _inv_sqrt(400)}),
    "bilinear": (lambda t: t.nn.Bilinear(20, 30, 40),
                 {"weight": _inv_sqrt(20), "bias": _inv_sqrt(20)}),
    "conv1d": (lambda t: t.nn.Conv1d(16, 64, 5),
               {"weight": _inv_sqrt(16 * 5), "bias": _inv_sqrt(16 * 5)}),
    "conv2d": (lambda t: t.nn.Conv2d(16, 64, 3),
               {"weight": _inv_sqrt(16 * 9), "bias": _inv_sqrt(16 * 9)}),
    "conv2d_groups": (lambda t: t.nn.Conv2d(16, 64, 3, groups=4),
                      {"weight": _inv_sqrt(4 * 9), "bias": _inv_sqrt(4 * 9)}),
    "conv3d": (lambda t: t.nn.Conv3d(8, 32, 3),
               {"weight": _inv_sqrt(8 * 27), "bias": _inv_sqrt(8 * 27)}),
    # A transposed conv's weight is (in, out, k, k): its fan_in is computed from dim 1.
    "conv_transpose2d": (lambda t: t.nn.ConvTranspose2d(32, 64, 3),
                         {"weight": _inv_sqrt(64 * 9), "bias": _inv_sqrt(64 * 9)}),
    "embedding": (lambda t: t.nn.Embedding(1000, 64), {"weight": None}),
    "layer_norm": (lambda t: t.nn.LayerNorm(64), {}),
    "batch_norm2d": (lambda t: t.nn.BatchNorm2d(32), {}),
    "group_norm": (lambda t: t.nn.GroupNorm(4, 32), {}),
    "prelu": (lambda t: t.nn.PReLU(8), {}),
    "rnn": (lambda t: t.nn.RNN(64, 128), {}),
    "lstm": (lambda t: t.nn.LSTM(64, 128), {}),
    "gru": (lambda t: t.nn.GRU(64, 128), {}),
    # in_proj is xavier_uniform over (3 * 64, 64); out_proj keeps Linear's default weight init.
    "mha": (lambda t: t.nn.MultiheadAttention(64, 8),
            {"in_proj_weight": math.sqrt(6.0 / (64 + 3 * 64)), "out_proj.weight": _inv_sqrt(64)}),
}
RNN_BOUND = _inv_sqrt(128)


def _stats_ok(name: str, e: np.ndarray, r: np.ndarray, bound: float | None) -> None:
    n = e.size
    e_std, r_std = float(e.std()), float(r.std())
    assert e_std > 0, f"{name}: ember's values are constant"
    rel = 0.05 if n >= 2000 else 0.15
    assert abs(e_std - r_std) <= rel * r_std, f"{name}: std {e_std} vs torch's {r_std}"
    assert abs(float(e.mean())) <= 5 * e_std / math.sqrt(n), f"{name}: mean {e.mean()}"
    if bound is None:
        assert abs(e_std - 1.0) <= rel, f"{name}: std {e_std} for N(0, 1)"
        return
    for who, a in (("ember", e), ("torch", r)):
        top = float(np.abs(a).max())
        assert top <= bound * (1 + 1e-6), f"{name}: {who} max {top} above bound {bound}"
        if n >= 2000:
            assert top >= 0.98 * bound, f"{name}: {who} max {top} far below bound {bound}"
    expected = bound / math.sqrt(3.0)
    assert abs(e_std - expected) <= rel * expected, f"{name}: std {e_std}, uniform gives {expected}"


@pytest.mark.parametrize("layer", list(LAYERS))
def test_default_init_matches_torch(layer: str) -> None:
    builder, bounds = LAYERS[layer]
    torch.manual_seed(0)
    ember.manual_seed(0)
    tm, em = builder(torch), builder(ember)
    t_state = tm.state_dict()
    e_state = em.state_dict()
    assert list(e_state) == list(t_state)
    rnn = layer in ("rnn", "lstm", "gru")
    checked = 0
    for k, tv in t_state.items():
        e = e_state[k].detach().numpy()
        r = tv.detach().numpy()
        assert e.shape == r.shape and str(e_state[k].dtype) == str(tv.dtype), k
        if rnn or k in bounds:
            _stats_ok(k, e, r, RNN_BOUND if rnn else bounds[k])
            checked += 1
        else:
            # Everything else (norm affine, buffers, PReLU slope, MHA biases) is a constant.
            assert r.size == 0 or np.all(r == r.flat[0]), f"{k}: torch's init is not constant"
            np.testing.assert_array_equal(e, r, err_msg=k)
    assert checked == len(bounds) or rnn
