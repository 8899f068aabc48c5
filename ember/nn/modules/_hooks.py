"""Full backward hooks: identity Functions around a module's inputs and outputs.

The output identity sees ``grad_output`` first (backward pre-hooks run there); the input
identity sees ``grad_input`` last and calls ``hook(module, grad_input, grad_output)``.
"""
from __future__ import annotations

from ember._tensor import Tensor
from ember.autograd.function import Function


class _State:
    def __init__(self, module, n_inputs: int, inputs_need_grad: bool) -> None:
        self.module = module
        self.n_inputs = n_inputs
        self.inputs_need_grad = inputs_need_grad
        self.grad_output = None

    def on_outputs(self, grads: tuple) -> tuple:
        for hook in list(self.module._backward_pre_hooks.values()):
            r = hook(self.module, grads)
            if r is not None:
                grads = tuple(r)
        self.grad_output = grads
        if not self.inputs_need_grad:
            self.on_inputs((None,) * self.n_inputs)
        return grads

    def on_inputs(self, grads: tuple) -> tuple:
        for hook in list(self.module._backward_hooks.values()):
            r = hook(self.module, grads, self.grad_output)
            if r is not None:
                grads = tuple(r)
        return grads


class _Identity(Function):
    @staticmethod
    def forward(ctx, state, on_grads, *tensors):
        ctx.state, ctx.on_grads = state, on_grads
        return tuple(t.view_as(t) for t in tensors)

    @staticmethod
    def backward(ctx, *grads):
        return (None, None) + tuple(ctx.on_grads(ctx.state, grads))


def wrap_inputs(module, args: tuple):
    tensors = [a for a in args if isinstance(a, Tensor)]
    state = _State(module, len(tensors), any(t.requires_grad for t in tensors))
    if not state.inputs_need_grad:
        return args, state
    wrapped = iter(_Identity.apply(state, _State.on_inputs, *tensors))
    return tuple(next(wrapped) if isinstance(a, Tensor) else a for a in args), state


def wrap_outputs(module, out, state: _State):
    if isinstance(out, Tensor):
        if not out.requires_grad:
            return out
        return _Identity.apply(state, _State.on_outputs, out)[0]
    if isinstance(out, tuple) and all(isinstance(o, Tensor) for o in out):
        if not any(o.requires_grad for o in out):
            return out
        return _Identity.apply(state, _State.on_outputs, *out)
    return out
