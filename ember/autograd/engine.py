"""The backward pass: walk the recorded graph from the outputs, without recursion.

1. Find every node reachable from the roots and count, for each, the edges that lead into it.
2. If only some inputs are wanted, keep only nodes on a path to one of them.
3. Run nodes in dependency order (ties broken by creation order, newest first, as PyTorch
   does): a node runs once all of its consumers have delivered their gradient, with the sum.
Nodes hold no state about a particular backward, so a graph can be walked again when
``retain_graph`` keeps its saved tensors.
"""
from __future__ import annotations

import heapq

from ember.autograd import grad_mode
from ember.autograd.graph import AccumulateGrad, accumulator


def _collect(roots):
    """Every node reachable from ``roots``, and how many edges enter each one."""
    deps: dict = {}
    stack = list(roots)
    seen = set(map(id, roots))
    order = []
    while stack:
        node = stack.pop()
        order.append(node)
        for child, _ in node.next_functions:
            if child is None:
                continue
            deps[child] = deps.get(child, 0) + 1
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return order, deps


def _needed(order, targets: set) -> set:
    """The ids of nodes from which some target node can be reached."""
    needed = set(targets)
    changed = True
    # ``order`` lists parents before children along each DFS branch; iterate to a fixed point
    # from the leaves up so diamonds are covered too.
    while changed:
        changed = False
        for node in reversed(order):
            if id(node) in needed:
                continue
            if any(c is not None and id(c) in needed for c, _ in node.next_functions):
                needed.add(id(node))
                changed = True
    return needed


def run_backward(outputs, grads, retain_graph: bool, create_graph: bool, inputs=None,
                 capture: bool = False):
    """Backpropagate ``grads`` from ``outputs``.

    With ``capture`` the gradients of ``inputs`` are returned instead of accumulated into
    ``.grad`` (``autograd.grad``); otherwise they go to the leaves' ``.grad`` (only to
    ``inputs`` when given).
    """
    roots = []
    buffers: dict = {}
    for t, g in zip(outputs, grads):
        node = t.grad_fn if t.grad_fn is not None else accumulator(t)
        roots.append(node)
        buf = buffers.setdefault(id(node), [None] * _n_out(node))
        nr = t._output_nr
        buf[nr] = g if buf[nr] is None else buf[nr] + g

    targets = {}
    if inputs is not None:
        for i, t in enumerate(inputs):
            node = t.grad_fn if t.grad_fn is not None else accumulator(t)
            targets.setdefault(id(node), []).append((t._output_nr, i, t))
    order, deps = _collect(roots)
    needed = _needed(order, set(targets)) if inputs is not None else None
    captured = [None] * (len(inputs) if inputs is not None else 0)

    nodes = {id(n): n for n in order}
    heap = [(-n._seq, id(n)) for n in {id(r): r for r in roots}.values() if deps.get(n, 0) == 0]
    heapq.heapify(heap)
    ran = []
    with grad_mode.set_grad_enabled(create_graph):
        while heap:
            _, nid = heapq.heappop(heap)
            node = nodes[nid]
            grads_in = buffers.pop(nid, None) or [None] * _n_out(node)
            grads_in = _run_pre_hooks(node, grads_in)
            if nid in targets:
                for nr, i, t in targets[nid]:
                    if capture:
                        captured[i] = grads_in[nr]
                    elif not isinstance(node, AccumulateGrad) and grads_in[nr] is not None:
                        _accumulate(t, grads_in[nr], create_graph)
            if isinstance(node, AccumulateGrad):
                if not capture and grads_in[0] is not None and (inputs is None or nid in targets):
                    _accumulate(node.variable, grads_in[0], create_graph)
                _run_post_hooks(node, grads_in, grads_in)
                continue
            if needed is not None and nid not in needed:
                continue
            if needed is not None and nid in targets and not any(
                c is not None and id(c) in needed for c, _ in node.next_functions
            ):
                continue
            grads_out = node._apply_backward(grads_in) if any(
                g is not None for g in grads_in
            ) else [None] * len(node.next_functions)
            _run_post_hooks(node, grads_out, grads_in)
            ran.append(node)
            for (child, nr), g in zip(node.next_functions, grads_out):
                if child is None:
                    continue
                cid = id(child)
                if g is not None:
                    buf = buffers.get(cid)
                    if buf is None:
                        buf = buffers[cid] = [None] * _n_out(child)
                    buf[nr] = g if buf[nr] is None else buf[nr] + g
                deps[child] -= 1
                if deps[child] == 0:
                    heapq.heappush(heap, (-child._seq, cid))
    if not retain_graph:
        for node in ran:
            node.release()
    return captured


def _n_out(node) -> int:
    meta = getattr(node, "_out_meta", None)
    return len(meta) if meta else 1


def _run_pre_hooks(node, grads: list) -> list:
    hooks = node._retained
    if hooks and not isinstance(node, AccumulateGrad):
        grads = list(grads)
        for nr, fns in hooks.items():
            for fn in list(fns.values()):
                if grads[nr] is not None:
                    r = fn(grads[nr])
                    if r is not None:
                        grads[nr] = r
    elif isinstance(node, AccumulateGrad) and node.variable._leaf_hooks:
        grads = list(grads)
        for fn in list(node.variable._leaf_hooks.values()):
            if grads[0] is not None:
                r = fn(grads[0])
                if r is not None:
                    grads[0] = r
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
    if node._hooks:
        for fn in list(node._hooks.values()):
            fn(tuple(grads_out), tuple(grads_in))


def _accumulate(t, g, create_graph: bool) -> None:
    """Add ``g`` into ``t.grad`` (a fresh copy the first time, so no two grads share memory)."""
    if not create_graph:
        g = g.detach()
    if t._grad is None:
        t._grad = g if create_graph else g.clone()
    elif create_graph or t._grad._requires_grad:
        t._grad = t._grad + g
    else:
        t._grad._data += g._data
