"""Recurrent layers (RNN, LSTM, GRU) and their single-step cells, with PyTorch's weights.

Every layer runs on the packed layout: time-major rows where step t holds ``batch_sizes[t]``
sequences (all of them for a padded batch).  The input projection of a whole layer is one
matmul; only the hidden-to-hidden product and the gates run in the Python loop over steps.

An LSTM direction without projection is one op, ``_LSTMLayer``: its forward loops over the
steps on arrays (one small GEMM and a few in-place passes per step) and records one graph
node; its backward is one BPTT loop on arrays, then one GEMM per weight for all steps at once.
When the backward must be differentiable (``create_graph=True``) it replays the layer with
ember ops and differentiates that.  Other modes run the step functions below as ember ops.
"""
from __future__ import annotations

import math
import numbers
import warnings
from functools import partial

import numpy as np

from ember import _dtype as DT
from ember import _native
from ember._device import get_xp
from ember._parallel import blas_sgemm
from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.nn import functional as F
from ember.nn import init
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter
from ember.nn.utils.rnn import PackedSequence, _host
from ember.ops.base import Op, replay_backward
from ember.ops.creation import empty, zeros
from ember.ops.pointwise import relu, sigmoid, tanh
from ember.ops.shape import cat, split, stack

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _rnn_step(x: Tensor, h: Tensor, c, w_hh_t: Tensor, b_hh, w_hr_t, act) -> tuple:
    return act(x + h.matmul(w_hh_t)), None


def _lstm_step(x: Tensor, h: Tensor, c: Tensor, w_hh_t: Tensor, b_hh, w_hr_t, act) -> tuple:
    i, f, g, o = split(x + h.matmul(w_hh_t), w_hh_t.shape[1] // 4, 1)
    c = sigmoid(f) * c + sigmoid(i) * tanh(g)
    h = sigmoid(o) * tanh(c)
    return (h if w_hr_t is None else h.matmul(w_hr_t)), c


def _gru_step(x: Tensor, h: Tensor, c, w_hh_t: Tensor, b_hh, w_hr_t, act) -> tuple:
    hidden = h.shape[1]
    gh = h.matmul(w_hh_t)
    if b_hh is not None:
        gh = gh + b_hh
    x_rz, x_n = split(x, [2 * hidden, hidden], 1)
    h_rz, h_n = split(gh, [2 * hidden, hidden], 1)
    r, z = split(sigmoid(x_rz + h_rz), hidden, 1)
    n = tanh(x_n + r * h_n)
    return n + z * (h - n), None


def _step_order(batch_sizes: list, reverse: bool) -> list:
    """(first row, batch size) of each step, in the order the layer walks them."""
    starts, row = [], 0
    for bs in batch_sizes:
        starts.append(row)
        row += bs
    order = list(zip(starts, batch_sizes))
    return order[::-1] if reverse else order


# The fused LSTM keeps its gates as four planes (4, rows, H) in the order (o, i, f, g) (PyTorch's
# rows are i, f, g, o): each gate of a step is then a contiguous (bs, H) block, the three
# sigmoid gates are one run of planes, and so are the three gates the cell gradient feeds.
_GATE_ORDER = [3, 0, 1, 2]
_GATE_UNORDER = [1, 2, 3, 0]


def _gate_planes(w, scale: bool = False):
    """``w`` (4H, ...) as (4, H, ...) gate planes in the fused order; with ``scale`` the sigmoid
    gates halved, so that one tanh gives them all: sigmoid(z) = tanh(z / 2) / 2 + 1/2."""
    planes = w.reshape((4, -1) + w.shape[1:])[_GATE_ORDER]
    if scale:
        planes[:3] *= 0.5
    return planes


def _prev_rows(rows, init, order: list):
    """Row for row, the state each step started from: ``init`` or an earlier step's row."""
    xp = get_xp(rows)
    prev = xp.empty_like(rows)
    sizes = {bs for _, bs in order}
    if len(sizes) == 1:  # every step has the whole batch: the rows shifted by one step
        bs = sizes.pop()
        first, last = order[0][0], order[-1][0]
        prev[first:first + bs] = init
        if first < last:
            prev[bs:] = rows[:-bs]
        elif first > last:
            prev[:-bs] = rows[bs:]
        return prev
    state = init.copy()
    for row, bs in order:
        prev[row:row + bs] = state[:bs]
        state[:bs] = rows[row:row + bs]
    return prev


class _LSTMLayer(Op):
    """One LSTM direction over packed rows: (output rows, final h, final c).

    Step t updates the first ``bs`` sequences; the others keep their state (ended, or in the
    reversed walk not yet begun).  The forward keeps the gate activations, the cells and their
    tanh; the backward walks the steps back to the gates' gradient dz (rows, 4H), then takes
    every weight's gradient from it in one GEMM for all steps at once.  On float32 NumPy arrays
    the compiled loops run the steps (``_forward_compiled``), elsewhere NumPy does.
    """

    def name(self) -> str:
        return "MkldnnRnnLayerBackward0"

    @staticmethod
    def forward(ctx, x, w_ih, w_hh, b_ih, b_hh, h0, c0, batch_sizes, reverse):
        order = _step_order(batch_sizes, reverse)
        ctx.batch_sizes, ctx.reverse = batch_sizes, reverse
        ctx.gemm = _compiled_gemm(x, w_ih, w_hh, b_ih, b_hh, h0, c0)
        run = _forward_numpy if ctx.gemm is None else _forward_compiled
        out, h_n, c_n, gates, cells, tanh_c = run(x, w_ih, w_hh, b_ih, b_hh, h0, c0, order,
                                                  ctx.gemm)
        if ctx.needs_input_grad:
            ctx.save_for_backward(x, w_ih, w_hh, b_ih, b_hh, h0, c0, out, gates, cells, tanh_c)
        return out, h_n, c_n

    @staticmethod
    def backward(ctx, g_out, g_h, g_c):
        saved = ctx.saved_tensors
        if grad_mode.is_grad_enabled():
            return replay_backward(ctx, saved[:7], (g_out, g_h, g_c), partial(
                _replay, ctx.batch_sizes, ctx.reverse)) + (None, None)
        x, w_ih, w_hh, b_ih, _, h0, c0, out, act, cells, tanh_c = (
            None if t is None else t._data for t in saved)
        order = _step_order(ctx.batch_sizes, ctx.reverse)
        run = _backward_numpy if ctx.gemm is None else _backward_compiled
        dz, dh, dc = run(act, cells, tanh_c, c0, w_hh, g_out._data, g_h._data, g_c._data,
                         order, ctx.gemm)
        need, xp = ctx.needs_input_grad, get_xp(dz)
        dx = xp.matmul(dz, w_ih) if need[0] else None
        dw_ih = xp.matmul(dz.T, x) if need[1] else None
        dw_hh = xp.matmul(dz.T, _prev_rows(out, h0, order)) if need[2] else None
        db = dz.sum(axis=0) if b_ih is not None and (need[3] or need[4]) else None
        grads = (dx, dw_ih, dw_hh, db if need[3] else None, db if need[4] else None,
                 dh if need[5] else None, dc if need[6] else None)
        return tuple(None if g is None else Tensor._make(g) for g in grads) + (None, None)


def _compiled_gemm(*arrays):
    """The BLAS product the compiled LSTM loops call, where they take these arrays (float32
    NumPy ones), else None."""
    if not all(a is None or isinstance(a, np.ndarray) and a.dtype == np.float32
               for a in arrays) or _native.kernels() is None:
        return None
    return blas_sgemm()


def _steps(order: list) -> tuple:
    """(first rows, batch sizes, count) of the steps in walk order, as the loops take them."""
    return (np.array([row for row, _ in order], np.int64),
            np.array([bs for _, bs in order], np.int64), len(order))


def _forward_compiled(x, w_ih, w_hh, b_ih, b_hh, h0, c0, order: list, gemm) -> tuple:
    """The forward with gates as PyTorch's (rows, 4H) and the steps in C (each step's
    recurrent product on BLAS's threads)."""
    gates = np.matmul(x, w_ih.T)
    if b_ih is not None:
        gates += b_ih + b_hh
    w_t = np.ascontiguousarray(w_hh.T)
    hs, cs = np.array(h0, order="C"), np.array(c0, order="C")
    out = np.empty((x.shape[0], w_hh.shape[1]), np.float32)
    cells, tanh_c = np.empty_like(out), np.empty_like(out)
    _native.call("lstm_forward", gates, w_t, hs, cs, out, cells, tanh_c, *_steps(order),
                 out.shape[1], *gemm)
    return out, hs, cs, gates, cells, tanh_c


def _backward_compiled(act, cells, tanh_c, c0, w_hh, g_out, g_h, g_c, order: list,
                       gemm) -> tuple:
    """The backward of ``_forward_compiled``: (dz, initial h's gradient, initial c's)."""
    dz = np.empty_like(act)
    dh, dc = np.array(g_h, np.float32, order="C"), np.array(g_c, np.float32, order="C")
    g_out, c0 = np.ascontiguousarray(g_out, np.float32), np.ascontiguousarray(c0)
    _native.call("lstm_backward", act, cells, tanh_c, c0, g_out, w_hh, dz, dh, dc,
                 *_steps(order), w_hh.shape[1], *gemm)
    return dz, dh, dc


def _forward_numpy(x, w_ih, w_hh, b_ih, b_hh, h0, c0, order: list, gemm=None) -> tuple:
    """The forward on any array module: the gates as four (rows, H) planes (``_gate_planes``),
    each step one batched GEMM (a (bs, H) x (H, H) product per gate) and eight passes on
    contiguous blocks."""
    xp = get_xp(x)
    hidden = w_hh.shape[1]
    rows, batch = x.shape[0], h0.shape[0]
    gates = xp.matmul(x, _gate_planes(w_ih, True).transpose(0, 2, 1))  # (4, rows, H)
    if b_ih is not None:
        gates += _gate_planes(b_ih + b_hh, True)[:, None, :]
    w_hh4 = xp.ascontiguousarray(_gate_planes(w_hh, True).transpose(0, 2, 1))
    out = xp.empty((rows, hidden), x.dtype)
    cells = xp.empty_like(out)
    tanh_c = xp.empty_like(out)
    rec = xp.empty(4 * batch * hidden, x.dtype)
    ig = xp.empty((batch, hidden), x.dtype)
    half = x.dtype.type(0.5)  # a NumPy scalar: a Python float costs a conversion per call
    h_n, c_n = h0.copy(), c0.copy()
    hp, cp = h0[:order[0][1] if order else 0], c0[:order[0][1] if order else 0]
    for k, (row, bs) in enumerate(order):
        if bs > hp.shape[0]:  # reversed walk: sequences join with their initial state
            hp = xp.concatenate([hp, h0[hp.shape[0]:bs]])
            cp = xp.concatenate([cp, c0[cp.shape[0]:bs]])
        rs = slice(row, row + bs)
        a = gates[:, rs]
        r = rec[:4 * bs * hidden].reshape(4, bs, hidden)
        xp.matmul(hp[:bs], w_hh4, out=r)
        a += r
        xp.tanh(a, out=a)
        sig = a[:3]
        sig *= half
        sig += half
        c, h, t = cells[rs], out[rs], tanh_c[rs]
        xp.multiply(a[2], cp[:bs], out=c)
        xp.multiply(a[1], a[3], out=ig[:bs])
        c += ig[:bs]
        xp.tanh(c, out=t)
        xp.multiply(t, a[0], out=h)
        hp, cp = h, c
        lo = order[k + 1][1] if k + 1 < len(order) else 0
        if lo < bs:  # sequences whose last step this is
            h_n[lo:bs] = h[lo:]
            c_n[lo:bs] = c[lo:]
    return out, h_n, c_n, gates, cells, tanh_c


def _backward_numpy(a, cs, tc, c0, w_hh, go, g_h, g_c, order: list, gemm=None) -> tuple:
    """The backward of ``_forward_numpy``: the factors its loop multiplies by come first, for
    all steps at once, so that loop is six passes and one batched GEMM per step."""
    xp = get_xp(a)
    hidden = cs.shape[1]
    o, i, f, g = a
    # factors of the loop, all steps at once: dz = (dh q_o, dc q_i, dc q_f, dc q_g) with
    # q_o = tanh(c) o', q_i = g i', q_f = c_prev f', q_g = i (1 - g^2); dc += dh k
    q = xp.multiply(a, a)
    xp.subtract(a, q, out=q)  # s (1 - s) in the sigmoid planes
    q[0] *= tc
    q[1] *= g
    q[2] *= _prev_rows(cs, c0, order)
    xp.multiply(g, g, out=q[3])
    xp.subtract(1, q[3], out=q[3])
    q[3] *= i
    k = xp.multiply(tc, tc)
    xp.subtract(1, k, out=k)
    k *= o
    w4 = _gate_planes(w_hh)  # dh = sum over gates of dz_gate @ W_gate
    dh, dc = g_h.copy(), g_c.copy()
    tmp = xp.empty_like(dh)
    rec = xp.empty(4 * dh.size, dh.dtype)
    for row, bs in reversed(order):  # q becomes the gates' gradient dz in place
        rs = slice(row, row + bs)
        dhb, dcb, t = dh[:bs], dc[:bs], tmp[:bs]
        dhb += go[rs]
        xp.multiply(dhb, k[rs], out=t)
        dcb += t
        q[0, rs] *= dhb
        q[1:, rs] *= dcb
        dcb *= f[rs]
        r = rec[:4 * bs * hidden].reshape(4, bs, hidden)
        xp.matmul(q[:, rs], w4, out=r)
        xp.sum(r, axis=0, out=dhb)
    dz = xp.ascontiguousarray(q[_GATE_UNORDER].transpose(1, 0, 2)).reshape(q.shape[1], 4 * hidden)
    return dz, dh, dc


def _replay(batch_sizes: list, reverse: bool, x, w_ih, w_hh, b_ih, b_hh, h0, c0) -> tuple:
    """The layer again in ember ops (for a differentiable backward)."""
    return _run_direction("LSTM", x, batch_sizes, [w_ih, w_hh, b_ih, b_hh, None], h0, c0,
                          reverse, fused=False)


def _run_direction(mode: str, x: Tensor, batch_sizes: list, weights: list, h0: Tensor, c0,
                   reverse: bool, fused: bool = True) -> tuple:
    """One layer in one direction over packed rows ``x``: (output rows, final h, final c)."""
    w_ih, w_hh, b_ih, b_hh, w_hr = weights
    if fused and mode == "LSTM" and w_hr is None:
        return _LSTMLayer.apply(x, w_ih, w_hh, b_ih, b_hh, h0, c0, batch_sizes, reverse)
    if mode == "GRU" or b_ih is None:
        proj = F.linear(x, w_ih, b_ih)
    else:  # both biases enter the gates once per step, so fold them into the projection
        proj = F.linear(x, w_ih, b_ih + b_hh)
    steps = split(proj, batch_sizes, 0)
    step_fn = {"LSTM": _lstm_step, "GRU": _gru_step}.get(mode, _rnn_step)
    act = relu if mode == "RNN_RELU" else tanh
    w_hh_t = w_hh.t()
    w_hr_t = None if w_hr is None else w_hr.t()
    b_hh_step = b_hh if mode == "GRU" else None
    lstm = mode == "LSTM"
    outputs = [None] * len(batch_sizes)
    if reverse:
        n = batch_sizes[-1]
        h, c = h0[:n], (c0[:n] if lstm else None)
        for t in range(len(batch_sizes) - 1, -1, -1):
            bs = batch_sizes[t]
            if bs > n:  # shorter sequences join as the reversed walk reaches their last step
                h = cat([h, h0[n:bs]], 0)
                if lstm:
                    c = cat([c, c0[n:bs]], 0)
                n = bs
            h, c = step_fn(steps[t], h, c, w_hh_t, b_hh_step, w_hr_t, act)
            outputs[t] = h
        return cat(outputs, 0), h, c
    h, c = h0, c0
    done_h, done_c = [], []
    for t, bs in enumerate(batch_sizes):
        if bs < h.shape[0]:  # sequences that ended keep their last state as the final one
            h, h_done = split(h, [bs, h.shape[0] - bs], 0)
            done_h.append(h_done)
            if lstm:
                c, c_done = split(c, [bs, c.shape[0] - bs], 0)
                done_c.append(c_done)
        h, c = step_fn(steps[t], h, c, w_hh_t, b_hh_step, w_hr_t, act)
        outputs[t] = h
    if done_h:
        h = cat([h, *done_h[::-1]], 0)
        if lstm:
            c = cat([c, *done_c[::-1]], 0)
    return cat(outputs, 0), h, c


class RNNBase(Module):
    """The shared machinery of RNN, LSTM and GRU: parameters, checks, layers and directions."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the probability of an "
                "element being zeroed"
            )
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero "
                f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
                f"num_layers={num_layers}",
                UserWarning,
                stacklevel=3,
            )
        if not isinstance(hidden_size, int) or isinstance(hidden_size, bool):
            raise TypeError(
                f"hidden_size should be of type int, got: {type(hidden_size).__name__}"
            )
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError(
                "proj_size should be a positive integer or zero to disable projections"
            )
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode}")
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        dtype = dtype or DT.get_default_dtype()

        def new(*shape: int) -> Parameter:
            return Parameter(empty(shape, dtype=dtype, device=device))

        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_in = input_size if layer == 0 else real_hidden * num_directions
                params = [new(gate_size, layer_in), new(gate_size, real_hidden)]
                names = ["weight_ih_l{}{}", "weight_hh_l{}{}"]
                if bias:
                    params += [new(gate_size), new(gate_size)]
                    names += ["bias_ih_l{}{}", "bias_hh_l{}{}"]
                if proj_size > 0:
                    params.append(new(proj_size, hidden_size))
                    names.append("weight_hr_l{}{}")
                suffix = "_reverse" if direction == 1 else ""
                names = [n.format(layer, suffix) for n in names]
                for name, param in zip(names, params):
                    setattr(self, name, param)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """Kept for API compatibility: ember's weights need no cuDNN-style flat buffer."""

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def _direction_weights(self, layer: int, direction: int) -> list:
        suffix = "_reverse" if direction == 1 else ""
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")
        return [getattr(self, f"{n}_l{layer}{suffix}", None) for n in names]

    def _hidden_shape(self, batch: int, cell: bool = False) -> tuple:
        num_directions = 2 if self.bidirectional else 1
        size = self.proj_size if self.proj_size > 0 and not cell else self.hidden_size
        return (self.num_layers * num_directions, batch, size)

    def _check_hidden(self, hx: Tensor, expected: tuple, what: str) -> None:
        if tuple(hx.shape) != expected:
            raise RuntimeError(f"Expected {what} size {expected}, got {list(hx.shape)}")

    def forward(self, input: Tensor | PackedSequence, hx=None) -> tuple:
        """(output, h_n) or, for LSTM, (output, (h_n, c_n)); packed input gives packed output."""
        lstm = self.mode == "LSTM"
        packed = isinstance(input, PackedSequence)
        name = type(self).__name__
        if packed:
            data, batch_sizes_t, sorted_indices, unsorted_indices = input
            batch_sizes = _host(batch_sizes_t).tolist()
            batch = batch_sizes[0]
            batched = True
        else:
            if input.dim() not in (2, 3):
                raise ValueError(
                    f"{name}: Expected input to be 2D or 3D, got {input.dim()}D instead"
                )
            batched = input.dim() == 3
            hx_dim = 3 if batched else 2
            for h in (((hx[0], hx[1]) if lstm else (hx,)) if hx is not None else ()):
                if h.dim() != hx_dim:
                    kind = "batched 3-D" if batched else "unbatched 2-D"
                    raise RuntimeError(
                        f"For {kind} input, hx and cx should also be {hx_dim}-D but got "
                        f"({hx[0].dim()}-D, {hx[1].dim()}-D) tensors" if lstm else
                        f"For {kind} input, hx should also be {hx_dim}-D but got {h.dim()}-D "
                        "tensor"
                    )
            if not batched:
                input = input.unsqueeze(1)
                if hx is not None:
                    hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1)) if lstm else hx.unsqueeze(1)
            elif self.batch_first:
                input = input.transpose(0, 1)
            steps, batch = input.shape[0], input.shape[1]
            data = input.reshape(steps * batch, input.shape[2])
            batch_sizes = [batch] * steps
            sorted_indices = unsorted_indices = None
        weight_dtype = self.weight_ih_l0.dtype
        if data.dtype != weight_dtype:
            raise ValueError(
                f"RNN input dtype ({data.dtype}) does not match weight dtype ({weight_dtype}). "
                f"Convert input: input.to({weight_dtype}), or convert model: "
                f"model.to({data.dtype})"
            )
        if not batch_sizes:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
        if data.shape[-1] != self.input_size:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got "
                f"{data.shape[-1]}"
            )
        if hx is None:
            h0 = zeros(self._hidden_shape(batch), dtype=data.dtype, device=data.device)
            c0 = (zeros(self._hidden_shape(batch, True), dtype=data.dtype, device=data.device)
                  if lstm else None)
        else:
            h0, c0 = (hx[0], hx[1]) if lstm else (hx, None)
            if sorted_indices is not None:
                h0 = h0.index_select(1, sorted_indices)
                c0 = c0.index_select(1, sorted_indices) if lstm else None
            if lstm:
                self._check_hidden(h0, self._hidden_shape(batch), "hidden[0]")
                self._check_hidden(c0, self._hidden_shape(batch, True), "hidden[1]")
            else:
                self._check_hidden(h0, self._hidden_shape(batch), "hidden")
        out, h_n, c_n = self._layers(data, batch_sizes, h0, c0)
        if lstm:
            h_n, c_n = stack(h_n, 0), stack(c_n, 0)
        else:
            h_n = stack(h_n, 0)
        if packed:
            if unsorted_indices is not None:
                h_n = h_n.index_select(1, unsorted_indices)
                c_n = c_n.index_select(1, unsorted_indices) if lstm else None
            hidden = (h_n, c_n) if lstm else h_n
            return PackedSequence(out, batch_sizes_t, sorted_indices, unsorted_indices), hidden
        out = out.reshape(len(batch_sizes), batch, out.shape[-1])
        if not batched:
            out, h_n = out.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if lstm else None
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, ((h_n, c_n) if lstm else h_n)

    def _layers(self, data: Tensor, batch_sizes: list, h0: Tensor, c0) -> tuple:
        num_directions = 2 if self.bidirectional else 1
        h0s = h0.unbind(0)
        c0s = c0.unbind(0) if c0 is not None else None
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for direction in range(num_directions):
                k = layer * num_directions + direction
                out, h, c = _run_direction(
                    self.mode, data, batch_sizes, self._direction_weights(layer, direction),
                    h0s[k], None if c0s is None else c0s[k], direction == 1,
                )
                outs.append(out)
                h_n.append(h)
                c_n.append(c)
            data = outs[0] if num_directions == 1 else cat(outs, 1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                data = F.dropout(data, self.dropout, True)
        return data, h_n, c_n

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), act tanh or relu.

    Positional order as PyTorch: (input_size, hidden_size, num_layers, nonlinearity, bias,
    batch_first, dropout, bidirectional).
    """

    def __init__(self, *args, **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(
                f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        super().__init__(mode, *args, **kwargs)


class LSTM(RNNBase):
    """LSTM with gates in PyTorch's order (i, f, g, o) and optional output projection."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """GRU with gates (r, z, n) and n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), as PyTorch."""

    def __init__(self, *args, **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


class RNNCellBase(Module):
    """Weights and checks shared by the cells: one time step on a ``(B, input_size)`` batch."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        dtype = dtype or DT.get_default_dtype()
        size = num_chunks * hidden_size
        self.weight_ih = Parameter(empty((size, input_size), dtype=dtype, device=device))
        self.weight_hh = Parameter(empty((size, hidden_size), dtype=dtype, device=device))
        if bias:
            self.bias_ih = Parameter(empty(size, dtype=dtype, device=device))
            self.bias_hh = Parameter(empty(size, dtype=dtype, device=device))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(self, input: Tensor, states: tuple) -> tuple:
        """Batch an unbatched call, default the states to zeros and check every shape."""
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        for s in states:
            if s is not None and s.dim() not in (1, 2):
                raise ValueError(
                    f"{name}: Expected hidden to be 1D or 2D, got {s.dim()}D instead"
                )
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
            states = tuple(None if s is None else s.unsqueeze(0) for s in states)
        batch = input.shape[0]
        states = tuple(
            zeros((batch, self.hidden_size), dtype=input.dtype, device=input.device)
            if s is None else s for s in states
        )
        if input.shape[1] != self.input_size:
            raise RuntimeError(
                f"input has inconsistent input_size: got {input.shape[1]} expected "
                f"{self.input_size}"
            )
        for i, s in enumerate(states):
            if s.shape[0] != batch:
                raise RuntimeError(
                    f"Input batch size {batch} doesn't match hidden{i} batch size {s.shape[0]}"
                )
            if s.dim() < 2 or s.shape[1] != self.hidden_size:
                got = s.shape[1] if s.dim() >= 2 else 1
                raise RuntimeError(
                    f"hidden{i} has inconsistent hidden_size: got {got}, expected "
                    f"{self.hidden_size}"
                )
        return batched, input, states

    def _weights(self, mode: str) -> tuple:
        b_ih, b_hh = self.bias_ih, self.bias_hh
        if b_ih is not None and mode != "GRU":
            b_ih, b_hh = b_ih + b_hh, None
        return b_ih, b_hh


class RNNCell(RNNCellBase):
    """One Elman step: h' = act(W_ih x + b_ih + W_hh h + b_hh)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        batched, input, (hx,) = self._prepare(input, (hx,))
        b_ih, _ = self._weights("RNN")
        act = relu if self.nonlinearity == "relu" else tanh
        h, _ = _rnn_step(F.linear(input, self.weight_ih, b_ih), hx, None, self.weight_hh.t(),
                         None, None, act)
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step; returns (h', c')."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: tuple | None = None) -> tuple:
        batched, input, (h, c) = self._prepare(input, (None, None) if hx is None else tuple(hx))
        b_ih, _ = self._weights("LSTM")
        h, c = _lstm_step(F.linear(input, self.weight_ih, b_ih), h, c, self.weight_hh.t(), None,
                          None, None)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step, with PyTorch's placement of b_hn inside the reset gate product."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        batched, input, (hx,) = self._prepare(input, (hx,))
        b_ih, b_hh = self._weights("GRU")
        h, _ = _gru_step(F.linear(input, self.weight_ih, b_ih), hx, None, self.weight_hh.t(),
                         b_hh, None, None)
        return h if batched else h.squeeze(0)


__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNBase", "RNNCell", "RNNCellBase"]
