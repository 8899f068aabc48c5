"""safetensors files written by ember must be read by the reference package, and vice versa."""
import json
import struct

import numpy as np
import pytest

import ember
from ember.utils import safetensors as st

ref = pytest.importorskip("safetensors.torch", reason="the reference safetensors package")
torch = pytest.importorskip("torch")

DTYPES = ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]
SHAPES = [(), (0,), (3, 0, 2), (5,), (2, 3, 4)]


def _array(dtype: str, shape, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return np.asarray(rng.random(shape) > 0.5)
    if dtype.startswith("float"):
        return rng.standard_normal(shape).astype(dtype)
    return rng.integers(0, 100, shape).astype(dtype)


def _tensors() -> dict[str, np.ndarray]:
    return {f"{d}.{i}": _array(d, s, seed=i) for d in DTYPES for i, s in enumerate(SHAPES)}


def _hand_built(header: dict, buffer: bytes = b"") -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + buffer


def test_ember_file_loads_in_reference(tmp_path):
    arrays = _tensors()
    path = tmp_path / "m.safetensors"
    st.save_file({k: ember.tensor(v) for k, v in arrays.items()}, path,
                 metadata={"format": "pt", "step": "3"})
    loaded = ref.load_file(str(path))
    assert loaded.keys() == arrays.keys()
    for k, v in arrays.items():
        assert loaded[k].numpy().dtype == v.dtype and loaded[k].shape == v.shape, k
        np.testing.assert_array_equal(loaded[k].numpy(), v)
    from safetensors import safe_open
    with safe_open(str(path), "pt") as f:
        assert f.metadata() == {"format": "pt", "step": "3"}
    assert not [p for p in tmp_path.iterdir() if p.name != "m.safetensors"]


def test_reference_file_loads_in_ember(tmp_path):
    arrays = _tensors()
    path = tmp_path / "r.safetensors"
    ref.save_file({k: torch.from_numpy(v) for k, v in arrays.items()}, str(path),
                  metadata={"a": "b"})
    loaded = st.load_file(path)
    assert loaded.keys() == arrays.keys()
    for k, v in arrays.items():
        assert isinstance(loaded[k], ember.Tensor)
        assert loaded[k].dtype == getattr(ember, d if (d := str(v.dtype)) != "bool" else "bool")
        assert tuple(loaded[k].shape) == v.shape, k
        np.testing.assert_array_equal(loaded[k].numpy(), v)
    assert st.load(ref.save({"x": torch.arange(4)}))["x"].tolist() == [0, 1, 2, 3]


def test_bytes_round_trip_and_non_contiguous():
    base = ember.tensor(np.arange(12.0).reshape(3, 4))
    data = st.save({"t": base.t(), "s": base[:, 1]})
    assert struct.unpack("<Q", data[:8])[0] % 8 == 0
    out = ref.load(data)
    np.testing.assert_array_equal(out["t"].numpy(), np.arange(12.0).reshape(3, 4).T)
    back = st.load(data)
    np.testing.assert_array_equal(back["s"].numpy(), [1.0, 5.0, 9.0])
    assert st.load(st.save({})) == {}


def test_state_dict_round_trip(tmp_path):
    lin = ember.nn.Linear(3, 2)
    st.save_file(lin.state_dict(), tmp_path / "lin.safetensors")
    other = ember.nn.Linear(3, 2)
    other.load_state_dict(st.load_file(tmp_path / "lin.safetensors"))
    np.testing.assert_array_equal(other.weight.detach().numpy(), lin.weight.detach().numpy())


@pytest.mark.parametrize("tensors, err", [
    ({1: ember.tensor([1.0])}, TypeError),
    ({"a": np.zeros(2)}, TypeError),
    ({"__metadata__": ember.tensor([1.0])}, ValueError),
])
def test_save_refuses(tensors, err):
    with pytest.raises(err):
        st.save(tensors)
    with pytest.raises(TypeError, match="metadata"):
        st.save({}, metadata={"a": 1})


ENTRY = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}


@pytest.mark.parametrize("data, match", [
    (b"\x01\x00", "too short"),
    (struct.pack("<Q", 1 << 40) + b"{}", "exceeds"),
    (struct.pack("<Q", 50) + b"{}", "past the end"),
    (struct.pack("<Q", 4) + b"{no}", "JSON"),
    (struct.pack("<Q", 2) + b"[]", "JSON object"),
    (_hand_built({"x": {**ENTRY, "dtype": "BF16", "data_offsets": [0, 4]}}, bytes(4)), "BF16"),
    (_hand_built({"x": {**ENTRY, "data_offsets": [0, 12]}}, bytes(12)), "needs 8 bytes"),
    (_hand_built({"x": ENTRY}, bytes(4)), "cover 8 bytes"),
    (_hand_built({"x": ENTRY}, bytes(12)), "cover 8 bytes"),
    (_hand_built({"x": {**ENTRY, "data_offsets": [4, 12]}}, bytes(12)), "contiguous"),
    (_hand_built({"x": ENTRY, "y": ENTRY}, bytes(8)), "contiguous"),
    (_hand_built({"x": {**ENTRY, "shape": [-2]}}, bytes(8)), "invalid shape"),
    (_hand_built({"x": {**ENTRY, "data_offsets": [8, 0]}}, bytes(8)), "invalid data_offsets"),
    (_hand_built({"x": {"dtype": "F32"}}), "exactly the keys"),
    (_hand_built({"__metadata__": {"a": 1}}), "__metadata__"),
])
def test_corrupted_files_are_refused(data, match):
    with pytest.raises(ValueError, match=match):
        st.load(data)


def test_hand_built_file_with_gap_free_offsets():
    buf = np.array([1.5, -2.0], "<f4").tobytes() + np.array([7], "<i8").tobytes()
    data = _hand_built({"a": ENTRY, "b": {"dtype": "I64", "shape": [], "data_offsets": [8, 16]},
                        "__metadata__": {"k": "v"}}, buf)
    out = st.load(data)
    assert out["a"].tolist() == [1.5, -2.0] and out["b"].item() == 7
    assert out["b"].dtype == ember.int64 and out["b"].shape == ()
