"""Shape ops: views (reshape, transpose, expand, diagonal, ...), joining and splitting.

View ops set ``view = True``: their output shares memory and the version counter with the
input, so an in-place write through the view is seen by the base, as in PyTorch.  Ops that
return several views (unbind, split, chunk) link each output themselves (``_link_views``), with
a single-output view op that ``rebase_view`` can replay.
"""
from __future__ import annotations

import itertools
import math
import numbers
import warnings

import numpy as np

from ember import _dtype as DT
from ember._device import get_xp
from ember._tensor import Size, Tensor, _wrap_dim
from ember.autograd.grad_mode import _state
from ember.ops.base import Op, sum_to, wrap

# ---- argument handling -----------------------------------------------------------------------


def _shape_arg(shape) -> tuple:
    """``f(2, 3)``, ``f((2, 3))`` and ``f(Size)`` all mean the shape (2, 3)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def _int_list(x) -> tuple:
    """An int or a sequence of ints (as PyTorch's IntArrayRef accepts) as a tuple."""
    if isinstance(x, numbers.Integral):
        return (int(x),)
    if isinstance(x, Tensor):
        return tuple(int(v) for v in x._data.reshape(-1).tolist())
    return tuple(int(v) for v in x)


def _infer(shape: tuple, numel: int) -> tuple:
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            known *= s
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


def _axis_index(ndim: int, dim: int, index) -> tuple:
    """The NumPy index that applies ``index`` along ``dim`` (Ellipsis keeps 0-d results arrays)."""
    return (slice(None),) * dim + (index, Ellipsis)


def _as_strided(x, shape: tuple, strides: tuple):
    """A writable view of ``x`` with the given shape and byte strides."""
    return get_xp(x).lib.stride_tricks.as_strided(x, shape, strides)


# ---- reshaping views -------------------------------------------------------------------------


class View(Op):
    view = True

    @staticmethod
    def forward(ctx, x, shape, must_view=False):
        ctx.shape = x.shape
        out = x.reshape(shape)
        if must_view and out.size and not get_xp(x).may_share_memory(out, x):
            raise RuntimeError(
                "view size is not compatible with input tensor's size and stride (at least one "
                "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
            )
        return out

    @staticmethod
    def backward(ctx, g):
        if not _state["enabled"]:
            return wrap(g._data.reshape(ctx.shape))
        return View.apply(g, ctx.shape)


class Squeeze(View):
    """A view without some size-1 dims."""


class Unsqueeze(View):
    """A view with a new size-1 dim."""


class ViewDtype(Op):
    """The same bytes read as another dtype (not differentiable, as the bits change meaning)."""

    view = True

    @staticmethod
    def forward(ctx, x, dtype):
        if x.dtype.itemsize != dtype.itemsize and (
            x.ndim == 0 or x.strides[-1] != x.itemsize
            or x.shape[-1] * x.itemsize % dtype.itemsize
        ):
            raise RuntimeError(
                f"view(dtype): cannot view a tensor of shape {list(x.shape)} and element size "
                f"{x.itemsize} as element size {dtype.itemsize}: the last dimension must be "
                "contiguous and its size in bytes divisible by the new element size."
            )
        out = x.view(dtype)
        ctx.mark_non_differentiable(out)
        return out


def reshape(input: Tensor, *args, shape=None) -> Tensor:
    shape = _infer(_shape_arg(args if args or shape is None else (shape,)), input._data.size)
    return View.apply(input, shape)


def view(input: Tensor, *shape) -> Tensor:
    """A view with a new shape (RuntimeError when the strides do not allow one), or ``view(dtype)``."""
    if len(shape) == 1 and isinstance(shape[0], DT.dtype):
        if shape[0].np == input._data.dtype:
            return View.apply(input, input._data.shape)
        return ViewDtype.apply(input, shape[0].np)
    shape = _infer(_shape_arg(shape), input._data.size)
    return View.apply(input, shape, True)


def view_as(input: Tensor, other: Tensor) -> Tensor:
    return view(input, other.shape)


def reshape_as(input: Tensor, other: Tensor) -> Tensor:
    return reshape(input, other.shape)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    d = _wrap_dim(dim, input._data.ndim + 1)
    shape = list(input._data.shape)
    shape.insert(d, 1)
    return Unsqueeze.apply(input, tuple(shape))


def squeeze(input: Tensor, dim=None) -> Tensor:
    shape = input._data.shape
    if dim is None:
        new = tuple(s for s in shape if s != 1)
    else:
        dims = {_wrap_dim(d, len(shape)) for d in _int_list(dim)}
        new = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
    return Squeeze.apply(input, new)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    shape = input._data.shape
    if not shape:
        return View.apply(input, (1,))
    s = _wrap_dim(start_dim, len(shape))
    e = _wrap_dim(end_dim, len(shape))
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    return View.apply(input, shape[:s] + (math.prod(shape[s:e + 1]),) + shape[e + 1:])


def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    shape = input._data.shape
    d = _wrap_dim(dim, len(shape))
    sizes = _int_list(sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    if sizes.count(-1) > 1:
        raise RuntimeError(f"unflatten: only one dimension can be inferred, got sizes {list(sizes)}")
    known = math.prod(s for s in sizes if s != -1)
    n = shape[d] if shape else 1
    if (-1 in sizes and (known == 0 or n % known)) or (-1 not in sizes and known != n):
        raise RuntimeError(
            f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {dim} "
            f"({n}) in the input tensor"
        )
    sizes = tuple(n // known if s == -1 else s for s in sizes)
    return View.apply(input, shape[:d] + sizes + shape[d + 1:])


def ravel(input: Tensor) -> Tensor:
    return View.apply(contiguous(input), (input._data.size,))


def contiguous(input: Tensor, memory_format=None) -> Tensor:
    if input._data.flags.c_contiguous:
        return input
    from ember.ops.creation import clone

    return clone(input)


def atleast_1d(*tensors) -> Tensor | tuple:
    return _atleast(tensors, lambda s: s or (1,))


def atleast_2d(*tensors) -> Tensor | tuple:
    return _atleast(tensors, lambda s: (1,) * (2 - len(s)) + s if len(s) < 2 else s)


def atleast_3d(*tensors) -> Tensor | tuple:
    def grow(s: tuple) -> tuple:
        return {0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}.get(len(s), s)

    return _atleast(tensors, grow)


def _atleast(tensors: tuple, grow):
    """One tensor gives a tensor; several, or one list of them, give a tuple."""
    single = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    out = tuple(t if grow(t._data.shape) == t._data.shape else View.apply(t, grow(t._data.shape))
                for t in tensors)
    return out[0] if single else out


# ---- permuting views -------------------------------------------------------------------------


class Permute(Op):
    view = True

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x.transpose(dims)

    @staticmethod
    def backward(ctx, g):
        inverse = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inverse[d] = i
        if not _state["enabled"]:
            return wrap(g._data.transpose(inverse))
        return Permute.apply(g, tuple(inverse))


class Transpose(Permute):
    """A permutation that swaps two dims."""


class T(Permute):
    """The transpose of a matrix (``t()``)."""


def permute(input: Tensor, *args, dims=None) -> Tensor:
    dims = _shape_arg(args if args or dims is None else (dims,))
    n = input._data.ndim
    if len(dims) != n:
        raise RuntimeError(
            "permute(sparse_coo): number of dimensions in the tensor input does not match the "
            f"length of the desired ordering of dimensions i.e. input.dim() = {n} is not equal to "
            f"len(dims) = {len(dims)}"
        )
    dims = tuple(_wrap_dim(d, n) for d in dims)
    if len(set(dims)) != n:
        raise RuntimeError(f"permute(): duplicate dims are not allowed (dims={list(dims)}).")
    return Permute.apply(input, dims)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    n = input._data.ndim
    dims = list(range(n))
    d0, d1 = _wrap_dim(dim0, n), _wrap_dim(dim1, n)
    if n:
        dims[d0], dims[d1] = dims[d1], dims[d0]
    return Transpose.apply(input, tuple(dims))


swapaxes = swapdims = transpose


def t(input: Tensor) -> Tensor:
    if input._data.ndim > 2:
        raise RuntimeError(
            f"t() expects a tensor with <= 2 dimensions, but self is {input._data.ndim}D; "
            "use transpose(dim0, dim1) or mT for batches of matrices"
        )
    return T.apply(input, tuple(range(input._data.ndim))[::-1])


def movedim(input: Tensor, source, destination) -> Tensor:
    if isinstance(source, numbers.Integral) != isinstance(destination, numbers.Integral):
        raise TypeError(
            "movedim(): source and destination must both be ints or both be tuples of ints, got "
            f"{type(source).__name__} and {type(destination).__name__}"
        )
    n = input._data.ndim
    src, dst = _int_list(source), _int_list(destination)
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({list(src)} dims) should "
            f"contain the same number of dims as destination ({list(dst)} dims)"
        )
    src = tuple(_wrap_dim(d, n) for d in src)
    dst = tuple(_wrap_dim(d, n) for d in dst)
    for name, ds in (("source", src), ("destination", dst)):
        if len(set(ds)) != len(ds):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({list(ds)})")
    order = [None] * n
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(i for i in range(n) if i not in src)
    order = tuple(o if o is not None else next(rest) for o in order)
    return Permute.apply(input, order)


moveaxis = movedim


# ---- broadcasting views ----------------------------------------------------------------------


class Expand(Op):
    """A writable broadcast view (stride 0 along expanded dims), as PyTorch's expand."""

    view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        lead = len(shape) - x.ndim
        strides = (0,) * lead + tuple(
            0 if n == 1 and shape[i + lead] != 1 else st
            for i, (n, st) in enumerate(zip(x.shape, x.strides))
        )
        return _as_strided(x, shape, strides)

    @staticmethod
    def backward(ctx, g):
        return sum_to(g, ctx.shape)


def expand(input: Tensor, *sizes) -> Tensor:
    sizes = _shape_arg(sizes)
    n = input._data.ndim
    if len(sizes) < n:
        raise RuntimeError(
            f"expand({input.type()}{{{list(input.shape)}}}, size={list(sizes)}): the number of "
            f"sizes provided ({len(sizes)}) must be greater or equal to the number of dimensions "
            f"in the tensor ({n})"
        )
    lead = len(sizes) - n
    shape = []
    for i, s in enumerate(sizes):
        cur = input._data.shape[i - lead] if i >= lead else None
        if s == -1:
            if cur is None:
                raise RuntimeError(
                    f"The expanded size of the tensor (-1) isn't allowed in a leading, "
                    f"non-existing dimension {i}"
                )
            s = cur
        elif s < 0 or (cur is not None and cur != 1 and cur != s):
            raise RuntimeError(
                f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                f"{list(input.shape)}"
            )
        shape.append(s)
    shape = tuple(shape)
    if shape == input._data.shape:
        return View.apply(input, shape)
    return Expand.apply(input, shape)


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, other.shape)


def broadcast_to(input: Tensor, size) -> Tensor:
    return expand(input, tuple(size))


def broadcast_shapes(*shapes) -> Size:
    shapes = [_int_list(s) for s in shapes]
    out = [1] * max((len(s) for s in shapes), default=0)
    for s in shapes:
        for i, n in enumerate(s, len(out) - len(s)):
            if n < 0:
                raise RuntimeError(f"broadcast_shapes: negative size {n} in shape {list(s)}")
            if out[i] == 1:
                out[i] = n
            elif n != 1 and n != out[i]:
                raise RuntimeError(
                    f"Shape mismatch: objects cannot be broadcast to a single shape: "
                    f"{[list(x) for x in shapes]} differ at dimension {i - len(out)}"
                )
    return Size(out)


def broadcast_tensors(*tensors) -> tuple:
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shape = ()
    for i, t in enumerate(tensors):
        s = t._data.shape
        lead = max(len(shape), len(s))
        a, b = (1,) * (lead - len(shape)) + shape, (1,) * (lead - len(s)) + s
        for j, (x, y) in enumerate(zip(a, b)):
            if x != y and x != 1 and y != 1:
                raise RuntimeError(
                    f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                    f"non-singleton dimension {j} (broadcasting tensor {i} of shape {list(s)})"
                )
        shape = tuple(max(x, y) if min(x, y) != 0 else 0 for x, y in zip(a, b))
    return tuple(expand(t, shape) for t in tensors)


def meshgrid(*tensors, indexing: str | None = None) -> tuple:
    """Coordinate grids as expanded (memory-sharing) views of the 1-D inputs."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    if indexing is None:
        warnings.warn(
            "torch.meshgrid: in an upcoming release, it will be required to pass the indexing "
            "argument.", UserWarning, stacklevel=2,
        )
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(
            f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}'
        )
    for t in tensors:
        if t._data.ndim > 1:
            raise RuntimeError(
                "torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got a tensor of "
                f"shape {list(t.shape)}"
            )
        if t._data.dtype != tensors[0]._data.dtype:
            raise RuntimeError(
                f"meshgrid expects all tensors to have the same dtype, got {tensors[0].dtype} "
                f"and {t.dtype}"
            )
    pos = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) > 1:
        pos[0], pos[1] = 1, 0
    shape = [0] * len(tensors)
    for p, t in zip(pos, tensors):
        shape[p] = t._data.size
    out = []
    for p, t in zip(pos, tensors):
        single = [1] * len(tensors)
        single[p] = t._data.size
        out.append(expand(View.apply(t, tuple(single)), tuple(shape)))
    return tuple(out)


# ---- views that pick part of a tensor --------------------------------------------------------


class Slice(Op):
    """``x[..., start:stop:step, ...]`` along one dim (narrow, tensor_split, split's pieces)."""

    view = True

    @staticmethod
    def view_of(x, dim, start, stop, step=1):
        return x[_axis_index(x.ndim, dim, slice(start, stop, step))]

    @staticmethod
    def forward(ctx, x, dim, start, stop, step=1):
        ctx.shape, ctx.args = x.shape, (dim, start, stop, step)
        return Slice.view_of(x, *ctx.args)

    @staticmethod
    def backward(ctx, g):
        return ViewScatter.apply(g, ctx.shape, Slice, ctx.args)


class Select(Op):
    """``x[..., index, ...]`` along one dim: one less dim."""

    view = True

    @staticmethod
    def view_of(x, dim, index):
        return x[_axis_index(x.ndim, dim, index)]

    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.shape, ctx.args = x.shape, (dim, index)
        return Select.view_of(x, dim, index)

    @staticmethod
    def backward(ctx, g):
        return ViewScatter.apply(g, ctx.shape, Select, ctx.args)


class Diagonal(Op):
    """The (offset) diagonal of dims ``dim1``, ``dim2``, appended as the last dim."""

    view = True

    @staticmethod
    def view_of(x, offset, dim1, dim2):
        n1, n2 = x.shape[dim1], x.shape[dim2]
        length = max(min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2), 0)
        if length:  # move the start to the first diagonal element
            x = x[_axis_index(x.ndim, dim2, slice(offset, None))] if offset >= 0 else \
                x[_axis_index(x.ndim, dim1, slice(-offset, None))]
        keep = [i for i in range(x.ndim) if i not in (dim1, dim2)]
        shape = tuple(x.shape[i] for i in keep) + (length,)
        strides = tuple(x.strides[i] for i in keep) + (x.strides[dim1] + x.strides[dim2],)
        return _as_strided(x, shape, strides)

    @staticmethod
    def forward(ctx, x, offset, dim1, dim2):
        ctx.shape, ctx.args = x.shape, (offset, dim1, dim2)
        return Diagonal.view_of(x, offset, dim1, dim2)

    @staticmethod
    def backward(ctx, g):
        return ViewScatter.apply(g, ctx.shape, Diagonal, ctx.args)


class ViewScatter(Op):
    """Zeros of the base's shape with ``g`` written where a view op's output lies: the gradient
    of Slice, Select and Diagonal (whose own gradient is that view of the incoming gradient)."""

    @staticmethod
    def forward(ctx, g, shape, op, args):
        ctx.op, ctx.args = op, args
        out = get_xp(g).zeros(shape, dtype=g.dtype)
        op.view_of(out, *args)[...] = g
        return out

    @staticmethod
    def backward(ctx, g):
        return ctx.op.apply(g, *ctx.args), None, None, None


def _dim_of(input: Tensor, dim: int, op: str, error: type = RuntimeError) -> int:
    """``dim`` wrapped; ops that need a dim to work along reject 0-d tensors with their message."""
    if input._data.ndim == 0:
        msg = {"select": "select() cannot be applied to a 0-dim tensor.",
               "unbind": f"Dimension specified as {dim} but tensor has no dimensions"}.get(
            op, f"{op} expects at least a 1-dimensional tensor, but got a tensor with 0 dims")
        raise error(msg)
    return _wrap_dim(dim, input._data.ndim)


def narrow(input: Tensor, dim: int, start, length: int) -> Tensor:
    if input._data.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = _wrap_dim(dim, input._data.ndim)
    n = input._data.shape[d]
    start, length = int(start), int(length)
    if not -n <= start <= n:
        raise IndexError(
            f"start out of range (expected to be in range of [{-n}, {n}], but got {start})"
        )
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    start = start + n if start < 0 else start
    if start + length > n:
        raise RuntimeError(
            f"start ({start}) + length ({length}) exceeds dimension size ({n})."
        )
    return Slice.apply(input, d, start, start + length)


def select(input: Tensor, dim: int, index: int) -> Tensor:
    d = _dim_of(input, dim, "select", IndexError)
    n = input._data.shape[d]
    index = int(index)
    if not -n <= index < n:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size {list(input.shape)} at "
            f"dimension {d}"
        )
    return Select.apply(input, d, index + n if index < 0 else index)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    n = input._data.ndim
    d1, d2 = _wrap_dim(dim1, n), _wrap_dim(dim2, n)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return Diagonal.apply(input, int(offset), d1, d2)


class Unfold(Op):
    """Sliding windows of ``size`` every ``step`` along ``dim``, as a new last dim (a view)."""

    view = True

    @staticmethod
    def forward(ctx, x, dim, size, step):
        ctx.shape, ctx.args = x.shape, (dim, size, step)
        if x.ndim == 0:
            return _as_strided(x, (size,), (0,))
        shape = list(x.shape)
        strides = list(x.strides)
        shape[dim] = (shape[dim] - size) // step + 1
        strides[dim] *= step
        return _as_strided(x, tuple(shape) + (size,), tuple(strides) + (x.strides[dim],))

    @staticmethod
    def backward(ctx, g):
        return UnfoldBackward.apply(g, ctx.shape, *ctx.args)


class UnfoldBackward(Op):
    """Sum each window's gradient back onto the positions it covers (windows may overlap)."""

    @staticmethod
    def forward(ctx, g, shape, dim, size, step):
        ctx.args = (dim, size, step)
        xp = get_xp(g)
        if not shape:
            return g.sum().reshape(())
        out = xp.zeros(shape, dtype=g.dtype)
        nwin = g.shape[dim]
        idx = (xp.arange(nwin)[:, None] * step + xp.arange(size)[None, :]).reshape(-1)
        windows = xp.moveaxis(g, (dim, g.ndim - 1), (0, 1)).reshape((nwin * size,) + g.shape[:dim]
                                                                     + g.shape[dim + 1:-1])
        xp.add.at(xp.moveaxis(out, dim, 0), idx, windows)
        return out

    @staticmethod
    def backward(ctx, g):
        return Unfold.apply(g, *ctx.args), None, None, None, None


def unfold(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    n = input._data.ndim
    d = _wrap_dim(dimension, n)
    length = input._data.shape[d] if n else 1
    if size < 0:
        raise RuntimeError(f"unfold: size is {size} but must be >= 0")
    if size > length:
        raise RuntimeError(
            f"maximum size for tensor at dimension {d} is {length} but size is {size}"
        )
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    return Unfold.apply(input, d, int(size), int(step))


# ---- splitting into several views ------------------------------------------------------------


class Unbind(Op):
    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return tuple(Select.view_of(x, dim, i) for i in range(x.shape[dim]))

    @staticmethod
    def backward(ctx, *grads):
        return stack(grads, ctx.dim), None


class Split(Op):
    @staticmethod
    def forward(ctx, x, dim, sizes):
        ctx.dim = dim
        bounds = np.cumsum((0,) + tuple(sizes)).tolist()
        return tuple(Slice.view_of(x, dim, a, b) for a, b in itertools.pairwise(bounds))

    @staticmethod
    def backward(ctx, *grads):
        return cat(grads, ctx.dim), None, None


def _link_views(src: Tensor, outs: tuple, op: type, args: list, name: str) -> tuple:
    """Make each output of a multi-view op a view of ``src`` that ``rebase_view`` can replay."""
    xp = get_xp(src._data)
    for i, (o, a) in enumerate(zip(outs, args)):
        if xp.may_share_memory(o._data, src._data):
            o._vc = src._vc
            o._base = src if src._base is None else src._base
            o._view_src = (src, op, a, {})
            o._multi_view = (name, i)
    return outs


def unbind(input: Tensor, dim: int = 0) -> tuple:
    d = _dim_of(input, dim, "unbind", IndexError)
    n = input._data.shape[d]
    if n == 0:
        return ()
    return _link_views(input, Unbind.apply(input, d), Select, [(d, i) for i in range(n)], "Unbind")


def _split(input: Tensor, d: int, sizes: list) -> tuple:
    bounds = np.cumsum([0] + sizes).tolist()
    args = [(d, a, b) for a, b in itertools.pairwise(bounds)]
    return _link_views(input, Split.apply(input, d, tuple(sizes)), Slice, args, "Split")


def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    d = _dim_of(tensor, dim, "split")
    n = tensor._data.shape[d]
    if isinstance(split_size_or_sections, numbers.Integral):
        s = int(split_size_or_sections)
        if s < 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got split_size={s}")
        if s == 0 and n:
            raise RuntimeError(
                f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}"
            )
        count = max(-(-n // s), 1) if s else 1
        sizes = [s] * (count - 1) + [n - s * (count - 1)]
    else:
        sizes = list(_int_list(split_size_or_sections))
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size "
                f"at dimension {d}), but got split_sizes={sizes}"
            )
    return _split(tensor, d, sizes)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    d = _dim_of(input, dim, "chunk")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    n = input._data.shape[d]
    if n == 0:
        return _split(input, d, [0] * chunks)
    return split(input, -(-n // chunks), d)


def tensor_split(input: Tensor, indices_or_sections, dim: int = 0) -> tuple:
    d = _dim_of(input, dim, "tensor_split")
    n = input._data.shape[d]
    ios = indices_or_sections
    if isinstance(ios, Tensor):
        if ios._data.dtype.kind not in "iu" or ios._data.ndim > 1:
            raise RuntimeError(
                "tensor_split expected tensor_indices_or_sections to be a zero-dimensional or "
                f"one-dimensional tensor of integers, but got a tensor of dtype {ios.dtype} and "
                f"shape {list(ios.shape)}"
            )
        ios = int(ios._data) if ios._data.ndim == 0 else ios._data.tolist()
    if isinstance(ios, numbers.Integral):
        if ios <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {ios}")
        q, r = divmod(n, int(ios))
        sizes = [q + 1] * r + [q] * (int(ios) - r)
        bounds = np.cumsum([0] + sizes).tolist()
    else:
        bounds = [0] + [int(i) for i in ios] + [n]
    return tuple(Slice.apply(input, d, a, b) for a, b in itertools.pairwise(bounds))


# ---- joining (copies) ------------------------------------------------------------------------


class Cat(Op):
    @staticmethod
    def forward(ctx, *arrays, dim, dtype):
        kept = [a for a in arrays if a.shape != (0,)] or list(arrays)
        ctx.dim, ctx.shapes = dim, [a.shape for a in arrays]
        return get_xp(arrays[0]).concatenate(kept, axis=dim, dtype=dtype, casting="unsafe")

    @staticmethod
    def backward(ctx, g):
        grads, start = [], 0
        skip = any(s != (0,) for s in ctx.shapes)
        for s in ctx.shapes:
            if s == (0,) and skip:
                grads.append(Tensor._make(get_xp(g._data).zeros((0,), dtype=g._data.dtype)))
                continue
            grads.append(Slice.apply(g, ctx.dim, start, start + s[ctx.dim]))
            start += s[ctx.dim]
        return tuple(grads)


def _tensor_list(tensors, op: str) -> list:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(
            f"{op}(): argument 'tensors' (position 1) must be tuple of Tensors, not "
            f"{type(tensors).__name__}"
        )
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"{op}(): expected Tensor as element {i} in argument 0, but got {type(t).__name__}"
            )
    return list(tensors)


def _common_dtype(tensors: list) -> np.dtype:
    dt = tensors[0].dtype
    for t in tensors[1:]:
        dt = DT.promote_types(dt, t.dtype)
    return dt.np


def cat(tensors, dim: int = 0) -> Tensor:
    """Join along an existing dim; 1-D empty tensors are skipped, as in PyTorch."""
    tensors = _tensor_list(tensors, "cat")
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if t._data.ndim == 0:
            raise RuntimeError(
                f"zero-dimensional tensor (at position {i}) cannot be concatenated; use stack() "
                "or unsqueeze it first"
            )
    kept = [(i, t) for i, t in enumerate(tensors) if t._data.shape != (0,)]
    ref = kept[0][1]._data.shape if kept else (0,)
    d = _wrap_dim(dim, len(ref))
    for i, t in kept[1:]:
        s = t._data.shape
        if len(s) != len(ref):
            raise RuntimeError(
                f"Tensors must have same number of dimensions: got {len(ref)} and {len(s)}"
            )
        for j, (a, b) in enumerate(zip(ref, s)):
            if j != d and a != b:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {d}. Expected size {a} but "
                    f"got size {b} for tensor number {i} in the list."
                )
    return Cat.apply(*tensors, dim=d, dtype=_common_dtype(tensors))


concat = concatenate = cat


class Stack(Op):
    @staticmethod
    def forward(ctx, *arrays, dim, dtype):
        ctx.dim = dim
        return get_xp(arrays[0]).stack(arrays, axis=dim, dtype=dtype, casting="unsafe")

    @staticmethod
    def backward(ctx, g):
        return Unbind.apply(g, ctx.dim)


def stack(tensors, dim: int = 0) -> Tensor:
    tensors = _tensor_list(tensors, "stack")
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    s0 = tensors[0]._data.shape
    for i, t in enumerate(tensors[1:], 1):
        if t._data.shape != s0:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(s0)} at entry 0 and "
                f"{list(t.shape)} at entry {i}"
            )
    d = _wrap_dim(dim, len(s0) + 1)
    return Stack.apply(*tensors, dim=d, dtype=_common_dtype(tensors))


def hstack(tensors) -> Tensor:
    tensors = atleast_1d(_tensor_list(tensors, "hstack"))
    return cat(tensors, 0 if all(t._data.ndim == 1 for t in tensors) else 1)


def vstack(tensors) -> Tensor:
    return cat(atleast_2d(_tensor_list(tensors, "vstack")), 0)


row_stack = vstack


def dstack(tensors) -> Tensor:
    return cat(atleast_3d(_tensor_list(tensors, "dstack")), 2)


def column_stack(tensors) -> Tensor:
    tensors = _tensor_list(tensors, "column_stack")
    cols = [View.apply(t, (t._data.size, 1)) if t._data.ndim <= 1 else t for t in tensors]
    return cat(cols, 1)


# ---- repeating (copies) ----------------------------------------------------------------------


class Repeat(Op):
    @staticmethod
    def forward(ctx, x, sizes):
        ctx.shape, ctx.sizes = x.shape, sizes
        x = x.reshape((1,) * (len(sizes) - x.ndim) + x.shape)
        return get_xp(x).tile(x, sizes)

    @staticmethod
    def backward(ctx, g):
        n = len(ctx.sizes)
        shape = (1,) * (n - len(ctx.shape)) + ctx.shape
        pairs = tuple(v for r, s in zip(ctx.sizes, shape) for v in (r, s))
        return g.reshape(pairs).sum(tuple(range(0, 2 * n, 2))).reshape(ctx.shape), None


def repeat(input: Tensor, *sizes) -> Tensor:
    sizes = _shape_arg(sizes)
    if len(sizes) < input._data.ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions of "
            f"tensor (repeat dims {list(sizes)} for a tensor of shape {list(input.shape)})"
        )
    if any(s < 0 for s in sizes):
        shape = (1,) * (len(sizes) - input._data.ndim) + input._data.shape
        raise RuntimeError(
            f"Trying to create tensor with negative dimension "
            f"{min(r * s for r, s in zip(sizes, shape))}: {[r * s for r, s in zip(sizes, shape)]}"
        )
    return Repeat.apply(input, sizes)


def tile(input: Tensor, *dims) -> Tensor:
    dims = _shape_arg(dims)
    return repeat(input, (1,) * (input._data.ndim - len(dims)) + dims)


class Take(Op):
    """``x`` indexed along ``dim`` by an index array (repeat_interleave's gather)."""

    @staticmethod
    def forward(ctx, x, idx, dim):
        ctx.n, ctx.idx, ctx.dim = x.shape[dim], idx, dim
        return get_xp(x).take(x, idx, axis=dim)

    @staticmethod
    def backward(ctx, g):
        return TakeBackward.apply(g, ctx.idx, ctx.dim, ctx.n), None, None


class TakeBackward(Op):
    @staticmethod
    def forward(ctx, g, idx, dim, n):
        ctx.idx, ctx.dim = idx, dim
        xp = get_xp(g)
        shape = list(g.shape)
        shape[dim] = n
        out = xp.zeros(tuple(shape), dtype=g.dtype)
        xp.add.at(xp.moveaxis(out, dim, 0), idx, xp.moveaxis(g, dim, 0))
        return out

    @staticmethod
    def backward(ctx, g):
        return Take.apply(g, ctx.idx, ctx.dim), None, None, None


def repeat_interleave(input: Tensor, repeats=None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Repeat each element (or slice along ``dim``); ``repeat_interleave(counts)`` gives indices."""
    xp = get_xp(input._data)
    if repeats is None:
        if input._data.ndim != 1:
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        counts = input._data
        _check_repeats(counts, input._data.shape[0], 0, output_size)
        return Tensor._make(xp.repeat(xp.arange(counts.shape[0], dtype=counts.dtype),
                                      _counts_arg(counts)))
    if dim is None:
        input, d = View.apply(input, (input._data.size,)), 0
    else:
        d = _wrap_dim(dim, input._data.ndim)
        if input._data.ndim == 0:
            input = View.apply(input, (1,))
    n = input._data.shape[d]
    if isinstance(repeats, Tensor):
        if repeats._data.dtype.kind not in "iu":
            raise NotImplementedError(
                f'"repeat_interleave_cpu" not implemented for {repeats.dtype}: repeats must be an '
                "integer tensor"
            )
        if repeats._data.ndim > 1:
            raise RuntimeError(
                f"repeat_interleave: repeats must be 0-dim or 1-dim tensor, got shape "
                f"{list(repeats.shape)}"
            )
        counts = repeats._data.reshape(-1)
        if counts.shape[0] == 1:
            counts = xp.broadcast_to(counts, (n,))
    else:
        if repeats < 0:
            raise RuntimeError(f"Repeats must be non-negative, got {repeats}")
        counts = xp.full((n,), int(repeats), dtype=np.int64)
    _check_repeats(counts, n, d, output_size)
    return Take.apply(input, xp.repeat(xp.arange(n), _counts_arg(counts)), d)


def _counts_arg(counts):
    """NumPy's repeat takes an array of counts; CuPy's takes a list."""
    return counts if isinstance(counts, np.ndarray) else counts.tolist()


def _check_repeats(counts, n: int, d: int, output_size) -> None:
    if counts.shape[0] != n:
        raise RuntimeError(
            f"repeats must have the same size as input along dim, but got repeats.size(0) = "
            f"{counts.shape[0]} and input.size({d}) = {n}"
        )
    if counts.size and counts.min() < 0:
        raise RuntimeError("repeats can not be negative")
    total = int(counts.sum())
    if output_size is not None and output_size != total:
        raise RuntimeError(
            f"repeat_interleave: Invalid output_size, expected {total} but got {output_size}"
        )


# ---- reordering (copies) ---------------------------------------------------------------------


class Flip(Op):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return get_xp(x).flip(x, dims).copy()

    @staticmethod
    def backward(ctx, g):
        return Flip.apply(g, ctx.dims), None


def flip(input: Tensor, *args, dims=None) -> Tensor:
    if not args and dims is None:
        raise TypeError("flip() missing required argument 'dims' (pos 2)")
    dims = _int_list(args[0] if len(args) == 1 else args) if args else _int_list(dims)
    n = input._data.ndim
    wrapped = tuple(_wrap_dim(d, n) for d in dims)
    for d in wrapped:
        if wrapped.count(d) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return Flip.apply(input, wrapped if n else ())


def fliplr(input: Tensor) -> Tensor:
    if input._data.ndim < 2:
        raise RuntimeError(f"Input must be >= 2-d. (fliplr got a {input._data.ndim}-d tensor)")
    return Flip.apply(input, (1,))


def flipud(input: Tensor) -> Tensor:
    if input._data.ndim < 1:
        raise RuntimeError("Input must be >= 1-d. (flipud got a 0-d tensor)")
    return Flip.apply(input, (0,))


class Roll(Op):
    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return get_xp(x).roll(x, shifts, axis=dims)

    @staticmethod
    def backward(ctx, g):
        return Roll.apply(g, tuple(-s for s in ctx.shifts), ctx.dims), None, None


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    shifts = _int_list(shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
        flat = View.apply(contiguous(input), (input._data.size,))
        return View.apply(Roll.apply(flat, shifts, (0,)), input._data.shape)
    dims = _int_list(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(
            f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}"
        )
    n = input._data.ndim
    return Roll.apply(input, shifts, tuple(_wrap_dim(d, n) for d in dims))


def rot90(input: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    dims = _int_list(dims)
    n = input._data.ndim
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if n < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {n}")
    d0, d1 = _wrap_dim(dims[0], n), _wrap_dim(dims[1], n)
    if d0 == d1:
        raise RuntimeError(
            f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}"
        )
    k %= 4
    if k == 1:
        return transpose(Flip.apply(input, (d1,)), d0, d1)
    if k == 2:
        return Flip.apply(input, (d0, d1))
    if k == 3:
        return transpose(Flip.apply(input, (d0,)), d0, d1)
    from ember.ops.creation import clone

    return clone(input)


# ---- triangles and diagonals (copies) --------------------------------------------------------


class Tril(Op):
    fn = "tril"

    @staticmethod
    def forward(ctx, x, diagonal):
        ctx.diagonal = diagonal
        return getattr(get_xp(x), ctx.fn)(x, diagonal)

    @staticmethod
    def backward(ctx, g):
        return type(ctx).apply(g, ctx.diagonal), None


class Triu(Tril):
    fn = "triu"


def _triangle(op: type, input: Tensor, diagonal: int) -> Tensor:
    if input._data.ndim < 2:
        raise RuntimeError(
            f"{op.fn}: input tensor must have at least 2 dimensions (got shape "
            f"{list(input.shape)})"
        )
    return op.apply(input, int(diagonal))


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    return _triangle(Tril, input, diagonal)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    return _triangle(Triu, input, diagonal)


class DiagEmbed(Op):
    """Zeros with the last dim of ``x`` written on the (offset) diagonal of dims dim1, dim2."""

    @staticmethod
    def forward(ctx, x, offset, dim1, dim2):
        ctx.args = (offset, dim1, dim2)
        n = x.shape[-1] + abs(offset)
        shape = list(x.shape[:-1])
        for d in sorted((dim1, dim2)):
            shape.insert(d, n)
        out = get_xp(x).zeros(tuple(shape), dtype=x.dtype)
        Diagonal.view_of(out, offset, dim1, dim2)[...] = x
        return out

    @staticmethod
    def backward(ctx, g):
        return Diagonal.apply(g, *ctx.args), None, None, None


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    n = input._data.ndim + 1
    d1, d2 = _wrap_dim(dim1, n), _wrap_dim(dim2, n)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    if input._data.ndim == 0:
        raise IndexError(
            "Dimension out of range (expected to be in range of [-1, 0], but got -2): "
            "diag_embed needs an input of at least 1 dimension"
        )
    return DiagEmbed.apply(input, int(offset), d1, d2)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    n = input._data.ndim
    if n == 1:
        return DiagEmbed.apply(input, int(diagonal), 0, 1)
    if n == 2:
        from ember.ops.creation import clone

        return clone(Diagonal.apply(input, int(diagonal), 0, 1))
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {n}D")


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    return DiagEmbed.apply(View.apply(contiguous(input), (input._data.size,)), int(offset), 0, 1)


# ---- in-place writes through a view ----------------------------------------------------------


class CopySlices(Op):
    """The base's new history after an in-place op on one of its views."""

    def name(self) -> str:
        return "torch::autograd::CopySlices"

    @staticmethod
    def forward(ctx, base, value, replay):
        ctx.replay = replay
        out = base.copy()
        replay(Tensor._make(out))._data[...] = value
        return out

    @staticmethod
    def backward(ctx, g):
        from ember.autograd.grad_mode import no_grad
        from ember.ops.creation import clone

        gb = clone(g)
        with no_grad():
            ctx.replay(gb)._data[...] = 0
        return gb, ctx.replay(g), None


def _replay_fn(view: Tensor):
    """A function that redoes on another tensor the chain of view ops that made ``view``."""
    chain = []
    t = view
    while t._view_src is not None:
        multi = t.__dict__.get("_multi_view")
        if multi is not None:
            raise RuntimeError(
                f"Output {multi[1]} of {multi[0]}Backward0 is a view and is being modified "
                "inplace. This view is the output of a function that returns multiple views. "
                "Such functions do not allow the output views to be modified inplace. You should "
                "replace the inplace operation by an out-of-place one."
            )
        src, cls, args, kwargs = t._view_src
        chain.append((cls, args, kwargs))
        t = src
    chain.reverse()

    def replay(x: Tensor) -> Tensor:
        for cls, args, kwargs in chain:
            x = cls.apply(x, *args, **kwargs)
        return x

    return replay


def rebase_view(view: Tensor, result: Tensor) -> None:
    """Give ``view`` and its base the history of an in-place op that wrote ``result`` into view."""
    base = view._base
    replay = _replay_fn(view)
    old = Tensor._make(base._data.copy(), base.grad_fn, base._output_nr)
    old._requires_grad = base._requires_grad
    new_base = CopySlices.apply(old, result, replay)
    base.grad_fn, base._output_nr, base._requires_grad = new_base.grad_fn, 0, True
    fresh = replay(base)
    view.grad_fn, view._output_nr, view._requires_grad = fresh.grad_fn, fresh._output_nr, True


__all__ = [
    "atleast_1d", "atleast_2d", "atleast_3d", "broadcast_shapes", "broadcast_tensors",
    "broadcast_to", "cat", "chunk", "column_stack", "concat", "concatenate", "diag",
    "diag_embed", "diagflat", "diagonal", "dstack", "flatten", "flip", "fliplr", "flipud",
    "hstack", "meshgrid", "moveaxis", "movedim", "narrow", "permute", "ravel", "repeat_interleave",
    "reshape", "roll", "rot90", "row_stack", "select", "split", "squeeze", "stack", "swapaxes",
    "swapdims", "t", "tensor_split", "tile", "transpose", "tril", "triu", "unbind", "unflatten",
    "unsqueeze", "vstack",
]
TENSOR_METHODS = [
    "broadcast_to", "chunk", "contiguous", "diag", "diag_embed", "diagflat", "diagonal",
    "expand", "expand_as", "flatten", "flip", "fliplr", "flipud", "moveaxis", "movedim",
    "narrow", "permute", "ravel", "repeat", "repeat_interleave", "reshape", "reshape_as", "roll",
    "rot90", "select", "split", "squeeze", "swapaxes", "swapdims", "t", "tensor_split", "tile",
    "transpose", "tril", "triu", "unbind", "unflatten", "unfold", "unsqueeze", "view", "view_as",
]
INPLACE_METHODS = ["tril", "triu"]
