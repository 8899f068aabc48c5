"""Variable-length sequences: padding, and ``PackedSequence`` (time-major, batch-sorted rows).

Every pack/unpack is one ``index_select`` with an index array computed in NumPy from the
lengths, so gradients flow back through one gather op instead of a per-sequence loop.
"""
from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence

import numpy as np

from ember import _dtype as DT
from ember._tensor import Tensor
from ember.ops.creation import full, tensor
from ember.ops.shape import cat

_PackedSequenceBase = namedtuple(
    "PackedSequence_", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"]
)


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The permutation that undoes ``permutation`` (``None`` stays ``None``)."""
    if permutation is None:
        return None
    inv = np.argsort(_host(permutation), kind="stable")
    return tensor(inv, dtype=permutation.dtype, device=permutation.device)


class PackedSequence(_PackedSequenceBase):
    """Time-major rows of a batch sorted by decreasing length; ``batch_sizes[t]`` rows at step t.

    ``sorted_indices[i]`` is the original batch position of sorted sequence i (``None`` when the
    batch came sorted); ``unsorted_indices`` is its inverse.
    """

    def __new__(cls, data, batch_sizes: Tensor | None = None,
                sorted_indices: Tensor | None = None,
                unsorted_indices: Tensor | None = None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:  # PackedSequence((data, batch_sizes))
            data, batch_sizes = data[0], data[1]
        if batch_sizes.device.type != "cpu":
            raise ValueError(
                "batch_sizes should always be on CPU. Instances of PackedSequence should never be "
                "created manually. They should be instantiated by functions like "
                "pack_sequence and pack_padded_sequences in nn.utils.rnn."
            )
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> PackedSequence:
        """Move/cast ``data`` (indices follow its device); ``batch_sizes`` stays on the CPU."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        sorted_indices = self.sorted_indices
        unsorted_indices = self.unsorted_indices
        if sorted_indices is not None:
            sorted_indices = sorted_indices.to(data.device)
            unsorted_indices = unsorted_indices.to(data.device)
        return type(self)(data, self.batch_sizes, sorted_indices, unsorted_indices)

    def cuda(self, *args, **kwargs) -> PackedSequence:
        return self.to(*args, device="cuda", **kwargs)

    def cpu(self, *args, **kwargs) -> PackedSequence:
        return self.to(*args, device="cpu", **kwargs)

    def double(self) -> PackedSequence:
        return self.to(dtype=DT.float64)

    def float(self) -> PackedSequence:
        return self.to(dtype=DT.float32)

    def half(self) -> PackedSequence:
        return self.to(dtype=DT.float16)

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        return False


def _host(t) -> np.ndarray:
    """An index/length argument (Tensor, list, array) as a NumPy int64 array on the host."""
    if isinstance(t, Tensor):
        a = t._data
        return np.asarray(a.get() if hasattr(a, "get") else a).astype(np.int64)
    return np.asarray(t, dtype=np.int64)


def _gather_rows(rows: Tensor, index: np.ndarray, padding_value: float | None = None) -> Tensor:
    """``rows[index]`` along dim 0; with ``padding_value``, index ``len(rows)`` reads that value."""
    if padding_value is not None:
        pad = full((1, *rows.shape[1:]), padding_value, dtype=rows.dtype, device=rows.device)
        rows = cat([rows, pad], 0)
    flat = rows.index_select(0, tensor(index.ravel(), device=rows.device))
    return flat.reshape(*index.shape, *rows.shape[1:])


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack sequences of different lengths into ``(T, B, *)`` (or ``(B, T, *)``), padded."""
    if isinstance(sequences, Tensor):
        sequences = sequences.unbind(0)
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise RuntimeError(
            f"Expected padding_side to be one of left or right, but got {padding_side}."
        )
    lengths = np.array([s.shape[0] for s in sequences], dtype=np.int64)
    offsets = np.cumsum(lengths) - lengths
    steps = np.arange(int(lengths.max()))
    src = steps[None, :]
    if padding_side == "left":
        src = src - (steps.size - lengths)[:, None]
    valid = (src >= 0) & (src < lengths[:, None])
    index = np.where(valid, offsets[:, None] + src, lengths.sum())
    if not batch_first:
        index = index.T
    return _gather_rows(cat(sequences, 0), index, padding_value)


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch; unsorted lengths need ``enforce_sorted=False`` (the batch is sorted)."""
    lengths = _host(lengths).reshape(-1)
    batch_dim = 0 if batch_first else 1
    if enforce_sorted:
        if np.any(lengths[1:] > lengths[:-1]):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                "pack_sequence to sidestep this requirement if you do not need ONNX "
                "exportability."
            )
        sorted_indices = None
    else:
        order = np.argsort(-lengths, kind="stable")
        lengths = lengths[order]
        sorted_indices = tensor(order, device=input.device)
        input = input.index_select(batch_dim, sorted_indices)
    batch = input.shape[batch_dim]
    if lengths.size != batch:
        raise RuntimeError(
            f"Expected `len(lengths)` to be equal to batch_size, but got {lengths.size} "
            f"(batch_size={batch})"
        )
    if lengths.size and lengths.min() <= 0:
        raise RuntimeError(
            "Length of all samples has to be greater than 0, but found an element in 'lengths' "
            "that is <= 0"
        )
    if batch_first:
        input = input.transpose(0, 1)
    steps = input.shape[0]
    if lengths[0] > steps:
        raise RuntimeError(
            f"pack_padded_sequence: the longest length {int(lengths[0])} exceeds the "
            f"{steps} time steps of the input; pass lengths no larger than the padded length"
        )
    mask = lengths[None, :] > np.arange(int(lengths[0]))[:, None]
    batch_sizes = tensor(mask.sum(1), dtype=DT.int64)
    data = _gather_rows(input.flatten(0, 1), np.flatnonzero(mask))
    return PackedSequence(data, batch_sizes, sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """Undo ``pack_padded_sequence``: the padded batch (original order) and its lengths."""
    data, batch_sizes = sequence.data, _host(sequence.batch_sizes)
    max_len = batch_sizes.size
    if total_length is not None:
        if total_length < max_len:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in "
                f"input, but got total_length={total_length} and max sequence length being "
                f"{max_len}"
            )
        max_len = total_length
    batch = int(batch_sizes[0])
    lengths = (batch_sizes[None, :] > np.arange(batch)[:, None]).sum(1)
    offsets = np.zeros(max_len, dtype=np.int64)
    offsets[: batch_sizes.size] = np.cumsum(batch_sizes) - batch_sizes
    steps = np.arange(max_len)[:, None]
    rows = np.arange(batch)[None, :]
    index = np.where(steps < lengths[None, :], offsets[:, None] + rows, data.shape[0])
    padded = _gather_rows(data, index, padding_value)
    if batch_first:
        padded = padded.transpose(0, 1)
    if sequence.unsorted_indices is not None:
        unsorted = sequence.unsorted_indices
        padded = padded.index_select(0 if batch_first else 1, unsorted)
        lengths = lengths[_host(unsorted)]
    return padded, tensor(lengths, dtype=DT.int64)


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of variable-length sequences (each ``(L_i, *)``)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list[Tensor]:
    """Split a padded batch back into its sequences, each cut to its length."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [seq[:n] for seq, n in zip(padded_sequences.unbind(0), _host(lengths).tolist())]


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The list of sequences a ``PackedSequence`` holds, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pack_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpack_sequence",
    "unpad_sequence",
]
