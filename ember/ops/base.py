"""``Op``: how one differentiable op is written, and how applying it records the graph.

An op subclasses ``Op`` and defines two static methods::

    class Exp(Op):
        @staticmethod
        def forward(ctx, x):            # xp arrays in, xp array(s) out
            y = get_xp(x).exp(x)
            ctx.save_for_backward(y)     # arrays that are inputs or outputs come back as Tensors
            return y

        @staticmethod
        def backward(ctx, grad):        # Tensors in, one Tensor (or None) per forward argument out
            (y,) = ctx.saved_tensors
            return grad * y

``Exp.apply(t)`` unwraps Tensors, runs ``forward`` and, only when grad mode is on and some input
requires grad, records ``ctx`` as the output's ``grad_fn``.  Because ``backward`` is written with
ember ops, it is differentiable itself (``create_graph=True``).  Gradients of broadcast inputs
are summed back to the input's shape here, once, so no op repeats that.
"""
from __future__ import annotations

import numpy as np
from numpy import ndarray

from ember._device import get_xp
from ember._dtype import from_numpy_dtype
from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.autograd.graph import FREED, Node, SavedTensor, _sequence, accumulator

_state = grad_mode._state
_NO_EDGE = (None, 0)


class Op(Node):
    """A differentiable op (see the module docstring)."""

    view = False  # output 0 shares memory with input 0 (view, transpose, slicing ...)
    needs_input_grad: tuple = ()  # set before forward when the graph is recorded

    forward = None
    backward = None
    _to_save: tuple = ()  # what forward asked to save, until _record packs it into _saved
    _non_diff: tuple = ()

    def save_for_backward(self, *arrays) -> None:
        self._to_save = arrays

    def mark_non_differentiable(self, *arrays) -> None:
        self._non_diff = arrays

    @property
    def saved_tensors(self) -> tuple:
        if self._released:
            raise RuntimeError(FREED)
        saved = self._saved
        if saved is None:
            return ()
        return tuple([s.unpack(self) if type(s) is SavedTensor else s for s in saved])

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = object.__new__(cls)
        arrays = []
        any_grad = False
        for a in args:
            if isinstance(a, Tensor):
                arrays.append(a._data)
                if a._requires_grad:
                    any_grad = True
            else:
                arrays.append(a)
        if any_grad and _state["enabled"]:
            results = ctx._record(args, arrays, kwargs)
        else:
            out = cls.forward(ctx, *arrays, **kwargs)
            if type(out) is tuple:
                results = tuple([Tensor._make(_as_array(o)) for o in out])
            else:
                results = Tensor._make(out if type(out) is ndarray else _as_array(out))
        if cls.view:
            r = results[0] if type(results) is tuple else results
            src = args[0]
            if np.may_share_memory(r._data, src._data):
                r._vc = src._vc
                r._base = src if src._base is None else src._base
                r._view_src = (src, cls, args[1:], kwargs)
        return results

    def _record(self, args: tuple, arrays: list, kwargs: dict):
        """Run forward with the graph recorded: this node becomes the outputs' ``grad_fn``."""
        edges = []
        meta = []
        needs = []
        for a in args:
            if isinstance(a, Tensor):
                d = a._data
                meta.append((d.shape, d.dtype))
                if a._requires_grad:
                    fn = a.grad_fn
                    edges.append((accumulator(a) if fn is None else fn, a._output_nr))
                    needs.append(True)
                    continue
            else:
                meta.append(None)
            edges.append(_NO_EDGE)
            needs.append(False)
        self.needs_input_grad = tuple(needs)  # forward may save only what backward will need
        out = self.forward(self, *arrays, **kwargs)
        self._seq = next(_sequence)
        self.next_functions = tuple(edges)
        self._in_meta = tuple(meta)
        if type(out) is tuple:
            results = tuple([self._output(o, i) for i, o in enumerate(out)])
            self._out_meta = tuple([(r._data.shape, r._data.dtype) for r in results])
        else:
            if type(out) is not ndarray:
                out = _as_array(out)
            if out.dtype.kind == "f" and not self._non_diff:
                results = Tensor._make(out, self, 0)
            else:
                results = self._output(out, 0)
            self._out_meta = ((out.shape, out.dtype),)
        to_save = self._to_save
        if to_save:
            outs = results if type(results) is tuple else (results,)
            self._saved = tuple([_pack(s, args, outs) for s in to_save])
            del self._to_save
        return results

    def _output(self, o, i: int) -> Tensor:
        """Output ``i`` as a Tensor: in the graph unless it is not floating or was marked
        non-differentiable."""
        if type(o) is not ndarray:
            o = _as_array(o)
        if o.dtype.kind == "f":
            for n in self._non_diff:
                if o is n:
                    break
            else:
                return Tensor._make(o, self, i)
        return Tensor._make(o)

    def _apply_backward(self, grads: list) -> list:
        for g in grads:  # (``None in grads`` would call Tensor.__eq__)
            if g is None:
                grads = [
                    g if g is not None else Tensor._make(np.zeros(*meta))
                    for g, meta in zip(grads, self._out_meta)
                ]
                break
        res = self.backward(self, *grads)
        if type(res) is not tuple:
            res = (res,)
        out = []
        for g, need, meta in zip(res, self.needs_input_grad, self._in_meta):
            if g is None or not need:
                out.append(None)
                continue
            shape, dtype = meta
            if g._data.shape != shape:
                g = sum_to(g, shape)
            if g._data.dtype != dtype:
                g = g.to(from_numpy_dtype(dtype))
            out.append(g)
        return out


def wrap(array) -> Tensor:
    """An array computed outside the graph (a backward without create_graph) as a Tensor."""
    return Tensor._make(array if type(array) is ndarray else _as_array(array))


def _as_array(o):
    """An op's output as an array: NumPy scalars and Python numbers become 0-d arrays."""
    if type(o) is ndarray or (hasattr(o, "shape") and not isinstance(o, np.generic)):
        return o
    return np.asarray(o)


def _pack(a, args, results):
    """Keep a saved array as the Tensor it came from (input or output), else as a constant."""
    for r in results:
        if a is r._data:
            return SavedTensor(None, a, r._output_nr, r._vc) if r.grad_fn is not None else r
    for t in args:
        if isinstance(t, Tensor) and a is t._data:
            return SavedTensor(t)
    return Tensor._make(a) if hasattr(a, "shape") else a


class SumTo(Op):
    """Sum a broadcast gradient back to the shape of the input it was broadcast from."""

    @staticmethod
    def forward(ctx, g, shape):
        ctx.shape = g.shape
        lead = g.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(
            i + lead for i, n in enumerate(shape) if n == 1 and g.shape[i + lead] != 1
        )
        if axes:
            g = g.sum(axis=axes, keepdims=True)
        return g.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return BroadcastTo.apply(grad, ctx.shape), None


class BroadcastTo(Op):
    view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return get_xp(x).broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return SumTo.apply(grad, ctx.shape), None


def sum_to(t: Tensor, shape: tuple) -> Tensor:
    return t if t._data.shape == tuple(shape) else SumTo.apply(t, tuple(shape))


def replay_backward(ctx: Op, inputs: tuple, grads: tuple, replay) -> tuple:
    """A fused op's backward as a graph (create_graph=True), one entry per input: the op's
    output(s) recomputed by ``replay(*aliases)`` with differentiable ember ops on fresh aliases
    of ``inputs`` (which tie the replay to them), and their vector-Jacobian product with
    ``grads`` differentiated."""
    from ember.autograd import grad

    need = ctx.needs_input_grad
    aliases = [t.view_as(t) if t is not None and need[k] else t for k, t in enumerate(inputs)]
    outs = replay(*aliases)
    outs = (outs,) if isinstance(outs, Tensor) else outs
    wanted = [a for k, a in enumerate(aliases) if a is not None and need[k]]
    # one scalar root: when one output is reachable from another (an LSTM's final states from
    # its output rows), the engine's walk must not start from a root that another root reaches
    vjp = sum((o * g).sum() for o, g in zip(outs, grads))
    got = iter(grad(vjp, wanted, create_graph=True, allow_unused=True))
    return tuple(next(got) if a is not None and need[k] else None
                 for k, a in enumerate(aliases))
