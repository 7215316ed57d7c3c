"""What the whole suite shares (tests/README.md maps the features to their tests).

  * the hypothesis profiles: HYPOTHESIS_PROFILE=ci (the default) or thorough;
  * REPO, the repository's root, put on sys.path so that `import bench` works from every test folder;
  * the `rng` fixture, a seeded numpy Generator; `split_everything`, every thread split forced;
  * small helpers the test modules import by name (`from conftest import leaf`; `outcome`, a call's
    result or its exception type, for the audits against torch): pytest puts this
    folder on sys.path before it collects the tests below it.
"""
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

# "ci": bounded examples so `make test` stays within minutes on 2 cores; no deadline, because a
# Numba kernel's first call compiles. "thorough": the same tests searching harder. ci derandomizes:
# each test's examples are drawn from a seed made from its source, so editing a test's body draws others.
settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("thorough", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _leave_the_process_group():
    """A test that joined a process group (an example's init_distributed, docs/distributed.md's page) leaves it
    after, so that the next one may join as a new process would: a second init_process_group() is refused, here as
    in torch, and before this a docs page run after the examples failed with 'already called'."""
    yield
    if tr.distributed.is_initialized():
        tr.distributed.destroy_process_group()


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def split_everything(monkeypatch):
    """The kernels split work over threads even on tiny problems (their size thresholds off), so a test
    that sets tr.set_num_threads(n) reaches every thread path; the thread count is restored afterwards."""
    from tinygrad_rnn.kernels import blas, runtime
    before = blas.num_threads()
    monkeypatch.setattr(runtime, "PARALLEL_MIN_MACS", 0)
    monkeypatch.setattr(runtime, "MIN_ROWS_PER_THREAD", 1)
    yield
    tr.set_num_threads(before)


# ----------------------------------------------------------------------------- tensors
def leaf(a, dtype=np.float64):
    """A leaf Tensor that requires grad (float64 by default: what finite differences need)."""
    return tr.Tensor(np.array(a, dtype=dtype), requires_grad=True)


def T(*shape, dtype=np.float32):
    """A Tensor of ones: the input of tests where only its shape and dtype matter (bad-input checks)."""
    return tr.Tensor(np.ones(shape, dtype=dtype))


# ----------------------------------------------------------------------------- fuzzing the public API
# Drawn calls either give the right result or raise a clean ValueError/TypeError, or IndexError where
# torch raises one (an out-of-range class index or embedding row) (tests/nn/test_checks.py,
# tests/engine/test_tensor_basics.py).
DTYPES = [np.float32, np.float64, np.float16, np.int64, np.bool_]


def clean(fn):
    """fn() or None if it raised ValueError/TypeError (or IndexError, torch's type for a dim out of range, a
    class index or an embedding row out of range); any other exception propagates (fails)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                return fn()
    except (ValueError, TypeError, IndexError):
        return None


def arrays(draw, shape, dtype):
    """An array of the shape and dtype from drawn values, sometimes with an inf, nan or 0 first."""
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    a = rng.standard_normal(shape) * 2
    if draw(st.booleans()) and a.size:
        a.flat[0] = draw(st.sampled_from([np.inf, -np.inf, np.nan, 0.0]))
    return a.astype(dtype) if np.dtype(dtype).kind in "fc" else np.nan_to_num(a).astype(dtype)


# For a driver script run in a fresh process (tests/kernels/test_compile_worker*.py): after the one
# generated kernel module ran, `compiled` = {function: [type, signatures, Numba cache hits, misses]},
# which says where each function's machine code came from (a miss is a compile in that process).
COMPILED_FUNCTIONS = """(kernel,) = node._cache.values()
compiled = {}
for name in ("project", "forward", "backward", "grads"):
    fn = getattr(kernel.module, name)
    compiled[name] = [type(fn).__name__, len(fn.signatures), sum(fn.stats.cache_hits.values()),
                      sum(fn.stats.cache_misses.values())]
"""


def run_cold_on_one_cpu(code, cache_dir):
    """Run `code` in a fresh interpreter pinned to one CPU (so every kernel is compiled in that process, no
    compile worker) with an empty kernel cache at cache_dir; return its stdout's lines. For tests that read
    the machine code a cold compile makes (which functions it defines, which names it calls)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(tr.__file__)))
    env = dict(os.environ, PYTHONPATH=root, TINYGRAD_RNN_CACHE=str(cache_dir))
    pin = f"import os; os.sched_setaffinity(0, {{{min(os.sched_getaffinity(0))}}})\n"
    run = subprocess.run([sys.executable, "-c", pin + code], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout.strip().splitlines()


def outcome(call):
    """(the result as a numpy array, its dtype's name) or the type of the exception call() raised."""
    try:
        out = call()
    except Exception as e:  # noqa: BLE001 - the type is the outcome compared
        return type(e)
    arr = out.detach().numpy() if hasattr(out, "detach") else np.asarray(out)
    return arr, str(out.dtype).replace("torch.", "")


def torch_error(call):
    """The exception torch's call raised (its warnings silenced); an AssertionError if it raised none."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call()
    except Exception as e:  # noqa: BLE001 (torch's error, whatever it is, is what ours must also be)
        return e
    raise AssertionError("torch did not raise")


def raises_as_torch(torch_call, our_call, words=None):
    """Ours raises an instance of the exception type torch raises (so torch code's `except` catches it), in words
    that match `words` (a regex) when given."""
    expected = type(torch_error(torch_call))
    with pytest.raises(expected, match=words):
        our_call()
