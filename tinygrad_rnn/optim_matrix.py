"""Adafactor and Muon, the optimizers torch 2.13 added that treat a parameter as a matrix, and SparseAdam's
refusal of dense gradients: tr.optim.Adafactor, tr.optim.Muon, tr.optim.SparseAdam.

Adafactor (torch.optim.Adafactor) keeps, for a parameter of two or more dimensions, a running mean of the
squared gradient per row and per column (row_var, col_var: the last dimension, resp. the one before it,
reduced to 1) instead of one per element; a vector keeps one per element (variance). Muon (torch.optim.Muon)
takes 2-D parameters only and replaces its momentum's update by an orthogonalised one, five Newton-Schulz
iterations of a quintic polynomial, which torch computes in bfloat16: so does ours (_bfloat16 rounds a value to
the nearest bfloat16, ties to even; each product is summed in float32 and rounded once, as torch's CPU kernels
do), so the update is torch's bfloat16 matrix, bit for bit on the shapes the tests try. SparseAdam updates
sparse gradients only; this library has none, and torch's SparseAdam raises at step() on a dense gradient, so
ours does the same (use Adam).

Each follows torch's single-tensor code operation by operation; the step count, the param groups and the state
entries have torch's names, order and layout, as for the optimizers in optim.py.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from .optim import Optimizer, _at_least, _betas, _flag, _learning_rate, _lerp_, _lr_of, _number, _torch_flags
from .tensor import Tensor

__all__ = ["Adafactor", "Muon", "SparseAdam"]


# ----------------------------------------------------------------------------- Adafactor
class Adafactor(Optimizer):
    """Adafactor (Shazeer & Stern), as torch.optim.Adafactor(params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3),
    d=1.0, weight_decay=0.0, *, foreach=None, maximize=False).

    With g the gradient (negated if maximize), t the step count and eps1 (None: the dtype's machine epsilon) and
    eps2 from eps, per step:
        beta2_t <- 1 - t**beta2_decay;  rho <- min(lr, 1 / sqrt(t));  alpha <- max(eps2, rms(p)) * rho
        p <- p * (1 - lr * weight_decay)
        2-D and up: R <- lerp(R, mean(g^2, last dim), 1 - beta2_t);  C <- lerp(C, mean(g^2, dim -2), 1 - beta2_t)
                    v <- R C / max(mean(R, dim -2), eps1)
        a vector:   v <- lerp(v, g^2, 1 - beta2_t)
        u <- g / sqrt(max(v, eps1^2));  p <- p - alpha / max(1, rms(u) / d) * u
    """

    _state_keys = ("step", "row_var", "col_var", "variance")

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple[float | None, float] = (None, 1e-3), d: float = 1.0, weight_decay: float = 0.0, *,
                 foreach: bool | None = None, maximize: bool = False) -> None:
        flags = _torch_flags(("foreach",), foreach=foreach)
        super().__init__(params, dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay,
                                      **flags, maximize=maximize))

    def _check_group(self, group, ranges=True):
        group["lr"] = _learning_rate(group["lr"], ranges)
        group["beta2_decay"] = beta2_decay = _number("beta2_decay", group["beta2_decay"])
        if ranges and not beta2_decay <= 0:
            raise ValueError(f"beta2_decay should be <= 0 (torch's words), got {beta2_decay:g}")
        eps = group["eps"]
        if isinstance(eps, (str, bytes)) or not hasattr(eps, "__len__") or len(eps) != 2:
            raise TypeError(f"eps must be a pair (eps1 or None, eps2), got {eps!r}")
        eps1 = None if eps[0] is None else _number("eps[0]", eps[0])
        eps2 = _number("eps[1]", eps[1])
        if ranges and eps1 is not None and not eps1 >= 0:
            raise ValueError(f"epsilon1 should be >= 0 (torch's words): eps[0] must be >= 0 or None, got {eps1:g}")
        if ranges and not eps2 >= 0:
            raise ValueError(f"epsilon2 should be >= 0 (torch's words): eps[1] must be >= 0, got {eps2:g}")
        group["eps"] = (eps1, eps2)
        group["d"] = d = _number("d", group["d"])
        if ranges and not d >= 1:
            raise ValueError(f"Clipping threshold d should be >= 1 (torch's words), got {d:g}")
        group["weight_decay"] = _at_least("weight_decay", group["weight_decay"], 0, ranges)
        if group["foreach"] is not None:
            group["foreach"] = _flag("foreach", group["foreach"])
        group["maximize"] = _flag("maximize", group["maximize"])

    def _update(self, p, grad, state, group):
        lr, beta2_decay, d, weight_decay = _lr_of(group), group["beta2_decay"], group["d"], group["weight_decay"]
        # torch sets eps1 from the first parameter it updates and keeps it for the group's others
        eps1 = self._stepping.setdefault("eps1", group["eps"][0] if group["eps"][0] is not None
                                         else float(np.finfo(p._data.dtype).eps))
        eps2 = group["eps"][1]
        g = -grad if group["maximize"] else grad
        if not state:
            state["step"] = 0
            if g.ndim > 1:
                state["row_var"] = np.zeros(g.shape[:-1] + (1,), dtype=g.dtype)
                state["col_var"] = np.zeros(g.shape[:-2] + (1,) + g.shape[-1:], dtype=g.dtype)
            else:
                state["variance"] = np.zeros_like(g)
        state["step"] += 1
        step = float(state["step"])
        one_minus_beta2 = step ** beta2_decay
        rho = min(lr, 1 / step ** 0.5)
        alpha = max(eps2, float(np.linalg.norm(p._data.reshape(-1))) / p._data.size ** 0.5) * rho
        if weight_decay != 0:
            p._data *= 1 - lr * weight_decay
        if g.ndim > 1:
            var_estimate = self._factored_variance(g, state, one_minus_beta2, eps1)
        else:
            _lerp_(state["variance"], g * g, one_minus_beta2)
            var_estimate = state["variance"].copy()
        update = np.maximum(var_estimate, eps1 * eps1) ** -0.5 * g   # (torch's clamp_ then rsqrt_)
        denom = max(1.0, float(np.linalg.norm(update.reshape(-1))) / (update.size ** 0.5 * d))
        p._data += (-alpha / denom) * update

    @staticmethod
    def _factored_variance(g, state, one_minus_beta2, eps1):
        """The rows' and columns' running mean squares, updated, and their outer product normalised by the rows'
        mean: the estimate of the squared gradient (torch's norms squared, as torch computes the means)."""
        row_mean = np.sqrt(np.sum(g * g, axis=-1, keepdims=True)) ** 2 / g.shape[-1]
        _lerp_(state["row_var"], row_mean, one_minus_beta2)
        col_mean = np.sqrt(np.sum(g * g, axis=-2, keepdims=True)) ** 2 / g.shape[-2]
        _lerp_(state["col_var"], col_mean, one_minus_beta2)
        var_estimate = state["row_var"] @ state["col_var"]
        return var_estimate / np.maximum(state["row_var"].mean(axis=-2, keepdims=True), eps1)

    def _loaded_state(self, entry, index, p):
        """As the base class's, but row_var and col_var have their own shapes (p's, one dimension reduced)."""
        factored = {k: entry[k] for k in ("row_var", "col_var") if isinstance(entry, dict) and k in entry}
        rest = {k: v for k, v in entry.items() if k not in factored} if isinstance(entry, dict) else entry
        loaded = super()._loaded_state(rest, index, p)
        shape = p._data.shape
        expected = {"row_var": shape[:-1] + (1,), "col_var": shape[:-2] + (1,) + shape[-1:]}
        for name, value in factored.items():
            array = np.asarray(value)
            if array.dtype.kind not in "fiu" or array.shape != expected[name]:
                raise ValueError(f"state_dict['state'][{index}]['{name}'] must be numbers of shape "
                                 f"{expected[name]}, got {type(value).__name__} of shape {tuple(array.shape)}")
            loaded[name] = np.array(array, dtype=p._data.dtype)
        return {k: loaded[k] for k in entry if k in loaded}   # (in the saved order)


# ----------------------------------------------------------------------------- Muon
MUON_COEFFICIENTS = (3.4445, -4.7750, 2.0315)


def _bfloat16(x):
    """x rounded to the nearest bfloat16 number (8 significant bits, ties to even), as float64 values:
    what torch's .bfloat16() and each bfloat16 kernel's result hold."""
    mantissa, exponent = np.frexp(np.asarray(x, dtype=np.float64))
    return np.ldexp(np.round(mantissa * 256.0) / 256.0, exponent)


def _matmul_bf16(a, b):
    """a @ b of bfloat16 matrices summed in float32 (torch's CPU bfloat16 matmul), before its rounding."""
    return (a.astype(np.float32) @ b.astype(np.float32)).astype(np.float64)


def _newton_schulz(grad, coefficients, steps, eps):
    """torch's _zeropower_via_newtonschulz: an approximately orthogonal matrix with grad's singular vectors,
    computed in bfloat16 (returned as float64 values): X <- a X + (b X X^T + c (X X^T)^2) X, `steps` times, from
    X = grad / |grad| (the wide way round)."""
    a, b, c = coefficients
    x = _bfloat16(grad)
    tall = grad.shape[0] > grad.shape[1]
    if tall:
        x = x.T
    norm = _bfloat16(np.sqrt(np.sum(x.astype(np.float32) ** 2, dtype=np.float32)))
    x = _bfloat16(x / max(norm, _bfloat16(eps)))
    for _ in range(steps):
        gram = _bfloat16(_matmul_bf16(x, x.T))
        gram_update = _bfloat16(b * gram + c * _matmul_bf16(gram, gram))   # (torch's addmm: one rounding)
        x = _bfloat16(a * x + _matmul_bf16(gram_update, x))
    return x.T if tall else x


def _adjusted_lr(lr, adjust_lr_fn, shape):
    rows, cols = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return lr * math.sqrt(max(1, rows / cols))
    return lr * 0.2 * math.sqrt(max(rows, cols))   # "match_rms_adamw"


class Muon(Optimizer):
    """Muon, as torch.optim.Muon(params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
    ns_coefficients=(3.4445, -4.7750, 2.0315), eps=1e-7, ns_steps=5, adjust_lr_fn=None); 2-D parameters only.

    With g the gradient, per step:
        B <- lerp(B, g, 1 - momentum);  U <- lerp(g, B, momentum) if nesterov else B
        O <- NewtonSchulz(U) (in bfloat16);  p <- p * (1 - lr * weight_decay);  p <- p - lr' O
    where lr' = lr sqrt(max(1, rows / cols)) ("original", the default) or 0.2 lr sqrt(max(rows, cols))
    ("match_rms_adamw").
    """

    _state_keys = ("momentum_buffer",)

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-3, weight_decay: float = 0.1,
                 momentum: float = 0.95, nesterov: bool = True,
                 ns_coefficients: tuple[float, float, float] = MUON_COEFFICIENTS, eps: float = 1e-7,
                 ns_steps: int = 5, adjust_lr_fn: str | None = None) -> None:
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                                      ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps,
                                      adjust_lr_fn=adjust_lr_fn))
        for group in self.param_groups:
            for p in group["params"]:
                if p._data.ndim != 2:
                    raise ValueError("Muon only supports 2D parameters (torch's words): use another optimizer "
                                     f"(AdamW) for the others; got a parameter of shape {p._data.shape}")

    def _check_group(self, group, ranges=True):
        group["lr"] = _learning_rate(group["lr"], ranges)
        group["weight_decay"] = _at_least("weight_decay", group["weight_decay"], 0, ranges)
        group["momentum"] = _at_least("momentum", group["momentum"], 0, ranges)
        group["nesterov"] = _flag("nesterov", group["nesterov"])
        group["eps"] = _number("eps", group["eps"])
        coefficients = group["ns_coefficients"]
        if isinstance(coefficients, (str, bytes)) or not hasattr(coefficients, "__len__") or len(coefficients) != 3:
            raise ValueError(f"ns_coefficients must be a tuple of exactly 3 values (a, b, c), got {coefficients!r}")
        group["ns_coefficients"] = tuple(_number(f"ns_coefficients[{i}]", c) for i, c in enumerate(coefficients))
        steps = group["ns_steps"]
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
            raise TypeError(f"ns_steps must be an int, got {type(steps).__name__} {steps!r}")
        if steps >= 100:
            raise ValueError(f"ns_steps must be less than 100 (torch's limit), got {steps}")
        if group["adjust_lr_fn"] not in (None, "original", "match_rms_adamw"):
            raise ValueError(f"Adjust learning rate function {group['adjust_lr_fn']!r} is not supported (torch's "
                             "words): adjust_lr_fn must be None, 'original' or 'match_rms_adamw'")

    def _update(self, p, grad, state, group):
        if grad.ndim != 2:
            raise ValueError(f"Muon's parameter gradient must be a 2D matrix, got shape {tuple(grad.shape)}")
        lr, momentum = _lr_of(group), group["momentum"]
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = np.zeros_like(grad)
        buf = state["momentum_buffer"]
        _lerp_(buf, grad, 1 - momentum)
        if group["nesterov"]:
            update = grad.copy()
            _lerp_(update, buf, momentum)
        else:
            update = buf
        ortho = _newton_schulz(update, group["ns_coefficients"], group["ns_steps"], group["eps"])
        p._data *= 1 - lr * group["weight_decay"]
        dtype = p._data.dtype.type   # (torch's add_(ortho, alpha=-lr'): in p's dtype, alpha cast to it)
        p._data += dtype(-_adjusted_lr(lr, group["adjust_lr_fn"], p._data.shape)) * ortho.astype(dtype)


# ----------------------------------------------------------------------------- SparseAdam
class SparseAdam(Optimizer):
    """torch.optim.SparseAdam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False): Adam for sparse
    gradients (an embedding's with sparse=True). This library's gradients are dense, and torch's SparseAdam
    raises a RuntimeError at step() on a dense gradient: so does this one. Use tr.optim.Adam."""

    _state_keys = ("step", "exp_avg", "exp_avg_sq")

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, maximize=maximize))

    def _check_group(self, group, ranges=True):
        for name in ("lr", "eps"):   # (torch's SparseAdam wants both > 0, where Adam takes 0)
            group[name] = value = _number(name, group[name])
            if ranges and not value > 0:
                label = "learning rate" if name == "lr" else "epsilon value"
                raise ValueError(f"Invalid {label}: {name} must be > 0, got {value:g}")
        _betas(group, ranges)
        group["maximize"] = _flag("maximize", group["maximize"])

    def _update(self, p, grad, state, group):
        raise RuntimeError("SparseAdam does not support dense gradients, please consider Adam instead (torch's "
                           "words): this library's gradients are all dense; use tr.optim.Adam")
