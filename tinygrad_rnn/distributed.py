"""Several processes training one model, over MPI: `tr.distributed`, in the spirit of torch.distributed.

    mpiexec -n 2 python train.py          # two processes, each running the whole script

    import tinygrad_rnn as tr
    tr.distributed.init_process_group()   # reads the MPI environment mpiexec set up
    model = tr.nn.parallel.DistributedDataParallel(Net())   # rank 0's weights everywhere
    rows = tr.distributed.shard_batch(global_batch)          # this rank's share of every batch
    ...                                   # loss.backward() now leaves the average gradient in .grad

Every process (a "rank", 0 .. world_size - 1) runs the same script. Collectives (barrier,
all_reduce, broadcast, all_gather and the *_object ones) must be called by every rank in the
same order; a rank that skips one leaves the others waiting in it.

Without mpiexec (or without mpi4py installed) init_process_group() gives a world of one process,
in which every collective returns at once and changes nothing: the same script runs unchanged
on a laptop. mpi4py is only imported when an MPI launcher started the process, so a plain run
never initialises MPI. If a launcher did start it but mpi4py is missing, init_process_group()
says so instead of silently running N independent copies.

A rank that dies of an exception would leave the others blocked in their next collective
forever, so init_process_group() installs an excepthook that prints the traceback (prefixed with
the rank) and then calls MPI Abort: mpiexec stops every rank and exits non-zero.

Arrays, not Tensors, are what travels: the collectives take a numpy array (or a Tensor, whose
._data is used) and write the result into it in place, as torch's do.
"""
from __future__ import annotations

import dataclasses
import os
import sys
import traceback
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from .tensor import Tensor

__all__ = ["CollectiveError", "init_process_group", "destroy_process_group", "is_initialized", "is_available",
           "get_rank", "get_world_size", "barrier", "all_reduce", "broadcast", "all_gather", "all_gather_object",
           "broadcast_object_list", "shard_batch", "DistributedSampler", "launched_by_mpi"]

# Variables an MPI launcher sets in every process it starts: MPICH/Hydra and Intel MPI (PMI_*),
# Open MPI (OMPI_COMM_WORLD_*), PMIx-based launchers (PMIX_RANK), MVAPICH (MV2_*).
LAUNCHER_VARIABLES = ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "MV2_COMM_WORLD_SIZE",
                      "MPI_LOCALNRANKS")

REDUCE_OPS = ("sum", "mean")


@dataclasses.dataclass(frozen=True)
class World:
    """The process group: this process's rank, how many there are, and the MPI communicator
    (None for the one-process world that needs no MPI)."""
    rank: int
    size: int
    comm: object = None


_world = None


def launched_by_mpi(environ: Mapping[str, str] | None = None) -> bool:
    """Whether an MPI launcher (mpiexec, mpirun, srun with PMI) started this process."""
    environ = os.environ if environ is None else environ
    return any(name in environ for name in LAUNCHER_VARIABLES)


def is_available() -> bool:
    """Whether mpi4py can be imported (it does not initialise MPI to find out)."""
    import importlib.util
    return importlib.util.find_spec("mpi4py") is not None


# ----------------------------------------------------------------------------- the process group
def init_process_group(backend: str = "mpi") -> None:
    """Join the world mpiexec started (or a world of one process without it); call once, first.

    Raises RuntimeError if called twice, or if an MPI launcher started this process but mpi4py
    cannot be imported (install the extra: pip install "tinygrad_rnn[distributed]")."""
    global _world
    if backend != "mpi":
        raise ValueError(f"init_process_group: backend must be 'mpi' (the only one), got {backend!r}")
    if _world is not None:
        raise RuntimeError("init_process_group() was already called in this process "
                           "(call destroy_process_group() first to start again)")
    if not launched_by_mpi():
        _world = World(rank=0, size=1)
        return
    try:
        from mpi4py import MPI  # importing it initialises MPI
    except ImportError as e:
        raise RuntimeError(
            "init_process_group: this process was started by an MPI launcher (mpiexec/mpirun: found "
            f"{', '.join(v for v in LAUNCHER_VARIABLES if v in os.environ)} in the environment) but mpi4py "
            f"cannot be imported ({e}). Install it with pip install \"tinygrad_rnn[distributed]\" (mpi4py "
            "and mpich), or run the script without mpiexec for a single process.") from None
    comm = MPI.COMM_WORLD
    _world = World(rank=comm.Get_rank(), size=comm.Get_size(), comm=comm)
    if _world.size > 1:
        _install_abort_on_exception(_world)


def destroy_process_group() -> None:
    """Leave the process group (MPI itself stays initialised until the interpreter exits)."""
    global _world
    _world = None


def is_initialized() -> bool:
    return _world is not None


def _get_world(fn):
    if _world is None:
        raise RuntimeError(f"{fn}: the process group is not initialised; call "
                           "tr.distributed.init_process_group() first")
    return _world


def get_rank() -> int:
    return _get_world("get_rank").rank


def get_world_size() -> int:
    return _get_world("get_world_size").size


class CollectiveError(RuntimeError):
    """An error that every rank raises alike (e.g. ranks whose models differ, found by a collective
    check): no rank is left waiting, so each exits with it normally instead of aborting the job."""


def _install_abort_on_exception(world):
    """An uncaught exception on one rank would leave the others waiting in a collective: print it
    and abort the whole job (mpiexec then stops every rank and exits non-zero). A CollectiveError is
    printed and ends its rank normally: an abort could kill the launcher before it forwarded the
    message, and every rank has the same one to give."""
    previous = sys.excepthook

    def abort(kind, value, tb):
        text = "".join(traceback.format_exception(kind, value, tb))
        sys.stderr.write("".join(f"[rank {world.rank}] {line}\n" for line in text.rstrip("\n").split("\n")))
        if issubclass(kind, CollectiveError):
            sys.stderr.flush()
            return
        sys.stderr.write(f"[rank {world.rank}] aborting all {world.size} ranks\n")
        sys.stderr.flush()
        if kind is KeyboardInterrupt:
            previous(kind, value, tb)
        world.comm.Abort(1)

    sys.excepthook = abort


# ----------------------------------------------------------------------------- collectives
def _buffer(array, fn, name="array"):
    """The ndarray a collective writes into in place (a Tensor's ._data), checked."""
    data = array._data if isinstance(array, Tensor) else array
    if not isinstance(data, np.ndarray):
        raise TypeError(f"{fn}: {name} must be a numpy array or a Tensor (the result is written into it in "
                        f"place), got {type(array).__name__}")
    if data.dtype.kind not in "biuf":
        raise TypeError(f"{fn}: {name} must hold numbers, got dtype {data.dtype}")
    if not (data.flags.c_contiguous and data.flags.writeable):
        raise ValueError(f"{fn}: {name} must be C-contiguous and writeable (it is written in place); pass "
                         "np.ascontiguousarray(x) and read the result from that")
    return data


def _written(array):
    if isinstance(array, Tensor):
        array.bump_version()  # graphs recorded before the write must not backpropagate through it


def barrier() -> None:
    """Wait until every rank has reached this call."""
    world = _get_world("barrier")
    if world.comm is not None:
        world.comm.Barrier()


def all_reduce(array: np.ndarray | Tensor, op: str = "sum") -> None:
    """Replace `array` on every rank, in place, by the elementwise sum (op="sum") or mean
    (op="mean") of it over all ranks. Shapes and dtypes must be the same on every rank."""
    world = _get_world("all_reduce")
    if op not in REDUCE_OPS:
        raise ValueError(f"all_reduce: op must be one of {REDUCE_OPS}, got {op!r}")
    data = _buffer(array, "all_reduce")
    if op == "mean" and data.dtype.kind != "f":
        raise TypeError(f"all_reduce: op='mean' needs a float array (an integer mean would be truncated), "
                        f"got dtype {data.dtype}")
    if world.comm is None:
        return
    from mpi4py import MPI
    world.comm.Allreduce(MPI.IN_PLACE, data, op=MPI.SUM)
    if op == "mean":
        data /= world.size
    _written(array)


def broadcast(array: np.ndarray | Tensor, src: int = 0) -> None:
    """Overwrite `array` on every rank, in place, with rank `src`'s."""
    world = _get_world("broadcast")
    _check_src("broadcast", src, world)
    data = _buffer(array, "broadcast")
    if world.comm is not None:
        world.comm.Bcast(data, root=src)
        _written(array)


def all_gather(array_list: list[np.ndarray | Tensor], array: np.ndarray | Tensor) -> None:
    """Fill `array_list` (one array per rank, each shaped like `array`) with every rank's `array`,
    in rank order (torch's argument order)."""
    world = _get_world("all_gather")
    data = _buffer(array, "all_gather")
    if not isinstance(array_list, list) or len(array_list) != world.size:
        got = f"a list of {len(array_list)}" if isinstance(array_list, list) else type(array_list).__name__
        raise ValueError(f"all_gather: array_list must be a list of {world.size} arrays (one per rank), got {got}")
    outs = [_buffer(a, "all_gather", name=f"array_list[{i}]") for i, a in enumerate(array_list)]
    for i, out in enumerate(outs):
        if out.shape != data.shape or out.dtype != data.dtype:
            raise ValueError(f"all_gather: array_list[{i}] must have array's shape {tuple(data.shape)} and dtype "
                             f"{data.dtype}, got {tuple(out.shape)} and {out.dtype}")
    if world.comm is None:
        outs[0][...] = data
    else:
        gathered = np.empty((world.size,) + data.shape, dtype=data.dtype)
        world.comm.Allgather(data, gathered)
        for out, part in zip(outs, gathered):
            out[...] = part
    for a in array_list:
        _written(a)


def all_gather_object(object_list: list[Any], obj: Any) -> None:
    """Fill `object_list` (length world_size) with every rank's picklable `obj`, in rank order."""
    world = _get_world("all_gather_object")
    if not isinstance(object_list, list) or len(object_list) != world.size:
        got = f"a list of {len(object_list)}" if isinstance(object_list, list) else type(object_list).__name__
        raise ValueError(f"all_gather_object: object_list must be a list of {world.size} (one entry per rank), "
                         f"got {got}")
    object_list[:] = [obj] if world.comm is None else world.comm.allgather(obj)


def broadcast_object_list(object_list: list[Any], src: int = 0) -> None:
    """Replace the entries of `object_list` (the same length on every rank) by rank `src`'s."""
    world = _get_world("broadcast_object_list")
    _check_src("broadcast_object_list", src, world)
    if not isinstance(object_list, list):
        raise TypeError(f"broadcast_object_list: object_list must be a list, got {type(object_list).__name__}")
    if world.comm is not None:
        object_list[:] = world.comm.bcast(object_list, root=src)


def _check_src(fn, src, world):
    if not isinstance(src, (int, np.integer)) or not 0 <= src < world.size:
        raise ValueError(f"{fn}: src must be a rank in 0..{world.size - 1}, got {src!r}")


# ----------------------------------------------------------------------------- data
def _rank_and_size(rank, world_size, fn):
    if world_size is None:
        world_size = get_world_size() if is_initialized() else 1
    if rank is None:
        rank = get_rank() if is_initialized() else 0
    if not isinstance(world_size, (int, np.integer)) or world_size < 1:
        raise ValueError(f"{fn}: world_size must be a positive int, got {world_size!r}")
    if not isinstance(rank, (int, np.integer)) or not 0 <= rank < world_size:
        raise ValueError(f"{fn}: rank must be in 0..{world_size - 1}, got {rank!r}")
    return int(rank), int(world_size)


def shard_batch(global_batch: int, rank: int | None = None, world_size: int | None = None) -> slice:
    """The slice of a batch of `global_batch` items (e.g. the character LM's parallel text streams)
    that `rank` computes: contiguous, the same size on every rank, the global batch unchanged.

    It must divide evenly: DistributedDataParallel averages the ranks' gradients, and the average
    of per-shard mean losses' gradients is the full batch's gradient only when the shards are
    equal (with shards of n_r items it would weight each item by 1 / (N n_r) instead of 1 / B).
    Defaults: this process's rank and world size (0 and 1 before init_process_group())."""
    rank, world_size = _rank_and_size(rank, world_size, "shard_batch")
    if not isinstance(global_batch, (int, np.integer)) or global_batch < 1:
        raise ValueError(f"shard_batch: global_batch must be a positive int, got {global_batch!r}")
    if global_batch % world_size:
        raise ValueError(f"shard_batch: global_batch={global_batch} does not split evenly over {world_size} "
                         f"ranks; use a multiple of {world_size} (unequal shards would make the averaged "
                         "gradient differ from the full batch's)")
    n = global_batch // world_size
    return slice(rank * n, (rank + 1) * n)


class DistributedSampler:
    """Which dataset indices this rank reads each epoch, as torch's DistributedSampler: every
    epoch one permutation of range(dataset_size) (the same on every rank: seed + epoch), padded by
    repeating its first indices to a multiple of world_size (or cut, drop_last=True), then rank r
    takes every world_size-th index from r. So all ranks get equally many samples, and equal
    shards keep the averaged gradient equal to the global batch's (see shard_batch).

        sampler = tr.distributed.DistributedSampler(len(data), shuffle=True, seed=0)
        for epoch in range(epochs):
            sampler.set_epoch(epoch)          # a new order every epoch, agreed by all ranks
            for batch in np.array_split(np.fromiter(sampler, int), n_batches): ...
    """

    def __init__(self, dataset_size: int, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if hasattr(dataset_size, "__len__"):
            dataset_size = len(dataset_size)
        if not isinstance(dataset_size, (int, np.integer)) or dataset_size < 0:
            raise ValueError(f"DistributedSampler: dataset_size must be a non-negative int (or a sized dataset), "
                             f"got {dataset_size!r}")
        self.rank, self.num_replicas = _rank_and_size(rank, num_replicas, "DistributedSampler")
        self.dataset_size, self.shuffle, self.seed, self.drop_last = int(dataset_size), shuffle, seed, drop_last
        self.epoch = 0
        per_rank = dataset_size / self.num_replicas
        self.num_samples = int(np.floor(per_rank) if drop_last else np.ceil(per_rank))
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def indices(self) -> np.ndarray:
        """This rank's indices for the current epoch, as an int64 array."""
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(self.dataset_size)
        else:
            order = np.arange(self.dataset_size)
        if self.total_size > len(order) and len(order):  # pad by wrapping around
            order = np.resize(order, self.total_size)
        order = order[:self.total_size]
        return order[self.rank::self.num_replicas].astype(np.int64)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.num_samples
