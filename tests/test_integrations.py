"""bench's strategies in a team's own training: `bench.apply` (the functional form) on Hugging Face models, and
`StrategyCallback` driving the lifecycle hooks inside `transformers.Trainer`, with hooks and autograd proving that a
dropped or skipped layer does not run and a frozen prefix has no backward work."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn
from transformers import BertForSequenceClassification, Trainer, TrainerCallback, TrainingArguments

import bench
from bench.errors import BenchError
from bench.integrations import StrategyCallback
from bench.integrations.functional import check_usable
from bench.integrations.target import ModelTarget, find_encoders
from bench.model.encoder import BiEncoder
from bench.registry import REGISTRY, Composed, Strategy, load_plugins
from bench.render.recommendation import spec_of
from bench.training.loop import train
from tests.support.models import encoded_pairs, tiny_bert, tiny_bert_config

STEPS = 8


def classifier(layers: int = 4, seed: int = 0) -> BertForSequenceClassification:
    torch.manual_seed(seed)
    return BertForSequenceClassification(tiny_bert_config(layers, num_labels=2))


def snapshot(model: nn.Module) -> dict:
    return {k: v.clone() for k, v in model.state_dict().items()}


def same(before: dict, model: nn.Module) -> bool:
    after = model.state_dict()
    return before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)


class Rows(torch.utils.data.Dataset):
    """Random token rows with labels: enough for a Trainer to take STEPS steps."""

    def __init__(self, n: int = 4 * STEPS):
        generator = torch.Generator().manual_seed(1)
        self.ids = torch.randint(5, 200, (n, 8), generator=generator)
        self.labels = torch.randint(0, 2, (n,), generator=generator)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.ids[i], "attention_mask": torch.ones(8, dtype=torch.long), "labels": self.labels[i]}


def trainer(model, callbacks, tmp_path, **given) -> Trainer:
    args = TrainingArguments(output_dir=str(tmp_path), max_steps=STEPS, per_device_train_batch_size=4, use_cpu=True,
                             report_to="none", save_strategy="no", logging_strategy="no", disable_tqdm=True,
                             learning_rate=1e-3, seed=0, dataloader_num_workers=0)
    return Trainer(model=model, args=args, train_dataset=Rows(), callbacks=callbacks, **given)


# --- the functional form ------------------------------------------------------------------------------------------

def test_apply_drops_layers_for_good_and_a_dropped_layer_never_runs():
    model = classifier()
    gone = model.bert.encoder.layer[3]  # layer-drop drops the top layers
    calls: list[int] = []
    gone.register_forward_hook(lambda *_: calls.append(1))
    assert bench.apply(model, "layer-drop:count=2") is model
    assert len(model.bert.encoder.layer) == model.config.num_hidden_layers == 2
    assert all(p is not q for p in model.parameters() for q in gone.parameters())
    model(input_ids=torch.randint(5, 200, (2, 6))).logits.sum().backward()
    assert calls == []


def test_apply_freezes_a_prefix_with_no_backward_work_and_no_dropout():
    model = classifier()
    bench.apply(model, "layer-freeze:count=2")
    encoder = model.bert
    frozen = [encoder.embeddings, *encoder.encoder.layer[:2]]
    assert all(not p.requires_grad for m in frozen for p in m.parameters())
    backward: list[int] = []
    for module in frozen:
        module.register_full_backward_hook(lambda *_: backward.append(1))
    model.train()  # what a trainer does each step
    modes: list[bool] = []
    encoder.encoder.layer[1].register_forward_hook(lambda module, *_: modes.append(module.training))
    out = model(input_ids=torch.randint(5, 200, (2, 6)), labels=torch.tensor([0, 1]))
    out.loss.backward()
    assert modes == [False] and encoder.encoder.layer[2].training
    assert backward == [] and all(p.grad is None for m in frozen for p in m.parameters())
    assert all(p.grad is not None for p in encoder.encoder.layer[2].parameters())


def test_apply_reaches_the_encoder_inside_a_model_and_lora_trains_only_its_adapters():
    model = classifier()
    bench.apply(model, "lora:rank=2,freeze=1")
    trainable = [n for n, p in model.bert.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)  # in the encoder, the adapters alone train
    assert not any(n.startswith("encoder.layer.0.") for n in trainable)
    assert all(p.requires_grad for p in model.classifier.parameters())  # the task's head is not bench's to freeze


@pytest.mark.parametrize(("spec", "message"), [
    ("layer-drop:count=9", "count must be between 0 and 3"),
    ("drop-freeze:drop=2,freeze=3", "cannot freeze 3 layers of a 2-layer model"),  # fails after its drop
    ("layer-dorp:count=1", "did you mean 'layer-drop'"),
    ("layer-drop:cnt=1", "has no parameter 'cnt'"),
    ("cached-prefix:count=2", "closest that works: layer-freeze"),
    ("progressive-freeze:count=2", "StrategyCallback"),
    ("zero-shot", "does not train"),
    ("mixed-precision", "bf16=True"),
    ("equal-time:fraction=0.5", "max_steps"),
])
def test_a_bad_spec_or_strategy_is_one_error_and_the_model_is_untouched(spec, message):
    model = classifier()
    before = snapshot(model)
    with pytest.raises(BenchError, match=message):
        bench.apply(model, spec)
    assert same(before, model) and len(model.bert.encoder.layer) == model.config.num_hidden_layers == 4
    assert all(p.requires_grad for p in model.parameters())


@dataclasses.dataclass(frozen=True)
class CutsBatches(Strategy):
    def pairs(self, ctx, batch_size: int) -> int:
        return batch_size // 2


def test_a_strategy_that_sizes_bench_s_batches_is_refused_by_the_integrations():
    with pytest.raises(BenchError, match="`pairs` hook"):
        check_usable(CutsBatches(), "cuts")
    with pytest.raises(BenchError, match="`pairs` hook"):
        check_usable(Composed((REGISTRY.build("layer-drop", {"count": 1}), CutsBatches())), "both")


def test_an_unsupported_architecture_is_refused_by_name():
    from transformers import GPT2Config, GPT2Model

    with pytest.raises(BenchError, match="unsupported model GPT2Model"):
        bench.apply(GPT2Model(GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=100)), "layer-drop:count=1")
    with pytest.raises(BenchError, match="needs a torch model"):
        bench.apply("all-MiniLM-L6-v2", "layer-drop:count=1")


def test_a_strategy_is_applied_once():
    model = classifier()
    bench.apply(model, "layer-drop:count=1")
    with pytest.raises(BenchError, match="already applied"):
        bench.apply(model, "layer-drop:count=1")
    assert len(model.bert.encoder.layer) == 3


# --- the trainer callback -------------------------------------------------------------------------------------------

class Probe(TrainerCallback):
    """After the strategy's hooks: the frozen prefix each step trains with, which layers ran, what had gradients."""

    def __init__(self, strategy: StrategyCallback, model):
        self.strategy, self.frozen, self.skipped, self.ran, self.grads, self.after = strategy, [], [], [], [], []
        self.layers = list(find_encoders(model)[0].encoder.layer)
        for index, layer in enumerate(self.layers):
            layer.register_forward_hook(lambda *_, i=index: self.ran[-1].add(i))

    def on_step_begin(self, args, state, control, **kwargs):
        self.frozen.append(self.strategy.target.frozen_prefix)
        self.skipped.append(set(self.strategy.target.skipped_layers))
        self.ran.append(set())

    def on_pre_optimizer_step(self, args, state, control, **kwargs):
        self.grads.append([any(p.grad is not None for p in layer.parameters()) for layer in self.layers])

    def on_step_end(self, args, state, control, **kwargs):
        self.after.append(self.strategy.target.frozen_prefix)


def bench_frozen_steps(spec: str) -> list[int]:
    """The frozen prefix after each step of bench's own loop, same strategy and step count."""
    strategy = load_plugins().build(*_parsed(spec))
    model, seen = BiEncoder(tiny_bert(4)), []
    messages, replies = encoded_pairs(4 * STEPS)
    from bench.config import TrainConfig

    cfg = TrainConfig(batch_size=4, epochs=1.0, curve_points=1)
    train(model, messages, replies, cfg, 0, torch.device("cpu"), strategy=strategy,
          on_step=lambda: seen.append(model.frozen_prefix))
    return seen


def _parsed(spec: str):
    from bench.config import parse_strategy

    parsed = parse_strategy(spec, "test")
    return parsed.name, parsed.params


def test_progressive_freeze_freezes_at_bench_steps_and_frozen_parameters_leave_the_optimizer(tmp_path):
    model = classifier()
    callback = StrategyCallback("progressive-freeze:count=3,t0=0.25")
    probe = Probe(callback, model)
    run = trainer(model, [callback, probe], tmp_path)
    run.train()
    # the frozen prefix each step trained with, in the trainer and in bench's own loop
    assert probe.frozen == probe.after == bench_frozen_steps("progressive-freeze:count=3,t0=0.25")
    assert probe.frozen[0] == 0 and probe.frozen[-1] == callback.target.frozen_prefix == 3
    in_optimizer = {id(p) for group in run.optimizer.param_groups for p in group["params"]}
    frozen = [p for layer in model.bert.encoder.layer[:3] for p in layer.parameters()]
    assert not any(id(p) in in_optimizer or p in run.optimizer.state for p in frozen)
    for step, grads in enumerate(probe.grads):  # a frozen layer gets no gradient: no backward work for it
        assert grads[:probe.frozen[step]] == [False] * probe.frozen[step]


def test_auto_freeze_in_the_trainer_freezes_at_the_steps_bench_does(tmp_path):
    spec = "auto-freeze:interval=2,threshold=100"  # every layer's norm "converged": it freezes at its second look
    model = classifier()
    callback = StrategyCallback(spec)
    probe = Probe(callback, model)
    trainer(model, [callback, probe], tmp_path).train()
    assert probe.after == bench_frozen_steps(spec)  # it freezes after the step that decides, in both
    assert probe.after[0] == 0 and max(probe.after) == 3  # all but the top layer (max_frozen = 0)
    for step, grads in enumerate(probe.grads):
        assert grads[:probe.frozen[step]] == [False] * probe.frozen[step]


def test_stochastic_depth_in_the_trainer_skips_layers_that_then_do_not_run(tmp_path):
    model = classifier()
    callback = StrategyCallback("stochastic-depth:p=0.5")
    probe = Probe(callback, model)
    trainer(model, [callback, probe], tmp_path).train()
    assert any(probe.skipped) and len(probe.ran) == STEPS
    for skipped, ran in zip(probe.skipped, probe.ran, strict=True):
        assert ran == set(range(4)) - skipped
    assert len(model.bert.encoder.layer) == 4 and callback.target.skipped_layers == frozenset()


def test_a_callback_that_changes_the_model_acts_before_the_optimizer_is_built(tmp_path):
    model = classifier()
    run = trainer(model, [StrategyCallback("layer-drop:count=2")], tmp_path)
    assert len(model.bert.encoder.layer) == 2  # at the trainer's init
    run.train()
    optimizer = {id(p) for group in run.optimizer.param_groups for p in group["params"]}
    assert optimizer == {id(p) for p in model.parameters() if p.requires_grad}


def test_after_apply_the_callback_does_not_change_the_model_twice(tmp_path):
    model = classifier()
    bench.apply(model, "layer-drop:count=1")
    trainer(model, [StrategyCallback("layer-drop:count=1")], tmp_path).train()
    assert len(model.bert.encoder.layer) == 3


def test_a_model_change_too_late_for_the_optimizer_is_refused_with_the_fix(tmp_path):
    model = classifier()
    late = trainer(model, [], tmp_path)
    late.add_callback(StrategyCallback("layer-drop:count=1"))
    with pytest.raises(BenchError, match=r"bench.apply\(model, 'layer-drop\(count=1\)'\)"):
        late.train()
    built = torch.optim.AdamW(classifier().parameters())
    with pytest.raises(BenchError, match="optimizer built before it"):
        trainer(classifier(), [StrategyCallback("layer-drop:count=1")], tmp_path, optimizers=(built, None))
    with pytest.raises(BenchError, match="closest that works: layer-freeze"):
        StrategyCallback("cached-prefix:count=1")


def test_the_model_api_over_a_trainers_model_is_the_one_strategies_use():
    target = ModelTarget(find_encoders(classifier()))
    assert target.num_layers == 4 and target.trainable_layers() == [0, 1, 2, 3]
    target.skip_layers([1, 2])
    assert target.num_layers == 4 and target.skipped_layers == {1, 2}
    target.skip_layers(())
    assert len(target.layers) == 4
    with pytest.raises(BenchError, match="cannot skip"):
        target.skip_layers([4])


def test_every_label_in_a_report_is_a_spec_the_integrations_accept():
    load_plugins()
    for label in ("layer-drop(count=3)", "drop-freeze(drop=2, freeze=2)", "progressive-freeze(count=4, t0=0.3)"):
        spec = spec_of(label)
        assert StrategyCallback(spec).spec.label == label
    assert spec_of("baseline") == "baseline" and "layer-drop" in REGISTRY


def test_the_callback_in_sentence_transformers_trainer_trains_only_what_the_strategy_leaves(tmp_path):
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers import SentenceTransformerTrainingArguments as Arguments
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    from bench.model.pretrained import load_pretrained

    loaded = load_pretrained("tiny-bert:layers=4,hidden=32,heads=2")
    loaded.encoder.save_pretrained(tmp_path / "tiny")
    loaded.tokenizer.save_pretrained(tmp_path / "tiny")
    model = SentenceTransformer(str(tmp_path / "tiny"), device="cpu")
    before = snapshot(model)
    pairs = Dataset.from_dict({"anchor": [f"can we meet at {i} tomorrow" for i in range(32)],
                               "positive": [f"yes, {i} works for me" for i in range(32)]})
    args = Arguments(output_dir=str(tmp_path / "out"), max_steps=STEPS, per_device_train_batch_size=4, use_cpu=True,
                     report_to="none", save_strategy="no", logging_strategy="no", disable_tqdm=True,
                     learning_rate=1e-3, seed=0)
    SentenceTransformerTrainer(model=model, args=args, train_dataset=pairs, loss=MultipleNegativesRankingLoss(model),
                               callbacks=[StrategyCallback("drop-freeze:drop=1,freeze=2")]).train()
    encoder = find_encoders(model)[0]
    assert len(encoder.encoder.layer) == 3
    after = model.state_dict()
    for key, value in after.items():
        frozen = ".embeddings." in key or any(f".encoder.layer.{i}." in key for i in (0, 1))
        moved = not torch.equal(before[key], value)
        # LayerNorm may not move in 8 steps; BERT's pooler is not in the loss (sentence-transformers mean-pools)
        if value.is_floating_point() and not any(part in key for part in ("LayerNorm", "position_ids", "pooler")):
            assert moved != frozen, key
    assert not any(".encoder.layer.3." in key for key in after)


# --- bench recommend ---------------------------------------------------------------------------------------------

def recommend_db(tmp_path, drop_worse: float, control_worse: float) -> str:
    from bench.results.store import Store
    from tests.support.stored import add_run

    url = f"sqlite:///{tmp_path}/recommend.db"
    store = Store(url)
    for seed in (0, 1, 2):
        add_run(store, "baseline", {}, seed, 30.0, 1.0)
        add_run(store, "layer-drop", {"count": 3}, seed, 18.0, drop_worse)
        add_run(store, "equal-time", {"matches": "layer-drop(count=3)"}, seed, 18.3, control_worse)
    return url


def test_bench_recommend_names_the_winner_its_evidence_and_the_lines_for_either_trainer(tmp_path, capsys):
    from bench.cli import main

    assert main(["recommend", "--db", recommend_db(tmp_path, 0.9, 1.2)]) == 0
    out = capsys.readouterr().out
    assert "recommendation: use layer-drop(count=3): non-inferior to the full baseline" in out
    assert "evidence: layer-drop(count=3), 3 seeds: mrr +" in out and "better than training less" in out
    assert "callbacks=[StrategyCallback('layer-drop:count=3')]" in out and "SentenceTransformerTrainer(" in out
    assert "bench.apply(model, 'layer-drop:count=3')" in out and "from transformers import Trainer" in out


def test_bench_recommend_gives_the_shorter_schedule_when_no_trick_beats_training_less(tmp_path, capsys):
    from bench.cli import main

    assert main(["recommend", "--db", recommend_db(tmp_path, 1.0, 0.9)]) == 0
    out = capsys.readouterr().out
    assert "recommendation: no strategy is both non-inferior to the full baseline and better than training less; " \
           "instead train the baseline for 61% of its steps" in out
    assert "max_steps=round(0.61 * full_steps)" in out and "StrategyCallback" not in out


def test_bench_recommend_on_a_database_without_results_is_one_error(tmp_path):
    from bench.cli import main
    from bench.results.store import Store

    Store(f"sqlite:///{tmp_path}/empty.db")
    with pytest.raises(BenchError, match="nothing to recommend: .* holds no completed runs"):
        main(["recommend", "--db", f"sqlite:///{tmp_path}/empty.db"])


def test_apply_works_on_mpnet_too():
    from transformers import MPNetConfig, MPNetModel

    torch.manual_seed(0)
    model = MPNetModel(MPNetConfig(vocab_size=100, hidden_size=32, num_hidden_layers=4, num_attention_heads=2,
                                   intermediate_size=64))
    bench.apply(model, "drop-freeze:drop=1,freeze=2")
    assert len(model.encoder.layer) == model.config.num_hidden_layers == 3
    frozen = [model.embeddings, model.encoder.relative_attention_bias, *model.encoder.layer[:2]]
    assert all(not p.requires_grad for m in frozen for p in m.parameters())
    model.train()
    model(input_ids=torch.randint(5, 100, (2, 6))).last_hidden_state.sum().backward()
    assert all(p.grad is None for m in frozen for p in m.parameters())
    assert all(p.grad is not None for p in model.encoder.layer[2].parameters())
