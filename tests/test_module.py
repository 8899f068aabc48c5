"""nn.Module machinery against PyTorch: registration, naming, state_dict, hooks, printing."""
import numpy as np
import pytest
import torch

import ember


def build(t):
    """The same small model, written once against the PyTorch API."""

    class Block(t.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = t.nn.Parameter(t.ones(3, 2) * 0.5)
            self.bias = t.nn.Parameter(t.zeros(2))
            self.register_buffer("running", t.zeros(2))
            self.register_buffer("scratch", t.zeros(1), persistent=False)

        def forward(self, x):
            return x @ self.weight + self.bias + self.running

    class Net(t.nn.Module):
        def __init__(self):
            super().__init__()
            self.first = Block()
            self.layers = t.nn.ModuleList([Block()])
            self.heads = t.nn.ModuleDict({"a": t.nn.Sequential()})
            self.shared = self.first  # the same module twice: named once
            self.extra = t.nn.ParameterList([t.nn.Parameter(t.ones(2))])

        def forward(self, x):
            return self.first(x).sum() + self.layers[0](x).sum() + self.extra[0].sum()

    return Net()


def test_names_and_order_match_torch():
    e, r = build(ember), build(torch)
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in r.named_parameters()]
    assert [n for n, _ in e.named_buffers()] == [n for n, _ in r.named_buffers()]
    assert list(e.state_dict().keys()) == list(r.state_dict().keys())
    assert [n for n, _ in e.named_modules()] == [n for n, _ in r.named_modules()]
    assert [n for n, _ in e.named_children()] == [n for n, _ in r.named_children()]
    assert len(list(e.parameters())) == len(list(r.parameters()))
    assert [n for n, _ in e.named_parameters(prefix="m", recurse=False)] == \
        [n for n, _ in r.named_parameters(prefix="m", recurse=False)]


def test_repr_matches_torch():
    assert repr(build(ember)) == repr(build(torch))
    assert repr(ember.nn.Sequential()) == repr(torch.nn.Sequential())


def test_train_eval_zero_grad_requires_grad():
    m = build(ember)
    assert m.training and m.first.training
    m.eval()
    assert not m.training and not m.layers[0].training
    x = ember.ones(4, 3)
    m(x).backward()
    assert m.first.weight.grad is not None
    m.zero_grad()
    assert m.first.weight.grad is None
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_state_dict_roundtrip_and_errors():
    a, b = build(ember), build(ember)
    with ember.no_grad():
        a.first.weight.mul_(3)
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(b.first.weight.detach().numpy(), a.first.weight.detach().numpy())
    sd = a.state_dict()
    sd["bogus"] = ember.zeros(1)
    del sd["first.bias"]
    with pytest.raises(RuntimeError, match="Missing key.*first.bias.*\n?.*Unexpected key.*bogus"):
        b.load_state_dict(sd)
    r = b.load_state_dict(sd, strict=False)
    assert "first.bias" in r.missing_keys or r.missing_keys == []
    sd = a.state_dict()
    sd["first.weight"] = ember.zeros(2, 2)
    with pytest.raises(RuntimeError, match="size mismatch for first.weight"):
        b.load_state_dict(sd)


def test_load_state_dict_from_torch_values():
    e, r = build(ember), build(torch)
    with torch.no_grad():
        for p in r.parameters():
            p.copy_(torch.randn(p.shape))
    e.load_state_dict({k: ember.tensor(v.numpy()) for k, v in r.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(e(ember.tensor(x)).item(), r(torch.tensor(x)).item(), rtol=1e-5)


def test_forward_hooks_match_torch():
    def run(t):
        m = build(t)
        calls = []
        h1 = m.first.register_forward_pre_hook(lambda mod, args: (args[0] * 2,))
        m.first.register_forward_hook(lambda mod, args, out: calls.append(tuple(out.shape)) or out + 1)
        out = m(t.ones(2, 3))
        h1.remove()
        out2 = m(t.ones(2, 3))
        return out.item(), out2.item(), calls

    assert run(ember) == run(torch)


def test_full_backward_hook_matches_torch():
    def run(t):
        m = build(t)
        seen = {}

        def hook(mod, grad_input, grad_output):
            seen["in"] = [g.detach().numpy().copy() for g in grad_input]
            seen["out"] = [g.detach().numpy().copy() for g in grad_output]
            return (grad_input[0] * 10,)

        m.first.register_full_backward_hook(hook)
        x = t.ones(2, 3, requires_grad=True)
        m(x).backward()
        return seen, x.grad.numpy()

    (es, eg), (ts, tg) = run(ember), run(torch)
    for k in ("in", "out"):
        for a, b in zip(es[k], ts[k]):
            np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(eg, tg)


def test_parameter_behaviour():
    p = ember.nn.Parameter(ember.ones(2))
    q = torch.nn.Parameter(torch.ones(2))
    assert repr(p) == repr(q)
    assert p.requires_grad and p.is_leaf and isinstance(p, ember.Tensor)
    assert not ember.nn.Parameter(ember.ones(1), requires_grad=False).requires_grad
    m = ember.nn.Module()
    with pytest.raises(TypeError):
        m.register_parameter("w", ember.ones(1))
    m.w = p
    with pytest.raises(TypeError):
        m.w = ember.ones(2)
    import copy

    m2 = copy.deepcopy(m)
    assert m2.w is not m.w and np.array_equal(m2.w.detach().numpy(), m.w.detach().numpy())


def test_sequential_and_lists():
    def seq(t):
        return t.nn.Sequential(t.nn.Sequential(), t.nn.Sequential(), t.nn.Sequential())

    e, r = seq(ember), seq(torch)
    assert len(e) == len(r) == 3
    assert repr(e[1:]) == repr(r[1:])
    e.append(ember.nn.Sequential())
    assert len(e) == 4
    ml = ember.nn.ModuleList([ember.nn.Sequential()])
    ml += [ember.nn.Sequential()]
    assert len(ml) == 2 and len(list(ml.modules())) == 3
    with pytest.raises(IndexError):
        ml[5]
    pd = ember.nn.ParameterDict({"a": ember.ones(1)})
    assert isinstance(pd["a"], ember.nn.Parameter) and "a" in pd


def test_apply_and_to_dtype():
    m = build(ember)
    m.double()
    assert all(p.dtype == ember.float64 for p in m.parameters())
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen[-1] == "Net"
    with pytest.raises(TypeError):
        m.to(ember.int64)


def test_get_submodule():
    m = build(ember)
    assert m.get_submodule("layers.0") is m.layers[0]
    assert m.get_parameter("first.weight") is m.first.weight
    with pytest.raises(AttributeError):
        m.get_submodule("nope")
