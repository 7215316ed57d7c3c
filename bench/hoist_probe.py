"""What would hoisting the layer-norm LSTM's input-side layer norm out of the time loop save? A probe (issue 12).

tr.nn.LayerNormLSTMCell computes gates = LN(x W_ih^T; gain_ih) + LN(h W_hh^T; gain_hh) + bias. The first
layer norm depends on no state, yet the generated `forward` computes its mean, variance and normalisation
inside the per-step loop, and `backward` its gradient inside the backward loop. Hoisted, it would run once
over all T*B rows (in `project`, its backward in `grads`) and the loops would read the normalised rows N
(forward) and write only dN, the gradient w.r.t. N (backward).

This probe builds the hoisted loops from the layer's own generated source by text edits (asserted: the
x W_ih^T side's lines are dropped, N is read where the gain product was, dN written where the normalised
gradient was), writes the hoisted layer norm and its backward by hand (plain loops over rows, njit), checks
the hoisted pipeline against the generated one (states, dXW, every vector parameter's gradient), and times,
one thread, CPU time (time.thread_time), rounds alternating, per step (/ T):

    loops            the generated forward + backward loops (today)
    hoisted loops    the edited forward + backward loops (no input-side layer norm)
    hoisted LN       the hand-written layer norm forward + backward over all T*B rows
    hoisted LN hot   the same over the rows of 16 steps again and again (in cache, as if fused into
                     project's and grads' time slices)
    hoisted total    hoisted loops + hoisted LN (and + hoisted LN hot)
    layer-norm step  the layer-norm layer's whole training step (process time, / T), and tr.nn.LSTM's (LSTM step),
    LSTM step        timed in the same rounds: the ratio today, hoisted, and hoisted with a free hoisted LN

    python bench/hoist_probe.py --rounds 9
"""
import argparse
import os
import re
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn.compile.codegen import import_module  # noqa: E402
from tinygrad_rnn.kernels import njit  # noqa: E402
from tinygrad_rnn.kernels.blas import single_threaded  # noqa: E402

EPS = 1e-5


def _function(source, name):
    """(start, end) of the generated function `name` (its decorator to the blank lines after it)."""
    start = source.index(f"def {name}(")
    start = source.rindex("@njit", 0, start)
    end = source.find("\n\n\n", start)
    return start, (len(source) if end < 0 else end)


def _drop(text, patterns):
    """text without the lines matching any pattern; the count dropped per pattern, for the asserts."""
    counts = [0] * len(patterns)
    kept = []
    for line in text.split("\n"):
        hit = [i for i, p in enumerate(patterns) if re.match(p, line)]
        for i in hit:
            counts[i] += 1
        if not hit:
            kept.append(line)
    return "\n".join(kept), counts


FORWARD_DROP = [r"\s+(v1|v3|v4|v5|v7|v8|v9|v10|r2_acc|r6_acc) =", r"\s+_s\d = M\[t, b, [01]\]$",
                r"\s+M\[t, b, [01]\] = "]
BACKWARD_DROP = [r"\s+(v3|v4|v7|v8|v9|v10|g3|g4|g5|g7|g8|g9|g10|gs3|gs9|_k1) \+?= ",
                 r"\s+_s\d = M\[t, b, [01]\]$", r"\s+_s\d = dM\[0, [01]\]$", r"\s+dM\[0, [01]\] \+= ",
                 r"\s+dG\[0, \d+ \+ j\] \+= g4$", r"\s+dGV\[0, \d+ \+ j\] \+= \(g24\) \* \(v10\)$",
                 r"\s+dXW0\[t, b, j\] = dG\[0, \d+ \+ j\] \+ _k1$"]


def hoisted_source(source, in_place=False):
    """The generated module plus `forward_h` and `backward_h`: its loops without the input-side layer norm.
    forward_h reads N (the normalised, gain-scaled x W_ih^T) in XW0's place; backward_h writes dN to dXW0.
    in_place: the memory-neutral variant (bench/README.md's design): XW0 holds xhat (normalised, no gain),
    forward_h multiplies by the gain, backward_h adds the gain's gradient (dN * xhat) as today and writes
    dN * gain to dXW0; the hoisted backward then needs only xhat (in XW0) and each row's 1/std."""
    a, b = _function(source, "forward")
    fwd, counts = _drop(source[a:b], FORWARD_DROP)
    assert counts == [14, 3, 2], counts
    fwd, n = re.subn(r"v11 = \(v10\) \* \(V3\[j\]\)",
                     "v11 = (XW0[t, b, j]) * (V3[j])" if in_place else "v11 = (XW0[t, b, j])", fwd)
    assert n == 1 and "v10" not in fwd and ("V3[" in fwd) == in_place, n
    a, b = _function(source, "backward")
    drop = BACKWARD_DROP[:5] + BACKWARD_DROP[6:] if in_place else BACKWARD_DROP
    bwd, counts = _drop(source[a:b], drop)
    assert counts == ([24, 3, 2, 3, 1, 1] if in_place else [24, 3, 2, 3, 1, 1, 1]), counts
    if in_place:
        bwd, n = re.subn(r"\(g24\) \* \(v10\)", "(g24) * (XW0[t, b, j])", bwd)
        assert n == 1, n
    bwd, n = re.subn(r"dG\[0, \d+ \+ j\] = g4\n",
                     "dXW0[t, b, j] = (g24) * (V3[j])\n" if in_place else "dXW0[t, b, j] = g24\n", bwd)
    assert n == 1 and "v10" not in bwd and "g4 " not in bwd, n
    return (source + "\n\n" + fwd.replace("def forward(", "def forward_h(") + "\n\n\n"
            + bwd.replace("def backward(", "def backward_h("))


@njit(error_model='numpy', nogil=True, fastmath={'reassoc'})
def ln_forward(XW, gain, N, R):
    """N = LN(XW) * gain per row of (rows, n); R keeps each row's (mean, 1/std) for the backward."""
    n = XW.shape[1]
    inv_n = XW.dtype.type(1.0 / n)
    for r in range(XW.shape[0]):
        s = XW.dtype.type(0)
        for j in range(n):
            s += XW[r, j]
        mean = s * inv_n
        v = XW.dtype.type(0)
        for j in range(n):
            d = XW[r, j] - mean
            v += d * d
        rstd = XW.dtype.type(1) / np.sqrt(v * inv_n + XW.dtype.type(EPS))
        for j in range(n):
            N[r, j] = (XW[r, j] - mean) * rstd * gain[j]
        R[r, 0] = mean
        R[r, 1] = rstd


@njit(error_model='numpy', nogil=True, fastmath={'reassoc'})
def ln_backward(XW, gain, R, dN, dXW, dgain):
    """dXW from dN (N = LN(XW) * gain) per row; dgain += sum over rows of dN * xhat."""
    n = XW.shape[1]
    inv_n = XW.dtype.type(1.0 / n)
    for r in range(XW.shape[0]):
        mean, rstd = R[r, 0], R[r, 1]
        s1 = XW.dtype.type(0)
        s2 = XW.dtype.type(0)
        for j in range(n):
            xhat = (XW[r, j] - mean) * rstd
            g = dN[r, j] * gain[j]
            dgain[j] += dN[r, j] * xhat
            s1 += g
            s2 += g * xhat
        s1 *= inv_n
        s2 *= inv_n
        for j in range(n):
            xhat = (XW[r, j] - mean) * rstd
            dXW[r, j] = rstd * (dN[r, j] * gain[j] - s1 - xhat * s2)


def _buffers(T, B, I, H, rng):
    """The loops' arrays, named as in the generated source."""
    G, f = 4 * H, np.float32
    z = {k: np.zeros(s, f) for k, s in dict(S0=(T + 1, B, H), S1=(T + 1, B, H), XW0=(T, B, G), C0=(T, B, G),
                                             M=(T, B, 6), M6=(T, B, H), dXW0=(T, B, G), dC0=(T, B, G),
                                             dV=(B, 3 * G + 2 * H)).items()}
    z["gates"] = [np.zeros((T, B, H), f) for _ in range(4)]   # A0..A3; small sizes stack them as one A
    z["X"] = rng.standard_normal((T, B, I), dtype=f)
    z["dOut"] = rng.standard_normal((T, B, H), dtype=f)
    z["lengths"] = np.full(B, T, np.int64)
    return z


def run_probe(T, B, I, H, rounds):
    layer = tr.nn.Recurrent(tr.nn.LayerNormLSTMCell, I, H, dtype=np.float32)
    source = layer.kernel_source()
    module, _ = import_module(hoisted_source(source), "the probe's layer-norm LSTM")
    rng = np.random.default_rng(0)
    cell = layer.cells[0]
    w_ih, w_hh = cell.weight_ih._data, cell.weight_hh._data
    V = [rng.uniform(0.5, 1.5, n).astype(np.float32) for n in (4 * H, 4 * H, 4 * H, H, H)]  # bias, gains, LN(c)
    wt = np.ascontiguousarray(w_hh.T)
    z = _buffers(T, B, I, H, rng)
    if " A, " in source[source.index("def forward("):source.index("):", source.index("def forward("))]:
        z["gates"] = [np.zeros((T, B, 4 * H), np.float32)]
    module.project(z["X"], w_ih, z["XW0"], 0, T)
    xw = z["XW0"].copy()
    rows = xw.reshape(T * B, 4 * H)
    N, R = np.empty_like(rows), np.empty((T * B, 2), np.float32)
    dXW = np.empty_like(rows)

    def loops():
        module.forward(z["lengths"], z["X"], z["S0"], z["S1"], xw, z["C0"], z["M"], z["M6"], *z["gates"], wt, *V, 0, B)
        z["dV"][:] = 0
        module.backward(z["lengths"], z["S0"], z["S1"], xw, z["C0"], z["M"], z["M6"], *z["gates"], V[1], V[2], V[3],
                        w_hh, z["dOut"], np.zeros((B, H), np.float32), np.zeros((B, H), np.float32), z["dXW0"],
                        z["dC0"], z["dV"], 0, B)

    def hoisted_loops():
        module.forward_h(z["lengths"], z["X"], z["S0"], z["S1"], N.reshape(T, B, 4 * H), z["C0"], z["M"], z["M6"],
                         *z["gates"], wt, *V, 0, B)
        z["dV"][:] = 0
        module.backward_h(z["lengths"], z["S0"], z["S1"], N.reshape(T, B, 4 * H), z["C0"], z["M"], z["M6"],
                          *z["gates"], V[1], V[2], V[3], w_hh, z["dOut"],
                          np.zeros((B, H), np.float32), np.zeros((B, H), np.float32), z["dXW0"], z["dC0"],
                          z["dV"], 0, B)

    dgain = np.zeros(4 * H, np.float32)

    def hoisted_ln_forward():
        ln_forward(rows, V[1], N, R)

    def hoisted_ln_backward():
        dgain[:] = 0
        ln_backward(rows, V[1], R, z["dXW0"].reshape(T * B, 4 * H), dXW, dgain)

    loops()
    want = dict(S0=z["S0"].copy(), dXW=z["dXW0"].copy(), dV=z["dV"].sum(0))
    hoisted_ln_forward()
    hoisted_loops()
    hoisted_ln_backward()
    got_dv = z["dV"].sum(0)
    got_dv[4 * H:8 * H] += dgain
    err = max(float(np.abs(want["S0"] - z["S0"]).max()),
              float(np.abs(want["dXW"] - dXW.reshape(T, B, 4 * H)).max() / np.abs(want["dXW"]).max()),
              float(np.abs(want["dV"] - got_dv).max() / np.abs(want["dV"]).max()))
    assert err < 1e-3, err
    hot = min(T, 16) * B   # rows of 16 steps: ~0.6 MB of arrays at 1000x8x32x64, inside L2 (2 MB here)

    def hoisted_ln_hot():   # the same work, T * B rows, in cache: as if fused into project / grads' slices
        for _ in range(T * B // hot):
            ln_forward(rows[:hot], V[1], N[:hot], R[:hot])
            ln_backward(rows[:hot], V[1], R[:hot], z["dXW0"].reshape(T * B, 4 * H)[:hot], dXW[:hot], dgain)

    variants = {"loops": loops, "hoisted loops": hoisted_loops,
                "hoisted LN": lambda: (hoisted_ln_forward(), hoisted_ln_backward()), "hoisted LN hot": hoisted_ln_hot}
    x = tr.Tensor(z["X"])
    steps = {"layer-norm step": _step(layer, x), "LSTM step": _step(tr.nn.LSTM(I, H, dtype=np.float32), x)}
    for step in steps.values():
        step()
    us = _timed(variants, steps, rounds, T)
    print(f"layer-norm LSTM T={T} B={B} I={I} H={H} float32, 1 thread, {rounds} rounds, CPU us per step "
          f"(hoisted vs generated, largest relative difference {err:.1e})")
    _report(us, list(variants), list(steps))


def _report(us, variants, steps):
    us["hoisted total"] = us["hoisted loops"] + us["hoisted LN"]
    us["hoisted total hot"] = us["hoisted loops"] + us["hoisted LN hot"]
    for name in variants + ["hoisted total", "hoisted total hot"]:
        print(f"  {name:17s} {us[name]:8.2f} us  {us[name] / us['loops']:.3f}x of the loops")
    for name in steps:
        print(f"  {name:17s} {us[name]:8.2f} us (whole training step / T)")
    ln, lstm = us["layer-norm step"], us["LSTM step"]
    ratio = {what: (ln - us["loops"] + us[what]) / lstm for what in ("hoisted total", "hoisted total hot",
                                                                       "hoisted loops")}
    print(f"  layer-norm step / LSTM step {ln / lstm:.3f}x; hoisted {ratio['hoisted total']:.3f}x, in cache "
          f"{ratio['hoisted total hot']:.3f}x, free (the ceiling) {ratio['hoisted loops']:.3f}x")


def _step(layer, x):
    def step():
        layer.zero_grad()
        out, _ = layer(x)
        out.sum().backward()
    return step


def _timed(variants, steps, rounds, T):
    """Median CPU us per time step of each variant (thread time) and each whole step (process time),
    rounds alternating their order."""
    spent = {name: [] for name in list(variants) + list(steps)}
    for r in range(rounds):
        with single_threaded():
            order = list(variants.items())
            for name, run in order if r % 2 else order[::-1]:
                t0 = time.thread_time()
                run()
                spent[name].append((time.thread_time() - t0) / T)
        for name, step in steps.items() if r % 2 else list(steps.items())[::-1]:
            t0 = time.process_time()
            step()
            spent[name].append((time.process_time() - t0) / T)
    return {name: float(np.median(v)) * 1e6 for name, v in spent.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--shapes", default="1000x8x32x64,20x1x10x20")
    args = ap.parse_args()
    shapes = args.shapes.split(",")
    if len(shapes) > 1:   # one process a shape: the generated source's value numbers count on over a
        for shape in shapes:   # process's traces, and the text edits above name the first trace's values
            subprocess.run([sys.executable, __file__, "--rounds", str(args.rounds), "--shapes", shape], check=True)
        return
    tr.set_num_threads(1)
    run_probe(*(int(v) for v in shapes[0].split("x")), args.rounds)


if __name__ == "__main__":
    main()
