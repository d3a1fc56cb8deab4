import itertools

import pytest

from bench.model.costmodel import (
    ADAMW_FLOPS_PER_PARAM,
    EncoderShape,
    TrainPlan,
    efficiency,
    ideal_speedup,
    layer_forward_flops,
    step_flops,
)

# Tiny encoder: d=4, i=16, 3 layers, vocab 10, 8 positions; 6 tokens per step, seq_len n=2.
TINY = EncoderShape(hidden=4, intermediate=16, layers=3, vocab=10, max_position=8)
TOKENS, SEQ = 6, 2
# BERT-base-like 6-layer encoder; batch 32 x 128 tokens.
BERT6 = EncoderShape(hidden=768, intermediate=3072, layers=6, vocab=30522)
B_TOKENS, B_SEQ = 32 * 128, 128


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
    # per token: forward 3F = 1248, embedding forward 10*4 = 40, backward 3 * 2F = 2496, embedding
    # backward 40 -> 3824; x 6 tokens = 22944
    # optimizer: 12 * (3*244 + 88) = 12 * 820 = 9840
    # total 22944 + 9840 = 32784
    baseline = TrainPlan(layers_kept=3, frozen_prefix=0, embeddings_frozen=False)
    assert step_flops(TINY, baseline, TOKENS, SEQ) == 32784.0
    assert ideal_speedup(TINY, baseline, TOKENS, SEQ) == 1.0


def test_tiny_one_dropped_one_frozen_prefix() -> None:
    # 2 layers kept (1 dropped), layer 0 frozen, embeddings frozen:
    # per token: forward 2F = 832, embedding forward 40, backward layer 0 none (nothing trainable
    # below), layer 1 2F = 832 -> 1704; x 6 = 10224; optimizer 12 * 244 = 2928; total 13152
    plan = TrainPlan(layers_kept=2, frozen_prefix=1, embeddings_frozen=True)
    assert step_flops(TINY, plan, TOKENS, SEQ) == 13152.0
    # 32784 / 13152 = 2.4927007
    assert ideal_speedup(TINY, plan, TOKENS, SEQ) == pytest.approx(2.4927007, rel=1e-7)


def test_tiny_frozen_prefix_over_trainable_embeddings_needs_backward() -> None:
    # as above but embeddings trainable: layer 0 must pass gradients down to them (F = 416).
    # per token: 832 + 40 + 40 (embedding backward) + 416 + 832 = 2160; x 6 = 12960
    # optimizer 12 * (244 + 88) = 3984; total 16944
    plan = TrainPlan(layers_kept=2, frozen_prefix=1, embeddings_frozen=False)
    assert step_flops(TINY, plan, TOKENS, SEQ) == 16944.0


def test_tiny_frozen_above() -> None:
    # 3 kept, layer 1 frozen between trainable layer 0 and 2, embeddings trainable:
    # per token: forward 1248 + 40 + 40; backward 832 + 416 + 832 = 2080 -> 3408; x 6 = 20448
    # optimizer 12 * (2*244 + 88) = 12 * 576 = 6912; total 27360
    plan = TrainPlan(layers_kept=3, frozen_prefix=0, embeddings_frozen=False, frozen_above=(1,))
    assert step_flops(TINY, plan, TOKENS, SEQ) == 27360.0
    # frozen prefix {0} plus frozen top layer {2}, embeddings frozen:
    # per token: 1248 + 40; backward 0 + 832 + 416 (trainable layer 1 below) = 1248 -> 2536; x 6 = 15216
    # optimizer 12 * 244 = 2928; total 18144
    plan = TrainPlan(layers_kept=3, frozen_prefix=1, embeddings_frozen=True, frozen_above=(2,))
    assert step_flops(TINY, plan, TOKENS, SEQ) == 18144.0


def test_bert6_baseline_step() -> None:
    # F = 2 * (4*768^2 + 2*768*3072) + 4*128*768 = 14155776 + 393216 = 14548992
    # per token: 2 * 7680 (embeddings) + 6F + 12F = 15360 + 261881856 = 261897216
    # x 4096 = 1072730996736; optimizer 12 * (6*7087872 + 23837184) = 796372992
    # total 1073527369728
    baseline = TrainPlan(layers_kept=6, frozen_prefix=0, embeddings_frozen=False)
    assert layer_forward_flops(768, 3072, 128) == 14_548_992.0
    assert step_flops(BERT6, baseline, B_TOKENS, B_SEQ) == 1_073_527_369_728.0


def test_bert6_drop_half_is_just_under_two() -> None:
    # 3 layers kept, all trainable: per token 15360 + 9F = 130956288; x 4096 = 536396955648
    # optimizer 12 * (3*7087872 + 23837184) = 541209600; total 536938165248
    # speedup 1073527369728 / 536938165248 = 1.9993501 (embeddings and their optimizer do not halve)
    plan = TrainPlan(layers_kept=3, frozen_prefix=0, embeddings_frozen=False)
    assert step_flops(BERT6, plan, B_TOKENS, B_SEQ) == 536_938_165_248.0
    assert ideal_speedup(BERT6, plan, B_TOKENS, B_SEQ) == pytest.approx(1.9993501, rel=1e-7)


def test_bert6_freeze_three_prefix_layers() -> None:
    # 6 kept, layers 0-2 and embeddings frozen: per token 7680 + 6F + 3*2F = 7680 + 12F = 174595584
    # x 4096 = 715143512064; optimizer 12 * 3 * 7087872 = 255163392; total 715398675456
    # speedup 1073527369728 / 715398675456 = 1.5006002
    plan = TrainPlan(layers_kept=6, frozen_prefix=3, embeddings_frozen=True)
    assert step_flops(BERT6, plan, B_TOKENS, B_SEQ) == 715_398_675_456.0
    speedup = ideal_speedup(BERT6, plan, B_TOKENS, B_SEQ)
    assert 1.0 < speedup < 2.0
    assert speedup == pytest.approx(1.5006002, rel=1e-7)


def test_freezing_more_prefix_layers_is_monotone() -> None:
    speedups = [
        ideal_speedup(BERT6, TrainPlan(6, prefix, embeddings_frozen=True), B_TOKENS, B_SEQ)
        for prefix in range(7)
    ]
    assert all(a < b for a, b in itertools.pairwise(speedups))
    # prefix 0 only freezes the embeddings: barely faster than the baseline
    assert 1.0 < speedups[0] < 1.001
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
