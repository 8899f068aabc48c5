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

from ember import _dtype as DT
from ember._device import get_xp
from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.nn import functional as F
from ember.nn import init
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter
from ember.nn.utils.rnn import PackedSequence, _host
from ember.ops.base import Op
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


# The fused LSTM keeps its gates in the order (o, i, f, g) (PyTorch's rows are i, f, g, o): the
# three sigmoid gates are then one block, and so are the three gates the cell gradient feeds.
_GATE_ORDER = [3, 0, 1, 2]
_GATE_UNORDER = [1, 2, 3, 0]


def _gate_rows(w, scale: bool = False):
    """``w`` (4H, ...) with its gate blocks in the fused order; with ``scale`` the sigmoid
    gates halved, so that one tanh gives them all: sigmoid(z) = tanh(z / 2) / 2 + 1/2."""
    blocks = w.reshape((4, -1) + w.shape[1:])[_GATE_ORDER]
    if scale:
        blocks[:3] *= 0.5
    return blocks.reshape(w.shape)


def _gate_unrows(w):
    return w.reshape((4, -1) + w.shape[1:])[_GATE_UNORDER].reshape(w.shape)


class _LSTMLayer(Op):
    """One LSTM direction over packed rows: (output rows, final h, final c).

    Rows ``[:bs]`` of the state take step t; rows of sequences that have ended (or, reversed,
    not yet begun) keep their state, so the state after the walk is (h_n, c_n).  The forward
    saves, per row, what the backward loop multiplies by (the local derivatives of the gates
    and the cell, computed while the step's arrays are in cache), so that loop is five
    products and one GEMM per step.
    """

    def name(self) -> str:
        return "MkldnnRnnLayerBackward0"

    @staticmethod
    def forward(ctx, x, w_ih, w_hh, b_ih, b_hh, h0, c0, batch_sizes, reverse):
        xp = get_xp(x)
        hidden = w_hh.shape[1]
        rows = x.shape[0]
        record = bool(ctx.needs_input_grad)
        gates = x @ _gate_rows(w_ih, True).T
        if b_ih is not None:
            gates += _gate_rows(b_ih + b_hh, True)
        w_hh_t = xp.ascontiguousarray(_gate_rows(w_hh, True).T)
        h, c = h0.copy(), c0.copy()
        out = xp.empty((rows, hidden), x.dtype)
        # per row: dz_o/dh, dz_(i, f, g)/dc, dc/dh, dc_prev/dc (see backward)
        local = xp.empty((rows, 6, hidden), x.dtype) if record else None
        rec = xp.empty((h.shape[0], 4 * hidden), x.dtype)
        tmp = xp.empty((h.shape[0], 3, hidden), x.dtype)
        for row, bs in _step_order(batch_sizes, reverse):
            a = gates[row:row + bs]
            hb, cb, r = h[:bs], c[:bs], rec[:bs]
            xp.matmul(hb, w_hh_t, out=r)
            a += r
            xp.tanh(a, out=a)
            a4 = a.reshape(bs, 4, hidden)  # (o, i, f, g)
            sig = a4[:, :3]
            sig *= 0.5
            sig += 0.5
            o, i, f, g = a4[:, 0], a4[:, 1], a4[:, 2], a4[:, 3]
            if record:
                d = local[row:row + bs]
                ds = tmp[:bs]
                xp.multiply(sig, sig, out=ds)
                xp.subtract(sig, ds, out=ds)  # sigmoid' = s (1 - s)
                xp.multiply(g, ds[:, 1], out=d[:, 1])
                xp.multiply(cb, ds[:, 2], out=d[:, 2])
                xp.multiply(g, g, out=d[:, 3])
                xp.subtract(1, d[:, 3], out=d[:, 3])
                d[:, 3] *= i  # tanh' = 1 - g^2
                d[:, 5] = f
            cb *= f
            xp.multiply(i, g, out=r[:, :hidden])
            cb += r[:, :hidden]
            xp.tanh(cb, out=hb)
            if record:
                xp.multiply(hb, ds[:, 0], out=d[:, 0])
                xp.multiply(hb, hb, out=d[:, 4])
                xp.subtract(1, d[:, 4], out=d[:, 4])
                d[:, 4] *= o
            hb *= o
            out[row:row + bs] = hb
        ctx.batch_sizes, ctx.reverse = batch_sizes, reverse
        if record:
            ctx.save_for_backward(x, w_ih, w_hh, b_ih, b_hh, h0, c0, out, local)
        return out, h, c

    @staticmethod
    def backward(ctx, g_out, g_h, g_c):
        x, w_ih, w_hh, b_ih, b_hh, h0, c0, out, local = ctx.saved_tensors
        if grad_mode.is_grad_enabled():
            return _lstm_graph_backward(ctx, (x, w_ih, w_hh, b_ih, b_hh, h0, c0),
                                        (g_out, g_h, g_c))
        xp = get_xp(x._data)
        outs, d = out._data, local._data
        rows, hidden = outs.shape
        order = _step_order(ctx.batch_sizes, ctx.reverse)
        w = _gate_rows(w_hh._data)
        dz = xp.empty((rows, 4 * hidden), outs.dtype)
        dz3 = dz.reshape(rows, 4, hidden)
        go = g_out._data
        dh, dc = g_h._data.copy(), g_c._data.copy()
        tmp = xp.empty_like(dh)
        for row, bs in reversed(order):
            rs = slice(row, row + bs)
            dhb, dcb, t, dr = dh[:bs], dc[:bs], tmp[:bs], d[rs]
            dhb += go[rs]
            xp.multiply(dhb, dr[:, 4], out=t)
            dcb += t
            xp.multiply(dhb, dr[:, 0], out=dz3[rs, 0])
            xp.multiply(dr[:, 1:4], dcb[:, None, :], out=dz3[rs, 1:])
            dcb *= dr[:, 5]
            xp.matmul(dz[rs], w, out=dhb)
        need = ctx.needs_input_grad
        dx = Tensor._make(dz @ _gate_rows(w_ih._data)) if need[0] else None
        dw_ih = Tensor._make(_gate_unrows(dz.T @ x._data)) if need[1] else None
        dw_hh = None
        if need[2]:  # the state each step started from, row for row
            h_prev = xp.empty_like(outs)
            state = h0._data.copy()
            for row, bs in order:
                h_prev[row:row + bs] = state[:bs]
                state[:bs] = outs[row:row + bs]
            dw_hh = Tensor._make(_gate_unrows(dz.T @ h_prev))
        db = None
        if b_ih is not None and (need[3] or need[4]):
            db = Tensor._make(_gate_unrows(dz.sum(axis=0)))
        return (dx, dw_ih, dw_hh, db if need[3] else None, db if need[4] else None,
                Tensor._make(dh) if need[5] else None, Tensor._make(dc) if need[6] else None,
                None, None)


def _lstm_graph_backward(ctx, inputs: tuple, grads: tuple) -> tuple:
    """The layer's backward as a graph (create_graph=True): replay it with ember ops on fresh
    aliases of the inputs and differentiate the replay; the aliases tie it to the inputs."""
    from ember.autograd import grad

    need = ctx.needs_input_grad
    aliases = [t.view_as(t) if t is not None and need[k] else t for k, t in enumerate(inputs)]
    x, w_ih, w_hh, b_ih, b_hh, h0, c0 = aliases
    outs = _run_direction("LSTM", x, ctx.batch_sizes, [w_ih, w_hh, b_ih, b_hh, None], h0, c0,
                          ctx.reverse, fused=False)
    wanted = [a for k, a in enumerate(aliases) if a is not None and need[k]]
    # one scalar root (the vector-Jacobian product): h_n and c_n are reachable from the output
    # rows, and the engine's walk must not start from a root that another root reaches
    vjp = sum((o * g).sum() for o, g in zip(outs, grads))
    got = iter(grad(vjp, wanted, create_graph=True, allow_unused=True))
    return tuple(next(got) if a is not None and need[k] else None
                 for k, a in enumerate(aliases)) + (None, None)


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
