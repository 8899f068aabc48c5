"""Type promotion against PyTorch: promote_types, can_cast, result_type, the dtype of real ops'
results for every pair of operand kinds and dtypes, the default dtype, and dtype objects."""
from __future__ import annotations

import copy
import itertools
import operator
import pickle

import numpy as np
import pytest
import torch
from helpers import _wrap, check, check_raises

import ember

# NumPy warns about the nan/inf that random inputs produce (0/0, empty means); PyTorch does not
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
NP = {n: np.dtype(n) for n in NAMES}
PAIRS = list(itertools.product(NAMES, NAMES))


def _dt(mod, name):
    return getattr(mod, name)


# ---- promote_types / can_cast ----------------------------------------------------------------


@pytest.mark.parametrize("a,b", PAIRS)
def test_promote_types(a, b):
    assert repr(ember.promote_types(_dt(ember, a), _dt(ember, b))) == repr(
        torch.promote_types(_dt(torch, a), _dt(torch, b)))


@pytest.mark.parametrize("a,b", PAIRS)
def test_can_cast(a, b):
    assert ember.can_cast(_dt(ember, a), _dt(ember, b)) is torch.can_cast(_dt(torch, a),
                                                                          _dt(torch, b))


@pytest.mark.parametrize("pytype", [bool, int, float])
@pytest.mark.parametrize("name", NAMES)
def test_python_types_as_dtypes(pytype, name):
    """PyTorch accepts ``float``/``int``/``bool`` where a dtype is expected."""
    assert repr(ember.promote_types(_dt(ember, name), pytype)) == repr(
        torch.promote_types(_dt(torch, name), pytype))
    assert ember.can_cast(pytype, _dt(ember, name)) is torch.can_cast(pytype, _dt(torch, name))
    assert ember.can_cast(_dt(ember, name), pytype) is torch.can_cast(_dt(torch, name), pytype)


@pytest.mark.parametrize("fn", [
    lambda t: t.promote_types(t.float32, "float32"),
    lambda t: t.promote_types(1, t.int8),
    lambda t: t.can_cast(t.float32, None),
    lambda t: t.can_cast(1.0, t.float32),
    lambda t: t.promote_types(t.float32),
])
def test_bad_dtype_arguments(fn):
    check_raises(fn)


# ---- result_type -----------------------------------------------------------------------------

# operand kinds: ("dim", dtype) a 1-d tensor, ("zero", dtype) a 0-dim tensor, ("py", value)
KINDS = [("dim", n) for n in NAMES] + [("zero", n) for n in NAMES] + [
    ("py", True), ("py", 3), ("py", -3), ("py", 2.5)]
_VALUES = {"b": [True, False, True], "u": [1, 2, 3], "i": [-2, 1, 3], "f": [-1.5, 0.5, 2.0]}


def _input(kind):
    """The test input of a kind: a NumPy array (becomes a tensor) or a Python scalar."""
    k, v = kind
    if k == "py":
        return v
    vals = _VALUES[NP[v].kind]
    return np.array(vals if k == "dim" else vals[2], dtype=NP[v])


def _kid(kind):
    return f"{kind[0]}-{kind[1]}"


KIND_PAIRS = [(a, b) for a, b in itertools.product(KINDS, KINDS) if "py" not in (a[0], b[0])
              or a[0] != b[0]]


@pytest.mark.parametrize("ka", KINDS, ids=_kid)
def test_result_type(ka):
    """result_type(a, b) for every kind of b: dimensioned, 0-dim, Python scalar."""
    for kb in KINDS:
        ta, tb = (_wrap(torch, _input(k), False) for k in (ka, kb))
        ea, eb = (_wrap(ember, _input(k), False) for k in (ka, kb))
        assert repr(ember.result_type(ea, eb)) == repr(torch.result_type(ta, tb)), (ka, kb)


@pytest.mark.parametrize("bad", ["a", None, [1, 2]])
def test_result_type_bad_operand(bad):
    check_raises(lambda t, x: t.result_type(x, bad), np.ones(2, np.float32))


def test_result_type_numpy_scalars():
    """NumPy scalars promote like the Python scalars of their kind."""
    for s in (np.float64(1.5), np.float32(1.5), np.int64(3), np.int8(3), np.bool_(True)):
        for name in NAMES:
            x = np.ones(2, NP[name])
            assert repr(ember.result_type(ember.from_numpy(x), s)) == repr(
                torch.result_type(torch.from_numpy(x), s)), (type(s), name)


# ---- the dtype (and values) of real ops' results ---------------------------------------------

OPS = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
    "floordiv": operator.floordiv, "mod": operator.mod, "pow": operator.pow,
    "lt": operator.lt, "eq": operator.eq,  # the other comparisons: test_properties
    "where": None,
}
DIFFERENTIABLE = {"add", "sub", "mul", "div", "pow", "where"}


def _fn(op):
    if op == "where":
        cond = np.array([True, False, True])
        return lambda t, a, b: t.where(t.from_numpy(cond.copy()), a, b)
    f = OPS[op]
    return lambda t, a, b: f(a, b)


def _is_bool(kind):
    return kind[1] == "bool" or kind[1] is True


def _is_float(kind):
    return isinstance(kind[1], float) or kind[1] in ("float16", "float32", "float64")


def _known_bug(op, ka, kb):
    """Cases where ember's pointwise ops (not its promotion) still differ from PyTorch."""
    if op == "pow" and ka[0] != "py" and ka[1] == "bool" and kb == ("py", True):
        return "bool tensor ** True: PyTorch gives a bool tensor, ember raises"
    if op == "pow" and ka[0] != "py" and _is_float(ka) and kb[0] != "py" and _is_bool(kb):
        return "float ** bool tensor: ember's pow backward subtracts from a bool tensor"
    return None


def compare(fn, *inputs, grad=True):
    """check() where torch succeeds, else check_raises()."""
    try:
        fn(torch, *[_wrap(torch, x, False) for x in inputs])
    except Exception:  # noqa: BLE001 - which exception is compared by check_raises
        check_raises(fn, *inputs)
        return
    check(fn, *inputs, grad=grad)


def _run_cases(cases):
    """Compare every (op, ka, kb) case; return the failures as readable lines."""
    failures = []
    for op, ka, kb in cases:
        # torch's own backward of `True ** tensor` fails an internal assert
        grad = op in DIFFERENTIABLE and not (op == "pow" and ka == ("py", True))
        try:
            compare(_fn(op), _input(ka), _input(kb), grad=grad)
        except Exception as e:  # noqa: BLE001 - every failure is reported
            msg = (str(e).strip().splitlines() or [""])[0]
            failures.append(f"{op}({_kid(ka)}, {_kid(kb)}): {type(e).__name__}: {msg}")
    return failures


@pytest.mark.parametrize("ka", KINDS, ids=_kid)
@pytest.mark.parametrize("op", list(OPS))
def test_op_result(op, ka):
    """dtype, values (and grads) of `a <op> b` for every kind of b, or the same exception."""
    cases = [(op, ka, kb) for kb in KINDS if (ka, kb) in KIND_PAIRS
             and not _known_bug(op, ka, kb)]
    assert not _run_cases(cases)


KNOWN = {}
for _op in OPS:
    for _ka, _kb in KIND_PAIRS:
        if _known_bug(_op, _ka, _kb):
            KNOWN.setdefault(_op, []).append((_op, _ka, _kb))


@pytest.mark.parametrize("op", [
    pytest.param(op, marks=pytest.mark.xfail(reason="; ".join(
        sorted({_known_bug(*c) for c in cases})), strict=True)) for op, cases in KNOWN.items()])
def test_op_result_known_differences(op):
    """The cases _known_bug lists; this xpasses (and fails, strict) once ember fixes them all."""
    assert not _run_cases(KNOWN[op])


def test_where_two_scalars():
    cond = np.array([True, False])
    for a, b in [(1.5, 2), (1, 2), (True, 2.5), (True, False)]:
        compare(lambda t, c, a=a, b=b: t.where(c, a, b), cond)


TRIPLE_KINDS = [("dim", "int8"), ("zero", "int64"), ("dim", "float16"), ("zero", "float64"),
                ("dim", "uint8"), ("zero", "bool"), ("dim", "bool"), ("dim", "float32"),
                ("dim", "int16"), ("zero", "float16"), ("zero", "uint8")]


def _triples(op, known):
    """Operand triples ember gets right (one category) or not yet (``known``: mixed categories,
    or addcdiv's quotient of floats of different widths, which ember rounds to the narrower)."""
    out = []
    for ks in itertools.permutations(TRIPLE_KINDS, 3):
        cats = {NP[k[1]].kind.replace("u", "i") for k in ks}
        widths = {k[1] for k in ks if NP[k[1]].kind == "f"}
        if (len(cats) > 1 or (op == "addcdiv" and len(widths) > 1)) == known:
            out.append(ks)
    return out


def _check_triples(op, value, triples):
    if not hasattr(ember, op):
        pytest.skip(f"ember.{op} not implemented yet")
    for ka, kb, kc in triples:
        # dtypes and values; torch's own backward fails for some integer mixes
        compare(lambda t, x, y, z: getattr(t, op)(x, y, z, value=value), _input(ka),
                _input(kb), _input(kc), grad=False)


@pytest.mark.parametrize("value", [2, 0.5])
@pytest.mark.parametrize("op", ["addcmul", "addcdiv"])
def test_triples(op, value):
    """Ops with three tensor operands promote all three at once, like result_type(a, b, c)."""
    _check_triples(op, value, _triples(op, known=False))


@pytest.mark.xfail(strict=True, reason="ember's addcmul/addcdiv promote pairwise (and a float "
                   "`value` on its own), not over all three operands at once")
@pytest.mark.parametrize("value", [2, 0.5])
@pytest.mark.parametrize("op", ["addcmul", "addcdiv"])
def test_triples_known_differences(op, value):
    _check_triples(op, value, _triples(op, known=True))


def test_result_type_n_ary():
    """ember.result_type takes any number of operands (PyTorch's n-ary rule, as in addcmul)."""
    def t(dt, dim=True):
        return ember.ones(2 if dim else (), dtype=dt)

    R = ember.result_type
    # dimensioned int8, float16, uint8, bool -> float16; a 0-dim float64 does not widen it
    assert R(t(ember.int8), t(ember.float16), t(ember.uint8), t(ember.float64, False)) \
        is ember.float16
    assert R(t(ember.int8), t(ember.uint8), t(ember.int64, False), 3) is ember.int16
    assert R(t(ember.bool), t(ember.bool, False), 3) is ember.int64
    assert R(t(ember.bool), t(ember.int8, False), t(ember.int16, False), 3) is ember.int16
    assert R(t(ember.int32), t(ember.float16, False), t(ember.float64, False), 2.5) \
        is ember.float64
    assert R(t(ember.int32), t(ember.bool, False), 2.5, 3, True) is ember.float32
    with pytest.raises(TypeError):
        R()


def test_int_pow_negative_exponent():
    for name in ["uint8", "int8", "int16", "int32", "int64"]:
        check_raises(lambda t, x: x ** -1, np.array([1, 2], NP[name]))
        check_raises(lambda t, x: t.pow(x, -2), np.array([1, 2], NP[name]))
    check(lambda t, x: x ** -1.5, np.array([1, 2], np.int64))


# ---- default dtype ---------------------------------------------------------------------------


@pytest.fixture
def restore_default():
    yield
    ember.set_default_dtype(ember.float32)
    torch.set_default_dtype(torch.float32)


def test_default_dtype_is_float32():
    assert ember.get_default_dtype() is ember.float32
    assert ember.tensor([1.0]).dtype is ember.float32
    assert ember.tensor(1.5).dtype is ember.float32
    assert ember.tensor([1, 2]).dtype is ember.int64


@pytest.mark.parametrize("name", ["float64", "float16"])
def test_set_default_dtype(name, restore_default):
    ember.set_default_dtype(_dt(ember, name))
    torch.set_default_dtype(_dt(torch, name))
    assert ember.get_default_dtype() is _dt(ember, name)
    assert repr(ember.get_default_dtype()) == repr(torch.get_default_dtype())
    for fn in (lambda t: t.tensor([1.0]), lambda t: t.tensor(1.5), lambda t: t.tensor([1, 2]),
               lambda t: t.tensor([True]), lambda t: t.ones(2), lambda t: t.zeros(()),
               lambda t: t.full((2,), 1.5), lambda t: t.full((2,), 3)):
        assert repr(fn(ember).dtype) == repr(fn(torch).dtype)
    for kind in KINDS[:-4]:
        x = _input(kind)
        for s in (2.5, 3, True):
            compare(lambda t, a, s=s: a + s, x)
            assert repr(ember.result_type(_wrap(ember, x, False), s)) == repr(
                torch.result_type(_wrap(torch, x, False), s))
        compare(lambda t, a: a / a, x)
    assert repr(ember.result_type(2, 2.5)) == repr(torch.result_type(2, 2.5))


def test_set_default_dtype_restored(restore_default):
    ember.set_default_dtype(ember.float64)
    ember.set_default_dtype(ember.float32)
    assert ember.tensor(1.5).dtype is ember.float32
    assert (ember.ones(2, dtype=ember.int32) + 1.5).dtype is ember.float32


@pytest.mark.parametrize("bad", ["int64", "bool", "uint8", "int32"])
def test_set_default_dtype_rejects_non_float(bad, restore_default):
    check_raises(lambda t: t.set_default_dtype(_dt(t, bad)))
    assert ember.get_default_dtype() is ember.float32


@pytest.mark.parametrize("bad", [float, "float64", None, np.float64])
def test_set_default_dtype_rejects_non_dtype(bad, restore_default):
    check_raises(lambda t: t.set_default_dtype(bad))


# ---- dtype objects ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_dtype_object(name):
    e, t = _dt(ember, name), _dt(torch, name)
    assert repr(e) == repr(t) == f"torch.{name}"
    assert str(e) == str(t)
    assert e.is_floating_point is t.is_floating_point
    assert e.is_signed is t.is_signed
    assert e.is_complex is t.is_complex
    assert e.itemsize == t.itemsize
    assert e.to_real() is e
    assert ember.empty(2, dtype=e).element_size() == t.itemsize
    assert isinstance(e, ember.dtype)
    assert pickle.loads(pickle.dumps(e)) is e
    assert copy.deepcopy(e) is e and copy.copy(e) is e


def test_dtype_aliases():
    aliases = {"float": "float32", "double": "float64", "half": "float16", "long": "int64",
               "int": "int32", "short": "int16"}
    for alias, name in aliases.items():
        assert getattr(ember, alias) is _dt(ember, name)
        assert repr(getattr(torch, alias)) == repr(_dt(ember, name))
    assert repr(ember.bool) == "torch.bool"
    assert ember.bool is ember.tensor([True]).dtype


def test_dtypes_hashable():
    d = {_dt(ember, n): n for n in NAMES}
    assert len(d) == 9
    assert d[ember.float] == "float32" and d[ember.long] == "int64" and d[ember.bool] == "bool"
    assert {ember.float32, ember.float, ember.float64, ember.double} == {ember.float32,
                                                                         ember.float64}
    assert ember.float32 != ember.float64 and ember.float32 == ember.float


# ---- finfo / iinfo (ember._dtype; PyTorch's torch.finfo / torch.iinfo) -----------------------

_finfo, _iinfo = ember._dtype.finfo, ember._dtype.iinfo


@pytest.mark.parametrize("name", ["float16", "float32", "float64"])
def test_finfo(name):
    e, t = _finfo(_dt(ember, name)), torch.finfo(_dt(torch, name))
    for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(e, attr) == getattr(t, attr), attr
        assert type(getattr(e, attr)) is type(getattr(t, attr)), attr
    assert repr(e) == repr(t)
    assert e == _finfo(_dt(ember, name)) and hash(e) == hash(_finfo(_dt(ember, name)))


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo(name):
    e, t = _iinfo(_dt(ember, name)), torch.iinfo(_dt(torch, name))
    for attr in ("bits", "max", "min", "dtype"):
        assert getattr(e, attr) == getattr(t, attr), attr
        assert type(getattr(e, attr)) is type(getattr(t, attr)), attr
    assert repr(e) == repr(t)


def test_finfo_iinfo_defaults_and_errors(restore_default):
    assert repr(_finfo()) == repr(torch.finfo())
    assert repr(_finfo(float)) == repr(torch.finfo(float))
    assert repr(_iinfo(int)) == repr(torch.iinfo(int))
    ember.set_default_dtype(ember.float64)
    torch.set_default_dtype(torch.float64)
    assert repr(_finfo()) == repr(torch.finfo())
    for info, arg in (("finfo", "int32"), ("finfo", "bool"), ("iinfo", "bool"),
                      ("iinfo", "float16"), ("finfo", None)):
        check_raises(lambda t, info=info, arg=arg: getattr(
            ember._dtype if t is ember else t, info)(_dt(t, arg) if arg else "float32"))
