"""Attention and transformers against PyTorch: scaled_dot_product_attention,
MultiheadAttention and the Transformer layers/stacks, with torch's weights loaded."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import ember
from tests.helpers import assert_close, check, check_raises, rand

torch.set_num_threads(1)  # tiny inputs: thread start-up would dominate

DT = {np.float64: (torch.float64, ember.float64), np.float32: (torch.float32, ember.float32)}
TOL = {np.float64: {}, np.float32: {"rtol": 1e-4, "atol": 1e-5}}


def _load(tm, em) -> None:
    res = em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in
                              tm.state_dict().items()})
    assert not res.missing_keys and not res.unexpected_keys


def _tensor(mod, a, grad: bool):
    if a is None or not isinstance(a, np.ndarray):
        return a
    t = (torch.from_numpy if mod is torch else ember.from_numpy)(a.copy())
    if grad and a.dtype.kind == "f":
        t.requires_grad_(True)
    return t


def compare_modules(tm, em, call, inputs, dtype=np.float64, grad=True, seed=0, masks=()):
    """Run ``call(t, module, *tensors)`` with both libraries; compare outputs and every grad.

    ``inputs`` are arrays (float ones require grad); ``masks`` are extra arrays passed after
    them that never require grad (float masks included).
    """
    _load(tm, em)
    tol = TOL[dtype]
    t_in = [_tensor(torch, a, grad) for a in inputs] + [_tensor(torch, m, False) for m in masks]
    e_in = [_tensor(ember, a, grad) for a in inputs] + [_tensor(ember, m, False) for m in masks]
    t_out, e_out = call(torch, tm, *t_in), call(ember, em, *e_in)
    t_flat = [t_out] if isinstance(t_out, torch.Tensor) else [o for o in t_out if o is not None]
    e_flat = [e_out] if isinstance(e_out, ember.Tensor) else [o for o in e_out if o is not None]
    assert len(e_flat) == len(t_flat)
    for i, (e, r) in enumerate(zip(e_flat, t_flat)):
        assert_close(e, r, what=f"output {i}", **tol)
    if not grad:
        return e_out
    rng = np.random.default_rng(seed)
    ws = [rng.standard_normal(tuple(r.shape)).astype(dtype) for r in t_flat]
    sum(((r * torch.from_numpy(w)).nan_to_num().sum() for r, w in zip(t_flat, ws))).backward()
    sum(((e * ember.from_numpy(w)).nan_to_num().sum() for e, w in zip(e_flat, ws))).backward()
    for i, (e, r) in enumerate(zip(e_in, t_in)):
        if isinstance(r, torch.Tensor) and r.requires_grad:
            assert_close(e.grad, r.grad, what=f"grad of input {i}", **tol)
    e_params = dict(em.named_parameters())
    for name, p in tm.named_parameters():
        if p.grad is None:
            assert e_params[name].grad is None or not np.any(e_params[name].grad.numpy())
        else:
            assert_close(e_params[name].grad, p.grad, what=f"grad of {name}", **tol)
    return e_out


# ---- scaled_dot_product_attention -------------------------------------------------------------

def _sdpa(**kw):
    return lambda t, q, k, v, *m: t.nn.functional.scaled_dot_product_attention(
        q, k, v, *m, **kw)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sdpa_plain_scale_and_batch_dims(dtype):
    q, k, v = rand(2, 3, 4, 5, dtype=dtype), rand(2, 3, 6, 5, dtype=dtype, seed=1), \
        rand(2, 3, 6, 7, dtype=dtype, seed=2)
    check(_sdpa(), q, k, v, **TOL[dtype])
    check(_sdpa(scale=0.3), q, k, v, **TOL[dtype])
    check(_sdpa(), q[0, 0], k[0, 0], v[0, 0], **TOL[dtype])  # 2-D inputs


@pytest.mark.parametrize("dtype", [np.float64, np.float32])  # float32: compiled softmax
def test_sdpa_masks(dtype):
    q, k, v = (rand(2, 3, 4, 5, dtype=dtype), rand(2, 3, 6, 5, dtype=dtype, seed=1),
               rand(2, 3, 6, 5, dtype=dtype, seed=2))
    bool_mask = rand(4, 6, dtype=np.bool_, seed=3)
    bool_mask[:, 0] = True
    tol = TOL[dtype]
    check(lambda t, q, k, v: t.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=t.from_numpy(bool_mask)), q, k, v, **tol)
    check(_sdpa(), q, k, v, rand(2, 1, 4, 6, dtype=dtype, seed=4), grad=True,
          **tol)  # float mask gets a grad
    check(_sdpa(is_causal=True), q, k, v, **tol)  # L < S: top-left aligned
    check(_sdpa(is_causal=True), k, q, q, **tol)  # L > S
    check(_sdpa(dropout_p=0.0), q, k, v, **tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sdpa_fully_masked_rows_give_zero(dtype):
    q, k, v = (rand(1, 3, 4, dtype=dtype), rand(1, 5, 4, dtype=dtype, seed=1),
               rand(1, 5, 4, dtype=dtype, seed=2))
    mask = np.ones((3, 5), dtype=bool)
    mask[1] = False
    check(lambda t, q, k, v: t.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=t.from_numpy(mask)), q, k, v, **TOL[dtype])


def test_sdpa_float32_runs_the_compiled_softmax(kernel_calls):
    from ember import _native

    if _native.kernels() is None:
        pytest.skip("ember._ckernels not built")
    q = rand(2, 3, 64, 16, dtype=np.float32) * 4  # large scores: the max shift matters
    check(_sdpa(is_causal=True), q, q * 0.5, rand(2, 3, 64, 16, dtype=np.float32, seed=1),
          **TOL[np.float32])
    assert {"attn_softmax", "attn_weights", "softmax_backward"} <= set(kernel_calls)


def test_sdpa_gqa():
    q, k, v = rand(2, 4, 3, 5), rand(2, 2, 6, 5, seed=1), rand(2, 2, 6, 5, seed=2)
    check(_sdpa(enable_gqa=True), q, k, v)


def test_sdpa_double_backward():
    def fn(t, q, k, v):
        out = t.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        (g,) = t.autograd.grad((out * out).sum(), q, create_graph=True)
        return g
    check(fn, rand(2, 3, 4), rand(2, 5, 4, seed=1), rand(2, 5, 4, seed=2))


def test_mha_functional_static_kv():
    w, b = rand(18, 6, seed=3), rand(18, seed=4)
    ow, ob = rand(6, 6, seed=5), rand(6, seed=6)

    def fn(t, q, sk, sv, w, b, ow, ob):
        return t.nn.functional.multi_head_attention_forward(
            q, q, q, 6, 2, w, b, None, None, False, 0.0, ow, ob, training=False,
            static_k=sk, static_v=sv)
    check(fn, rand(4, 3, 6), rand(6, 5, 3, seed=1), rand(6, 5, 3, seed=2), w, b, ow, ob)


def test_sdpa_dropout_train():
    q, k, v = (ember.from_numpy(rand(2, 8, 16, seed=s)) for s in range(3))
    F = ember.nn.functional
    ember.manual_seed(0)
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    ember.manual_seed(0)
    b = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    assert np.array_equal(a.numpy(), b.numpy())
    assert not np.allclose(a.numpy(), F.scaled_dot_product_attention(q, k, v).numpy())


def test_sdpa_dropout_backward_paths_agree():
    """The fused op's array backward and its create_graph backward use the same dropout mask."""
    q, k, v = (ember.from_numpy(rand(2, 5, 4, seed=s)).requires_grad_() for s in range(3))
    ember.manual_seed(1)
    out = ember.nn.functional.scaled_dot_product_attention(q, k, v, dropout_p=0.3)
    w = ember.from_numpy(rand(2, 5, 4, seed=7))
    fast = ember.autograd.grad((out * w).sum(), (q, k, v), retain_graph=True)
    graph = ember.autograd.grad((out * w).sum(), (q, k, v), create_graph=True)
    for a, b in zip(fast, graph):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_sdpa_errors():
    q, k, v = rand(2, 3, 4), rand(2, 5, 4, seed=1), rand(2, 5, 4, seed=2)
    for fn, args in [
        (lambda t, q, k, v: t.nn.functional.scaled_dot_product_attention(q, k, v), (q[0, 0], k[0, 0], v[0, 0])),
        (lambda t, q, k, v: t.nn.functional.scaled_dot_product_attention(q, k, v), (q, k[..., :3], v)),
        (lambda t, q, k, v: t.nn.functional.scaled_dot_product_attention(q, k, v), (q, k, v[:, :4])),
        (lambda t, q, k, v: t.nn.functional.scaled_dot_product_attention(q, k, v),
         (q, k.astype(np.float32), v)),
        (lambda t, q, k, v: t.nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=t.zeros(3, 5, dtype=t.int64)), (q, k, v)),
        (lambda t, q, k, v: t.nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=t.zeros(4, 5, dtype=t.float64)), (q, k, v)),
        (lambda t, q, k, v: t.nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=t.zeros(3, 5, dtype=t.bool), is_causal=True), (q, k, v)),
        (lambda t, q, k, v: t.nn.functional.scaled_dot_product_attention(  # more batch dims
            q, k, v, attn_mask=t.zeros(3, 2, 3, 5)), (q, k, v)),
    ]:
        check_raises(fn, *args)


# ---- MultiheadAttention -----------------------------------------------------------------------

MHA_CONFIGS = [
    {},
    {"kdim": 3, "vdim": 5},
    {"add_bias_kv": True},
    {"add_zero_attn": True},
    {"bias": False},
    {"batch_first": True},
    {"kdim": 3, "vdim": 5, "add_bias_kv": True, "add_zero_attn": True, "batch_first": True},
]


def _mha_pair(dtype=np.float64, **kw):
    torch.manual_seed(0)
    tdt, edt = DT[dtype]
    return (torch.nn.MultiheadAttention(6, 2, dtype=tdt, **kw),
            ember.nn.MultiheadAttention(6, 2, dtype=edt, **kw))


@pytest.mark.parametrize("cfg", MHA_CONFIGS)
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_cross_attention(cfg, need_weights):
    tm, em = _mha_pair(**cfg)
    b = cfg.get("batch_first", False)
    q = rand(2, 4, 6) if b else rand(4, 2, 6)
    k = rand(2, 5, cfg.get("kdim", 6), seed=1) if b else rand(5, 2, cfg.get("kdim", 6), seed=1)
    v = rand(2, 5, cfg.get("vdim", 6), seed=2) if b else rand(5, 2, cfg.get("vdim", 6), seed=2)
    out = compare_modules(tm, em, lambda t, m, q, k, v: m(q, k, v, need_weights=need_weights),
                          [q, k, v])
    assert (out[1] is None) == (not need_weights)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_mha_self_attention_masks(batch_first, dtype):
    tm, em = _mha_pair(dtype, batch_first=batch_first)
    x = rand(3, 4, 6, dtype=dtype) if batch_first else rand(4, 3, 6, dtype=dtype)
    kpm = np.array([[False] * 4, [False, False, True, True], [False, True, False, False]])
    bool_mask = np.triu(np.ones((4, 4), dtype=bool), 1)
    float_mask = rand(4, 4, dtype=dtype, seed=5)
    mask3d = rand(6, 4, 4, dtype=dtype, seed=6)

    def self_attn(**kw):
        return lambda t, m, x, *masks: m(x, x, x, **dict(zip(kw["names"], masks)),
                                         **kw.get("extra", {}))

    for names, masks, extra in [
        (("key_padding_mask",), [kpm], {}),
        (("attn_mask",), [bool_mask], {}),
        (("attn_mask",), [float_mask], {"average_attn_weights": False}),
        (("attn_mask",), [mask3d], {}),
        (("attn_mask", "key_padding_mask"), [bool_mask, kpm], {"need_weights": False}),
        (("attn_mask", "key_padding_mask"), [float_mask, kpm.astype(dtype) * -1e9], {}),
        (("attn_mask",), [bool_mask], {"need_weights": False, "is_causal": True}),
        (("attn_mask",), [float_mask], {"need_weights": True, "is_causal": True}),
    ]:
        compare_modules(tm, em, self_attn(names=names, extra=extra), [x], dtype, masks=masks)


def test_mha_unbatched_and_eval_mode():
    tm, em = _mha_pair(dropout=0.3, add_bias_kv=True)
    tm.eval()
    em.eval()
    q, kv = rand(4, 6), rand(5, 6, seed=1)
    kpm = np.array([False, False, True, False, True])
    compare_modules(tm, em, lambda t, m, q, kv, kpm: m(q, kv, kv, key_padding_mask=kpm),
                    [q, kv], masks=[kpm])
    with torch.no_grad(), ember.no_grad():  # PyTorch's inference fast path gives the same
        x = rand(4, 2, 6)
        compare_modules(tm, em, lambda t, m, x: m(x, x, x), [x], grad=False)


def test_mha_dropout_zero_train_matches_and_dropout_is_active():
    tm, em = _mha_pair(dropout=0.0)
    x = rand(4, 2, 6)
    compare_modules(tm, em, lambda t, m, x: m(x, x, x), [x])
    em = ember.nn.MultiheadAttention(6, 2, dropout=0.5, dtype=ember.float64)
    xe = ember.from_numpy(x)
    a = em(xe, xe, xe)[1]
    em.eval()
    b = em(xe, xe, xe)[1]
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())


def test_mha_params_repr_and_init():
    for kw in [{}, {"kdim": 3, "vdim": 5, "add_bias_kv": True, "bias": False}]:
        tm = torch.nn.MultiheadAttention(8, 4, **kw)
        em = ember.nn.MultiheadAttention(8, 4, **kw)
        assert repr(em) == repr(tm)
        assert list(em.state_dict()) == list(tm.state_dict())
        assert [n for n, _ in em.named_parameters()] == [n for n, _ in tm.named_parameters()]
        assert em.head_dim == tm.head_dim and em._qkv_same_embed_dim == tm._qkv_same_embed_dim
    em = ember.nn.MultiheadAttention(8, 4)
    assert not np.any(em.in_proj_bias.detach().numpy())
    assert not np.any(em.out_proj.bias.detach().numpy())
    bound = np.sqrt(6 / (8 + 24))
    w = em.in_proj_weight.detach().numpy()
    assert np.abs(w).max() <= bound and w.std() > bound / 3


def test_mha_errors():
    check_raises(lambda t: t.nn.MultiheadAttention(5, 2))
    check_raises(lambda t: t.nn.MultiheadAttention(0, 2))
    x = rand(4, 2, 6)

    def mha(fn):
        def run(t, x):
            t.manual_seed(0)
            return fn(t, t.nn.MultiheadAttention(6, 2, dtype=t.float64), x)
        return run

    for fn in [
        lambda t, m, x: m(x, x, x, is_causal=True),  # needs attn_mask
        lambda t, m, x: m(x, x, x, attn_mask=t.zeros(3, 4, dtype=t.float64)),
        lambda t, m, x: m(x, x, x, attn_mask=t.zeros(5, 4, 4, dtype=t.float64)),
        lambda t, m, x: m(x, x, x, attn_mask=t.zeros(1, 1, 4, 4, dtype=t.float64)),
        lambda t, m, x: m(x, x, x, key_padding_mask=t.zeros(2, 4, dtype=t.int64)),
        lambda t, m, x: m(x, x, x, key_padding_mask=t.zeros(2, 3, dtype=t.bool)),
        lambda t, m, x: m(x[0, 0], x[0, 0], x[0, 0]),
        lambda t, m, x: m(x, x[0], x[0]),
        lambda t, m, x: m(x[..., :4], x[..., :4], x[..., :4]),
    ]:
        check_raises(mha(fn), x)


def test_mha_mismatched_mask_types_warn():
    em = ember.nn.MultiheadAttention(6, 2, dtype=ember.float64)
    x = ember.from_numpy(rand(4, 2, 6))
    with pytest.warns(UserWarning, match="mismatched key_padding_mask and attn_mask"):
        em(x, x, x, key_padding_mask=ember.zeros(2, 4, dtype=ember.bool),
           attn_mask=ember.zeros(4, 4, dtype=ember.float64))


# ---- Transformer layers -------------------------------------------------------------------------

def _pair(cls_name, *args, dtype=np.float64, **kw):
    torch.manual_seed(0)
    tdt, edt = DT[dtype]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return (getattr(torch.nn, cls_name)(*args, dtype=tdt, **kw),
                getattr(ember.nn, cls_name)(*args, dtype=edt, **kw))


LAYER_CONFIGS = [
    {},
    {"norm_first": True},
    {"batch_first": True, "activation": "gelu"},
    {"bias": False, "layer_norm_eps": 1e-3},
]


@pytest.mark.parametrize("cfg", LAYER_CONFIGS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_encoder_layer(cfg, dtype):
    tm, em = _pair("TransformerEncoderLayer", 8, 2, 16, dropout=0.0, dtype=dtype, **cfg)
    assert repr(em) == repr(tm)
    b = cfg.get("batch_first", False)
    x = rand(2, 5, 8, dtype=dtype) if b else rand(5, 2, 8, dtype=dtype)
    kpm = np.array([[False] * 5, [False, False, False, True, True]])
    causal = np.triu(np.ones((5, 5), dtype=bool), 1)
    compare_modules(tm, em, lambda t, m, x: m(x), [x], dtype)
    compare_modules(tm, em, lambda t, m, x, k: m(x, src_key_padding_mask=k), [x], dtype,
                    masks=[kpm])
    compare_modules(tm, em, lambda t, m, x, c: m(x, src_mask=c, is_causal=True), [x], dtype,
                    masks=[causal])
    tm.eval()
    em.eval()
    compare_modules(tm, em, lambda t, m, x, c, k: m(x, c, k), [x], dtype, masks=[causal, kpm])


def test_encoder_layer_callable_activation_and_unbatched():
    for act in (torch.nn.functional.silu, "module"):
        torch.manual_seed(0)
        tm = torch.nn.TransformerEncoderLayer(
            8, 2, 16, dropout=0.0, dtype=torch.float64,
            activation=torch.nn.GELU() if act == "module" else act)
        em = ember.nn.TransformerEncoderLayer(
            8, 2, 16, dropout=0.0, dtype=ember.float64,
            activation=ember.nn.GELU() if act == "module" else ember.nn.functional.silu)
        assert repr(em) == repr(tm)
        assert em.activation_relu_or_gelu == tm.activation_relu_or_gelu
        compare_modules(tm, em, lambda t, m, x: m(x), [rand(5, 8)])


@pytest.mark.parametrize("cfg", LAYER_CONFIGS)
def test_decoder_layer(cfg):
    tm, em = _pair("TransformerDecoderLayer", 8, 2, 16, dropout=0.0, **cfg)
    assert repr(em) == repr(tm)
    b = cfg.get("batch_first", False)
    tgt = rand(2, 4, 8) if b else rand(4, 2, 8)
    mem = rand(2, 5, 8, seed=1) if b else rand(5, 2, 8, seed=1)
    tmask = np.triu(np.ones((4, 4), dtype=bool), 1)
    mkpm = np.array([[False] * 5, [False, False, True, True, True]])
    compare_modules(tm, em, lambda t, m, x, y: m(x, y), [tgt, mem])
    compare_modules(tm, em, lambda t, m, x, y, a, k: m(
        x, y, tgt_mask=a, memory_key_padding_mask=k, tgt_is_causal=True), [tgt, mem],
        masks=[tmask, mkpm])
    fmask = rand(4, 5, seed=3)
    compare_modules(tm, em, lambda t, m, x, y, a: m(x, y, memory_mask=a), [tgt, mem],
                    masks=[fmask])


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")
def test_encoder_stack_and_nested_padding():
    torch.manual_seed(0)
    tl = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True,
                                          dtype=torch.float64)
    el = ember.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True,
                                          dtype=ember.float64)
    tm = torch.nn.TransformerEncoder(tl, 2, norm=torch.nn.LayerNorm(8, dtype=torch.float64))
    em = ember.nn.TransformerEncoder(el, 2, norm=ember.nn.LayerNorm(8, dtype=ember.float64))
    assert em.layers[0] is not em.layers[1] and em.layers[0] is not el
    assert list(em.state_dict()) == list(tm.state_dict())
    x = rand(2, 5, 8)
    kpm = np.array([[False] * 5, [False, False, False, True, True]])
    mask = np.triu(np.full((5, 5), -np.inf), 1)
    compare_modules(tm, em, lambda t, m, x, k: m(x, src_key_padding_mask=k), [x], masks=[kpm])
    compare_modules(tm, em, lambda t, m, x, a: m(x, mask=a), [x], masks=[mask])  # causal found
    tm.eval()
    em.eval()
    with torch.no_grad(), ember.no_grad():  # PyTorch's nested path zeroes padded positions
        out = compare_modules(tm, em, lambda t, m, x, k: m(x, src_key_padding_mask=k), [x],
                              grad=False, masks=[kpm])
        bad = np.array([[False] * 5, [True, False, False, False, False]])  # not left aligned
        compare_modules(tm, em, lambda t, m, x, k: m(x, src_key_padding_mask=k), [x],
                        grad=False, masks=[bad])
    assert np.allclose(out.numpy()[1, 3:], em.norm.bias.detach().numpy())


def test_encoder_nested_tensor_warning():
    layer = ember.nn.TransformerEncoderLayer(8, 2, 16)
    with pytest.warns(UserWarning, match="batch_first was not True"):
        enc = ember.nn.TransformerEncoder(layer, 1)
    assert enc.use_nested_tensor is False and enc.enable_nested_tensor is True
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        enc = ember.nn.TransformerEncoder(ember.nn.TransformerEncoderLayer(8, 2, 16,
                                                                          batch_first=True), 1)
    assert enc.use_nested_tensor is True


@pytest.mark.parametrize("cfg", [{}, {"batch_first": True, "norm_first": True}])
def test_transformer_full(cfg):
    tm, em = _pair("Transformer", 8, 2, 1, 2, 16, dropout=0.0, **cfg)
    b = cfg.get("batch_first", False)
    src = rand(2, 5, 8) if b else rand(5, 2, 8)
    tgt = rand(2, 4, 8, seed=1) if b else rand(4, 2, 8, seed=1)
    tmask = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64).numpy()
    skpm = np.array([[False] * 5, [False, False, False, True, True]])
    compare_modules(tm, em, lambda t, m, s, y, a, k: m(
        s, y, tgt_mask=a, src_key_padding_mask=k, memory_key_padding_mask=k), [src, tgt],
        masks=[tmask, skpm])
    compare_modules(tm, em, lambda t, m, s, y: m(s, y), [src[:, 0], tgt[:, 0]] if not b
                    else [src[0], tgt[0]])


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")
def test_transformer_mask_repr_and_errors():
    for sz, dt in [(3, None), (4, torch.float64)]:
        t = torch.nn.Transformer.generate_square_subsequent_mask(sz, dtype=dt)
        e = ember.nn.Transformer.generate_square_subsequent_mask(
            sz, dtype=None if dt is None else ember.float64)
        assert_close(e, t)
    tm, em = _pair("Transformer", 8, 2, 1, 1, 16)
    assert repr(em) == repr(tm)
    assert repr(_pair("Transformer", 8, 2, 2, 3, 16)[1]) == repr(_pair("Transformer", 8, 2, 2, 3,
                                                                       16)[0])
    assert list(em.state_dict()) == list(tm.state_dict())
    w = em.encoder.layers[0].linear1.weight.detach().numpy()
    assert np.abs(w).max() <= np.sqrt(6 / 24)  # xavier over every matrix
    s, y = rand(5, 2, 8), rand(4, 3, 8)
    for fn, args in [
        (lambda t, s, y: t.nn.Transformer(8, 2, 1, 1, 16)(s, y), (s, y)),
        (lambda t, s, y: t.nn.Transformer(8, 2, 1, 1, 16)(s, y), (s[..., :4], y[:, :2, :4])),
        (lambda t: t.nn.TransformerEncoderLayer(8, 2, activation="tanh"), ()),
        (lambda t: t.nn.TransformerDecoderLayer(8, 3), ()),
    ]:
        check_raises(fn, *args)


def test_transformer_custom_encoder_decoder():
    for lib in (torch, ember):
        lib.manual_seed(0)
    enc_t = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True,
                                         dtype=torch.float64), 1, enable_nested_tensor=False)
    enc_e = ember.nn.TransformerEncoder(
        ember.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True,
                                         dtype=ember.float64), 1, enable_nested_tensor=False)
    dec_t = torch.nn.TransformerDecoder(
        torch.nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, batch_first=True,
                                         dtype=torch.float64), 1)
    dec_e = ember.nn.TransformerDecoder(
        ember.nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, batch_first=True,
                                         dtype=ember.float64), 1)
    tm = torch.nn.Transformer(8, 2, custom_encoder=enc_t, custom_decoder=dec_t, batch_first=True)
    em = ember.nn.Transformer(8, 2, custom_encoder=enc_e, custom_decoder=dec_e, batch_first=True)
    assert em.encoder is enc_e and repr(em) == repr(tm)
    compare_modules(tm, em, lambda t, m, s, y: m(s, y, tgt_is_causal=False),
                    [rand(2, 5, 8), rand(2, 3, 8, seed=1)])
