"""The kernels wherever they are installed: no writable cache location, Numba's cache files damaged,
NUMBA_DISABLE_JIT=1. Each case runs in its own Python process (the cache is read at import and at a
kernel's first call), where a tiny fused layer's forward (and backward) is held against the tape's.
Each cold compile of the kernels costs seconds, so the cache cases run the forward only."""
import importlib.util
import json
import os
import pathlib
import pickle
import shutil
import subprocess
import sys

import numba
import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn import kernels

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(tr.__file__)))

# Runs the layers named in argv[1] fused (or compiled: "compiled GRUCell") and on the tape, float64,
# padded lengths, both directions, forward (and backward if argv[2] says so); prints what ran, every
# number, and every warning raised from the import on.
LAYERS = r"""
import json, sys, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import numpy as np
    import tinygrad_rnn as tr
    from tinygrad_rnn.compile import node
    calls = []   # one per fused node run: what each direction's kernels ran for
    forward = node.CompiledRecurrence.forward
    node.CompiledRecurrence.forward = staticmethod(
        lambda *args, call, **kw: calls.append(repr(call)) or forward(*args, call=call, **kw))
    results = {}
    for name in sys.argv[1].split(","):
        for use_fused in (True, False):
            tr.manual_seed(0)
            if name.startswith("compiled "):   # a generated kernel (tinygrad_rnn.compile) or the tape
                layer = tr.nn.Recurrent(getattr(tr.nn, name.split()[1]), 3, 4, bidirectional=True, dtype=np.float64)
                layer.compile = use_fused
            else:
                layer = getattr(tr.nn, name)(3, 4, bidirectional=True, dtype=np.float64, fused=use_fused)
            x = tr.Tensor(np.random.default_rng(0).standard_normal((5, 2, 3)), requires_grad=True)
            out, _ = layer(x, lengths=[5, 3])
            results[f"{name} fused={use_fused}"] = [out.data.tolist()]
            if sys.argv[2] == "backward":
                (out * out).sum().backward()
                grads = [x.grad] + [p.grad for p in layer.parameters()]
                results[f"{name} fused={use_fused}"] += [g.tolist() for g in grads]
print(json.dumps({"package": tr.__file__, "fused_calls": calls, "results": results,
                  "warnings": [[w.category.__name__, str(w.message)] for w in caught]}))
"""


def run_layers(names, env_changes, path=ROOT, backward=False):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(env_changes, PYTHONPATH=path)
    command = [sys.executable, "-c", LAYERS, names, "backward" if backward else "forward"]
    proc = subprocess.run(command, env=env, cwd=path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["package"].startswith(path)
    return report


def assert_fused_matches_tape(report, names):
    assert len(report["fused_calls"]) == 2 * len(names.split(","))   # each direction ran the kernels
    for name in names.split(","):
        fused, tape = report["results"][f"{name} fused=True"], report["results"][f"{name} fused=False"]
        for a, b in zip(fused, tape):
            np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-10, atol=1e-12)


def cache_warnings(report):
    return [message for category, message in report["warnings"] if category == "KernelCacheWarning"]


def test_import_without_any_writable_cache_location_compiles_in_memory(tmp_path):
    """A read-only install, a HOME that cannot be written, an unusable NUMBA_CACHE_DIR. Running as root
    ignores permission bits, so each location is made impossible instead: a path under a regular file
    never becomes a directory, and a regular file named __pycache__ blocks the package's own."""
    site = tmp_path / "site"
    shutil.copytree(os.path.join(ROOT, "tinygrad_rnn"), site / "tinygrad_rnn",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for directory, _, _ in os.walk(site / "tinygrad_rnn"):
        open(os.path.join(directory, "__pycache__"), "w").close()
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    report = run_layers("RNN", {"HOME": str(blocker / "home"), "XDG_CACHE_HOME": str(blocker / "cache"),
                                "NUMBA_CACHE_DIR": str(blocker / "numba")}, path=str(site))
    assert_fused_matches_tape(report, "RNN")
    (message,) = cache_warnings(report)   # exactly one, however many kernels compiled
    assert "NUMBA_CACHE_DIR" in message and "compiled in memory" in message


def test_numba_disable_jit_runs_every_kernel_as_python(tmp_path):
    names = "RNN,GRU,LSTM,compiled GRUCell"
    report = run_layers(names, {"NUMBA_DISABLE_JIT": "1", "TINYGRAD_RNN_CACHE": str(tmp_path)}, backward=True)
    assert_fused_matches_tape(report, names)
    assert list((tmp_path / "compiled").glob("tinygrad_rnn_cell_*.py"))   # the generated kernel ran
    assert cache_warnings(report) == []


def test_the_blas_bridge_twin_matches_numpy(rng):
    """_numpy_gemm is what the kernels call for BLAS under NUMBA_DISABLE_JIT=1; hold it to numpy here."""
    from tinygrad_rnn.kernels import blas
    for dtype in (np.float32, np.float64):
        a, b = rng.standard_normal((3, 5)).astype(dtype), rng.standard_normal((5, 4)).astype(dtype)
        for trans_a, trans_b in [(blas._NO_TRANS, blas._NO_TRANS), (blas._TRANS, blas._NO_TRANS),
                                 (blas._NO_TRANS, blas._TRANS)]:
            op_a = np.ascontiguousarray(a.T) if trans_a == blas._TRANS else a
            op_b = np.ascontiguousarray(b.T) if trans_b == blas._TRANS else b
            for beta in (0.0, 0.5):
                c = np.full((3, 4), np.nan if beta == 0 else 1.0, dtype)
                want = a @ b + (beta * c if beta else 0)
                blas._numpy_gemm(trans_a, trans_b, 3, 4, 5, op_a, op_a.shape[1], op_b, op_b.shape[1],
                                 dtype(beta), c, 4)
                assert c.dtype == dtype
                np.testing.assert_allclose(c, want, rtol=1e-5 if dtype == np.float32 else 1e-12)


# --- damaged cache files ------------------------------------------------------------------------------

def _version_then(obj):   # an index whose numba version matches, followed by the wrong payload
    return pickle.dumps(numba.__version__) + pickle.dumps(obj)


def _random(n):
    return np.random.default_rng(n).integers(0, 256, n, np.uint8).tobytes()


# How a cache file can be damaged (bytes -> damaged bytes). An index starts with Numba's version; one
# that does not parse as a version string is taken for another Numba's and silently rebuilt by Numba
# itself, so the index damage below keeps the version readable or makes it fail to decode.
INDEX_DAMAGE = {
    "truncated": lambda data: data[: len(data) // 2],
    "zero length": lambda data: b"",
    "random payload": lambda data: pickle.dumps(numba.__version__) + _random(len(data)),
    "wrong pickle": lambda data: pickle.dumps(numba.__version__) + pickle.dumps(42),
    "non-UTF-8 version": lambda data: b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00\x8c\x02\xff\xfe\x94.",
}
DATA_DAMAGE = {
    "truncated": lambda data: data[: len(data) // 2],
    "zero length": lambda data: b"",
    "random bytes": lambda data: _random(len(data)),
    "wrong pickle": lambda data: pickle.dumps({"not": "a compile result"}),
}


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory):
    """A Numba cache filled by one run of the RNN layer, and that run's report."""
    directory = tmp_path_factory.mktemp("numba_cache")
    report = run_layers("RNN", {"NUMBA_CACHE_DIR": str(directory)})
    assert cache_warnings(report) == []
    return directory, report


def _loaded_indexes(directory):
    """The index files of the kernels the RNN layer's forward calls from Python (read at a first call):
    the generated module's input projection and forward loop."""
    names = ["project", "forward"]
    found = sorted(p for p in directory.rglob("tinygrad_rnn_cell_*.nbi")
                   if p.name.split("-")[0].split(".")[-1] in names)
    assert len(found) == len(names), found
    return found


def test_damaged_cache_files_of_the_layer_kernels_are_discarded_and_rebuilt(warm_cache, tmp_path):
    """End to end: the forward kernels' cache files damaged (an index, a data file), then a new process
    runs the layer. (Every kind of damage on both kinds of file: the in-process test below.)"""
    warm, clean = warm_cache
    directory = tmp_path / "cache"
    shutil.copytree(warm, directory)
    plan = [("index", "truncated"), ("data", "random bytes")]
    for index, (which, kind) in zip(_loaded_indexes(directory), plan):
        target = index if which == "index" else index.with_name(index.name[:-len(".nbi")] + ".1.nbc")
        target.write_bytes((INDEX_DAMAGE if which == "index" else DATA_DAMAGE)[kind](target.read_bytes()))

    report = run_layers("RNN", {"NUMBA_CACHE_DIR": str(directory)})
    assert report["results"] == clean["results"]        # the same machine code, compiled again
    messages = cache_warnings(report)
    assert len(messages) == len(plan), messages         # one warning per damaged kernel, naming its index
    for index in _loaded_indexes(directory):
        assert sum(str(index) in m for m in messages) == 1, messages

    again = run_layers("RNN", {"NUMBA_CACHE_DIR": str(directory)})   # rebuilt: read back without a word
    assert cache_warnings(again) == [] and again["results"] == clean["results"]


def _fresh_kernel(path, n):
    """A new dispatcher for the function in `path` (as a new process would make): its first call reads
    the cache from disk."""
    spec = importlib.util.spec_from_file_location(f"tiny_kernel_{n}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.add_one


@pytest.mark.parametrize("which", ["index", "data"])
def test_every_kind_of_damage_is_discarded_and_rebuilt(tmp_path, which):
    """Every kind of damage, on a tiny kernel's index or data file, in this process."""
    path = tmp_path / "tiny_kernel.py"
    path.write_text("from tinygrad_rnn.kernels import njit\n\n\n@njit()\ndef add_one(x):\n    return x + 1\n")
    first = _fresh_kernel(path, 0)
    assert first(1.0) == 2.0
    (index,) = pathlib.Path(first._cache.cache_path).glob("*add_one*.nbi")
    target = index if which == "index" else index.with_name(index.name[:-len(".nbi")] + ".1.nbc")
    damage = INDEX_DAMAGE if which == "index" else DATA_DAMAGE
    for n, (kind, garble) in enumerate(damage.items(), 1):
        good = target.read_bytes()
        target.write_bytes(garble(good))
        kernel = _fresh_kernel(path, n)
        with pytest.warns(kernels.KernelCacheWarning) as caught:
            assert kernel(1.0) == 2.0
        assert len(caught) == 1 and str(index) in str(caught[0].message), (kind, [str(w.message) for w in caught])
        assert target.read_bytes() != garble(good)      # written afresh after the compile
        reread = _fresh_kernel(path, n + 100)
        assert reread(1.0) == 2.0 and reread.stats.cache_hits       # and read back from disk


def test_a_garbled_dependency_stamp_only_drops_the_cache(tmp_path):
    """fused_rnn.deps (the digest of blas.py and vecmath.py the cached loops were built from) with
    bytes that are not text: the cache is dropped as stale, not a UnicodeDecodeError at import."""
    class Dispatcher:   # what drop_stale_cache reads of a dispatcher: where its cache lives
        class _cache:
            _cache_path = str(tmp_path)
    (tmp_path / "fused_rnn.deps").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / "fused_rnn._loop-1.py311.nbi").write_bytes(b"old")
    (tmp_path / "blas.gemm-1.py311.nbi").write_bytes(b"kept")
    assert kernels.drop_stale_cache(Dispatcher, "fused_rnn", "0123abcd")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blas.gemm-1.py311.nbi", "fused_rnn.deps"]
    assert not kernels.drop_stale_cache(Dispatcher, "fused_rnn", "0123abcd")   # now current


# A fused RNN's step; prints Numba's cache hits and misses of the generated forward and backward loops.
FIRST_USE = r"""
import json
import numpy as np, tinygrad_rnn as tr
from tinygrad_rnn.compile.node import get_kernel
layer = tr.nn.RNN(3, 4, bidirectional=True, dtype=np.float64)
x = tr.Tensor(np.ones((5, 2, 3)), requires_grad=True)
layer(x)[0].sum().backward()
module = get_kernel(layer._cell(0, 0), np.float64)[0].module
print(json.dumps({n: [sum(getattr(module, n).stats.cache_hits.values()),
                      sum(getattr(module, n).stats.cache_misses.values())] for n in ("forward", "backward")}))
"""


def test_first_use_is_announced_in_one_line_and_a_second_process_loads_from_the_disk_cache(tmp_path):
    """Issue 12: the first use of a kernel prints one line (what, once, where the cache is), whether or not a
    compile worker ran; a second process prints nothing and Numba reads the machine code from disk (cache
    hits, no misses)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(PYTHONPATH=ROOT, TINYGRAD_RNN_CACHE=str(tmp_path / "tr"))
    runs = [subprocess.run([sys.executable, "-c", FIRST_USE], env=env, cwd=ROOT, capture_output=True, text=True,
                           timeout=600) for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[-1].stderr[-3000:]
    first, second = ([line for line in r.stderr.splitlines() if line.startswith("tinygrad_rnn:")] for r in runs)
    assert first == [f"tinygrad_rnn: compiling the forward and BPTT kernels of RNNCell (float64, input 3, state (4,)) "
                     f"at first use, once (cached in {tmp_path / 'tr' / 'compiled'})"]   # both directions: one
    assert second == []
    cold, warm = (json.loads(r.stdout.strip().splitlines()[-1]) for r in runs)
    # the cold process compiled the backward; the forward too, or with two CPUs its compile worker did
    # (compile/worker.py), and it was loaded from the cache the worker wrote
    worker = len(os.sched_getaffinity(0)) >= 2
    assert cold["backward"][0] == 0 and cold["backward"][1] >= 1, cold
    assert cold["forward"] == [1, 0] if worker else (cold["forward"][0] == 0 and cold["forward"][1] >= 1), cold
    assert all(hits >= 1 and misses == 0 for hits, misses in warm.values()), warm


# --- the helpers the generated kernels call are themselves in the disk cache ---------------------------

_VECMATH_CALLS = r"""
import json, numba, numpy as np
from tinygrad_rnn.kernels import vecmath
@numba.njit(error_model="numpy")
def apply(x):
    return vecmath.sigmoid(x) + vecmath.tanh(x)
for dtype in (np.float32, np.float64):
    apply(dtype(0.5))
print(json.dumps({f.__name__: [sum(f.stats.cache_hits.values()), sum(f.stats.cache_misses.values())]
                  for f in (vecmath.sigmoid, vecmath.tanh, vecmath.expm1_parts)}))
"""


def test_vecmath_functions_are_loaded_from_the_disk_cache_by_a_second_process(tmp_path):
    """A process compiling a new kernel must not compile sigmoid/tanh again (issue 12: they are in every
    cold compile). A closure over a dispatcher is never found in Numba's cache: this fails for one."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), PYTHONPATH=ROOT)
    runs = []
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-c", _VECMATH_CALLS], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert runs[0]["_sigmoid"] == [0, 2] and runs[0]["_tanh"] == [0, 2]   # compiled for float32 and float64
    assert runs[1]["_sigmoid"] == [2, 0] and runs[1]["_tanh"] == [2, 0]   # loaded, both dtypes
    assert runs[1]["expm1_parts"] == [0, 0]   # linked in from the callers' cache entries, not compiled
