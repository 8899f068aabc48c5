"""The safetensors format for state dicts, written and read without the ``safetensors`` package.

A file is an 8-byte little-endian header length ``N``, ``N`` bytes of UTF-8 JSON (padded with
spaces to a multiple of 8) mapping each name to ``{"dtype", "shape", "data_offsets"}`` plus an
optional ``"__metadata__"`` of strings, then the raw little-endian bytes of every tensor laid
out back to back.  Unlike a pickle it cannot run code, so loading only has to check that the
header describes the buffer exactly.
"""
from __future__ import annotations

import json
import os
import struct
import tempfile
from pathlib import Path

import numpy as np

from ember import _dtype as DT
from ember._tensor import Tensor

__all__ = ["load", "load_file", "save", "save_file"]

_NAMES = {
    DT.float64: "F64", DT.float32: "F32", DT.float16: "F16", DT.int64: "I64",
    DT.int32: "I32", DT.int16: "I16", DT.int8: "I8", DT.uint8: "U8", DT.bool_: "BOOL",
}
_DTYPES = {name: dt for dt, name in _NAMES.items()}
# the reference reader refuses headers above this size: a guard against absurd allocations
_MAX_HEADER = 100_000_000


def _host(array) -> np.ndarray:
    return array if isinstance(array, np.ndarray) else array.get()


def save(tensors: dict[str, Tensor], metadata: dict[str, str] | None = None) -> bytes:
    """Serialize ``tensors`` (and string ``metadata``) to safetensors bytes."""
    if not isinstance(tensors, dict):
        raise TypeError(f"save(): expected a dict of str -> Tensor, got {type(tensors).__name__}")
    if metadata is not None and (not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise TypeError("save(): metadata must be a dict of str -> str")
    for name, t in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"save(): tensor names must be str, got {type(name).__name__}")
        if name == "__metadata__":
            raise ValueError("save(): '__metadata__' is reserved and cannot name a tensor")
        if not isinstance(t, Tensor):
            raise TypeError(f"save(): value of '{name}' must be a Tensor, got {type(t).__name__}")
    header: dict = {} if metadata is None else {"__metadata__": dict(metadata)}
    chunks = []
    offset = 0
    # widest dtypes first keeps every tensor aligned to its element size in the buffer
    for name in sorted(tensors, key=lambda n: (-tensors[n].dtype.itemsize, n)):
        t = tensors[name]
        arr = np.asarray(_host(t._data), order="C")  # ascontiguousarray would make 0-d 1-d
        raw = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": _NAMES[t.dtype], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def save_file(tensors: dict[str, Tensor], filename: str | os.PathLike,
              metadata: dict[str, str] | None = None) -> None:
    """Write ``tensors`` to ``filename`` atomically: a crash never leaves a truncated file."""
    data = save(tensors, metadata)
    path = Path(filename)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _parse_header(data: bytes) -> tuple[dict, int]:
    if len(data) < 8:
        raise ValueError(f"safetensors: {len(data)} bytes is too short for the 8-byte header length")
    (n,) = struct.unpack("<Q", data[:8])
    if n > _MAX_HEADER:
        raise ValueError(f"safetensors: header length {n} exceeds the limit of {_MAX_HEADER}")
    if 8 + n > len(data):
        raise ValueError(f"safetensors: header length {n} runs past the end of the "
                         f"{len(data)}-byte data")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"safetensors: the header is not valid UTF-8 JSON ({e})") from None
    if not isinstance(header, dict):
        raise ValueError("safetensors: the header must be a JSON object")
    return header, 8 + n


def _check_entry(name: str, info) -> tuple[DT.dtype, tuple[int, ...], int, int]:
    if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
        raise ValueError(f"safetensors: entry '{name}' must have exactly the keys "
                         "'dtype', 'shape' and 'data_offsets'")
    code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if code not in _DTYPES:
        raise ValueError(f"safetensors: tensor '{name}' has dtype {code!r}, which ember does not "
                         f"support (supported: {', '.join(_DTYPES)})")
    if not (isinstance(shape, list) and all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape)):
        raise ValueError(f"safetensors: tensor '{name}' has invalid shape {shape!r}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(
            isinstance(o, int) and not isinstance(o, bool) and o >= 0 for o in offsets)
            and offsets[0] <= offsets[1]):
        raise ValueError(f"safetensors: tensor '{name}' has invalid data_offsets {offsets!r}")
    dtype = _DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if offsets[1] - offsets[0] != expected:
        raise ValueError(f"safetensors: tensor '{name}' of dtype {code} and shape {shape} needs "
                         f"{expected} bytes but data_offsets {offsets} span "
                         f"{offsets[1] - offsets[0]}")
    return dtype, tuple(shape), offsets[0], offsets[1]


def load(data: bytes) -> dict[str, Tensor]:
    """Deserialize safetensors bytes, refusing any header that does not tile the buffer exactly."""
    data = bytes(data)
    header, start = _parse_header(data)
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (isinstance(metadata, dict) and all(
            isinstance(v, str) for v in metadata.values())):
        raise ValueError("safetensors: '__metadata__' must map str to str")
    entries = {name: _check_entry(name, info) for name, info in header.items()}
    buffer = memoryview(data)[start:]
    end = 0
    for name, (_, _, begin, stop) in sorted(entries.items(), key=lambda kv: kv[1][2:]):
        if begin != end:
            raise ValueError(f"safetensors: tensor '{name}' starts at byte {begin} but the "
                             f"previous tensor ends at {end}: offsets must be contiguous "
                             "without gaps or overlap")
        end = stop
    if end != len(buffer):
        raise ValueError(f"safetensors: the tensors cover {end} bytes but the data buffer "
                         f"has {len(buffer)}")
    out = {}
    for name, (dtype, shape, begin, stop) in entries.items():
        arr = np.frombuffer(buffer[begin:stop], dtype=dtype.np.newbyteorder("<"))
        out[name] = Tensor._make(arr.astype(dtype.np, copy=True).reshape(shape))
    return out


def load_file(filename: str | os.PathLike, device: str = "cpu") -> dict[str, Tensor]:
    """Read a safetensors file and put its tensors on ``device``."""
    with open(filename, "rb") as f:
        tensors = load(f.read())
    if str(device) != "cpu":
        tensors = {k: v.to(device) for k, v in tensors.items()}
    return tensors
