"""Checkpoints in PyTorch's format: ember <-> torch both ways, safety, atomic writes."""
import collections
import io
import os
import pickle
import zipfile

import numpy as np
import pytest
import torch

import ember

DTYPES = ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]


def _arrays():
    rng = np.random.default_rng(0)
    out = {}
    for name in DTYPES:
        a = (rng.standard_normal((3, 4)) * 10).astype(name)
        out[name] = a
    return out


def _same(e, t):
    if isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor), type(e)
        assert str(e.dtype) == str(t.dtype) and tuple(e.shape) == tuple(t.shape)
        np.testing.assert_array_equal(e.detach().numpy(), t.detach().numpy())
        assert e.requires_grad == t.requires_grad
        assert isinstance(e, ember.nn.Parameter) == isinstance(t, torch.nn.Parameter)
    elif isinstance(t, dict):
        assert list(e.keys()) == list(t.keys())
        for k in t:
            _same(e[k], t[k])
    elif isinstance(t, (list, tuple)):
        assert len(e) == len(t) and type(e) is type(t)
        for a, b in zip(e, t):
            _same(a, b)
    elif isinstance(t, torch.dtype):
        assert str(e) == str(t)
    else:
        assert e == t


def _payload(mod):
    arrs = _arrays()
    x = mod.from_numpy(np.arange(24, dtype=np.float32).reshape(4, 6))
    return {
        "dtypes": {k: mod.from_numpy(v) for k, v in arrs.items()},
        "views": [x, x[:, 1:4], x.t(), x[::2, ::3], x[1]],
        "scalar": mod.tensor(3.5),
        "empty": mod.zeros(0, 3),
        "param": mod.nn.Parameter(mod.ones(2, 2)),
        "frozen": mod.nn.Parameter(mod.ones(2), requires_grad=False),
        "misc": (1, 2.5, "s", None, True, [1, {"a": 2}]),
        "dtype": mod.float16,
        "ordered": collections.OrderedDict(b=mod.ones(1), a=mod.zeros(1)),
    }


def test_ember_file_loads_in_torch(tmp_path):
    path = tmp_path / "e.pt"
    ember.save(_payload(ember), path)
    loaded = torch.load(path, weights_only=True)
    _same(ember.load(path), loaded)
    _same(_payload(ember), _payload(torch))
    v = loaded["views"]
    assert v[1].data_ptr() - v[0].data_ptr() == 4  # views still share their storage
    v[0][0, 1] = 100
    assert v[1][0, 0].item() == 100


def test_torch_file_loads_in_ember(tmp_path):
    path = tmp_path / "t.pt"
    torch.save(_payload(torch), path)
    got = ember.load(path)
    _same(got, torch.load(path))
    got["views"][0][0, 1] = 100
    assert got["views"][1][0, 0].item() == 100


def test_file_objects_and_bytes():
    buf = io.BytesIO()
    ember.save({"w": ember.ones(3)}, buf)
    buf.seek(0)
    assert torch.load(buf)["w"].tolist() == [1, 1, 1]
    buf = io.BytesIO()
    torch.save([torch.arange(3)], buf)
    buf.seek(0)
    assert ember.load(buf)[0].tolist() == [0, 1, 2]


def test_model_and_optimizer_state_roundtrip_with_torch(tmp_path):
    def model(mod):
        return mod.nn.Sequential(mod.nn.Linear(4, 3), mod.nn.ReLU(), mod.nn.Linear(3, 2))

    tm = model(torch)
    topt = torch.optim.Adam(tm.parameters(), lr=0.01)
    torch.manual_seed(0)
    x = torch.randn(5, 4)
    for _ in range(3):
        topt.zero_grad()
        tm(x).pow(2).sum().backward()
        topt.step()
    torch.save({"model": tm.state_dict(), "opt": topt.state_dict()}, tmp_path / "ck.pt")
    ck = ember.load(tmp_path / "ck.pt")
    em = model(ember)
    em.load_state_dict(ck["model"])
    eopt = ember.optim.Adam(em.parameters(), lr=0.01)
    eopt.load_state_dict(ck["opt"])
    ex = ember.tensor(x.numpy())
    # float32 through two layers: a value near 0 from cancellation differs by an ulp of its terms
    np.testing.assert_allclose(em(ex).detach().numpy(), tm(x).detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    for opt, m, xx in ((eopt, em, ex), (topt, tm, x)):
        opt.zero_grad()
        (m(xx) ** 2).sum().backward()
        opt.step()
    np.testing.assert_allclose(em[0].weight.detach().numpy(), tm[0].weight.detach().numpy(),
                               rtol=1e-5, atol=1e-7)
    ember.save({"model": em.state_dict(), "opt": eopt.state_dict()}, tmp_path / "back.pt")
    back = torch.load(tmp_path / "back.pt")
    tm2 = model(torch)
    tm2.load_state_dict(back["model"])
    torch.optim.Adam(tm2.parameters(), lr=0.01).load_state_dict(back["opt"])


class Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/ember_pwned",))


def test_malicious_pickle_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"w": Evil()}, protocol=2))
        z.writestr("archive/version", b"3\n")
    if os.path.exists("/tmp/ember_pwned"):
        os.unlink("/tmp/ember_pwned")
    with pytest.raises(pickle.UnpicklingError, match="Unsupported global: GLOBAL posix.system"):
        ember.load(path)
    assert not os.path.exists("/tmp/ember_pwned")
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)


class Box:
    def __init__(self, v):
        self.v = v


def test_weights_only_false_loads_custom_objects(tmp_path):
    ember.save({"box": Box(ember.ones(2))}, tmp_path / "b.pt")
    with pytest.raises(pickle.UnpicklingError):
        ember.load(tmp_path / "b.pt")
    assert ember.load(tmp_path / "b.pt", weights_only=False)["box"].v.tolist() == [1.0, 1.0]


def test_failed_save_keeps_the_old_file(tmp_path):
    path = tmp_path / "keep.pt"
    ember.save({"w": ember.ones(2)}, path)
    with pytest.raises(pickle.PicklingError):
        ember.save({"w": ember.ones(2), "bad": lambda: 0}, path)
    assert ember.load(path)["w"].tolist() == [1.0, 1.0]
    assert [p.name for p in tmp_path.iterdir()] == ["keep.pt"]


def test_errors():
    y = ember.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError):
        ember.save(y, io.BytesIO())
    with pytest.raises(RuntimeError, match="zip checkpoint format"):
        ember.load(io.BytesIO(b"not a zip"))


def test_map_location_cpu(tmp_path):
    ember.save(ember.ones(2), tmp_path / "m.pt")
    assert ember.load(tmp_path / "m.pt", map_location="cpu").tolist() == [1.0, 1.0]
    assert ember.load(tmp_path / "m.pt", map_location=ember.device("cpu")).device.type == "cpu"
