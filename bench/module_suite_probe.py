"""A differential audit of every tinygrad_rnn.nn module torch's ModuleInfo database describes.

For each ModuleInfo of torch.testing._internal.common_modules.module_db whose class tr.nn has, every float32 and
float64 CPU sample (module_inputs_func, in training and eval mode) is run by torch's module and by ours, built from
the same constructor arguments and holding torch's state_dict (load_state_dict). Compared: error or not; the
outputs' values, shapes and dtypes; which outputs require grad; the gradients of the sum of the outputs w.r.t. the
inputs and every parameter; the buffers after the forward (running statistics); the state_dict's keys and the
parameters' names and shapes; a call by torch's forward's parameter names (module(input=x, target=y)); and, on
each module's first sample, TestModule's pickle, non-contiguous input and .to(other dtype) checks. Then
every error sample (module_error_inputs_func): both must raise, ours of the type torch's test expects (its
error_type). The recurrent modules (RNN, GRU, LSTM and their cells) go through
bench/rnn_suite_probe.py's probe_module, which adds packed sequences, fused=True/False and TestModule's other checks.

Each difference is one line: the module, the dtype and mode, the sample's constructor arguments and description,
what differs. Classes:

  silent      we return something torch does not (other values, shape, dtype or buffers; or torch raises, ours not)
  grad        a gradient differs, is missing, an output's requires_grad differs, or our backward raises
  refused     we raise where torch works (in the constructor or the forward)
  error type  both raise, ours with an exception that is not of the type torch's test expects
  other       the state_dict's keys or the parameters' names and shapes differ, or a pickled copy, a non-contiguous
              input or .to(the other dtype) answers otherwise
  unclear     the probe could not compare (torch's own constructor failed on its sample, or an argument has no
              counterpart here: a float16 tensor)

Usage (torch's internals need the expecttest package, e.g. `pip install --target /tmp/pylib expecttest`):

    PYTHONPATH=$PWD:/tmp/pylib nice -n 19 .venv/bin/python bench/module_suite_probe.py [--modules Linear,GELU]
        [--no-recurrent] [--max-samples N]

It prints one line per finding and a table of counts per class. Not a test: it reads torch's internal test data.
"""
import argparse
import inspect
import pickle
import sys
import warnings
from collections import Counter

import numpy as np

import tinygrad_rnn as tr
from bench import rnn_suite_probe
from bench.module_probe_common import (
    Pair,
    build_ours,
    compare_run,
    convert,
    differ,
    flat,
    our_constructor_args,
)


def module_infos(torch):
    """The ModuleInfos of module_db whose class tr.nn has, and the names of those it lacks."""
    from torch.testing._internal.common_modules import module_db
    have = [info for info in module_db if hasattr(tr.nn, info.module_cls.__name__)]
    lack = sorted({info.module_cls.__name__ for info in module_db} - {i.module_cls.__name__ for i in have})
    return have, lack


def samples_of(torch, info, dtype, training, limit=None):
    """The ModuleInputs of one ModuleInfo in dtype (CPU, inputs requiring grad): at most limit of them, spread
    evenly over the list (its first and last among them)."""
    samples = list(info.module_inputs_func(info, device="cpu", dtype=getattr(torch, dtype), requires_grad=True,
                                           training=training))
    if limit is None or len(samples) <= limit:
        return samples
    if limit == 1:
        return samples[:1]
    return [samples[i] for i in sorted({round(k * (len(samples) - 1) / (limit - 1)) for k in range(limit)})]


def structure_differs(pair):
    """The state_dict's keys or the parameters' names and shapes where ours differ from torch's, or None."""
    t_keys, o_keys = list(pair.theirs.state_dict()), list(pair.ours.state_dict())
    if t_keys != o_keys:
        return f"state_dict keys {o_keys}, torch {t_keys}"
    t_named = [(k, tuple(v.shape)) for k, v in pair.theirs.named_parameters()]
    o_named = [(k, tuple(v.shape)) for k, v in pair.ours.named_parameters()]
    return None if t_named == o_named else f"named_parameters {o_named}, torch {t_named}"


def buffers_differ(pair, dtype):
    """The buffers after a forward (BatchNorm's running statistics and count), or None."""
    t_bufs = dict(pair.theirs.named_buffers())
    o_bufs = dict(pair.ours.named_buffers())
    if sorted(t_bufs) != sorted(o_bufs):
        return f"buffers {sorted(o_bufs)}, torch {sorted(t_bufs)}"
    names = sorted(t_bufs)
    return differ([t_bufs[k].detach().numpy() for k in names], [np.asarray(o_bufs[k].numpy()) for k in names],
                  dtype, what="buffer")


def unconvertible(torch, cons, forward):
    """Why torch's arguments have no counterpart here (a float16 tensor: this library has float32 and float64
    only), or None."""
    try:
        our_constructor_args((cons.args, cons.kwargs), torch)
        if forward is not None:   # (a construction error's sample may have no forward input)
            convert((tuple(forward.args), dict(forward.kwargs)), torch, [])
    except Exception as e:   # noqa: BLE001
        return f"an argument has no counterpart here: {type(e).__name__}: {str(e)[:100]}"
    return None


def build_pair(torch, name, sample, dtype):
    """(Pair, None), or (None, (class, what)) when a constructor or the state_dict's loading fails."""
    cons = sample.constructor_input
    torch.manual_seed(0)
    try:
        getattr(torch.nn, name)(*cons.args, **cons.kwargs)
    except Exception as e:   # noqa: BLE001  (a probe: every failure is a finding)
        return None, ("unclear", f"torch's constructor raised {type(e).__name__}: {str(e)[:100]}")
    unclear = unconvertible(torch, cons, sample.forward_input)
    if unclear:
        return None, ("unclear", unclear)
    try:
        build_ours(name, cons.args, cons.kwargs, dtype, torch)
    except Exception as e:   # noqa: BLE001
        return None, ("refused", f"constructor: {type(e).__name__}: {str(e)[:120]}")
    torch.manual_seed(0)
    try:
        return Pair(torch, name, cons.args, cons.kwargs, dtype), None
    except Exception as e:   # noqa: BLE001
        return None, ("other", f"load_state_dict: {type(e).__name__}: {str(e)[:120]}")


def run_sample(torch, name, sample, dtype, training):
    """One ModuleInput through both modules: (class, what) of a difference, or None."""
    pair, found = build_pair(torch, name, sample, dtype)
    if found:
        return found
    diff = structure_differs(pair)
    if diff:
        return "other", diff
    return compare_run(torch, pair, sample, dtype, training, also=lambda p: buffers_differ(p, dtype))


def keyword_call_differs(torch, name, sample, dtype):
    """The sample's positional forward arguments passed by torch's parameter names (module(input=x, target=y), as
    torch code may call it): (class, what) where ours refuses it or answers otherwise, or None."""
    params = list(inspect.signature(getattr(torch.nn, name).forward).parameters.values())[1:]
    args = tuple(sample.forward_input.args)
    if not args or len(args) > len(params) or any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        return None
    pair, found = build_pair(torch, name, sample, dtype)
    if found:
        return None
    pair.theirs.eval()
    pair.ours.eval()
    t_args, o_args = convert(args, torch, [])
    t_kwargs, o_kwargs = convert(dict(sample.forward_input.kwargs), torch, [])
    try:
        t_out = pair.theirs(*t_args, **t_kwargs)
    except Exception:   # noqa: BLE001
        return None
    keywords = dict(zip([p.name for p in params], o_args))
    try:
        o_out = pair.ours(**keywords, **o_kwargs)
    except Exception as e:   # noqa: BLE001
        return "refused", f"called by keyword ({'=, '.join(keywords)}=): {type(e).__name__}: {str(e)[:100]}"
    diff = differ(flat(t_out, torch)[0], flat(o_out, torch)[0], dtype)
    return None if diff is None else ("silent", f"called by keyword: {diff}")


def module_checks(torch, name, sample, dtype):
    """TestModule's checks beyond the samples, on one sample: a pickled copy of ours, and non-contiguous inputs
    (each tensor argument a strided view), answer as torch's module does; and both cast .to() the other dtype
    (their float inputs too) still agree. A list of (class, what)."""
    pair, found = build_pair(torch, name, sample, dtype)
    if found:
        return []
    pair.theirs.eval()
    pair.ours.eval()
    args, kwargs = tuple(sample.forward_input.args), dict(sample.forward_input.kwargs)
    try:
        expected = flat(pair.theirs(*convert(args, torch, [])[0], **convert(kwargs, torch, [])[0]), torch)[0]
    except Exception:   # noqa: BLE001  (torch refuses it: nothing to compare)
        return []
    found = _outcome_differs("pickle", expected, lambda: pickle.loads(pickle.dumps(pair.ours))(
        *convert(args, torch, [])[1], **convert(kwargs, torch, [])[1]), dtype)
    found += _outcome_differs("non-contiguous input", expected, lambda: pair.ours(
        *_strided(args, torch), **_strided(kwargs, torch)), dtype)
    other = "float32" if dtype == "float64" else "float64"
    a, k = _cast(args, torch, other), _cast(kwargs, torch, other)
    try:
        moved = flat(pair.theirs.to(getattr(torch, other))(*convert(a, torch, [])[0], **convert(k, torch, [])[0]),
                     torch)[0]
    except Exception:   # noqa: BLE001
        return found
    moved_ours = pair.ours.to(getattr(np, other))
    return found + _outcome_differs(f".to({other})", moved, lambda: moved_ours(*convert(a, torch, [])[1],
                                                                               **convert(k, torch, [])[1]), other)


def _outcome_differs(label, expected, call, dtype):
    """[(class, what)] where call() raises or answers other than expected (torch's flat output), else []."""
    try:
        diff = differ(expected, _flat_ours(call()), dtype)
    except Exception as e:   # noqa: BLE001
        return [("other", f"{label}: {type(e).__name__}: {str(e)[:100]}")]
    return [("other", f"{label}: {diff}")] if diff else []


def _flat_ours(out):
    if out is None:
        return [None]
    if isinstance(out, (list, tuple)):
        return [v for o in out for v in _flat_ours(o)]
    return [np.asarray(out.detach().numpy())]


def _strided(obj, torch):
    """torch's argument as ours, each tensor a non-contiguous view of its values (every other element of an array
    whose last dim is doubled), as torch's test_non_contiguous_tensors."""
    if isinstance(obj, torch.Tensor):
        if obj.ndim == 0 or obj.numel() == 0:
            return tr.tensor(obj.detach().numpy().copy())
        return tr.tensor(torch.repeat_interleave(obj.detach(), 2, dim=-1).numpy())[..., ::2]
    if isinstance(obj, (list, tuple)):
        return type(obj)(_strided(o, torch) for o in obj)
    if isinstance(obj, dict):
        return {k: _strided(v, torch) for k, v in obj.items()}
    return obj


def _cast(obj, torch, dtype):
    """Every float tensor in dtype."""
    if isinstance(obj, torch.Tensor) and obj.is_floating_point():
        return obj.detach().to(getattr(torch, dtype)).requires_grad_(obj.requires_grad)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_cast(o, torch, dtype) for o in obj)
    if isinstance(obj, dict):
        return {k: _cast(v, torch, dtype) for k, v in obj.items()}
    return obj


def run_error_sample(torch, name, err, dtype):
    """One ErrorModuleInput: ours must raise an error of the type torch's test expects."""
    sample = err.module_error_input
    cons = sample.constructor_input
    unclear = unconvertible(torch, cons, sample.forward_input)
    if unclear:
        return "unclear", unclear
    try:
        ours = build_ours(name, cons.args, cons.kwargs, dtype, torch)
        if err.error_on.name == "CONSTRUCTION_ERROR":
            return "silent", "construction runs, torch raises"
        _, o_args = convert(tuple(sample.forward_input.args), torch, [])
        _, o_kwargs = convert(dict(sample.forward_input.kwargs), torch, [])
        ours(*o_args, **o_kwargs)
    except Exception as e:   # noqa: BLE001
        if isinstance(e, err.error_type):
            return None
        return "error type", f"{type(e).__name__} (torch's test expects {err.error_type.__name__}): {str(e)[:100]}"
    return "silent", f"runs; torch raises {err.error_type.__name__}"


def findings(torch, info, dtype, max_samples=None):
    """Every (line, class) of one non-recurrent ModuleInfo in one dtype, and how many cases were run."""
    name = info.module_cls.__name__
    found, checked = [], 0
    for training in (True, False):
        for i, sample in enumerate(samples_of(torch, info, dtype, training, max_samples)):
            checked += 1
            result = run_sample(torch, name, sample, dtype, training)
            if result:
                found.append((result[0], f"{name} {dtype} train={training} sample {i} "
                                          f"{sample.constructor_input.kwargs} {sample.desc}: {result[1]}"))
    samples = samples_of(torch, info, dtype, False, 1)
    if samples:
        checked += 1
        result = keyword_call_differs(torch, name, samples[0], dtype)
        if result:
            found.append((result[0], f"{name} {dtype}: {result[1]}"))
        checked += 1
        found += [(cls, f"{name} {dtype}: {what}") for cls, what in module_checks(torch, name, samples[0], dtype)]
    errors = info.module_error_inputs_func(info, device="cpu", dtype=getattr(torch, dtype), requires_grad=False,
                                           training=True) if info.module_error_inputs_func else []
    for err in errors:
        checked += 1
        result = run_error_sample(torch, name, err, dtype)
        if result:
            found.append((result[0], f"{name} {dtype} error sample {err.error_regex!r}: {result[1]}"))
    return found, checked


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--modules", default="", help="comma-separated class names (default: every one tr.nn has)")
    ap.add_argument("--no-recurrent", action="store_true", help="leave out what bench/rnn_suite_probe.py audits")
    ap.add_argument("--max-samples", type=int, default=None, help="samples per module, dtype and mode")
    args = ap.parse_args()
    import torch
    warnings.filterwarnings("ignore")
    have, lack = module_infos(torch)
    wanted = set(args.modules.split(",")) if args.modules else {i.module_cls.__name__ for i in have}
    counts, checked = Counter(), 0
    for info in have:
        name = info.module_cls.__name__
        if name not in wanted or (args.no_recurrent and name in rnn_suite_probe.MODULES):
            continue
        for dtype in ("float32", "float64"):
            if name in rnn_suite_probe.MODULES:
                checked += rnn_suite_probe.probe_module(torch, info, dtype, counts)
                continue
            found, n = findings(torch, info, dtype, args.max_samples)
            checked += n
            for cls, line in found:
                counts[cls] += 1
                print(f"{cls:10s} {line}")
    print(f"\n{checked} samples and checks; module_db classes tr.nn lacks (not audited): {', '.join(lack)}")
    for cls, n in counts.most_common():
        print(f"  {cls:10s} {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
