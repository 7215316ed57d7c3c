"""The connectionist temporal classification loss (Graves et al. 2006): its alpha (forward) and beta (backward)
recursions in log space, for primitives.CTCLoss.

    ctc_forward(log_probs, targets, input_lengths, target_lengths, blank)        -> (nll, log_alpha)
    ctc_backward(log_probs, targets, input_lengths, target_lengths, blank,
                 log_alpha, nll, grad_out, zero_infinity)                         -> grad

log_probs (T, N, C) float32 or float64; targets (N, S) int64, padded (row n's first target_lengths[n] entries
are its labels); input_lengths and target_lengths (N,) int64, already checked by the caller (nn.functional.ctc_loss:
lengths within T and S, labels in [0, C) and never the blank). Sequence n's labels l, with a blank before, between
and after them, are the extended labels `l'` of length 2 L + 1 (`l'[s]` the blank for even s, `l[(s - 1) / 2]` for
odd s). `log_alpha[n][t][s]` is the log-probability of the paths through the first t + 1 frames that end in state
s, beta the same for the paths from frame t to the end; nll[n] = -log p(l | x), inf where no path fits (a label
repeated next to itself needs a blank between the copies, so L labels with r such repeats need L + r frames).

The arithmetic is torch's (aten/src/ATen/native/LossCTC.cpp), in the input's dtype: each step's log-sum-exp of up
to three states around their maximum, and the gradient torch returns,

    grad[t][n][c] = (exp(lp[t][n][c]) - exp(log(sum over s with l'[s] = c of alpha beta) + nll[n] - lp[t][n][c]))
                    * grad_out[n]

for t < input_lengths[n], 0 beyond. That is the gradient with respect to the logits of a log_softmax, not with
respect to log_probs themselves (whose gradient is the second term alone): torch returns it because log_softmax's
own backward, g - softmax * sum(g), passes it unchanged when log_probs are normalised (both terms sum to 1 over c),
and it is what a caller composing log_softmax and ctc_loss gets either way. Where nll is inf (no path fits), the
rows are nan, as torch's; zero_infinity makes them 0.

Each sequence is independent: the kernels take a block of them, [b0, b1), and the batch is split over the library's
threads (runtime.run_blocks). Their slow twins, ctc_forward_numpy and ctc_backward_numpy, run the same recursions
in numpy, one time step at a time over all states (tests/nn/test_ctc_loss_vs_torch.py holds them together).
"""
import math

import numpy as np

from . import blas, njit, runtime

# Below this much work (N * T * (2 S + 1) cells) one thread does it all: a hand-off costs tens of microseconds.
PARALLEL_MIN_CELLS = 1 << 16


@njit(nogil=True)
def _label(targets, s, blank):
    """`l'[s]`: the blank for an even state, the label (s - 1) / 2 for an odd one."""
    return blank if s % 2 == 0 else targets[s // 2]


@njit(nogil=True)
def _constants(log_probs):
    """0, 1 and -inf in the input's dtype, so that float32 arithmetic stays float32, as torch's (a float64 or int
    constant would make Numba compute in float64)."""
    constants = np.empty(3, log_probs.dtype)
    constants[0], constants[1], constants[2] = 0, 1, -np.inf
    return constants[0], constants[1], constants[2]


@njit(nogil=True)
def _log_sum3(a, b, c, zero, one):
    """log(exp(a) + exp(b) + exp(c)) around the largest of them, m, as torch's: log(exp(a - m) + exp(b - m) +
    exp(c - m)) + m, -inf when all are. The same numbers with fewer exp calls: an -inf term's exp is 0 and the
    largest term's is 1 exactly, so they are not computed (most of a step's terms are one or the other)."""
    m = max(a, max(b, c))
    if m == -math.inf:
        return m
    total = one if a == m else (zero if a == -math.inf else math.exp(a - m))
    total += one if b == m else (zero if b == -math.inf else math.exp(b - m))
    total += one if c == m else (zero if c == -math.inf else math.exp(c - m))
    return math.log(total) + m


@njit(nogil=True)
def _alpha(lp, targets, n_frames, n_labels, blank, log_alpha, zero, one, neg_inf):
    """`log_alpha[t][s]` for t < n_frames, s <= 2 n_labels (lp: (T, C) of one sequence); returns nll."""
    n_states = 2 * n_labels + 1
    if n_frames == 0:    # no frame: only the empty label sequence has a path (torch's -0.0 for it)
        return -zero if n_labels == 0 else -neg_inf
    for s in range(n_states):
        log_alpha[0, s] = neg_inf
    log_alpha[0, 0] = lp[0, blank]
    if n_labels > 0:
        log_alpha[0, 1] = lp[0, targets[0]]
    for t in range(1, n_frames):
        for s in range(n_states):
            label = _label(targets, s, blank)
            stay = log_alpha[t - 1, s]
            step = log_alpha[t - 1, s - 1] if s > 0 else neg_inf
            # a skip over a blank is allowed only between two different labels
            skip = log_alpha[t - 1, s - 2] if s > 1 and _label(targets, s - 2, blank) != label else neg_inf
            log_alpha[t, s] = _log_sum3(stay, step, skip, zero, one) + lp[t, label]
    last = log_alpha[n_frames - 1]
    if n_labels == 0:
        return -last[0]
    return -_log_sum3(last[n_states - 1], last[n_states - 2], neg_inf, zero, one)


@njit(nogil=True)
def _beta_into_grad(lp, targets, n_frames, n_labels, blank, log_alpha, log_beta, grad, zero, one, neg_inf):
    """`log_beta[t][s]` for t < n_frames, and `grad[t][c]` = log(sum over s with `l'[s]` = c of alpha beta)
    (grad's rows t < n_frames set to -inf first)."""
    n_states = 2 * n_labels + 1
    grad[:n_frames] = neg_inf
    for s in range(n_states):
        log_beta[n_frames - 1, s] = neg_inf
    ends = (n_states - 1, n_states - 2) if n_labels > 0 else (0, 0)
    for s in ends:
        label = _label(targets, s, blank)
        log_beta[n_frames - 1, s] = lp[n_frames - 1, label]
        grad[n_frames - 1, label] = log_alpha[n_frames - 1, s] + log_beta[n_frames - 1, s]
    for t in range(n_frames - 2, -1, -1):
        for s in range(n_states - 1, -1, -1):
            label = _label(targets, s, blank)
            stay = log_beta[t + 1, s]
            step = log_beta[t + 1, s + 1] if s < n_states - 1 else neg_inf
            skip = log_beta[t + 1, s + 2] if s < n_states - 2 and _label(targets, s + 2, blank) != label else neg_inf
            log_beta[t, s] = _log_sum3(stay, step, skip, zero, one) + lp[t, label]
            grad[t, label] = _log_sum3(grad[t, label], log_alpha[t, s] + log_beta[t, s], neg_inf, zero, one)


@njit(nogil=True)
def ctc_alpha_block(log_probs, targets, input_lengths, target_lengths, blank, log_alpha, nll, b0, b1):
    """nll[b] and log_alpha[b] for the sequences b in [b0, b1)."""
    zero, one, neg_inf = _constants(log_probs)
    for b in range(b0, b1):
        nll[b] = _alpha(log_probs[:, b], targets[b], input_lengths[b], target_lengths[b], blank, log_alpha[b],
                        zero, one, neg_inf)


@njit(nogil=True)
def ctc_grad_block(log_probs, targets, input_lengths, target_lengths, blank, log_alpha, nll, grad_out,
                   zero_infinity, log_beta, grad, b0, b1):
    """grad[:, b] for the sequences b in [b0, b1) (log_beta: scratch of log_alpha's shape)."""
    zero, one, neg_inf = _constants(log_probs)
    for b in range(b0, b1):
        lp, g, n_frames = log_probs[:, b], grad[:, b], input_lengths[b]
        g[n_frames:] = zero
        if n_frames == 0:
            continue
        if zero_infinity and nll[b] == math.inf:
            g[:n_frames] = zero
            continue
        _beta_into_grad(lp, targets[b], n_frames, target_lengths[b], blank, log_alpha[b], log_beta[b], g,
                        zero, one, neg_inf)
        for t in range(n_frames):
            for c in range(lp.shape[1]):
                g[t, c] = (math.exp(lp[t, c]) - math.exp(g[t, c] + nll[b] - lp[t, c])) * grad_out[b]


def _run(kernel, log_probs, targets, args):
    """kernel(*args, b0, b1) over the batch, split over threads when the work is worth a hand-off."""
    n_steps, batch = log_probs.shape[:2]
    cells = batch * n_steps * (2 * targets.shape[1] + 1)
    threads = blas.num_threads() if cells >= PARALLEL_MIN_CELLS else 1
    runtime.run_blocks(kernel, batch, threads, args, rows=1)


def ctc_forward(log_probs, targets, input_lengths, target_lengths, blank):
    """(nll (N,), log_alpha (N, T, 2 S + 1)), nll in log_probs' dtype."""
    n_steps, batch, _ = log_probs.shape
    log_alpha = np.empty((batch, n_steps, 2 * targets.shape[1] + 1), log_probs.dtype)
    nll = np.empty(batch, log_probs.dtype)
    _run(ctc_alpha_block, log_probs, targets,
         (log_probs, targets, input_lengths, target_lengths, blank, log_alpha, nll))
    return nll, log_alpha


def ctc_backward(log_probs, targets, input_lengths, target_lengths, blank, log_alpha, nll, grad_out, zero_infinity):
    """The gradient (T, N, C) torch returns for log_probs (see the module docstring), grad_out (N,) the cotangent
    of nll."""
    grad = np.empty(log_probs.shape, log_probs.dtype)
    log_beta = np.empty(log_alpha.shape, log_alpha.dtype)
    _run(ctc_grad_block, log_probs, targets, (log_probs, targets, input_lengths, target_lengths, blank, log_alpha,
                                              nll, grad_out, zero_infinity, log_beta, grad))
    return grad


# ----------------------------------------------------------------------------- the slow twins, in numpy
def _extended(targets, n_labels, blank):
    """(`l'` (2 L + 1,), skip (2 L + 1,): whether state s may be entered from s - 2)."""
    labels = np.full(2 * n_labels + 1, blank, np.int64)
    labels[1::2] = targets[:n_labels]
    skip = np.zeros(labels.shape, bool)
    skip[2:] = labels[2:] != labels[:-2]
    return labels, skip


def _log_sum3_numpy(a, b, c):
    """_log_sum3 over arrays."""
    m = np.maximum(np.maximum(a, b), c)
    m = np.where(m == -np.inf, m.dtype.type(0), m)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.log(np.exp(a - m) + np.exp(b - m) + np.exp(c - m)) + m


def _shifted(row, by, neg_inf):
    """row moved by `by` states to higher s (lower for a negative by), -inf where nothing moved in."""
    out = np.full(row.shape, neg_inf, row.dtype)
    if by > 0:
        out[by:] = row[:-by]
    else:
        out[:by] = row[-by:]
    return out


def _alpha_numpy(lp, targets, n_frames, n_labels, blank):
    neg_inf = lp.dtype.type(-np.inf)
    labels, skip = _extended(targets, n_labels, blank)
    alpha = np.full((max(n_frames, 1), labels.size), neg_inf, lp.dtype)
    if n_frames == 0:
        return (-lp.dtype.type(0) if n_labels == 0 else -neg_inf), alpha
    alpha[0, :2] = lp[0, labels[:2]]
    for t in range(1, n_frames):
        skipped = np.where(skip, _shifted(alpha[t - 1], 2, neg_inf), neg_inf)
        alpha[t] = _log_sum3_numpy(alpha[t - 1], _shifted(alpha[t - 1], 1, neg_inf), skipped) + lp[t, labels]
    ends = alpha[n_frames - 1, -2:] if n_labels else alpha[n_frames - 1, :1]
    return -_log_sum3_numpy(ends[0], ends[-1] if n_labels else neg_inf, neg_inf), alpha


def _grad_numpy(lp, targets, n_frames, n_labels, blank, alpha, nll):
    neg_inf = lp.dtype.type(-np.inf)
    labels, skip = _extended(targets, n_labels, blank)
    beta = np.full(alpha.shape, neg_inf, lp.dtype)
    beta[n_frames - 1, -2 if n_labels else -1:] = lp[n_frames - 1, labels[-2 if n_labels else -1:]]
    skip_back = np.zeros(skip.shape, bool)            # state s may be left for s + 2
    skip_back[:-2] = skip[2:]
    for t in range(n_frames - 2, -1, -1):
        skipped = np.where(skip_back, _shifted(beta[t + 1], -2, neg_inf), neg_inf)
        beta[t] = _log_sum3_numpy(beta[t + 1], _shifted(beta[t + 1], -1, neg_inf), skipped) + lp[t, labels]
    occupancy = np.full(lp.shape, neg_inf, lp.dtype)
    for t in range(n_frames):
        np.logaddexp.at(occupancy[t], labels, alpha[t] + beta[t])
    with np.errstate(invalid="ignore", over="ignore"):
        return np.exp(lp) - np.exp(occupancy + nll - lp)


def ctc_forward_numpy(log_probs, targets, input_lengths, target_lengths, blank):
    """ctc_forward in numpy: the same recursion, over all states of a frame at once."""
    n_steps, batch, _ = log_probs.shape
    log_alpha = np.full((batch, n_steps, 2 * targets.shape[1] + 1), -np.inf, log_probs.dtype)
    nll = np.empty(batch, log_probs.dtype)
    for b in range(batch):
        n_frames, n_labels = input_lengths[b], target_lengths[b]
        nll[b], alpha = _alpha_numpy(log_probs[:, b], targets[b], n_frames, n_labels, blank)
        log_alpha[b, :n_frames, :2 * n_labels + 1] = alpha[:n_frames]
    return nll, log_alpha


def ctc_backward_numpy(log_probs, targets, input_lengths, target_lengths, blank, log_alpha, nll, grad_out,
                       zero_infinity):
    """ctc_backward in numpy."""
    grad = np.zeros(log_probs.shape, log_probs.dtype)
    for b in range(log_probs.shape[1]):
        n_frames, n_labels = input_lengths[b], target_lengths[b]
        if n_frames == 0 or (zero_infinity and nll[b] == np.inf):
            continue
        alpha = log_alpha[b, :n_frames, :2 * n_labels + 1]
        rows = _grad_numpy(log_probs[:n_frames, b], targets[b], n_frames, n_labels, blank, alpha, nll[b])
        grad[:n_frames, b] = rows * grad_out[b]
    return grad
