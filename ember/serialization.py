"""``save`` / ``load`` in PyTorch's own checkpoint format, and pickling of tensors.

A checkpoint is a zip archive: ``archive/data.pkl`` pickles the object with each tensor as a
call to ``torch._utils._rebuild_tensor_v2`` whose storage is a persistent id naming the raw
little-endian bytes in ``archive/data/<key>``.  ember writes exactly those names, so
``torch.load`` reads ember's files, and reads them back itself without PyTorch installed.
``load(weights_only=True)`` (the default, as in PyTorch) resolves only an allowlist of names:
a pickle that asks for anything else (``os.system``...) is refused before it can run.
"""
from __future__ import annotations

import collections
import io
import os
import pickle
import secrets
import tempfile
import zipfile
from pathlib import Path
from typing import ClassVar

import numpy as np

from ember import _device as D
from ember import _dtype as DT
from ember._tensor import Tensor

# ---- pickling for processes and copies (not the checkpoint format) ---------------------------


def _rebuild_tensor(array, requires_grad: bool) -> Tensor:
    t = Tensor._make(array)
    t._requires_grad = requires_grad
    return t


def reduce_tensor(t: Tensor):
    """Pickle a leaf tensor as its (CPU) array; a non-leaf cannot be pickled, as in PyTorch."""
    if t.grad_fn is not None:
        raise RuntimeError(
            "Can't pickle a Tensor that requires grad and is not a leaf: call .detach() first"
        )
    return (_rebuild_tensor, (_host(t._data), t._requires_grad))


def _host(array) -> np.ndarray:
    return array if isinstance(array, np.ndarray) else array.get()


# ---- the names PyTorch's format uses ---------------------------------------------------------

_STORAGE_NAMES = {
    DT.float32: "FloatStorage", DT.float64: "DoubleStorage", DT.float16: "HalfStorage",
    DT.int64: "LongStorage", DT.int32: "IntStorage", DT.int16: "ShortStorage",
    DT.int8: "CharStorage", DT.uint8: "ByteStorage", DT.bool_: "BoolStorage",
}
_STORAGE_DTYPES = {name: dt for dt, name in _STORAGE_NAMES.items()}


class _Global:
    """Written to the pickle as ``GLOBAL module name``, whatever is importable here."""

    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def __call__(self, *args):  # pickle requires reduce functions to be callable
        raise TypeError(f"{self.module}.{self.name} is only a name in a checkpoint")


class _Storage:
    __slots__ = ("array", "key")

    def __init__(self, array: np.ndarray, key: str) -> None:
        self.array, self.key = array, key


class _Pickler(pickle._Pickler):
    """Pickles ember objects under PyTorch's names; tensors' bytes go to the archive."""

    dispatch: ClassVar[dict] = dict(pickle._Pickler.dispatch)

    def __init__(self, file, protocol: int) -> None:
        super().__init__(file, protocol)
        self.storages: dict[int, _Storage] = {}

    def _save_global(self, g: _Global) -> None:
        self.write(pickle.GLOBAL + f"{g.module}\n{g.name}\n".encode())
        self.memoize(g)

    def _save_dtype(self, dt: DT.dtype) -> None:
        self.write(pickle.GLOBAL + f"torch\n{dt.name}\n".encode())
        self.memoize(dt)

    dispatch[_Global] = _save_global
    dispatch[DT.dtype] = _save_dtype

    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            dt = DT.from_numpy_dtype(obj.array.dtype)
            return ("storage", _Global("torch", _STORAGE_NAMES[dt]), obj.key, "cpu",
                    obj.array.size)
        return None

    def _storage_of(self, a: np.ndarray) -> tuple[_Storage, int, tuple]:
        """The storage holding ``a`` (shared by views of one buffer), offset and strides."""
        root = a
        while isinstance(root.base, np.ndarray):
            root = root.base
        item = a.itemsize
        usable = (root.dtype == a.dtype and root.flags.c_contiguous
                  and all(s >= 0 and s % item == 0 for s in a.strides))
        if not usable:
            root = np.ascontiguousarray(a)
            a = root
        st = self.storages.get(id(root))
        if st is None:
            st = self.storages[id(root)] = _Storage(root.reshape(-1), str(len(self.storages)))
        offset = (a.__array_interface__["data"][0] - root.__array_interface__["data"][0]) // item
        return st, offset, tuple(s // item for s in a.strides)

    def reducer_override(self, obj):
        from ember.nn.parameter import Parameter

        if isinstance(obj, Parameter):
            data = Tensor._make(obj._data)
            return (_Global("torch._utils", "_rebuild_parameter"),
                    (data, obj.requires_grad, collections.OrderedDict()))
        if isinstance(obj, Tensor):
            if obj.grad_fn is not None:
                raise RuntimeError(
                    "Can't save a Tensor that requires grad and is not a leaf (it has a "
                    "grad_fn): save tensor.detach() instead"
                )
            st, offset, stride = self._storage_of(_host(obj._data))
            return (_Global("torch._utils", "_rebuild_tensor_v2"),
                    (st, offset, tuple(obj.shape), stride, obj.requires_grad,
                     collections.OrderedDict()))
        if isinstance(obj, D.device):
            return (_Global("torch", "device"), (str(obj),))
        return NotImplemented


def save(obj, f, pickle_module=pickle, pickle_protocol: int = 2,
         _use_new_zipfile_serialization: bool = True, _disable_byteorder_record: bool = False
         ) -> None:
    """Write ``obj`` (tensors, state_dicts, containers of them) in PyTorch's zip format.

    A path is written through a temporary file renamed into place, so an existing file is
    never left half-written.
    """
    if not _use_new_zipfile_serialization:
        raise RuntimeError("ember only writes PyTorch's zip checkpoint format")
    buf = io.BytesIO()
    pickler = _Pickler(buf, pickle_protocol)
    pickler.dump(obj)
    path = Path(os.fspath(f)) if isinstance(f, (str, os.PathLike)) else None
    name = path.stem if path is not None and path.stem.isidentifier() else "archive"

    def write(target) -> None:
        with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as z:
            z.writestr(f"{name}/data.pkl", buf.getvalue())
            z.writestr(f"{name}/.format_version", b"1")
            z.writestr(f"{name}/.storage_alignment", b"64")
            if not _disable_byteorder_record:
                z.writestr(f"{name}/byteorder", b"little")
            for st in pickler.storages.values():
                z.writestr(f"{name}/data/{st.key}", np.ascontiguousarray(st.array).astype(
                    st.array.dtype.newbyteorder("<"), copy=False).tobytes())
            z.writestr(f"{name}/version", b"3\n")
            z.writestr(f"{name}/.data/serialization_id", str(secrets.randbits(128)).zfill(40))

    if path is None:
        write(f)
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would hide the file from other users
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


# ---- loading ---------------------------------------------------------------------------------


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None) -> Tensor:
    arr = storage.array
    item = arr.itemsize
    view = np.lib.stride_tricks.as_strided(
        arr[storage_offset:] if arr.size else arr, shape=tuple(size),
        strides=tuple(s * item for s in stride))
    t = Tensor._make(view)
    t._requires_grad = bool(requires_grad)
    return t


def _rebuild_parameter(data: Tensor, requires_grad: bool, backward_hooks=None):
    from ember.nn.parameter import Parameter

    return Parameter(data, requires_grad)


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    p = _rebuild_parameter(data, requires_grad)
    p.__dict__.update(state or {})
    return p


class _StorageType:
    def __init__(self, dtype: DT.dtype) -> None:
        self.dtype = dtype


_SAFE_GLOBALS = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter_with_state,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch", "device"): D.device,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "slice"): slice,
    ("builtins", "complex"): complex,
}
_SAFE_GLOBALS.update({("torch", name): _StorageType(dt) for name, dt in _STORAGE_DTYPES.items()})
_SAFE_GLOBALS.update({("torch", dt.name): dt for dt in DT.ALL})
_SAFE_GLOBALS.update({("torch", alias): dt for alias, dt in (
    ("float", DT.float32), ("double", DT.float64), ("half", DT.float16), ("long", DT.int64),
    ("int", DT.int32), ("short", DT.int16), ("bool", DT.bool_))})


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, archive: zipfile.ZipFile, prefix: str, weights_only: bool,
                 map_location) -> None:
        super().__init__(file)
        self.archive, self.prefix = archive, prefix
        self.weights_only = weights_only
        self.map_location = map_location
        self.loaded: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str):
        found = _SAFE_GLOBALS.get((module, name))
        if found is not None:
            return found
        if self.weights_only:
            raise pickle.UnpicklingError(
                "Weights only load failed. In ember, as in PyTorch 2.6+, `weights_only=True` is "
                "the default: only tensors, primitive types, dicts, lists and tuples are loaded. "
                f"This file asks for Unsupported global: GLOBAL {module}.{name}. If you trust "
                "its source, load it with `weights_only=False` (that can run arbitrary code)."
            )
        if module.split(".")[0] == "torch":
            raise pickle.UnpicklingError(
                f"ember cannot rebuild the PyTorch object {module}.{name} from this file"
            )
        return super().find_class(module, name)

    def persistent_load(self, pid):
        kind, storage_type, key, location, _numel = pid
        if kind != "storage":
            raise pickle.UnpicklingError(f"unknown persistent id kind {kind!r}")
        st = self.loaded.get(key)
        if st is None:
            if not isinstance(storage_type, _StorageType):
                raise pickle.UnpicklingError(
                    f"ember cannot load storages of type {storage_type!r} (e.g. bfloat16)"
                )
            raw = self.archive.read(f"{self.prefix}data/{key}")
            arr = np.frombuffer(raw, dtype=storage_type.dtype.np.newbyteorder("<")).astype(
                storage_type.dtype.np)
            _check_location(location, self.map_location)
            st = self.loaded[key] = _Storage(arr, key)
        return st


def _check_location(location: str, map_location) -> None:
    if map_location is None and location.startswith("cuda") and not D.cuda_available():
        raise RuntimeError(
            "Attempting to deserialize object on a CUDA device but torch.cuda.is_available() is "
            "False. If you are running on a CPU-only machine, please use torch.load with "
            "map_location=torch.device('cpu') to map your storages to the CPU."
        )


def _move(obj, device: D.device):
    if isinstance(obj, Tensor):
        moved = obj.to(device)
        if moved is not obj and type(obj) is not Tensor:
            moved = type(obj)(moved, obj.requires_grad)
        return moved
    if isinstance(obj, dict):
        out = type(obj)() if type(obj) in (dict, collections.OrderedDict) else {}
        for k, v in obj.items():
            out[k] = _move(v, device)
        if hasattr(obj, "_metadata"):
            out._metadata = obj._metadata
        return out
    if isinstance(obj, list):
        return [_move(v, device) for v in obj]
    if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
        return tuple(_move(v, device) for v in obj)
    return obj


def load(f, map_location=None, pickle_module=None, *, weights_only: bool | None = None,
         mmap: bool | None = None, **pickle_load_args):
    """Read a checkpoint written by ``torch.save`` or ``ember.save`` (zip format)."""
    if weights_only is None:
        weights_only = os.environ.get("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "0") not in ("1", "true")
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            return _load(fh, map_location, weights_only)
    return _load(f, map_location, weights_only)


def _load(fh, map_location, weights_only: bool):
    if not zipfile.is_zipfile(fh):
        fh.seek(0)
        raise RuntimeError(
            "ember.load reads PyTorch's zip checkpoint format (torch.save's default since "
            "PyTorch 1.6); this file is in another format. Re-save it with a recent torch.save."
        )
    fh.seek(0)
    with zipfile.ZipFile(fh) as archive:
        pkl = next((n for n in archive.namelist() if n.endswith("data.pkl")), None)
        if pkl is None:
            raise RuntimeError("not a PyTorch checkpoint: the archive has no data.pkl")
        prefix = pkl[: -len("data.pkl")]
        up = _Unpickler(io.BytesIO(archive.read(pkl)), archive, prefix, weights_only,
                        map_location)
        obj = up.load()
    if map_location is not None and not callable(map_location):
        if isinstance(map_location, dict):
            target = map_location.get("cpu", "cpu")
        else:
            target = map_location
        device = D.as_device(target)
        if device.type != "cpu":
            obj = _move(obj, device)
    return obj
