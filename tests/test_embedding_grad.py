"""The word embeddings' gradient comes out of one reused buffer and equals autograd's dense gradient."""

import copy

import pytest
import torch
import torch.nn.functional as F

from bench.model.encoder import BiEncoder
from tests.support.models import tiny_bert

MESSAGES = (torch.tensor([[7, 8, 9, 10], [11, 7, 0, 0], [12, 13, 14, 0]]), torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0],
                                                                                      [1, 1, 1, 0]]))
REPLIES = (torch.tensor([[20, 21], [22, 0], [7, 23]]), torch.tensor([[1, 1], [1, 0], [1, 1]]))


def _backward(model: BiEncoder) -> None:
    messages, replies = model.encode_pairs(MESSAGES, REPLIES)
    F.cross_entropy(model.similarity(messages, replies), torch.arange(3)).backward()


def _pair(unpad: bool, shared: bool = True) -> tuple[BiEncoder, BiEncoder]:
    encoder = tiny_bert(layers=2).double()
    ours = BiEncoder(copy.deepcopy(encoder), shared_towers=shared, unpad=unpad)
    dense = BiEncoder(copy.deepcopy(encoder), shared_towers=shared, unpad=unpad)
    for tower in dense.towers:
        tower.embeddings.word_embeddings.sparse = False  # autograd's own dense backward; the hook leaves it
    for model in (ours, dense):
        model.disable_dropout()
        model.train()
    return ours, dense


def _word_grads(model: BiEncoder) -> list[torch.Tensor]:
    return [tower.embeddings.word_embeddings.weight.grad for tower in model.towers]


@pytest.mark.parametrize("unpad", [True, False])
@pytest.mark.parametrize("shared", [True, False])
def test_the_gradient_is_autograds_dense_gradient(unpad, shared):
    ours, dense = _pair(unpad, shared)
    for model in (ours, dense):
        _backward(model)
    for got, expected in zip(_word_grads(ours), _word_grads(dense), strict=True):
        assert got.layout == torch.strided and not got.is_sparse
        torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
        assert int(got.abs().sum(1).gt(0).sum()) <= 12  # only rows of tokens the step used


def test_the_buffer_is_reused_zeroed_and_accumulates_a_second_backward():
    ours, dense = _pair(unpad=True)
    _backward(ours)
    first = _word_grads(ours)[0]
    pointer, before = first.data_ptr(), first.clone()
    ours.zero_grad(set_to_none=True)
    _backward(ours)
    again = _word_grads(ours)[0]
    assert again.data_ptr() == pointer  # the same memory, not a fresh allocation
    torch.testing.assert_close(again, before, rtol=0, atol=0)  # zeroed first: nothing left from the last step
    _backward(ours)  # no zero_grad: gradients add up, as torch's do
    _backward(dense)
    _backward(dense)
    torch.testing.assert_close(_word_grads(ours)[0], _word_grads(dense)[0], rtol=1e-12, atol=1e-12)


def test_unshared_towers_keep_their_own_buffers():
    ours, _ = _pair(unpad=True, shared=False)
    _backward(ours)
    message, reply = _word_grads(ours)
    assert message.data_ptr() != reply.data_ptr()
    assert not torch.equal(message, reply)
