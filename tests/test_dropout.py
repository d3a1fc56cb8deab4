"""bench's dropout: torch's keep probability and scaling, masks drawn two elements per 64-bit draw, one attention
function for both layouts. Statistical checks use literal seeds and 5-sigma binomial bounds."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from transformers.integrations.sdpa_attention import sdpa_attention_forward

from bench.model import dropout
from bench.model.encoder import BiEncoder
from tests.support.models import tiny_bert


def _within_five_sigma(dropped: int, count: int, p: float) -> bool:
    return abs(dropped - count * p) <= 5 * math.sqrt(count * p * (1 - p))


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_masks_drop_with_probability_p_in_both_halves_of_a_draw_independently(p):
    torch.manual_seed(0)
    count = 2_000_001  # odd: the last draw's high word is unused
    keep = dropout.keep_mask(torch.Size([count]), p, torch.device("cpu"))
    assert keep.dtype == torch.bool and keep.shape == (count,)
    low, high = keep[0::2], keep[1::2]  # the two 32-bit words of each 64-bit draw
    for half in (low, high):
        assert _within_five_sigma(int((~half).sum()), len(half), p)
    pairs = len(high)
    assert _within_five_sigma(int((~low[:pairs] & ~high).sum()), pairs, p * p)  # neighbours independent


def test_a_seed_fixes_the_mask_and_the_output_is_the_input_times_mask_over_keep_probability():
    x = torch.randn(37, 11, requires_grad=True)
    torch.manual_seed(5)
    keep = dropout.keep_mask(x.shape, 0.25, x.device)
    torch.manual_seed(5)
    out = dropout.dropout(x, 0.25, True)
    torch.testing.assert_close(out, x.detach() * keep / 0.75, rtol=1e-6, atol=0)
    out.backward(torch.ones_like(out))
    torch.testing.assert_close(x.grad, keep / 0.75, rtol=1e-6, atol=0)
    torch.manual_seed(5)
    assert torch.equal(dropout.dropout(x, 0.25, True), out)


def test_dropout_is_unbiased():
    torch.manual_seed(1)
    x = torch.full((400_000,), 3.0)
    assert abs(float(dropout.dropout(x, 0.1, True).mean()) - 3.0) < 5 * 3.0 * math.sqrt(0.1 / 0.9 / 400_000)


def test_out_of_training_at_p_zero_and_one_it_is_torchs_dropout():
    x = torch.randn(8, 4)
    assert dropout.dropout(x, 0.3, False) is x
    assert torch.equal(dropout.dropout(x, 0.0, True), x)
    assert torch.equal(dropout.dropout(x, 1.0, True), torch.zeros_like(x))


def test_every_dropout_module_is_swapped_and_still_an_nn_dropout():
    model = BiEncoder(tiny_bert(layers=2))
    modules = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    assert modules and all(type(m) is dropout.FastDropout for m in modules)
    assert model.message_tower.config._attn_implementation == "bench"
    model.disable_dropout()  # `train.dropout = false` still finds them
    assert all(m.p == 0.0 for m in modules)


def _qkv(seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    query, key, value = (torch.randn(3, 2, 5, 4, generator=generator) for _ in range(3))
    keep = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=torch.bool)
    return query, key, value, keep.view(3, 1, 1, 5)


def test_attention_with_dropout_is_softmax_then_dropout_then_values():
    query, key, value, keep = _qkv(0)
    bias = torch.zeros(keep.shape).masked_fill(~keep, torch.finfo(torch.float32).min)
    module = dropout.FastDropout(0.4).train()
    torch.manual_seed(3)
    got = dropout.attention(module, query, key, value, bias, 0.5)
    torch.manual_seed(3)
    mask = dropout.keep_mask(torch.Size([6, 5, 5]), 0.4, query.device).view(3, 2, 5, 5)
    probabilities = torch.softmax(query @ key.transpose(-1, -2) * 0.5 + bias, dim=-1)
    torch.testing.assert_close(got, (probabilities * mask / 0.6) @ value)
    module.eval()  # no dropout: torch's own attention
    torch.testing.assert_close(dropout.attention(module, query, key, value, bias, 0.5),
                               F.scaled_dot_product_attention(query, key, value, attn_mask=keep, scale=0.5))


def test_the_hf_attention_function_takes_both_mask_kinds_and_defers_to_sdpa_without_dropout():
    query, key, value, keep = _qkv(1)
    bias = torch.zeros(keep.shape).masked_fill(~keep, torch.finfo(torch.float32).min)
    layer = nn.Module()
    layer.dropout = dropout.FastDropout(0.2)
    outputs = []
    for mask in (keep, bias):
        torch.manual_seed(9)
        outputs.append(dropout.hf_attention(layer, query, key, value, mask, dropout=0.2, scaling=0.5)[0])
    torch.testing.assert_close(outputs[0], outputs[1])
    without = dropout.hf_attention(layer, query, key, value, bias, dropout=0.0, scaling=0.5)[0]
    torch.testing.assert_close(without, sdpa_attention_forward(layer, query, key, value, bias, 0.0, 0.5)[0])


def test_a_bf16_input_stays_bf16_scaled_as_torch_scales_it():
    x = torch.ones(1000, dtype=torch.bfloat16)
    torch.manual_seed(2)
    out = dropout.dropout(x, 0.1, True)
    assert out.dtype == torch.bfloat16
    reference = F.dropout(x, 0.1, True)  # torch divides its bf16 noise by 0.9 in bf16: 1.109375
    assert set(out.unique().tolist()) <= {0.0, reference.max().item()}
