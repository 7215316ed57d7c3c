"""DistributedDataParallel: one model trained by several processes, each on its share of the batch.

    tr.distributed.init_process_group()
    model = tr.nn.parallel.DistributedDataParallel(Net())
    opt = tr.optim.Adam(model.parameters(), lr=1e-3)
    for step in ...:
        loss = F.cross_entropy(model(x[:, rows]), y[rows])   # rows = tr.distributed.shard_batch(B)
        model.zero_grad()
        loss.backward()          # ends with every .grad averaged over the ranks
        opt.step()               # the same update on every rank: the replicas stay identical

At construction every rank checks that all ranks hold the same parameters (names, shapes,
dtypes; a mismatch raises on every rank, instead of a collective that would never match up) and
then copies rank 0's values into its own. The wrapped module is `.module`; `state_dict()` and
`load_state_dict()` are the wrapped module's (no "module." prefix), so a checkpoint written
under any number of processes loads into the plain model and the other way round.

When the gradients are averaged. torch's DDP averages during backward and queues a callback that
finishes at the end of the backward pass. Here the walk stays knowing no op: DDP registers one
callback in the tape's list of end-of-backward hooks (tape.py, _backward_end_hooks), and a
forward through the DDP in grad mode arms it. So:
  * every `backward()` after a recording forward ends by averaging this model's gradients; ranks
    must therefore call backward() equally often (they do when they run the same script);
  * the whole .grad is averaged each time, so it is correct with gradient accumulation and with
    retain_graph=True: an already averaged part is the same on every rank, and averaging it again
    leaves it unchanged (up to rounding in the last bit for a world size that is not a power of 2);
  * `with model.no_sync():` runs forwards that do not arm the averaging (accumulate locally,
    then let one forward outside no_sync() arm the backward that averages the sum, as in torch);
  * `sync_gradients()` averages on demand (e.g. after backward_from, which the hook does not see).

One message per dtype: the gradients of all float32 parameters travel in one flat buffer (and
those of all float64 in another), with one flag per parameter saying whether its .grad was None on
that rank. A parameter whose .grad is None on every rank keeps None (the optimizer skips it, as
with one process); if only some ranks have one, the others count as zeros. Afterwards each .grad
is a view into that step's buffer.

Correctness: the averaged gradient equals the full batch's when every rank's loss is a mean over
an equally large shard (tr.distributed.shard_batch insists on that). With unequal shards, weight
each rank's loss by its shard size / the mean shard size, or use a sum loss divided by the global
batch size times the world size.
"""
from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import distributed as dist
from ..tape import _backward_end_hooks, is_grad_enabled
from .module import IncompatibleKeys, Module

__all__ = ["DistributedDataParallel"]

_live = []  # weak references to every multi-process DDP, in construction order (the same on every rank)


def _average_pending_gradients():
    """The end-of-backward hook: each armed DDP averages its gradients, in construction order."""
    alive = []
    for ref in _live:
        ddp = ref()
        if ddp is not None:
            alive.append(ref)
            if ddp._sync_pending:
                ddp.sync_gradients()
    _live[:] = alive


class DistributedDataParallel(Module):
    def __init__(self, module: Module) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: module must be a tr.nn.Module, got {type(module).__name__}")
        world = dist._get_world("DistributedDataParallel")
        self.module = module
        self.world_size = world.size
        self._sync_pending = False  # armed by a recording forward (see the module docstring)
        self._sync_enabled = True  # False inside no_sync()
        self._groups = _by_dtype(module)
        if world.size > 1:
            self._check_same_parameters()
            self._broadcast_parameters()
            if _average_pending_gradients not in _backward_end_hooks:
                _backward_end_hooks.append(_average_pending_gradients)
            _live.append(weakref.ref(self))

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if is_grad_enabled():
            self._sync_pending = self._sync_enabled
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Forwards inside do not arm gradient averaging: backward() then only accumulates locally."""
        previous = self._sync_enabled
        self._sync_enabled = False
        try:
            yield
        finally:
            self._sync_enabled = previous

    def state_dict(self, *, destination: dict | None = None, prefix: str = "",
                   keep_vars: bool = False) -> dict[str, np.ndarray]:
        return self.module.state_dict(destination=destination, prefix=prefix, keep_vars=keep_vars)

    def load_state_dict(self, state_dict: Mapping[str, npt.ArrayLike], strict: bool = True) -> IncompatibleKeys:
        return self.module.load_state_dict(state_dict, strict)

    # -- construction: agree on the parameters, then take rank 0's values
    def _check_same_parameters(self):
        mine = [(name, tuple(p.shape), p.dtype.str) for name, p in self.module.named_parameters()]
        everyone = [None] * self.world_size
        dist.all_gather_object(everyone, mine)
        problems = [_describe_difference(everyone[0], other, rank) for rank, other in enumerate(everyone)
                    if other != everyone[0]]
        if problems:  # every rank sees the same lists, so every rank raises the same error
            raise dist.CollectiveError("DistributedDataParallel: the ranks' models differ, so their parameters "
                                       "cannot be kept in sync (build the same model on every rank):\n  "
                                       + "\n  ".join(problems))

    def _broadcast_parameters(self):
        for _, params in self._groups:
            flat = np.concatenate([p._data.ravel() for p in params])
            dist.broadcast(flat, src=0)
            for p, part in zip(params, _split(flat, params)):
                p._data[...] = part
                p.bump_version()  # graphs recorded before hold the old values

    # -- the averaging
    def sync_gradients(self) -> None:
        """Replace every parameter's .grad by its average over the ranks (one message per dtype)."""
        if self.world_size == 1:
            return
        for dtype, params in self._groups:
            total = sum(p.size for p in params)
            buf = np.zeros(total + len(params), dtype=dtype)  # the grads, then one has-a-grad flag each
            offset = 0
            for i, p in enumerate(params):
                if p._grad is not None:
                    buf[offset:offset + p.size] = p._grad.ravel()
                    buf[total + i] = 1
                offset += p.size
            dist.all_reduce(buf, op="sum")
            grads = buf[:total]
            grads /= self.world_size
            for i, (p, grad) in enumerate(zip(params, _split(grads, params))):
                p._grad = grad if buf[total + i] > 0 else None


def _by_dtype(module):
    """[(dtype, [parameters of that dtype in named_parameters order])], float32 before float64."""
    groups = {}
    for _, p in module.named_parameters():
        groups.setdefault(p.dtype, []).append(p)
    return sorted(groups.items(), key=lambda item: item[0].itemsize)


def _split(flat, params):
    """Views of `flat` shaped like each parameter in turn."""
    parts, offset = [], 0
    for p in params:
        parts.append(flat[offset:offset + p.size].reshape(p.shape))
        offset += p.size
    return parts


def _describe_difference(reference, other, rank):
    ref, oth = dict((n, (s, d)) for n, s, d in reference), dict((n, (s, d)) for n, s, d in other)
    lines = []
    only_0, only_r = sorted(set(ref) - set(oth)), sorted(set(oth) - set(ref))
    if only_0:
        lines.append(f"only on rank 0: {only_0}")
    if only_r:
        lines.append(f"only on rank {rank}: {only_r}")
    for name in ref:
        if name in oth and ref[name] != oth[name]:
            (s0, d0), (s1, d1) = ref[name], oth[name]
            lines.append(f"{name}: rank 0 has shape {s0} dtype {np.dtype(d0)}, rank {rank} has shape {s1} "
                         f"dtype {np.dtype(d1)}")
    if not lines:
        lines.append("the same parameters in a different order")
    return f"rank {rank} differs from rank 0: " + "; ".join(lines)
