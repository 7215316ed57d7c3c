"""Fused optimizer updates: one pass over a parameter's elements per step, in place, no temporaries.

    adam_update(p, g, m, v, v_max, h, maximize, weight_decay_kind, amsgrad, small_w)
    sgd_update(p, g, buf, h, maximize, decay, momentum_kind, nesterov)

p, g and the state buffers are 1-D arrays of one length and float dtype (optim.py passes flat views of
C-contiguous arrays, or slices of them: a large parameter is split over threads, which nogil allows). h is a
tuple of the hyperparameters, each already of the parameter's dtype; the flags after it are decided
in Python on the hyperparameters as floats, as the twin decides them (never on their float32 roundings).

The slow twins are the numpy updates in optim.py (torch's single-tensor algorithms). Each kernel does the
same arithmetic as its twin, operation for operation in the same order, on one element at a time, with
every constant cast to the parameter's dtype first (as numpy casts a Python float against a float32 array),
and without fused multiply-adds (fastmath stays off). So the two agree bit for bit: tests/kernels/test_step_kernels.py.
Where numpy makes about ten passes over memory with temporaries (Adam on the 2-layer 512 model's 3.4 M
parameters: 9 ms), this makes one.
"""
import numpy as np

from . import njit

# weight_decay_kind of adam_update, momentum_kind of sgd_update
NO_DECAY, L2_DECAY, DECOUPLED_DECAY = 0, 1, 2
NO_MOMENTUM, FIRST_MOMENTUM, MOMENTUM = 0, 1, 2

kernel = njit(nogil=True, error_model="numpy")   # numpy's error model: divisions without a zero check vectorize


@kernel
def adam_update(p, g, m, v, v_max, h, maximize, weight_decay_kind, amsgrad, small_w):
    """h = (decay factor 1 - lr * wd, wd, lerp weight w = 1 - beta1, 1 - w, beta2, 1 - beta2, -step_size,
    sqrt of bias correction 2, eps). m <- lerp(m, g, w) as torch: m + w (g - m) if small_w (|w| < 0.5),
    else g - (g - m) (1 - w)."""
    decay, wd, w, one_minus_w, beta2, one_minus_beta2, neg_step_size, bc2_sqrt, eps = h
    for i in range(p.shape[0]):   # (not a range from start: LLVM vectorizes only this form)
        gi = -g[i] if maximize else g[i]
        pi = p[i]
        if weight_decay_kind == DECOUPLED_DECAY:
            pi = pi * decay
        elif weight_decay_kind == L2_DECAY:
            gi = gi + wd * pi
        mi = m[i]
        mi = mi + w * (gi - mi) if small_w else gi - (gi - mi) * one_minus_w
        m[i] = mi
        vi = v[i] * beta2
        vi = vi + one_minus_beta2 * gi * gi
        v[i] = vi
        if amsgrad:
            vm = v_max[i]
            vi = vi if vi > vm or vi != vi else vm      # np.maximum: nan wins
            v_max[i] = vi
        denom = np.sqrt(vi) / bc2_sqrt + eps
        p[i] = pi + neg_step_size * mi / denom


@kernel
def sgd_update(p, g, buf, h, maximize, decay, momentum_kind, nesterov):
    """h = (lr, wd, momentum, 1 - dampening); decay: whether wd != 0. With momentum, buf is the momentum
    buffer: set to g on the first step (FIRST_MOMENTUM), else momentum * buf + (1 - dampening) * g."""
    lr, wd, momentum, one_minus_dampening = h
    for i in range(p.shape[0]):   # (not a range from start: LLVM vectorizes only this form)
        gi = -g[i] if maximize else g[i]
        if decay:
            gi = gi + wd * p[i]
        if momentum_kind == FIRST_MOMENTUM:
            buf[i] = gi
            gi = gi + momentum * gi if nesterov else gi
        elif momentum_kind == MOMENTUM:
            bi = buf[i] * momentum
            bi = bi + one_minus_dampening * gi
            buf[i] = bi
            gi = gi + momentum * bi if nesterov else bi
        p[i] = p[i] - lr * gi
