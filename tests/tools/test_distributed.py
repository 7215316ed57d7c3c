"""tr.distributed and DistributedDataParallel.

Without mpiexec: the one-process world, the data shards, and the errors. With `mpiexec -n 2`
(skipped when mpi4py or mpiexec is missing; `pip install -e ".[distributed]"` brings both): this
file is also the script the ranks run (`python tests/tools/test_distributed.py SCENARIO OUTDIR`), and the
tests compare what the ranks wrote against one process doing the same work on the full batch.
"""
import contextlib
import copy
import importlib.util
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:  # run as a script by mpiexec
    sys.path.insert(0, REPO)

import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn import distributed as dist  # noqa: E402
from tinygrad_rnn.nn.parallel import DistributedDataParallel  # noqa: E402

STEPS, T, B, IN, HID, OUT = 4, 5, 4, 3, 6, 2
TIMEOUT = 180  # seconds: a guard against a hang (a failing collective), not a timing assertion


# ----------------------------------------------------------------------------- the shared training
class Net(tr.nn.Module):
    """A 2-layer LSTM and a Linear head, float64."""

    def __init__(self, hidden=HID):
        self.rnn = tr.nn.LSTM(IN, hidden, num_layers=2, dtype=np.float64)
        self.head = tr.nn.Linear(hidden, OUT, dtype=np.float64)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out)


def batches():
    rng = np.random.default_rng(7)
    return rng.standard_normal((STEPS, T, B, IN)), rng.standard_normal((STEPS, T, B, OUT))


def train(model, rows):
    """Adam with gradient clipping on the streams `rows` of every batch; the weights before and
    after each step. The loss is a mean over this rank's (equally large) shard."""
    xs, ys = batches()
    opt = tr.optim.Adam(model.parameters(), lr=0.05)
    weights = [copy.deepcopy(model.state_dict())]   # a snapshot: state_dict's values share the weights' memory
    for x, y in zip(xs, ys):
        pred = model(tr.Tensor(x[:, rows]))
        loss = ((pred - y[:, rows]) ** 2).mean()
        model.zero_grad()
        loss.backward()
        tr.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        weights.append(copy.deepcopy(model.state_dict()))
    return weights


def accumulate(model, rows, mode):
    """The gradients after backward() on two micro-batches (steps 0 and 1 of batches()); with
    mode="no_sync" the first forward runs under ddp.no_sync(), so only the second backward averages."""
    xs, ys = batches()
    model.zero_grad()
    for i in range(2):
        with model.no_sync() if mode == "no_sync" and i == 0 else contextlib.nullcontext():
            loss = ((model(tr.Tensor(xs[i][:, rows])) - ys[i][:, rows]) ** 2).mean()
        loss.backward()
    return {name: p.grad.numpy().copy() for name, p in model.module.named_parameters()}


# ----------------------------------------------------------------------------- what the ranks run
def scenario_train(outdir):
    dist.init_process_group()
    rank, size = dist.get_rank(), dist.get_world_size()
    results = {}
    a = np.array([rank + 1.0, 10.0 * rank])
    dist.all_reduce(a)
    results["sum"] = a
    m = np.array([rank + 1.0, 10.0 * rank])
    dist.all_reduce(m, op="mean")
    results["mean"] = m
    b = tr.Tensor(np.full(3, float(rank)))
    dist.broadcast(b, src=size - 1)
    results["broadcast"] = b.data
    parts = [np.empty(2, dtype=np.int64) for _ in range(size)]
    dist.all_gather(parts, np.array([rank, rank * rank], dtype=np.int64))
    results["all_gather"] = np.stack(parts)
    tr.manual_seed(100 + rank)  # a different initialisation on every rank: DDP must replace it by rank 0's
    ddp = DistributedDataParallel(Net())
    for step, w in enumerate(train(ddp, dist.shard_batch(B))):
        for name, value in w.items():
            results[f"{step}/{name}"] = value
    for mode in ("no_sync", "sync"):  # two micro-batches' gradients accumulated, averaged once or twice
        for name, grad in accumulate(ddp, dist.shard_batch(B), mode).items():
            results[f"{mode}/{name}"] = grad
    np.savez(os.path.join(outdir, f"rank{rank}.npz"), **results)


def scenario_raise(outdir):
    dist.init_process_group()
    if dist.get_rank() == 1:
        raise ValueError("rank 1 fails on purpose")
    dist.all_reduce(np.zeros(3))  # rank 0 waits here for a partner that never comes


def scenario_mismatch(outdir):
    dist.init_process_group()
    DistributedDataParallel(Net(hidden=HID + dist.get_rank()))


SCENARIOS = {"train": scenario_train, "raise": scenario_raise, "mismatch": scenario_mismatch}


# ----------------------------------------------------------------------------- launching
def mpiexec():
    """mpiexec next to the interpreter (a venv's bin/, where the mpich wheel puts it), else on PATH."""
    if importlib.util.find_spec("mpi4py") is None:
        pytest.skip("mpi4py is not installed (pip install -e \".[distributed]\")")
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    found = here if os.access(here, os.X_OK) else shutil.which("mpiexec")
    if found is None:
        pytest.skip("no mpiexec next to the interpreter or on PATH (pip install -e \".[distributed]\")")
    return found


def launch(args, n=2, cwd=REPO):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1",
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    return subprocess.run([mpiexec(), "-n", str(n), sys.executable] + args, cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT)


def run_scenario(name, outdir):
    return launch([os.path.abspath(__file__), name, str(outdir)])


@pytest.fixture
def world():
    """A fresh one-process world, torn down afterwards."""
    dist.destroy_process_group()
    dist.init_process_group()
    yield
    dist.destroy_process_group()


# ----------------------------------------------------------------------------- two ranks
def test_two_ranks_on_half_batches_equal_one_process_on_the_full_batch(tmp_path, world):
    proc = run_scenario("train", tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ranks = [dict(np.load(tmp_path / f"rank{r}.npz")) for r in range(2)]
    # the collectives themselves
    for got in ranks:
        np.testing.assert_array_equal(got["sum"], [3.0, 10.0])
        np.testing.assert_array_equal(got["mean"], [1.5, 5.0])
        np.testing.assert_array_equal(got["broadcast"], [1.0, 1.0, 1.0])
        np.testing.assert_array_equal(got["all_gather"], [[0, 0], [1, 1]])
    # one process, full batch, rank 0's seed
    tr.manual_seed(100)
    reference = train(Net(), slice(0, B))
    for step, expected in enumerate(reference):
        for name, value in expected.items():
            for r, got in enumerate(ranks):
                np.testing.assert_allclose(got[f"{step}/{name}"], value, rtol=1e-10, atol=0,
                                           err_msg=f"rank {r}, {name} after step {step}")
    # gradient accumulation: with or without no_sync(), the average of the two micro-batches' sums
    final = Net()
    final.load_state_dict(reference[-1])
    wrapped = DistributedDataParallel(final)  # a one-process world here: the reference is the plain module
    for mode in ("no_sync", "sync"):
        for name, grad in accumulate(wrapped, slice(0, B), mode).items():
            for r, got in enumerate(ranks):
                np.testing.assert_allclose(got[f"{mode}/{name}"], grad, rtol=1e-10, atol=0,
                                           err_msg=f"rank {r}, {mode}, {name}")
    # the broadcast replaced rank 1's own (seed 101) initialisation by rank 0's, bit for bit, and
    # the replicas stay bit-identical: every rank applies the same averaged gradient
    tr.manual_seed(101)
    own = Net().state_dict()
    assert not any(np.array_equal(own[n], ranks[1][f"0/{n}"]) for n in own)
    for name in reference[0]:
        np.testing.assert_array_equal(ranks[1][f"0/{name}"], reference[0][name], err_msg=name)
        for step in range(len(reference)):
            np.testing.assert_array_equal(ranks[0][f"{step}/{name}"], ranks[1][f"{step}/{name}"], err_msg=name)


def test_a_rank_that_raises_stops_the_whole_job(tmp_path):
    proc = run_scenario("raise", tmp_path)  # a hang would hit TIMEOUT and fail the test
    assert proc.returncode != 0
    assert "rank 1 fails on purpose" in proc.stderr and "[rank 1]" in proc.stderr, proc.stderr


def test_ranks_with_different_models_get_a_clear_error(tmp_path):
    proc = run_scenario("mismatch", tmp_path)
    assert proc.returncode != 0
    assert "the ranks' models differ" in proc.stderr, proc.stderr
    assert "rnn.weight_ih_l0: rank 0 has shape (24, 3) dtype float64, rank 1 has shape (28, 3)" in proc.stderr


def test_char_lm_on_two_processes_resumes_a_one_process_checkpoint_and_follows_its_run(tmp_path):
    sys.path.insert(0, os.path.join(REPO, "examples"))
    import char_lm
    text = "the cat sat on the mat. the dog sat on the log. " * 40
    (tmp_path / "text.txt").write_text(text)
    config = dict(embed=8, hidden=24, seq_len=12, batch=4, lr=1e-2)
    kw = dict(text=text, minutes=None, sample_length=0, progress=False, verbose=False, **config)  # as the CLI
    dist.destroy_process_group()
    try:
        whole = char_lm.train(steps=6, **kw)  # one process, uninterrupted
        char_lm.train(steps=3, checkpoint=str(tmp_path / "ckpt.npz"), save_every=3, **kw)
    finally:
        dist.destroy_process_group()
    args = [os.path.join(REPO, "examples", "char_lm.py"), "--text", str(tmp_path / "text.txt"), "--steps", "6",
            "--resume", "--checkpoint", str(tmp_path / "ckpt.npz"), "--minutes", "0", "--length", "10",
            "--prime", "the ", "--no-progress"]
    proc = launch(args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("--- sample") == 1 and proc.stdout.count("resumed from") == 1, proc.stdout  # rank 0 only
    assert "2 streams on each of 2 processes" in proc.stdout
    ckpt = tr.load(tmp_path / "ckpt.npz")
    assert ckpt["step"] == 6
    # the same run up to float32 rounding (the ranks sum their halves' gradients in another order)
    np.testing.assert_allclose(ckpt["losses"], whole["losses"], rtol=1e-5)
    for name, value in whole["model"].state_dict().items():
        np.testing.assert_allclose(ckpt["model"][name], value, rtol=0, atol=1e-5, err_msg=name)
    for got, expected in zip(ckpt["carried"], char_lm.state_arrays(whole["state"])):  # all 4 streams' state
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


# ----------------------------------------------------------------------------- one process
def test_one_process_world(world):
    assert dist.is_initialized() and dist.get_rank() == 0 and dist.get_world_size() == 1
    a = np.array([1.0, 2.0])
    dist.all_reduce(a, op="mean")
    dist.broadcast(a)
    dist.barrier()
    np.testing.assert_array_equal(a, [1.0, 2.0])
    objs = [None]
    dist.all_gather_object(objs, {"x": 1})
    assert objs == [{"x": 1}]


def test_ddp_in_one_process_is_the_plain_module(world):
    tr.manual_seed(3)
    plain = train(Net(), slice(0, B))
    tr.manual_seed(3)
    ddp = DistributedDataParallel(Net())
    wrapped = train(ddp, slice(0, B))
    for a, b in zip(plain, wrapped):
        assert a.keys() == b.keys()  # state_dict is the wrapped module's: no "module." prefix
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])
    ddp.load_state_dict(plain[0])
    np.testing.assert_array_equal(ddp.module.head.weight.data, plain[0]["head.weight"])


def test_collectives_refuse_bad_arguments(world):
    with pytest.raises(ValueError, match="op must be one of"):
        dist.all_reduce(np.zeros(2), op="max")
    with pytest.raises(TypeError, match="op='mean' needs a float array"):
        dist.all_reduce(np.zeros(2, dtype=np.int64), op="mean")
    with pytest.raises(TypeError, match="array must be a numpy array or a Tensor"):
        dist.all_reduce([1.0, 2.0])
    with pytest.raises(ValueError, match="C-contiguous"):
        dist.broadcast(np.zeros((3, 2))[:, 0])
    with pytest.raises(ValueError, match="src must be a rank in 0..0"):
        dist.broadcast(np.zeros(2), src=1)
    with pytest.raises(ValueError, match="array_list must be a list of 1 arrays .one per rank., got a list of 2"):
        dist.all_gather([np.zeros(2), np.zeros(2)], np.zeros(2))
    with pytest.raises(ValueError, match=r"array_list\[0\] must have array's shape \(2,\)"):
        dist.all_gather([np.zeros(3)], np.zeros(2))
    with pytest.raises(RuntimeError, match="already called"):
        dist.init_process_group()
    with pytest.raises(TypeError, match="must be a tr.nn.Module"):
        DistributedDataParallel(np.zeros(2))


def test_uninitialised_and_missing_mpi4py_errors(monkeypatch):
    dist.destroy_process_group()
    with pytest.raises(RuntimeError, match="init_process_group"):
        dist.get_rank()
    with pytest.raises(RuntimeError, match="init_process_group"):
        DistributedDataParallel(Net())
    monkeypatch.setenv("PMI_SIZE", "2")
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # makes `from mpi4py import MPI` raise ImportError
    with pytest.raises(RuntimeError, match="started by an MPI launcher.*PMI_SIZE.*mpi4py"):
        dist.init_process_group()
    assert not dist.is_initialized()


def test_shard_batch_splits_evenly_or_refuses():
    shards = [dist.shard_batch(12, rank=r, world_size=3) for r in range(3)]
    assert np.concatenate([np.arange(12)[s] for s in shards]).tolist() == list(range(12))
    assert {s.stop - s.start for s in shards} == {4}
    with pytest.raises(ValueError, match="global_batch=10 does not split evenly over 4 ranks"):
        dist.shard_batch(10, rank=0, world_size=4)
    with pytest.raises(ValueError, match="rank must be in 0..1"):
        dist.shard_batch(4, rank=2, world_size=2)


@pytest.mark.parametrize("size,replicas,drop_last", [(10, 3, False), (10, 3, True), (8, 2, False), (2, 4, False)])
def test_distributed_sampler_gives_equal_disjoint_shards(size, replicas, drop_last):
    samplers = [dist.DistributedSampler(size, num_replicas=replicas, rank=r, seed=5, drop_last=drop_last)
                for r in range(replicas)]
    for s in samplers:
        s.set_epoch(2)
    parts = [s.indices() for s in samplers]
    assert len({len(p) for p in parts}) == 1 and all(len(p) == len(s) for p, s in zip(parts, samplers))
    seen = np.concatenate(parts)
    if drop_last:  # no index twice, at most replicas - 1 left out
        assert len(set(seen.tolist())) == len(seen) and size - len(seen) < replicas
    else:  # every index at least once, padding below one sample per rank
        assert set(seen.tolist()) == set(range(size)) and len(seen) - size < replicas
    again = dist.DistributedSampler(size, num_replicas=replicas, rank=0, seed=5, drop_last=drop_last)
    again.set_epoch(3)
    assert size < 3 or not np.array_equal(again.indices(), parts[0])  # a new order each epoch


if __name__ == "__main__":
    SCENARIOS[sys.argv[1]](sys.argv[2])
