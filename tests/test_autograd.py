"""Autograd against PyTorch: backward/grad options, higher order, hooks, grad modes, Functions,
gradcheck, and the engine (long chains, diamonds, pruning, freeing, in-place rules)."""
import gc
import sys
import weakref

import numpy as np
import pytest
import torch
from helpers import check

import ember


def _val(x):
    if isinstance(x, (ember.Tensor, torch.Tensor)):
        return ("T", str(x.dtype), tuple(x.shape), x.detach().numpy().tolist(), x.requires_grad)
    if isinstance(x, (tuple, list)):
        return type(x).__name__, [_val(i) for i in x]
    return x


def _run(fn, mod):
    try:
        return _val(fn(mod))
    except Exception as e:  # noqa: BLE001 - the exception is the result compared
        return ("raised", type(e).__name__, str(e).split("\n")[0][:45].lower())


def _eq(e, t) -> bool:
    if isinstance(e, float) and isinstance(t, float):
        return bool(np.isclose(e, t, rtol=1e-6, atol=1e-9))
    if isinstance(e, (tuple, list)) and isinstance(t, (tuple, list)):
        return len(e) == len(t) and all(_eq(a, b) for a, b in zip(e, t))
    return e == t


def same(fn):
    """``fn(ember)`` gives what ``fn(torch)`` gives: values, dtypes, requires_grad or the error."""
    e, t = _run(fn, ember), _run(fn, torch)
    assert _eq(e, t), f"ember: {e}\ntorch: {t}"


# ---- backward and grad options ------------------------------------------------------------
def test_backward_gradient_argument():
    def f(t):
        x = t.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * x
        y.backward(t.tensor([1.0, 0.5, 2.0]))
        return x.grad

    same(f)


def test_backward_shape_mismatch():
    def f(t):
        x = t.tensor([1.0, 2.0, 3.0], requires_grad=True)
        (x * 2).backward(t.ones(2))

    same(f)


def test_backward_twice_accumulates_and_retain_graph():
    def f(t):
        x = t.tensor([1.0, -2.0], requires_grad=True)
        y = (x.exp() * x).sum()
        y.backward(retain_graph=True)
        g1 = x.grad.clone()
        y.backward()
        return g1, x.grad

    same(f)


def test_backward_inputs():
    def f(t):
        a = t.tensor([1.0, 2.0], requires_grad=True)
        b = t.tensor([3.0, 4.0], requires_grad=True)
        c = a * b
        c.retain_grad()
        (c * c).sum().backward(inputs=[a])
        (c * a).sum().backward(inputs=c)
        return a.grad, b.grad, c.grad

    same(f)


def test_backward_inputs_nonleaf_gets_grad():
    def f(t):
        a = t.tensor([1.0, 2.0], requires_grad=True)
        c = a * 3
        (c * c).sum().backward(inputs=[c, a])
        g = c.grad
        (c * 2).sum().backward()  # c now retains its grad, as torch does
        return a.grad, g, c.grad, c.retains_grad

    same(f)
    same(lambda t: (t.ones(2, requires_grad=True) * 2).sum().backward(inputs=[]))
    same(lambda t: (t.ones(2, requires_grad=True) * 2).sum().backward(inputs=[t.ones(2)]))


def test_backward_multiple_roots():
    def f(t):
        x = t.tensor([1.0, 2.0], requires_grad=True)
        y1, y2 = x * 2, (x * x).sum()
        t.autograd.backward([y1, y2], [t.tensor([1.0, 3.0]), None])
        return x.grad

    same(f)


def test_grad_basic_and_grad_outputs():
    def f(t):
        x = t.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        w = t.tensor([0.5, -1.0], requires_grad=True)
        y = x @ w
        gx, gw = t.autograd.grad(y, (x, w), grad_outputs=t.tensor([1.0, 2.0]))
        return gx, gw, x.grad, w.grad

    same(f)


def test_grad_unused():
    def f(t, **kw):
        x = t.tensor([1.0], requires_grad=True)
        z = t.tensor([2.0], requires_grad=True)
        return t.autograd.grad((x * 2).sum(), [x, z], **kw)

    same(f)
    same(lambda t: f(t, allow_unused=True))
    same(lambda t: f(t, materialize_grads=True))
    same(lambda t: f(t, allow_unused=False, materialize_grads=True))


def test_grad_input_not_requiring_grad():
    def f(t):
        x = t.tensor([1.0], requires_grad=True)
        z = t.tensor([2.0])
        return t.autograd.grad((x * z).sum(), [z])

    same(f)


def test_grad_does_not_touch_dot_grad():
    def f(t):
        x = t.tensor([1.0, 2.0], requires_grad=True)
        (g,) = t.autograd.grad((x**2).sum(), x)
        return g, x.grad

    same(f)


def test_grad_of_nonleaf():
    def f(t):
        x = t.tensor([1.0, 2.0], requires_grad=True)
        h = x.sin()
        y = (h * h).sum()
        return t.autograd.grad(y, [h, x])

    same(f)


def test_output_not_requiring_grad():
    same(lambda t: t.ones(2).sum().backward())
    same(lambda t: t.autograd.grad(t.ones(2).sum(), [t.ones(2, requires_grad=True)]))


# ---- higher order -----------------------------------------------------------------------------
def test_grad_of_grad_chains():
    for fn in (lambda x: x**3, lambda x: x.sin(), lambda x: x.exp() * x.sin(),
               lambda x: (x * x).exp().sin()):
        def f(t, fn=fn):
            x = t.tensor([0.3, -0.7, 1.1], dtype=t.float64, requires_grad=True)
            (g,) = t.autograd.grad(fn(x).sum(), x, create_graph=True)
            (g2,) = t.autograd.grad(g.sum(), x, create_graph=True)
            (g3,) = t.autograd.grad(g2.sum(), x)
            return g, g2, g3

        same(f)


def test_hessian_vector_product():
    def f(t):
        x = t.tensor([0.5, -1.0, 2.0], dtype=t.float64, requires_grad=True)
        a = t.tensor([[1.0, 2.0, 0.0], [0.5, -1.0, 3.0], [2.0, 1.0, 1.0]], dtype=t.float64)
        y = ((a @ x).tanh() ** 2).sum() + (x**4).sum()
        (g,) = t.autograd.grad(y, x, create_graph=True)
        v = t.tensor([1.0, 0.0, -2.0], dtype=t.float64)
        (hv,) = t.autograd.grad(g, x, grad_outputs=v)
        return g, hv

    same(f)


def test_gradient_penalty():
    def f(t):
        w = t.tensor([[0.2, -0.5], [1.0, 0.3]], dtype=t.float64, requires_grad=True)
        x = t.tensor([[1.0, 2.0], [-1.0, 0.5], [0.3, 0.3]], dtype=t.float64, requires_grad=True)
        out = (x @ w).tanh().sum(1)
        (gx,) = t.autograd.grad(out, x, grad_outputs=t.ones_like(out), create_graph=True)
        penalty = ((gx.pow(2).sum(1).sqrt() - 1) ** 2).mean()
        penalty.backward()
        return w.grad, x.grad

    same(f)


def test_create_graph_backward_grad_has_history():
    def f(t):
        x = t.tensor([1.0, 2.0], requires_grad=True)
        with pytest.warns(UserWarning, match="create a reference cycle"):
            (x**3).sum().backward(create_graph=True)
        g = x.grad
        has = g.grad_fn is not None
        x.grad = None
        g.sum().backward()
        return has, x.grad

    same(f)


# ---- .grad, retain_grad, hooks --------------------------------------------------------------
def test_retain_grad_and_nonleaf_warning():
    def f(t):
        x = t.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        y.retain_grad()
        z = x * 3
        (y * z).sum().backward()
        with pytest.warns(UserWarning, match="not a leaf Tensor"):
            assert z.grad is None
        return y.grad, y.retains_grad, z.retains_grad, x.retains_grad

    same(f)


def test_retain_grad_on_leaf_is_noop():
    def f(t):
        x = t.tensor([1.0, 2.0], requires_grad=True)
        x.retain_grad()
        (x * 2).sum().backward()
        return x.grad, x.retains_grad

    same(f)


def test_hooks_leaf_and_nonleaf():
    def f(t):
        calls = []
        x = t.tensor([1.0, 2.0], requires_grad=True)
        hx = x.register_hook(lambda g: calls.append(("x", g.tolist())) or g * 10)
        y = x * x
        y.register_hook(lambda g: calls.append(("y", g.tolist())))
        hy = y.register_hook(lambda g: g + 1)
        y.sum().backward(retain_graph=True)
        g1 = x.grad.clone()
        hx.remove()
        hy.remove()
        x.grad = None
        y.sum().backward()
        return g1, x.grad, calls

    same(f)


def test_hook_on_tensor_without_grad():
    same(lambda t: t.ones(2).register_hook(lambda g: g))


def test_hook_with_retain_grad_order():
    def f(t):
        x = t.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        y.retain_grad()
        y.register_hook(lambda g: g * 3)
        y.sum().backward()
        return y.grad, x.grad

    same(f)


def test_grad_fn_attributes():
    def f(t):
        a = t.tensor([1.0, 2.0], requires_grad=True)
        b = t.tensor([3.0, 4.0], requires_grad=True)
        c = a * b
        d = c.exp()
        acc = c.grad_fn.next_functions[0][0]
        return (c.grad_fn.name(), d.grad_fn.name(), type(acc).__name__, acc.name(),
                acc.variable is a, d.grad_fn.next_functions[0][0] is c.grad_fn,
                len(c.grad_fn.next_functions), a.grad_fn, c.is_leaf, a.is_leaf,
                (a * 2).detach().is_leaf)

    same(f)


def test_node_hooks():
    def f(t):
        seen = []
        x = t.tensor([1.0, 2.0], requires_grad=True)
        y = x * x
        z = y.sum()
        y.grad_fn.register_prehook(lambda go: seen.append(("pre", go[0].tolist())))
        h = y.grad_fn.register_hook(lambda gi, go: seen.append(("post", gi[0].tolist())))
        y.grad_fn.register_prehook(lambda go: (go[0] * 2,))
        z.backward(retain_graph=True)
        h.remove()
        z.backward()
        return seen, x.grad

    same(f)


# ---- grad modes -----------------------------------------------------------------------------
def test_grad_mode_context_managers_nested():
    def f(t):
        x = t.ones(2, requires_grad=True)
        out = []
        with t.no_grad():
            out.append((x * 2).requires_grad)
            with t.enable_grad():
                out.append((x * 2).requires_grad)
                with t.set_grad_enabled(False):
                    out.append((x * 2).requires_grad)
                out.append(t.is_grad_enabled())
            out.append(t.is_grad_enabled())
        with t.inference_mode():
            out.append((x * 2).requires_grad)
            with t.inference_mode(False):
                out.append((x * 2).requires_grad)
        out.append(t.is_grad_enabled())
        return out

    same(f)


def test_grad_mode_decorators():
    def f(t):
        x = t.ones(2, requires_grad=True)

        @t.no_grad()
        def a():
            return (x * 2).requires_grad

        @t.no_grad
        def b():
            return (x * 2).requires_grad

        @t.enable_grad
        def c():
            return (x * 2).requires_grad

        @t.inference_mode
        def d():
            return (x * 2).requires_grad

        @t.inference_mode()
        def e():
            return (x * 2).requires_grad

        @t.set_grad_enabled(False)
        def g():
            return (x * 2).requires_grad

        r = [a(), b(), d(), e(), g(), t.is_grad_enabled(), a.__name__]
        with t.no_grad():
            r.append(c())
        return r

    same(f)


def test_set_grad_enabled_as_function():
    def f(t):
        t.set_grad_enabled(False)
        off = t.is_grad_enabled()
        t.set_grad_enabled(True)
        return off, t.is_grad_enabled()

    same(f)


def test_no_grad_restores_on_exception():
    def f(t):
        try:
            with t.no_grad():
                raise KeyError
        except KeyError:
            pass
        return t.is_grad_enabled()

    same(f)


# ---- detach / requires_grad -----------------------------------------------------------------
def test_detach_variants():
    def f(t):
        x = t.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        d = y.detach()
        d[0] = 7.0  # shares memory with y
        z = x * 3
        z.detach_()
        w = t.tensor([1.0]).requires_grad_()
        return y, d, d.requires_grad, z.requires_grad, z.grad_fn, z.is_leaf, w.requires_grad

    same(f)


def test_detach_shares_version_counter():
    def f(t):
        x = t.tensor([1.0, 2.0], requires_grad=True)
        y = x.sin()
        y.detach().add_(1)
        y.sum().backward()

    same(f)
    x = ember.ones(2)
    d = x.detach()
    d.add_(1)
    assert x._version == d._version == 1


def test_requires_grad_errors():
    same(lambda t: t.tensor([1, 2], requires_grad=True))
    same(lambda t: t.tensor([1, 2]).requires_grad_())
    same(lambda t: t.ones(2, dtype=t.int64, requires_grad=True))
    same(lambda t: (t.ones(2, requires_grad=True) * 2).requires_grad_(False))
    same(lambda t: (t.ones(2, requires_grad=True) * 2).requires_grad_(True).requires_grad)


# ---- custom Functions -----------------------------------------------------------------------
def _cube(t, **opts):
    class Cube(t.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.save_for_backward(x)
            ctx.k = k
            return x**3 * k

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x**2 * ctx.k, None

    return Cube


def test_function_basic_and_non_tensor_args():
    def f(t):
        x = t.tensor([1.0, 2.0], requires_grad=True)
        y = _cube(t).apply(x, 2.0)
        y.sum().backward()
        return y, x.grad, y.grad_fn.name(), y.grad_fn.needs_input_grad

    same(f)


def test_function_double_backward():
    def f(t):
        x = t.tensor([1.0, 2.0], dtype=t.float64, requires_grad=True)
        y = _cube(t).apply(x, 1.0)
        (g,) = t.autograd.grad(y.sum(), x, create_graph=True)
        (g2,) = t.autograd.grad(g.sum(), x)
        return g, g2

    same(f)


def test_function_once_differentiable():
    def f(t):
        class Sq(t.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            @t.autograd.function.once_differentiable
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return 2 * x * g

        x = t.tensor([1.0, 2.0], requires_grad=True)
        (g,) = t.autograd.grad(Sq.apply(x).sum(), x, create_graph=True)
        return g, g.requires_grad

    same(f)


def test_function_needs_input_grad():
    def f(t):
        got = []

        class Mul(t.autograd.Function):
            @staticmethod
            def forward(ctx, a, b):
                ctx.save_for_backward(a, b)
                return a * b

            @staticmethod
            def backward(ctx, g):
                got.append(ctx.needs_input_grad)
                a, b = ctx.saved_tensors
                return (g * b if ctx.needs_input_grad[0] else None,
                        g * a if ctx.needs_input_grad[1] else None)

        a = t.tensor([1.0, 2.0], requires_grad=True)
        b = t.tensor([3.0, 4.0])
        Mul.apply(a, b).sum().backward()
        return a.grad, got

    same(f)


def test_function_mark_non_differentiable():
    def f(t):
        class Sort(t.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                idx = t.tensor([1, 0])
                out = x * 1
                ctx.mark_non_differentiable(idx)
                ctx.save_for_backward(idx)
                return out, idx

            @staticmethod
            def backward(ctx, g, gi):
                return g * 2

        x = t.tensor([1.0, 2.0], requires_grad=True)
        out, idx = Sort.apply(x)
        out.sum().backward()
        return out.requires_grad, idx.requires_grad, x.grad

    same(f)


def test_function_mark_dirty():
    def f(t):
        class AddOne(t.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.add_(1)
                ctx.mark_dirty(x)
                return x

            @staticmethod
            def backward(ctx, g):
                return g

        x = t.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        v0 = y._version
        z = AddOne.apply(y)
        (z * z).sum().backward()
        return z is y, y._version - v0, z, x.grad, z.grad_fn.name()

    same(f)


def test_function_set_materialize_grads():
    def run(t, materialize):
        seen = []

        class Two(t.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.set_materialize_grads(materialize)
                return x * 1, x * 2

            @staticmethod
            def backward(ctx, g1, g2):
                seen.append(g2 is None)
                return g1 if g2 is None else g1 + 2 * g2

        x = t.tensor([1.0, 2.0], requires_grad=True)
        a, _ = Two.apply(x)
        a.sum().backward()
        return x.grad, seen

    same(lambda t: run(t, True))
    same(lambda t: run(t, False))


def test_function_setup_context_style():
    def f(t):
        class Scale(t.autograd.Function):
            @staticmethod
            def forward(x, k):
                return x * k

            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.k = inputs[1]

            @staticmethod
            def backward(ctx, g):
                return g * ctx.k, None

        x = t.tensor([1.0, 2.0], requires_grad=True)
        y = Scale.apply(x, 3.0)
        y.sum().backward()
        return y, x.grad

    same(f)


def test_function_wrong_number_of_grads():
    def f(t, extra):
        class Bad(t.autograd.Function):
            @staticmethod
            def forward(ctx, x, y):
                return x + y

            @staticmethod
            def backward(ctx, g):
                return (g, g, g) if extra else g

        x = t.tensor([1.0], requires_grad=True)
        Bad.apply(x, x).sum().backward()

    same(lambda t: f(t, True))
    same(lambda t: f(t, False))


def test_function_saved_tensors_freed_and_version():
    def f(t, mode):
        x = t.tensor([1.0, 2.0], requires_grad=True)
        y = _cube(t).apply(x * 1, 1.0)
        if mode == "free":
            y.sum().backward()
            return y.grad_fn.saved_tensors
        h = x * 1
        y = _cube(t).apply(h, 1.0)
        h.add_(1)
        y.sum().backward()

    same(lambda t: f(t, "free"))
    same(lambda t: f(t, "version"))


def test_function_returning_input_and_no_grad_inputs():
    def f(t):
        class Ident(t.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x

            @staticmethod
            def backward(ctx, g):
                return g * 5

        x = t.tensor([1.0, 2.0], requires_grad=True)
        y = Ident.apply(x)
        y.sum().backward()
        z = Ident.apply(t.ones(2))
        return y is x, x.grad, y.is_leaf, z.requires_grad

    same(f)


# ---- gradcheck ------------------------------------------------------------------------------
def test_gradcheck_passes_and_fails():
    x = ember.tensor([0.3, -0.8, 1.5], dtype=ember.float64, requires_grad=True)
    y = ember.tensor([[0.1, 0.2, 0.3]], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda a, b: (a * b).sin().exp(), (x, y))
    assert ember.autograd.gradgradcheck(lambda a, b: (a * b).sin().exp(), (x, y))
    assert ember.autograd.gradgradcheck(lambda a: a**3, (x,))

    class Wrong(ember.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a**2

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return g * a  # should be 2 * a

    from torch.autograd.gradcheck import GradcheckError as TorchGradcheckError

    from ember.autograd.gradcheck import GradcheckError

    with pytest.raises(GradcheckError) as info:
        ember.autograd.gradcheck(Wrong.apply, (x,))
    assert isinstance(info.value, RuntimeError)
    assert "Jacobian mismatch" in str(info.value)
    assert ember.autograd.gradcheck(Wrong.apply, (x,), raise_exception=False) is False
    assert issubclass(TorchGradcheckError, RuntimeError)


def test_gradgradcheck_fails_on_wrong_double_backward():
    class WrongSecond(ember.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a**3

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return g * 3 * (a.detach() ** 2)  # right value, but its own gradient is lost

    x = ember.tensor([0.3, -0.8], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(WrongSecond.apply, (x,))
    with pytest.raises(RuntimeError):
        ember.autograd.gradgradcheck(WrongSecond.apply, (x,))


# ---- the engine -----------------------------------------------------------------------------
def test_diamond_graph():
    check(lambda t, x: (x.sin() * x.cos() + x.exp() * x.sin()) * x, np.array([0.3, 1.2, -2.0]))

    def f(t):
        x = t.tensor([1.0, 2.0], requires_grad=True)
        a = x * 2
        b, c = a * a, a.exp()
        d = b + c + a
        d.sum().backward()
        return x.grad

    same(f)


def test_deep_chain_backward_and_deletion():
    x = ember.tensor(1.5, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = -y
    first = weakref.ref(y.grad_fn)
    y.backward(retain_graph=True)
    assert x.grad.item() == 1.0
    y.backward()  # neg saved nothing: walking the graph again is allowed, as in torch
    assert x.grad.item() == 2.0
    limit = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(100)  # freeing the chain must not recurse in Python
        del y
        gc.collect()
    finally:
        sys.setrecursionlimit(limit)
    assert first() is None


def test_chain_saved_tensors_freed():
    x = ember.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(2000):
        y = y * x
    node = weakref.ref(y.grad_fn)
    y.backward()
    assert x.grad.item() == 2001.0
    assert node()._saved is None
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_only_needed_branches_run():
    def f(t):
        calls = []

        def rec(name):
            class Rec(t.autograd.Function):
                @staticmethod
                def forward(ctx, x):
                    return x * 2

                @staticmethod
                def backward(ctx, g):
                    calls.append(name)
                    return g * 2

            return Rec

        a = t.tensor([1.0], requires_grad=True)
        b = t.tensor([2.0], requires_grad=True)
        out = (rec("a").apply(a) + rec("b").apply(b)).sum()
        (ga,) = t.autograd.grad(out, a, retain_graph=True)
        out.backward(inputs=[b])
        return ga, a.grad, b.grad, calls

    same(f)


def test_second_backward_errors_and_ops_without_saved():
    def f(t):
        x = t.tensor([1.0, 2.0], requires_grad=True)
        y = (x * x).sum()
        y.backward()
        y.backward()

    same(f)

    def g(t):
        x = t.tensor([1.0, 2.0], requires_grad=True)
        y = (x + 1).sum()
        y.backward()
        y.backward()  # nothing was saved: torch allows it
        return x.grad

    same(g)

    def h(t):
        x = t.tensor([1.0, 2.0], requires_grad=True)
        y = (x * x).sum()
        t.autograd.grad(y, x)
        t.autograd.grad(y, x)

    same(h)


def test_saved_tensors_released_after_backward():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    big = ember.ones(1000, 1000)
    y = (x.sum() * big).sum()
    ref = weakref.ref(y.grad_fn.next_functions[0][0])
    y.backward()
    assert ref() is not None and ref()._saved is None


# ---- in-place rules -------------------------------------------------------------------------
def test_inplace_allowed_cases():
    def f(t):
        x = t.tensor([1.0, -2.0, 3.0], requires_grad=True)
        w = t.tensor([0.5, 2.0, -1.0], requires_grad=True)
        y = x * 2
        y.add_(1)
        h = x + 0
        h.mul_(w)
        (y.sum() + h.sum()).backward()
        return x.grad, w.grad

    same(f)


def test_inplace_version_errors():
    def exp_output(t):
        x = t.tensor([1.0, 2.0], requires_grad=True)
        y = x.exp()
        y.add_(1)
        y.sum().backward()

    def mul_input(t):
        x = t.tensor([1.0, 2.0], requires_grad=True)
        h = x * 1
        y = h * h
        h.mul_(2)
        y.sum().backward()

    def view_modified(t):
        x = t.tensor([1.0, 2.0, 3.0], requires_grad=True)
        h = x * 1
        y = h.sin()
        h[0] = 5.0
        y.sum().backward()

    def add_input_ok(t):
        x = t.tensor([1.0, 2.0], requires_grad=True)
        h = x * 1
        y = h + 2
        h.mul_(3)
        y.sum().backward()
        return x.grad, h

    for fn in (exp_output, mul_input, view_modified, add_input_ok):
        same(fn)


def test_inplace_leaf_rules():
    def leaf(t):
        x = t.ones(3, requires_grad=True)
        x.add_(1)

    def leaf_view(t):
        x = t.ones(3, requires_grad=True)
        x[1:].mul_(2)

    def leaf_setitem(t):
        x = t.ones(3, requires_grad=True)
        x[0] = 2.0

    def leaf_no_grad(t):
        x = t.ones(3, requires_grad=True)
        with t.no_grad():
            x.mul_(2)
            x[0] = 5.0
        (x * x).sum().backward()
        return x, x.grad, x.is_leaf

    for fn in (leaf, leaf_view, leaf_setitem, leaf_no_grad):
        same(fn)


def test_inplace_through_views_copyslices():
    def f(t):
        x = t.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
        w = t.tensor([2.0, -1.0], requires_grad=True)
        h = x * 1
        h[:, 1].mul_(w)
        h.t()[0].add_(w)
        v = h.view(3, 2)
        v[2] = v[2] * 3
        (h * h).sum().backward()
        return h, x.grad, w.grad, h.grad_fn.name()

    same(f)


def test_view_of_nonleaf_gets_new_grad_fn():
    def f(t):
        x = t.tensor([1.0, 2.0, 3.0], requires_grad=True)
        h = x.exp()
        v = h[1:]
        v.mul_(2)
        (v.sum() + h.sum()).backward()

    same(f)

    def g(t):
        x = t.tensor([1.0, 2.0, 3.0], requires_grad=True)
        h = x * 1
        v = h[1:]
        v.mul_(2)
        (v * v).sum().backward()
        return x.grad, h

    same(g)


def test_inplace_on_tensor_not_requiring_grad_with_grad_operand():
    def f(t):
        a = t.zeros(3)
        x = t.tensor([1.0, 2.0, 3.0], requires_grad=True)
        a.add_(x * x)
        a[0] = x[1] * 4
        a.sum().backward()
        return a.requires_grad, a.is_leaf, x.grad

    same(f)


def test_int_tensor_requires_grad():
    same(lambda t: t.zeros(2, dtype=t.int32).requires_grad_())


def test_views_detach_and_no_grad_views():
    def detach_view_(t):
        x = t.ones(3, requires_grad=True)
        x[:2].detach_()

    def detach_plain_view_(t):
        t.ones(3)[:2].detach_()

    def no_grad_view(t):
        h = t.ones(3, requires_grad=True) * 1
        with t.no_grad():
            v = h[:2]
        v.mul_(2)

    def no_grad_view_of_leaf(t):
        x = t.ones(3, requires_grad=True)
        with t.no_grad():
            v = x[:2]
        v.mul_(2)

    def no_grad_view_inplace_in_no_grad(t):
        x = t.ones(3, requires_grad=True)
        with t.no_grad():
            v = x[:2]
            v.mul_(2)
        return x

    def detached_view_is_not_a_view(t):
        x = t.ones(3, requires_grad=True)
        h = x * 1
        w = t.tensor([2.0, 3.0], requires_grad=True)
        d = x[:2].detach()
        d.mul_(2)
        e = h[1:].detach()
        e.mul_(w)
        e.sum().backward()
        return x, h, h.grad_fn.name(), d.is_leaf, e.grad_fn.name(), w.grad, x.grad

    for fn in (detach_view_, detach_plain_view_, no_grad_view, no_grad_view_of_leaf,
               no_grad_view_inplace_in_no_grad, detached_view_is_not_a_view):
        same(fn)


def test_hook_details():
    def used_twice(t):
        calls = []
        a = t.tensor([1.0, 2.0], requires_grad=True)
        a.register_hook(lambda g: calls.append(g.tolist()))
        y = a * 2
        y.register_hook(lambda g: calls.append(("y", g.tolist())))
        (y * y + y + a).sum().backward()
        return calls, a.grad

    def post_accumulate(t):
        calls = []
        a = t.tensor([1.0, 2.0], requires_grad=True)
        h = a.register_post_accumulate_grad_hook(lambda p: calls.append(p.grad.tolist()))
        (a * 3).sum().backward()
        t.autograd.grad((a * 3).sum(), a)  # nothing is accumulated: no call
        (a * 3).sum().backward(inputs=[a])
        h.remove()
        (a * 3).sum().backward()
        return calls

    def hook_changes_size(t):
        a = t.tensor([1.0, 2.0], requires_grad=True)
        a.register_hook(lambda g: t.ones(3))
        (a * 2).sum().backward()

    for fn in (used_twice, post_accumulate, hook_changes_size):
        same(fn)
    same(lambda t: (t.ones(2, requires_grad=True) * 2).register_post_accumulate_grad_hook(print))
    same(lambda t: t.ones(2).register_post_accumulate_grad_hook(print))
    same(lambda t: setattr(t.ones(2, requires_grad=True) * 2, "requires_grad", True))


def test_training_step_pattern():
    def f(t):
        w = t.tensor([1.0, 2.0], requires_grad=True)
        for _ in range(3):
            loss = ((w * 3 - 1) ** 2).sum()
            loss.backward()
            with t.no_grad():
                w -= 0.01 * w.grad
            w.grad.zero_()
        return w, w.is_leaf, w.grad, w._version

    same(f)


def test_gradient_dtype_and_non_float_outputs():
    def f(t):
        a = t.tensor([1.0, 2.0], requires_grad=True)
        (a * 2).backward(t.tensor([1, 1]))
        b = t.tensor([1.0, 2.0], requires_grad=True)
        (b * 2).backward(t.tensor([1.0, 1.0], dtype=t.float64))
        with t.no_grad():
            c = a * 2
        return (a.grad, b.grad, (a > 1).requires_grad, (a > 1).grad_fn, a.long().requires_grad,
                c.is_leaf, c.requires_grad)

    same(f)


def _scale_fn(t, bwd, multi=False):
    class F(t.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            return (x * k, 3) if multi else x * k

        @staticmethod
        def backward(ctx, g, *rest):
            return bwd(t, g)

    return F


@pytest.mark.parametrize("bwd", [
    lambda t, g: (g, t.ones(1)),  # a gradient for the non-tensor k
    lambda t, g: (t.ones(3), None),  # wrong shape
    lambda t, g: (t.ones(1), None),  # broadcastable is still wrong
    lambda t, g: (1.0, None),  # not a tensor
    lambda t, g: (g * 2, None),
])
def test_function_backward_validation(bwd):
    def f(t):
        x = t.tensor([1.0, 2.0], requires_grad=True)
        _scale_fn(t, bwd).apply(x, 2.0).sum().backward()
        return x.grad

    same(f)


def test_function_misc():
    def outputs(t):
        x = t.tensor([1.0, 2.0], requires_grad=True)
        out = _scale_fn(t, lambda t, g: (g, None), multi=True).apply(x, 2.0)
        with t.no_grad():
            y = _scale_fn(t, lambda t, g: (g, None)).apply(x, 2.0)
        return [type(o).__name__ for o in out], y.requires_grad, y.grad_fn

    def non_differentiable_grad_is_zeros(t):
        seen = []

        class F(t.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                a, b = x * 2, x * 3
                ctx.mark_non_differentiable(b)
                return a, b

            @staticmethod
            def backward(ctx, ga, gb):
                seen.append(gb)
                return ga

        x = t.tensor([1.0, 2.0], requires_grad=True)
        a, b = F.apply(x)
        (a.sum() + b.sum()).backward()
        return seen, b.requires_grad, x.grad

    def saved_output_and_none(t):
        class Exp(t.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                y = x.exp()
                ctx.save_for_backward(y, None)
                return y

            @staticmethod
            def backward(ctx, g):
                y, none = ctx.saved_tensors
                assert none is None
                return g * y

        a = t.tensor([0.5, 1.0], requires_grad=True)
        y = Exp.apply(a)
        (g,) = t.autograd.grad(y.sum(), a, create_graph=True)
        (g2,) = t.autograd.grad(g.sum(), a)
        y2 = Exp.apply(a)
        y2.add_(1)  # Exp saved its output
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y2.sum().backward()
        return g2

    for fn in (outputs, non_differentiable_grad_is_zeros, saved_output_and_none):
        same(fn)


def test_legacy_variable():
    def f(t):
        from importlib import import_module

        variable = import_module(t.__name__ + ".autograd").Variable
        a = t.ones(2)
        v = variable(a, requires_grad=True)
        h = t.ones(2, requires_grad=True) * 2
        v2 = variable(h)
        (v * 3).sum().backward()
        return (v is a, v.requires_grad, a.requires_grad, isinstance(a, variable), v.grad,
                v2.grad_fn, v2.requires_grad, v2 is h, type(v).__name__)

    same(f)
    same(lambda t: t.autograd.Variable([1.0, 2.0]))
    same(lambda t: t.autograd.Variable(t.ones(2, dtype=t.int64), requires_grad=True))


@pytest.mark.parametrize("order", ["outer_first", "inner_first"])
@pytest.mark.parametrize("api", ["grad", "backward"])
def test_roots_that_reach_each_other(order, api):
    """One output computed from another: each node's edges counted once, as in torch."""
    results = []
    for t in (ember, torch):
        x = t.tensor([1.0, 2.0, 3.0], requires_grad=True)
        a = x * 2
        b = (a * 3).sin()
        outs = [b, a] if order == "outer_first" else [a, b]
        ones = [t.ones(3), t.ones(3)]
        if api == "grad":
            (g,) = t.autograd.grad(outs, [x], ones)
        else:
            t.autograd.backward(outs, ones)
            g = x.grad
        results.append(g.detach().numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)
