"""What the examples share: the thread count, a progress bar that degrades to prints, and the few
things training under `mpiexec -n N` needs (join the MPI world; only rank 0 talks).

Kept out of the library on purpose: none of this is autodiff.
"""
import os
import sys
import time

EXAMPLES_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(EXAMPLES_DIR)
if REPO_DIR not in sys.path:  # `python examples/x.py` from a clone without `pip install -e .`
    sys.path.insert(1, REPO_DIR)

import tinygrad_rnn as tr  # noqa: E402


# ----------------------------------------------------------------------------- threads
def limit_blas_threads(n=None):
    """Run the library's parallel work on `n` threads (`tr.set_num_threads`): default $OPENBLAS_NUM_THREADS,
    else 1, where the library alone would use every CPU. Returns n. (numpy's OpenBLAS is held at one thread
    by the library whatever this says.)

    Why one: under `mpiexec -n N` on N cores each process should have one core (docs/distributed.md), and
    on a machine shared with other work a second thread buys nothing (docs/howto/threads.md). Set
    OPENBLAS_NUM_THREADS=2 to run an example on two."""
    if n is None:
        n = int(os.environ.get("OPENBLAS_NUM_THREADS", "1") or 1)
    return n if tr.set_num_threads(n) else None


# ----------------------------------------------------------------------------- several processes
def init_distributed():
    """Join the processes mpiexec started (a world of one process without mpiexec), once; returns
    (rank, world_size). See tinygrad_rnn/distributed.py."""
    if not tr.distributed.is_initialized():
        tr.distributed.init_process_group()
    return tr.distributed.get_rank(), tr.distributed.get_world_size()


def is_main_process():
    """Rank 0, the one that prints, draws the progress bar and writes files (or the only process)."""
    return not tr.distributed.is_initialized() or tr.distributed.get_rank() == 0


# ----------------------------------------------------------------------------- progress
class _PlainBar:
    """tqdm's few methods the examples use, as occasional prints (no tqdm installed, or not a tty)."""

    def __init__(self, total, desc, every_s=5.0):
        self.total, self.desc, self.n, self.every = total, desc, 0, every_s
        self.postfix, self.start, self.last = "", time.time(), 0.0

    def update(self, k=1):
        self.n += k
        now = time.time()
        if now - self.last >= self.every or self.n == self.total:
            self.last = now
            tot = f"/{self.total}" if self.total else ""
            print(f"{self.desc}: {self.n}{tot} [{now - self.start:.0f}s] {self.postfix}", flush=True)

    def set_postfix_str(self, s):
        self.postfix = s

    def close(self):
        pass


def progress(total=None, desc="", enabled=True):
    """A progress bar with .update(), .set_postfix_str(), .close(): tqdm if installed, else prints.
    Silent on every rank but 0 (one bar per job, not one per process)."""
    if not enabled or not is_main_process():
        bar = _PlainBar(total, desc, every_s=float("inf"))
        bar.update = lambda k=1: None
        return bar
    try:
        from tqdm import tqdm
    except ImportError:
        return _PlainBar(total, desc)
    return tqdm(total=total, desc=desc, dynamic_ncols=True, leave=True)
