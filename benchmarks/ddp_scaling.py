"""Does training scale over ranks? The same global batch trained on 1 rank, then on N gloo (or nccl) ranks.

Each setting runs bench's own training loop (bench.training.loop.train: sharded batch, gathered in-batch
negatives, summed gradients) on random token ids for a fixed number of steps, after one untimed warm-up step,
and prints rank 0's training seconds as steps/s and samples/s (global pairs a second), the speedup over 1 rank
and the scaling efficiency (speedup / ranks).

    python benchmarks/ddp_scaling.py [--model tiny-bert:layers=4,hidden=64,heads=4] [--nproc 2] [--batch 32]
        [--steps 20] [--length 24] [--threads-per-rank N] [--device cpu|cuda]

Every setting gives each rank the same torch threads (default: CPU cores / --nproc), so one rank stands for one
device and the speedup is what adding devices buys. On a CPU the ranks still share memory bandwidth and caches,
and the gathers and the gradient all-reduce come on top: 2 ranks on 2 cores do not train twice as fast. The
figure that matters is on one GPU per rank; on CPU this checks the path, not the speedup.
"""

from __future__ import annotations

import argparse
import os
import socket
import tempfile
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rank_process(rank: int, world: int, port: int, args: argparse.Namespace, out: str) -> None:
    from transformers import BertModel

    from bench.config import TrainConfig
    from bench.measure.device import resolve_device
    from bench.model.encoder import BiEncoder
    from bench.model.pretrained import tiny_config
    from bench.tasks.batching import Encoded
    from bench.training.loop import train

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(args.threads_per_rank)
    device = resolve_device(args.device)
    if world > 1:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=rank, world_size=world)
    torch.manual_seed(0)
    model = BiEncoder(BertModel(tiny_config(args.model), add_pooling_layer=False), unpad=True).to(device)
    generator = torch.Generator().manual_seed(1)

    def pairs(count: int) -> Encoded:
        lengths = torch.randint(args.length // 2, args.length + 1, (count,), generator=generator)
        return Encoded(torch.randint(1000, 30000, (count, args.length), generator=generator), lengths)

    cfg = TrainConfig(batch_size=args.batch, epochs=1.0, curve_points=1)
    warm = pairs(args.batch)
    train(model, warm, warm, cfg, seed=0, device=device)  # one untimed step: the process's one-off costs
    data = pairs(args.batch * args.steps)
    result = train(model, data, data, cfg, seed=0, device=device)
    if rank == 0:
        Path(out).write_text(f"{result.seconds} {result.steps} {result.pairs}")
    if world > 1:
        dist.destroy_process_group()


def measure(world: int, args: argparse.Namespace) -> tuple[float, int, int]:
    with tempfile.TemporaryDirectory() as folder:
        out = str(Path(folder) / "result")
        mp.spawn(rank_process, args=(world, free_port(), args, out), nprocs=world, join=True)
        seconds, steps, pairs = Path(out).read_text().split()
    return float(seconds), int(steps), int(pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny-bert:layers=4,hidden=64,heads=4")
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32, help="global batch (pairs a step), split over the ranks")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--length", type=int, default=24, help="longest message/reply in tokens")
    parser.add_argument("--threads-per-rank", type=int, default=0, help="torch threads of every rank, in every "
                        "setting (one rank = one device of that many threads); default: CPU cores / --nproc")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    if args.batch % args.nproc:
        parser.error(f"--batch {args.batch} must be a multiple of --nproc {args.nproc}")
    args.threads_per_rank = args.threads_per_rank or max(1, (os.cpu_count() or 1) // args.nproc)
    print(f"{args.model}, global batch {args.batch}, {args.steps} steps, {args.device}, {os.cpu_count()} CPU cores, "
          f"{args.threads_per_rank} torch threads a rank")
    print(f"{'ranks':>5}  {'train s':>8}  {'steps/s':>8}  {'samples/s':>10}  {'speedup':>8}  {'efficiency':>10}")
    base = None
    for world in sorted({1, args.nproc}):
        seconds, steps, pairs = measure(world, args)
        rate = pairs / seconds
        base = base or rate
        print(f"{world:>5}  {seconds:>8.3f}  {steps / seconds:>8.2f}  {rate:>10.1f}  {rate / base:>8.2f}  "
              f"{rate / base / world:>10.2f}")


if __name__ == "__main__":
    main()
