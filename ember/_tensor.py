"""The Tensor: an array (NumPy or CuPy) plus the autograd fields that link it into the graph.

Operators and methods call the ops in ``ember.ops``; this file holds only what a tensor *is*
(its attributes, conversions and in-place bookkeeping), never how an op computes.
"""
from __future__ import annotations

import numbers

import numpy as np

from ember import _device as D
from ember import _dtype as DT
from ember.autograd import grad_mode

_state = grad_mode._state


class Size(tuple):
    """A tensor's shape: a tuple of ints that prints as ``torch.Size([2, 3])``."""

    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"

    __str__ = __repr__

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, key):
        r = tuple.__getitem__(self, key)
        return Size(r) if isinstance(key, slice) else r

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))

    def __radd__(self, other):
        return Size(tuple(other) + tuple(self))


class Tensor:
    """A multi-dimensional array that can record the ops applied to it for autograd."""

    __slots__ = (
        "__dict__",
        "__weakref__",
        "_accumulator",
        "_base",
        "_data",
        "_grad",
        "_leaf_hooks",
        "_output_nr",
        "_requires_grad",
        "_retains_grad",
        "_vc",
        "_view_src",
        "grad_fn",
    )

    # ---- construction ------------------------------------------------------------------------
    @classmethod
    def _make(cls, array, grad_fn=None, output_nr: int = 0, vc=None) -> Tensor:
        """Wrap an array without copying (the fast path every op output takes)."""
        t = object.__new__(cls)
        t._data = array
        t._requires_grad = grad_fn is not None
        t.grad_fn = grad_fn
        t._output_nr = output_nr
        t._grad = None
        t._vc = [0] if vc is None else vc
        t._base = None
        t._view_src = None
        t._accumulator = None
        t._leaf_hooks = None
        t._retains_grad = False
        return t

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, *args, device=None) -> None:
        """The legacy constructor: ``Tensor([1, 2])`` (data) or ``Tensor(2, 3)`` (sizes)."""
        if len(args) == 1 and not isinstance(args[0], numbers.Integral):
            data = args[0]
            arr = data._data.astype(data._data.dtype) if isinstance(data, Tensor) else np.array(
                data, dtype=DT.get_default_dtype().np
            )
        else:
            sizes = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
            arr = np.empty(tuple(int(s) for s in sizes), dtype=DT.get_default_dtype().np)
        xp = D.array_module(D.as_device(device))
        other = Tensor._make(xp.asarray(arr))
        for slot in Tensor.__slots__:
            if not slot.startswith("__"):
                setattr(self, slot, getattr(other, slot))

    # ---- attributes --------------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    @property
    def T(self) -> Tensor:
        """All dims reversed; deprecated (with a warning) for anything but a matrix."""
        n = self._data.ndim
        if n != 2:
            import warnings

            warnings.warn(
                "Tensor.T is deprecated on 0-D tensors. This function is the identity in these "
                "cases." if n == 0 else
                "The use of `x.T` on tensors of dimension other than 2 to reverse their shape is "
                "deprecated and it will throw an error in a future release. Consider `x.mT` to "
                "transpose batches of matrices or `x.permute(*torch.arange(x.ndim - 1, -1, -1))` "
                "to reverse the dimensions of a tensor.",
                UserWarning,
                stacklevel=2,
            )
        return self.permute(*range(n - 1, -1, -1))

    @property
    def mT(self) -> Tensor:
        """The last two dims swapped (a batch of matrices transposed)."""
        if self._data.ndim < 2:
            raise RuntimeError(
                "tensor.mT is only supported on matrices or batches of matrices. Got "
                f"{self._data.ndim}-D tensor."
            )
        return self.transpose(-2, -1)

    @property
    def dtype(self) -> DT.dtype:
        return DT._FROM_NP[self._data.dtype]

    @property
    def device(self) -> D.device:
        return D.device_of(self._data)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def is_cpu(self) -> bool:
        return self.device.type == "cpu"

    is_sparse = False
    is_quantized = False
    is_meta = False
    layout = "torch.strided"

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def size(self, dim: int | None = None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim, "size")]

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    def stride(self, dim: int | None = None):
        st = tuple(s // self._data.itemsize for s in self._data.strides)
        return st if dim is None else st[_wrap_dim(dim, self._data.ndim, "stride")]

    def is_contiguous(self, memory_format=None) -> bool:
        return bool(self._data.flags.c_contiguous)

    def data_ptr(self) -> int:
        return self._data.__array_interface__["data"][0] if isinstance(self._data, np.ndarray) else int(self._data.data.ptr)

    def storage_offset(self) -> int:
        root = self._data
        while isinstance(getattr(root, "base", None), type(self._data)):
            root = root.base  # the array that owns the memory
        return (self.data_ptr() - Tensor.data_ptr(Tensor._make(root))) // self._data.itemsize

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def is_complex(self) -> bool:
        return False

    def is_signed(self) -> bool:
        return self.dtype.is_signed

    def get_device(self) -> int:
        d = self.device
        return -1 if d.type == "cpu" else (d.index or 0)

    @property
    def _version(self) -> int:
        return self._vc[0]

    # ---- autograd fields ---------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if self.grad_fn is not None:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use "
                "a computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
                if not value else "you can only change requires_grad flags of leaf variables."
            )
        if value and self._data.dtype.kind != "f":
            raise RuntimeError(
                "only Tensors of floating point and complex dtype can require gradients"
            )
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self._data.dtype.kind != "f":
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        if not (requires_grad and self.grad_fn is not None):  # a no-op on non-leaves, as torch
            self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def grad(self):
        if self.grad_fn is not None and not self._retains_grad:
            import warnings

            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its "
                ".grad attribute won't be populated during autograd.backward(). If you indeed want "
                "the .grad field to be populated for a non-leaf Tensor, use .retain_grad() on the "
                "non-leaf Tensor.",
                UserWarning,
                stacklevel=2,
            )
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(
                    f"assigned grad expected to be a Tensor or None but got grad of type "
                    f"{type(value).__name__}"
                )
            if value._data.shape != self._data.shape:
                raise RuntimeError(
                    f"attempting to assign a gradient of size '{list(value.shape)}' to a tensor "
                    f"of size '{list(self.shape)}'. Please ensure that the gradient and the "
                    "tensor are the same size"
                )
            if value._data.dtype != self._data.dtype:
                raise RuntimeError(
                    f"attempting to assign a gradient with dtype '{value.dtype}' to a tensor "
                    f"with grad_dtype '{self.dtype}'. The gradient must match the tensor's "
                    "grad_dtype (defaults to the tensor's dtype)."
                )
        self._grad = value

    @property
    def data(self) -> Tensor:
        """The same memory, detached from the graph."""
        t = Tensor._make(self._data)
        return t

    @data.setter
    def data(self, value: Tensor) -> None:
        self._data = value._data

    def detach(self) -> Tensor:
        return Tensor._make(self._data, vc=self._vc)

    def detach_(self) -> Tensor:
        if self._base is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn = None
        self._requires_grad = False
        return self

    def retain_grad(self) -> None:
        if self.grad_fn is None:
            if not self._requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        if self._retains_grad:
            return
        import weakref

        ref = weakref.ref(self)

        def keep(grad):
            t = ref()
            if t is not None:
                g = grad.detach()
                t._grad = g.clone() if t._grad is None else t._grad + g

        node = self.grad_fn
        if node._retain_hooks is None:
            node._retain_hooks = {}
        node._retain_hooks[self._output_nr] = keep
        self._retains_grad = True

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new one."""
        if not self._requires_grad:
            raise RuntimeError(
                "cannot register a hook on a tensor that doesn't require gradient"
            )
        from ember.autograd.graph import RemovableHandle, accumulator

        node = self.grad_fn if self.grad_fn is not None else accumulator(self)
        return RemovableHandle(node._tensor_pre_hooks(self._output_nr), hook)

    _post_acc_hooks = None  # set in the instance's __dict__ by the first such hook

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` after backward has accumulated into this leaf's ``.grad``."""
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        from ember.autograd.graph import RemovableHandle

        if self._post_acc_hooks is None:
            self._post_acc_hooks = {}
        return RemovableHandle(self._post_acc_hooks, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
        from ember.autograd import backward

        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    # ---- conversion --------------------------------------------------------------------------
    def item(self):
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        return self._data.reshape(()).item()

    def tolist(self):
        return self._data.tolist() if isinstance(self._data, np.ndarray) else self._data.get().tolist()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        if self._requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead."
            )
        if not isinstance(self._data, np.ndarray):
            if not force:
                raise TypeError(
                    f"can't convert {self.device.type}:{self.get_device()} device type tensor to "
                    "numpy. Use Tensor.cpu() to copy the tensor to host memory first."
                )
            return self._data.get()
        return self._data

    def __array__(self, dtype=None, copy=None):
        a = self.numpy(force=not self._requires_grad) if isinstance(self._data, np.ndarray) else self._data.get()
        return a if dtype is None else a.astype(dtype, copy=False)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __reversed__(self) -> Tensor:
        return self if self._data.ndim == 0 else self.flip(0)

    def __contains__(self, element) -> bool:
        if not isinstance(element, (Tensor, numbers.Number)):
            raise RuntimeError(
                "Tensor.__contains__ only supports Tensor or scalar, but you passed in a "
                f"{type(element)}."
            )
        return bool((self == element).any().item())

    def _scalar(self):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self._data.reshape(()).item()

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                "Boolean value of Tensor with more than one value is ambiguous"
                if self._data.size > 1
                else "Boolean value of Tensor with no values is ambiguous"
            )
        return bool(self._data.reshape(()).item())

    def __float__(self) -> float:
        if self._requires_grad:
            import warnings

            warnings.warn(
                "Converting a tensor with requires_grad=True to a scalar may lead to unexpected "
                "behavior.\nConsider using tensor.detach() first.",
                UserWarning,
                stacklevel=2,
            )
        return float(self._scalar())

    def __int__(self) -> int:
        return int(self._scalar())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError(
                "only integer tensors of a single element can be converted to an index"
            )
        return int(self._data.reshape(()).item())

    def __complex__(self) -> complex:
        return complex(self._scalar())

    __hash__ = object.__hash__

    def __repr__(self, *, tensor_contents=None) -> str:
        from ember._tensor_str import tensor_repr

        return tensor_repr(self)

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __reduce_ex__(self, protocol):
        from ember.serialization import reduce_tensor

        return reduce_tensor(self)

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                "protocol at the moment."
            )
        t = type(self).__new__(type(self))
        Tensor.__init__(t, 0)
        t._data = self._data.copy()
        t._requires_grad = self._requires_grad
        if self._grad is not None:
            t._grad = self._grad.__deepcopy__(memo)
        t.__dict__.update({k: v for k, v in self.__dict__.items()})
        memo[id(self)] = t
        return t

    def to(self, *args, **kwargs) -> Tensor:
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)``; copy only if needed."""
        if not kwargs and len(args) == 1 and type(args[0]) is DT.dtype \
                and args[0].np == self._data.dtype:
            return self  # ``.float()`` on a float32 tensor: nothing to do
        dtype = kwargs.pop("dtype", None)
        device = kwargs.pop("device", None)
        copy = kwargs.pop("copy", False)
        kwargs.pop("non_blocking", None)
        kwargs.pop("memory_format", None)
        if kwargs:
            raise TypeError(f"to() got an unexpected keyword argument '{next(iter(kwargs))}'")
        for a in args:
            if isinstance(a, DT.dtype):
                dtype = a
            elif isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            elif isinstance(a, (str, D.device, int)):
                device = a
            elif isinstance(a, bool):
                continue
            else:
                raise TypeError(f"to() received an invalid combination of arguments: {a!r}")
        from ember.ops.creation import to_copy

        return to_copy(self, dtype, None if device is None else D.as_device(device), copy)

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self, device=None, non_blocking: bool = False) -> Tensor:
        return self.to(D.device("cuda", device) if isinstance(device, int) else (device or "cuda"))

    def type(self, dtype=None, non_blocking: bool = False):
        if dtype is None:
            return _TYPE_NAMES[self.dtype]
        if isinstance(dtype, str):
            by_name = {v: k for k, v in _TYPE_NAMES.items()}
            if dtype not in by_name:
                raise ValueError(f"invalid type: '{dtype}'")
            dtype = by_name[dtype]
        return self.to(dtype)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def float(self) -> Tensor:
        return self.to(DT.float32)

    def double(self) -> Tensor:
        return self.to(DT.float64)

    def half(self) -> Tensor:
        return self.to(DT.float16)

    def long(self) -> Tensor:
        return self.to(DT.int64)

    def int(self) -> Tensor:
        return self.to(DT.int32)

    def short(self) -> Tensor:
        return self.to(DT.int16)

    def char(self) -> Tensor:
        return self.to(DT.int8)

    def byte(self) -> Tensor:
        return self.to(DT.uint8)

    def bool(self) -> Tensor:
        return self.to(DT.bool_)

    # ---- operators: each is an op of ember.ops ---------------------------------------------
    def __add__(self, other):
        return _pw.add(self, other)

    def __radd__(self, other):
        return _pw.add(other, self)

    def __iadd__(self, other):
        return self.add_(other)

    def __sub__(self, other):
        return _pw.sub(self, other)

    def __rsub__(self, other):
        return _pw.sub(other, self)

    def __isub__(self, other):
        return self.sub_(other)

    def __mul__(self, other):
        return _pw.mul(self, other)

    def __rmul__(self, other):
        return _pw.mul(other, self)

    def __imul__(self, other):
        return self.mul_(other)

    def __truediv__(self, other):
        return _pw.div(self, other)

    def __rtruediv__(self, other):
        return _pw.div(other, self)

    def __itruediv__(self, other):
        return self.div_(other)

    def __floordiv__(self, other):
        return _pw.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return _pw.floor_divide(other, self)

    def __ifloordiv__(self, other):
        return self.floor_divide_(other)

    def __mod__(self, other):
        return _pw.remainder(self, other)

    def __rmod__(self, other):
        return _pw.remainder(other, self)

    def __imod__(self, other):
        return self.remainder_(other)

    def __pow__(self, other):
        return _pw.pow(self, other)

    def __rpow__(self, other):
        return _pw.pow(other, self)

    def __ipow__(self, other):
        return self.pow_(other)

    def __matmul__(self, other):
        return _la.matmul(self, other)

    def __rmatmul__(self, other):
        return _la.matmul(other, self)

    def __neg__(self):
        return _pw.neg(self)

    def __pos__(self):
        return _pw.positive(self)

    def __abs__(self):
        return _pw.abs(self)

    def __invert__(self):
        if self._data.dtype.kind == "f":
            raise TypeError(
                "~ (operator.invert) is only implemented on integer and Boolean-type tensors"
            )
        return _pw.bitwise_not(self)

    def __and__(self, other):
        return _pw.bitwise_and(self, other)

    def __rand__(self, other):
        return _pw.bitwise_and(other, self)

    def __iand__(self, other):
        return self.bitwise_and_(other)

    def __or__(self, other):
        return _pw.bitwise_or(self, other)

    def __ror__(self, other):
        return _pw.bitwise_or(other, self)

    def __ior__(self, other):
        return self.bitwise_or_(other)

    def __xor__(self, other):
        return _pw.bitwise_xor(self, other)

    def __rxor__(self, other):
        return _pw.bitwise_xor(other, self)

    def __ixor__(self, other):
        return self.bitwise_xor_(other)

    def __lshift__(self, other):
        return _pw.bitwise_left_shift(self, other)

    def __rlshift__(self, other):
        return _pw.bitwise_left_shift(other, self)

    def __ilshift__(self, other):
        return self.bitwise_left_shift_(other)

    def __rshift__(self, other):
        return _pw.bitwise_right_shift(self, other)

    def __rrshift__(self, other):
        return _pw.bitwise_right_shift(other, self)

    def __irshift__(self, other):
        return self.bitwise_right_shift_(other)

    def __eq__(self, other):
        return _pw.eq(self, other)

    def __ne__(self, other):
        return _pw.ne(self, other)

    def __lt__(self, other):
        return _pw.lt(self, other)

    def __le__(self, other):
        return _pw.le(self, other)

    def __gt__(self, other):
        return _pw.gt(self, other)

    def __ge__(self, other):
        return _pw.ge(self, other)

    def __getitem__(self, index):
        return _ix.getitem(self, index)

    def __setitem__(self, index, value) -> None:
        _ix.setitem(self, index, value)

    # ---- in-place bookkeeping ----------------------------------------------------------------
    def _check_inplace(self) -> None:
        if _state["enabled"] and self._requires_grad and self.grad_fn is None:
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation."
            )
        base = self._base
        if not _state["enabled"] or base is None or not base._requires_grad:
            return
        if not self._requires_grad and self._view_src is not None:
            raise RuntimeError(
                "A view was created in no_grad mode and is being modified inplace with grad mode "
                "enabled. Given that this use case is ambiguous and error-prone, it is forbidden. "
                "You can clarify your code by moving both the view and the inplace either both "
                "inside the no_grad block (if you don't want the inplace to be tracked) or both "
                "outside (if you want the inplace to be tracked)."
            )
        if base.grad_fn is None:
            raise RuntimeError(
                "a view of a leaf Variable that requires grad is being used in an in-place "
                "operation."
            )

    def _inplace(self, fn, *args, **kwargs) -> Tensor:
        """Run the out-of-place ``fn(self, ...)`` and make ``self`` hold its result and history.

        While recording, ``fn`` sees a copy of ``self`` so that what it saves for backward is
        not overwritten here.
        """
        self._check_inplace()
        recording = _state["enabled"] and (
            self._requires_grad
            or any(isinstance(a, Tensor) and a._requires_grad for a in args)
        )
        src = self
        if recording:
            src = Tensor._make(self._data.copy(), self.grad_fn, self._output_nr)
            src._requires_grad = self._requires_grad
        return self._assign(fn(src, *args, **kwargs), fn.__name__ + "_")

    def _assign(self, result: Tensor, op: str) -> Tensor:
        """Write ``result`` into ``self``'s memory, bump the version and take its history."""
        r = result._data
        if r.dtype != self._data.dtype and not DT.can_cast(DT._FROM_NP[r.dtype], self.dtype):
            raise RuntimeError(
                f"result type {_TYPE_NAMES[DT._FROM_NP[r.dtype]][6:-6]} can't be cast to the "
                f"desired output type {_TYPE_NAMES[self.dtype][6:-6]}"
            )
        if r.shape != self._data.shape:
            raise RuntimeError(
                f"{op}(): output with shape {list(self.shape)} doesn't match the broadcast shape "
                f"{list(r.shape)}"
            )
        if self._data.size > 1 and any(
            st == 0 and n > 1 for st, n in zip(self._data.strides, self._data.shape)
        ):
            raise RuntimeError(  # an expanded tensor: several elements share one memory location
                "unsupported operation: more than one element of the written-to tensor refers to a "
                "single memory location. Please clone() the tensor before performing the operation."
            )
        self._data[...] = r
        self._vc[0] += 1
        if result._requires_grad and _state["enabled"]:
            if self._base is not None:
                from ember.ops.shape import rebase_view

                rebase_view(self, result)
            else:
                self.grad_fn = result.grad_fn
                self._output_nr = result._output_nr
                self._requires_grad = True
        return self


def _wrap_dim(dim: int, ndim: int, op: str = "") -> int:
    """Wrap a negative dim; IndexError with PyTorch's message when out of range."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return dim + n if dim < 0 else dim


_TYPE_NAMES = {
    DT.float32: "torch.FloatTensor", DT.float64: "torch.DoubleTensor",
    DT.float16: "torch.HalfTensor", DT.int64: "torch.LongTensor", DT.int32: "torch.IntTensor",
    DT.int16: "torch.ShortTensor", DT.int8: "torch.CharTensor", DT.uint8: "torch.ByteTensor",
    DT.bool_: "torch.BoolTensor",
}


# The ops need the Tensor class, so they are imported once it exists.
from ember.ops import indexing as _ix
from ember.ops import linalg as _la
from ember.ops import pointwise as _pw
