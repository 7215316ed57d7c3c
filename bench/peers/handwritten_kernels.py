"""The hand-written kernels of tinygrad_rnn 0.1, kept as a benchmark peer: bench/compiled_cells.py measures
the kernels the library now generates from each cell's Tensor code (tinygrad_rnn/compile) against them.

Whole-sequence fused forward and BPTT for one layer, one direction of RNN (tanh, relu), GRU and LSTM.

    out, h_n, c_n, saved = rnn_forward(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, reverse)
    dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh = rnn_backward(mode, saved, dout, dh_n, dc_n)

Equations and gate orders are torch.nn's (see docs/learn/cells.md): LSTM gates i, f, g, o; GRU gates r, z, n
with n = tanh(W_in x + b_in + r * (W_hn h + b_hn)); G = 1, 1, 3, 4 gates of H rows each.

How the work is split (the invariant every function below keeps):
  * Everything that does not depend on the recurrence is one big matrix product outside the time loop:
    the input projections of all T*B rows before it (X @ W_ih^T), and after BPTT the input-side
    gradients dX = dA @ W_ih, dW_ih = dA^T X, and dW_hh = sum_t dA_h[t]^T h_prev[t] (also one product,
    over the time-shifted outputs), where dA are the gradients of the gate pre-activations.
  * The time loop, forward and backward, is one compiled Numba function per mode. Each step does one
    recurrent product for its rows b0 <= b < b1 of the batch (blas.gemm) and then one fused pass over
    the step's gates: nonlinearities, state update and the stores the backward needs. Nothing is
    allocated per step. Sequences never interact, so blocks of rows run on parallel threads.
  * Arrays are time-major and indexed by real time t. Processing step s of batch element b touches
    t = s (forward) or t = lengths[b]-1-s (reverse), only while s < lengths[b] (PyTorch's packed-sequence
    semantics: padded steps leave the state alone, output exactly 0, and their dout is never read).
  * Gradient arrays are zero at padded (t, b), so the after-the-loop products need no masking.
  * The large arrays (gates, outputs, gate gradients, dx) come from workspace.py, which hands a buffer out
    again only when no array refers to it any more: a training step then reuses the previous step's
    memory instead of page-faulting fresh pages (that was a third of the LSTM step at (50,32,64,128)).
  * The Python wrappers make few calls: the input projection with its bias is one compiled call, the
    products after BPTT another (at tiny sizes each numpy call's few microseconds are the whole budget).

Saved for the backward (the LSTM keeps 5H numbers per valid (t, b) besides its output: the four gate
activations and c_t; the GRU keeps 4H: r, z, n and W_hn h + b_hn; the Elman RNN only its output).
The output array, x and the weights are saved by reference, not copied: do not modify them in place
between the forward and its backward. The backward does not consume `saved`; it may run more than once.
"""
from typing import NamedTuple, Optional

import numpy as np

from tinygrad_rnn.kernels import blas, njit, workspace
from tinygrad_rnn.kernels.blas import gemm, gemm_nt, gemm_tn
from tinygrad_rnn.kernels.runtime import MIN_ROWS_PER_THREAD
from tinygrad_rnn.kernels.runtime import all_steps as _all_steps
from tinygrad_rnn.kernels.runtime import backward_pipelined as _backward_pipelined
from tinygrad_rnn.kernels.runtime import forward_pipelined as _forward_pipelined
from tinygrad_rnn.kernels.runtime import pipelines as _pipelines
from tinygrad_rnn.kernels.runtime import run_blocks as _run_blocks
from tinygrad_rnn.kernels.runtime import run_on_batch_blocks as _run_on_batch_blocks
from tinygrad_rnn.kernels.runtime import threads_for as _threads_for
from tinygrad_rnn.kernels.runtime import time_chunks as _time_chunks
from tinygrad_rnn.kernels.runtime import time_parts as _time_parts
from tinygrad_rnn.kernels.vecmath import sigmoid, tanh
from tinygrad_rnn.primitives import Primitive
from tinygrad_rnn.tape import apply

GATES = {"rnn_tanh": 1, "rnn_relu": 1, "gru": 3, "lstm": 4}

# error_model='numpy': float division without a zero check, so the gate loops vectorize (see vecmath).
jit = njit(error_model="numpy")        # numba.njit(cache=True, ...), see kernels/__init__.py
# The time loops, and whatever else runs on the pool's threads, release the GIL: a function compiled
# without nogil holds it while it runs, so the calling thread could not even start its next loop.
loop_jit = njit(error_model="numpy", nogil=True)

class Saved(NamedTuple):
    mode: str
    reverse: bool
    lengths: np.ndarray          # (B,) int64, all T when the caller passed None
    padded: bool                 # some sequence is shorter than T
    x: np.ndarray                # (T, B, I), C-contiguous (for dW_ih)
    h0: Optional[np.ndarray]     # (B, H), C-contiguous; None: the sequence started from zeros
    c0: Optional[np.ndarray]     # (B, H), C-contiguous, LSTM only; None as h0
    w_ih: np.ndarray             # (G*H, I), C-contiguous
    w_hh: np.ndarray             # (G*H, H), C-contiguous
    b_hh: np.ndarray             # (G*H,)
    out: np.ndarray              # (T, B, H): h_t at valid steps, 0 elsewhere
    gates: Optional[np.ndarray]  # (T, B, G*H) gate activations (LSTM i,f,g,o; GRU r,z,n); None for RNN
    extra: Optional[np.ndarray]  # (T, B, H): LSTM c_t; GRU W_hn h_prev + b_hn; None for RNN


@jit
def _step_time(s, length, reverse):
    """Real time index of processing step s for a sequence of this length."""
    return length - 1 - s if reverse else s


@jit
def _split3(row, hidden):
    """The three gate blocks of a (3H,) row as separate views (LLVM vectorizes the gate loops only when
    each block is its own array; indexing one row at j, H+j, ... was measured 5x slower)."""
    return row[:hidden], row[hidden:2 * hidden], row[2 * hidden:]


@jit
def _split4(row, hidden):
    return row[:hidden], row[hidden:2 * hidden], row[2 * hidden:3 * hidden], row[3 * hidden:]


@jit
def _input_projection(x, w_ih, b_ih, b_hh, add_b_hh, pre, w_hh, w_hh_t):
    """Everything the time loop needs prepared, in one compiled call (each call from Python costs
    microseconds at tiny sizes):
        pre = x @ W_ih^T + b_ih (+ b_hh when add_b_hh)   all T*B rows of x (T,B,I) in one product, then
                                                          one pass for the bias; pre is (T,B,G*H)
        w_hh_t = W_hh^T                                   the per-step product h @ W_hh^T reads it row-wise
    """
    _project(x, w_ih, b_ih, b_hh, add_b_hh, pre)
    _transpose_into(w_hh, w_hh_t)


@loop_jit
def _transpose_into(w_hh, w_hh_t):
    for j in range(w_hh_t.shape[0]):
        row = w_hh_t[j]
        for i in range(row.shape[0]):
            row[i] = w_hh[i, j]


@loop_jit
def _project(x, w_ih, b_ih, b_hh, add_b_hh, pre):
    """pre = x @ W_ih^T + b_ih (+ b_hh when add_b_hh) for x (T', B, I), pre (T', B, G*H): any time slice."""
    n_steps, batch, n_in = x.shape
    pre2 = pre.reshape(n_steps * batch, pre.shape[2])
    gemm_nt(x.reshape(n_steps * batch, n_in), w_ih, pre2, 0)
    for r in range(pre2.shape[0]):
        row = pre2[r]
        if add_b_hh:
            for j in range(row.shape[0]):
                row[j] += b_ih[j] + b_hh[j]
        else:
            for j in range(row.shape[0]):
                row[j] += b_ih[j]


# --- forward loops --------------------------------------------------------------------------------

@loop_jit
def _rnn_forward_loop(relu, pre, h, w_hh_t, lengths, reverse, out, rec, b0, b1):
    """Elman RNN over the sequence. pre (T,B,H) holds x W_ih^T + b_ih + b_hh (overwritten as scratch).

    for s in steps:  a = h @ W_hh^T                      (one gemm over rows b0..b1)
        for b valid at s, t = time(s, b):  for j < H:  h[b,j] = out[t,b,j] = act(pre[t,b,j] + a[b,j])
    """
    n_steps, batch, hidden = pre.shape
    zero = pre.dtype.type(0)
    for s in range(lengths[b0:b1].max()):
        gemm(h[b0:b1], w_hh_t, rec[b0:b1], 0)
        for b in range(b0, b1):
            if s >= lengths[b]:
                continue
            t = _step_time(s, lengths[b], reverse)
            p, a, hb, ob = pre[t, b], rec[b], h[b], out[t, b]
            for j in range(hidden):
                v = p[j] + a[j]
                if relu:
                    v = zero if v < zero else v      # keeps NaN, like torch.relu
                else:
                    v = tanh(v)
                hb[j] = v
                ob[j] = v


@loop_jit
def _gru_forward_loop(gates, h, w_hh_t, b_hh, lengths, reverse, out, hn, rec, b0, b1):
    """GRU over the sequence. gates (T,B,3H) holds x W_ih^T + b_ih on entry, r, z, n on exit.

    for s in steps:  a = h @ W_hh^T                      (one gemm over rows b0..b1; b_hh added below)
        for b valid at s, t = time(s, b):  for j < H:
            r = sig(gx_r + a_r + b_hr), z = sig(gx_z + a_z + b_hz), hn = a_n + b_hn, n = tanh(gx_n + r*hn)
            h = (1-z)*n + z*h   (written n + z*(h-n), as torch does)
    """
    n_steps, batch, g3 = gates.shape
    hidden = g3 // 3
    for s in range(lengths[b0:b1].max()):
        gemm(h[b0:b1], w_hh_t, rec[b0:b1], 0)
        for b in range(b0, b1):
            if s >= lengths[b]:
                continue
            t = _step_time(s, lengths[b], reverse)
            gr, gz, gn = _split3(gates[t, b], hidden)
            ar, az, an_ = _split3(rec[b], hidden)
            br, bz, bn = _split3(b_hh, hidden)
            hb, ob, hnb = h[b], out[t, b], hn[t, b]
            for j in range(hidden):
                r = sigmoid(gr[j] + ar[j] + br[j])
                z = sigmoid(gz[j] + az[j] + bz[j])
                an = an_[j] + bn[j]
                n = tanh(gn[j] + r * an)
                hnew = n + z * (hb[j] - n)
                gr[j], gz[j], gn[j] = r, z, n
                hnb[j] = an
                hb[j] = hnew
                ob[j] = hnew


@loop_jit
def _lstm_forward_loop(gates, h, c, w_hh_t, lengths, reverse, out, cs, rec, b0, b1):
    """LSTM over the sequence. gates (T,B,4H) holds x W_ih^T + b_ih + b_hh on entry, i, f, g, o on exit.

    for s in steps:  a = h @ W_hh^T                      (one gemm over rows b0..b1)
        for b valid at s, t = time(s, b):  for j < H:
            i, f, g, o = sig, sig, tanh, sig of (gates + a);  c = f*c + i*g;  h = o*tanh(c);  cs[t,b] = c
    """
    n_steps, batch, g4 = gates.shape
    hidden = g4 // 4
    for s in range(lengths[b0:b1].max()):
        gemm(h[b0:b1], w_hh_t, rec[b0:b1], 0)
        for b in range(b0, b1):
            if s >= lengths[b]:
                continue
            t = _step_time(s, lengths[b], reverse)
            gi, gf, gg, go = _split4(gates[t, b], hidden)
            ai, af, ag, ao = _split4(rec[b], hidden)
            hb, cb, ob, csb = h[b], c[b], out[t, b], cs[t, b]
            for j in range(hidden):
                i = sigmoid(gi[j] + ai[j])
                f = sigmoid(gf[j] + af[j])
                g = tanh(gg[j] + ag[j])
                o = sigmoid(go[j] + ao[j])
                gi[j], gf[j], gg[j], go[j] = i, f, g, o
                cnew = f * cb[j] + i * g
                hnew = o * tanh(cnew)
                cb[j] = cnew
                csb[j] = cnew
                hb[j] = hnew
                ob[j] = hnew


# --- backward loops -------------------------------------------------------------------------------
# Shared shape: dh (B,H) carries dL/dh of the state entering the current step from the later steps.
# For each valid b the fused pass adds dout[t,b], forms the gate pre-activation gradients dA[t,b]
# (stored for the products after the loop, and copied into the (B, G*H) buffer `rec`), and sets dh[b]
# to the part of dL/dh_prev that does not go through W_hh (0 for RNN/LSTM, dh*z for GRU); then one
# gemm dh += rec @ W_hh finishes dL/dh_prev. Rows of `rec` for sequences not yet valid are still zero
# (validity only grows as s decreases), so those rows of dh pass through unchanged, as they must.

@loop_jit
def _rnn_backward_loop(relu, out, w_hh, lengths, reverse, dout, has_dout, dh, dpre, rec, b0, b1):
    """for s from last to first:  for valid b:  dpre[t,b] = (dh[b] + dout[t,b]) * act'(h_t);  dh = dpre @ W_hh"""
    n_steps, batch, hidden = out.shape
    zero, one = out.dtype.type(0), out.dtype.type(1)
    for s in range(lengths[b0:b1].max() - 1, -1, -1):
        for b in range(b0, b1):
            if s >= lengths[b]:
                continue
            t = _step_time(s, lengths[b], reverse)
            hb, db, rb, pb = out[t, b], dh[b], rec[b], dpre[t, b]
            do = dout[t, b] if has_dout else dout[0, 0]
            for j in range(hidden):
                d = db[j] + do[j]
                if relu:
                    d = d if hb[j] > zero else zero
                else:
                    d = d * (one - hb[j] * hb[j])
                pb[j] = d
                rb[j] = d
                db[j] = zero
        gemm(rec[b0:b1], w_hh, dh[b0:b1], 1)


@loop_jit
def _gru_backward_loop(gates, hn, out, h0, w_hh, lengths, reverse, dout, has_dout, dh, dgx, dgh, rec, b0, b1):
    """for s from last to first:  for valid b (h_prev = h0[b] at the first step, else out at the previous step):
        dn = dh*(1-z), dz = dh*(h_prev-n), dA_n = dn*(1-n^2), dA_r = dA_n*hn*r*(1-r), dA_z = dz*z*(1-z)
        dgx[t,b] = dA_r, dA_z, dA_n (input side);  dgh[t,b] = dA_r, dA_z, dA_n*r (the W_hh side);  dh[b] = dh*z
      dh += [dA_r, dA_z, dA_n*r] @ W_hh
    """
    n_steps, batch, g3 = gates.shape
    hidden = g3 // 3
    one = gates.dtype.type(1)
    for s in range(lengths[b0:b1].max() - 1, -1, -1):
        for b in range(b0, b1):
            if s >= lengths[b]:
                continue
            t = _step_time(s, lengths[b], reverse)
            hp = h0[b] if s == 0 else out[_step_time(s - 1, lengths[b], reverse), b]
            gr, gz, gn = _split3(gates[t, b], hidden)
            dar_, daz_, dan_ = _split3(dgx[t, b], hidden)
            rr, rz, rn = _split3(rec[b], hidden)
            hr, hz, hn_ = _split3(dgh[t, b], hidden)
            anb, db = hn[t, b], dh[b]
            do = dout[t, b] if has_dout else dout[0, 0]
            for j in range(hidden):
                d = db[j] + do[j]
                r, z, n = gr[j], gz[j], gn[j]
                dan = d * (one - z) * (one - n * n)
                dar = dan * anb[j] * r * (one - r)
                daz = d * (hp[j] - n) * z * (one - z)
                dar_[j], daz_[j], dan_[j] = dar, daz, dan
                hr[j], hz[j], hn_[j] = dar, daz, dan * r
                rr[j], rz[j], rn[j] = dar, daz, dan * r
                db[j] = d * z
        gemm(rec[b0:b1], w_hh, dh[b0:b1], 1)


@loop_jit
def _lstm_backward_loop(gates, cs, c0, w_hh, lengths, reverse, dout, has_dout, dh, dc, dgates, rec, b0, b1):
    """for s from last to first:  for valid b (c_prev = c0[b] at the first step, else cs at the previous step):
        dh += dout;  tc = tanh(c);  dc += dh*o*(1-tc^2)
        dA = (dc*g*i(1-i), dc*c_prev*f(1-f), dc*i*(1-g^2), dh*tc*o(1-o));  dc = dc*f;  dh[b] = 0
      dh += dA @ W_hh
    """
    n_steps, batch, g4 = gates.shape
    hidden = g4 // 4
    zero, one = gates.dtype.type(0), gates.dtype.type(1)
    for s in range(lengths[b0:b1].max() - 1, -1, -1):
        for b in range(b0, b1):
            if s >= lengths[b]:
                continue
            t = _step_time(s, lengths[b], reverse)
            cp = c0[b] if s == 0 else cs[_step_time(s - 1, lengths[b], reverse), b]
            gi, gf, gg, go = _split4(gates[t, b], hidden)
            dai_, daf_, dag_, dao_ = _split4(dgates[t, b], hidden)
            ri, rf, rg, ro = _split4(rec[b], hidden)
            cb, db, dcb = cs[t, b], dh[b], dc[b]
            do = dout[t, b] if has_dout else dout[0, 0]
            for j in range(hidden):
                d = db[j] + do[j]
                i, f, g, o = gi[j], gf[j], gg[j], go[j]
                tc = tanh(cb[j])
                dcj = dcb[j] + d * o * (one - tc * tc)
                dai = dcj * g * i * (one - i)
                daf = dcj * cp[j] * f * (one - f)
                dag = dcj * i * (one - g * g)
                dao = d * tc * o * (one - o)
                dai_[j], daf_[j], dag_[j], dao_[j] = dai, daf, dag, dao
                ri[j], rf[j], rg[j], ro[j] = dai, daf, dag, dao
                dcb[j] = dcj * f
                db[j] = zero
        gemm(rec[b0:b1], w_hh, dh[b0:b1], 1)


# --- the Python boundary --------------------------------------------------------------------------

_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)


def _check(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths):
    """Validate the arguments; return (lengths as (B,) int64, whether some sequence is shorter than T).
    At tiny sizes this runs once per step and every microsecond shows: all shapes and dtypes are
    compared in one condition, and only a mismatch looks for which argument it was."""
    gates = GATES.get(mode)
    if gates is None:
        raise ValueError(f"mode must be one of {sorted(GATES)}, got {mode!r}")
    if x.ndim != 3 or w_hh.ndim != 2:
        raise ValueError("x must be (T, B, I) and w_hh (G*H, H)")
    n_steps, batch, n_in = x.shape
    hidden = w_hh.shape[1]
    dtype = x.dtype
    if dtype != _F32 and dtype != _F64:
        raise TypeError(f"float32 or float64 only, got {dtype}")
    if mode == "lstm" and (c0 is None) != (h0 is None):
        raise ValueError("lstm needs both h0 and c0, or neither (start from zeros)")
    gh = gates * hidden
    state = (batch, hidden)
    if (w_ih.shape != (gh, n_in) or w_hh.shape[0] != gh or b_ih.shape != (gh,) or b_hh.shape != (gh,)
            or w_ih.dtype != dtype or w_hh.dtype != dtype or b_ih.dtype != dtype or b_hh.dtype != dtype
            or (h0 is not None and (h0.shape != state or h0.dtype != dtype))
            or (c0 is not None and (c0.shape != state or c0.dtype != dtype))):
        named = (("h0", h0, state), ("c0", c0, state), ("w_ih", w_ih, (gh, n_in)), ("w_hh", w_hh, (gh, hidden)),
                 ("b_ih", b_ih, (gh,)), ("b_hh", b_hh, (gh,)))
        for name, arr, shape in named:
            if arr is None:
                continue
            if arr.shape != shape:
                raise ValueError(f"{name} has shape {arr.shape}, expected {shape}")
            if arr.dtype != dtype:
                raise TypeError(f"{name} is {arr.dtype} but x is {dtype}: all arrays must share one dtype")
    if n_steps < 1:
        raise ValueError("need T >= 1 (a batch of 0 sequences is fine)")
    if lengths is None:
        return _all_steps(batch, n_steps), False
    lengths = np.ascontiguousarray(lengths, dtype=np.int64)
    if lengths.shape != (batch,) or (batch and (lengths.min() < 1 or lengths.max() > n_steps)):
        raise ValueError(f"lengths must be (B,) = ({batch},) with 1 <= length <= T = {n_steps}")
    return lengths, bool(batch and lengths.min() < n_steps)


def _state_copy(state, shape, dtype):
    """A C-contiguous copy of an initial state the loops update in place; zeros when it is None."""
    return np.zeros(shape, dtype) if state is None else np.array(state, order="C", copy=True)


def rnn_forward(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths=None, reverse=False):
    """Run one layer, one direction over the whole sequence.

    h0 and c0 (LSTM) are the initial states, (B, H); None for both starts from zeros (nothing is made
    for them, and the backward skips their terms). Returns out (T,B,H) (0 at padded steps), h_n (B,H),
    c_n (B,H) for LSTM else None, and `saved`, the opaque record rnn_backward needs.
    """
    lengths, padded = _check(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths)
    n_steps, batch, n_in = x.shape
    hidden = w_hh.shape[1]
    gh = w_hh.shape[0]
    dtype = x.dtype
    reverse = bool(reverse)
    w_hh, b_hh = np.ascontiguousarray(w_hh), np.ascontiguousarray(b_hh)
    x, w_ih = np.ascontiguousarray(x), np.ascontiguousarray(w_ih)

    # All input projections at once (or chunk by chunk, see _forward_pipelined); the loop then adds the
    # recurrent part in place. The large arrays come from the workspace: reused across steps, see workspace.py.
    empty = workspace.allocator(n_steps * batch * gh, dtype)
    pre = empty((n_steps, batch, gh), dtype)
    w_hh_t = np.empty((hidden, gh), dtype)
    b_ih = np.ascontiguousarray(b_ih)
    add_b_hh = mode != "gru"                               # the GRU's b_hn stays inside r * (...)
    threads = _threads_for(n_steps, batch, n_in, gh)
    if threads == 1:
        _input_projection(x, w_ih, b_ih, b_hh, add_b_hh, pre, w_hh, w_hh_t)
    h = _state_copy(h0, (batch, hidden), dtype)
    out = empty((n_steps, batch, hidden), dtype)
    if padded:
        out.fill(0)
    # Per-step scratch for h @ W_hh^T, allocated here rather than inside the loop function: with a
    # buffer allocated inside, LLVM vectorized the gate loops far worse (measured 2.6x slower).
    rec = np.empty((batch, gh), dtype)
    c = None
    gates = extra = None
    if mode == "lstm":
        c = _state_copy(c0, (batch, hidden), dtype)
        extra = empty((n_steps, batch, hidden), dtype)
        loop, gates = _lstm_forward_loop, pre

        def args_of(a, b, lens):
            return pre[a:b], h, c, w_hh_t, lens, reverse, out[a:b], extra[a:b], rec
    elif mode == "gru":
        extra = empty((n_steps, batch, hidden), dtype)
        loop, gates = _gru_forward_loop, pre

        def args_of(a, b, lens):
            return pre[a:b], h, w_hh_t, b_hh, lens, reverse, out[a:b], extra[a:b], rec
    else:
        loop, relu = _rnn_forward_loop, mode == "rnn_relu"   # gates stay None: the backward needs only out

        def args_of(a, b, lens):
            return relu, pre[a:b], h, w_hh_t, lens, reverse, out[a:b], rec
    if threads == 1:
        _run_on_batch_blocks(loop, batch, *args_of(0, n_steps, lengths))
    else:
        def project(a, b, part=None):
            _project(x[a:b], w_ih, b_ih, b_hh, add_b_hh, pre[a:b])

        with blas.single_threaded():
            if batch < 2 * MIN_ROWS_PER_THREAD and _pipelines(padded, n_steps, batch, threads):
                _forward_pipelined(loop, batch, threads, lambda a, b, prev: args_of(a, b, _all_steps(batch, b - a)),
                                   project, lambda: _transpose_into(w_hh, w_hh_t), _time_chunks(n_steps, reverse))
            else:
                _transpose_into(w_hh, w_hh_t)
                blas.on_threads(project, _time_parts(n_steps, threads))
                _run_blocks(loop, batch, threads, args_of(0, n_steps, lengths))
    saved = Saved(mode, reverse, lengths, padded, x, None if h0 is None else np.ascontiguousarray(h0),
                  None if c0 is None else np.ascontiguousarray(c0), w_ih, w_hh, b_hh, out, gates, extra)
    return out, h, c, saved


@jit
def _column_sums(a2, out):
    """out[j] = sum over the rows of a2 (row by row, as numpy's sum(axis=0) adds a C-contiguous array)."""
    out[:] = 0
    for r in range(a2.shape[0]):
        row = a2[r]
        for j in range(out.shape[0]):
            out[j] += row[j]


@jit
def _weight_grads(da, da_h, own_da_h, x, out, h0, has_h0, w_ih, lengths, reverse, need_dx, dx, dw_ih, dw_hh, db_ih,
                  db_hh):
    """After BPTT, every product over all T*B rows at once, in one compiled call:

        dW_ih = dA^T X,  db_ih = sum of dA,  dx = dA W_ih (if need_dx)       dA = da, the input side
        dW_hh = sum over valid (t, b) of dA_h[t,b]^T h_prev[t,b],  db_hh = sum of dA_h   (the W_hh side:
                 own_da_h is False when da_h is da itself; only the GRU's differs: its n rows see dA_n * r)
    h_prev is out at the previous processing step, or h0 at a sequence's first step. Shifting `out` by one
    step in the processing direction gives h_prev at every non-first step; at a sequence's first step the
    shifted row is 0 (padding, or outside the array), so its h0 term is one more, B-row, product, skipped
    when the sequence started from zeros (has_h0 False; h0 is then any (B, H) array, never read).
    """
    n_steps, batch, gh = da.shape
    n_in, hidden = x.shape[2], out.shape[2]
    rows = n_steps * batch
    da2 = da.reshape(rows, gh)
    gemm_tn(da2, x.reshape(rows, n_in), dw_ih, 0)
    if need_dx:
        gemm(da2, w_ih, dx.reshape(rows, n_in), 0)
    _column_sums(da2, db_ih)
    dah2 = da_h.reshape(rows, gh)
    if own_da_h:
        _column_sums(dah2, db_hh)
    else:
        db_hh[:] = db_ih
    beta = 0
    if has_h0:
        first = np.empty((batch, gh), da.dtype)            # each sequence's first processed step
        for b in range(batch):
            first[b] = da_h[_step_time(0, lengths[b], reverse), b]
        gemm_tn(first, h0, dw_hh, 0)
        beta = 1
    if n_steps > 1:
        out2 = out.reshape(rows, hidden)
        if reverse:      # t = 0 .. T-2 take h_prev = out[t+1]
            gemm_tn(dah2[:rows - batch], out2[batch:], dw_hh, beta)
        else:            # t = 1 .. T-1 take h_prev = out[t-1]
            gemm_tn(dah2[batch:], out2[:rows - batch], dw_hh, beta)
    elif not has_h0:
        dw_hh[:] = 0


@jit
def _add_column_sums(a2, out):
    """out[j] += the sum over the rows of a2."""
    for r in range(a2.shape[0]):
        row = a2[r]
        for j in range(out.shape[0]):
            out[j] += row[j]


@loop_jit
def _weight_grads_chunk(da, da_h, own_da_h, x, out, w_ih, a, b, reverse, need_dx, dx, dw_ih, dw_hh, db_ih, db_hh):
    """What real times a <= t < b add to _weight_grads's products, for a batch without padding: dW_ih, db_ih,
    dW_hh (except the h0 term of each sequence's first step) and db_hh (when own_da_h) are accumulated,
    dx[a:b] is written (if need_dx)."""
    n_steps, batch, gh = da.shape
    n_in, hidden = x.shape[2], out.shape[2]
    rows = n_steps * batch
    r0, r1 = a * batch, b * batch
    da2 = da.reshape(rows, gh)[r0:r1]
    gemm_tn(da2, x.reshape(rows, n_in)[r0:r1], dw_ih, 1)
    if need_dx:
        gemm(da2, w_ih, dx.reshape(rows, n_in)[r0:r1], 0)
    _add_column_sums(da2, db_ih)
    dah2 = da_h.reshape(rows, gh)
    if own_da_h:
        _add_column_sums(dah2[r0:r1], db_hh)
    # h_prev at real time t is out[t - 1] (forward) or out[t + 1] (reverse); t = 0 (T - 1) has h0 instead
    lo, hi, shift = (a, min(b, n_steps - 1), 1) if reverse else (max(a, 1), b, -1)
    if hi > lo:
        out2 = out.reshape(rows, hidden)
        gemm_tn(dah2[lo * batch:hi * batch], out2[(lo + shift) * batch:(hi + shift) * batch], dw_hh, 1)


def rnn_backward(mode, saved, dout=None, dh_n=None, dc_n=None, need_dx=True):
    """Backpropagate through the whole sequence. dout (T,B,H), dh_n, dc_n (B,H) may be None (zeros).

    Returns dx (None when not need_dx), dh0, dc0 (None unless LSTM), dw_ih, dw_hh, db_ih, db_hh.
    dh0 and dc0 are returned also when the forward started from zeros (h0 None).
    """
    if mode != saved.mode:
        raise ValueError(f"saved is from mode {saved.mode!r}, not {mode!r}")
    out = saved.out
    n_steps, batch, hidden = out.shape
    dtype = out.dtype
    # The loops read dout[t, b] when has_dout, else dout[0, 0] at every (t, b): a None dout is one zero
    # row, and a dout broadcast over time and batch (the VJP of out.sum()) one row, not a (T,B,H) copy.
    has_dout = dout is not None
    if has_dout and dout.shape != out.shape:
        raise ValueError(f"dout has shape {dout.shape}, expected {out.shape}")
    if not has_dout:
        dout = np.zeros((1, 1, hidden), dtype)
    elif dout.strides[:2] == (0, 0) and dout.dtype == dtype:
        dout, has_dout = dout[:1, :1].copy(), False
    else:
        dout = np.ascontiguousarray(dout, dtype=dtype)
    dh = np.zeros((batch, hidden), dtype) if dh_n is None else np.array(dh_n, dtype=dtype, order="C", copy=True)
    w_hh, x = saved.w_hh, saved.x
    gh = w_hh.shape[0]
    empty = workspace.allocator(n_steps * batch * max(gh, x.shape[2]), dtype)   # da (G*H wide) or dx (I wide)
    da = empty((n_steps, batch, gh), dtype)                        # dL/d(gate pre-activations), input side
    if saved.padded:
        da.fill(0)                                                 # gradients stay 0 at padded steps
    rec = np.zeros((batch, gh), dtype)       # per-step dA rows for dh += rec @ W_hh; zero rows = not yet valid
    lengths, reverse = saved.lengths, saved.reverse
    dc = None
    # Each loop's arguments for the real-time slice [a, b), `prev` the real time of the step before it
    # (None: the sequence's start, where the initial state stands in), `lens` the slice's lengths.
    pick = (lambda a, b: dout[a:b]) if has_dout else (lambda a, b: dout)
    if mode == "lstm":
        dc = np.zeros((batch, hidden), dtype) if dc_n is None else np.array(dc_n, dtype=dtype, order="C", copy=True)
        c0 = saved.c0 if saved.c0 is not None else np.zeros((batch, hidden), dtype)
        loop, da_h, gates, cs = _lstm_backward_loop, da, saved.gates, saved.extra

        def args_of(a, b, prev, lens):
            return (gates[a:b], cs[a:b], c0 if prev is None else cs[prev], w_hh, lens, reverse, pick(a, b), has_dout,
                    dh, dc, da[a:b], rec)
    elif mode == "gru":
        # The W_hh side sees dA_r, dA_z as the input side does, but dA_n * r for the n rows: its own
        # (T, B, 3H) array, so that dW_hh and db_hh are each one pass over contiguous rows.
        da_h = empty((n_steps, batch, gh), dtype)
        if saved.padded:
            da_h.fill(0)
        h0 = saved.h0 if saved.h0 is not None else np.zeros((batch, hidden), dtype)
        loop, gates, hn = _gru_backward_loop, saved.gates, saved.extra

        def args_of(a, b, prev, lens):
            return (gates[a:b], hn[a:b], out[a:b], h0 if prev is None else out[prev], w_hh, lens, reverse, pick(a, b),
                    has_dout, dh, da[a:b], da_h[a:b], rec)
    else:
        loop, da_h, relu = _rnn_backward_loop, da, mode == "rnn_relu"

        def args_of(a, b, prev, lens):
            return relu, out[a:b], w_hh, lens, reverse, pick(a, b), has_dout, dh, da[a:b], rec
    n_in = x.shape[2]
    dx = empty((n_steps, batch, n_in), dtype) if need_dx else None
    dw_ih, dw_hh = np.empty((gh, n_in), dtype), np.empty((gh, hidden), dtype)
    db_ih, db_hh = np.empty(gh, dtype), np.empty(gh, dtype)      # equal for RNN/LSTM: b_ih, b_hh enter as one sum
    has_h0 = saved.h0 is not None
    threads = _threads_for(n_steps, batch, n_in, gh)
    if threads == 1:
        _run_on_batch_blocks(loop, batch, *args_of(0, n_steps, None, lengths))
        _weight_grads(da, da_h, mode == "gru", x, out, saved.h0 if has_h0 else dh, has_h0, saved.w_ih, lengths,
                      reverse, need_dx, dx if need_dx else da, dw_ih, dw_hh, db_ih, db_hh)
        return dx, dh, dc, dw_ih, dw_hh, db_ih, db_hh

    # Several threads: the products are taken per time part, each part's shares summed into accumulators
    # of its slot (slot 0's are the results; the others are added to them in slot order at the end).
    sums = [(dw_ih, dw_hh, db_ih, db_hh)] + [tuple(np.empty_like(a) for a in (dw_ih, dw_hh, db_ih, db_hh))
                                             for _ in range(threads - 1)]
    for acc in sums:
        for a in acc:
            a.fill(0)

    def finish(a, b, slot):
        _weight_grads_chunk(da, da_h, mode == "gru", x, out, saved.w_ih, a, b, reverse, need_dx,
                            dx if need_dx else da, *sums[slot])

    with blas.single_threaded():
        if _pipelines(saved.padded, n_steps, batch, threads):
            _backward_pipelined(loop, batch, threads, lambda a, b, prev: args_of(a, b, prev, _all_steps(batch, b - a)),
                                finish, _time_chunks(n_steps, reverse))
        else:
            _run_blocks(loop, batch, threads, args_of(0, n_steps, None, lengths))
            blas.on_threads(finish, _time_parts(n_steps, threads))
        for acc in sums[1:]:
            for total, part in zip(sums[0], acc):
                total += part
        if has_h0:   # each sequence's first processed step saw h0 (the chunks' products left it out)
            first = lengths - 1 if reverse else np.zeros(batch, np.int64)
            gemm_tn(np.ascontiguousarray(da_h[first, np.arange(batch)]), saved.h0, dw_hh, 1)
    if mode != "gru":
        db_hh[:] = db_ih
    return dx, dh, dc, dw_ih, dw_hh, db_ih, db_hh


class HandwrittenRecurrence(Primitive):
    """(x, w_ih, w_hh, b_ih, b_hh[, h0[, c0]]) -> (output, h_n[, c_n]) for one layer and direction, as
    tr.nn.RNN/GRU/LSTM ran it in 0.1 (nn/fused.py's FusedRecurrence then)."""

    fresh_grads = True  # rnn_backward allocates every gradient it returns

    @staticmethod
    def forward(x, w_ih, w_hh, b_ih, b_hh, *state, mode, lengths, reverse):
        h0, c0 = (state + (None, None))[:2]  # None, None: the kernels start from zeros
        out, h_n, c_n, saved = rnn_forward(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, reverse)
        finals = (h_n[None], c_n[None]) if mode == "lstm" else (h_n[None],)
        return (out,) + finals, (saved, len(state))

    @staticmethod
    def backward(gs, saved, needs, mode, lengths, reverse):
        saved, n_state = saved
        dout, dh_n = gs[0], gs[1]
        dc_n = gs[2] if mode == "lstm" else None
        dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh = rnn_backward(
            mode, saved, dout, None if dh_n is None else dh_n[0], None if dc_n is None else dc_n[0],
            need_dx=needs[0])
        return (dx, dw_ih, dw_hh, db_ih, db_hh) + (dh0, dc0)[:n_state]


def use_handwritten(layer, mode):
    """Make tr.nn.RNN/GRU/LSTM `layer` (with biases) run its directions on these kernels, through its own
    forward as in 0.1 (so the benchmark compares like with like, the layer's Python included)."""
    def run(l, d, x, state, lengths, retain):
        outs = apply(HandwrittenRecurrence, x, *layer.weights(l, d), *(state or ()), mode=mode, lengths=lengths,
                     reverse=d == 1)
        return outs[0], outs[1:]
    layer._run = run
    return layer


# The loops above inline vecmath.py's sigmoid/tanh and call blas.py's gemm and products by name (shared.py
# passes their arguments); Numba's cache watches this file only.
from tinygrad_rnn.kernels import drop_stale_cache, source_digest  # noqa: E402

drop_stale_cache(_rnn_forward_loop, "handwritten_kernels", source_digest("blas.py", "vecmath.py", "shared.py"))
