"""Random number generation: ``Generator`` and the default generator behind ``manual_seed``.

Streams are reproducible for a given seed (NumPy's PCG64); they are not PyTorch's bits.
Random tensors are drawn on the CPU and then moved, so a seed gives the same numbers on any
device.
"""
from __future__ import annotations

import contextlib

import numpy as np

from ember._device import as_device

_DEFAULT_SEED = 67280421310721


class Generator:
    """A source of random numbers with its own state, as ``torch.Generator``."""

    def __init__(self, device="cpu") -> None:
        self.device = as_device(device)
        self.manual_seed(_DEFAULT_SEED)

    def manual_seed(self, seed: int) -> Generator:
        """Restart the stream from ``seed`` (any int in [-2**63, 2**64))."""
        seed = int(seed)
        if not -(2**63) <= seed < 2**64:
            raise RuntimeError(
                f"Overflow when unpacking long long: seed {seed} must lie in [-2**63, 2**64)"
            )
        self._seed = seed % 2**64
        self._np_rng = None
        return self

    @property
    def _rng(self) -> np.random.Generator:
        """The NumPy stream, made on first draw (``import ember`` need not load numpy.random)."""
        r = self._np_rng
        if r is None:
            r = self._np_rng = np.random.Generator(np.random.PCG64(self._seed))
        return r

    def seed(self) -> int:
        """Seed from fresh OS entropy and return the seed used."""
        s = int(np.random.SeedSequence().entropy % 2**63)
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        """The full state as a uint8 tensor, to give back to ``set_state``."""
        import json

        from ember._tensor import Tensor

        blob = json.dumps({"seed": self._seed, "state": self._rng.bit_generator.state})
        return Tensor._make(np.frombuffer(blob.encode(), dtype=np.uint8).copy())

    def set_state(self, new_state) -> Generator:
        """Restore a state returned by ``get_state``."""
        data = getattr(new_state, "_data", None)
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8:
            raise TypeError(
                "set_state(): expected a torch.ByteTensor from get_state(), got "
                f"{type(new_state).__name__}"
            )
        import json

        try:
            saved = json.loads(data.tobytes().decode())
            self._rng.bit_generator.state = saved["state"]
        except (ValueError, KeyError, TypeError):
            raise RuntimeError(
                "set_state(): the tensor is not a state returned by get_state()"
            ) from None
        self._seed = saved["seed"]
        return self


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed the default generator from OS entropy; returns the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    """The default generator's state as a uint8 tensor."""
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    """Restore the default generator's state from ``get_rng_state()``."""
    default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices=None, enabled: bool = True, device_type: str = "cuda"):
    """Within the block, random draws do not advance the default generator's stream.

    ``devices`` and ``device_type`` are accepted for PyTorch's signature: every device draws
    from the default generator in ember.
    """
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


def rng(generator: Generator | None) -> np.random.Generator:
    """The NumPy generator to draw from: the given one's, or the default's."""
    if generator is not None and not isinstance(generator, Generator):
        raise TypeError(
            f"generator must be a torch.Generator, got {type(generator).__name__}"
        )
    return (generator or default_generator)._rng
