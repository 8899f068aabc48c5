"""Finite-difference checks of analytical gradients: ``gradcheck`` and ``gradgradcheck``."""
from __future__ import annotations

import numpy as np


class GradcheckError(RuntimeError):
    """Raised by gradcheck when the analytical and numerical Jacobians differ."""


def _outputs(fn, inputs) -> tuple:
    from ember._tensor import Tensor

    out = fn(*inputs)
    return (out,) if isinstance(out, Tensor) else tuple(o for o in out if isinstance(o, Tensor))


def _numerical(fn, inputs, i: int, eps: float) -> list:
    """d(outputs)/d(inputs[i]) by central differences, one matrix per output."""
    from ember.autograd.grad_mode import no_grad

    x = inputs[i]
    flat = x._data.reshape(-1)
    with no_grad():
        outs = _outputs(fn, inputs)
        jac = [np.zeros((flat.size, o.numel())) for o in outs]
        for k in range(flat.size):
            orig = flat[k].item()
            flat[k] = orig + eps
            plus = [o._data.astype(np.float64).reshape(-1).copy() for o in _outputs(fn, inputs)]
            flat[k] = orig - eps
            minus = [o._data.astype(np.float64).reshape(-1).copy() for o in _outputs(fn, inputs)]
            flat[k] = orig
            for j in range(len(outs)):
                jac[j][k] = (plus[j] - minus[j]) / (2 * eps)
    return jac


def _analytical(fn, inputs, wrt: list) -> dict:
    """d(outputs)/d(inputs[i]) by backpropagating each unit vector of each output."""
    from ember.autograd import grad
    from ember.ops.creation import zeros_like

    outs = _outputs(fn, inputs)
    jac = {i: [np.zeros((inputs[i].numel(), o.numel())) for o in outs] for i in wrt}
    for j, o in enumerate(outs):
        if not o.requires_grad:
            continue
        for k in range(o.numel()):
            g = zeros_like(o)
            g._data.reshape(-1)[k] = 1
            gs = grad(o, [inputs[i] for i in wrt], g, retain_graph=True, allow_unused=True)
            for i, gi in zip(wrt, gs):
                if gi is not None:
                    jac[i][j][:, k] = gi._data.astype(np.float64).reshape(-1)
    return jac


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0, check_undefined_grad=True,
              check_grad_dtypes=False, check_batched_grad=False, check_batched_forward_grad=False,
              check_forward_ad=False, check_backward_ad=True, fast_mode=False, masked=None) -> bool:
    """Compare the gradients of ``func`` at ``inputs`` with finite differences."""
    from ember._tensor import Tensor

    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    wrt = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not wrt:
        raise ValueError("gradcheck expects at least one input tensor to require gradient")
    for i in wrt:
        if inputs[i].dtype.itemsize < 8:
            import warnings

            warnings.warn(
                f"Input #{i} requires gradient and is not a double precision floating point. "
                "This check will likely fail if all the inputs are not of double precision "
                "floating point.",
                UserWarning,
                stacklevel=2,
            )
    analytical = _analytical(func, inputs, wrt)
    for i in wrt:
        numerical = _numerical(func, inputs, i, eps)
        for j, (a, n) in enumerate(zip(analytical[i], numerical)):
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                if not raise_exception:
                    return False
                raise GradcheckError(
                    f"Jacobian mismatch for output {j} with respect to input {i},\n"
                    f"numerical:{n}\nanalytical:{a}\n"
                )
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, gen_non_contig_grad_outputs=False,
                  raise_exception: bool = True, **kwargs) -> bool:
    """gradcheck of the first derivatives, computed with ``create_graph=True``."""
    from ember._tensor import Tensor
    from ember.autograd import enable_grad, grad
    from ember.ops.creation import randn_like

    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    outs = _outputs(func, inputs)
    if grad_outputs is None:
        grad_outputs = tuple(randn_like(o).requires_grad_() for o in outs)
    grad_outputs = (grad_outputs,) if isinstance(grad_outputs, Tensor) else tuple(grad_outputs)
    n = len(inputs)
    wrt = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]

    def first_grads(*args):
        ins, gos = args[:n], args[n:]
        with enable_grad():  # the finite differences call this under no_grad
            o = _outputs(func, ins)
            gs = grad(o, [ins[i] for i in wrt], gos, create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_grads, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
