"""Rank state and collectives of one run over several ranks (`bench run --nproc N`, or `torchrun ... -m bench run`).

Why the loss and the gradient equal one process's on the global batch B: each step's B pairs are split into N
contiguous shards of B/N; every rank gathers all ranks' embeddings in rank order, its own slot keeping its
autograd graph, so every rank computes the same B x B in-batch loss L as one process would. Backward on rank r
reaches only its own embeddings and yields g_r, the part of dL/dtheta that flows through them; dL/dtheta is the
sum of the g_r, so the ranks all-reduce their gradients with SUM (DDP's average of N x L's gradients, without
scaling the loss). tests/test_ddp.py checks it against one process.

Rank 0 alone touches the results store (bench/ranks/rank_store.py broadcasts its decisions); launching the
ranks and following rank 0's suites is bench/ranks/launch.py. A rank that fails publishes its error in the
rendezvous store and exits; the others' next collective fails, and rank 0 marks the run failed with that error.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

from bench.errors import BenchError

TIMEOUT_ENV = "BENCH_COLLECTIVE_TIMEOUT"
"""Seconds a collective may wait for the other ranks (default 900) before the run fails instead of hanging."""

_control: Any = None  # the group for Python objects (gloo, also when the tensors go through nccl)
_failure: str | None = None  # a failure already seen on this rank: later collectives and SIGTERMs are skipped
counters = {"collective_seconds": 0.0, "busy_seconds": 0.0}
"""Per run (reset when a run is claimed), this rank's seconds in the training steps' all-gather and all-reduce
(waiting for slower ranks included), and its training seconds up to its own last step, before the closing
barrier (bench.measure.clock.Stopwatch); busy - collective is its compute."""


class RankFailed(RuntimeError):
    """Another rank failed (or a collective timed out): this rank stops the run with that rank's error."""


def launched() -> bool:
    """This process is one of several ranks started by torchrun or `--nproc` (WORLD_SIZE > 1 in its env)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    return dist.get_world_size() if active() else int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return dist.get_rank() if active() else 0


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


@contextmanager
def process_group(use_cuda: bool) -> Iterator[None]:
    """Join the group torchrun (or `--nproc`) launched this process into: nccl for the tensors on GPUs, gloo for
    Python objects; SIGTERM becomes the failed rank's error; the group is left on the way out (unless a rank
    failed: then the launcher tears it down)."""
    global _control
    timeout = timedelta(seconds=float(os.environ.get(TIMEOUT_ENV, "900")))
    if use_cuda:
        torch.cuda.set_device(local_rank())
    dist.init_process_group("nccl" if use_cuda else "gloo", timeout=timeout)
    _control = dist.new_group(backend="gloo", timeout=timeout) if use_cuda else dist.group.WORLD
    previous = signal.signal(signal.SIGTERM, sigterm_handler(None))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        if _failure is None:
            dist.destroy_process_group()


def share_suite(suite, device: torch.device, rerun: bool) -> None:
    """Rank 0 tells the other ranks which suite to run (they wait for it in bench.ranks.launch.follow)."""
    if active() and rank() == 0:
        broadcast((suite, device.type, rerun))


def release_followers() -> None:
    """Rank 0 failed before the others' next suite: tell them there is none (if they are still there)."""
    if _failure is None:
        try:
            broadcast(None)
        except RankFailed:
            pass


def publish(error: str) -> None:
    """Leave this rank's error where rank 0 finds it (the rendezvous store outlives a failed rank)."""
    global _failure
    if _failure is not None or not active():
        return
    _failure = f"rank {rank()} failed: {(error.strip().splitlines() or [''])[0]}"
    try:
        dist.distributed_c10d._get_default_store().set(f"bench/error/{rank()}", _failure)
    except Exception:  # noqa: BLE001 - the store may be gone too; the exit code still fails the run
        pass


def peer_failure() -> str | None:
    """Another rank's published error, if any."""
    try:
        store = dist.distributed_c10d._get_default_store()
        for other in range(world_size()):
            key = f"bench/error/{other}"
            if other != rank() and store.check([key]):
                return store.get(key).decode()
    except Exception:  # noqa: BLE001 - no store: nothing to read
        return None
    return None


def _failed(exc: BaseException, what: str) -> RankFailed:
    """The error a collective's failure becomes: the failed rank's own error when it published one."""
    global _failure
    detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    deadline = time.monotonic() + 3  # a failed rank publishes as it unwinds: its socket may close first
    while (peer := peer_failure()) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    _failure = peer or (f"{what} failed on rank {rank()}: {detail} (another rank died, or hung past "
                                  f"{TIMEOUT_ENV} seconds)")
    return RankFailed(_failure)


def _collective(what: str, fn, *args, in_step: bool = False, **kwargs):
    if _failure is not None:
        raise RankFailed(_failure)
    started = time.perf_counter()
    try:
        return fn(*args, **kwargs)
    except (RuntimeError, dist.DistError) as exc:
        raise _failed(exc, what) from exc
    finally:
        if in_step:
            counters["collective_seconds"] += time.perf_counter() - started


def sigterm_handler(fallback):
    """SIGTERM under several ranks is torchrun tearing the group down after a rank failed: stop with that rank's
    error (once; a run already failing is left to record its failure)."""
    def handle(signum, frame):
        global _failure
        if _failure is not None:
            return
        if not active() and fallback is not None:
            return fallback(signum, frame)
        _failure = peer_failure() or f"rank {rank()} terminated by signal {signum} (the launcher stopped the run)"
        raise RankFailed(_failure)
    return handle if active() or fallback is None else fallback


def broadcast(value):
    """Rank 0's value on every rank (a Python object, pickled)."""
    if not active():
        return value
    box = [value]
    _collective("broadcast", dist.broadcast_object_list, box, src=0, group=_control)
    return box[0]


def gather_objects(value) -> list:
    if not active():
        return [value]
    out: list = [None] * world_size()
    _collective("all_gather_object", dist.all_gather_object, out, value, group=_control)
    return out


def barrier() -> None:
    if active():
        _collective("barrier", dist.barrier, group=_control)


def check_same(what: str, value) -> None:
    """Fail when the ranks disagree (other data, code or config on another node): their runs would not match."""
    values = gather_objects(value)
    for other, theirs in enumerate(values):
        if theirs != values[0]:
            raise BenchError(f"rank {other}'s {what} differs from rank 0's; give every rank the same bench.toml, "
                             "task data, model and code")


def check_batch(batch_size: int) -> None:
    """Before anything runs: the global batch must split evenly over the ranks."""
    if active() and batch_size % world_size():
        raise BenchError(f"[train] batch_size {batch_size} does not split over {world_size()} ranks; use a multiple "
                         f"of {world_size()} (each rank trains on batch_size / ranks pairs a step)")


def shard(indices: torch.Tensor) -> torch.Tensor:
    """This rank's contiguous slice of a step's global batch (rank order = the global batch's order)."""
    size = world_size() if active() else 1
    if size == 1:
        return indices
    if len(indices) % size:
        raise BenchError(f"a batch of {len(indices)} pairs does not split over {size} ranks; set [train] batch_size "
                         f"to a multiple of {size} (and at most the number of training pairs)")
    per_rank = len(indices) // size
    return indices[rank() * per_rank:(rank() + 1) * per_rank]


def gather_pairs(messages: torch.Tensor, replies: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Every rank's message and reply embeddings, in rank order; only this rank's slot carries gradients."""
    if not active():
        return messages, replies
    local = torch.cat([messages, replies]).contiguous()
    parts = [torch.empty_like(local) for _ in range(world_size())]
    _collective("all_gather", dist.all_gather, parts, local.detach(), in_step=True)
    parts[rank()] = local
    count = messages.shape[0]
    return torch.cat([part[:count] for part in parts]), torch.cat([part[count:] for part in parts])


def sum_gradients(model: torch.nn.Module) -> None:
    """Sum the ranks' gradients (one flat all-reduce per dtype): each rank holds its share of the global loss's
    gradient, so the sum is the whole of it."""
    if not active():
        return
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    for dtype in sorted({g.dtype for g in grads}, key=str):
        group = [g for g in grads if g.dtype == dtype]
        flat = torch._utils._flatten_dense_tensors(group)
        _collective("all_reduce", dist.all_reduce, flat, in_step=True)
        for grad, summed in zip(group, torch._utils._unflatten_dense_tensors(flat, group), strict=True):
            grad.copy_(summed)
