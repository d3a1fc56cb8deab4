"""The optional warm-up step leaves nothing behind that a timed run could see."""

import torch

from bench.config import TaskConfig, TrainConfig
from bench.model.pretrained import load_pretrained, weights_hash
from bench.tasks.task import load_task
from bench.tasks.tokenised import tokenise
from bench.training.warmup import warm_up
from tests.support.models import TINY


def test_warm_up_changes_neither_the_template_nor_the_random_state(task_dir):
    loaded = load_pretrained(TINY)
    cfg = TrainConfig(batch_size=8)
    data = tokenise(load_task(TaskConfig(name="toy", path=str(task_dir))), loaded.tokenizer, cfg, 1.0)
    weights, rng = weights_hash(loaded.encoder), torch.get_rng_state()
    assert warm_up(loaded, data, cfg, torch.device("cpu")) > 0
    assert weights_hash(loaded.encoder) == weights and torch.equal(torch.get_rng_state(), rng)
