"""Shape ops against PyTorch: values, dtypes, gradients, memory sharing of views, errors."""
import warnings

import numpy as np
import pytest
import torch
from helpers import check, check_raises, rand

import ember

DTYPES = [np.float64, np.float32, np.int64, np.bool_]
dtypes = pytest.mark.parametrize("dt", DTYPES, ids=lambda d: np.dtype(d).name)


def x(*shape, dt=np.float64, seed=0):
    return np.asarray(rand(*shape, dtype=dt, seed=seed))


# ---- reshaping -------------------------------------------------------------------------------


@dtypes
@pytest.mark.parametrize("shape", [(6, 4), (-1,), (4, -1, 2), (24,), (2, 1, 12), (1, 2, 3, 4)])
def test_reshape_view(dt, shape):
    check(lambda t, a: a.reshape(shape), x(2, 3, 4, dt=dt))
    check(lambda t, a: t.reshape(a, shape), x(2, 3, 4, dt=dt))
    check(lambda t, a: t.reshape(a, shape=shape), x(2, 3, 4, dt=dt))
    check(lambda t, a: a.view(shape), x(2, 3, 4, dt=dt))
    check(lambda t, a: a.view(*shape), x(2, 3, 4, dt=dt))
    check(lambda t, a: (a * 2).transpose(0, 2).reshape(shape), x(2, 3, 4, dt=dt))


@dtypes
def test_view_as_reshape_as_flatten_ravel(dt):
    check(lambda t, a, b: a.view_as(b), x(2, 6, dt=dt), x(3, 4))
    check(lambda t, a, b: a.reshape_as(b), x(2, 6, dt=dt).T, x(3, 4))
    for s, e in [(0, -1), (1, 2), (0, 1), (-2, -1), (2, 2)]:
        check(lambda t, a, s=s, e=e: t.flatten(a, s, e), x(2, 3, 4, dt=dt))
    check(lambda t, a: a.flatten(), x(dt=dt))
    check(lambda t, a: t.ravel(a.transpose(0, 1)), x(2, 3, 4, dt=dt))
    check(lambda t, a: a.mT.ravel(), x(2, 3, dt=dt))


@dtypes
@pytest.mark.parametrize("dim,sizes", [(1, (2, 3)), (-1, (4, 1)), (0, (-1, 1)), (2, (2, -1, 1))])
def test_unflatten(dt, dim, sizes):
    check(lambda t, a: t.unflatten(a, dim, sizes), x(2, 6, 4, dt=dt))
    check(lambda t, a: a.unflatten(dim, sizes), x(2, 6, 4, dt=dt))


@dtypes
@pytest.mark.parametrize("dim", [None, 0, -2, (0, 2), 1, (), (1, 3, -4)])
def test_squeeze(dt, dim):
    a = x(1, 3, 1, 2, dt=dt)
    check(lambda t, a: a.squeeze() if dim is None else a.squeeze(dim), a)
    check(lambda t, a: t.squeeze(a) if dim is None else t.squeeze(a, dim), a)


@dtypes
@pytest.mark.parametrize("dim", [0, -1, 2, -3])
def test_unsqueeze(dt, dim):
    check(lambda t, a: t.unsqueeze(a, dim), x(3, 2, dt=dt))
    check(lambda t, a: a.unsqueeze(dim).unsqueeze(0), x(3, 2, dt=dt))


def test_zero_dim_reshapes():
    check(lambda t, a: (a.squeeze(0), a.squeeze(-1), a.unsqueeze(0), a.reshape(1, 1),
                        a.flatten(), a.view(-1)), x())
    check(lambda t, a: a.reshape(()), x(1, 1))


# ---- permuting -------------------------------------------------------------------------------


@dtypes
@pytest.mark.parametrize("dims", [(0, 1, 2), (2, 0, 1), (1, 0, 2), (-1, -3, -2)])
def test_permute(dt, dims):
    check(lambda t, a: a.permute(*dims), x(2, 3, 4, dt=dt))
    check(lambda t, a: a.permute(dims) * 1, x(2, 3, 4, dt=dt))
    check(lambda t, a: t.permute(a, dims), x(2, 3, 4, dt=dt))


@dtypes
@pytest.mark.parametrize("d0,d1", [(0, 1), (0, 2), (-1, 0), (1, 1)])
def test_transpose_swap(dt, d0, d1):
    a = x(2, 3, 4, dt=dt)
    check(lambda t, a: a.transpose(d0, d1), a)
    check(lambda t, a: t.swapaxes(a, d0, d1), a)
    check(lambda t, a: a.swapdims(d0, d1), a)


@dtypes
@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_t(dt, shape):
    check(lambda t, a: a.t(), x(*shape, dt=dt))
    check(lambda t, a: t.t(a), x(*shape, dt=dt))


@dtypes
@pytest.mark.parametrize("src,dst", [(0, 2), (-1, 0), ((0, 1), (2, 0)), ([0, 2], [1, 0]),
                                     ((0, 1, 2), (2, 1, 0))])
def test_movedim(dt, src, dst):
    check(lambda t, a: t.movedim(a, src, dst), x(2, 3, 4, dt=dt))
    check(lambda t, a: a.moveaxis(src, dst), x(2, 3, 4, dt=dt))


# ---- broadcasting ----------------------------------------------------------------------------


@dtypes
@pytest.mark.parametrize("shape,sizes", [((3, 1), (3, 4)), ((3, 1), (2, 3, 4)), ((1,), (5,)),
                                         ((2, 1, 3), (-1, 4, -1)), ((), (2, 3)),
                                         ((3, 1), (2, -1, 0))])
def test_expand(dt, shape, sizes):
    check(lambda t, a: a.expand(*sizes), x(*shape, dt=dt))
    check(lambda t, a: a.expand(sizes) * 2, x(*shape, dt=dt))
    check(lambda t, a: t.broadcast_to(a, sizes), x(*shape, dt=dt))


@dtypes
def test_expand_as_broadcast_tensors(dt):
    check(lambda t, a, b: a.expand_as(b), x(3, 1, dt=dt), x(2, 3, 4))
    check(lambda t, a, b, c: t.broadcast_tensors(a, b, c), x(3, 1, dt=dt), x(2, 1, 4), x())
    check(lambda t, a, b: t.broadcast_tensors(a, b), x(0, 1, dt=dt), x(3))
    check(lambda t, a: t.broadcast_tensors(a), x(2, dt=dt))


def test_broadcast_shapes():
    check(lambda t: t.broadcast_shapes((2, 1), (1, 1, 3), 1))
    check(lambda t: t.broadcast_shapes((0, 1), [4]))
    check(lambda t: t.broadcast_shapes())
    check(lambda t: t.broadcast_shapes(t.Size([2, 3]), (3,)))
    check_raises(lambda t: t.broadcast_shapes((2, 3), (4, 3)))


@dtypes
@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid(dt, indexing):
    a, b, c = x(3, dt=dt), x(4, dt=dt), x(dt=dt)
    check(lambda t, a, b: t.meshgrid(a, b, indexing=indexing), a, b)
    check(lambda t, a, b, c: t.meshgrid([a, b, c], indexing=indexing), a, b, c)
    check(lambda t, a: t.meshgrid(a, indexing=indexing), a)


def test_meshgrid_default_warns_and_is_ij():
    for mod in (torch, ember):
        with pytest.warns(UserWarning, match="indexing"):
            mod.meshgrid(mod.zeros(2), mod.zeros(3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda t, a, b: t.meshgrid(a, b), x(2), x(3))


# ---- repeating -------------------------------------------------------------------------------


@dtypes
@pytest.mark.parametrize("shape,sizes", [((2, 3), (2, 1)), ((2, 3), (1, 2, 3)), ((3,), (4,)),
                                         ((), (2, 3)), ((2, 3), (0, 2)), ((2, 1, 3), (1, 1, 1))])
def test_repeat_tile(dt, shape, sizes):
    check(lambda t, a: a.repeat(*sizes), x(*shape, dt=dt))
    check(lambda t, a: a.repeat(sizes), x(*shape, dt=dt))
    check(lambda t, a: t.tile(a, sizes), x(*shape, dt=dt))
    check(lambda t, a: a.tile(sizes[-1:]), x(*shape, dt=dt))


@dtypes
@pytest.mark.parametrize("reps,dim", [(2, None), (3, 0), (0, 1), (2, -1), ([1, 0, 2], 1),
                                      ([2, 1], 0), ([3], 1), (1, None)])
def test_repeat_interleave(dt, reps, dim):
    def f(t, a):
        r = t.tensor(reps) if isinstance(reps, list) else reps
        return a.repeat_interleave(r, dim), t.repeat_interleave(a, r, dim=dim)

    check(f, x(2, 3, dt=dt))


def test_repeat_interleave_extras():
    check(lambda t, a: t.repeat_interleave(a, t.tensor([1, 2, 0]), 0, output_size=3), x(3, 2))
    check(lambda t, a: t.repeat_interleave(a, t.tensor(2)), x(3))
    check(lambda t: t.repeat_interleave(t.tensor([2, 0, 3])))
    check(lambda t: t.repeat_interleave(t.tensor([2, 1], dtype=t.int32)))
    check_raises(lambda t, a: t.repeat_interleave(a, -1), x(3))
    check_raises(lambda t, a: t.repeat_interleave(a, t.tensor([1, 2])), x(3))
    check_raises(lambda t, a: t.repeat_interleave(a, t.tensor([1, -1, 1])), x(3))
    check_raises(lambda t, a: t.repeat_interleave(a, 2, output_size=5), x(3))
    check_raises(lambda t: t.repeat_interleave(t.tensor(3)))


# ---- joining ---------------------------------------------------------------------------------


@dtypes
@pytest.mark.parametrize("dim", [0, 1, -1, -3])
def test_cat(dt, dim):
    shapes = {0: [(2, 3, 4), (1, 3, 4), (0, 3, 4)], 1: [(2, 3, 4), (2, 1, 4)],
              -1: [(2, 3, 4), (2, 3, 2), (2, 3, 1)], -3: [(2, 3, 4)]}[dim]
    arrays = [x(*s, dt=dt, seed=i) for i, s in enumerate(shapes)]
    check(lambda t, ts: t.cat(ts, dim), arrays)
    check(lambda t, ts: t.cat(tuple(ts), dim=dim), arrays)
    check(lambda t, ts: t.concat(ts, dim), arrays)
    check(lambda t, ts: t.concatenate(ts, dim), arrays)


def test_cat_skips_1d_empty_and_promotes():
    check(lambda t, a, b: t.cat([a, b], 1), x(0), x(2, 3))
    check(lambda t, a, b, c: t.cat([a, b, c], 0), x(2, 3), x(0, dt=np.float32), x(1, 3))
    check(lambda t, a, b: t.cat([a, b]), x(0), x(0, dt=np.float32))
    check(lambda t, a, b: t.cat([a, b]), x(2, 3, dt=np.float32), x(1, 3))
    check(lambda t, a, b: t.cat([a, b]), x(2, 3, dt=np.int64), x(1, 3, dt=np.bool_))
    check(lambda t, a, b: t.cat([a, b], 1), x(2, 3, dt=np.int64), x(2, 2, dt=np.float32))
    check(lambda t, a: t.cat([a, a * 2], 1), x(2, 3))


def test_cat_errors():
    check_raises(lambda t: t.cat([]))
    check_raises(lambda t, a, b: t.cat([a, b]), x(2, 3), x(2, 4))
    check_raises(lambda t, a, b: t.cat([a, b]), x(2, 3), x(2, 3, 1))
    check_raises(lambda t, a, b: t.cat([a, b]), x(), x(2))
    check_raises(lambda t, a, b: t.cat([a, b], 2), x(2, 3), x(2, 3))
    check_raises(lambda t, a: t.cat(a), x(2, 3))


@dtypes
@pytest.mark.parametrize("shape,dim", [((2, 3), 0), ((2, 3), 1), ((2, 3), 2), ((2, 3), -1),
                                       ((), 0), ((4,), -2)])
def test_stack(dt, shape, dim):
    arrays = [x(*shape, dt=dt, seed=i) for i in range(3)]
    check(lambda t, ts: t.stack(ts, dim), arrays)
    check(lambda t, ts: t.stack(ts, dim=dim) * 1, arrays[:1])


def test_stack_promotes_and_errors():
    check(lambda t, a, b: t.stack([a, b]), x(2, dt=np.float32), x(2))
    check(lambda t, a, b: t.stack([a, b], 1), x(2, dt=np.int64), x(2, dt=np.bool_))
    check_raises(lambda t, a, b: t.stack([a, b]), x(2, 3), x(3, 3))
    check_raises(lambda t: t.stack([]))
    check_raises(lambda t, a: t.stack([a, a], 3), x(2, 3))


@dtypes
@pytest.mark.parametrize("shapes", [[(), (3,)], [(2,), (3,)], [(2, 3), (2, 1)], [(2, 3, 4)],
                                    [(1, 2, 3), (1, 2, 1)]])
def test_hstack_column_stack(dt, shapes):
    arrays = [x(*s, dt=dt, seed=i) for i, s in enumerate(shapes)]
    try:
        torch.hstack([torch.from_numpy(a) for a in arrays])
    except RuntimeError:
        check_raises(lambda t, ts: t.hstack(ts), arrays)
    else:
        check(lambda t, ts: t.hstack(ts), arrays)
    if all(len(s) <= 2 for s in shapes) and len({(s or (1,))[0] for s in shapes}) == 1:
        check(lambda t, ts: t.column_stack(ts), arrays)


@dtypes
@pytest.mark.parametrize("shapes", [[(3,), (3,)], [(), ()], [(2, 3), (3,)], [(2, 3, 4), (1, 3, 4)]])
def test_vstack_row_stack(dt, shapes):
    arrays = [x(*s, dt=dt, seed=i) for i, s in enumerate(shapes)]
    check(lambda t, ts: t.vstack(ts), arrays)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda t, ts: t.row_stack(ts), arrays)


@dtypes
@pytest.mark.parametrize("shapes", [[(3,), (3,)], [(), ()], [(2, 3), (2, 3)], [(2, 3, 4), (2, 3, 1)]])
def test_dstack(dt, shapes):
    check(lambda t, ts: t.dstack(ts), [x(*s, dt=dt, seed=i) for i, s in enumerate(shapes)])


@dtypes
@pytest.mark.parametrize("name", ["atleast_1d", "atleast_2d", "atleast_3d"])
def test_atleast(dt, name):
    for n in range(4):
        a = x(*(2, 3, 4)[:n], dt=dt)
        check(lambda t, a: getattr(t, name)(a), a)
        check(lambda t, a, b: getattr(t, name)(a, b), a, x(2))
        check(lambda t, a, b: getattr(t, name)([a, b]), a, x())


# ---- splitting -------------------------------------------------------------------------------


@dtypes
@pytest.mark.parametrize("size,dim", [(2, 0), (3, 0), (5, 0), (7, 0), (1, 1), ([1, 4], 0),
                                      ([2, 0, 3], 0), ([3, 1], -1), (2, -1)])
def test_split(dt, size, dim):
    check(lambda t, a: t.split(a, size, dim), x(5, 4, dt=dt))
    check(lambda t, a: a.split(size, dim=dim), x(5, 4, dt=dt))
    check(lambda t, a: [p * 2 for p in a.split(size, dim)][:1], x(5, 4, dt=dt))


@dtypes
@pytest.mark.parametrize("chunks,dim", [(1, 0), (2, 0), (3, 0), (4, 0), (6, 0), (2, 1), (3, -1)])
def test_chunk(dt, chunks, dim):
    check(lambda t, a: t.chunk(a, chunks, dim), x(6, 4, dt=dt))
    check(lambda t, a: a.chunk(chunks, dim), x(5, 3, dt=dt))
    check(lambda t, a: a.chunk(chunks), x(0, 3, dt=dt))


@dtypes
@pytest.mark.parametrize("ios,dim", [(3, 0), (1, 0), (7, 0), ([1, 3], 0), ([1, 7, 2], 0),
                                     ((0, 2), 1), ([], 0), ([-2], 0), ("t2", 0), ("t13", 1)])
def test_tensor_split(dt, ios, dim):
    def f(t, a):
        arg = {"t2": t.tensor(2), "t13": t.tensor([1, 3])}.get(ios, ios) if isinstance(ios, str) \
            else ios
        return t.tensor_split(a, arg, dim), a.tensor_split(arg, dim=dim)

    check(f, x(5, 4, dt=dt))


@dtypes
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_unbind_iter(dt, dim):
    check(lambda t, a: t.unbind(a, dim), x(3, 2, 4, dt=dt))
    check(lambda t, a: a.unbind(dim)[1:], x(3, 2, 4, dt=dt))
    check(lambda t, a: list(a), x(3, 2, dt=dt))
    check(lambda t, a: [r.sum() for r in a], x(4, dt=dt))


def test_split_errors():
    check_raises(lambda t, a: t.split(a, 0), x(3))
    check_raises(lambda t, a: t.split(a, -1), x(3))
    check_raises(lambda t, a: t.split(a, [2, 2]), x(5))
    check_raises(lambda t, a: t.split(a, 1, 2), x(5, 2))
    check_raises(lambda t, a: t.chunk(a, 0), x(5))
    check_raises(lambda t, a: t.tensor_split(a, 0), x(5))
    check_raises(lambda t, a: t.unbind(a), x())
    check_raises(lambda t, a: t.unbind(a, 2), x(2, 3))
    check(lambda t, a: t.split(a, 0), x(0))
    check(lambda t, a: t.unbind(a, 1), x(2, 0))


@dtypes
@pytest.mark.parametrize("dim,start,length", [(0, 0, 2), (0, 1, 3), (1, -2, 2), (-1, 0, 0),
                                              (1, 3, 0), (0, -4, 4)])
def test_narrow(dt, dim, start, length):
    check(lambda t, a: t.narrow(a, dim, start, length), x(4, 3, dt=dt))
    check(lambda t, a: a.narrow(dim, t.tensor(start), length), x(4, 3, dt=dt))


@dtypes
@pytest.mark.parametrize("dim,index", [(0, 0), (0, -1), (1, 2), (-1, 1)])
def test_select(dt, dim, index):
    check(lambda t, a: t.select(a, dim, index), x(4, 3, dt=dt))
    if dim in (0, -1):
        check(lambda t, a: a.select(dim, index), x(3, dt=dt))


def test_narrow_select_errors():
    check_raises(lambda t, a: t.narrow(a, 0, 3, 2), x(4))
    check_raises(lambda t, a: t.narrow(a, 0, 5, 0), x(4))
    check_raises(lambda t, a: t.narrow(a, 0, 1, -1), x(4))
    check_raises(lambda t, a: t.narrow(a, 0, 0, 1), x())
    check_raises(lambda t, a: t.narrow(a, 2, 0, 1), x(2, 2))
    check_raises(lambda t, a: t.select(a, 0, 5), x(3, 4))
    check_raises(lambda t, a: t.select(a, 0, -4), x(3, 4))
    check_raises(lambda t, a: t.select(a, 0, 0), x())
    check_raises(lambda t, a: t.select(a, 2, 0), x(3, 4))


# ---- reordering ------------------------------------------------------------------------------


@dtypes
@pytest.mark.parametrize("dims", [(0,), (1,), (0, 2), (-1, 0, 1), ()])
def test_flip(dt, dims):
    check(lambda t, a: t.flip(a, dims), x(2, 3, 4, dt=dt))
    check(lambda t, a: a.flip(*dims) if dims else a.flip(dims), x(2, 3, 4, dt=dt))
    check(lambda t, a: t.fliplr(a), x(2, 3, 4, dt=dt))
    check(lambda t, a: t.flipud(a), x(3, dt=dt))


@dtypes
@pytest.mark.parametrize("shifts,dims", [(1, 0), (-2, 1), (7, None), ((1, 2), (0, 1)),
                                         ((1, -1), (1, 1)), (3, -1), ((0,), (0,))])
def test_roll(dt, shifts, dims):
    check(lambda t, a: t.roll(a, shifts, dims), x(3, 4, dt=dt))
    check(lambda t, a: a.t().roll(shifts, dims), x(3, 4, dt=dt))


@dtypes
@pytest.mark.parametrize("k,dims", [(0, (0, 1)), (1, (0, 1)), (2, (0, 1)), (3, (0, 1)), (-1, (1, 2)),
                                    (5, (2, 0)), (1, [-1, -2])])
def test_rot90(dt, k, dims):
    check(lambda t, a: t.rot90(a, k, dims), x(2, 3, 4, dt=dt))
    check(lambda t, a: a.rot90(k, dims[:2]), x(2, 3, 4, dt=dt))


def test_flip_roll_rot90_errors():
    check_raises(lambda t, a: t.flip(a, (0, 0)), x(3, 4))
    check_raises(lambda t, a: t.flip(a, (2,)), x(3, 4))
    check_raises(lambda t, a: t.fliplr(a), x(3))
    check_raises(lambda t, a: t.flipud(a), x())
    check_raises(lambda t, a: t.roll(a, (1, 2), 0), x(3, 4))
    check_raises(lambda t, a: t.roll(a, (1, 2)), x(3, 4))
    check_raises(lambda t, a: t.rot90(a, 1, (0, 1, 2)), x(3, 4))
    check_raises(lambda t, a: t.rot90(a), x(3))
    check_raises(lambda t, a: t.rot90(a, 1, (0, 0)), x(3, 4))
    check_raises(lambda t, a: t.rot90(a, 1, (0, 2)), x(3, 4))


# ---- triangles and diagonals -----------------------------------------------------------------


@dtypes
@pytest.mark.parametrize("diagonal", [0, 1, -1, 5, -5])
def test_tril_triu(dt, diagonal):
    for shape in [(3, 4), (2, 4, 3), (0, 2)]:
        check(lambda t, a: (t.tril(a, diagonal), a.triu(diagonal=diagonal)), x(*shape, dt=dt))
    check(lambda t, a: (a * 1).tril_(diagonal) + (a * 1).triu_(diagonal), x(3, 4))
    check_raises(lambda t, a: t.tril(a), x(3))


@dtypes
@pytest.mark.parametrize("offset", [0, 1, -2, 4])
def test_diag(dt, offset):
    check(lambda t, a: t.diag(a, offset), x(3, dt=dt))
    check(lambda t, a: a.diag(offset), x(3, 4, dt=dt))
    check(lambda t, a: t.diagflat(a, offset), x(2, 2, dt=dt))
    check(lambda t, a: a.diagflat(offset), x(3, dt=dt))


@dtypes
@pytest.mark.parametrize("offset,d1,d2", [(0, 0, 1), (1, 0, 1), (-1, 0, 1), (2, 1, 2),
                                          (-1, 2, 0), (0, -1, -2), (7, 0, 1), (-3, 1, 0)])
def test_diagonal_diag_embed(dt, offset, d1, d2):
    check(lambda t, a: t.diagonal(a, offset, d1, d2), x(3, 4, 5, dt=dt))
    check(lambda t, a: a.diagonal(offset=offset, dim1=d1, dim2=d2) * 1, x(3, 4, 5, dt=dt))
    check(lambda t, a: t.diag_embed(a, offset, d1, d2), x(2, 3, dt=dt))
    check(lambda t, a: a.diag_embed(offset), x(2, 3, dt=dt))


def test_diag_errors():
    check_raises(lambda t, a: t.diag(a), x(2, 3, 4))
    check_raises(lambda t, a: t.diag(a), x())
    check_raises(lambda t, a: t.diagonal(a, 0, 0, 0), x(2, 3))
    check_raises(lambda t, a: t.diagonal(a, 0, 0, 2), x(2, 3))
    check_raises(lambda t, a: t.diag_embed(a, 0, 0, 0), x(2, 3))
    check_raises(lambda t, a: t.diag_embed(a), x())


# ---- unfold, contiguous ----------------------------------------------------------------------


@dtypes
@pytest.mark.parametrize("dim,size,step", [(0, 2, 1), (1, 3, 2), (-1, 2, 3), (1, 6, 1),
                                           (1, 1, 1), (0, 0, 1), (1, 4, 1)])
def test_unfold(dt, dim, size, step):
    check(lambda t, a: a.unfold(dim, size, step), x(3, 6, dt=dt))
    check(lambda t, a: a.t().unfold(dim, size, step).sum(-1) if size <= 3 else a, x(3, 6, dt=dt))


def test_unfold_errors_and_zero_dim():
    check(lambda t, a: a.unfold(0, 1, 1), x())
    check_raises(lambda t, a: a.unfold(1, 7, 1), x(2, 6))
    check_raises(lambda t, a: a.unfold(1, 2, 0), x(2, 6))
    check_raises(lambda t, a: a.unfold(2, 2, 1), x(2, 6))


def test_double_backward_through_views():
    def f(t, a):
        y = (a.unfold(0, 3, 1).diagonal() ** 2).sum() + (a.narrow(0, 1, 2) ** 3).sum()
        (g,) = t.autograd.grad(y, a, create_graph=True)
        return g

    check(f, x(5))


def test_double_backward_through_copies():
    def f(t, a, b):
        y = (t.cat([a, b.flatten()]) ** 2).sum() + (t.stack([a, a.flip(0)]).roll(1, 1) ** 3).sum()
        y = y + (a.repeat(2, 2) ** 2).sum() + (a.expand(3, 4) ** 3).sum()
        y = y + (a.repeat_interleave(2) ** 3).sum() + (t.diag_embed(a) ** 3).sum()
        y = y + (b.tril(1) ** 3).sum() + (t.rot90(b) ** 3).sum() + (b.select(1, 0) ** 3).sum()
        y = y + sum((p ** 3).sum() for p in b.split([1, 1], 0))
        y = y + sum((p ** 3).sum() for p in b.unbind(1))
        return t.autograd.grad(y, (a, b), create_graph=True)

    check(f, x(4), x(2, 3))


@dtypes
def test_contiguous(dt):
    check(lambda t, a: a.t().contiguous(), x(3, 4, dt=dt))
    e = ember.zeros(3, 4)
    assert e.contiguous() is e
    assert e.t().contiguous().is_contiguous() and not e.t().is_contiguous()


# ---- errors for bad shapes and dims ----------------------------------------------------------


@pytest.mark.parametrize("fn", [
    lambda t, a: a.view(5, 5),
    lambda t, a: a.view(-1, -1),
    lambda t, a: a.reshape(-1, 0),
    lambda t, a: a.t().view(12),
    lambda t, a: a.view(-2, 6),
    lambda t, a: a.permute(1, 0, 2),
    lambda t, a: a.permute(0, 0),
    lambda t, a: a.transpose(0, 2),
    lambda t, a: a.unsqueeze(3),
    lambda t, a: a.squeeze(2),
    lambda t, a: a.flatten(1, 0),
    lambda t, a: a.unflatten(1, (5, 2)),
    lambda t, a: a.unflatten(1, ()),
    lambda t, a: a.expand(3),
    lambda t, a: a.expand(2, 3, 4),
    lambda t, a: a.expand(-1, 2, 4),
    lambda t, a: a.repeat(2),
    lambda t, a: a.movedim((0, 1), (1, 1)),
    lambda t, a: a.movedim((0, 0), (1, 0)),
    lambda t, a: a.movedim((0, 1), (0,)),
    lambda t, a: t.t(a.unsqueeze(0)),
    lambda t, a: t.broadcast_tensors(a, a.t()),
    lambda t, a: t.meshgrid(a, a, indexing="ij"),
    lambda t, a: t.meshgrid(a[0], a[0].double(), indexing="ij"),
    lambda t, a: t.meshgrid(a[0], indexing="foo"),
    lambda t, a: t.meshgrid([], indexing="ij"),
])
def test_shape_errors(fn):
    check_raises(fn, x(2, 4, dt=np.float32))


# ---- views share memory, versions and in-place writes ----------------------------------------


VIEWS = {
    "view": lambda t, b: b.view(4, 3),
    "reshape": lambda t, b: b.reshape(3, 2, 2),
    "transpose": lambda t, b: b.transpose(0, 1),
    "t": lambda t, b: b.t(),
    "permute": lambda t, b: b.permute(1, 0),
    "expand_row": lambda t, b: b[:1].expand(3, 4)[1],
    "diagonal": lambda t, b: b.diagonal(1),
    "narrow": lambda t, b: b.narrow(1, 1, 2),
    "select": lambda t, b: b.select(1, 2),
    "unfold": lambda t, b: b.unfold(1, 2, 2),
    "squeeze": lambda t, b: b.unsqueeze(1).squeeze(),
    "flatten": lambda t, b: b.flatten(),
    "movedim": lambda t, b: b.movedim(0, 1),
    "chain": lambda t, b: b.t().narrow(0, 1, 3).diagonal(-1),
    "split": lambda t, b: b.split(2, 1)[1],
    "chunk": lambda t, b: b.chunk(3, 0)[2],
    "unbind": lambda t, b: b.unbind(1)[3],
    "tensor_split": lambda t, b: b.tensor_split(2, 1)[1],
    "atleast_3d": lambda t, b: t.atleast_3d(b),
    "meshgrid_row": lambda t, b: t.meshgrid(b[0], b[1], indexing="ij")[0][:, 1],
}
MULTI = {"split", "chunk", "unbind"}


@pytest.mark.parametrize("name", list(VIEWS))
def test_view_shares_memory_and_version(name):
    for mod in (ember, torch):
        base = mod.arange(12.0).reshape(3, 4)
        v = VIEWS[name](mod, base)
        assert v._version == base._version == 0
        v.add_(1)
        assert v._version == base._version == 1
        if v.dim():
            v[0] = 30
            assert base._version == 2
        else:
            v.fill_(30) if mod is torch else v.add_(30 - v.item())
        if mod is ember:
            got = base.numpy().copy()
        else:
            np.testing.assert_array_equal(got, base.numpy(), err_msg=name)


@pytest.mark.parametrize("name", list(VIEWS))
def test_inplace_through_view_no_grad(name):
    def f(t, a):
        b = a * 1
        with t.no_grad():
            VIEWS[name](t, b).mul_(2)
        return b

    check(f, x(3, 4))


@pytest.mark.parametrize("name", [n for n in VIEWS if n not in MULTI])
def test_inplace_through_view_autograd(name):
    def f(t, a, w):
        b = a * 1
        v = VIEWS[name](t, b)
        v.mul_(w.reshape(-1)[: max(v.numel(), 1)].reshape(v.shape) if v.dim() else w.sum())
        v[..., :1] = v[..., :1] * 3 if v.dim() else v
        return b, v

    check(f, x(3, 4), x(3, 4, seed=1))


@pytest.mark.parametrize("name", sorted(MULTI))
def test_inplace_on_multi_output_view_errors(name):
    def f(t, a):
        VIEWS[name](t, a.requires_grad_() * 1).add_(1)

    check_raises(f, x(3, 4))
    with pytest.raises(RuntimeError, match="returns multiple views"):
        f(ember, ember.ones(3, 4))


def test_view_of_view_keeps_base_and_storage():
    b = ember.zeros(4, 6)
    v = b.t()[1:3].diagonal()
    assert v._base is b
    v += 1
    assert b.sum().item() == 2 and b[0, 1].item() == 1 and b[1, 2].item() == 1
    assert b.view(24)._base is b and b.view(24).data_ptr() == b.data_ptr()
    assert b.t().stride() == torch.zeros(4, 6).t().stride()
    assert b.unfold(1, 2, 1).stride() == torch.zeros(4, 6).unfold(1, 2, 1).stride()
    assert b.diagonal().stride() == torch.zeros(4, 6).diagonal().stride()
    assert b[:1].expand(3, 6).stride() == torch.zeros(4, 6)[:1].expand(3, 6).stride()


def test_inplace_on_expanded_overlap_errors():
    check_raises(lambda t, a: a.expand(2, 3).add_(1), x(1, 3))
    check_raises(lambda t, a: (a * 1).expand(3, 2, 3).mul_(a), x(1, 3))
    check(lambda t, a: t.meshgrid(a, a, indexing="ij")[1][0].add_(1), x(3), grad=False)
    check(lambda t, a: t.exp(a).expand(0, 3).add_(1), x(1, 3), grad=False)


def test_reshape_copies_when_needed():
    b = ember.zeros(3, 4)
    r = b.t().reshape(12)
    r += 1
    assert b.sum().item() == 0 and r._base is None
    assert b.reshape(4, 3)._base is b


def test_copies_do_not_share():
    b = ember.zeros(3, 4)
    for out in (b.flip(0), b.roll(1, 0), b.repeat(1, 1), ember.cat([b]), b.tril(), b.diag(),
                ember.rot90(b, 0), ember.stack([b])[0]):
        out += 1
    assert b.sum().item() == 0


def test_view_dtype():
    for mod in (ember, torch):
        a = mod.tensor([1.0, -2.0], dtype=mod.float64)
        assert a.view(mod.int64).tolist() == [4607182418800017408, -4611686018427387904]
        assert a.view(mod.int32).shape == (4,)
        assert a.view(mod.float64)._version == a._version
    check_raises(lambda t, a: a.view(t.int64), x(3, dt=np.float32))
    check_raises(lambda t, a: a[::2].view(t.int64), x(4, dt=np.float32))
    check_raises(lambda t, a: a.view(t.int64), x(dt=np.float32))
    check(lambda t, a: (a.view(t.int32), a[::2].view(t.int64), a.t().view(t.float64)),
          x(2, 4, dt=np.float64), grad=False)
