"""The recorded graph: one Node per op application, AccumulateGrad for leaves.

A node knows the nodes that produced its inputs (``next_functions``), what it saved for
backward, and its hooks; it knows nothing about what any op computes.
"""
from __future__ import annotations

import itertools
import weakref

_sequence = itertools.count()

FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward."
)


class SavedTensor:
    """A tensor kept for backward, with the version it had, so later in-place changes are caught.

    An op's own output is kept as its array (not the Tensor, which would point back at the node
    and make a reference cycle) and rebuilt on unpacking with the node as its ``grad_fn``.
    """

    __slots__ = ("array", "output_nr", "tensor", "vc", "version")

    def __init__(self, tensor=None, array=None, output_nr: int = -1, vc=None) -> None:
        self.tensor = tensor
        self.array = array
        self.output_nr = output_nr
        self.vc = tensor._vc if tensor is not None else vc
        self.version = self.vc[0]

    def unpack(self, node):
        if self.vc[0] != self.version:
            from ember._tensor import Tensor

            t = self.tensor
            desc = (
                f"[{type(t).__name__} [{', '.join(map(str, t.shape))}]]"
                if isinstance(t, Tensor)
                else "an output"
            )
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: {desc}, which is output 0 of {node.name()}, is at version "
                f"{self.vc[0]}; expected version {self.version} instead. Hint: the backtrace "
                "further above can point at the operation that failed to compute its gradient."
            )
        if self.tensor is not None:
            return self.tensor
        from ember._tensor import Tensor

        return Tensor._make(self.array, node, self.output_nr, self.vc)


class Node:
    """Base of every graph node (ops, user Functions, AccumulateGrad)."""

    next_functions: tuple = ()
    _saved = None
    _released = False
    _pre_hooks = None
    _hooks = None
    _retained = None
    _retain_hooks = None  # retain_grad(): run after the tensor hooks, as PyTorch does

    def __init__(self) -> None:
        self._seq = next(_sequence)

    def name(self) -> str:
        return type(self).__name__ + "Backward0"

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"

    # ---- saved tensors -------------------------------------------------------------------
    @property
    def saved_tensors(self) -> tuple:
        if self._released:
            raise RuntimeError(FREED)
        if self._saved is None:
            return ()
        return tuple(s.unpack(self) if isinstance(s, SavedTensor) else s for s in self._saved)

    def release(self) -> None:
        """Free what was saved for backward (after a backward without retain_graph)."""
        self._saved = None
        self._released = True

    # ---- hooks ---------------------------------------------------------------------------
    def register_hook(self, fn) -> RemovableHandle:
        if self._hooks is None:
            self._hooks = {}
        return RemovableHandle(self._hooks, fn)

    def register_prehook(self, fn) -> RemovableHandle:
        if self._pre_hooks is None:
            self._pre_hooks = {}
        return RemovableHandle(self._pre_hooks, fn)

    def _tensor_pre_hooks(self, output_nr: int) -> dict:
        """Hooks registered with ``Tensor.register_hook`` on output ``output_nr`` of this node."""
        if self._retained is None:
            self._retained = {}
        return self._retained.setdefault(output_nr, {})

    # ---- the engine's interface ----------------------------------------------------------
    def _apply_backward(self, grads: list) -> list:
        raise NotImplementedError


class AccumulateGrad(Node):
    """The node at a leaf that requires grad: sums incoming gradients into ``leaf.grad``."""

    def __init__(self, leaf) -> None:
        super().__init__()
        self.variable = leaf

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def _tensor_pre_hooks(self, output_nr: int) -> dict:
        leaf = self.variable
        if leaf._leaf_hooks is None:
            leaf._leaf_hooks = {}
        return leaf._leaf_hooks

    def _apply_backward(self, grads: list) -> list:
        raise RuntimeError("AccumulateGrad is handled by the engine")


def accumulator(leaf) -> AccumulateGrad:
    """The one AccumulateGrad of a leaf (kept weakly, as PyTorch does)."""
    ref = leaf._accumulator
    acc = ref() if ref is not None else None
    if acc is None:
        acc = AccumulateGrad(leaf)
        leaf._accumulator = weakref.ref(acc)
    return acc


class RemovableHandle:
    """Returned by ``register_*hook``; ``remove()`` unregisters the hook."""

    _ids = itertools.count()

    def __init__(self, hooks: dict, fn) -> None:
        self._hooks = hooks
        self.id = next(RemovableHandle._ids)
        hooks[self.id] = fn

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.remove()
