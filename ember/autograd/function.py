"""``autograd.Function``: user-defined ops whose forward and backward work on Tensors."""
from __future__ import annotations

import functools

from ember.autograd import grad_mode
from ember.autograd.graph import Node, SavedTensor, _sequence, accumulator


class FunctionCtx:
    """What ``forward`` can tell ``backward`` (the ``ctx`` argument)."""

    def save_for_backward(self, *tensors) -> None:
        self._to_save = tensors

    def save_for_forward(self, *tensors) -> None:
        self.saved_for_forward = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_diff = set(map(id, tensors))

    def mark_dirty(self, *tensors) -> None:
        self._dirty = set(map(id, tensors))

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = value


class BackwardCFunction(Node, FunctionCtx):
    """The graph node of one ``Function.apply``; it is also the ``ctx`` both methods see."""

    materialize_grads = True

    def __init__(self, fn_cls) -> None:
        super().__init__()
        self._fn = fn_cls

    def name(self) -> str:
        return self._fn.__name__ + "Backward"

    @property
    def saved_tensors(self) -> tuple:
        from ember.autograd.graph import FREED

        if self._released:
            raise RuntimeError(FREED)
        if self._saved is None:
            return ()
        return tuple(s.unpack(self) if isinstance(s, SavedTensor) else s for s in self._saved)

    def _apply_backward(self, grads: list) -> list:
        from ember._tensor import Tensor
        from ember.ops.base import sum_to
        from ember.ops.creation import zeros

        if self.materialize_grads:
            grads = [
                g if g is not None else zeros(shape, dtype=dtype)
                for g, (shape, dtype) in zip(grads, self._out_meta)
            ]
        res = self._fn.backward(self, *grads)
        if not isinstance(res, tuple):
            res = (res,)
        n_in = len(self.next_functions)
        if len(res) < n_in or any(r is not None for r in res[n_in:]):
            raise RuntimeError(
                f"function {self.name()} returned an incorrect number of gradients "
                f"(expected {n_in}, got {len(res)})"
            )
        out = []
        for i, (g, need, meta) in enumerate(zip(res, self.needs_input_grad, self._in_meta)):
            if g is None:
                out.append(None)
                continue
            if meta is None:
                raise RuntimeError(
                    f"function {self.name()} returned a gradient different than None at position "
                    f"{i + 1}, but the corresponding forward input was not a Variable"
                )
            if not isinstance(g, Tensor):
                raise RuntimeError(f"expected Variable or None (got {type(g).__name__})")
            if not need:
                out.append(None)
                continue
            if tuple(g.shape) != meta[0]:
                try:
                    g = sum_to(g, meta[0])
                except (ValueError, RuntimeError):
                    raise RuntimeError(
                        f"Function {self.name()} returned an invalid gradient at index {i} - got "
                        f"{list(g.shape)} but expected shape compatible with {list(meta[0])}"
                    ) from None
            if g.dtype != meta[1]:
                g = g.to(meta[1])
            out.append(g)
        return out


class Function:
    """Subclass with static ``forward(ctx, ...)`` and ``backward(ctx, *grads)``; call ``apply``.

    ``forward`` may also be written without ``ctx`` together with ``setup_context(ctx, inputs,
    output)``, PyTorch 2's style.
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError(
            "You must implement the forward function for custom autograd.Function."
        )

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError(
            "You must implement either the backward or vjp method for your custom "
            "autograd.Function to use it with backward mode AD."
        )

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError

    def __init__(self, *args, **kwargs) -> None:
        raise RuntimeError(
            "Legacy autograd function with non-static forward method is deprecated. Please use "
            "new-style autograd function with static forward method."
        )

    @classmethod
    def apply(cls, *args, **kwargs):
        from ember._tensor import Tensor

        ctx = BackwardCFunction(cls)
        own_setup = cls.setup_context is not Function.setup_context
        with grad_mode.no_grad():
            out = cls.forward(*args, **kwargs) if own_setup else cls.forward(ctx, *args, **kwargs)
        if own_setup:
            cls.setup_context(ctx, args, out)
        multi = isinstance(out, tuple)
        outs = list(out) if multi else [out]
        record = grad_mode.is_grad_enabled() and any(
            isinstance(a, Tensor) and a._requires_grad for a in args
        )
        non_diff = getattr(ctx, "_non_diff", set())
        dirty = getattr(ctx, "_dirty", set())
        if record:
            ctx.next_functions = tuple(
                (a.grad_fn or accumulator(a), a._output_nr)
                if isinstance(a, Tensor) and a._requires_grad
                else (None, 0)
                for a in args
            )
            ctx.needs_input_grad = tuple(f[0] is not None for f in ctx.next_functions)
            ctx._in_meta = tuple(
                (tuple(a.shape), a.dtype) if isinstance(a, Tensor) else None for a in args
            )
            ctx._seq = next(_sequence)
        else:
            ctx.needs_input_grad = tuple(
                isinstance(a, Tensor) and a._requires_grad for a in args
            )
        for i, o in enumerate(outs):
            if not isinstance(o, Tensor):
                continue
            if any(o is a for a in args) and id(o) not in dirty:
                o = outs[i] = o.view_as(o)  # an input returned as is becomes a new alias
            if id(o) in dirty:
                o._vc[0] += 1
            if record and id(o) not in non_diff and o.is_floating_point():
                o.grad_fn = ctx
                o._output_nr = i
                o._requires_grad = True
        if record:
            ctx._out_meta = tuple(
                (tuple(o.shape), o.dtype) if isinstance(o, Tensor) else ((), None) for o in outs
            )
            to_save = getattr(ctx, "_to_save", ())
            ctx._saved = tuple(SavedTensor(t) if isinstance(t, Tensor) else t for t in to_save)
        else:
            ctx._saved = tuple(getattr(ctx, "_to_save", ()))
        return tuple(outs) if multi else outs[0]


def once_differentiable(fn):
    """Run a custom ``backward`` without recording it (its result cannot be differentiated)."""

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with grad_mode.no_grad():
            return fn(ctx, *args)

    return wrapper
