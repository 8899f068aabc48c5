"""``ember.autograd``: backward, grad, custom Functions, grad modes and gradient checks."""
from __future__ import annotations

from ember.autograd import engine, graph
from ember.autograd.engine import run_backward
from ember.autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)


def _as_tuple(x) -> tuple:
    if x is None:
        return ()
    from ember._tensor import Tensor

    return (x,) if isinstance(x, Tensor) else tuple(x)


def _make_grads(outputs, grads, create_graph: bool) -> list:
    from ember._device import get_xp
    from ember._tensor import Tensor

    result = []
    for out, g in zip(outputs, grads):
        if g is None:
            if out._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if out._data.dtype.kind != "f":
                raise RuntimeError(
                    f"grad can be implicitly created only for real scalar outputs but got "
                    f"{out.dtype}"
                )
            d = out._data
            g = Tensor._make(get_xp(d).ones(d.shape, d.dtype))
        elif not isinstance(g, Tensor):
            raise TypeError(
                f"gradients can be either Tensors or None, but got {type(g).__name__}"
            )
        elif g.shape != out.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output[0] has a shape of {g.shape} and output[0] has "
                f"a shape of {out.shape}."
            )
        result.append(g if create_graph else g.detach())
    return result


def _check_outputs(outputs) -> None:
    for i, t in enumerate(outputs):
        if not t._requires_grad:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn"
            )


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph: bool = False,
             inputs=None) -> None:
    """Accumulate into ``.grad`` of the leaves (or of ``inputs``) the gradient of ``tensors``."""
    tensors = _as_tuple(tensors)
    grads = _as_tuple(grad_tensors) if grad_tensors is not None else (None,) * len(tensors)
    if len(grads) != len(tensors):
        raise RuntimeError(
            f"got {len(grads)} gradients for {len(tensors)} tensors; they must match"
        )
    _check_outputs(tensors)
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:
        inputs = _as_tuple(inputs)
        if not inputs:
            raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
        for t in inputs:
            t.retain_grad()  # as in torch: a non-leaf input keeps its .grad from now on
    elif create_graph:
        import warnings

        warnings.warn(
            "Using backward() with create_graph=True will create a reference cycle between the "
            "parameter and its gradient which can cause a memory leak. We recommend using "
            "autograd.grad when creating the graph to avoid this. If you have to use this "
            "function, make sure to reset the .grad fields of your parameters to None after use "
            "to break the cycle and avoid the leak.",
            UserWarning,
            stacklevel=3,
        )
    run_backward(tensors, _make_grads(tensors, grads, create_graph), retain_graph,
                 create_graph, inputs)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph: bool = False,
         only_inputs: bool = True, allow_unused=None, is_grads_batched: bool = False,
         materialize_grads: bool = False):
    """The gradients of ``outputs`` with respect to ``inputs``, returned instead of accumulated."""
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    grads = _as_tuple(grad_outputs) if grad_outputs is not None else (None,) * len(outputs)
    if allow_unused is None:
        allow_unused = materialize_grads
    elif materialize_grads and not allow_unused:
        raise ValueError(
            "Expected allow_unused to be True or not passed when materialize_grads=True, but "
            "got: allow_unused=False."
        )
    _check_outputs(outputs)
    for t in inputs:
        if not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    result = run_backward(outputs, _make_grads(outputs, grads, create_graph), retain_graph,
                          create_graph, inputs, capture=True)
    for i, g in enumerate(result):
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"The differentiated Tensor at index {i} appears to not have been used in "
                    "the graph. Set allow_unused=True if this is the desired behavior."
                )
            if materialize_grads:
                from ember.ops.creation import zeros_like

                result[i] = zeros_like(inputs[i])
    return tuple(result)


class _VariableMeta(type):
    def __instancecheck__(cls, other) -> bool:
        from ember._tensor import Tensor

        return isinstance(other, Tensor)


class _ExecutionEngine:
    """``Variable._execution_engine``: where PyTorch code queues end-of-backward callbacks."""

    queue_callback = staticmethod(engine.queue_callback)


class Variable(metaclass=_VariableMeta):
    """The pre-1.0 wrapper, kept for old code: ``Variable(t, requires_grad=True)`` is a detached
    alias of ``t`` (every tensor is a Variable)."""

    _execution_engine = _ExecutionEngine()

    def __new__(cls, data, requires_grad: bool = False, volatile: bool = False):
        from ember._tensor import Tensor

        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        t = data.detach()
        if requires_grad:
            t.requires_grad = True
        return t


from ember.autograd.function import Function, FunctionCtx, once_differentiable
from ember.autograd.gradcheck import gradcheck, gradgradcheck

__all__ = [
    "Function", "FunctionCtx", "Variable", "backward", "enable_grad", "grad", "gradcheck",
    "gradgradcheck", "graph", "inference_mode", "is_grad_enabled", "no_grad",
    "once_differentiable", "set_grad_enabled",
]
