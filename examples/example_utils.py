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
def use_threads(n=None):
    """The library's thread count for an example (`tr.set_num_threads`); returns it. n if given; else, under
    `mpiexec -n N` (once the example has joined the world: init_distributed), the CPUs shared out, at least
    one each, so that N processes do not each start threads on every core (docs/distributed.md); else the
    library's own default: every CPU the process may run on, or what OPENBLAS_NUM_THREADS, OMP_NUM_THREADS or
    NUMBA_NUM_THREADS say (docs/howto/threads.md), as a script of one's own gets."""
    if n is None and tr.distributed.is_initialized() and tr.distributed.get_world_size() > 1:
        n = max(1, tr.get_num_threads() // tr.distributed.get_world_size())
    if n is not None:
        tr.set_num_threads(n)
    return tr.get_num_threads()


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
