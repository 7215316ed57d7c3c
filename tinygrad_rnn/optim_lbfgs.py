"""L-BFGS, as torch.optim.LBFGS (torch 2.13): tr.optim.LBFGS.

A quasi-Newton method: each step() runs up to max_iter iterations, each a direction from the last
history_size (step, gradient change) pairs (the two-loop recursion) and a step along it, either of
length lr or one a strong-Wolfe line search picks (line_search_fn="strong_wolfe"). It evaluates the
loss and the gradient itself, so step() needs a closure that clears the gradients, computes the loss,
calls backward() and returns the loss. One parameter group; every parameter is handled as one flat
vector (the gradients gathered into it, the update scattered back), so the state (the direction d, the
step t, the history) is kept on the first parameter, as torch keeps it.

The arithmetic follows torch's operation by operation (in the parameters' dtype: a float32 model's dot
products are float32 numbers, and numpy 2's Python scalars promote as torch's do, so the line search's tests
compare float32 numbers as torch's do; torch's add_(v, alpha=a) is one fused multiply-add, here too), so a
float64 run takes torch's steps to rounding, the same number of closure calls included. What stays apart is the
order of the sums: torch's dot is MKL's and its |g|_1 its own reduction, ours numpy's (a last-place difference).
L-BFGS amplifies such differences: torch itself, started one last place away, ends 1e-4..5e-2 away after 20..80
float32 iterations of a small net, so float32 runs are compared with that noise. The interpolation and the line
search are written out below from the published algorithm (Nocedal and Wright, Numerical Optimization,
algorithms 3.5 and 3.6), as torch's follows it.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .optim import Optimizer, _learning_rate, _lr_of, _number, _saved_tensor
from .tape import enable_grad, no_grad
from .tensor import Tensor

__all__ = ["LBFGS"]

# the entries torch's LBFGS keeps in its state: counts and numbers, vectors, and lists of vectors
_COUNTS = ("func_evals", "n_iter")
_VECTORS = ("d", "prev_flat_grad")
_LISTS = ("old_dirs", "old_stps", "ro", "al")
_NUMBERS = ("t", "H_diag", "prev_loss")
# the entries torch's step() assigns at its end, in its order (func_evals, n_iter and al come first, as made)
_WRITTEN_LAST = ("d", "t", "old_dirs", "old_stps", "ro", "H_diag", "prev_flat_grad", "prev_loss")


class LBFGS(Optimizer):
    """torch.optim.LBFGS(params, lr=1, max_iter=20, max_eval=None (max_iter * 5 // 4), tolerance_grad=1e-7,
    tolerance_change=1e-9, history_size=100, line_search_fn=None or "strong_wolfe"); `step(closure)`."""

    _state_keys = _COUNTS + _VECTORS + _LISTS + _NUMBERS

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1, max_iter: int = 20,
                 max_eval: int | None = None, tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9,
                 history_size: int = 100, line_search_fn: str | None = None) -> None:
        if max_eval is None and isinstance(max_iter, int) and not isinstance(max_iter, bool):
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change, history_size=history_size,
                                      line_search_fn=line_search_fn))
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def _check_group(self, group, ranges=True):
        lr = _learning_rate(group["lr"], ranges)
        # an int lr (torch's default, 1) stays an int, as in torch: the step t is lr after the first iteration,
        # and torch's state then holds that int (a Tensor lr stays a Tensor, t computed in its dtype)
        is_int = isinstance(group["lr"], (int, np.integer)) and not isinstance(group["lr"], (bool, np.bool_))
        group["lr"] = int(group["lr"]) if is_int else lr
        for name in ("max_iter", "max_eval", "history_size"):
            value = group[name]
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
            if ranges and value < 1:
                raise ValueError(f"Invalid {name}: {value} (must be at least 1)")
        for name in ("tolerance_grad", "tolerance_change"):
            group[name] = _number(name, group[name])
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise RuntimeError(f"LBFGS: only 'strong_wolfe' is supported as line_search_fn, got "
                               f"{group['line_search_fn']!r}")

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)

    # -- the flat vector of every parameter (torch's _gather_flat_grad, _add_grad, _clone_param, _set_param)
    def _flat_grad(self):
        return np.concatenate([np.zeros(p._data.size, p._data.dtype) if p._grad is None else p._grad.reshape(-1)
                               for p in self._params])

    def _add(self, step, direction):
        offset = 0
        for p in self._params:
            if isinstance(step, Tensor):
                step = step._data.reshape(-1)[0]
            p._data[...] = _fused_add(p._data, step, direction[offset:offset + p._data.size].reshape(p._data.shape))
            p.bump_version()   # a graph recorded before can no longer backpropagate
            offset += p._data.size

    def _set(self, values):
        for p, value in zip(self._params, values):
            p._data[...] = value
            p.bump_version()

    def _evaluate(self, closure):
        """closure()'s loss as a float (torch's float(closure())), with grad mode on whatever the caller's."""
        with enable_grad():
            loss = closure()
        return float(loss.item() if isinstance(loss, Tensor) else loss)

    def _directional_evaluate(self, closure, x, t, d):
        """The loss and gradient at x + t d; the parameters are x again afterwards."""
        self._add(t, d)
        loss = self._evaluate(closure)
        flat_grad = self._flat_grad()
        self._set(x)
        return loss, flat_grad

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Up to max_iter iterations of L-BFGS on the closure's loss; returns the closure's first loss."""
        if closure is None:
            raise TypeError("LBFGS.step() needs a closure that clears the gradients, computes the loss, calls "
                            "backward() and returns the loss")
        self._opt_called = True
        group = self.param_groups[0]
        self._check_group(group, ranges=False)
        state = self.state.setdefault(self._params[0], {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        with enable_grad():
            orig_loss = closure()
        return self._step_quietly(_with_callers_numpy(closure), group, state, orig_loss)

    @np.errstate(all="ignore")   # inf or nan gradients: inf or nan parameters quietly, as torch's (numpy would warn)
    def _step_quietly(self, closure, group, state, orig_loss):
        loss = float(orig_loss.item() if isinstance(orig_loss, Tensor) else orig_loss)
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if np.abs(flat_grad).max() <= group["tolerance_grad"]:   # optimal already
            return orig_loss
        with no_grad():
            self._iterate(closure, group, state, loss, flat_grad)
        for name in _WRITTEN_LAST:   # torch writes these back at the end of each step(): its state's order
            if name in state:
                state[name] = state.pop(name)
        return orig_loss

    def _iterate(self, closure, group, state, loss, flat_grad):
        """torch's loop: a direction, a step along it, the stopping tests; what it learnt kept in state."""
        lr, max_iter = (_lr_of(group) if isinstance(group["lr"], Tensor) else group["lr"]), group["max_iter"]
        # torch's t = lr is the group's Tensor lr itself: its state's t then aliases it, and a scheduler's write
        # into the lr changes the t the next step() reads (its s = d * t)
        alias = group["lr"] if isinstance(group["lr"], Tensor) else None
        tolerance_change = group["tolerance_change"]
        n_iter, current_evals = 0, 1
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            d = self._direction(state, flat_grad, group["history_size"])
            state["prev_flat_grad"] = flat_grad.copy()
            state["prev_loss"] = prev_loss = loss
            dtype = flat_grad.dtype.type
            # the first step is scaled by the gradient's size (torch's min(1, 1 / |g|_1) * lr, in the dtype)
            t = min(1.0, dtype(1.0) / np.abs(flat_grad).sum()) * lr if state["n_iter"] == 1 else lr
            gtd = flat_grad.dot(d)
            if gtd > -tolerance_change:   # not a descent direction: stop
                state["t"] = alias if alias is not None and t is lr else t
                break
            loss, flat_grad, t, evals, optimal = self._take_step(closure, group, loss, flat_grad, t, d, gtd,
                                                                 last=n_iter == max_iter,
                                                                 max_ls=group["max_eval"] - current_evals)
            state["t"] = alias if alias is not None and t is lr else t
            current_evals += evals
            state["func_evals"] += evals
            if (n_iter == max_iter or current_evals >= group["max_eval"] or optimal
                    or np.abs(d * t).max() <= tolerance_change or abs(loss - prev_loss) < tolerance_change):
                break

    def _take_step(self, closure, group, loss, flat_grad, t, d, gtd, last, max_ls):
        """Move the parameters along d: by t, or by the step the line search finds (within max_ls evaluations: what
        is left of max_eval, as torch 2.13 passes it). Returns the new loss and gradient, the step taken, the
        closure calls made and whether the gradient is within tolerance_grad."""
        if group["line_search_fn"] == "strong_wolfe":
            x = [p._data.copy() for p in self._params]
            loss, flat_grad, t, evals = _strong_wolfe(
                lambda x_, t_, d_: self._directional_evaluate(closure, x_, t_, d_), x, t, d, loss, flat_grad, gtd,
                max_ls=max_ls)
            self._add(t, d)
            return loss, flat_grad, t, evals, np.abs(flat_grad).max() <= group["tolerance_grad"]
        self._add(t, d)
        if last:   # (torch evaluates nothing after the last iteration's step)
            return loss, flat_grad, t, 0, False
        loss = self._evaluate(closure)
        flat_grad = self._flat_grad()
        return loss, flat_grad, t, 1, np.abs(flat_grad).max() <= group["tolerance_grad"]

    def _direction(self, state, flat_grad, history_size):
        """The search direction: -g at the first iteration; else the two-loop recursion's -H g, after adding the
        last (step, gradient change) pair to the history when its curvature y.s is positive enough."""
        if state["n_iter"] == 1:
            state.update(old_dirs=[], old_stps=[], ro=[], H_diag=1)
            state["d"] = -flat_grad
            return state["d"]
        old_dirs, old_stps, ro = state["old_dirs"], state["old_stps"], state["ro"]
        y = flat_grad - state["prev_flat_grad"]
        t = state["t"]
        s = state["d"] * (t._data.reshape(-1)[0] if isinstance(t, Tensor) else t)
        ys = y.dot(s)
        if ys > 1e-10:
            if len(old_dirs) == history_size:   # forget the oldest pair
                old_dirs.pop(0), old_stps.pop(0), ro.pop(0)
            old_dirs.append(y), old_stps.append(s), ro.append(1.0 / ys)
            state["H_diag"] = ys / y.dot(y)
        if "al" not in state:
            state["al"] = [None] * history_size
        al = state["al"]
        q = -flat_grad
        for i in range(len(old_dirs) - 1, -1, -1):
            al[i] = old_stps[i].dot(q) * ro[i]
            q = _fused_add(q, -al[i], old_dirs[i])
        r = q * state["H_diag"]
        for i in range(len(old_dirs)):
            be_i = old_dirs[i].dot(r) * ro[i]
            r = _fused_add(r, al[i] - be_i, old_stps[i])
        state["d"] = r
        return r

    # -- checkpoints: torch's entries, the vectors and lists of vectors in the parameters' dtype
    def state_dict(self) -> dict[str, Any]:
        saved = super().state_dict()
        for entry in saved["state"].values():
            for name in _LISTS:
                if name in entry:
                    entry[name] = [_saved_tensor(v) for v in entry[name]]   # Tensors sharing the vectors
        return saved

    def _loaded_state(self, entry, index, p):
        if not isinstance(entry, dict) or set(entry) - set(self._state_keys):
            return super()._loaded_state(entry, index, p)   # (its errors)
        dtype = p._data.dtype
        loaded = {}
        for name, value in entry.items():
            if name in _COUNTS:
                loaded[name] = int(np.asarray(value).item())
            elif name in _VECTORS:
                loaded[name] = np.array(np.asarray(value), dtype=dtype)
            elif name in _LISTS:
                loaded[name] = [None if v is None else _loaded_number_or_vector(v, dtype) for v in value]
            else:
                loaded[name] = _loaded_number_or_vector(value, dtype)
        return loaded


def _fused_add(c: np.ndarray, alpha, v: np.ndarray) -> np.ndarray:
    """c + alpha * v rounded once, as torch's c.add_(v, alpha=alpha) computes it (a fused multiply-add on CPU,
    alpha first rounded to c's dtype). numpy has no fma: float32 is computed in float64, where the product of two
    float32 numbers is exact and the sum's rounding is the float32 one's but for a double rounding (about one
    element in 2^29); float64 by error-free transformations (Dekker's product, Knuth's sum: c + a b to about
    2^-106 before the final rounding). Two roundings, numpy's c + alpha * v, differ in the last place in a quarter
    of the elements, and L-BFGS, whose steps feed its next directions, drifts from torch on that: 1e-4..1e-1 in
    float32 over 30 iterations."""
    alpha = c.dtype.type(alpha)
    if c.dtype == np.float32:
        return (c.astype(np.float64) + np.float64(alpha) * v.astype(np.float64)).astype(np.float32)
    if c.dtype != np.float64:
        return c + alpha * v
    product, product_error = _two_product(np.float64(alpha), v)
    total = c + product
    back = total - c
    sum_error = (c - (total - back)) + (product - back)
    return total + (product_error + sum_error)


def _two_product(a, b):
    """a * b as an unevaluated sum p + e exactly (Dekker's split of each factor into 26-bit halves)."""
    p = a * b
    a_hi, a_lo = _split(a)
    b_hi, b_lo = _split(b)
    return p, ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo


def _split(x):
    scaled = 134217729.0 * x   # 2^27 + 1
    hi = scaled - (scaled - x)
    return hi, x - hi


def _with_callers_numpy(closure):
    """closure, to be called inside step's np.errstate(all="ignore") with the caller's own numpy settings (read once
    per step(): a few microseconds, where the closure's calls cost far more)."""
    settings = dict(np.geterr(), call=np.geterrcall())

    def evaluate():
        with np.errstate(**settings):
            return closure()
    return evaluate


def _loaded_number_or_vector(value, dtype):
    array = np.array(np.asarray(value), dtype=dtype)
    return array if array.ndim else array[()]


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2, kept within bounds (the
    interval between x1 and x2 by default); the bounds' middle when the cubic has no minimum."""
    xmin_bound, xmax_bound = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = math.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """A step t along d satisfying the strong Wolfe conditions: a bracketing phase, then a zoom. Returns the
    loss and gradient there, t, and the number of evaluations."""
    f_new, g_new = obj_func(x, t, d)
    evals, ls_iter = 1, 0
    gtd_new = g_new.dot(d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g.copy(), gtd
    done = False
    while ls_iter < max_ls:
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket = _Bracket([t_prev, t], [f_prev, f_new], [g_prev, g_new.copy()], [gtd_prev, gtd_new])
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, done = _Bracket([t], [f_new], [g_new], [gtd_new]), True
            break
        if gtd_new >= 0:
            bracket = _Bracket([t_prev, t], [f_prev, f_new], [g_prev, g_new.copy()], [gtd_prev, gtd_new])
            break
        min_step, max_step = t + 0.01 * (t - t_prev), t * 10
        t_prev, t = t, _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        f_prev, g_prev, gtd_prev = f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket = _Bracket([0, t], [f, f_new], [g, g_new], [gtd, gtd_new])
    evals += bracket.zoom(obj_func, x, d, f, gtd, c1, c2, tolerance_change, max_ls - ls_iter, done)
    return bracket.f[bracket.low], bracket.g[bracket.low], bracket.t[bracket.low], evals


class _Bracket:
    """The line search's interval: steps t, losses f, gradients g and slopes gtd at its ends, and which end is
    the lower one."""

    def __init__(self, t, f, g, gtd):
        self.t, self.f, self.g, self.gtd = t, f, g, gtd
        self._order()

    def _order(self):
        self.low, self.high = (0, 1) if self.f[0] <= self.f[-1] else (1, 0)

    def zoom(self, obj_func, x, d, f, gtd, c1, c2, tolerance_change, tries, done):
        """Shrink the interval until a step meets the strong Wolfe conditions; returns the evaluations made."""
        evals, insufficient_progress = 0, False
        while not done and evals < tries:
            if abs(self.t[1] - self.t[0]) * np.abs(d).max() < tolerance_change:   # too small to matter
                break
            t = _cubic_interpolate(self.t[0], self.f[0], self.gtd[0], self.t[1], self.f[1], self.gtd[1])
            t, insufficient_progress = self._away_from_the_ends(t, insufficient_progress)
            f_new, g_new = obj_func(x, t, d)
            evals += 1
            gtd_new = g_new.dot(d)
            if f_new > f + c1 * t * gtd or f_new >= self.f[self.low]:
                self._set(self.high, t, f_new, g_new.copy(), gtd_new)
                self._order()
            else:
                if abs(gtd_new) <= -c2 * gtd:
                    done = True
                elif gtd_new * (self.t[self.high] - self.t[self.low]) >= 0:
                    low = self.low
                    self._set(self.high, self.t[low], self.f[low], self.g[low], self.gtd[low])
                self._set(self.low, t, f_new, g_new.copy(), gtd_new)
        return evals

    def _away_from_the_ends(self, t, insufficient_progress):
        """A trial step too near an end of the interval (within a tenth of its length) is moved a tenth in, when
        the last one was too near as well or it falls outside (torch's rule)."""
        top, bottom = max(self.t), min(self.t)
        eps = 0.1 * (top - bottom)
        if min(top - t, t - bottom) >= eps:
            return t, False
        if insufficient_progress or t >= top or t <= bottom:
            return (top - eps if abs(t - top) < abs(t - bottom) else bottom + eps), False
        return t, True

    def _set(self, end, t, f, g, gtd):
        self.t[end], self.f[end], self.g[end], self.gtd[end] = t, f, g, gtd
