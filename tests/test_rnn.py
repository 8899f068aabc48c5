"""Recurrent layers, cells and nn.utils.rnn against PyTorch: values, final states and every grad."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import _flat, _np, assert_close, check, check_raises, rand

import ember

TOL = {np.float64: (1e-10, 1e-10), np.float32: (1e-5, 1e-5)}


def _pair(name: str, *args, dtype=np.float64, **kwargs):
    """The torch module, and the ember module holding the same weights."""
    torch.manual_seed(0)
    tm = getattr(torch.nn, name)(*args, **kwargs)
    em = getattr(ember.nn, name)(*args, **kwargs)
    if dtype == np.float64:
        tm, em = tm.double(), em.double()
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return tm, em


def _wrap(lib, x):
    if x is None:
        return None
    if isinstance(x, tuple):
        return tuple(_wrap(lib, i) for i in x)
    t = lib.from_numpy(x.copy())
    return t.requires_grad_(True) if x.dtype.kind == "f" else t


def _compare(tm, em, call, *inputs, dtype=np.float64) -> None:
    """Run ``call(lib, module, *tensors)`` with both; compare outputs, input and weight grads."""
    rtol, atol = TOL[dtype]
    t_in, e_in = [_wrap(torch, x) for x in inputs], [_wrap(ember, x) for x in inputs]
    t_out, e_out = _flat(call(torch, tm, *t_in)), _flat(call(ember, em, *e_in))
    assert len(t_out) == len(e_out)
    for i, (e, r) in enumerate(zip(e_out, t_out)):
        if isinstance(r, torch.Tensor) or r is not None:
            assert_close(e, r, rtol, atol, what=f"output {i}")
        else:
            assert e is None
    rng = np.random.default_rng(1)
    pairs = [(e, r) for e, r in zip(e_out, t_out)
             if isinstance(r, torch.Tensor) and r.requires_grad]
    ws = [rng.standard_normal(r.shape).astype(dtype) for _, r in pairs]
    sum((r * torch.from_numpy(w)).sum() for (_, r), w in zip(pairs, ws)).backward()
    sum((e * ember.from_numpy(w)).sum() for (e, _), w in zip(pairs, ws)).backward()
    for i, (e, r) in enumerate(zip(_flat(e_in), _flat(t_in))):
        if isinstance(r, torch.Tensor) and r.requires_grad:
            assert_close(e.grad, r.grad, rtol, atol, what=f"grad of input {i}")
    t_params = dict(tm.named_parameters())
    e_params = dict(em.named_parameters())
    assert list(e_params) == list(t_params)
    for name, p in t_params.items():
        assert_close(e_params[name].grad, p.grad, rtol, atol, what=f"grad of {name}")


def _call(lib, m, x, hx=None):
    return m(x) if hx is None else m(x, hx)


def _states(name: str, layers: int, batch: tuple, hidden: int, proj: int = 0, seed: int = 3):
    h = rand(layers, *batch, proj or hidden, seed=seed)
    if name == "LSTM":
        return (h, rand(layers, *batch, hidden, seed=seed + 1))
    return h


CONFIGS = [
    {},
    {"num_layers": 2},
    {"bidirectional": True},
    {"num_layers": 2, "bidirectional": True, "batch_first": True},
    {"bias": False, "num_layers": 2},
]


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("kw", CONFIGS, ids=lambda kw: "-".join(kw) or "default")
def test_layers_float64(name, kw):
    tm, em = _pair(name, 3, 5, **kw)
    x = rand(6, 4, 3) if not kw.get("batch_first") else rand(4, 6, 3)
    _compare(tm, em, _call, x)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_layers_initial_states(name):
    tm, em = _pair(name, 3, 5, num_layers=2, bidirectional=True)
    _compare(tm, em, _call, rand(6, 4, 3), _states(name, 4, (4,), 5))


def test_rnn_relu():
    tm, em = _pair("RNN", 3, 5, 2, "relu", bidirectional=True)
    _compare(tm, em, _call, rand(6, 4, 3), _states("RNN", 4, (4,), 5))


@pytest.mark.parametrize("kw", [{}, {"num_layers": 2, "bidirectional": True, "batch_first": True}])
def test_lstm_proj(kw):
    tm, em = _pair("LSTM", 3, 6, proj_size=2, **kw)
    x = rand(4, 5, 3)
    _compare(tm, em, _call, x)
    layers = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
    batch = 4 if kw.get("batch_first") else 5
    _compare(tm, em, _call, x, _states("LSTM", layers, (batch,), 6, proj=2))


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_layers_float32(name):
    tm, em = _pair(name, 3, 8, num_layers=2, bidirectional=True, batch_first=True,
                   dtype=np.float32)
    x = rand(3, 7, 3, dtype=np.float32)
    _compare(tm, em, _call, x, dtype=np.float32)
    states = _states(name, 4, (3,), 8)
    states = tuple(s.astype(np.float32) for s in states) if name == "LSTM" else states.astype(
        np.float32)
    _compare(tm, em, _call, x, states, dtype=np.float32)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_unbatched(name):
    tm, em = _pair(name, 3, 5, num_layers=2, bidirectional=True, batch_first=True)
    x = rand(6, 3)
    _compare(tm, em, _call, x)
    _compare(tm, em, _call, x, _states(name, 4, (), 5))


def _packed_call(lengths, batch_first=False, total_length=None):
    def call(lib, m, x, hx=None):
        rnn = lib.nn.utils.rnn
        packed = rnn.pack_padded_sequence(x, lengths, batch_first=batch_first,
                                          enforce_sorted=False)
        out, h = m(packed) if hx is None else m(packed, hx)
        assert isinstance(out, rnn.PackedSequence)
        padded, lens = rnn.pad_packed_sequence(out, batch_first=batch_first,
                                               total_length=total_length)
        return out.data, out.batch_sizes, out.sorted_indices, out.unsorted_indices, padded, \
            lens, h
    return call


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_packed_unsorted(name):
    lengths = [3, 6, 1, 4]
    kw = {"num_layers": 2, "bidirectional": True}
    tm, em = _pair(name, 3, 5, **kw)
    x = rand(6, 4, 3)
    _compare(tm, em, _packed_call(lengths), x)
    _compare(tm, em, _packed_call(lengths, total_length=8), x, _states(name, 4, (4,), 5))


def test_packed_lstm_proj_batch_first():
    lengths = torch.tensor([2, 5, 5, 3])
    tm, em = _pair("LSTM", 3, 6, proj_size=4, batch_first=True, bidirectional=True)
    _compare(tm, em, _packed_call(lengths, batch_first=True), rand(4, 5, 3),
             _states("LSTM", 2, (4,), 6, proj=4))


def test_packed_sorted_float32():
    tm, em = _pair("GRU", 3, 5, dtype=np.float32)

    def call(lib, m, x):
        packed = lib.nn.utils.rnn.pack_padded_sequence(x, [5, 3, 3, 1])
        out, h = m(packed)
        return out.data, h, out.sorted_indices
    _compare(tm, em, call, rand(5, 4, 3, dtype=np.float32), dtype=np.float32)


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("bias", [True, False])
def test_cells(name, bias):
    tm, em = _pair(name, 3, 5, bias=bias)
    x = rand(4, 3)
    _compare(tm, em, _call, x)
    h = rand(4, 5, seed=1)
    _compare(tm, em, _call, x, (h, rand(4, 5, seed=2)) if name == "LSTMCell" else h)
    h1 = rand(5, seed=1)
    _compare(tm, em, _call, rand(3), (h1, rand(5, seed=2)) if name == "LSTMCell" else h1)
    _compare(tm, em, _call, rand(3))


def test_rnn_cell_relu_float32():
    tm, em = _pair("RNNCell", 3, 5, nonlinearity="relu", dtype=np.float32)
    _compare(tm, em, _call, rand(4, 3, dtype=np.float32), rand(4, 5, dtype=np.float32, seed=1),
             dtype=np.float32)


def test_cell_loop_matches_layer():
    """A cell unrolled over time gives the layer's output (same weights, renamed)."""
    lstm = ember.nn.LSTM(3, 4)
    cell = ember.nn.LSTMCell(3, 4)
    cell.load_state_dict({k[:-3]: v for k, v in lstm.state_dict().items()})
    x = ember.randn(5, 2, 3)
    _, (h, c) = lstm(x)
    state = None
    for t in range(5):
        state = cell(x[t], state)
    np.testing.assert_allclose(state[0].detach().numpy(), h[0].detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(state[1].detach().numpy(), c[0].detach().numpy(), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("args, kwargs", [
    ((3, 4), {}),
    ((3, 4), {"nonlinearity": "relu"}),
    ((64, 128), {"batch_first": True}),
    ((3, 4, 2, "relu", False, True, 0.5, True), {}),
])
def test_rnn_repr(args, kwargs):
    assert repr(ember.nn.RNN(*args, **kwargs)) == repr(torch.nn.RNN(*args, **kwargs))


@pytest.mark.parametrize("name", ["LSTM", "GRU"])
@pytest.mark.parametrize("kwargs", [
    {}, {"batch_first": True}, {"num_layers": 3, "bias": False, "dropout": 0.25,
                                "bidirectional": True},
])
def test_layer_repr_and_state_dict(name, kwargs):
    tm, em = getattr(torch.nn, name)(64, 128, **kwargs), getattr(ember.nn, name)(64, 128, **kwargs)
    assert repr(em) == repr(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    assert [tuple(p.shape) for p in em.parameters()] == [tuple(p.shape) for p in tm.parameters()]
    assert em._flat_weights_names == tm._flat_weights_names


def test_lstm_proj_repr_and_names():
    kw = {"num_layers": 2, "bidirectional": True, "proj_size": 3, "batch_first": True}
    tm, em = torch.nn.LSTM(5, 8, **kw), ember.nn.LSTM(5, 8, **kw)
    assert repr(em) == repr(tm)
    assert [(n, tuple(p.shape)) for n, p in em.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in tm.named_parameters()]
    assert len(em.all_weights) == len(tm.all_weights) == 4


@pytest.mark.parametrize("name, kw", [
    ("RNNCell", {}), ("RNNCell", {"bias": False, "nonlinearity": "relu"}),
    ("LSTMCell", {}), ("GRUCell", {"bias": False}),
])
def test_cell_repr(name, kw):
    tm, em = getattr(torch.nn, name)(3, 4, **kw), getattr(ember.nn, name)(3, 4, **kw)
    assert repr(em) == repr(tm)
    assert list(em.state_dict()) == list(tm.state_dict())


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"])
def test_default_init_range(name):
    ember.manual_seed(0)
    m = getattr(ember.nn, name)(3, 16)
    bound = 1 / math.sqrt(16)
    for p in m.parameters():
        a = p.detach().numpy()
        assert a.dtype == np.float32
        assert np.all(np.abs(a) <= bound)
        assert a.max() - a.min() > bound  # spread over the range, not constant


def test_dropout_between_layers():
    tm, em = _pair("LSTM", 3, 5, num_layers=3, dropout=0.5, dtype=np.float32)
    x = rand(6, 2, 3, dtype=np.float32)
    em.eval()
    tm.eval()
    _compare(tm, em, _call, x, dtype=np.float32)  # identity in eval mode
    em.train()
    ember.manual_seed(0)
    train_out = em(ember.from_numpy(x))[0].detach().numpy()
    eval_out = em.eval()(ember.from_numpy(x))[0].detach().numpy()
    assert not np.allclose(train_out, eval_out)
    one = ember.nn.GRU(3, 5)  # a single layer has no dropout even when training
    one.train()
    a, b = one(ember.from_numpy(x))[0], one.eval()(ember.from_numpy(x))[0]
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_dropout_single_layer_warns():
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        ember.nn.LSTM(3, 4, dropout=0.5)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_empty_batch(name):
    tm, em = _pair(name, 3, 4, bidirectional=True)
    _compare(tm, em, _call, rand(5, 0, 3))


@pytest.mark.parametrize("name", ["GRU", "LSTM"])
def test_double_backward(name):
    """The layers are built from differentiable ops, so grad-of-grad matches torch."""
    tm, em = _pair(name, 3, 4)

    def call(lib, m, x):
        (g,) = lib.autograd.grad(m(x)[0].pow(2).sum(), x, create_graph=True)
        return g
    _compare(tm, em, call, rand(3, 2, 3))


def test_lstm_double_backward_packed_states():
    """The fused LSTM's create_graph backward (a replay in ember ops) on a packed, reversed
    walk with initial states: grad of grad of input, states and weights match torch."""
    tm, em = _pair("LSTM", 3, 4, bidirectional=True)

    def call(lib, m, x, h0, c0):
        packed = lib.nn.utils.rnn.pack_padded_sequence(x, [4, 2, 1], enforce_sorted=False)
        out, (h, c) = m(packed, (h0, c0))
        loss = out.data.pow(2).sum() + (h * c).sum()
        return lib.autograd.grad(loss, (x, h0, c0), create_graph=True)
    _compare(tm, em, call, rand(4, 3, 3), *_states("LSTM", 2, (3,), 4))



@pytest.mark.parametrize("fn", [
    lambda t: t.nn.RNN(3, 4, nonlinearity="foo"),
    lambda t: t.nn.RNN(3, 4, dropout=1.5),
    lambda t: t.nn.LSTM(3, 4, dropout=True),
    lambda t: t.nn.GRU(3, 0),
    lambda t: t.nn.GRU(3, 4, num_layers=0),
    lambda t: t.nn.GRU(3, 4, proj_size=2),
    lambda t: t.nn.RNN(3, 4, proj_size=2),
    lambda t: t.nn.LSTM(3, 4, proj_size=4),
    lambda t: t.nn.LSTM(3, 4, proj_size=-1),
    lambda t: t.nn.LSTM(3, 4.0),
    lambda t: t.nn.LSTM(3, 4)(t.zeros(5, 2, 5)),
    lambda t: t.nn.GRU(3, 4, batch_first=True)(t.zeros(2, 5, 4)),
    lambda t: t.nn.LSTM(3, 4)(t.zeros(5, 2, 3, 1)),
    lambda t: t.nn.RNN(3, 4)(t.zeros(5)),
    lambda t: t.nn.LSTM(3, 4)(t.zeros(5, 2, 3), (t.zeros(2, 2, 4), t.zeros(1, 2, 4))),
    lambda t: t.nn.LSTM(3, 4)(t.zeros(5, 2, 3), (t.zeros(1, 2, 4), t.zeros(1, 3, 4))),
    lambda t: t.nn.LSTM(3, 4)(t.zeros(5, 2, 3), (t.zeros(2, 4), t.zeros(2, 4))),
    lambda t: t.nn.LSTM(3, 4, proj_size=2)(t.zeros(5, 2, 3), (t.zeros(1, 2, 4), t.zeros(1, 2, 4))),
    lambda t: t.nn.GRU(3, 4)(t.zeros(5, 2, 3), t.zeros(1, 4)),
    lambda t: t.nn.GRU(3, 4)(t.zeros(5, 3), t.zeros(1, 2, 4)),
    lambda t: t.nn.GRU(3, 4)(t.zeros(5, 2, 3), t.zeros(1, 2, 5)),
    lambda t: t.nn.GRU(3, 4, bidirectional=True)(t.zeros(5, 2, 3), t.zeros(1, 2, 4)),
    lambda t: t.nn.GRUCell(3, 4)(t.zeros(5, 2, 3)),
    lambda t: t.nn.GRUCell(3, 4)(t.zeros(5, 2)),
    lambda t: t.nn.GRUCell(3, 4)(t.zeros(5, 3), t.zeros(4, 4)),
    lambda t: t.nn.GRUCell(3, 4)(t.zeros(5, 3), t.zeros(5, 5)),
    lambda t: t.nn.LSTMCell(3, 4)(t.zeros(5, 3), (t.zeros(5, 4), t.zeros(5, 3))),
    lambda t: t.nn.RNNCell(3, 4)(t.zeros(3), t.zeros(1, 4)),
    lambda t: t.nn.RNNCell(3, 4, nonlinearity="x")(t.zeros(2, 3)),
    lambda t: t.nn.RNNCell(3, 4)(t.zeros(2, 3), t.zeros(1, 2, 4)),
    lambda t: t.nn.LSTM(3, 4)(t.zeros(5, 2, 3, dtype=t.float64)),
    lambda t: t.nn.GRU(3, 4)(t.zeros(0, 2, 3)),
    lambda t: t.nn.LSTM(3, 4)(t.zeros(5, 2, 3), t.zeros(1, 2, 4)),
], ids=range(33))
def test_errors(fn):
    check_raises(fn)


# ---- nn.utils.rnn ---------------------------------------------------------------------------


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence(batch_first, side):
    seqs = [rand(2, 3), rand(4, 3, seed=1), rand(1, 3, seed=2)]
    check(lambda t, a, b, c: t.nn.utils.rnn.pad_sequence(
        [a, b, c], batch_first=batch_first, padding_value=-1.5, padding_side=side), *seqs)
    check(lambda t, a, b: t.nn.utils.rnn.pad_sequence((a, b), batch_first), rand(3), rand(5))


def test_pad_sequence_int_and_tensor_input():
    check(lambda t, a, b: t.nn.utils.rnn.pad_sequence([a, b], padding_value=7),
          rand(2, dtype=np.int64), rand(4, dtype=np.int64, seed=1))
    check(lambda t, x: t.nn.utils.rnn.pad_sequence(x), rand(3, 2, 4))


@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_sequence_roundtrip(enforce_sorted):
    seqs = [rand(4, 2), rand(4, 2, seed=1), rand(2, 2, seed=2), rand(1, 2, seed=3)]

    def fn(t, *s):
        p = t.nn.utils.rnn.pack_sequence(list(s), enforce_sorted=enforce_sorted)
        padded, lengths = t.nn.utils.rnn.pad_packed_sequence(p, batch_first=True,
                                                             padding_value=2.0, total_length=6)
        return p.data, p.batch_sizes, p.sorted_indices, p.unsorted_indices, padded, lengths
    check(fn, *seqs)
    if not enforce_sorted:
        check(fn, *[seqs[i] for i in (2, 0, 3, 1)])


@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_padded_sequence_unsorted(batch_first):
    x = rand(5, 4, 3) if not batch_first else rand(4, 5, 3)

    def fn(t, x, lengths):
        p = t.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=batch_first,
                                                enforce_sorted=False)
        out, lens = t.nn.utils.rnn.pad_packed_sequence(p, batch_first=batch_first)
        return p, out, lens
    check(fn, x, np.array([2, 5, 1, 3], dtype=np.int64))
    check(fn, x, np.array([3, 3, 5, 3], dtype=np.int64))  # ties keep their order


def test_packed_sequence_namedtuple():
    p = ember.nn.utils.rnn.pack_sequence([ember.ones(3, 2), ember.ones(1, 2)])
    tp = torch.nn.utils.rnn.pack_sequence([torch.ones(3, 2), torch.ones(1, 2)])
    assert isinstance(p, tuple) and p._fields == tp._fields
    _, batch_sizes, si, ui = p
    assert batch_sizes.tolist() == tp.batch_sizes.tolist() and si is None and ui is None
    assert str(batch_sizes.dtype) == str(tp.batch_sizes.dtype)
    d = p.double()
    assert d.data.dtype == ember.float64 and d.batch_sizes is p.batch_sizes
    assert p.to(ember.float32) is p
    assert not p.is_cuda
    q = ember.nn.utils.rnn.PackedSequence(p.data, p.batch_sizes, ember.tensor([1, 0]))
    assert q.unsorted_indices.tolist() == [1, 0]


def test_unpad_and_unpack_sequence():
    seqs = [rand(3, 2), rand(1, 2, seed=1), rand(4, 2, seed=2)]

    def fn(t, a, b, c):
        rnn = t.nn.utils.rnn
        padded = rnn.pad_sequence([a, b, c], batch_first=True)
        lengths = t.tensor([3, 1, 4])
        return (rnn.unpad_sequence(padded, lengths, batch_first=True),
                rnn.unpack_sequence(rnn.pack_sequence([a, b, c], enforce_sorted=False)))
    check(fn, *seqs)


@pytest.mark.parametrize("fn", [
    lambda t: t.nn.utils.rnn.pad_sequence([]),
    lambda t: t.nn.utils.rnn.pad_sequence([t.ones(2)], padding_side="mid"),
    lambda t: t.nn.utils.rnn.pack_padded_sequence(t.ones(3, 2), [1, 2]),
    lambda t: t.nn.utils.rnn.pack_padded_sequence(t.ones(3, 2), [2, 0]),
    lambda t: t.nn.utils.rnn.pack_padded_sequence(t.ones(3, 2), [2, 2, 2]),
    lambda t: t.nn.utils.rnn.pad_packed_sequence(
        t.nn.utils.rnn.pack_padded_sequence(t.ones(3, 2), [3, 2]), total_length=2),
], ids=range(6))
def test_utils_errors(fn):
    check_raises(fn)


def test_states_follow_input_order_with_packing():
    """h_n rows are in the caller's batch order (unsorted back), as torch returns them."""
    tm, em = _pair("GRU", 2, 3)
    x = rand(4, 3, 2)
    lengths = [1, 4, 2]
    t_h = tm(torch.nn.utils.rnn.pack_padded_sequence(torch.from_numpy(x), lengths,
                                                     enforce_sorted=False))[1]
    e_h = em(ember.nn.utils.rnn.pack_padded_sequence(ember.from_numpy(x), lengths,
                                                     enforce_sorted=False))[1]
    np.testing.assert_allclose(_np(e_h), _np(t_h), rtol=1e-10, atol=1e-12)
    for b, n in enumerate(lengths):  # equal to running sequence b alone over its n steps
        alone = em(ember.from_numpy(x[:n, b]))[1]
        np.testing.assert_allclose(_np(e_h)[:, b], _np(alone), rtol=1e-10, atol=1e-12)
