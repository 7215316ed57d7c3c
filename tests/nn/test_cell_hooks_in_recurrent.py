"""Hooks on the cells a tr.nn.Recurrent layer holds (or on a module inside one) run as in a hand-written loop.

torch users who unroll a cell by hand (`for t in range(T): h, c = cell(x[t], (h, c))`) get its forward
(pre-)hooks once per step with that step's arguments and output, and its full backward (pre-)hooks once per
step with that step's gradients. A Recurrent layer runs its cells in fused kernels (or their recurrence
directly, on the tape): with hooks on a cell it runs that layer-direction on the tape, calling the cell each
step, with one warning per layer; removing the hooks brings the kernels back. Compared with torch 2.13's
LSTMCell / GRUCell / RNNCell run by hand with the same weights and hooks (steps in time order forward, in
reverse order for a reverse direction), and for lengths= (which torch's cells have no equivalent of) with our
own hand loop of the same cell, masking finished sequences as the layer documents.
"""
import warnings

import numpy as np
import pytest

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}
TOL = {np.float32: dict(rtol=3e-5, atol=3e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}
CELLS = {"lstm": (tr.nn.LSTMCell, torch.nn.LSTMCell), "gru": (tr.nn.GRUCell, torch.nn.GRUCell),
         "rnn": (tr.nn.RNNCell, torch.nn.RNNCell)}


def values(v):
    """What a hook was given, as arrays: a Tensor's values (ours or torch's), a tuple's entries flattened
    with its length first (so (h, c) and h are told apart), None for None."""
    if v is None:
        return [None]
    if isinstance(v, (tuple, list)):
        return [("tuple", len(v))] + [a for item in v for a in values(item)]
    return [np.array(v.detach().numpy()) if hasattr(v, "detach") else np.asarray(v._data)]


def log_hooks(module, log):
    """All four kinds of hook on module, each appending (kind, what it was given, flattened) to log; they
    return None. The handles, to remove them."""
    return [module.register_forward_pre_hook(lambda m, args: log.append(("pre", values(args)))),
            module.register_forward_hook(lambda m, args, out: log.append(("fwd", values(args) + values(out)))),
            module.register_full_backward_pre_hook(lambda m, go: log.append(("bpre", values(go)))),
            module.register_full_backward_hook(lambda m, gi, go: log.append(("bwd", values(gi) + values(go))))]


def same_log(ours, theirs, dtype):
    """The same hook calls in the same order, each given the same structure of the same values."""
    assert [kind for kind, _ in ours] == [kind for kind, _ in theirs]
    for i, ((kind, got), (_, want)) in enumerate(zip(ours, theirs)):
        assert len(got) == len(want), (i, kind)
        for g, w in zip(got, want):
            if w is None or isinstance(w, tuple):
                assert g == w, (i, kind, g, w)
            else:
                assert g is not None and g.shape == w.shape, (i, kind)
                np.testing.assert_allclose(g, w, err_msg=f"call {i} ({kind})", **TOL[dtype])


def make_layer(kind, dtype, I=3, H=4, **kwargs):
    """Our Recurrent of the cell kind and torch cells with its cells' weights, one per layer-direction."""
    ours_cls, torch_cls = CELLS[kind]
    layer = tr.nn.Recurrent(ours_cls, I, H, dtype=dtype, **kwargs)
    theirs = []
    for cell in layer.cells:
        t = torch_cls(cell.input_size, H).to(TORCH_DTYPE[dtype])
        with torch.no_grad():
            for name, p in t.named_parameters():
                p.copy_(torch.tensor(getattr(cell, name)._data))
        theirs.append(t)
    return layer, theirs


def torch_hand_loop(cells, x, num_layers, directions):
    """torch's cells unrolled by hand as the layer runs them: layer by layer, each direction from a zero
    state, a reverse direction from the last step back; (output (T, B, D*H), final states per cell)."""
    T, B = x.shape[:2]
    layer_input, finals = x, []
    for layer in range(num_layers):
        outs = []
        for d in range(directions):
            cell = cells[layer * directions + d]
            zeros = torch.zeros(B, cell.hidden_size, dtype=x.dtype)
            state = (zeros, zeros.clone()) if isinstance(cell, torch.nn.LSTMCell) else zeros
            out = [None] * T
            for t in (reversed(range(T)) if d else range(T)):
                state = cell(layer_input[t], state)
                out[t] = state[0] if isinstance(state, tuple) else state
            outs.append(torch.stack(out))
            finals.append(state)
        layer_input = torch.cat(outs, 2) if directions == 2 else outs[0]
    return layer_input, finals


def last_part(h_n):
    return h_n[-1] if isinstance(h_n, tuple) else h_n


def weights_for(T, B, n_out, LD, H, dtype):
    rng = np.random.default_rng(1)
    return rng.standard_normal((T, B, n_out)).astype(dtype), rng.standard_normal((LD, B, H)).astype(dtype)


def run_ours(layer, x_np, w_out, w_fin, **kwargs):
    """layer on x, then backward of a loss reading the output and the last state part of h_n (c_n for an LSTM):
    (output, h_n, x.grad)."""
    x = tr.Tensor(x_np, requires_grad=True)
    out, h_n = layer(x, **kwargs)
    ((out * tr.Tensor(w_out)).sum() + (last_part(h_n) * tr.Tensor(w_fin)).sum()).backward()
    return out, h_n, x.grad


def run_torch(cells, x_np, w_out, w_fin, num_layers=1, directions=1):
    x = torch.tensor(x_np, requires_grad=True)
    out, finals = torch_hand_loop(cells, x, num_layers, directions)
    last = torch.stack([last_part(f) for f in finals])
    ((out * torch.tensor(w_out)).sum() + (last * torch.tensor(w_fin)).sum()).backward()
    return out, finals, x.grad


def grads_match(layer, theirs, dtype):
    for cell, t in zip(layer.cells, theirs):
        for name, p in t.named_parameters():
            np.testing.assert_allclose(getattr(cell, name).grad, p.grad.numpy(), err_msg=name, **TOL[dtype])


def node_kinds(out):
    """The names of the tape's nodes behind out."""
    kinds, stack, seen = [], [out.node], set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        kinds.append(node.name())
        stack.extend(e[0] for e in node.parents if type(e) is tuple)
    return kinds


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("kind", list(CELLS))
def test_a_cells_hooks_run_each_step_as_in_torchs_hand_loop(kind, fused, dtype):
    """Every kind of hook, once per step with that step's arguments, output and gradients, in torch's order;
    hooks that return None change neither the output nor any gradient."""
    T, B, H = 5, 2, 4
    layer, theirs = make_layer(kind, dtype, fused=fused)
    x = np.random.default_rng(0).standard_normal((T, B, 3)).astype(dtype)
    w_out, w_fin = weights_for(T, B, H, 1, H, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        plain_out, plain_h, plain_dx = run_ours(layer, x, w_out, w_fin)
        plain_grads = {n: p.grad.numpy().copy() for n, p in layer.named_parameters()}
        layer.zero_grad()
        ours, log_t = [], []
        log_hooks(layer.cells[0], ours)
        log_hooks(theirs[0], log_t)
        out, h_n, dx = run_ours(layer, x, w_out, w_fin)
    t_out, t_finals, t_dx = run_torch(theirs, x, w_out, w_fin)
    assert [k for k, _ in ours].count("fwd") == T
    same_log(ours, log_t, dtype)
    np.testing.assert_allclose(out._data, t_out.detach().numpy(), **TOL[dtype])
    np.testing.assert_allclose(dx, t_dx.numpy(), **TOL[dtype])
    grads_match(layer, theirs, dtype)
    # the hooks changed nothing
    np.testing.assert_allclose(out._data, plain_out._data, **TOL[dtype])
    for a, b in zip(values(h_n), values(plain_h)):
        assert a == b if isinstance(b, tuple) else np.allclose(a, b, **TOL[dtype])
    np.testing.assert_allclose(dx, plain_dx, **TOL[dtype])
    for n, p in layer.named_parameters():
        np.testing.assert_allclose(p.grad, plain_grads[n], err_msg=n, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_hooks_that_replace_arguments_and_output_change_the_run_as_torchs_hand_loop(kind, dtype):
    """A pre-hook that scales the step's input and a forward hook that scales the new state: the output, the
    final state and every gradient are torch's hand loop's with the same hooks."""
    T, B, H = 4, 3, 4
    layer, theirs = make_layer(kind, dtype)
    x = np.random.default_rng(2).standard_normal((T, B, 3)).astype(dtype)
    w_out, w_fin = weights_for(T, B, H, 1, H, dtype)

    def pre(module, args):
        return (args[0] * 2.0, args[1])

    def fwd(module, args, out):
        return (out[0] * 0.5, out[1]) if isinstance(out, tuple) else out * 0.5

    for cell in (layer.cells[0], theirs[0]):
        cell.register_forward_pre_hook(pre)
        cell.register_forward_hook(fwd)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out, h_n, dx = run_ours(layer, x, w_out, w_fin)
    t_out, t_finals, t_dx = run_torch(theirs, x, w_out, w_fin)
    np.testing.assert_allclose(out._data, t_out.detach().numpy(), **TOL[dtype])
    np.testing.assert_allclose(last_part(h_n)._data[0], last_part(t_finals[0]).detach().numpy(), **TOL[dtype])
    np.testing.assert_allclose(dx, t_dx.numpy(), **TOL[dtype])
    grads_match(layer, theirs, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hooked", [[0, 1, 2, 3], [1], [2]])
def test_each_cell_of_a_bidirectional_stack_has_its_own_layer_directions_calls(hooked, dtype):
    """cells[layer * 2 + direction]: its hooks see that layer-direction's steps (the reverse direction's from
    the last step back; layer 1 reads layer 0's two directions concatenated), as torch's hand loop; only the
    hooked layer-directions leave the fused kernels."""
    T, B, H = 4, 2, 3
    layer, theirs = make_layer("lstm", dtype, H=H, num_layers=2, bidirectional=True)
    x = np.random.default_rng(3).standard_normal((T, B, 3)).astype(dtype)
    w_out, w_fin = weights_for(T, B, 2 * H, 4, H, dtype)
    logs = {k: ([], []) for k in hooked}
    for k in hooked:
        log_hooks(layer.cells[k], logs[k][0])
        log_hooks(theirs[k], logs[k][1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out, h_n, dx = run_ours(layer, x, w_out, w_fin)
    t_out, t_finals, t_dx = run_torch(theirs, x, w_out, w_fin, num_layers=2, directions=2)
    for k in hooked:
        assert [kind for kind, _ in logs[k][0]].count("fwd") == T, k
        same_log(*logs[k], dtype)
    assert node_kinds(out).count("CompiledRecurrence") == 4 - len(hooked)
    np.testing.assert_allclose(out._data, t_out.detach().numpy(), **TOL[dtype])
    np.testing.assert_allclose(dx, t_dx.numpy(), **TOL[dtype])
    grads_match(layer, theirs, dtype)


def masked_hand_loop(cell, x, lengths, reverse):
    """Our cell unrolled by hand over the padded batch x (T, B, F) as the layer documents lengths=: called at
    each of the T steps on all B sequences; a sequence past its length keeps its state and outputs 0. The
    reverse direction's step s reads each sequence's step lengths[b] - 1 - s (its padded steps stay put).
    (output (T, B, H) in time order, final state)."""
    T, B = x.shape[:2]
    rows = np.arange(B)
    state = cell.initial_state(B, x.dtype)
    outs, sources = [], []
    for s in range(T):
        valid = s < lengths
        src = np.where(valid, lengths - 1 - s, s) if reverse else np.full(B, s)
        new = cell(x[src, rows], state)
        mask = valid[:, None]
        state = tuple(tr.where(mask, n, o) for n, o in zip(new, state)) if isinstance(new, tuple) \
            else tr.where(mask, new, state)
        outs.append(tr.where(mask, state[0] if isinstance(state, tuple) else state, 0.0))
        sources.append(src)
    out = tr.stack(outs)
    if reverse:   # back to time order: time t of sequence b was step sources[...] (an involution)
        out = out[np.array(sources), rows[None, :]]
    return out, state


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("direction", [0, 1])
def test_with_lengths_the_cell_sees_every_step_of_the_padded_batch_as_a_masked_hand_loop(direction, dtype):
    """lengths=: the hooked cell is called at every step on the whole padded batch, the layer keeping a
    finished sequence's state and writing 0 to its output, as masked_hand_loop does by hand with the same
    cell; the layer's output and gradients are those of the fused run without hooks."""
    T, B, H = 5, 3, 4
    lengths = np.array([5, 2, 3])
    layer = tr.nn.Recurrent(tr.nn.LSTMCell, 3, H, bidirectional=True, dtype=dtype)
    cell = layer.cells[direction]
    x_np = np.random.default_rng(4).standard_normal((T, B, 3)).astype(dtype)
    w_out, w_fin = weights_for(T, B, 2 * H, 2, H, dtype)
    plain_out, plain_h, plain_dx = run_ours(layer, x_np, w_out, w_fin, lengths=lengths)
    plain_grads = {n: p.grad.numpy().copy() for n, p in layer.named_parameters()}
    layer.zero_grad()
    ours, by_hand = [], []
    handles = log_hooks(cell, ours)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out, h_n, dx = run_ours(layer, x_np, w_out, w_fin, lengths=lengths)
    for h in handles:
        h.remove()
    layer_grads = {n: p.grad.numpy().copy() for n, p in cell.named_parameters()}
    cell.zero_grad()
    log_hooks(cell, by_hand)
    x = tr.Tensor(x_np, requires_grad=True)
    hand_out, (h, c) = masked_hand_loop(cell, x, lengths, direction == 1)
    half = slice(direction * H, (direction + 1) * H)
    ((hand_out * tr.Tensor(w_out[:, :, half])).sum() + (c * tr.Tensor(w_fin[direction])).sum()).backward()
    assert [k for k, _ in ours].count("fwd") == T
    same_log(ours, by_hand, dtype)
    np.testing.assert_allclose(out._data[:, :, half], hand_out._data, **TOL[dtype])
    np.testing.assert_allclose(h_n[1]._data[direction], c._data, **TOL[dtype])
    for n, p in cell.named_parameters():
        np.testing.assert_allclose(layer_grads[n], p.grad, err_msg=n, **TOL[dtype])
    # the hooks changed nothing: the fused run's output and gradients
    np.testing.assert_allclose(out._data, plain_out._data, **TOL[dtype])
    np.testing.assert_allclose(dx, plain_dx, **TOL[dtype])
    for n, p in layer.named_parameters():
        if not n.startswith(f"cells.{direction}."):
            np.testing.assert_allclose(p.grad, plain_grads[n], err_msg=n, **TOL[dtype])
    for n, g in layer_grads.items():
        np.testing.assert_allclose(g, plain_grads[f"cells.{direction}.{n}"], err_msg=n, **TOL[dtype])


def test_one_warning_per_layer_at_the_users_line_and_remove_brings_the_kernels_back():
    layer = tr.nn.Recurrent(tr.nn.GRUCell, 3, 4)
    x = tr.Tensor(np.ones((3, 2, 3), np.float32))
    layer.register_forward_hook(lambda m, args, out: None)   # the layer's own hooks: kernels kept, no warning
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert "CompiledRecurrence" in node_kinds(layer(x)[0])
    assert not seen
    calls = []
    handle = layer.cells[0].register_forward_pre_hook(lambda m, args: calls.append(args[0].shape))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        out, _ = layer(x)
        layer(x)
    assert len(calls) == 6 and "CompiledRecurrence" not in node_kinds(out)
    assert len(seen) == 1 and issubclass(seen[0].category, RuntimeWarning)
    assert "hooks" in str(seen[0].message) and "GRUCell" in str(seen[0].message)
    assert seen[0].filename == __file__   # the user's line, not the library's
    handle.remove()
    assert "CompiledRecurrence" in node_kinds(layer(x)[0]) and len(calls) == 6
    handle = layer.cells[0].register_forward_pre_hook(lambda m, args: calls.append(args[0].shape))
    assert "CompiledRecurrence" not in node_kinds(layer(x)[0]) and len(calls) == 9   # no stale decision
    handle.remove()
    assert "CompiledRecurrence" in node_kinds(layer(x)[0])


class LinearTanhCell(tr.nn.RecurrentCell):
    """A user's cell made of two Linear submodules (the fused kernels compile it)."""

    def __init__(self, input_size, hidden_size, bias=True, dtype=None):
        self.input_size, self.hidden_size = input_size, hidden_size
        self.inp = tr.nn.Linear(input_size, hidden_size, bias=bias, dtype=dtype)
        self.rec = tr.nn.Linear(hidden_size, hidden_size, bias=False, dtype=dtype)

    def forward(self, x, h):
        return (self.inp(x) + self.rec(h)).tanh()


@pytest.mark.parametrize("dtype", DTYPES)
def test_hooks_on_a_module_inside_a_users_cell_run_each_step(dtype):
    """A hook on a submodule of the cell: the layer-direction calls the cell each step, and the cell's forward
    calls the submodule; what the hooks see is what a hand loop of the same cell gives them."""
    T, B = 4, 2
    layer = tr.nn.Recurrent(LinearTanhCell, 3, 4, dtype=dtype)
    cell = layer.cells[0]
    x_np = np.random.default_rng(5).standard_normal((T, B, 3)).astype(dtype)
    w_out, w_fin = weights_for(T, B, 4, 1, 4, dtype)
    ours, by_hand = [], []
    handles = log_hooks(cell.rec, ours)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        out, h_n, dx = run_ours(layer, x_np, w_out, w_fin)
    for h in handles:
        h.remove()
    assert node_kinds(out).count("CompiledRecurrence") == 0
    assert "CompiledRecurrence" in node_kinds(layer(tr.Tensor(x_np))[0])
    log_hooks(cell.rec, by_hand)
    x = tr.Tensor(x_np, requires_grad=True)
    h = cell.initial_state(B, dtype)
    outs = []
    with warnings.catch_warnings():   # (step 0's rec: no input requires grad, its backward hooks say so)
        warnings.simplefilter("ignore", UserWarning)
        for t in range(T):
            h = cell(x[t], h)
            outs.append(h)
        ((tr.stack(outs) * tr.Tensor(w_out)).sum() + (h * tr.Tensor(w_fin[0])).sum()).backward()
    assert [k for k, _ in ours].count("fwd") == T
    same_log(ours, by_hand, dtype)


@pytest.mark.parametrize("checkpoint", [2, 3])
def test_checkpointed_hooked_cell_backward_hooks_see_the_stored_runs_gradients(checkpoint):
    """checkpoint= on a hooked layer-direction: the tape's plan, the cell called each step. The forward hooks
    run once per step in the forward pass (and again when a piece is recomputed in the backward pass, as under
    torch.utils.checkpoint); the full backward hooks run once per step with the gradients of the run that
    stores every step."""
    T, B, H, dtype = 6, 2, 4, np.float64
    x_np = np.random.default_rng(6).standard_normal((T, B, 3)).astype(dtype)
    w_out, w_fin = weights_for(T, B, H, 1, H, dtype)
    logs, weights = [], None
    for plan in (None, checkpoint):
        layer = tr.nn.Recurrent(tr.nn.LSTMCell, 3, H, dtype=dtype, checkpoint=plan)
        if weights is None:
            weights = layer.state_dict()
        layer.load_state_dict(weights)
        log = []
        log_hooks(layer.cells[0], log)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            x = tr.Tensor(x_np, requires_grad=True)
            out, (h_n, c_n) = layer(x)
            forward_calls = list(log)
            ((out * tr.Tensor(w_out)).sum() + (c_n * tr.Tensor(w_fin)).sum()).backward()
        rerun = [e for e in log[len(forward_calls):] if e[0] == "fwd"]
        logs.append((forward_calls, [e for e in log if e[0] in ("bpre", "bwd")], out._data, x.grad))
    plan = layer.bptt_plan(T, B)
    assert len(rerun) == T - plan[-1].steps > 0   # the recomputed pieces' steps, once more
    (fwd_stored, bwd_stored, out_stored, dx_stored), (fwd_ckpt, bwd_ckpt, out_ckpt, dx_ckpt) = logs
    assert [k for k, _ in fwd_stored].count("fwd") == T
    # the forward pass under checkpoint runs without recording: the same calls and values
    same_log(fwd_ckpt, fwd_stored, dtype)
    same_log(bwd_ckpt, bwd_stored, dtype)
    np.testing.assert_allclose(out_ckpt, out_stored, rtol=1e-12)
    np.testing.assert_allclose(dx_ckpt, dx_stored, rtol=1e-12)


def test_a_factorys_hooked_cell_is_not_called_at_construction():
    """Recurrent tries the first cell once on zeros at construction (to report a bad state early): that probe is
    not a call of the user's, and the cell's hooks do not see it."""
    calls = []

    def factory(input_size, hidden_size, **kwargs):
        cell = tr.nn.GRUCell(input_size, hidden_size, **kwargs)
        cell.register_forward_hook(lambda m, args, out: calls.append(args[0].shape))
        return cell

    layer = tr.nn.Recurrent(factory, 3, 4, fused=False)
    assert calls == []
    layer(tr.Tensor(np.ones((2, 5, 3), np.float32)))
    assert calls == [(5, 3), (5, 3)]


def test_memory_budget_plans_a_hooked_cell_for_the_tape_it_runs_on():
    """memory_budget= plans by what a step keeps: a hooked layer-direction runs on the tape, so its plan is the
    fused=False layer's (the fused kernels keep less per step); removing the hook gives the kernels' plan back."""
    T, B, budget = 50, 4, 5e4
    layer = tr.nn.Recurrent(tr.nn.LSTMCell, 3, 8, memory_budget=budget)
    tape = tr.nn.Recurrent(tr.nn.LSTMCell, 3, 8, memory_budget=budget, fused=False)
    fused_plan = layer.bptt_plan(T, B)
    assert fused_plan != tape.bptt_plan(T, B)   # (else this budget shows nothing)
    handle = layer.cells[0].register_full_backward_hook(lambda m, gi, go: None)
    assert layer.bptt_plan(T, B) == tape.bptt_plan(T, B)
    handle.remove()
    assert layer.bptt_plan(T, B) == fused_plan


class ListedLinearCell(tr.nn.RecurrentCell):
    """A user's cell whose Linear submodules sit in a list and in a ModuleDict (found by named_modules too)."""

    def __init__(self, input_size, hidden_size, bias=True, dtype=None):
        self.input_size, self.hidden_size = input_size, hidden_size
        self.sides = [tr.nn.Linear(input_size, hidden_size, bias=bias, dtype=dtype)]
        self.more = tr.nn.ModuleDict({"rec": tr.nn.Linear(hidden_size, hidden_size, bias=False, dtype=dtype)})

    def forward(self, x, h):
        return (self.sides[0](x) + self.more["rec"](h)).tanh()


@pytest.mark.parametrize("where", ["sides.0", "more.rec"])
def test_a_hook_deep_inside_a_cell_is_found_in_a_list_or_a_container(where):
    layer = tr.nn.Recurrent(ListedLinearCell, 3, 4)
    calls = []
    inner = dict(layer.cells[0].named_modules())[where]
    handle = inner.register_forward_hook(lambda m, args, out: calls.append(out.shape))
    x = tr.Tensor(np.ones((5, 2, 3), np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out, _ = layer(x)
    assert calls == [(2, 4)] * 5 and "CompiledRecurrence" not in node_kinds(out)
    handle.remove()
    assert "CompiledRecurrence" in node_kinds(layer(x)[0]) and len(calls) == 5
