"""What bench/module_suite_probe.py and bench/rnn_suite_probe.py share: a torch module and ours holding its state,
torch's sample arguments as ours, the outputs flattened, and the comparisons of values and gradients.

Not a test: both probes read torch's internal test data (torch.testing._internal.common_modules)."""
import inspect

import numpy as np

import tinygrad_rnn as tr

TOLERANCES = {"float32": (2e-4, 2e-5), "float64": (1e-9, 1e-11)}


def our_constructor_args(obj, torch):
    """A torch constructor argument as ours (a tensor as a tr.tensor holding its values, off the tape)."""
    if isinstance(obj, torch.Tensor):
        return tr.tensor(obj.detach().numpy().copy())
    if isinstance(obj, torch.nn.Module):   # (TransformerEncoder(layer, n): torch's layer object, not its arguments)
        raise TypeError(f"a torch module as a constructor argument ({type(obj).__name__}), which the probe does not "
                        "rebuild as ours")
    if isinstance(obj, (list, tuple)):
        return type(obj)(our_constructor_args(o, torch) for o in obj)
    if isinstance(obj, dict):
        return {k: our_constructor_args(v, torch) for k, v in obj.items()}
    return obj


def build_ours(name, args, kwargs, dtype, torch, extra=None):
    """Our module of class name from torch's constructor arguments, in dtype (given as dtype= where the class takes
    it; a class without dtype= holds no floating parameters of its own, or takes its dtype from a tensor argument)."""
    cls = getattr(tr.nn, name)
    args, kwargs = our_constructor_args(tuple(args), torch), our_constructor_args(dict(kwargs), torch)
    kwargs.update(extra or {})
    if "dtype" in inspect.signature(cls.__init__).parameters:
        kwargs["dtype"] = getattr(np, dtype)
    return cls(*args, **kwargs)


class Pair:
    """torch's module and ours holding its state_dict (extra: our constructor's own arguments, as fused=)."""

    def __init__(self, torch, name, args, kwargs, dtype, extra=None):
        self.torch_dtype = getattr(torch, dtype)
        self.theirs = getattr(torch.nn, name)(*args, **kwargs).to(self.torch_dtype)
        self.ours = build_ours(name, args, kwargs, dtype, torch, extra)
        self.ours.load_state_dict({k: v.detach().numpy().copy() for k, v in self.theirs.state_dict().items()})

    def params(self):
        theirs = dict(self.theirs.named_parameters())
        return [(theirs[k], p) for k, p in self.ours.named_parameters()]


def convert(obj, torch, leaves):
    """A torch forward argument as ours (tensors as fresh leaves, noted in leaves as (theirs, ours) pairs)."""
    if isinstance(obj, torch.Tensor):
        theirs = obj.detach().clone().requires_grad_(obj.requires_grad)
        ours = tr.tensor(theirs.detach().numpy().copy(), requires_grad=obj.requires_grad)
        leaves.append((theirs, ours))
        return theirs, ours
    if isinstance(obj, torch.nn.utils.rnn.PackedSequence):
        return _convert_packed(obj, torch, leaves)
    if isinstance(obj, (list, tuple)):
        pairs = [convert(o, torch, leaves) for o in obj]
        return type(obj)(p[0] for p in pairs), type(obj)(p[1] for p in pairs)
    if isinstance(obj, dict):
        pairs = {k: convert(v, torch, leaves) for k, v in obj.items()}
        return {k: p[0] for k, p in pairs.items()}, {k: p[1] for k, p in pairs.items()}
    return obj, obj


def _convert_packed(obj, torch, leaves):
    """A PackedSequence: ours packed from the padded batch, as torch's was (make_packed_sequence makes the packed
    data a leaf after packing)."""
    from tinygrad_rnn.nn.utils import rnn as our_rnn
    data_t = obj.data.detach().clone().requires_grad_(obj.data.requires_grad)
    theirs = torch.nn.utils.rnn.PackedSequence(data_t, obj.batch_sizes, obj.sorted_indices, obj.unsorted_indices)
    padded, lengths = torch.nn.utils.rnn.pad_packed_sequence(theirs)
    ours = our_rnn.pack_padded_sequence(tr.tensor(padded.detach().numpy()), lengths.numpy(),
                                        enforce_sorted=obj.sorted_indices is None)
    ours.data.requires_grad_(obj.data.requires_grad)
    leaves.append((data_t, ours.data))
    return theirs, ours


def flat(out, torch):
    """An output as a list of arrays (None for a None) and the tensors among them (for the gradient's sum)."""
    if out is None:
        return [None], []
    if isinstance(out, (list, tuple)) and not hasattr(out, "batch_sizes"):
        items = [flat(o, torch) for o in out]
        return [v for i in items for v in i[0]], [t for i in items for t in i[1]]
    if hasattr(out, "batch_sizes"):   # a PackedSequence: its packed layout, as torch code reads it
        parts = [np.asarray(out.data.detach().numpy() if isinstance(out.data, torch.Tensor) else out.data.numpy())]
        parts += [None if i is None else np.asarray(i.numpy()) for i in (out.batch_sizes, out.sorted_indices,
                                                                          out.unsorted_indices)]
        return parts, [out.data]
    if isinstance(out, torch.Tensor):
        return [out.detach().numpy()], [out]
    return [np.asarray(out.detach().numpy())], [out]


def differ(theirs, ours, dtype, what="output"):
    """The first difference between two flat outputs, or None."""
    if len(theirs) != len(ours):
        return f"{len(ours)} {what}s, torch {len(theirs)}"
    rtol, atol = TOLERANCES[dtype]
    for i, (t, o) in enumerate(zip(theirs, ours)):
        if t is None or o is None:
            if t is not o:
                return f"{what} {i}: {o!r}, torch {t!r}"
            continue
        if t.shape != o.shape or t.dtype != o.dtype:
            return f"{what} {i}: {o.dtype}{o.shape}, torch {t.dtype}{t.shape}"
        if not np.allclose(o, t, rtol=rtol, atol=atol, equal_nan=True):
            return f"{what} {i}: max abs diff {np.nanmax(np.abs(o.astype(float) - t.astype(float))):.3g}"
    return None


def grads_differ(pair, t_out, o_out, leaves, dtype, torch):
    """The gradients of the sum of the outputs w.r.t. the inputs and the parameters: a difference, or None."""
    t_flags = [t.requires_grad for t in t_out]
    o_flags = [o.requires_grad for o in o_out]
    if t_flags != o_flags:
        return f"outputs' requires_grad {o_flags}, torch {t_flags}"
    if not any(t_flags):
        return None
    wanted = [(t, o) for t, o in leaves if t.requires_grad] + pair.params()
    t_loss = sum(t.sum() for t in t_out if t.requires_grad)
    t_grads = torch.autograd.grad(t_loss, [t for t, _ in wanted], allow_unused=True)
    o_out = [o for o in o_out if o.requires_grad]
    loss = o_out[0].sum()
    for o in o_out[1:]:
        loss = loss + o.sum()
    try:
        loss.backward()
    except Exception as e:   # noqa: BLE001  (a probe: every failure is a finding)
        return f"backward raised {type(e).__name__}: {str(e)[:120]}"
    names = [f"input {i}" for i in range(len(wanted) - len(pair.params()))]
    names += [k for k, _ in pair.ours.named_parameters()]
    for name, (_, o), tg in zip(names, wanted, t_grads):
        diff = grad_differs(None if o.grad is None else np.asarray(o.grad.numpy()),
                            None if tg is None else tg.numpy(), dtype)
        if diff:
            return f"{name}: {diff}"
    return None


def grad_differs(og, tg, dtype):
    """How our gradient og differs from torch's tg (None: no gradient, the same as zeros), or None."""
    if (og is None) != (tg is None) and not np.all((og if tg is None else tg) == 0):
        return f"gradient {'missing' if og is None else 'given'}, torch's {'given' if og is None else 'None'}"
    if og is None or tg is None:
        return None
    if og.shape != tg.shape:
        return f"gradient of shape {og.shape}, torch's {tg.shape}"
    rtol, atol = TOLERANCES[dtype]
    if np.allclose(og, tg, rtol, atol, equal_nan=True):
        return None
    return f"gradient differs (max abs diff {np.nanmax(np.abs(og - tg)):.3g})"


def compare_run(torch, pair, sample, dtype, training, also=None):
    """The sample's forward through torch's module and ours (training or eval mode), then the backward: the first
    difference as (class, what) — "refused" where ours raises and torch runs, "silent" where ours runs and torch
    raises or the values differ (also(pair): a check of the caller's own after the outputs, e.g. the buffers),
    "grad" where a gradient differs — or None."""
    pair.theirs.train(training)
    pair.ours.train(training)
    leaves = []
    t_args, o_args = convert(tuple(sample.forward_input.args), torch, leaves)
    t_kwargs, o_kwargs = convert(dict(sample.forward_input.kwargs), torch, leaves)
    try:
        t_out = pair.theirs(*t_args, **t_kwargs)
    except Exception:   # noqa: BLE001
        t_out = None
    try:
        o_out = pair.ours(*o_args, **o_kwargs)
    except Exception as e:   # noqa: BLE001
        return None if t_out is None else ("refused", f"{type(e).__name__}: {str(e)[:120]}")
    if t_out is None:
        return "silent", "torch raises, ours runs"
    (t_vals, t_tensors), (o_vals, o_tensors) = flat(t_out, torch), flat(o_out, torch)
    diff = differ(t_vals, o_vals, dtype) or (also(pair) if also else None)
    if diff is not None:
        return "silent", diff
    diff = grads_differ(pair, t_tensors, o_tensors, leaves, dtype, torch)
    return None if diff is None else ("grad", diff)
