"""L-BFGS on the flattened parameters, with an optional strong-Wolfe line search.

The two-loop recursion, the step-length rules and the cubic-interpolation line search follow
Nocedal & Wright, Numerical Optimization, algorithms 7.4, 3.5 and 3.6 with PyTorch's constants,
so trajectories match PyTorch's LBFGS. Dot products stay NumPy scalars of the parameters'
dtype, so float32 problems round their step lengths and stopping tests in float32 as PyTorch's
0-d tensors do.
"""
from __future__ import annotations

import numpy as np

from ember._device import get_xp
from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.optim.optimizer import Optimizer


def _cubic_min(x1: float, f1: float, g1: float, x2: float, f2: float, g2: float,
               bounds: tuple | None = None) -> float:
    """Minimiser of the cubic through two points with their slopes, clipped to ``bounds``."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 * d1 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2.0
    d2 = np.sqrt(disc)
    if x1 <= x2:
        t = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        t = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(t, lo), hi)


def _strong_wolfe(evaluate, t: float, d: np.ndarray, f: float, g: np.ndarray, gtd: float,
                  c1: float = 1e-4, c2: float = 0.9, tolerance_change: float = 1e-9,
                  max_ls: int = 25) -> tuple:
    """Step ``t`` along ``d`` meeting the strong Wolfe conditions: (loss, grad, t, evaluations)."""
    d_norm = np.abs(d).max()
    f_new, g_new = evaluate(t)
    evals = 1
    gtd_new = g_new @ d
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    it = 0
    # Bracketing phase: grow the step until an interval holding an acceptable point is found.
    while it < max_ls:
        sufficient = not (f_new > f + c1 * t * gtd or (it > 1 and f_new >= f_prev))
        if sufficient and abs(gtd_new) <= -c2 * gtd:
            bracket = [[t, f_new, g_new, gtd_new]]
            done = True
            break
        if not sufficient or gtd_new >= 0:
            bracket = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new, gtd_new]]
            break
        lo, hi = t + 0.01 * (t - t_prev), t * 10
        t_next = _cubic_min(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(lo, hi))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = t_next
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = g_new @ d
        it += 1
    if it == max_ls:
        bracket = [[0.0, f, g, None], [t, f_new, g_new, None]]
    # Zoom phase: shrink the bracket by safeguarded cubic interpolation.
    insufficient = False
    low, high = (0, 1) if bracket[0][1] <= bracket[-1][1] else (1, 0)
    while not done and it < max_ls:
        (ta, fa, _, ga), (tb, fb, _, gb) = bracket
        if abs(tb - ta) * d_norm < tolerance_change:
            break
        t = _cubic_min(ta, fa, ga, tb, fb, gb)
        bmax, bmin = max(ta, tb), min(ta, tb)
        eps = 0.1 * (bmax - bmin)
        if min(bmax - t, t - bmin) < eps:
            if insufficient or t >= bmax or t <= bmin:
                t = bmax - eps if abs(t - bmax) < abs(t - bmin) else bmin + eps
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = g_new @ d
        it += 1
        if f_new > f + c1 * t * gtd or f_new >= bracket[low][1]:
            bracket[high] = [t, f_new, g_new, gtd_new]
            low, high = (0, 1) if bracket[0][1] <= bracket[1][1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high][0] - bracket[low][0]) >= 0:
                bracket[high] = list(bracket[low])
            bracket[low] = [t, f_new, g_new, gtd_new]
    t, f_new, g_new, _ = bracket[low]
    return f_new, g_new, t, evals


def _arr(t: Tensor | None) -> np.ndarray | None:
    return None if t is None else t._data


def _wrap(a: np.ndarray | None) -> Tensor | None:
    return None if a is None else Tensor._make(a)


class LBFGS(Optimizer):
    def __init__(self, params, lr: float = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9,
                 history_size: int = 100, line_search_fn: str | None = None) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, {"lr": lr, "max_iter": max_iter, "max_eval": max_eval,
                                  "tolerance_grad": tolerance_grad,
                                  "tolerance_change": tolerance_change,
                                  "history_size": history_size,
                                  "line_search_fn": line_search_fn})
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def _flat_grad(self) -> np.ndarray:
        xp = get_xp(self._params[0]._data)
        parts = [p._grad._data.reshape(-1) if p._grad is not None
                 else xp.zeros(p._data.size, dtype=p._data.dtype) for p in self._params]
        return xp.concatenate(parts)

    def _add_dir(self, t: float, d: np.ndarray) -> None:
        offset = 0
        for p in self._params:
            n = p._data.size
            p._data += t * d[offset:offset + n].reshape(p._data.shape)
            p._vc[0] += 1
            offset += n

    def _set_params(self, values: list) -> None:
        for p, v in zip(self._params, values):
            p._data[...] = v
            p._vc[0] += 1

    def step(self, closure=None):
        """Up to ``max_iter`` quasi-Newton iterations; ``closure`` must return the loss."""
        if closure is None:
            raise RuntimeError("LBFGS requires a closure: step(closure) re-evaluates the model "
                               "and returns the loss")
        group = self.param_groups[0]
        line_search = group["line_search_fn"]
        if line_search is not None and line_search != "strong_wolfe":
            raise RuntimeError("only 'strong_wolfe' is supported")
        for hook in list(self._step_hooks.values()):
            hook(self, (closure,), {})
        loss = self._minimize(closure, group)
        for hook in list(self._step_post_hooks.values()):
            hook(self, (closure,), {})
        return loss

    def _minimize(self, closure, group: dict):
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history_size, line_search = group["history_size"], group["line_search_fn"]

        def evaluate() -> float:
            with grad_mode.enable_grad():
                return closure()

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        orig_loss = evaluate()
        loss = float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if np.abs(flat_grad).max() <= tol_grad:
            return orig_loss

        # Vectors are kept in the state as Tensors (PyTorch's state_dict layout).
        d, t = _arr(state.get("d")), state.get("t")
        old_dirs = [_arr(v) for v in state.get("old_dirs", [])]
        old_stps = [_arr(v) for v in state.get("old_stps", [])]
        ro, h_diag = list(state.get("ro", [])), state.get("H_diag")
        prev_grad, prev_loss = _arr(state.get("prev_flat_grad")), state.get("prev_loss")
        n_iter = 0
        with grad_mode.no_grad():
            while n_iter < max_iter:
                n_iter += 1
                state["n_iter"] += 1
                if state["n_iter"] == 1:
                    d = -flat_grad
                    old_dirs, old_stps, ro = [], [], []
                    h_diag = 1.0
                else:
                    y = flat_grad - prev_grad
                    s = d * t
                    ys = y @ s
                    if ys > 1e-10:
                        if len(old_dirs) == history_size:
                            old_dirs.pop(0)
                            old_stps.pop(0)
                            ro.pop(0)
                        old_dirs.append(y)
                        old_stps.append(s)
                        ro.append(1.0 / ys)
                        h_diag = ys / (y @ y)
                    # Two-loop recursion: d = -H g with the implicit limited-memory inverse Hessian.
                    al = state.setdefault("al", [None] * history_size)
                    q = -flat_grad
                    for i in range(len(old_dirs) - 1, -1, -1):
                        al[i] = (old_stps[i] @ q) * ro[i]
                        q = q - al[i] * old_dirs[i]
                    d = q * h_diag
                    for i in range(len(old_dirs)):
                        be_i = (old_dirs[i] @ d) * ro[i]
                        d = d + (al[i] - be_i) * old_stps[i]
                prev_grad = flat_grad.copy()
                prev_loss = loss
                if state["n_iter"] == 1:
                    t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr
                else:
                    t = lr
                gtd = flat_grad @ d
                if gtd > -tol_change:
                    break
                ls_evals = 0
                if line_search is not None:
                    start = [p._data.copy() for p in self._params]

                    def along(step_len: float, start=start, d=d) -> tuple:
                        self._add_dir(step_len, d)
                        f_val = float(evaluate())
                        g_val = self._flat_grad()
                        self._set_params(start)
                        return f_val, g_val

                    loss, flat_grad, t, ls_evals = _strong_wolfe(along, t, d, loss, flat_grad, gtd)
                    self._add_dir(t, d)
                    opt_cond = np.abs(flat_grad).max() <= tol_grad
                else:
                    self._add_dir(t, d)
                    opt_cond = False
                    if n_iter != max_iter:
                        loss = float(evaluate())
                        flat_grad = self._flat_grad()
                        opt_cond = np.abs(flat_grad).max() <= tol_grad
                        ls_evals = 1
                evals += ls_evals
                state["func_evals"] += ls_evals
                if (n_iter == max_iter or evals >= max_eval or opt_cond
                        or np.abs(d * t).max() <= tol_change or abs(loss - prev_loss) < tol_change):
                    break

        state.update({"d": _wrap(d), "t": t, "old_dirs": [_wrap(v) for v in old_dirs],
                      "old_stps": [_wrap(v) for v in old_stps], "ro": ro, "H_diag": h_diag,
                      "prev_flat_grad": _wrap(prev_grad), "prev_loss": prev_loss})
        return orig_loss

