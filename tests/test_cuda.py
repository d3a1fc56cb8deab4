"""The CUDA path on a real GPU: the same maths as the CPU, frozen layers skip their backward work, the clock covers
the GPU's work (events, one sync), and a run end to end records the GPU and device-hours. CI has no GPU, so these
skip there with the reason; they run wherever `torch.cuda.is_available()`."""

import copy
import time

import pytest
import torch
import torch.nn.functional as F

from bench.config import TrainConfig, config_from_dict
from bench.measure.clock import Stopwatch
from bench.model.encoder import BiEncoder
from bench.registry import REGISTRY
from bench.results.store import Store
from bench.suite.runner import SuiteRun, run_suite
from bench.training.loop import train
from tests.support.models import TINY, encoded_pairs, tiny_bert
from tests.support.suites import small_suite

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU visible (CI has none)")
CUDA = torch.device("cuda")


def _batches(device: torch.device):
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 200, (6, 9), generator=generator)
    mask = (torch.arange(9)[None, :] < torch.tensor([9, 3, 5, 9, 2, 7])[:, None]).long()
    replies = torch.randint(5, 200, (6, 4), generator=generator)
    reply_mask = (torch.arange(4)[None, :] < torch.tensor([4, 2, 3, 1, 4, 2])[:, None]).long()
    return (ids.to(device), mask.to(device)), (replies.to(device), reply_mask.to(device))


def _loss_and_grads(model: BiEncoder, device: torch.device):
    model.to(device).train()
    messages, replies = model.encode_pairs(*_batches(device))
    loss = F.cross_entropy(model.similarity(messages, replies), torch.arange(6, device=device))
    loss.backward()
    return loss.detach().cpu(), {n: p.grad.cpu() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("unpad", [False, True])
def test_cuda_computes_what_the_cpu_computes(unpad):
    encoder = tiny_bert(layers=4).double()
    results = []
    for device in (torch.device("cpu"), CUDA):
        model = BiEncoder(copy.deepcopy(encoder), unpad=unpad)
        model.disable_dropout()
        results.append(_loss_and_grads(model, device))
    (cpu_loss, cpu_grads), (gpu_loss, gpu_grads) = results
    torch.testing.assert_close(gpu_loss, cpu_loss, rtol=1e-9, atol=1e-9)
    assert set(gpu_grads) == set(cpu_grads)
    for name, grad in cpu_grads.items():
        torch.testing.assert_close(gpu_grads[name], grad, rtol=1e-7, atol=1e-9, msg=name)


def test_a_frozen_prefix_gets_no_gradient_and_no_graph_on_cuda():
    model = BiEncoder(tiny_bert(layers=4), unpad=True)
    REGISTRY.build("layer-freeze", {"count": 2}).prepare(model)
    seen = []
    for index, layer in enumerate(model.message_tower.layers):  # the output projection runs on both layouts
        layer.output.dense.register_forward_hook(lambda m, a, out, i=index: seen.append((i, out.requires_grad)))
    _, grads = _loss_and_grads(model, CUDA)
    assert dict(seen) == {0: False, 1: False, 2: True, 3: True}
    assert not any(name.startswith(("message_tower.embeddings", "message_tower.layers.0.",
                                    "message_tower.layers.1.")) for name in grads)
    assert any(name.startswith("message_tower.layers.2.") for name in grads)


def test_the_cuda_stopwatch_covers_the_gpu_work_and_its_steps_tile_it():
    """Events queued per step, read once: the steps sum to the region, and the region is no shorter than the GPU
    work it holds (the clock waited for the queue to drain, it did not stop at kernel launch)."""
    a = torch.randn(4096, 4096, device=CUDA)
    a @ a  # cuBLAS's first call sets up its handle: not part of the work timed below
    torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(20):
        a @ a
    torch.cuda.synchronize()
    work = time.perf_counter() - started
    watch = Stopwatch(CUDA)
    watch.start()
    for _ in range(4):
        for _ in range(5):
            a @ a
        watch.lap()
    watch.stop()
    steps = watch.step_seconds()
    assert len(steps) == 4 and all(s > 0 for s in steps)
    assert sum(steps) == pytest.approx(watch.seconds, rel=0.05, abs=2e-3)
    assert watch.seconds >= 0.8 * work


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_training_on_cuda_learns_and_leaves_float32_weights(precision):
    messages, replies = encoded_pairs(32, seed=5)
    model = BiEncoder(tiny_bert(layers=2), unpad=True).to(CUDA)
    before = model.message_tower.layers[1].output.dense.weight.detach().clone()
    result = train(model, messages, replies, TrainConfig(batch_size=8, epochs=2, precision=precision), seed=0,
                   device=CUDA)
    after = model.message_tower.layers[1].output.dense.weight
    assert result.steps == 8 and after.dtype == torch.float32 and after.device.type == "cuda"
    assert torch.isfinite(after).all() and not torch.equal(after, before)


def test_a_suite_on_cuda_records_the_gpu_and_its_device_hours(tmp_path):
    from bench.tasks.toy import write_task

    document = small_suite(write_task(tmp_path / "task"), models=[TINY],
                           strategies=["baseline", "layer-freeze:count=1"], seeds=1)
    document["device"] = "cuda"
    config = config_from_dict(document)
    store = Store(f"sqlite:///{tmp_path}/results.db")
    run_suite(SuiteRun(config, config.suite("t"), store, show_progress=False))
    runs = store.runs()
    assert {r.strategy for r in runs} == {"baseline", "layer-freeze"}
    for run in runs:
        assert run.device_type == "cuda" and run.device_count == 1
        assert run.device_name == torch.cuda.get_device_name()
        assert run.device_hours == pytest.approx(run.train_seconds / 3600)
        assert run.memory_kind == "cuda_max_allocated" and run.peak_memory_bytes > 0
        assert 0 <= run.mrr <= 1


def test_the_gpu_energy_counter_reads_a_plausible_power_for_real_work():
    """NVML's total-energy counter around a matmul burst: joules over the region's seconds is a GPU's power."""
    from bench.measure.device import energy_meter
    from bench.measure.energy import EnergyGauge

    meter = energy_meter(CUDA, watts_per_core=10.0)
    assert meter is not None and meter.source == "counter" and meter.name.startswith("nvml:")
    a = torch.randn(8192, 8192, device=CUDA)
    watch = Stopwatch(CUDA, EnergyGauge(meter))
    watch.start()
    deadline = time.perf_counter() + 2.0
    while time.perf_counter() < deadline:
        for _ in range(10):
            a @ a
        torch.cuda.synchronize()
    watch.stop()
    energy = watch.energy.energy()
    watts = energy.joules / watch.seconds
    print(f"{meter.name}: {energy.joules:.1f} J in {watch.seconds:.2f} s = {watts:.0f} W")
    assert 30 < watts < 1500
