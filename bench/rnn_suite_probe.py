"""A differential audit of tinygrad_rnn's recurrent layers and cells against torch's own ModuleInfo database.

For each ModuleInfo of torch.testing._internal.common_modules.module_db whose class is one of nn.RNN, nn.GRU,
nn.LSTM, nn.RNNCell, nn.GRUCell and nn.LSTMCell, every float32 and float64 CPU sample (module_inputs_func, with
RNN/GRU's packed-sequence samples too, in training and eval mode) is run by torch's module and by ours holding the
same weights (load_state_dict), for our layers with fused=True and fused=False. Compared: error or not, the outputs'
values, shapes and dtypes (a PackedSequence by its .data, .batch_sizes and indices), and the gradients of the sum of
the outputs w.r.t. the inputs, hx and every parameter. Then every error sample (module_error_inputs_func): both must
raise, ours of the type torch's test expects (its error_type). And what torch's TestModule checks of each module
beyond its samples: the parameters' names, shapes and order, repr, a state_dict round trip, pickling, .to(dtype),
and non-contiguous inputs. Beside torch's samples, a few it leaves out (extra_samples: LSTM on packed input,
packed input with hx, unsorted lengths, batch_first, one time step).

Each difference is one line: the module, the sample's description and what differs. Classes:

  silent      we return something torch does not (other values, shape or dtype, or torch raises and we do not)
  grad        a gradient differs, is missing, or our backward raises where torch's runs
  refused     we raise where torch works
  error type  both raise, with an exception that is not of the type torch's test expects
  other       a TestModule-style check (names, repr, state_dict, pickle, .to, non-contiguous input)

Usage (torch's internals need the expecttest package, e.g. `pip install --target /tmp/pylib expecttest`):

    PYTHONPATH=$PWD:/tmp/pylib nice -n 19 .venv/bin/python bench/rnn_suite_probe.py [--modules LSTM,GRUCell]

It prints one line per finding and a table of counts per class. Not a test: it reads torch's internal test data.
"""
import argparse
import io
import pickle
import sys
import warnings
from collections import Counter

import numpy as np

import tinygrad_rnn as tr
from bench import module_probe_common as common
from bench.module_probe_common import convert, differ, flat

MODULES = ("RNN", "GRU", "LSTM", "RNNCell", "GRUCell", "LSTMCell")
LAYERS = ("RNN", "GRU", "LSTM")


def Pair(torch, name, args, kwargs, dtype, fused):   # noqa: N802  (the shared Pair, with our layers' fused=)
    """torch's module and ours holding its weights (ours built with fused= where the layer takes it)."""
    return common.Pair(torch, name, args, kwargs, dtype, None if fused is None else {"fused": fused})


def run_sample(torch, name, sample, dtype, training, fused):
    """One ModuleInput through both modules: (class, what) of a difference, or None."""
    cons = sample.constructor_input
    torch.manual_seed(0)
    pair = Pair(torch, name, cons.args, cons.kwargs, dtype, fused)
    return common.compare_run(torch, pair, sample, dtype, training)


def extra_samples(torch, name, dtype):
    """Samples torch's ModuleInfo leaves out, in its ModuleInput form: LSTM (projected too) on packed input, packed
    input with hx, unsorted lengths (enforce_sorted=False), batch_first layers, time steps of one."""
    from torch.testing._internal.common_modules import FunctionInput, ModuleInput
    if name not in LAYERS:
        return []
    gen = torch.Generator().manual_seed(0)
    tdtype = getattr(torch, dtype)

    def make(*shape):
        return torch.randn(*shape, generator=gen, dtype=tdtype).requires_grad_()

    def packed(lengths, features=2):
        data = torch.randn(max(lengths), len(lengths), features, generator=gen, dtype=tdtype)
        seq = torch.nn.utils.rnn.pack_padded_sequence(data, lengths, enforce_sorted=False)
        seq.data.requires_grad_()
        return seq

    samples = []
    for kwargs in ({"num_layers": 2, "bidirectional": True}, {"num_layers": 3, "batch_first": True},
                   {"bidirectional": True, "bias": False}):
        if name == "LSTM":
            kwargs = {**kwargs, "proj_size": 2}
        out = 2 if name == "LSTM" else 3
        layers = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
        hx = (make(layers, 4, out), make(layers, 4, 3)) if name == "LSTM" else make(layers, 4, out)
        cons = FunctionInput(2, 3, **kwargs)
        samples += [ModuleInput(constructor_input=cons, forward_input=FunctionInput(packed([2, 5, 1, 5]))),
                    ModuleInput(constructor_input=cons, forward_input=FunctionInput(packed([3, 1, 4, 2]), hx)),
                    ModuleInput(constructor_input=cons, forward_input=FunctionInput(make(1, 4, 2), hx))]
    for sample in samples:
        sample.desc = "extra"
    return samples


def run_error_sample(torch, name, err, dtype):
    """One ErrorModuleInput: ours must raise an error of the type torch's test expects."""
    sample = err.module_error_input
    cons = sample.constructor_input
    try:
        ours = getattr(tr.nn, name)(*cons.args, **{**cons.kwargs, "device": None, "dtype": getattr(np, dtype)})
        if err.error_on.name == "CONSTRUCTION_ERROR":
            return "silent", "construction runs, torch raises"
        leaves = []
        _, o_args = convert(tuple(sample.forward_input.args), torch, leaves)
        ours(*o_args)
    except Exception as e:   # noqa: BLE001
        if isinstance(e, err.error_type):
            return None
        return "error type", f"{type(e).__name__} (torch's test expects {err.error_type.__name__}): {str(e)[:100]}"
    return "silent", f"runs; torch raises {err.error_type.__name__}"


def module_checks(torch, name, dtype):
    """What torch's TestModule checks beyond values: a list of (class, what)."""
    args = (3, 4) if name.endswith("Cell") else (3, 4, 2)
    kwargs = {} if name.endswith("Cell") else {"bidirectional": True, **({"proj_size": 2} if name == "LSTM" else {})}
    torch.manual_seed(0)
    pair = Pair(torch, name, args, kwargs, dtype, None)
    found = []
    t_named = [(k, tuple(v.shape)) for k, v in pair.theirs.named_parameters()]
    o_named = [(k, tuple(v.shape)) for k, v in pair.ours.named_parameters()]
    if t_named != o_named:
        found.append(("other", f"named_parameters {o_named}, torch {t_named}"))
    if repr(pair.theirs) != repr(pair.ours):
        found.append(("other", f"repr {pair.ours!r}, torch {pair.theirs!r}"))
    if list(pair.ours.state_dict()) != list(pair.theirs.state_dict()):
        found.append(("other", "state_dict keys differ"))
    x = torch.randn(5, 2, 3, dtype=pair.torch_dtype) if not name.endswith("Cell") else torch.randn(2, 3,
                                                                                                  dtype=pair.torch_dtype)
    found += _reloaded_checks(torch, pair, x, dtype)
    found += _noncontiguous_check(torch, pair, x, dtype)
    return found


def _outputs(module, x, torch):
    return flat(module(x if isinstance(module, torch.nn.Module) else tr.tensor(x.numpy())), torch)[0]


def _reloaded_checks(torch, pair, x, dtype):
    found = []
    buf = io.BytesIO()
    tr.save(pair.ours.state_dict(), buf)
    buf.seek(0)
    again = type(pair.ours)(*_ctor(pair.ours), dtype=getattr(np, dtype))
    again.load_state_dict(tr.load(buf))
    expected = _outputs(pair.theirs, x, torch)
    for label, module in (("state_dict round trip", again), ("pickle", pickle.loads(pickle.dumps(pair.ours)))):
        diff = differ(expected, _outputs(module, x, torch), dtype)
        if diff:
            found.append(("other", f"{label}: {diff}"))
    other = "float32" if dtype == "float64" else "float64"
    moved_t = pair.theirs.to(getattr(torch, other))
    moved_o = pair.ours.to(getattr(np, other))
    diff = differ(_outputs(moved_t, x.to(getattr(torch, other)), torch),
                  _outputs(moved_o, x.to(getattr(torch, other)), torch), other)
    if diff:
        found.append(("other", f".to({other}): {diff}"))
    pair.theirs.to(pair.torch_dtype)
    pair.ours.to(getattr(np, dtype))
    return found


def _ctor(module):
    if isinstance(module, tr.nn.LSTM):
        return module.input_size, module.hidden_size, module.num_layers, module.bias, False, 0.0, True, module.proj_size
    if hasattr(module, "num_layers"):
        return module.input_size, module.hidden_size, module.num_layers, *(
            (module.nonlinearity,) if isinstance(module, tr.nn.RNN) else ()), module.bias, False, 0.0, True
    return module.input_size, module.hidden_size


def _noncontiguous_check(torch, pair, x, dtype):
    """The input as a strided view (every other element of a wider array), as torch's test_non_contiguous_tensors."""
    wide = torch.repeat_interleave(x, 2, dim=-1)
    strided_t = wide[..., ::2]
    strided_o = tr.tensor(wide.numpy())[..., ::2]
    diff = differ(flat(pair.theirs(strided_t), torch)[0], flat(pair.ours(strided_o), torch)[0], dtype)
    return [("other", f"non-contiguous input: {diff}")] if diff else []


def probe_module(torch, info, dtype, counts):
    """Every sample, error sample and module check of one ModuleInfo in one dtype: the findings printed, counted."""
    name = info.module_cls.__name__
    tdtype = getattr(torch, dtype)
    checked = 0
    for training in (True, False):
        extra = {"with_packed_sequence": True} if name in ("RNN", "GRU") else {}
        samples = list(info.module_inputs_func(info, device="cpu", dtype=tdtype, requires_grad=True, training=training,
                                               **extra)) + extra_samples(torch, name, dtype)
        for fused in ((True, False) if name in LAYERS else (None,)):
            for i, sample in enumerate(samples):
                checked += 1
                found = run_sample(torch, name, sample, dtype, training, fused)
                if found:
                    counts[found[0]] += 1
                    print(f"{found[0]:10s} {name} {dtype} train={training} fused={fused} sample {i} "
                          f"{sample.constructor_input.kwargs} {sample.desc}: {found[1]}")
    for err in info.module_error_inputs_func(info, device="cpu", dtype=tdtype, requires_grad=False, training=True):
        checked += 1
        found = run_error_sample(torch, name, err, dtype)
        if found:
            counts[found[0]] += 1
            print(f"{found[0]:10s} {name} {dtype} error sample {err.error_regex!r}: {found[1]}")
    for cls, what in module_checks(torch, name, dtype):
        counts[cls] += 1
        print(f"{cls:10s} {name} {dtype}: {what}")
    return checked + 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--modules", default=",".join(MODULES))
    args = ap.parse_args()
    import torch
    from torch.testing._internal.common_modules import module_db
    warnings.filterwarnings("ignore")
    wanted = args.modules.split(",")
    counts, checked = Counter(), 0
    for info in module_db:
        if info.module_cls.__name__ in wanted:
            for dtype in ("float32", "float64"):
                checked += probe_module(torch, info, dtype, counts)
    print(f"\n{checked} samples and module checks")
    for cls, n in counts.most_common():
        print(f"  {cls:10s} {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
