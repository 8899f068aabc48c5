"""``repr``/``str`` of tensors must equal PyTorch's character for character."""
import math

import numpy as np
import pytest
import torch

import ember

inf, nan = math.inf, math.nan
f32, f64, f16 = np.float32, np.float64, np.float16


def _arr(values, dtype):
    return np.array(values, dtype=dtype)


# (name, numpy array) pairs: each is printed by both libraries from the same data.
ARRAYS = [
    ("int_vec", _arr([1, 2, 3], np.int64)),
    ("int_scalar", _arr(7, np.int64)),
    ("neg_ints", _arr([-1, 20, -300], np.int64)),
    ("int32", _arr([1, 2], np.int32)),
    ("int16", _arr([[1, -2], [300, 4]], np.int16)),
    ("int8", _arr([-128, 127], np.int8)),
    ("uint8", _arr([0, 255, 3], np.uint8)),
    ("uint8_scalar", _arr(3, np.uint8)),
    ("bool_vec", _arr([True, False], np.bool_)),
    ("bool_scalar", _arr(True, np.bool_)),
    ("bool_2d", _arr([[True, True], [False, True]], np.bool_)),
    ("whole_floats", _arr([1.0, 2.0], f32)),
    ("float_scalar", _arr(4.0, f32)),
    ("float_scalar_frac", _arr(4.25, f32)),
    ("zero_scalar", _arr(0.0, f32)),
    ("neg_scalar", _arr(-3.5, f32)),
    ("decimals", _arr([0.1, 0.2], f32)),
    ("mixed", _arr([1.0, 2.5, -3.0], f32)),
    ("sci_range", _arr([1e-5, 1e5], f32)),
    ("sci_small", _arr([1e-5, 2e-5], f32)),
    ("sci_large", _arr([1e9, 2e9], f32)),
    ("int_sci", _arr([1.0, 10000.0], f32)),
    ("int_big", _arr([1e8, 2e8], f64)),
    ("not_sci_ratio", _arr([1.0, 999.0], f32)),
    ("ratio_1000", _arr([1.5, 1500.0], f32)),
    ("inf_nan", _arr([inf, -inf, nan, 1.0], f32)),
    ("inf_only", _arr([inf, -inf], f32)),
    ("nan_scalar", _arr(nan, f32)),
    ("nan_frac", _arr([nan, 1.5], f32)),
    ("inf_sci", _arr([-inf, 1e10], f32)),
    ("neg_zero", _arr([-0.0, 1.0], f32)),
    ("neg_zero_only", _arr([-0.0, 0.0], f32)),
    ("zeros", _arr([0.0, 0.0, 0.0], f32)),
    ("zeros_2d_inf", _arr([[0.0, 1.0], [inf, 2.0]], f32)),
    ("float64", _arr([1.0, 2.0], f64)),
    ("float64_frac", _arr([1.123456789, -2.5], f64)),
    ("float16", _arr([1.0, 2.0], f16)),
    ("float16_frac", _arr([0.1, 6550.0], f16)),
    ("matrix", np.arange(12, dtype=f32).reshape(3, 4) / 3),
    ("matrix_align", _arr([[1.0, -200.0], [3.5, 4.0]], f32)),
    ("matrix_int", _arr([[1, -200], [3, 40000]], np.int64)),
    ("cube", np.arange(24, dtype=f32).reshape(2, 3, 4) - 10),
    ("cube_int", np.arange(24, dtype=np.int64).reshape(2, 3, 4)),
    ("four_d", np.arange(16, dtype=f64).reshape(2, 2, 2, 2) * 0.5),
    ("unit_dims", np.ones((1, 1, 3), dtype=f32)),
    ("wrap_1d", np.linspace(-1, 1, 40).astype(f32)),
    ("wrap_1d_int", np.arange(100, dtype=np.int64) * 37),
    ("wrap_2d", np.linspace(-5, 5, 60).astype(f32).reshape(3, 20)),
    ("wrap_sci", np.logspace(-6, 6, 30).astype(f32)),
    ("summ_1d", np.arange(2000, dtype=f32)),
    ("summ_1d_int", np.arange(1001, dtype=np.int64)),
    ("summ_2d", np.arange(2000, dtype=f32).reshape(20, 100)),
    ("summ_2d_long_rows", np.arange(3000, dtype=f32).reshape(2, 1500) / 7),
    ("summ_3d", np.arange(1200, dtype=np.int64).reshape(2, 3, 200)),
    ("summ_3d_many", np.arange(4000, dtype=f64).reshape(10, 20, 20) / 3),
    ("summ_hidden_big", np.concatenate([np.ones(3), np.full(1000, 1e9), np.ones(3)]).astype(f32)),
    ("summ_bool", np.arange(1500) % 3 == 0),
    ("random", np.random.default_rng(0).standard_normal((4, 5)).astype(f32)),
    ("random_f64", np.random.default_rng(1).standard_normal((3, 3))),
    ("tiny_and_zero", _arr([0.0, 1e-8], f32)),
    ("empty_1d", np.zeros(0, f32)),
    ("empty_2d", np.zeros((0, 3), f32)),
    ("empty_3d_f64", np.zeros((2, 0, 1), f64)),
    ("empty_int", np.zeros(0, np.int64)),
    ("empty_bool", np.zeros(0, np.bool_)),
    ("empty_int32_2d", np.zeros((3, 0), np.int32)),
]


def _both(arr):
    return ember.from_numpy(arr.copy()), torch.from_numpy(arr.copy())


@pytest.mark.parametrize("arr", [a for _, a in ARRAYS], ids=[n for n, _ in ARRAYS])
def test_repr_and_str(arr):
    e, t = _both(arr)
    assert repr(e) == repr(t)
    assert str(e) == str(t)


@pytest.mark.parametrize("arr", [a for _, a in ARRAYS if a.dtype.kind == "f"],
                         ids=[n for n, a in ARRAYS if a.dtype.kind == "f"])
def test_requires_grad_and_grad_fn(arr):
    e, t = _both(arr)
    e.requires_grad_(True)
    t.requires_grad_(True)
    assert repr(e) == repr(t)
    assert repr(e * 2) == repr(t * 2)


def test_long_suffixes_wrap():
    arr = np.full(30, 3.0)
    e, t = _both(arr)
    assert repr(e.requires_grad_() * 3) == repr(t.requires_grad_() * 3)
    for n in range(1, 12):
        e, t = _both(np.arange(n, dtype=np.int16))
        assert repr(e) == repr(t)


@pytest.fixture
def restore_options():
    yield
    ember.set_printoptions(profile="default")
    torch.set_printoptions(profile="default")


OPTIONS = [
    {"precision": 2},
    {"precision": 8},
    {"precision": 0},
    {"threshold": 5},
    {"threshold": 5, "edgeitems": 1},
    {"edgeitems": 0},
    {"edgeitems": 0, "threshold": 5},
    {"linewidth": 40},
    {"linewidth": 10},
    {"sci_mode": True},
    {"sci_mode": False},
    {"profile": "short"},
    {"profile": "full"},
    {"profile": "short", "precision": 6},
]


@pytest.mark.parametrize("opts", OPTIONS, ids=[str(o) for o in OPTIONS])
def test_printoptions(opts, restore_options):
    ember.set_printoptions(**opts)
    torch.set_printoptions(**opts)
    names = ("int_vec", "decimals", "sci_range", "matrix", "cube", "summ_1d", "summ_2d",
             "wrap_1d", "float_scalar", "int_scalar", "empty_2d", "inf_nan", "bool_vec")
    for name, arr in ARRAYS:
        if name in names:
            e, t = _both(arr)
            assert repr(e) == repr(t), name


def test_printoptions_persist_but_sci_mode_resets(restore_options):
    ember.set_printoptions(precision=2, sci_mode=False)
    ember.set_printoptions(linewidth=60)
    opts = ember._tensor_str.get_printoptions()
    assert opts["precision"] == 2 and opts["linewidth"] == 60 and opts["sci_mode"] is None


def test_bad_profile():
    with pytest.raises(ValueError, match="profile"):
        ember.set_printoptions(profile="huge")


def test_default_dtype_float64(restore_options):
    arrays = [np.array([1.0, 2.0], f32), np.array([1.5], f64), np.zeros(0, f32)]
    try:
        ember.set_default_dtype(ember.float64)
        torch.set_default_dtype(torch.float64)
        for arr in arrays:
            e, t = _both(arr)
            assert repr(e) == repr(t)
    finally:
        ember.set_default_dtype(ember.float32)
        torch.set_default_dtype(torch.float32)


def test_created_tensors():
    for fn in (lambda m: m.tensor([1.0, 2.5]), lambda m: m.tensor(3),
               lambda m: m.zeros(2, 3, dtype=m.int32), lambda m: m.arange(10) * 3,
               lambda m: m.ones(2, requires_grad=True), lambda m: m.tensor([], dtype=m.int64)):
        assert repr(fn(ember)) == repr(fn(torch))


def test_size_repr():
    assert repr(ember.zeros(2, 3).shape) == repr(torch.zeros(2, 3).shape)
    assert str(ember.zeros(0).shape) == str(torch.zeros(0).shape)
    assert repr(ember.tensor(1.0).shape) == repr(torch.tensor(1.0).shape)
