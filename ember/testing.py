"""``ember.testing.assert_close``: PyTorch's tensor comparison with its default tolerances."""
from __future__ import annotations

import numbers

import numpy as np

from ember import _dtype as DT
from ember._tensor import Tensor

# PyTorch's defaults (rtol, atol) by dtype; integers and bool compare exactly.
_TOLERANCES = {DT.float16: (1e-3, 1e-5), DT.float32: (1.3e-6, 1e-5), DT.float64: (1e-7, 1e-7)}


def _array(x):
    if isinstance(x, Tensor):
        return x.detach()._data if isinstance(x._data, np.ndarray) else x._data.get()
    return np.asarray(x)


def assert_close(actual, expected, *, allow_subclasses: bool = True, rtol=None, atol=None,
                 equal_nan: bool = False, check_device: bool = True, check_dtype: bool = True,
                 check_layout: bool = True, check_stride: bool = False, msg=None) -> None:
    """Raise AssertionError unless ``actual`` and ``expected`` are close (recursing into
    sequences and mappings), with PyTorch's default tolerances for the dtype."""
    if (rtol is None) != (atol is None):
        raise ValueError(
            f"Both 'rtol' and 'atol' must be either specified or omitted, but got no {'rtol' if rtol is None else 'atol'}."
        )
    if isinstance(actual, (list, tuple)) and isinstance(expected, (list, tuple)):
        if len(actual) != len(expected):
            raise AssertionError(
                f"The length of the sequences mismatch: {len(actual)} != {len(expected)}"
            )
        for a, e in zip(actual, expected):
            assert_close(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan,
                         check_dtype=check_dtype, msg=msg)
        return
    if isinstance(actual, dict) and isinstance(expected, dict):
        if actual.keys() != expected.keys():
            raise AssertionError(f"The keys of the mappings do not match: {actual.keys()} != {expected.keys()}")
        for k in actual:
            assert_close(actual[k], expected[k], rtol=rtol, atol=atol, equal_nan=equal_nan,
                         check_dtype=check_dtype, msg=msg)
        return
    if isinstance(actual, Tensor) != isinstance(expected, Tensor) and not (
        isinstance(actual, numbers.Number) and isinstance(expected, numbers.Number)
    ):
        raise TypeError(
            f"No comparison pair was able to handle inputs of type {type(actual)} and "
            f"{type(expected)}."
        )
    if isinstance(actual, Tensor):
        if actual.shape != expected.shape:
            raise AssertionError(
                msg or f"The values for attribute 'shape' do not match: {actual.shape} != "
                f"{expected.shape}."
            )
        if check_dtype and actual.dtype != expected.dtype:
            raise AssertionError(
                msg or f"The values for attribute 'dtype' do not match: {actual.dtype} != "
                f"{expected.dtype}."
            )
        if check_device and actual.device != expected.device:
            raise AssertionError(
                msg or f"The values for attribute 'device' do not match: {actual.device} != "
                f"{expected.device}."
            )
        dtype = DT.promote_types(actual.dtype, expected.dtype)
    else:
        dtype = DT.result_type(actual, expected)
    if rtol is None:
        rtol, atol = _TOLERANCES.get(dtype, (0.0, 0.0))
    a, e = _array(actual), _array(expected)
    close = np.isclose(a.astype(np.float64), e.astype(np.float64), rtol=rtol, atol=atol,
                       equal_nan=equal_nan) if a.dtype.kind == "f" or e.dtype.kind == "f" else a == e
    if not np.all(close):
        bad = int(np.size(close) - np.count_nonzero(close))
        diff = np.abs(a.astype(np.float64) - e.astype(np.float64))
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = diff / np.abs(e.astype(np.float64))
        raise AssertionError(
            msg or f"Tensor-likes are not close!\n\nMismatched elements: {bad} / {np.size(close)} "
            f"({100.0 * bad / max(np.size(close), 1):.1f}%)\nGreatest absolute difference: "
            f"{np.nanmax(diff) if diff.size else 0} (up to {atol} allowed)\n"
            f"Greatest relative difference: "
            f"{np.nanmax(rel) if diff.size else 0} "
            f"(up to {rtol} allowed)"
        )
