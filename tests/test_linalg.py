"""Matrix products and ``ember.linalg`` against PyTorch: values, gradients and errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import check, check_raises, rand

import ember

F64, F32 = np.float64, np.float32


def spd(*shape, dtype=F64, seed=0) -> np.ndarray:
    """A well-conditioned symmetric positive-definite (batch of) matrix."""
    a = rand(*shape, dtype=np.float64, seed=seed)
    n = shape[-1]
    return (a @ np.swapaxes(a, -1, -2) / n + np.eye(n)).astype(dtype)


def wellcond(*shape, dtype=F64, seed=0) -> np.ndarray:
    """A random square matrix kept away from singular by a diagonal shift."""
    a = rand(*shape, dtype=np.float64, seed=seed, low=-1, high=1)
    return (a + 3 * np.eye(shape[-1])).astype(dtype)


# ---- products ----------------------------------------------------------------------------

MATMUL_SHAPES = [
    ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3,)),
    ((3,), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)), ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)),
    ((2, 1, 2, 3), (5, 3, 4)), ((4, 1, 2, 3), (1, 6, 3, 2)),
]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
@pytest.mark.parametrize("dtype", [F64, F32])
def test_matmul_broadcasting(sa, sb, dtype):
    check(lambda t, a, b: t.matmul(a, b), rand(*sa, dtype=dtype), rand(*sb, dtype=dtype, seed=1))
    check(lambda t, a, b: a @ b, rand(*sa, dtype=dtype), rand(*sb, dtype=dtype, seed=1))


def test_matmul_int_and_errors():
    check(lambda t, a, b: a @ b, rand(2, 3, dtype=np.int64), rand(3, 2, dtype=np.int64))
    check_raises(lambda t, a, b: t.matmul(a, b), rand(2, 3), rand(4, 5))
    check_raises(lambda t, a, b: t.matmul(a, b), rand(3), rand(4))
    check_raises(lambda t, a, b: t.matmul(a, b), rand(2, 3), rand(3, 2, dtype=F32))
    e = check_raises(lambda t, a, b: t.matmul(a, b), rand(4, 2, 2, 3), rand(5, 3, 2))
    assert str(e) == ("The size of tensor a (2) must match the size of tensor b (5) at "
                      "non-singleton dimension 1")
    check_raises(lambda t, a: t.matmul(a, a), np.array(2.0))
    e = check_raises(lambda t, a, b: t.mm(a, b), rand(2, 3), rand(4, 5))
    assert "(2x3 and 4x5)" in str(e)


def test_mm_bmm_mv_dot():
    check(lambda t, a, b: t.mm(a, b), rand(3, 4), rand(4, 5))
    check(lambda t, a, b: a.mm(b), rand(3, 4, dtype=F32), rand(4, 5, dtype=F32))
    check(lambda t, a, b: t.bmm(a, b), rand(2, 3, 4), rand(2, 4, 5))
    check(lambda t, a, b: t.mv(a, b), rand(3, 4), rand(4))
    check(lambda t, a, b: t.dot(a, b), rand(4), rand(4, seed=3))
    check(lambda t, a, b: t.vdot(a, b), rand(4), rand(4, seed=3))
    check(lambda t, a, b: a.dot(b), rand(4, dtype=np.int32), rand(4, dtype=np.int32, seed=3))
    for fn, args in [
        (lambda t, a, b: t.mm(a, b), (rand(2, 3), rand(3))),
        (lambda t, a, b: t.mm(a, b), (rand(2, 3, 1), rand(3, 1))),
        (lambda t, a, b: t.bmm(a, b), (rand(2, 3), rand(2, 3))),
        (lambda t, a, b: t.bmm(a, b), (rand(2, 3, 4), rand(2, 5, 4))),
        (lambda t, a, b: t.bmm(a, b), (rand(2, 3, 4), rand(3, 4, 4))),
        (lambda t, a, b: t.mv(a, b), (rand(2, 3), rand(4))),
        (lambda t, a, b: t.mv(a, b), (rand(2, 3), rand(3, 1))),
        (lambda t, a, b: t.dot(a, b), (rand(3), rand(4))),
        (lambda t, a, b: t.dot(a, b), (rand(3, 1), rand(3))),
        (lambda t, a, b: t.dot(a, b), (rand(3), rand(3, dtype=F32))),
    ]:
        check_raises(fn, *args)


def test_inner_outer_kron():
    check(lambda t, a, b: t.inner(a, b), rand(2, 3), rand(4, 3))
    check(lambda t, a, b: t.inner(a, b), rand(3), rand(3, seed=1))
    check(lambda t, a, b: t.inner(a, b), rand(2, 5, 3), rand(4, 3))
    check(lambda t, a: t.inner(a, t.tensor(2.0, dtype=t.float64)), rand(2, 3))
    check(lambda t, a, b: t.outer(a, b), rand(3), rand(4))
    check(lambda t, a, b: t.ger(a, b), rand(3, dtype=F32), rand(4, dtype=F32))
    check(lambda t, a, b: t.outer(a, b), rand(3), rand(4, dtype=F32))
    check(lambda t, a, b: t.kron(a, b), rand(2, 3), rand(4, 2))
    check(lambda t, a, b: t.kron(a, b), rand(2, 3), rand(4))
    check(lambda t, a, b: t.kron(a, b), rand(2, 1, 3), rand(2, 2, dtype=F32))
    check_raises(lambda t, a, b: t.inner(a, b), rand(3, 2), rand(3))
    check_raises(lambda t, a, b: t.outer(a, b), rand(3, 2), rand(3))


@pytest.mark.parametrize("dtype", [F64, F32])
def test_addmm_family(dtype):
    def r(*s, seed=0):
        return rand(*s, dtype=dtype, seed=seed)

    check(lambda t, i, a, b: t.addmm(i, a, b), r(2, 5), r(2, 3, seed=1), r(3, 5, seed=2))
    check(lambda t, i, a, b: t.addmm(i, a, b, beta=0.5, alpha=-2), r(5), r(2, 3, seed=1),
          r(3, 5, seed=2))
    check(lambda t, i, a, b: t.addmv(i, a, b, beta=2, alpha=0.5), r(2), r(2, 3, seed=1),
          r(3, seed=2))
    check(lambda t, i, a, b: t.baddbmm(i, a, b, alpha=3), r(2, 5), r(4, 2, 3, seed=1),
          r(4, 3, 5, seed=2))
    check(lambda t, i, a, b: t.addbmm(i, a, b, beta=-1), r(2, 5), r(4, 2, 3, seed=1),
          r(4, 3, 5, seed=2))
    check(lambda t, i, a, b: i.addmm(a, b), r(2, 5), r(2, 3, seed=1), r(3, 5, seed=2))


def test_addmm_beta_zero_ignores_input_and_inplace():
    nan = np.full((2, 5), np.nan)
    check(lambda t, i, a, b: t.addmm(i, a, b, beta=0), nan, rand(2, 3), rand(3, 5))
    check(lambda t, i, a, b: i.clone().addmm_(a, b, alpha=2), rand(2, 5), rand(2, 3),
          rand(3, 5))
    check(lambda t, i, a, b: i.clone().baddbmm_(a, b), rand(4, 2, 5), rand(4, 2, 3),
          rand(4, 3, 5))
    check_raises(lambda t, i, a, b: t.addmm(i, a, b), rand(3), rand(2, 3), rand(3, 5))
    check_raises(lambda t, i, a, b: t.addmm(i, a, b), rand(2, 5, dtype=F32), rand(2, 3),
                 rand(3, 5))
    check_raises(lambda t, i, a, b: t.addmv(i, a, b), rand(5), rand(2, 3), rand(3))


def test_cross_trace():
    check(lambda t, a, b: t.linalg.cross(a, b), rand(4, 3), rand(4, 3, seed=1))
    check(lambda t, a, b: t.linalg.cross(a, b), rand(1, 3), rand(4, 3, seed=1))
    check(lambda t, a, b: t.linalg.cross(a, b, dim=0), rand(3, 2, dtype=F32),
          rand(3, 2, dtype=F32, seed=1))
    check(lambda t, a, b: t.cross(a, b, dim=1), rand(2, 3, 4), rand(2, 3, 4, seed=1))
    with pytest.warns(UserWarning):
        check(lambda t, a, b: t.cross(a, b), rand(2, 3), rand(2, 3, seed=1))
    check_raises(lambda t, a, b: t.linalg.cross(a, b), rand(3, 2), rand(3, 2))
    check_raises(lambda t, a, b: t.linalg.cross(a, b), rand(3), rand(3, dtype=F32))
    check_raises(lambda t, a, b: t.linalg.cross(a, b), rand(3), rand(4, 3))
    check_raises(lambda t, a, b: t.linalg.cross(a, b), rand(2, 3), rand(4, 3))
    check(lambda t, a: t.trace(a), rand(3, 3))
    check(lambda t, a: a.trace(), rand(2, 4, dtype=F32))
    check(lambda t, a: t.trace(a), rand(3, 3, dtype=np.int32))
    check_raises(lambda t, a: t.trace(a), rand(2, 2, 2))
    check_raises(lambda t, a: t.trace(a), np.ones((2, 2), dtype=bool))


# ---- einsum and tensordot -----------------------------------------------------------------

EINSUM = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("ba,ac", [(2, 3), (3, 4)]),
    ("i,i->", [(4,), (4,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("iij->j", [(3, 3, 2)]),
    ("ij->ji", [(2, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("bij,bjk->bik", [(5, 2, 3), (5, 3, 4)]),
    ("...ij,...jk->...ik", [(5, 2, 3), (3, 4)]),
    ("...ij,...jk", [(2, 1, 2, 3), (4, 3, 3)]),
    ("b...,b...->b", [(2, 3, 4), (2, 3, 4)]),
    ("i...->...", [(3, 2, 2)]),
    ("...", [(2, 3)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("ij,jk,kl->li", [(2, 3), (3, 4), (4, 5)]),
    ("ij,ik->jk", [(2, 1), (2, 3)]),
    ("ij,jk->ik", [(2, 3), (1, 4)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]),
    ("i,i,i->", [(3,), (3,), (3,)]),
    ("iji->j", [(2, 3, 2)]),
    ("Ab,bC->AC", [(2, 3), (3, 2)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUM)
def test_einsum(eq, shapes):
    arrays = [rand(*s, seed=i) for i, s in enumerate(shapes)]
    check(lambda t, *ops: t.einsum(eq, *ops), *arrays)


def test_einsum_forms_and_dtypes():
    check(lambda t, a, b: t.einsum("ij,jk->ik", [a, b]), rand(2, 3), rand(3, 4))
    check(lambda t, a, b: t.einsum(a, [0, 1], b, [1, 2], [0, 2]), rand(2, 3), rand(3, 4))
    check(lambda t, a, b: t.einsum(a, [Ellipsis, 0], b, [Ellipsis, 0]), rand(2, 3),
          rand(2, 3, seed=1))
    check(lambda t, a, b: t.einsum("ij,jk->ik", a, b), rand(2, 3, dtype=F32),
          rand(3, 4, dtype=F32))
    check(lambda t, a, b: t.einsum("ij,jk->ik", a, b), rand(2, 3, dtype=np.int64),
          rand(3, 4, dtype=np.int64))
    check(lambda t, a, b: t.einsum(" i j , j k -> i k ", a, b), rand(2, 3), rand(3, 4))


@pytest.mark.parametrize("eq,shapes", [
    ("ij,jk", [(2, 3), (4, 3)]),
    ("ij,jk", [(2, 3)]),
    ("ij,jk->ik", [(2, 3), (3, 3), (3,)]),
    ("ii", [(2, 3)]),
    ("ijk,jk->i", [(2, 3), (3, 3)]),
    ("ij,jk->ii", [(2, 3), (3, 3)]),
    ("ij,jk->iz", [(2, 3), (3, 3)]),
    ("i1,i", [(3,), (3,)]),
])
def test_einsum_errors(eq, shapes):
    arrays = [rand(*s, seed=i) for i, s in enumerate(shapes)]
    check_raises(lambda t, *ops: t.einsum(eq, *ops), *arrays)
    check_raises(lambda t, a, b: t.einsum("ij,jk", a, b), rand(2, 3), rand(3, 3, dtype=F32))


def test_einsum_double_backward():
    def f(x, y):
        z = ember.einsum("ij,jk->ik", x, y)
        return ember.einsum("ik,ik->", z, z)

    x = ember.from_numpy(rand(2, 3)).requires_grad_()
    y = ember.from_numpy(rand(3, 2, seed=1)).requires_grad_()
    assert ember.autograd.gradgradcheck(f, (x, y))
    d = ember.from_numpy(rand(3, 3)).requires_grad_()
    assert ember.autograd.gradgradcheck(lambda a: ember.einsum("ii,ij->j", a, a), (d,))


def test_tensordot():
    check(lambda t, a, b: t.tensordot(a, b), rand(2, 3, 4), rand(3, 4, 5))
    check(lambda t, a, b: t.tensordot(a, b, dims=1), rand(2, 3, 4), rand(4, 5))
    check(lambda t, a, b: t.tensordot(a, b, dims=0), rand(2, 3), rand(4))
    check(lambda t, a, b: t.tensordot(a, b, dims=([1, 0], [0, 2])), rand(2, 3, 4),
          rand(3, 5, 2))
    check(lambda t, a, b: t.tensordot(a, b, dims=([-1], [0])), rand(2, 3, dtype=F32),
          rand(3, 5, dtype=F32))
    check_raises(lambda t, a, b: t.tensordot(a, b, dims=([1], [0])), rand(2, 3), rand(4, 3))
    check_raises(lambda t, a, b: t.tensordot(a, b, dims=([1], [1])), rand(2, 3),
                 rand(4, 3, dtype=F32))


# ---- inverse, determinant, solve ----------------------------------------------------------


@pytest.mark.parametrize("shape", [(3, 3), (4, 2, 2), (2, 3, 4, 4)])
@pytest.mark.parametrize("dtype", [F64, F32])
def test_inv_det_slogdet(shape, dtype):
    a = wellcond(*shape, dtype=dtype)
    check(lambda t, x: t.linalg.inv(x), a)
    check(lambda t, x: t.inverse(x), a)
    check(lambda t, x: t.linalg.det(x), a)
    check(lambda t, x: x.det(), a)
    check(lambda t, x: t.linalg.slogdet(x), -a)
    check(lambda t, x: t.slogdet(x), a)
    check(lambda t, x: t.logdet(x), spd(*shape, dtype=dtype))


def test_slogdet_named_and_logdet_negative():
    r = ember.linalg.slogdet(ember.from_numpy(-np.eye(3)))
    assert r.sign.item() == -1.0 and r.logabsdet.item() == 0.0
    check(lambda t, x: t.logdet(x), np.array([[-1.0, 0], [0, 2]]), grad=False)
    check(lambda t, x: t.linalg.slogdet(x), np.array([[1.0, 2], [2, 4]]), grad=False)


def test_det_singular_gradient_is_zero_like_torch():
    check(lambda t, x: t.linalg.det(x), np.array([[1.0, 2], [2, 4]]))
    check(lambda t, x: t.linalg.det(x), np.stack([np.eye(3), np.ones((3, 3))]))


def test_inv_det_errors():
    sing = np.array([[1.0, 2], [2, 4]])
    e = check_raises(lambda t, a: t.linalg.inv(a), sing)
    assert isinstance(e, ember.linalg.LinAlgError) and isinstance(e, RuntimeError)
    assert "The diagonal element 2 is zero" in str(e)
    e = check_raises(lambda t, a: t.linalg.inv(a), np.stack([np.eye(2), sing]))
    assert "(Batch element 1)" in str(e)
    check_raises(lambda t, a: t.linalg.inv(a), rand(2, 3))
    check_raises(lambda t, a: t.linalg.inv(a), rand(2, 2, dtype=np.int64))
    check_raises(lambda t, a: t.linalg.det(a), rand(2, 3))
    check_raises(lambda t, a: t.linalg.det(a), rand(3))
    check_raises(lambda t, a: t.linalg.matrix_power(a, -1), sing)


@pytest.mark.parametrize("dtype", [F64, F32])
def test_solve(dtype):
    a = wellcond(3, 3, dtype=dtype)
    check(lambda t, A, B: t.linalg.solve(A, B), a, rand(3, 2, dtype=dtype))
    check(lambda t, A, B: t.linalg.solve(A, B), a, rand(3, dtype=dtype))
    check(lambda t, A, B: t.linalg.solve(A, B), wellcond(2, 3, 3, dtype=dtype),
          rand(2, 3, dtype=dtype))
    check(lambda t, A, B: t.linalg.solve(A, B), wellcond(2, 3, 3, dtype=dtype),
          rand(3, 3, dtype=dtype))
    check(lambda t, A, B: t.linalg.solve(A, B), wellcond(2, 3, 3, dtype=dtype),
          rand(4, 1, 3, 2, dtype=dtype))
    check(lambda t, A, B: t.linalg.solve(A, B, left=False), a, rand(2, 3, dtype=dtype))
    check(lambda t, A, B: t.linalg.solve_triangular(A, B, upper=True), a,
          rand(3, 2, dtype=dtype))
    check(lambda t, A, B: t.linalg.solve_triangular(A, B, upper=False, unitriangular=True), a,
          rand(3, 2, dtype=dtype))


def test_solve_errors():
    e = check_raises(lambda t, A, B: t.linalg.solve(A, B), np.array([[1.0, 2], [2, 4]]), rand(2))
    assert isinstance(e, ember.linalg.LinAlgError)
    check_raises(lambda t, A, B: t.linalg.solve(A, B), np.eye(2), rand(3))
    check_raises(lambda t, A, B: t.linalg.solve(A, B), np.eye(2), rand(3, 2))
    check_raises(lambda t, A, B: t.linalg.solve(A, B), np.eye(3), rand(2, 3))
    check_raises(lambda t, A, B: t.linalg.solve(A, B), np.eye(2, dtype=F32), rand(2))
    check_raises(lambda t, A, B: t.linalg.solve(A, B), rand(2, 3), rand(2))
    check_raises(lambda t, A, B: t.linalg.solve(A, B), wellcond(2, 3, 3), rand(4, 3, 1))
    check_raises(lambda t, A, B: t.linalg.solve_triangular(A, B, upper=True), np.eye(3),
                 rand(3))


# ---- factorizations ----------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4)])
@pytest.mark.parametrize("dtype", [F64, F32])
def test_cholesky(shape, dtype):
    a = spd(*shape, dtype=dtype)
    check(lambda t, x: t.linalg.cholesky(x), a)
    check(lambda t, x: t.linalg.cholesky(x, upper=True), a)
    check(lambda t, x: t.cholesky(x), a)
    check(lambda t, x: x.cholesky(upper=True), a)
    b = rand(*shape[:-1], 2, dtype=dtype)
    check(lambda t, x, y: t.cholesky_solve(y, t.linalg.cholesky(x)), a, b)
    check(lambda t, x: t.cholesky_inverse(t.linalg.cholesky(x)), a)


def test_cholesky_errors():
    e = check_raises(lambda t, a: t.linalg.cholesky(a), np.array([[1.0, 2], [2, 4]]))
    assert isinstance(e, ember.linalg.LinAlgError) and "order 2" in str(e)
    e = check_raises(lambda t, a: t.linalg.cholesky(a), np.stack([np.eye(3), -np.eye(3)]))
    assert "(Batch element 1)" in str(e) and "order 1" in str(e)
    check_raises(lambda t, a: t.linalg.cholesky(a), rand(2, 3))


@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (3, 5), (2, 5, 3), (2, 3, 4)])
@pytest.mark.parametrize("dtype", [F64, F32])
def test_qr(shape, dtype):
    a = rand(*shape, dtype=dtype)

    def invariant(t, x, mode="reduced"):
        q, r = t.linalg.qr(x, mode=mode)
        # A fixed-sign gauge: the QR of PyTorch and LAPACK agree up to row signs of R.
        s = t.sign(t.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-1)
        return q @ r, (s * r).abs().sum(-1), t.abs(q).sum(-2)

    check(invariant, a, rtol=1e-4 if dtype == F32 else None, atol=1e-4 if dtype == F32 else None)
    def quadratic(t, x):
        q, r = t.linalg.qr(x)
        return q * q.sum(-2, keepdim=True), r * r

    def complete(t, x):
        q, r = t.linalg.qr(x, mode="complete")
        return q @ r

    check(quadratic, a, rtol=1e-4 if dtype == F32 else None,
          atol=1e-4 if dtype == F32 else None)
    check(complete, a, grad=False)
    check(lambda t, x: t.linalg.qr(x, mode="r")[1].abs(), a, grad=False)


def test_qr_errors():
    check_raises(lambda t, a: t.linalg.qr(a, mode="x"), rand(3, 3))
    check_raises(lambda t, a: t.linalg.qr(a, mode="r")[1].sum().backward(), rand(4, 3))
    check_raises(lambda t, a: t.linalg.qr(a, mode="complete")[1].sum().backward(), rand(4, 3))


@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (3, 5), (2, 5, 3), (2, 3, 4)])
@pytest.mark.parametrize("dtype", [F64, F32])
def test_svd(shape, dtype):
    a = rand(*shape, dtype=dtype)
    tol = {"rtol": 1e-4, "atol": 1e-4} if dtype == F32 else {}

    def invariant(t, x):
        u, s, vh = t.linalg.svd(x, full_matrices=False)
        return (u * s.unsqueeze(-2)) @ vh, s, u.abs(), vh.abs(), (u @ vh) * 2

    check(invariant, a, **tol)
    check(lambda t, x: t.linalg.svdvals(x), a, **tol)
    check(lambda t, x: t.linalg.svd(x)[1], a, **tol)
    def full(t, x):
        u, s, vh = t.linalg.svd(x)
        k = s.shape[-1]
        return (u[..., :, :k] * s.unsqueeze(-2)) @ vh[..., :k, :]

    def old_api(t, x):
        u, s, v = t.svd(x)
        return u @ v.transpose(-1, -2), s

    check(full, a, **tol)
    check(old_api, a, **tol)


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4)])
@pytest.mark.parametrize("dtype", [F64, F32])
def test_eigh(shape, dtype):
    a = rand(*shape, dtype=dtype)
    a = a + np.swapaxes(a, -1, -2)
    tol = {"rtol": 1e-4, "atol": 1e-4} if dtype == F32 else {}
    check(lambda t, x: t.linalg.eigvalsh(x), a, **tol)
    def invariant(t, x):
        w, v = t.linalg.eigh(x)
        return w, v.abs(), (v * w.unsqueeze(-2)) @ v.transpose(-1, -2)

    check(invariant, a, **tol)
    check(lambda t, x: t.linalg.eigh(x, UPLO="U")[1] ** 2, a, **tol)
    # a non-symmetric input: only one triangle is read
    b = rand(*shape, dtype=dtype, seed=5)
    check(lambda t, x: t.linalg.eigvalsh(x, UPLO="U"), b, **tol)
    check_raises(lambda t, x: t.linalg.eigh(x), rand(2, 3))


@pytest.mark.parametrize("dtype", [F64, F32])
def test_pinv_rank(dtype):
    tol = {"rtol": 1e-4, "atol": 1e-4} if dtype == F32 else {}
    for shape in [(3, 3), (4, 3), (2, 3, 5)]:
        a = rand(*shape, dtype=dtype)
        check(lambda t, x: t.linalg.pinv(x), a, **tol)
        check(lambda t, x: t.pinverse(x), a, **tol)
        check(lambda t, x: t.linalg.matrix_rank(x), a, grad=False)
    s = spd(3, 3, dtype=dtype)
    check(lambda t, x: t.linalg.pinv(x, hermitian=True), s, **tol)
    low = (rand(4, 2) @ rand(2, 5, seed=1)).astype(dtype)
    check(lambda t, x: t.linalg.matrix_rank(x), low, grad=False)
    check(lambda t, x: t.linalg.matrix_rank(x, hermitian=True), s, grad=False)
    check(lambda t, x: t.linalg.matrix_rank(x, atol=1.0, rtol=0.0), a, grad=False)
    check(lambda t, x: t.linalg.pinv(x), low, grad=False, **tol)


def test_matrix_power_multi_dot():
    a = wellcond(3, 3)
    for n in (1, 2, 3, 5, -1, -2):
        check(lambda t, x, n=n: t.linalg.matrix_power(x, n), a)
    check(lambda t, x: t.matrix_power(x, 3), wellcond(2, 3, 3, dtype=F32))
    check(lambda t, x: t.linalg.matrix_power(x, 0), a)
    check_raises(lambda t, x: t.linalg.matrix_power(x, 2), rand(2, 3))
    check(lambda t, a, b, c: t.linalg.multi_dot([a, b, c]), rand(2, 3), rand(3, 4),
          rand(4, 5))
    check(lambda t, a, b, c, d: t.linalg.multi_dot([a, b, c, d]), rand(3), rand(3, 10),
          rand(10, 2), rand(2))
    check(lambda t, a, b: t.linalg.multi_dot([a, b]), rand(3), rand(3, 4))
    check(lambda t, a, b: t.linalg.multi_dot((a, b)), rand(4, 3), rand(3))
    check(lambda t, a, b: t.chain_matmul(a, b), rand(4, 3), rand(3, 2))
    check_raises(lambda t, a: t.linalg.multi_dot([a]), rand(2, 3))
    check_raises(lambda t, a, b: t.linalg.multi_dot([a, b]), rand(2, 3), rand(2, 3))
    check_raises(lambda t, a, b: t.linalg.multi_dot([a, b]), rand(2, 3, 3), rand(3, 3))
    check(lambda t, a, b: t.linalg.vecdot(a, b), rand(2, 3), rand(3))


# ---- norms -------------------------------------------------------------------------------

VECTOR_ORDS = [2, 1, 3, 0.5, math.inf, -math.inf, 0, -1]


@pytest.mark.parametrize("ord", VECTOR_ORDS)
@pytest.mark.parametrize("dtype", [F64, F32])
def test_vector_norm(ord, dtype):
    x = rand(3, 4, dtype=dtype)
    check(lambda t, a: t.linalg.vector_norm(a, ord), x)
    check(lambda t, a: t.linalg.vector_norm(a, ord, dim=1), x)
    check(lambda t, a: t.linalg.vector_norm(a, ord, dim=(0, 1), keepdim=True), x)
    check(lambda t, a: t.linalg.vector_norm(a, ord, dim=0, keepdim=True), x)


def test_vector_norm_special_points():
    check(lambda t, a: t.linalg.vector_norm(a, math.inf), np.array([3.0, -3.0, 1.0]))
    for ord in (2, 3, 0.5, 1):
        check(lambda t, a, ord=ord: t.linalg.vector_norm(a, ord), np.zeros(3))
        check(lambda t, a, ord=ord: t.linalg.vector_norm(a, ord), np.array([0.0, 1.0, 0.0]))
    check(lambda t, a: t.linalg.vector_norm(a, dtype=t.float64), rand(3, dtype=F32))
    check_raises(lambda t, a: t.linalg.vector_norm(a), rand(3, dtype=np.int64))
    check_raises(lambda t, a: t.linalg.vector_norm(a, "fro"), rand(3))
    check_raises(lambda t, a: t.linalg.vector_norm(a, math.inf), np.zeros((0, 3)))
    check_raises(lambda t, a: t.linalg.vector_norm(a, -1), np.zeros((0, 3)))
    check(lambda t, a: t.linalg.vector_norm(a, math.inf, dim=1), np.zeros((0, 3)))
    check(lambda t, a: t.linalg.vector_norm(a), np.zeros((0, 3)))


MATRIX_ORDS = ["fro", "nuc", math.inf, -math.inf, 1, -1, 2, -2]


@pytest.mark.parametrize("ord", MATRIX_ORDS)
@pytest.mark.parametrize("dtype", [F64, F32])
def test_matrix_norm(ord, dtype):
    tol = {"rtol": 1e-4, "atol": 1e-4} if dtype == F32 else {}
    x = rand(2, 3, 4, dtype=dtype)
    check(lambda t, a: t.linalg.matrix_norm(a, ord), x, **tol)
    check(lambda t, a: t.linalg.matrix_norm(a, ord, dim=(0, 2), keepdim=True), x, **tol)
    check(lambda t, a: t.linalg.matrix_norm(a, ord, dim=(2, 0)), x, **tol)
    check(lambda t, a: t.linalg.norm(a, ord), x[0], **tol)


def test_linalg_norm_dispatch():
    x = rand(2, 3, 4)
    check(lambda t, a: t.linalg.norm(a), x)
    check(lambda t, a: t.linalg.norm(a, dim=1), x)
    check(lambda t, a: t.linalg.norm(a, 3, dim=(1,)), x)
    check(lambda t, a: t.linalg.norm(a, dim=(0, 1), keepdim=True), x)
    check(lambda t, a: t.linalg.norm(a, "nuc", dim=(0, 2)), x)
    check(lambda t, a: t.linalg.norm(a, 1), x[0, 0])
    check_raises(lambda t, a: t.linalg.norm(a, 2), x)
    check_raises(lambda t, a: t.linalg.matrix_norm(a), x[0, 0])
    check_raises(lambda t, a: t.linalg.matrix_norm(a, 3), x)
    check_raises(lambda t, a: t.linalg.norm(a, "fro", dim=1), x)


# ---- gradcheck (float64, finite differences) and double backward --------------------------


def _leaf(a):
    return ember.from_numpy(a).requires_grad_()


def test_gradcheck_decompositions():
    gc = ember.autograd.gradcheck
    a = _leaf(wellcond(3, 3))
    assert gc(lambda x: ember.linalg.inv(x), (a,))
    assert gc(lambda x: ember.linalg.det(x), (a,))
    assert gc(lambda x: ember.linalg.solve(x, ember.ones(3, 2, dtype=ember.float64)), (a,))
    s = _leaf(spd(3, 3))

    def sym(x):  # only symmetric perturbations: one triangle is read
        return (x + x.transpose(-1, -2)) / 2

    def eigh_parts(x):
        w, v = ember.linalg.eigh(sym(x))
        return v * v, w

    def svd_parts(x):
        u, sv, vh = ember.linalg.svd(x, False)
        return u @ vh, sv

    def qr_parts(x):
        q, rr = ember.linalg.qr(x)
        return q.abs(), rr.abs(), q @ rr

    assert gc(lambda x: ember.linalg.cholesky(sym(x)), (s,))
    assert gc(lambda x: ember.linalg.eigvalsh(sym(x)), (s,))
    assert gc(eigh_parts, (s,))
    r = _leaf(rand(4, 3))
    assert gc(svd_parts, (r,))
    assert gc(qr_parts, (r,))
    assert gc(qr_parts, (_leaf(rand(3, 5)),))
    assert gc(lambda x: ember.linalg.pinv(x), (r,))
    assert gc(lambda x: ember.linalg.matrix_norm(x, "nuc"), (r,))


def test_double_backward_against_torch():
    def second(mod, fn, a):
        x = mod.from_numpy(a.copy()).requires_grad_()
        (g,) = mod.autograd.grad(fn(mod, x).sum(), x, create_graph=True)
        (h,) = mod.autograd.grad((g * g).sum(), x)
        return h.detach().numpy()

    for fn, a in [
        (lambda t, x: t.linalg.inv(x), wellcond(3, 3)),
        (lambda t, x: t.linalg.det(x), wellcond(3, 3)),
        (lambda t, x: t.linalg.slogdet(x)[1], wellcond(3, 3)),
        (lambda t, x: t.linalg.cholesky(x), spd(3, 3)),
        (lambda t, x: t.linalg.eigvalsh(x), spd(3, 3)),
        (lambda t, x: t.linalg.svdvals(x), rand(4, 3)),
        (lambda t, x: t.linalg.vector_norm(x, 3), rand(5)),
        (lambda t, x: t.einsum("ij,jk->ik", x, x), rand(3, 3)),
        (lambda t, x: t.linalg.pinv(x), rand(4, 3)),
    ]:
        np.testing.assert_allclose(second(ember, fn, a), second(torch, fn, a), rtol=1e-8,
                                   atol=1e-8)
