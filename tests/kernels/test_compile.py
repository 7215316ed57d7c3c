"""Compiled cells (tinygrad_rnn/compile) equal the generic tape: outputs, final states and every
gradient, for the built-in cells compiled from their plain Tensor code and for randomly generated
cells; with lengths, both directions and two layers. And each scalar rule of compile/rules.py agrees
with its primitive's numpy forward and backward - the test that keeps the two tables in sync.

Compile time is the budget here (a few seconds per new kernel): sizes are fixed and small, and
I = 2H with bidirectional layers makes every layer of a stack share one kernel.
"""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn import primitives as P
from tinygrad_rnn.compile import CompileError, compile_cell
from tinygrad_rnn.compile.rules import REDUCTIONS, RULES, numpy_namespace, pow_rule, substitute
from tinygrad_rnn.nn.cells import RecurrentCell
from tinygrad_rnn.nn.module import uniform

numba = pytest.importorskip("numba")

TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-5, atol=2e-5)}


# ----------------------------------------------------------------------------- the rule table
def _rule_inputs(prim, rng, n=64):
    a = rng.uniform(0.5, 2.0, n) * rng.choice([-1, 1], n)
    b = rng.uniform(0.5, 2.0, n) * rng.choice([-1, 1], n)
    if prim in (P.Log, P.Power, P.Log1p):   # (a negative base to a fractional power is NaN; log1p below -1 too)
        a = np.abs(a)
    c = rng.uniform(size=n) < 0.5
    return a, b, c


def _reference(prim, a, b, c, g):
    args = {P.Where: ((a, b, c), {}), P.Pow: ((np.abs(a),), dict(p=1.7)), P.Root: ((np.abs(a),), dict(p=1.7)),
            P.Scale: ((a,), dict(p=1.7)),
            P.Clip: ((a,), dict(lo=-0.8, hi=1.2))}.get(prim)
    if args is None:
        args = ((a, b), {}) if len(RULES[prim].inputs) == 2 else ((a,), {})
    arrays, attrs = args
    out, saved = prim.forward(*arrays, **attrs)
    grads = prim.backward(g, saved, (True,) * len(arrays), **attrs)
    return arrays, out, grads


@pytest.mark.parametrize("prim", list(RULES), ids=lambda p: p.__name__)
def test_rule_matches_primitive_numpy(prim):
    rng = np.random.default_rng(0)
    a, b, c = _rule_inputs(prim, rng)
    g = rng.standard_normal(a.shape)
    arrays, out, grads = _reference(prim, a, b, c, g)
    rule = RULES[prim]
    env = numpy_namespace(np.float64)
    names = dict(zip(rule.inputs, ("a", "b")), c="c", p="p", lo="lo", hi="hi")
    values = dict(zip(rule.inputs, arrays), c=c, p=1.7, lo=-0.8, hi=1.2)
    fwd = eval(substitute(rule.forward, names), env, values)
    np.testing.assert_allclose(fwd, out, rtol=1e-14, atol=1e-15)
    for vjp, ref in zip(rule.vjps, grads):
        got = eval(substitute(vjp, names), env, dict(values, out=out, g=g))
        np.testing.assert_allclose(np.broadcast_to(got, ref.shape), ref, rtol=1e-14, atol=1e-15)


def test_rules_match_primitives_in_numba():
    """Every row, compiled as the kernels compile it (one generated function, float64 and float32)."""
    lines = ["def rules(a, b, c, g, p, lo, hi, out):", "    for j in range(a.shape[0]):"]
    order = list(RULES)
    for k, prim in enumerate(order):
        rule = RULES[prim]
        names = dict(zip(rule.inputs, ("a[j]", "b[j]")), c="c[j]", p="p", lo="lo", hi="hi")
        lines.append(f"        o = {substitute(rule.forward, names)}")
        lines.append(f"        out[{k}, 0, j] = o")
        for i, vjp in enumerate(rule.vjps):
            lines.append(f"        out[{k}, {i + 1}, j] = {substitute(vjp, dict(names, out='o', g='g[j]'))}")
    from tinygrad_rnn.compile import scalar
    for dtype in (np.float64, np.float32):
        env = {name: getattr(scalar, name) for name in ("exp", "log", "tanh", "sigmoid", "relu", "select", "power",
                                                        "maximum", "isnan", "erf", "fmod", "trunc", "floor_mod",
                                                        "floor_divide", "sin", "cos", "log1p", "expm1", "exp2",
                                                        "hypot")}
        env.update(one=dtype(1), zero=dtype(0), half=dtype(0.5), two_over_root_pi=dtype(2 / np.sqrt(np.pi)),
                   ln_two=dtype(np.log(2)))
        exec("\n".join(lines), env)
        fn = numba.njit(error_model="numpy")(env["rules"])
        rng = np.random.default_rng(1)
        for prim in order:
            a, b, c = (x.astype(dtype) if x.dtype != bool else x for x in _rule_inputs(prim, rng))
            if prim in (P.Pow, P.Root, P.Power):
                a = np.abs(a)
            g = rng.standard_normal(a.shape).astype(dtype)
            out = np.full((len(order), 3, a.shape[0]), np.nan, dtype)
            fn(a, b, c, g, dtype(1.7), dtype(-0.8), dtype(1.2), out)
            arrays, ref_out, ref_grads = _reference(prim, a, b, c, g)
            k = order.index(prim)
            tol = dict(rtol=1e-12, atol=1e-14) if dtype == np.float64 else dict(rtol=3e-6, atol=1e-6)
            np.testing.assert_allclose(out[k, 0], ref_out, **tol, err_msg=f"{prim.__name__} forward")
            for i, ref in enumerate(ref_grads[:len(RULES[prim].vjps)]):   # (where's mask gets none)
                np.testing.assert_allclose(out[k, i + 1], np.broadcast_to(ref, a.shape), **tol,
                                           err_msg=f"{prim.__name__} vjp {i}")


@pytest.mark.parametrize("p", [0.5, -0.5, 1.5, 2.0, 1.0, -1.0, 1.7, 0.0])
def test_pow_rule_for_its_exponent_matches_primitive(p):
    """rules.pow_rule(p), the Pow row written for one constant exponent (sqrt forms, no select), gives the
    tape's Pow forward and backward: with numpy, and compiled by Numba in float64 and float32, at -0.0, 0
    and inf too, where sqrt's and pow's signs and infinities differ."""
    rule = pow_rule(p)
    names = dict(a="a[j]", p="p", g="g[j]")
    fwd, vjp = substitute(rule.forward, names), substitute(rule.vjps[0], dict(names, out="o"))
    lines = ["def pw(a, g, p, one, zero, out):", "    for j in range(a.shape[0]):",
             f"        o = {fwd}", "        out[0, j] = o", f"        out[1, j] = {vjp}"]
    from tinygrad_rnn.compile import scalar
    a = np.concatenate([np.random.default_rng(2).uniform(0.1, 3.0, 32), [0.0, -0.0, np.inf]])
    g = np.random.default_rng(3).standard_normal(a.shape)
    for dtype in (np.float64, np.float32):
        ad, gd = a.astype(dtype), g.astype(dtype)
        tol = dict(rtol=1e-14) if dtype == np.float64 else dict(rtol=3e-7)   # the tape's p is a Python float
        out, saved = P.Pow.forward(ad, p=p)
        (ref,) = P.Pow.backward(gd, saved, (True,), p=p)
        env = dict(numpy_namespace(dtype), a=ad, g=gd, p=dtype(p))
        with np.errstate(divide="ignore", invalid="ignore"):
            np.testing.assert_array_equal(eval(substitute(rule.forward, {}), env), out)
            np.testing.assert_allclose(eval(substitute(rule.vjps[0], {}), dict(env, out=out)),
                                       np.broadcast_to(ref, a.shape), **tol)
        env = {name: getattr(scalar, name) for name in ("sqrt", "power", "select")}
        exec("\n".join(lines), env)
        got = np.full((2, a.shape[0]), np.nan, dtype)
        numba.njit(error_model="numpy")(env["pw"])(ad, gd, dtype(p), dtype(1), dtype(0), got)
        tol = dict(rtol=1e-12) if dtype == np.float64 else dict(rtol=3e-6)   # libm's pow, not numpy's
        np.testing.assert_allclose(got[0], out, **tol)
        np.testing.assert_allclose(got[1], np.broadcast_to(ref, a.shape), **tol)
        assert np.array_equal(np.signbit(got[0]), np.signbit(out))   # sqrt(-0.0) = -0.0, as torch


# ----------------------------------------------------------------------------- compiled vs tape
def run_layer(layer, xd, lengths, compiled, seed=1):
    layer.fused = compiled
    layer.zero_grad()
    x = tr.Tensor(xd, requires_grad=True)
    out, h_n = layer(x, lengths=lengths)
    h_n = h_n if isinstance(h_n, tuple) else (h_n,)
    rng = np.random.default_rng(seed)
    loss = (out * rng.standard_normal(out.shape).astype(xd.dtype)).sum()
    for h in h_n:
        loss = loss + (h * rng.standard_normal(h.shape).astype(xd.dtype)).sum()
    loss.backward()
    grads = {"x": x.grad, **{n: p.grad for n, p in layer.named_parameters()}}
    return [out._data] + [h._data for h in h_n], grads


def assert_same(layer, xd, lengths, dtype):
    values_tape, grads_tape = run_layer(layer, xd, lengths, False)
    values_comp, grads_comp = run_layer(layer, xd, lengths, True)
    for a, b in zip(values_comp, values_tape):
        np.testing.assert_allclose(a, b, **TOL[dtype])
    assert grads_comp.keys() == grads_tape.keys()
    for name in grads_tape:
        if grads_tape[name] is None:
            assert grads_comp[name] is None, name
            continue
        np.testing.assert_allclose(grads_comp[name], grads_tape[name], **TOL[dtype], err_msg=name)


CELLS = {"rnn": tr.nn.RNNCell, "gru": tr.nn.GRUCell, "lstm": tr.nn.LSTMCell,
         "peephole": tr.nn.PeepholeLSTMCell, "jordan": tr.nn.JordanCell}
H = 4


# float64 for every cell; float32 for the two the benchmark times. Each case is one more kernel to
# compile (2-5 s on 2 cores). A float32 kernel differs from its float64 twin only in `_dt`, so float32
# RNN/GRU/Jordan would add compile time and no coverage: the random cells also draw float32.
CASES = [(n, np.float64) for n in CELLS] + [(n, np.float32) for n in ("lstm", "peephole")]


@pytest.mark.parametrize("name, dtype", CASES)
def test_builtin_cell_compiled_equals_tape(name, dtype):
    tr.manual_seed(0)
    layer = tr.nn.Recurrent(CELLS[name], 2 * H, H, num_layers=2, bidirectional=True, dtype=dtype)
    rng = np.random.default_rng(2)
    T, B = 6, 3
    xd = rng.standard_normal((T, B, 2 * H)).astype(dtype)
    assert_same(layer, xd, None, dtype)
    assert_same(layer, xd, np.array([6, 2, 4]), dtype)


def test_relu_rnn_and_no_bias():
    tr.manual_seed(1)
    layer = tr.nn.Recurrent(tr.nn.RNNCell, 2 * H, H, bias=False, nonlinearity="relu", dtype=np.float64)
    xd = np.random.default_rng(3).standard_normal((5, 2, 2 * H))
    assert_same(layer, xd, np.array([3, 5]), np.float64)


class RowGateCell(RecurrentCell):
    """(batch, 1) values broadcast across the features: a computed per-row gate (a gemm with one output
    column, then sigmoid, times a column of a biased projection), single columns of the state, and a
    column of a projection read in place while the whole projection also gets a bias."""

    def __init__(self, input_size, hidden_size, dtype=np.float64, gate_column=True):
        self.input_size, self.hidden_size, self.gate_column = input_size, hidden_size, gate_column
        bound = 1.0 / np.sqrt(hidden_size)
        self.weight_ih = uniform((hidden_size, input_size), bound, dtype)
        self.weight_hh = uniform((hidden_size, hidden_size), bound, dtype)
        self.weight_g = uniform((hidden_size, 1), bound, dtype)
        self.weight_x = uniform((input_size, hidden_size), bound, dtype)
        self.bias_x = uniform((hidden_size,), bound, dtype)

    def forward(self, x, h):
        p = x @ self.weight_x                # read whole, one column in place, and one column in a gate:
        q = (p + self.bias_x).tanh()         # bias_x's gradient is not dXW's column sum
        gate = (h @ self.weight_g).sigmoid() * (q[:, 1:2] if self.gate_column else 1.0)
        return (x @ self.weight_ih.T + gate * (h @ self.weight_hh.T) + h[:, :1] * h + p[:, :1] * h
                + 0.5 * h[:, 1:2] + q).tanh()


@pytest.mark.parametrize("gate_column", [True, False])
def test_row_broadcast_and_sorted_lengths(gate_column):
    """(batch, 1) operands; lengths sorted longest first, so each step's gemms run on a prefix of rows.
    Without the gate column, the only other read of the biased projection is the in-place column."""
    tr.manual_seed(2)
    layer = tr.nn.Recurrent(RowGateCell, 2 * H, H, num_layers=2, bidirectional=True, dtype=np.float64,
                            gate_column=gate_column)
    xd = np.random.default_rng(4).standard_normal((5, 3, 2 * H))
    assert_same(layer, xd, None, np.float64)
    assert_same(layer, xd, np.array([5, 3, 1]), np.float64)


# ----------------------------------------------------------------------------- random cells
UNARY = ["tanh", "sigmoid", "relu", "exp_bounded", "log_positive", "neg", "square"]
BINARY = ["add", "sub", "mul", "div_safe", "where", "where_compare", "mask_mul", "concat_split", "detach"]


class RandomCell(RecurrentCell):
    """A cell composed from a drawn recipe: the input and state projections, chunked into gates,
    then a list of elementwise operations on a pool of values; optionally a second recurrent
    product (Jordan-like) and a second state part."""

    def __init__(self, input_size, hidden_size, recipe, dtype=np.float64):
        self.input_size, self.hidden_size, self.recipe = input_size, hidden_size, recipe
        G, Hh, bound = recipe["gates"], hidden_size, 1.0 / np.sqrt(hidden_size)
        self.state_sizes = (Hh, Hh) if recipe["two_states"] else None
        self.weight_ih = uniform((G * Hh, input_size), bound, dtype)
        self.weight_hh = uniform((G * Hh, Hh), bound, dtype)
        self.bias = uniform((G * Hh,), bound, dtype)
        self.peep = uniform((Hh,), bound, dtype)
        self.scale = uniform((1,), 1.0, dtype)
        self.weight_2 = uniform((Hh, Hh), bound, dtype)
        self.mask = np.arange(Hh) % 2 == 0

    def forward(self, x, state):
        r = self.recipe
        h, c = state if r["two_states"] else (state, None)
        gates = x @ self.weight_ih.T + h @ self.weight_hh.T
        if r["bias"]:
            gates = gates + self.bias
        pool = list(gates.chunk(r["gates"], axis=-1)) + [h] + ([c] if c is not None else [])
        for kind, i, j in r["ops"]:
            a, b = pool[i % len(pool)], pool[j % len(pool)]
            pool.append(self._op(kind, a, b))
        if r["second_matmul"]:
            pool.append((pool[-1].tanh() @ self.weight_2.T) * self.scale)
        new_h = (pool[-1] + pool[-2] * self.peep).tanh()
        if c is None:
            return new_h
        return new_h, (pool[-3].sigmoid() * c + pool[-1].tanh())

    def _op(self, kind, a, b):
        if kind == "tanh": return a.tanh()
        if kind == "sigmoid": return a.sigmoid()
        if kind == "relu": return (a + 0.25).relu()
        if kind == "exp_bounded": return a.tanh().exp()
        if kind == "log_positive": return (a.sigmoid() + 1.0).log()
        if kind == "neg": return -a
        if kind == "square": return a * a * 0.5
        if kind == "add": return a + b
        if kind == "sub": return 1.0 - a + b
        if kind == "mul": return a * b
        if kind == "div_safe": return a / (b.sigmoid() + 0.5)
        if kind == "where": return tr.where(self.mask, a, b * 2.0)
        if kind == "where_compare": return tr.where(a > b, a, b * 0.5)   # a mask computed from the data
        if kind == "mask_mul": return a * (b > 0) + (a < b).type_as(a) * 0.5   # masks as 0/1 numbers
        if kind == "detach": return a * b.detach() + a.detach() * 0.5   # no gradient to b, half of a's cut
        if kind == "layernorm":
            centred = a - a.mean(-1, keepdims=True)
            return centred * ((centred * centred).mean(-1, keepdims=True) + 1e-3) ** -0.5
        if kind == "rmsnorm": return a * ((a * a).mean(-1, keepdims=True) + 1e-3) ** -0.5
        if kind == "detached_shift": return (a - a.mean(-1, keepdims=True).detach()) * b   # a per-row value cut
        if kind == "max_shift": return (a - a.max(-1, keepdims=True)).exp()
        if kind == "max_values": return (a - a.max(dim=-1, keepdim=True).values).exp() * b   # first index's gradient
        if kind == "sum_gate": return (a.sum(-1, keepdims=True) * 0.3).tanh() * b
        if kind == "concat_split":
            both = tr.concatenate([a, b], axis=-1)
            return both[:, 1:1 + a.shape[1]]
        raise ValueError(kind)


recipes = st.fixed_dictionaries(dict(
    gates=st.integers(1, 4), two_states=st.booleans(), bias=st.booleans(), second_matmul=st.booleans(),
    ops=st.lists(st.tuples(st.sampled_from(UNARY + BINARY), st.integers(0, 9), st.integers(0, 9)),
                 min_size=1, max_size=6)))


@settings(max_examples=5)   # each example is a new structure: a new kernel to compile
@given(recipe=recipes, dtype=st.sampled_from([np.float64, np.float32]), use_lengths=st.booleans(),
       seed=st.integers(0, 100))
def test_random_cell_compiled_equals_tape(recipe, dtype, use_lengths, seed):
    tr.manual_seed(seed)
    layer = tr.nn.Recurrent(RandomCell, 2 * H, H, num_layers=2, bidirectional=True, dtype=dtype, recipe=recipe)
    rng = np.random.default_rng(seed)
    T, B = 5, 3
    xd = rng.standard_normal((T, B, 2 * H)).astype(dtype)
    assert_same(layer, xd, np.array([5, 1, 3]) if use_lengths else None, dtype)


REDUCING = ["layernorm", "rmsnorm", "max_shift", "max_values", "sum_gate", "detached_shift"]


def max_over_pieces(recipe):
    """Whether a max_shift takes the max over a value assembled from pieces of several sources (a
    concat_split, or anything computed from one): the generator refuses that with a CompileError naming
    the line (lower.py), so such recipes are not drawn. Follows RandomCell.forward's pool."""
    pieces = [False] * (recipe["gates"] + 1 + recipe["two_states"])   # gates, h, c: each one source
    for kind, i, j in recipe["ops"]:
        a, b = pieces[i % len(pieces)], pieces[j % len(pieces)]
        if kind in ("max_shift", "max_values") and a:
            return True
        pieces.append(kind == "concat_split" or a or (kind in BINARY + ["sum_gate", "max_values"] and b))
    return False


reducing_recipes = st.fixed_dictionaries(dict(
    gates=st.integers(1, 4), two_states=st.booleans(), bias=st.booleans(), second_matmul=st.booleans(),
    ops=st.lists(st.tuples(st.sampled_from(UNARY + BINARY + REDUCING * 2), st.integers(0, 9), st.integers(0, 9)),
                 min_size=2, max_size=6).filter(lambda ops: any(k in REDUCING for k, _, _ in ops))
)).filter(lambda recipe: not max_over_pieces(recipe))


def assert_close_at_scale(layer, xd, lengths, dtype):
    """float32 with reductions: normalising divides by a spread that rounding perturbs, so each array is
    compared at its own scale (its largest element), not element by element."""
    values_tape, grads_tape = run_layer(layer, xd, lengths, False)
    values_comp, grads_comp = run_layer(layer, xd, lengths, True)
    pairs = list(zip(values_comp, values_tape)) + [(grads_comp[n], grads_tape[n]) for n in grads_tape
                                                   if grads_tape[n] is not None]
    for a, b in pairs:
        assert np.abs(a - b).max() <= 1e-5 * max(np.abs(b).max(), 1.0)


@settings(max_examples=4)   # each example is a new structure: a new kernel to compile
@given(recipe=reducing_recipes, dtype=st.sampled_from([np.float64, np.float32]), use_lengths=st.booleans(),
       seed=st.integers(0, 100))
def test_random_cell_with_reductions_compiled_equals_tape(recipe, dtype, use_lengths, seed):
    tr.manual_seed(seed)
    layer = tr.nn.Recurrent(RandomCell, 2 * H, H, num_layers=2, bidirectional=True, dtype=dtype, recipe=recipe)
    rng = np.random.default_rng(seed)
    xd = rng.standard_normal((5, 3, 2 * H)).astype(dtype)
    lengths = np.array([5, 1, 3]) if use_lengths else None
    if dtype == np.float64:
        assert_same(layer, xd, lengths, dtype)
    else:
        assert_close_at_scale(layer, xd, lengths, dtype)


def test_shifted_column_loops_of_different_widths_and_a_reduction():
    """Found by a longer run of the test above: a reduction splits the backward into several column loops
    (3 and 1 columns), which read a projection at overlapping column offsets (0 and 1) and the vector
    parameters in both: the loops' scratch rows must give each vector parameter's columns their own slots
    (the bias and peephole gradients were wrong) and zero what two overlapping targets add to."""
    recipe = {"gates": 2, "bias": True, "second_matmul": False, "two_states": True,
              "ops": [("concat_split", 0, 0), ("mul", 0, 9), ("sum_gate", 0, 0), ("concat_split", 0, 0),
                      ("tanh", 0, 0), ("tanh", 5, 0)]}
    tr.manual_seed(0)
    layer = tr.nn.Recurrent(RandomCell, 2 * H, H, dtype=np.float64, recipe=recipe)
    assert_same(layer, np.random.default_rng(0).standard_normal((5, 3, 2 * H)), None, np.float64)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_random_cell_with_masks_as_numbers_and_max_values(dtype):
    """The generator's mask_mul and max_values kinds every run (the draws above meet them only sometimes)."""
    recipe = {"gates": 3, "bias": True, "second_matmul": True, "two_states": True,
              "ops": [("mask_mul", 0, 1), ("max_values", 2, 5), ("mask_mul", 6, 3), ("max_values", 7, 0)]}
    tr.manual_seed(0)
    layer = tr.nn.Recurrent(RandomCell, 2 * H, H, num_layers=2, bidirectional=True, dtype=dtype, recipe=recipe)
    xd = np.random.default_rng(0).standard_normal((5, 3, 2 * H)).astype(dtype)
    (assert_same if dtype == np.float64 else assert_close_at_scale)(layer, xd, np.array([5, 1, 3]), dtype)


class DetachCell(RecurrentCell):
    """detach() of each kind of value a cell has: a (batch, n) value, a per-row mean, a (batch,) sum, a
    mask, a vector parameter and the state itself: the same values, and no gradient through the cut."""

    def __init__(self, input_size, hidden_size, dtype=np.float64):
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = uniform((hidden_size, input_size), 0.5, dtype)
        self.weight_hh = uniform((hidden_size, hidden_size), 0.5, dtype)
        self.gain = uniform((hidden_size,), 1.0, dtype)

    def forward(self, x, h):
        z = x @ self.weight_ih.T + h @ self.weight_hh.T
        spread = z - z.mean(-1, keepdims=True).detach()                 # a per-row value cut
        total = z.sum(-1).detach().unsqueeze(-1) * 0.1                  # a (batch,) value cut
        mask = (z > 0).detach().type_as(z)
        return (spread * z.tanh().detach() + total * mask + self.gain.detach() * h.detach() * h).tanh()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_detach_compiles_and_equals_the_tape(dtype):
    """The tape's detach is an operation off the tape (no history): the generated kernels must cut the
    same paths, or the gradients differ (x's, the weights', the state's through h.detach() * h)."""
    tr.manual_seed(0)
    layer = tr.nn.Recurrent(DetachCell, H, H, num_layers=2, dtype=dtype)
    xd = np.random.default_rng(6).standard_normal((5, 3, H)).astype(dtype)
    assert_same(layer, xd, np.array([5, 2, 4]), dtype)
    grads = run_layer(layer, xd, None, True)[1]
    assert grads["cells.0.gain"] is None   # read only detached: no gradient, None as on the tape
    assert (grads["cells.0.weight_hh"] != 0).any()


class MaxMinCell(RecurrentCell):
    """Elementwise maximum/minimum and a max over the features, fed a NaN: the tape propagates it."""

    def __init__(self, input_size, hidden_size, dtype=np.float64):
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_hh = uniform((hidden_size, hidden_size), 0.5, dtype)

    def forward(self, x, h):
        m = x.maximum(h @ self.weight_hh.T).minimum(x * 0.5 + 0.3)
        return (m - m.max(-1, keepdims=True)).tanh() + m.tanh()


def test_maximum_minimum_and_max_propagate_nan_as_the_tape():
    tr.manual_seed(0)
    layer = tr.nn.Recurrent(MaxMinCell, H, H, dtype=np.float64)
    xd = np.random.default_rng(5).standard_normal((4, 3, H))
    xd[1, 0, 2] = np.nan   # row 0 turns NaN from step 1 on; rows 1 and 2 stay finite
    values, _ = run_layer(layer, xd, None, False)
    assert np.isnan(values[0][1:, 0]).all() and np.isfinite(values[0][:, 1:]).all()
    assert_same(layer, xd, None, np.float64)   # NaN where the tape has NaN (assert_allclose: equal_nan)


class AbsCell(RecurrentCell):
    """abs() (and sqrt, clip) as a user writes them: the issue's list of what compiles."""

    def __init__(self, input_size, hidden_size, dtype=np.float64):
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = uniform((hidden_size, input_size), 0.5, dtype)
        self.weight_hh = uniform((hidden_size, hidden_size), 0.5, dtype)

    def forward(self, x, h):
        z = x @ self.weight_ih.T + h @ self.weight_hh.T
        return (z.abs() - 0.3).tanh() * (z * z + 1.0).sqrt().clip(0.0, 1.5)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_abs_compiles_and_equals_the_tape(dtype):
    tr.manual_seed(0)
    layer = tr.nn.Recurrent(AbsCell, H, H, dtype=dtype)
    xd = np.random.default_rng(3).standard_normal((5, 3, H)).astype(dtype)
    xd[2, 1] = 0.0   # with h = 0 at step 0 of a zero row: abs at 0, gradient sign(0) = 0
    assert_same(layer, xd, np.array([5, 3, 4]), dtype)


def test_abs_rule_at_zero_negative_zero_and_nan():
    """The rows' inputs above never hit sign's special points: 0 (gradient 0), -0.0 (abs gives +0.0), NaN."""
    a = np.array([0.0, -0.0, np.nan, -2.0, 3.0])
    g = np.array([1.0, 2.0, 3.0, np.nan, 0.5])
    out, saved = P.Abs.forward(a)
    (want,) = P.Abs.backward(g, saved, (True,))
    env = numpy_namespace(np.float64)
    got = eval(substitute(RULES[P.Abs].forward, {"a": "a"}), env, dict(a=a))
    np.testing.assert_array_equal(got, out)
    assert not np.signbit(got[1])
    np.testing.assert_array_equal(eval(substitute(RULES[P.Abs].vjps[0], {"a": "a"}), env, dict(a=a, g=g, out=out)),
                                  want)


def test_relu_and_maximum_rules_at_nan_equal_the_primitives():
    """The special points of relu's and maximum's gradients, which a recurrent row rarely reaches: a NaN input
    (torch passes g, to both inputs of maximum), a NaN g where relu is 0, ties, zeros."""
    a = np.array([0.0, -0.0, np.nan, -2.0, 3.0, 1.0, np.nan, -1.0])
    b = np.array([0.0, 1.0, 2.0, np.nan, 3.0, -1.0, np.nan, 2.0])
    g = np.array([1.0, 2.0, 3.0, 4.0, 0.5, np.nan, 6.0, np.nan])
    env = numpy_namespace(np.float64)
    out, saved = P.Relu.forward(a)
    (want,) = P.Relu.backward(g, saved, (True,))
    np.testing.assert_array_equal(eval(substitute(RULES[P.Relu].vjps[0], {"a": "a"}), env, dict(a=a, g=g, out=out)),
                                  want)
    out, saved = P.Maximum.forward(a, b)
    wants = P.Maximum.backward(g, saved, (True, True))
    for vjp, want in zip(RULES[P.Maximum].vjps, wants):
        np.testing.assert_array_equal(eval(substitute(vjp, {"a": "a", "b": "b"}), env, dict(a=a, b=b, g=g, out=out)),
                                      want)


def _reduce_by_rule(rule, a, g):
    """A REDUCTIONS row run over the columns of a's rows as the kernels run it (accumulators updated column by
    column, in the row's order), with numpy: (out, each column's cotangent)."""
    env = numpy_namespace(a.dtype)
    acc = {name: np.full(a.shape[0], eval(start, env)) for name, start in zip(rule.accumulators, rule.start)}
    for j in range(a.shape[1]):
        names = dict(acc, a=a[:, j], col=a.dtype.type(j))
        for target, expr in rule.update:
            names[target] = eval(expr, env, names)
        acc = {name: names[name] for name in rule.accumulators}
    out = acc[rule.accumulators[0]]
    vjps = [eval(rule.vjp, env, dict(acc, a=a[:, j], col=a.dtype.type(j), out=out, g=g)) for j in range(a.shape[1])]
    return out, np.stack(vjps, axis=1)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_max_reductions_at_nan_ties_and_infinities_equal_the_primitives(dtype):
    """amax over the features (P.Max) and max(dim).values (P.FirstMax) at what a row rarely holds: NaN (amax's
    gradient NaN over the row, as torch.amax; max(dim)'s to the first NaN), ties, infinities."""
    a = np.array([[1.0, np.nan, 3.0, np.nan], [1.0, 3.0, 3.0, 0.0], [np.inf, 1.0, np.inf, 2.0],
                  [-np.inf, -np.inf, -np.inf, -np.inf], [np.nan, 2.0, 5.0, 5.0], [0.0, -0.0, -1.0, np.nan]], dtype)
    g = np.array([1.0, 2.0, -1.5, 0.5, 3.0, 1.0], dtype)
    for prim in (P.Max, P.FirstMax):
        out, saved = prim.forward(a, axis=1, keepdims=False)
        (want,) = prim.backward(g, saved, (True,), axis=1, keepdims=False)
        got_out, got = _reduce_by_rule(REDUCTIONS[prim], a, g)
        np.testing.assert_array_equal(got_out, out, err_msg=prim.__name__)
        np.testing.assert_array_equal(got, np.broadcast_to(want, a.shape), err_msg=prim.__name__)


# ----------------------------------------------------------------------------- errors and the API
class SoftmaxCell(RecurrentCell):
    def __init__(self, input_size, hidden_size, dtype=np.float64):
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight = uniform((hidden_size, input_size), 0.5, dtype)

    def forward(self, x, h):
        return (x @ self.weight.T + h).softmax(-1)   # the line the error must name


def test_unsupported_operation_is_named_with_its_line():
    cell = SoftmaxCell(3, 4)
    with pytest.raises(CompileError, match=r"Softmax.*test_compile\.py:\d+ in forward"):
        compile_cell(cell)


class MaxOverConcatenationCell(RecurrentCell):
    def __init__(self, input_size, hidden_size, dtype=np.float64):
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight = uniform((hidden_size, input_size), 0.5, dtype)

    def forward(self, x, h):
        both = tr.concatenate([x @ self.weight.T, h], axis=-1)
        return h * both.max(-1, keepdims=True).tanh()   # the line the error must name


def test_max_over_a_concatenation_is_refused_naming_the_line():
    """Not compiled (ties would have to share the gradient across the pieces as the tape does): the
    error says so at the user's line, as reducing_recipes (which does not draw it) assumes."""
    with pytest.raises(CompileError, match=r"max over a value assembled.*test_compile\.py:\d+ in forward"):
        compile_cell(MaxOverConcatenationCell(3, 4))


class DataMaskCell(RecurrentCell):
    def __init__(self, input_size, hidden_size, dtype=np.float64):
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight = uniform((hidden_size, input_size), 0.5, dtype)

    def forward(self, x, h):
        return tr.where(h._data > 0, x @ self.weight.T, h)   # a mask of the arrays (._data), off the trace


def test_data_dependent_cell_is_refused_every_call():
    cell = DataMaskCell(3, 4)
    for _ in range(2):   # no kernel is ever made, so every call checks again
        with pytest.raises(CompileError, match=r"depend on the values.*Where, used at .*test_compile\.py:\d+ in fo"):
            compile_cell(cell)


class NoisyCell(RecurrentCell):
    """An Elman cell that draws noise of its own inside forward (tr.rand): random numbers that are not dropout's."""
    def __init__(self, input_size, hidden_size, dtype=np.float64):
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight = uniform((hidden_size, input_size), 0.5, dtype)
        self.recurrent = uniform((hidden_size, hidden_size), 0.5, dtype)

    def forward(self, x, h):
        noisy = h * tr.rand(*h.shape, dtype=h.dtype)
        return (x @ self.weight.T + noisy @ self.recurrent.T).tanh()   # the line the error names


def test_random_draws_other_than_dropout_are_refused_as_random():
    """Two traces of the same values differ: the error says the cell draws random numbers (not that it
    depends on the data) at the user's line, and what to do. Dropout compiles (test_compile_dropout.py):
    only other draws are refused so."""
    with pytest.raises(CompileError, match=r"draws random numbers.*test_compile\.py:\d+ in forward.*dropout can.*"
                                           r"fused='auto'"):
        compile_cell(NoisyCell(3, 4))


def test_tracing_leaves_the_generator_as_it_was():
    """fused='auto' traces the cell (drawing its random numbers) before falling back to the tape: with the same
    seed it must draw what fused=False draws, so the two give the same numbers."""
    x = tr.Tensor(np.random.default_rng(2).standard_normal((6, 2, 3)))
    outputs = []
    for fused in (False, "auto"):
        tr.manual_seed(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            layer = tr.nn.Recurrent(NoisyCell, 3, 4, dtype=np.float64, fused=fused)
        outputs.append(layer(x)[0]._data)
    assert layer.fused is False   # 'auto' fell back
    np.testing.assert_array_equal(outputs[0], outputs[1])
    cell = NoisyCell(3, 4)
    tr.manual_seed(5)
    expected = tr.random.generator().random(3)
    tr.manual_seed(5)
    with pytest.raises(CompileError):
        compile_cell(cell)
    np.testing.assert_array_equal(tr.random.generator().random(3), expected)


class MaxValuesCell(RecurrentCell):
    def __init__(self, input_size, hidden_size, dtype=np.float64, gather=False):
        self.input_size, self.hidden_size, self.gather = input_size, hidden_size, gather
        self.weight = uniform((hidden_size, input_size), 0.5, dtype)

    def forward(self, x, h):
        z = x @ self.weight.T + h
        if self.gather:
            return z[:, [3, 2, 1, 0]]                   # indexing with an array: positions a kernel cannot know
        return z - z.max(dim=-1, keepdim=True).values   # the gradient to the first arg-max (FirstMax)


def test_max_dim_values_compile_and_an_array_index_is_refused_naming_the_line():
    """max(dim).values is a reduction of its own (test_compile_masks.py holds it at ties); indexing with an
    array is refused at the gather itself, not by comparing two traces (whose positions may agree)."""
    tr.manual_seed(0)
    layer = tr.nn.Recurrent(MaxValuesCell, 3, 4, dtype=np.float64)
    assert_same(layer, np.random.default_rng(1).standard_normal((4, 3, 3)), None, np.float64)
    with pytest.raises(CompileError, match=r"indexing with an array, used at .*test_compile\.py:\d+ in forward: "
                                           r".*max\(dim, keepdim\)\.values.*amax"):
        compile_cell(MaxValuesCell(3, 4, gather=True))


def test_default_fused_refuses_at_construction_naming_the_line():
    with pytest.raises(CompileError, match=r"Softmax.*test_compile\.py:\d+ in forward"):
        tr.nn.Recurrent(SoftmaxCell, 3, 4, dtype=np.float64)


def test_auto_falls_back_with_one_warning_per_layer():
    import warnings
    with pytest.warns(RuntimeWarning, match="Softmax"):
        layer = tr.nn.Recurrent(SoftmaxCell, 3, 4, dtype=np.float64, fused="auto")
    x = tr.Tensor(np.ones((2, 1, 3)), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no warning per call
        for _ in range(2):
            out, _ = layer(x)
    assert out.shape == (2, 1, 4) and layer.fused is False
    with pytest.raises(CompileError):
        layer.fused = True


def test_compile_argument_is_a_deprecated_alias():
    with pytest.warns(DeprecationWarning, match="fused"):
        layer = tr.nn.Recurrent(tr.nn.RNNCell, 2 * H, H, dtype=np.float64, compile=False)
    assert layer.fused is False
    with pytest.raises(ValueError, match="fused"):
        tr.nn.Recurrent(tr.nn.RNNCell, 2 * H, H, dtype=np.float64, fused="yes")


def test_retain_states_warns_once_and_uses_the_tape():
    import warnings
    layer = tr.nn.Recurrent(tr.nn.RNNCell, 2 * H, H, dtype=np.float64)
    x = tr.Tensor(np.ones((3, 2, 2 * H)))
    with pytest.warns(RuntimeWarning, match="retain_states"):
        layer(x, retain_states=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer(x, retain_states=True)
    assert len(layer.states[(0, 0)]) == 3


@pytest.mark.parametrize("cls", [tr.nn.RNN, tr.nn.GRU, tr.nn.LSTM])
def test_builtin_layers_check_fused_and_warn_once_for_retain_states(cls):
    """The one switch means the same on every layer: a value that is not True/False/'auto' is refused
    (bool() took 'no' for True), and the tape fallback retain_states=True asks for is said once."""
    import warnings
    for bad in ("no", None, 2, 1, 0, 1.0):   # (1, 0 and 1.0 passed as equal to True/False)
        with pytest.raises(ValueError, match=f"{cls.__name__}: fused must be True, False or 'auto', got"):
            cls(3, 4, fused=bad)
    assert cls(3, 4, fused="auto").fused is True and cls(3, 4, fused=False).fused is False
    layer = cls(3, 4, dtype=np.float64)
    x = tr.Tensor(np.ones((3, 2, 3)))
    with pytest.warns(RuntimeWarning, match="retain_states"):
        layer(x, retain_states=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer(x, retain_states=True)
        cls(3, 4, dtype=np.float64, fused=False)(x, retain_states=True)   # asked for the tape: nothing to say
    assert len(layer.states[(0, 0)]) == 3


def test_kernel_source_of_a_layer_and_no_recompile_for_new_sizes():
    from tinygrad_rnn.compile.node import get_kernel
    tr.manual_seed(0)
    layer = tr.nn.Recurrent(tr.nn.GRUCell, 2 * H, H, dtype=np.float64)
    src = layer.kernel_source()
    assert "def forward(" in src and "def backward(" in src
    kernel = get_kernel(layer.cells[0], np.float64)[0]
    for T, B in [(3, 2), (5, 1), (2, 7)]:
        x = tr.Tensor(np.random.default_rng(T).standard_normal((T, B, 2 * H)), requires_grad=True)
        out, _ = layer(x, lengths=np.arange(T, T - B, -1).clip(1) if B <= T else None)
        out.sum().backward()
    for name in ("project", "forward", "backward", "grads"):
        assert len(getattr(kernel.module, name).signatures) == 1, name
    lstm = tr.nn.LSTM(3, 4)   # the built-in layers run kernels generated from nn/cells.py's cells
    assert lstm.kernel_source() == tr.nn.Recurrent(tr.nn.LSTMCell, 3, 4).kernel_source()


def test_kernel_source_arguments_are_checked():
    """(layer 0, direction 1) of a one-direction stack of two once printed layer 1's kernel."""
    stack = tr.nn.Recurrent(tr.nn.RNNCell, H, H, num_layers=2, dtype=np.float64)
    with pytest.raises(ValueError, match="Recurrent: direction must be < num_directions = 1, got 1"):
        stack.kernel_source(0, 1)
    with pytest.raises(ValueError, match="GRU: layer must be < num_layers = 1, got 5"):
        tr.nn.GRU(3, 4).kernel_source(5)
    with pytest.raises(TypeError, match="LSTM: layer must be an int"):
        tr.nn.LSTM(3, 4).kernel_source(0.0)


class NoInputSizeCell(RecurrentCell):
    def __init__(self, input_size, hidden_size, dtype=np.float64):
        self.hidden_size = hidden_size
        self.weight = uniform((hidden_size, input_size), 0.5, dtype)

    def forward(self, x, h):
        return (x @ self.weight.T + h).tanh()


def test_a_cell_without_input_size_is_told_so():
    with pytest.raises(CompileError, match="NoInputSizeCell has no input_size: a cell sets self.input_size"):
        tr.nn.Recurrent(NoInputSizeCell, 3, 4, dtype=np.float64)
    out, _ = tr.nn.Recurrent(NoInputSizeCell, 3, 4, dtype=np.float64, fused=False)(tr.Tensor(np.ones((2, 1, 3))))
    assert out.shape == (2, 1, 4)   # the tape never needed it


def test_compile_cell_source_and_call():
    tr.manual_seed(0)
    cell = tr.nn.GRUCell(2 * H, H, dtype=np.float64)
    cc = tr.compile_cell(cell)
    assert "def forward(" in cc.source and "def backward(" in cc.source and "gemm(" in cc.source
    # what the machine code inlines (blas, vecmath, scalar) or calls by name (shared.py: the call's
    # arguments) is named in the source, hence in the cached file's name: an edit there cannot leave
    # Numba's cache serving the old code
    from tinygrad_rnn.compile import codegen
    from tinygrad_rnn.kernels import source_digest
    assert codegen.SUPPORT_DIGEST == source_digest("blas.py", "vecmath.py", "shared.py", "../compile/scalar.py")
    assert codegen.SUPPORT_DIGEST in cc.source
    x = tr.Tensor(np.random.default_rng(0).standard_normal((4, 2, 2 * H)), requires_grad=True)
    out, h = cc(x)
    assert out.shape == (4, 2, H) and h.shape == (2, H)
    np.testing.assert_allclose(out._data[-1], h._data)


@pytest.mark.parametrize("cell", [tr.nn.LSTMCell, tr.nn.PeepholeLSTMCell])
def test_batch_blocks_on_two_threads_equal_the_tape(cell):
    """B = 19 splits into two blocks of rows run on parallel threads (uneven, with lengths): the same
    numbers as the tape, vector-parameter gradients included (one row per sequence, summed after)."""
    from tinygrad_rnn.kernels import blas
    before = blas.num_threads()
    if not blas.set_num_threads(2):
        pytest.skip("OpenBLAS's thread count cannot be set here")
    try:
        tr.manual_seed(3)
        layer = tr.nn.Recurrent(cell, 2 * H, H, bidirectional=True, dtype=np.float64)
        rng = np.random.default_rng(5)
        xd = rng.standard_normal((4, 19, 2 * H))
        assert_same(layer, xd, None, np.float64)
        assert_same(layer, xd, rng.integers(1, 5, 19), np.float64)
    finally:
        blas.set_num_threads(before)


class MixedVectorCell(RecurrentCell):
    """Vector weights of both kinds: products with the old c, with h and with the new c whose gradients
    are column dots after the loop, sharing dC0 with the bias's sum (outside.py's one pass over its rows,
    two factor arrays, shifts 0 and 1), and two (w_t, w_h) whose gradients the loop gathers per row (dV)."""

    def __init__(self, input_size, hidden_size, dtype=np.float64):
        self.input_size, self.hidden_size = input_size, hidden_size
        bound = 1.0 / np.sqrt(hidden_size)
        self.weight_ih = uniform((4 * hidden_size, input_size), bound, dtype)
        self.weight_hh = uniform((4 * hidden_size, hidden_size), bound, dtype)
        self.bias = uniform((4 * hidden_size,), bound, dtype)
        self.w_c, self.w_h, self.w_new, self.w_t, self.w_h2 = (uniform((hidden_size,), bound, dtype)
                                                                for _ in range(5))

    @property
    def state_sizes(self):
        return (self.hidden_size, self.hidden_size)

    def forward(self, x, state):
        h, c = state
        i, f, g, o = (x @ self.weight_ih.T + h @ self.weight_hh.T + self.bias).chunk(4, axis=-1)
        c = (f + self.w_c * c).sigmoid() * c + (i + self.w_h * h).sigmoid() * g.tanh()
        o = (o + self.w_new * c).sigmoid()
        return o * (c * self.w_t).tanh() + self.w_h2 * h * h, c


def test_vector_weights_summed_in_one_pass_or_in_the_loop_equal_the_tape():
    from tinygrad_rnn.compile.node import get_kernel
    tr.manual_seed(5)
    layer = tr.nn.Recurrent(MixedVectorCell, 2 * H, H, bidirectional=True, dtype=np.float64)
    kernel, _ = get_kernel(layer.cells[0], np.float64)
    in_loop = {i for i, _ in kernel.loop_grads}
    assert in_loop and in_loop < {i for i, _ in kernel.prog.vec_params}   # both kinds are exercised
    assert "fac1 = time_rows(" in kernel.source   # the dots read two factor arrays in one pass
    xd = np.random.default_rng(7).standard_normal((5, 3, 2 * H))
    assert_same(layer, xd, None, np.float64)
    assert_same(layer, xd, np.array([5, 2, 4]), np.float64)


def test_a_changed_cell_setting_is_traced_again():
    """Kernels are reused per cell without tracing while its parameters and settings stay; changing a
    setting that changes the structure (tanh -> relu) must not run the old kernel."""
    tr.manual_seed(4)
    layer = tr.nn.Recurrent(tr.nn.RNNCell, 2 * H, H, dtype=np.float64)
    xd = np.random.default_rng(6).standard_normal((4, 2, 2 * H))
    assert_same(layer, xd, None, np.float64)
    layer.cells[0].nonlinearity = "relu"
    assert_same(layer, xd, None, np.float64)
    out, _ = layer(tr.Tensor(xd))
    assert np.all(out._data >= 0)


class MaskCell(RecurrentCell):
    def __init__(self, input_size, hidden_size, dtype=np.float64):
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight = uniform((hidden_size, input_size), 0.5, dtype)
        self.shift = np.linspace(-1, 1, hidden_size)       # a constant array, not a parameter

    def forward(self, x, h):
        return (x @ self.weight.T + h * 0.5 + self.shift).tanh()


def test_a_constant_array_changed_in_place_is_traced_again():
    """A cell's constant array edited in place: the kernel (reused per cell while its settings stay)
    must see the new values."""
    tr.manual_seed(5)
    layer = tr.nn.Recurrent(MaskCell, 2 * H, H, dtype=np.float64)
    xd = np.random.default_rng(7).standard_normal((3, 2, 2 * H))
    assert_same(layer, xd, None, np.float64)
    layer.cells[0].shift *= -3.0
    assert_same(layer, xd, None, np.float64)


def test_the_backward_reads_saved_values_not_the_products_or_projections():
    """The GRU's W_hn h + b_hn, which r * (...)'s VJP reads, is saved (A) narrower than its product, so the
    product is one step's buffer (schedule.products_saved); a relu that is the new state is read from it,
    so the RNN's backward reads neither x W^T nor h W^T; each of their gradient columns is assigned once
    (codegen._assign_once). The generated kernels' values are held to the tape elsewhere (test_fused_vs_tape)."""
    from tinygrad_rnn.compile.codegen import Generator
    from tinygrad_rnn.compile.node import get_kernel
    gru = get_kernel(tr.nn.GRUCell(3, 4, dtype=np.float64), np.float64)[0]
    assert "C0" in Generator(gru.prog).step_only()
    assert [n.rule for n in gru.prog.saved].count(RULES[P.Add]) == 1
    assert {"dC0", "dXW0"} <= gru.assigned
    relu = get_kernel(tr.nn.RNNCell(3, 4, nonlinearity="relu", dtype=np.float64), np.float64)[0]
    assert not {"XW0", "C0"} & set(Generator(relu.prog).backward_args())
    assert "dC0" in relu.assigned


def test_add_slots_adds_each_run_into_its_array():
    """scalar.add_slots, which adds a backward's gathered vector-parameter gradients (dGV) into dV: each run
    (column, slot, width) into its own array's row, the same array twice, other rows and columns untouched."""
    from tinygrad_rnn.compile.scalar import add_slots
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((3, 6)), rng.standard_normal((3, 4))
    src = rng.standard_normal((1, 9))
    slots = np.array([[2, 0, 3], [0, 3, 4], [0, 7, 2]], dtype=np.int64)
    want_a, want_b = a.copy(), b.copy()
    want_a[1, 2:5] += src[0, 0:3]
    want_b[1, 0:4] += src[0, 3:7]
    want_a[1, 0:2] += src[0, 7:9]
    add_slots((a, b, a), slots, src, 1)
    np.testing.assert_array_equal(a, want_a)
    np.testing.assert_array_equal(b, want_b)


class WholeCell(RecurrentCell):
    """Chunks a wide expression of many operations (computed whole, read in slices: ir.Whole) and reads its
    pieces every way a value is read: as a new state part, as a gemm's operand, one column broadcast over the
    others, under a reduction; the whole value is also read unsplit."""

    def __init__(self, input_size, hidden_size, dtype=np.float64):
        self.input_size, self.hidden_size, self.state_sizes = input_size, hidden_size, (hidden_size, hidden_size)
        self.weight_ih = uniform((4 * hidden_size, input_size), 0.5, dtype)
        self.weight_hh = uniform((4 * hidden_size, hidden_size), 0.5, dtype)
        self.weight_2 = uniform((hidden_size, hidden_size), 0.5, dtype)
        self.gain = uniform((4 * hidden_size,), 1.0, dtype)

    def forward(self, x, state):
        h, c = state
        z = x @ self.weight_ih.T + h @ self.weight_hh.T
        wide = ((z - 0.1) * self.gain + z * z * 0.25).tanh() * 0.9 - 0.05   # 7 operations: computed whole
        a, b, g, d = wide.chunk(4, axis=-1)
        c = a.sigmoid() * c + b * (g @ self.weight_2.T) + d[:, :1] * wide.sum(-1, keepdims=True) * 0.01
        return (c.tanh() * d + a.mean(-1, keepdims=True)), c


def test_a_chunked_wide_expression_is_computed_whole_and_equals_the_tape():
    from tinygrad_rnn.compile.ir import Whole
    from tinygrad_rnn.compile.node import get_kernel
    tr.manual_seed(2)
    layer = tr.nn.Recurrent(WholeCell, 2 * H, H, bidirectional=True, dtype=np.float64)
    prog = get_kernel(layer.cells[0], np.float64)[0].prog
    reads = [a for ph in prog.phases for g in ph.groups for n in g.nodes for a in n.args]
    assert any(isinstance(getattr(a, "source", None), Whole) for a in reads)
    xd = np.random.default_rng(4).standard_normal((4, 3, 2 * H))
    assert_same(layer, xd, np.array([4, 2, 3]), np.float64)
    assert_same(tr.nn.Recurrent(WholeCell, 2 * H, H, dtype=np.float32), xd.astype(np.float32), None, np.float32)


def test_a_cells_source_does_not_depend_on_what_was_lowered_before():
    """The generated source names values by Node ids (v<id>). Numbered per program, a cell's source, and so
    its module in the kernel cache, is the same whatever was lowered first; counted over the process, a
    cell lowered after another was compiled again instead of loaded from the disk cache."""
    from tinygrad_rnn.compile.codegen import Generator
    from tinygrad_rnn.compile.lower import lower
    from tinygrad_rnn.compile.trace import trace_cell

    def source(cell):
        return Generator(lower(trace_cell(cell, np.float64), np.float64)).module_source()

    cell = tr.nn.LayerNormLSTMCell(3, 4, dtype=np.float64)
    alone = source(cell)
    source(tr.nn.PeepholeLSTMCell(3, 4, dtype=np.float64))
    assert source(cell) == alone


def test_recurrent_fused_refuses_numbers_equal_to_true_or_false():
    """fused=1, 0 or 1.0 passed `fused in (False, True, 'auto')` by equality; a number is not a switch."""
    for bad in (1, 0, 1.0):
        with pytest.raises(ValueError, match=r"Recurrent: fused must be True, False or 'auto', got"):
            tr.nn.Recurrent(tr.nn.RNNCell, 3, 4, fused=bad)
    layer = tr.nn.Recurrent(tr.nn.RNNCell, 3, 4, fused=False)
    with pytest.raises(ValueError, match=r"Recurrent: fused must be True, False or 'auto', got 1"):
        layer.fused = 1
    assert layer.fused is False
    assert tr.nn.Recurrent(tr.nn.RNNCell, 3, 4, fused=np.bool_(False)).fused is False


class NumpyRoundTripCell(RecurrentCell):
    def __init__(self, input_size, hidden_size, dtype=np.float64):
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight = uniform((hidden_size, input_size), 0.5, dtype)

    def forward(self, x, h):
        z = x @ self.weight.T + h
        return tr.Tensor(np.tanh(z._data))   # off the tape: the new state is a constant of the trace


class FixedBatchCell(NumpyRoundTripCell):
    def forward(self, x, h):
        z = x @ self.weight.T + h
        return z.reshape(-1).reshape(2, self.hidden_size)   # works for a batch of 2 only


def test_a_state_made_off_the_tape_and_a_batch_specific_cell_are_refused_naming_the_cause():
    """A state made in numpy was refused as "depends on the values" naming no operation or line (none
    differed); a cell that fails on the trace's batch raised its own error (a reshape of (12,) into (2, 4),
    for a user whose batch is 2), not saying it came from tracing. Both are CompileErrors naming the cause and
    the cell's line, so fused='auto' runs them on the tape."""
    with pytest.raises(CompileError, match=r"returned state part 0 is not computed by Tensor operations.*"
                                           r"test_compile\.py:\d+ in forward"):
        tr.nn.Recurrent(NumpyRoundTripCell, 3, 4, dtype=np.float64)
    with pytest.raises(CompileError, match=r"FixedBatchCell.forward raised ShapeError: cannot reshape .* "
                                           r"\(at .*test_compile\.py:\d+ in forward\).*batch of 3 rows"):
        tr.nn.Recurrent(FixedBatchCell, 3, 4, dtype=np.float64)
    with pytest.warns(RuntimeWarning, match="FixedBatchCell.forward raised ShapeError"):
        layer = tr.nn.Recurrent(FixedBatchCell, 3, 4, dtype=np.float64, fused="auto")
    x = np.random.default_rng(0).standard_normal((5, 2, 3))
    out, _ = layer(tr.Tensor(x))
    tape = tr.nn.Recurrent(FixedBatchCell, 3, 4, dtype=np.float64, fused=False)
    tape.load_state_dict(layer.state_dict())
    np.testing.assert_array_equal(out._data, tape(tr.Tensor(x))[0]._data)
