"""A differential audit of tinygrad_rnn's Tensor API against torch's own OpInfo database.

For every OpInfo of torch.testing._internal.common_methods_invocations.op_db whose name exists here (as
`tr.<name>`, `tr.nn.functional.<name>`, `tr.linalg.<name>`, `tr.special.<name>` or a Tensor method or attribute),
the float32 and float64 CPU samples (SampleInput: input, args, kwargs) are converted to tinygrad_rnn Tensors
(complex, other integer dtypes and sparse samples skipped) and run by both; the outputs pass through the sample's
output_process_fn_grad (abs() of eigenvectors: their signs are arbitrary). Compared: error or not, the outputs'
values, shapes and dtypes, and the gradients of the sum of the float outputs w.r.t. the float inputs that require
grad. Each difference is classed:

  silent      we return something torch does not (other values, shape or dtype, or torch raises and we do not)
  grad        a gradient differs, is missing, or our backward raises where torch's runs
  unclear     we raise where torch works, from inside numpy/numba or an unguarded line (not a `raise` of ours)
  refused     we raise where torch works, with an error of our own
  error type  both raise, with different exception types

Usage (torch's internals need the expecttest package, e.g. `pip install --target /tmp/pylib expecttest`):

    PYTHONPATH=$PWD:/tmp/pylib nice -n 19 .venv/bin/python bench/opinfo_probe.py [--ops add,mul] [--max-samples 40]
        [--json findings.json]

It prints one line per finding and a table of counts per class. Not a test: it reads torch's internal test data.
"""
import argparse
import json
import os
import sys
import traceback
import types
import warnings
from collections import Counter, defaultdict

import numpy as np

import tinygrad_rnn as tr
import tinygrad_rnn.nn.functional as F

# random or stateful samplers: their values cannot be compared with torch's
# (and the uninitialized memory of empty(): any values)
RANDOM = {"randn", "multinomial", "nn.functional.dropout", "bernoulli", "normal", "rand", "randint", "rand_like",
          "randn_like", "randint_like", "empty", "empty_like", "new_empty", "new_empty_strided", "empty_strided",
          "empty_permuted"}
RANDOM_IN_TRAINING = {"nn.functional.rrelu"}
DTYPES = {"float32": np.float32, "float64": np.float64, "int64": np.int64, "bool": np.bool_}
TOLERANCES = {"float32": (1e-4, 1e-5), "float64": (1e-9, 1e-12)}


class Skip(Exception):
    """A sample that has no counterpart here (a complex, int32 or sparse tensor, a device object...)."""


class _TorchAsOurs:
    """`torch` as the OpInfo's own lambdas see it (lambda self, idx: torch.nn.functional.embedding(idx, self)),
    rebound to tinygrad_rnn: tr's function of that name, or else the Tensor method (torch.zero_(x))."""

    def __getattr__(self, name):
        if hasattr(tr, name):
            return getattr(tr, name)
        return lambda x, *args, **kwargs: getattr(x, name)(*args, **kwargs)


def _our_callable(op):
    """(kind, our function or method name) for an OpInfo, or None if the name does not exist here. An OpInfo
    whose op is a lambda (arguments reordered, a method called on a clone) runs that lambda with `torch` bound to
    tinygrad_rnn."""
    name = op.name
    if _exists_here(name) and getattr(op.op, "__name__", "") == "<lambda>":
        code = op.op
        return "function", types.FunctionType(code.__code__, {**code.__globals__, "torch": _TorchAsOurs()},
                                              code.__name__, code.__defaults__, code.__closure__)
    if "." in name:
        f = _namespaced(name)
        return ("function", f) if f is not None else None
    if name.startswith("__") or not callable(getattr(tr, name, None)):
        return ("method", name) if hasattr(tr.Tensor, name) else None
    return "function", getattr(tr, name)


# torch's namespaces that have a counterpart here: OpInfo names "nn.functional.relu", "linalg.det", "special.i0e"
NAMESPACES = {"nn.functional": F, "linalg": tr.linalg, "special": tr.special}


def _namespaced(name):
    """Our function for a dotted OpInfo name, or None: only a public function defined in that namespace (not a
    name it merely imports, such as tr.linalg's `np`)."""
    namespace, _, short = name.rpartition(".")
    module = NAMESPACES.get(namespace)
    f = getattr(module, short, None) if module is not None and not short.startswith("_") else None
    return f if callable(f) and not isinstance(f, type) and f is not getattr(np, short, None) else None


def _exists_here(name):
    if "." in name:
        return _namespaced(name) is not None
    return hasattr(tr, name) or hasattr(tr.Tensor, name)


def _convert(obj, torch, leaves):
    """A torch sample argument as ours: tensors become fresh leaves (the pair noted in leaves), dtypes ours."""
    if isinstance(obj, torch.Tensor):
        return _convert_tensor(obj, torch, leaves)
    if isinstance(obj, torch.dtype):
        kind = str(obj).replace("torch.", "")
        if kind not in DTYPES:
            raise Skip(kind)
        return obj, getattr(tr, kind)
    if isinstance(obj, (torch.device, torch.layout, torch.memory_format)):
        raise Skip(type(obj).__name__)
    if isinstance(obj, torch.Size):
        return obj, tuple(obj)
    if isinstance(obj, (list, tuple)):
        pairs = [_convert(o, torch, leaves) for o in obj]
        return type(obj)(p[0] for p in pairs), type(obj)(p[1] for p in pairs)
    if isinstance(obj, dict):
        pairs = {k: _convert(v, torch, leaves) for k, v in obj.items()}
        return {k: p[0] for k, p in pairs.items()}, {k: p[1] for k, p in pairs.items()}
    if callable(obj):
        raise Skip("callable argument")
    return obj, obj


def _convert_tensor(obj, torch, leaves):
    if obj.is_sparse or obj.layout != torch.strided:
        raise Skip("sparse")
    kind = str(obj.dtype).replace("torch.", "")
    if kind not in DTYPES:
        raise Skip(kind)
    theirs = obj.detach().clone().requires_grad_(obj.requires_grad)
    ours = tr.tensor(theirs.detach().numpy().copy(), requires_grad=obj.requires_grad)
    leaves.append((theirs, ours))
    return theirs, ours


def _flat(out, torch):
    """An output as a list of numpy arrays / numbers, and the tensors among them (for the gradient's sum)."""
    if isinstance(out, (list, tuple)):
        items = [_flat(o, torch) for o in out]
        return [v for i in items for v in i[0]], [t for i in items for t in i[1]]
    if isinstance(out, torch.Tensor):
        return [out.detach().numpy()], [out]
    if isinstance(out, tr.Tensor):
        return [out.detach().numpy()], [out]
    return [out], []


def _where(exc):
    """'refused' for an exception our own code raised on purpose, else 'unclear' (numpy/numba or an unguarded
    line deep in the engine), and the place it came from."""
    frames = traceback.extract_tb(exc.__traceback__)
    last = frames[-1] if frames else None
    ours = last is not None and os.sep + "tinygrad_rnn" + os.sep in last.filename
    guarded = ours and last.line is not None and "raise" in last.line
    if not ours and isinstance(exc, TypeError) and "unexpected keyword argument" in str(exc):
        return "refused", "the call (an argument not accepted)"
    place = f"{os.path.basename(last.filename)}:{last.lineno}" if last else "?"
    return ("refused" if guarded else "unclear"), place


def _compare_values(theirs, ours, dtype):
    """A description of the first difference between two flat outputs, or None."""
    if len(theirs) != len(ours):
        return f"{len(ours)} outputs, torch {len(theirs)}"
    rtol, atol = TOLERANCES[dtype]
    for i, (t, o) in enumerate(zip(theirs, ours)):
        if isinstance(t, np.ndarray) or isinstance(o, np.ndarray):
            t, o = np.asarray(t), np.asarray(o)
            if t.shape != o.shape:
                return f"output {i}: shape {o.shape}, torch {t.shape}"
            if t.dtype != o.dtype:
                return f"output {i}: dtype {o.dtype}, torch {t.dtype}"
            if t.dtype.kind == "f":
                close = np.allclose(o, t, rtol=rtol, atol=atol, equal_nan=True)
            else:
                close = np.array_equal(o, t)
            if not close:
                return f"output {i}: values differ (max abs diff {_maxdiff(o, t)})"
        elif type(t) is not type(o) and not (isinstance(t, (int, float)) and isinstance(o, (int, float))):
            return f"output {i}: {type(o).__name__}, torch {type(t).__name__}"
        elif t != o and not (t != t and o != o):
            return f"output {i}: {o!r}, torch {t!r}"
    return None


def _maxdiff(o, t):
    with np.errstate(invalid="ignore"):
        d = np.abs(o.astype(np.float64) - t.astype(np.float64))
    return float(np.nanmax(d)) if d.size and not np.all(np.isnan(d)) else "nan"


def _compare_grads(t_tensors, o_tensors, leaves, dtype, torch):
    """The gradients of the sum of the float outputs w.r.t. the leaves that require grad: a difference, or None."""
    wanted = [(t, o) for t, o in leaves if t.requires_grad]
    t_outs = [t for t in t_tensors if t.dtype.is_floating_point and t.requires_grad]
    if not wanted or not t_outs:
        return None
    t_grads = torch.autograd.grad(sum(t.sum() for t in t_outs), [t for t, _ in wanted], allow_unused=True)
    o_outs = [o for o in o_tensors if o.dtype in (np.float32, np.float64) and o.requires_grad]
    if len(o_outs) != len(t_outs):
        return f"{len(o_outs)} outputs require grad, torch {len(t_outs)}"
    loss = o_outs[0].sum()
    for o in o_outs[1:]:
        loss = loss + o.sum()
    try:
        loss.backward()
    except Exception as e:   # noqa: BLE001  (a probe: every failure is a finding)
        return f"backward raised {type(e).__name__}: {str(e)[:120]}"
    for i, ((_, o), tg) in enumerate(zip(wanted, t_grads)):
        diff = _grad_difference(None if o.grad is None else o.grad.numpy(),
                                None if tg is None else tg.numpy(force=True), dtype)
        if diff is not None:
            return f"input {i}: {diff}"
    return None


def _grad_difference(og, tg, dtype):
    """How our gradient og differs from torch's tg (None: no gradient, the same as zeros), or None."""
    if tg is None or og is None:
        given = og if tg is None else tg
        if given is not None and np.any(given != 0):
            return "a gradient where torch has none" if tg is None else "no gradient, torch's is nonzero"
        return None
    if og.shape != tg.shape:
        return f"gradient of shape {og.shape}, torch {tg.shape}"
    rtol, atol = TOLERANCES[dtype]
    if not np.allclose(og, tg, rtol=rtol * 10, atol=atol * 10, equal_nan=True):
        return f"gradient differs (max abs diff {_maxdiff(og, tg)})"
    return None


def _run_ours(kind, fn, inp, args, kwargs):
    if kind == "function":
        return fn(inp, *args, **kwargs)
    attr = getattr(inp, fn)
    return attr(*args, **kwargs) if callable(attr) else attr


def _variants(op, ours):
    """(label suffix, our kind, our callable, torch's callable, grad mode) per variant probed: the function (or the
    op's lambda), the method when ours is a function too, and the in-place method (x.add_), under no_grad()."""
    kind, fn = ours
    out = [("", kind, fn, op.op, True)]
    name = op.name
    if kind == "function" and op.method_variant is not None and hasattr(tr.Tensor, name) and "." not in name:
        out.append((".method", "method", name, op.method_variant, True))
    if op.inplace_variant is not None and hasattr(tr.Tensor, name + "_") and "." not in name:
        out.append((".inplace", "method", name + "_", op.inplace_variant, False))
    return out


def _probe_sample(variant, sample, dtype, torch):
    """One sample: (class, detail) of a difference, or None; Skip for a sample that has no counterpart here."""
    _, kind, fn, theirs, grad_mode = variant
    with torch.set_grad_enabled(grad_mode), tr.set_grad_enabled(grad_mode):
        return _probe_in_mode(kind, fn, theirs, sample, dtype, torch)


def _probe_in_mode(kind, fn, theirs, sample, dtype, torch):
    leaves = []
    t_inp, o_inp = _convert(sample.input, torch, leaves)
    t_args, o_args = _convert(tuple(sample.args), torch, leaves)
    t_kwargs, o_kwargs = _convert(dict(sample.kwargs), torch, leaves)
    if "out" in t_kwargs:
        raise Skip("out=")
    if t_kwargs.get("dropout_p", 0) > 0:
        raise Skip("dropout_p > 0 (random)")
    t_out, t_exc = _outcome(lambda: theirs(t_inp, *t_args, **t_kwargs))
    o_out, o_exc = _outcome(lambda: _run_ours(kind, fn, o_inp, o_args, o_kwargs))
    if t_exc is not None and o_exc is not None:
        if type(t_exc) is not type(o_exc) and not isinstance(o_exc, type(t_exc)):
            return "error type", f"{type(o_exc).__name__}, torch {type(t_exc).__name__}: {str(t_exc)[:80]}"
        return None
    if t_exc is not None:
        return "silent", f"torch raises {type(t_exc).__name__}: {str(t_exc)[:100]}"
    if o_exc is not None:
        cls, place = _where(o_exc)
        return cls, f"{type(o_exc).__name__} at {place}: {str(o_exc)[:120]}"
    # the OpInfo's own view of the outputs it tests (abs() of eigenvectors and singular vectors, whose signs are
    # arbitrary; the identity for most): plain methods and indexing, so it runs on our outputs as well
    t_out, o_out = sample.output_process_fn_grad(t_out), sample.output_process_fn_grad(o_out)
    t_flat, t_tensors = _flat(t_out, torch)
    o_flat, o_tensors = _flat(o_out, torch)
    diff = _compare_values(t_flat, o_flat, dtype)
    if diff is not None:
        return "silent", diff
    if not torch.is_grad_enabled():   # (an in-place variant, run under no_grad())
        return None
    diff = _compare_grads(t_tensors, o_tensors, leaves, dtype, torch)
    return ("grad", diff) if diff is not None else None


def _outcome(call):
    """(result, None) or (None, the exception raised)."""
    try:
        return call(), None
    except Exception as e:   # noqa: BLE001  (a probe: every failure is compared)
        return None, e


def _describe(sample, torch):
    def short(x):
        if isinstance(x, torch.Tensor):
            return f"T{tuple(x.shape)}:{str(x.dtype)[6:]}"
        if isinstance(x, (list, tuple)):
            return "[" + ", ".join(short(v) for v in x) + "]"
        return repr(x)[:40]
    kw = ", ".join(f"{k}={short(v)}" for k, v in sample.kwargs.items())
    return f"{short(sample.input)}, args={short(list(sample.args))}" + (f", {kw}" if kw else "")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ops", help="comma-separated OpInfo names (default: every one that exists here)")
    parser.add_argument("--max-samples", type=int, default=40, help="samples per op and dtype")
    parser.add_argument("--json", help="write the findings to this file")
    opts = parser.parse_args()
    import torch
    from torch.testing._internal.common_methods_invocations import op_db

    warnings.simplefilter("ignore")
    np.seterr(all="ignore")
    wanted = set(opts.ops.split(",")) if opts.ops else None
    findings, compared, skipped = [], Counter(), Counter()
    for op in op_db:
        if (wanted and op.name not in wanted) or op.name in RANDOM:
            continue
        ours = _our_callable(op)
        if ours is None:
            continue
        for variant in _variants(op, ours):
            _probe_op(op, variant, opts, torch, findings, compared, skipped)
    _report(findings, compared, skipped)
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump(findings, f, indent=1)


def _probe_op(op, variant, opts, torch, findings, compared, skipped):
    """Every float32 and float64 sample of one op's variant: the findings and counts appended."""
    label = op.name + (f".{op.variant_test_name}" if op.variant_test_name else "") + variant[0]
    for dtype in ("float32", "float64"):
        if getattr(torch, dtype) not in op.supported_dtypes("cpu"):
            continue
        try:
            samples = list(op.sample_inputs("cpu", getattr(torch, dtype), requires_grad=op.supports_autograd))
        except Exception as e:   # noqa: BLE001
            skipped[f"sample_inputs raised {type(e).__name__}"] += 1
            continue
        for sample in samples[:opts.max_samples]:
            if op.name in RANDOM_IN_TRAINING and sample.kwargs.get("training"):
                skipped["random in training"] += 1
                continue
            try:
                result = _probe_sample(variant, sample, dtype, torch)
            except Skip as s:
                skipped[str(s)] += 1
                continue
            except Exception as e:   # noqa: BLE001  (torch's backward, or the comparison itself)
                result = "probe", f"{type(e).__name__}: {str(e)[:120]}"
            compared[label] += 1
            if result is not None:
                findings.append({"op": label, "dtype": dtype, "class": result[0], "detail": result[1],
                                 "sample": _describe(sample, torch)})


def _report(findings, compared, skipped):
    by_op = defaultdict(list)
    for f in findings:
        by_op[(f["class"], f["op"])].append(f)
    for (cls, op), fs in sorted(by_op.items()):
        f = fs[0]
        print(f"{cls:10s} {op:40s} x{len(fs):<3d} [{f['dtype']}] {f['detail']}  <- {f['sample']}")
    print(f"\nops compared: {len(compared)}, samples: {sum(compared.values())}, skipped samples: "
          f"{sum(skipped.values())} ({dict(skipped.most_common(6))})")
    counts = Counter(f["class"] for f in findings)
    ops = Counter(cls for cls, _ in by_op)
    print("| class | samples | ops |\n|---|---|---|")
    for cls in ("silent", "grad", "unclear", "refused", "error type", "probe"):
        print(f"| {cls} | {counts[cls]} | {ops[cls]} |")


if __name__ == "__main__":
    sys.exit(main())
