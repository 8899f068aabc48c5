"""The backward pass: walk the recorded graph from the outputs, without recursion.

1. Find every node reachable from the roots and count, for each, the edges that lead into it.
2. If only some inputs are wanted, keep only nodes on a path to one of them.
3. Run nodes in dependency order (ties broken by creation order, newest first, as PyTorch
   does): a node runs once all of its consumers have delivered their gradient, with the sum.
Each node frees what it saved as soon as it has run, unless ``retain_graph``; nodes hold no
state about a particular backward, so a retained graph can be walked again.
"""
from __future__ import annotations

import sys
from heapq import heappop, heappush

import numpy as np

from ember.autograd import grad_mode
from ember.autograd.graph import AccumulateGrad, accumulator


def _collect(roots) -> dict:
    """How many edges enter each node reachable from ``roots``.

    Every node's edges are counted once, a root that another root reaches included.
    """
    deps: dict = {}
    seen = set(roots)
    stack = list(seen)
    while stack:
        node = stack.pop()
        for child, _ in node.next_functions:
            if child is None:
                continue
            deps[child] = deps.get(child, 0) + 1
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return deps


def _needed(roots, deps: dict, targets) -> set:
    """The nodes from which some target can be reached (a topological order walked backwards)."""
    remaining = dict(deps)
    order = [r for r in roots if r not in remaining]
    i = 0
    while i < len(order):
        for child, _ in order[i].next_functions:
            if child is not None:
                remaining[child] -= 1
                if remaining[child] == 0:
                    order.append(child)
        i += 1
    needed = set(targets)
    for node in reversed(order):
        if node not in needed:
            for child, _ in node.next_functions:
                if child in needed:
                    needed.add(node)
                    break
    return needed


_callbacks: list | None = None  # what queue_callback added during the running backward


def queue_callback(callback) -> None:
    """Run ``callback()`` once the running backward pass has walked its whole graph (PyTorch's
    ``Variable._execution_engine.queue_callback``: DDP waits for its all-reduces there)."""
    if _callbacks is None:
        raise RuntimeError("Final callbacks can only be installed during backward pass.")
    _callbacks.append(callback)


def run_backward(outputs, grads, retain_graph: bool, create_graph: bool, inputs=None,
                 capture: bool = False):
    """Backpropagate ``grads`` from ``outputs``, then run the queued callbacks in order.

    With ``capture`` the gradients of ``inputs`` are returned instead of accumulated into
    ``.grad`` (``autograd.grad``); otherwise they go to the leaves' ``.grad`` (only to
    ``inputs`` when given).
    """
    global _callbacks
    outer, _callbacks = _callbacks, []
    try:
        captured = _walk(outputs, grads, retain_graph, create_graph, inputs, capture)
        i = 0
        while i < len(_callbacks):  # a callback may queue another
            _callbacks[i]()
            i += 1
        return captured
    finally:
        _callbacks = outer


def _walk(outputs, grads, retain_graph: bool, create_graph: bool, inputs, capture: bool):
    roots = {}
    buffers: dict = {}
    for t, g in zip(outputs, grads):
        node = t.grad_fn if t.grad_fn is not None else accumulator(t)
        roots[node] = None
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * _n_out(node)
        nr = t._output_nr
        buf[nr] = g if buf[nr] is None else buf[nr] + g

    deps = _collect(roots)
    targets: dict = {}
    needed = None
    if inputs is not None:
        for i, t in enumerate(inputs):
            node = t.grad_fn if t.grad_fn is not None else accumulator(t)
            targets.setdefault(node, []).append((t._output_nr, i))
        needed = _needed(roots, deps, targets)
    captured = [None] * len(inputs) if capture else None

    heap = [(-n._seq, id(n), n) for n in roots if n not in deps]
    heap.sort()
    state = grad_mode._state
    prev = state["enabled"]
    state["enabled"] = create_graph
    try:
        while heap:
            node = heappop(heap)[2]
            grads_in = buffers.pop(node, None)
            if grads_in is None:
                grads_in = [None] * _n_out(node)
            is_acc = type(node) is AccumulateGrad
            if node._pre_hooks or node._retained or node._retain_hooks or (
                is_acc and node.variable._leaf_hooks
            ):
                grads_in = _run_pre_hooks(node, grads_in)
            if capture and node in targets:
                for nr, i in targets[node]:
                    captured[i] = grads_in[nr]
                if not any(c in needed for c, _ in node.next_functions):
                    continue  # autograd.grad stops at its inputs; backward() runs their node
            if is_acc:
                if not capture and grads_in[0] is not None and (inputs is None or node in targets):
                    leaf = node.variable
                    sole = _sole(grads_in[0])
                    _accumulate(leaf, grads_in[0], create_graph, sole)
                    if leaf._post_acc_hooks:
                        for fn in list(leaf._post_acc_hooks.values()):
                            fn(leaf)
                if node._hooks:
                    _run_post_hooks(node, grads_in, grads_in)
                continue
            if needed is not None and node not in needed:
                continue
            for g in grads_in:
                if g is not None:
                    grads_out = node._apply_backward(grads_in)
                    break
            else:
                grads_out = [None] * len(node.next_functions)
            if node._hooks:
                _run_post_hooks(node, grads_out, grads_in)
            if not retain_graph:
                node.release()
            for (child, nr), g in zip(node.next_functions, grads_out):
                if child is None or (needed is not None and child not in needed):
                    continue
                if g is not None:
                    buf = buffers.get(child)
                    if buf is None:
                        if type(child) is AccumulateGrad:
                            buffers[child] = [g]
                        else:
                            buf = buffers[child] = [None] * _n_out(child)
                            buf[nr] = g
                    else:
                        buf[nr] = g if buf[nr] is None else buf[nr] + g
                n = deps[child] - 1
                deps[child] = n
                if n == 0:
                    heappush(heap, (-child._seq, id(child), child))
            grads_out = g = None  # the children's buffers are now the only holders (see _sole)
    finally:
        state["enabled"] = prev
    return captured


def _n_out(node) -> int:
    meta = getattr(node, "_out_meta", None)
    return len(meta) if meta else 1


def _call_hooks(hooks: dict, grads: list, nr: int) -> None:
    for fn in list(hooks.values()):
        g = grads[nr]
        if g is not None:
            r = fn(g)
            if r is not None:
                if r._data.shape != g._data.shape:
                    raise RuntimeError(
                        f"hook '{getattr(fn, '__name__', fn)}' has changed the size of value"
                    )
                grads[nr] = r


def _run_pre_hooks(node, grads: list) -> list:
    """Tensor hooks, then retain_grad, then the node's own pre-hooks (PyTorch's order)."""
    grads = list(grads)
    if type(node) is AccumulateGrad:
        if node.variable._leaf_hooks:
            _call_hooks(node.variable._leaf_hooks, grads, 0)
    elif node._retained:
        for nr, fns in node._retained.items():
            _call_hooks(fns, grads, nr)
    if node._retain_hooks:
        for nr, fn in node._retain_hooks.items():
            if grads[nr] is not None:
                fn(grads[nr])
    if node._pre_hooks:
        for fn in list(node._pre_hooks.values()):
            r = fn(tuple(grads))
            if r is not None:
                grads = list(r)
    return grads


def _run_post_hooks(node, grads_out, grads_in) -> None:
    for fn in list(node._hooks.values()):
        fn(tuple(grads_out), tuple(grads_in))


def _refcounts(g) -> tuple:
    return sys.getrefcount(g), sys.getrefcount(g._data)


class _Probe:
    __slots__ = ("_data",)


def _probe_counts(g) -> tuple:
    return _refcounts(g)  # the same call depth as in _sole


def _fresh_counts() -> tuple:
    """_refcounts of a gradient held by nothing but one buffer list, as _walk passes it."""
    probe = _Probe()
    probe._data = object()
    grads = [probe]
    del probe
    return _probe_counts(grads[0])


# without reference counts (not CPython) every first gradient is copied
_FRESH = _fresh_counts() if hasattr(sys, "getrefcount") else None


def _sole(g) -> bool:
    """Whether ``g`` (called as ``_sole(grads[0])``) is a plain Tensor over an array of its own
    that nothing but the engine references, so ``.grad`` may take it without a copy (as
    PyTorch's AccumulateGrad steals a gradient whose use count is one)."""
    if _FRESH is None or _refcounts(g) != _FRESH:  # first, before a local holds the array
        return False
    d = g._data
    return (type(d) is np.ndarray and d.base is None and d.flags.c_contiguous
            and d.flags.writeable and g.grad_fn is None and type(g).__name__ == "Tensor")


def _accumulate(t, g, create_graph: bool, sole: bool) -> None:
    """Add ``g`` into ``t.grad``: the first gradient is taken as it is when the engine holds the
    only reference to it, else copied, so that no two grads share memory."""
    if create_graph:
        t._grad = g if t._grad is None else t._grad + g
    elif t._grad is None:
        t._grad = g if sole else g.detach().clone()
    elif t._grad._requires_grad:
        t._grad = t._grad + g.detach()
    else:
        t._grad._data += g._data
