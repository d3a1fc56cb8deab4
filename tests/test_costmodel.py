import itertools

import pytest
import torch

from bench.model.costmodel import (
    ADAMW_FLOPS_PER_PARAM,
    EncoderShape,
    TrainPlan,
    achieved_flops_per_second,
    efficiency,
    ideal_speedup,
    layer_forward_flops,
    matmul_peak_flops,
    step_flops,
)

# Tiny encoder: d=4, i=16, 3 layers, vocab 10, 8 positions; 6 tokens per step, seq_len n=2.
# F = 416 (below); attention A = 4nd = 32; Q/K/V input gradient 6d^2 = 96; embeddings 10d = 40; pooling 2d = 8.
TINY = EncoderShape(hidden=4, intermediate=16, layers=3, vocab=10, max_position=8)
TOKENS, SEQ = 6, 2
# BERT-base-like 6-layer encoder; batch 32 x 128 tokens.
BERT6 = EncoderShape(hidden=768, intermediate=3072, layers=6, vocab=30522)
B_TOKENS, B_SEQ = 32 * 128, 128


def assert_step(shape: EncoderShape, plan: TrainPlan, tokens: int, seq: int, flops: float, speedup=None) -> None:
    """step_flops is exactly `flops`; with `speedup` (a number, or a pytest.approx), ideal_speedup equals it."""
    assert step_flops(shape, plan, tokens, seq) == flops
    if speedup is not None:
        assert ideal_speedup(shape, plan, tokens, seq) == speedup


def test_tiny_shape_by_hand() -> None:
    # F = 2 * (4*4*4 + 2*4*16) + 2*2*2*4 = 2 * (64 + 128) + 32 = 416
    assert layer_forward_flops(4, 16, 2) == 416.0
    # params/layer = 4*16 + 4*4 + 2*4*16 + 4 + 16 + 4*4 = 64 + 16 + 128 + 4 + 16 + 16 = 244
    assert TINY.params_per_layer == 244
    # embeddings = (10 + 8 + 2) * 4 + 2*4 = 80 + 8 = 88
    assert TINY.embedding_params == 88
    assert ADAMW_FLOPS_PER_PARAM == 12


def test_bert_base_param_counts() -> None:
    # 4*768^2 + 4*768 + 2*768*3072 + 3072 + 768 + 4*768 = 2359296 + 3072 + 4718592 + 3072 + 768 + 3072
    assert BERT6.params_per_layer == 7_087_872
    # (30522 + 512 + 2) * 768 + 2*768 = 23835648 + 1536
    assert BERT6.embedding_params == 23_837_184


def test_tiny_baseline_step() -> None:
    # per token: forward 3F = 1248, embedding forward 10*4 = 40, pooling 8, backward 3 * 2F = 2496, embedding
    # backward 40, pooling backward 8 -> 3840; x 6 tokens = 23040
    # optimizer: 12 * (3*244 + 88) = 12 * 820 = 9840
    # total 23040 + 9840 = 32880 (32784 before pooling was counted: + 16 * 6)
    baseline = TrainPlan(layers_kept=3, frozen_prefix=0, embeddings_frozen=False)
    assert_step(TINY, baseline, TOKENS, SEQ, 32880.0, 1.0)


def test_tiny_one_dropped_one_frozen_prefix() -> None:
    # 2 layers kept (1 dropped), layer 0 frozen, embeddings frozen:
    # per token: forward 2F = 832, embedding forward 40, pooling 8, backward layer 0 none (nothing trainable
    # below), layer 1 (lowest trainable, no input gradient for Q/K/V) 2F - 96 = 736, pooling 8 -> 1624;
    # x 6 = 9744; optimizer 12 * 244 = 2928; total 12672 (13152 when layer 1 was charged 2F)
    # 32880 / 12672 = 2.5946970
    plan = TrainPlan(layers_kept=2, frozen_prefix=1, embeddings_frozen=True)
    assert_step(TINY, plan, TOKENS, SEQ, 12672.0, pytest.approx(2.5946970, rel=1e-7))


def test_tiny_frozen_prefix_over_trainable_embeddings_needs_backward() -> None:
    # as above but embeddings trainable: layer 0 must pass gradients down to them: input gradients of its
    # matmuls 384 and attention's backward 2A = 64, F + A = 448 (was charged F = 416: attention's backward is
    # two products per forward product). Layer 1 has trainable embeddings below: 2F.
    # per token: 832 + 40 + 8 + 40 (embedding backward) + 448 + 832 + 8 = 2208; x 6 = 13248
    # optimizer 12 * (244 + 88) = 3984; total 17232
    assert_step(TINY, TrainPlan(layers_kept=2, frozen_prefix=1, embeddings_frozen=False), TOKENS, SEQ, 17232.0)


def test_tiny_frozen_above() -> None:
    # 3 kept, layer 1 frozen between trainable layer 0 and 2, embeddings trainable:
    # per token: forward 1248 + 40 + 8, embedding backward 40; backward 832 + 448 (F + A) + 832 + 8 = 2120
    # -> 3456; x 6 = 20736; optimizer 12 * (2*244 + 88) = 12 * 576 = 6912; total 27648
    plan = TrainPlan(layers_kept=3, frozen_prefix=0, embeddings_frozen=False, frozen_above=(1,))
    assert_step(TINY, plan, TOKENS, SEQ, 27648.0)
    # frozen prefix {0} plus frozen top layer {2}, embeddings frozen:
    # per token: 1248 + 40 + 8; backward 0 + 736 (lowest trainable: 2F - 96) + 448 (F + A: trainable layer 1
    # below) + 8 = 1192 -> 2488; x 6 = 14928; optimizer 12 * 244 = 2928; total 17856
    plan = TrainPlan(layers_kept=3, frozen_prefix=1, embeddings_frozen=True, frozen_above=(2,))
    assert_step(TINY, plan, TOKENS, SEQ, 17856.0)


def test_bert6_baseline_step() -> None:
    # F = 2 * (4*768^2 + 2*768*3072) + 4*128*768 = 14155776 + 393216 = 14548992
    # per token: 2 * 7680 (embeddings) + 2 * 1536 (pooling) + 6F + 12F = 18432 + 261881856 = 261900288
    # x 4096 = 1072743579648; optimizer 12 * (6*7087872 + 23837184) = 796372992
    # total 1073539952640
    baseline = TrainPlan(layers_kept=6, frozen_prefix=0, embeddings_frozen=False)
    assert layer_forward_flops(768, 3072, 128) == 14_548_992.0
    assert_step(BERT6, baseline, B_TOKENS, B_SEQ, 1_073_539_952_640.0)


def test_bert6_drop_half_is_just_under_two() -> None:
    # 3 layers kept, all trainable: per token 18432 + 9F = 130959360; x 4096 = 536409538560
    # optimizer 12 * (3*7087872 + 23837184) = 541209600; total 536950748160
    # speedup 1073539952640 / 536950748160 = 1.9993267 (embeddings, pooling and the optimizer do not halve)
    plan = TrainPlan(layers_kept=3, frozen_prefix=0, embeddings_frozen=False)
    assert_step(BERT6, plan, B_TOKENS, B_SEQ, 536_950_748_160.0, pytest.approx(1.9993267, rel=1e-7))


def test_bert6_freeze_three_prefix_layers() -> None:
    # 6 kept, layers 0-2 and embeddings frozen: per token 7680 + 2 * 1536 + 6F + (2F - 6*768^2) + 2*2F
    # = 10752 + 12F - 3538944 = 171059712 (layer 3 needs no input gradient for Q/K/V)
    # x 4096 = 700660580352; optimizer 12 * 3 * 7087872 = 255163392; total 700915743744
    # speedup 1073539952640 / 700915743744 = 1.5316248 (1.5006002 when layer 3 was charged 2F)
    plan = TrainPlan(layers_kept=6, frozen_prefix=3, embeddings_frozen=True)
    assert_step(BERT6, plan, B_TOKENS, B_SEQ, 700_915_743_744.0)
    speedup = ideal_speedup(BERT6, plan, B_TOKENS, B_SEQ)
    assert 1.0 < speedup < 2.0
    assert speedup == pytest.approx(1.5316248, rel=1e-7)


def test_freezing_more_prefix_layers_is_monotone() -> None:
    speedups = [
        ideal_speedup(BERT6, TrainPlan(6, prefix, embeddings_frozen=True), B_TOKENS, B_SEQ)
        for prefix in range(7)
    ]
    assert all(a < b for a, b in itertools.pairwise(speedups))
    # prefix 0 only freezes the embeddings (and so layer 0's Q/K/V input gradient, 6d^2 of 18F): 1.4% faster
    assert speedups[0] == pytest.approx(1.0139913, rel=1e-7)
    # freezing everything leaves only the forward pass: ~3x (forward + 2x backward), a little more as the
    # embedding backward and the optimizer step vanish too
    assert speedups[-1] == pytest.approx(3.0, rel=0.01)


def test_invalid_plans_rejected() -> None:
    with pytest.raises(ValueError):
        step_flops(TINY, TrainPlan(layers_kept=4, frozen_prefix=0, embeddings_frozen=False), 6, 2)
    with pytest.raises(ValueError):
        step_flops(TINY, TrainPlan(layers_kept=2, frozen_prefix=3, embeddings_frozen=False), 6, 2)
    with pytest.raises(ValueError):
        step_flops(TINY, TrainPlan(2, 0, False, frozen_above=(2,)), 6, 2)
    with pytest.raises(ValueError):
        step_flops(TINY, TrainPlan(3, 0, False), 6, 9)  # seq_len > max_position


def test_efficiency() -> None:
    assert efficiency(1.5, 2.0) == 0.75  # 1.5 / 2.0
    assert efficiency(None, 2.0) is None
    assert efficiency(1.5, None) is None
    assert efficiency(1.5, 0.0) is None


def test_lowest_trainable_layer_above_frozen_prefix_skips_only_the_qkv_input_gradient() -> None:
    # 3 kept, layers 0-1 and embeddings frozen: nothing below layer 2 needs a gradient, so autograd skips the
    # input gradient of its Q/K/V projections, 2 * 3d^2 = 96 per token; the rest of its backward (attention,
    # output projection, FFN) is needed for its own weight gradients: 2F - 96 = 736, not 2F = 832 (nor F = 416).
    # per token: forward 1248 + 40 + 8; backward 736 + pooling 8 -> 2040; x 6 = 12240; optimizer 12 * 244 = 2928
    plan = TrainPlan(layers_kept=3, frozen_prefix=2, embeddings_frozen=True)
    assert step_flops(TINY, plan, TOKENS, SEQ) == 15168.0
    # with trainable embeddings below, the same layer is charged the full 2F: the difference is 96 per token,
    # less the embeddings' own 40 backward, plus their optimizer 12 * 88 and layers 0-1's F + A = 448 each
    trainable_below = TrainPlan(layers_kept=3, frozen_prefix=2, embeddings_frozen=False)
    assert step_flops(TINY, trainable_below, TOKENS, SEQ) - 15168.0 == 6 * (96 + 40 + 2 * 448) + 12 * 88


def test_layer_backward_charges_match_torch_flop_counter() -> None:
    # torch's own count of one BERT layer's matmul FLOPs (d=32, i=64, n=8, 2 heads; 3 sequences):
    # forward F, backward 2F trainable, 2F - 6d^2 with no gradient wanted for the input, F + A frozen.
    from torch.utils.flop_counter import FlopCounterMode
    from transformers.models.bert.modeling_bert import BertLayer

    from tests.support.models import tiny_bert_config

    d, i, n, batch = 32, 64, 8, 3
    config = tiny_bert_config(hidden=d, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    config._attn_implementation = "eager"
    layer = BertLayer(config)
    f, attention = layer_forward_flops(d, i, n), 4 * n * d  # 17408, 1024

    def per_token(input_grad: bool, weights_grad: bool) -> tuple[float, float]:
        layer.requires_grad_(weights_grad)
        x = torch.randn(batch, n, d, requires_grad=input_grad)
        with FlopCounterMode(display=False) as forward:
            out = layer(x)
        with FlopCounterMode(display=False) as backward:
            (out[0] if isinstance(out, tuple) else out).sum().backward()
        return forward.get_total_flops() / (batch * n), backward.get_total_flops() / (batch * n)

    assert per_token(True, True) == (f, 2 * f)  # (17408, 34816)
    assert per_token(False, True) == (f, 2 * f - 6 * d * d)  # 28672
    assert per_token(True, False) == (f, f + attention)  # 18432


def test_in_batch_head_scales_with_batch_squared() -> None:
    # B x B scores: 2 B^2 d forward + 4 B^2 d backward + 12 B^2 loss = B^2 (6 * 4 + 12) = 36 B^2 on TINY
    baseline = TrainPlan(layers_kept=3, frozen_prefix=0, embeddings_frozen=False)
    assert step_flops(TINY, baseline, TOKENS, SEQ, batch_size=3) == 32880.0 + 324.0  # 36 * 9
    assert step_flops(TINY, baseline, TOKENS, SEQ, batch_size=6) == 32880.0 + 1296.0  # 36 * 36: 4x for 2x B
    # nothing trainable: no backward anywhere, the head's forward only: B^2 (2 * 4 + 12) = 20 B^2
    frozen = TrainPlan(layers_kept=3, frozen_prefix=3, embeddings_frozen=True)
    assert step_flops(TINY, frozen, TOKENS, SEQ, batch_size=6) - step_flops(TINY, frozen, TOKENS, SEQ) == 720.0
    with pytest.raises(ValueError):
        step_flops(TINY, baseline, TOKENS, SEQ, batch_size=0)


def test_minilm_ideals() -> None:
    # all-MiniLM-L6-v2 (d 384, i 1536, 6 layers), batch 32 pairs x 2 sides x ~30 tokens
    minilm = EncoderShape(hidden=384, intermediate=1536, layers=6, vocab=30522)
    tokens, seq, batch = 2 * 32 * 30, 30, 32
    plans = {"layer-freeze(3)": TrainPlan(6, 3, True), "layer-drop(2)": TrainPlan(4, 0, False),
             "drop-freeze(2,2)": TrainPlan(4, 2, True)}
    ideal = {name: ideal_speedup(minilm, plan, tokens, seq, batch_size=batch) for name, plan in plans.items()}
    # before this model: 1.5021610, 1.4990478, 2.2531410
    assert ideal == pytest.approx({"layer-freeze(3)": 1.5336396, "layer-drop(2)": 1.4990157,
                                   "drop-freeze(2,2)": 2.3246600}, rel=1e-7)
    # charging AdamW its memory traffic (28 bytes/param at an assumed 10 FLOP/byte) raises the ideal of plans
    # that freeze the 11.9M-parameter embeddings and lowers layer-drop's (its optimizer work shrinks only 1.19x)
    heavy = {name: ideal_speedup(minilm, plan, tokens, seq, batch_size=batch, optimizer_flops_per_param=280)
             for name, plan in plans.items()}
    assert heavy["layer-freeze(3)"] > ideal["layer-freeze(3)"] and heavy["drop-freeze(2,2)"] > ideal["drop-freeze(2,2)"]
    assert heavy["layer-drop(2)"] < ideal["layer-drop(2)"]


def test_achieved_flops_per_second() -> None:
    # TINY baseline, 60 tokens in 10 steps over 2 s: (60 * 3840 + 10 * 9840) / 2 = (230400 + 98400) / 2
    baseline = TrainPlan(layers_kept=3, frozen_prefix=0, embeddings_frozen=False)
    assert achieved_flops_per_second(TINY, baseline, 60, 2.0, seq_len=SEQ, steps=10) == 164400.0
    # with batch 3: + 10 * 324 per the head -> 166020
    assert achieved_flops_per_second(TINY, baseline, 60, 2.0, seq_len=SEQ, steps=10, batch_size=3) == 166020.0
    with pytest.raises(ValueError):
        achieved_flops_per_second(TINY, baseline, 60, 0.0, seq_len=SEQ, steps=10)


def test_matmul_peak_flops_is_the_best_of_its_timed_products() -> None:
    # A fake clock read twice a product: 4 s, 2 s (the best), 3 s; so 2 * 64^3 FLOPs in 2 s, whatever the machine.
    ticks = iter([0.0, 4.0, 10.0, 12.0, 20.0, 23.0])
    peak = matmul_peak_flops("cpu", size=64, repeats=3, clock=lambda: next(ticks))
    assert peak == 2.0 * 64**3 / 2.0
    assert next(ticks, None) is None  # each product timed, nothing else
    with pytest.raises(ValueError):
        matmul_peak_flops("cpu", size=0)
