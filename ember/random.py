"""Random number generation: ``Generator`` and the default generator behind ``manual_seed``.

Streams are reproducible for a given seed (NumPy's PCG64); they are not PyTorch's bits.
Random tensors are drawn on the CPU and then moved, so a seed gives the same numbers on any
device.
"""
from __future__ import annotations

import numpy as np

from ember._device import as_device


class Generator:
    """A source of random numbers with its own state, as ``torch.Generator``."""

    def __init__(self, device="cpu") -> None:
        self.device = as_device(device)
        self._seed = 67280421310721
        self._rng = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed: int) -> "Generator":
        seed = int(seed)
        if seed < -(2**63) or seed >= 2**64:
            raise RuntimeError(
                "Overflow when unpacking long long"
            )
        self._seed = seed % 2**64
        self._rng = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def seed(self) -> int:
        s = int(np.random.SeedSequence().entropy % 2**63)
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        from ember._tensor import Tensor

        import pickle

        raw = np.frombuffer(pickle.dumps(self._rng.bit_generator.state), dtype=np.uint8)
        return Tensor._make(raw.copy())

    def set_state(self, state) -> "Generator":
        import pickle

        self._rng.bit_generator.state = pickle.loads(state._data.tobytes())
        return self


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (and CuPy's, when a GPU is in use)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    default_generator.set_state(new_state)


def rng(generator: Generator | None) -> np.random.Generator:
    """The NumPy generator to draw from: the given one's, or the default's."""
    return (generator or default_generator)._rng
