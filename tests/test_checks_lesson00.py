"""Lesson 00's checks reject the classic tensor mistakes and accept correct answers written differently."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from checklib import Answers, Anything, Liar
from ptcourse.checks import lesson00 as check

answers = Answers(check)


test_a_stub_is_reported_as_not_done = answers.stub_test(check.to_channels_first, check.mse, check.standardize_rows, check.pairwise_sq_dists)


def test_checks_leave_the_global_random_stream_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    check.to_channels_first(lambda images: images.permute(0, 3, 1, 2))
    check.mse(lambda pred, target: ((pred.reshape(-1) - target.reshape(-1)) ** 2).mean())
    check.standardize_rows(lambda x: (x - x.mean(1, keepdim=True)) / x.std(1, keepdim=True, unbiased=False))
    check.pairwise_sq_dists(lambda a, b: ((a[:, None] - b[None]) ** 2).sum(-1))
    assert torch.equal(torch.rand(3), expected)


# --- Exercise 0.1: to_channels_first ----------------------------------------------------------------
answers.correct("0.1", "permute", lambda images: images.permute(0, 3, 1, 2))
answers.correct("0.1", "movedim", lambda images: images.movedim(-1, 1))
answers.correct("0.1", "two transposes", lambda images: images.transpose(1, 3).transpose(2, 3))
answers.correct("0.1", "einsum", lambda images: torch.einsum("nhwc->nchw", images))
answers.correct("0.1", "through a NumPy view", lambda images: torch.from_numpy(images.numpy().transpose(0, 3, 1, 2)))

answers.mistake("0.1", "reshape scrambles the pixels", lambda images: images.reshape(
    images.shape[0], images.shape[3], images.shape[1], images.shape[2]), match="regroup them")
answers.mistake("0.1", "view (fails on a non-contiguous batch)", lambda images: images.view(
    images.shape[0], images.shape[3], images.shape[1], images.shape[2]), match="regroup them|view")
answers.mistake("0.1", "transpose(1, 3) swaps H and W", lambda images: images.transpose(1, 3),
                match="height and width have traded places")
answers.mistake("0.1", "the inverse permutation", lambda images: images.permute(0, 2, 3, 1),
                match="takes input dimensions \\(0, 3, 1, 2\\)")
answers.mistake("0.1", ".T reverses every dimension", lambda images: images.T, match="reverses all four")
answers.mistake("0.1", "a contiguous copy", lambda images: images.permute(0, 3, 1, 2).contiguous(), match="a copy")
answers.mistake("0.1", "a clone", lambda images: images.permute(0, 3, 1, 2).clone(), match="copy")
answers.mistake("0.1", "converted to float", lambda images: images.permute(0, 3, 1, 2).float(), match="dtype")
answers.mistake("0.1", "in place", lambda images: images.transpose_(1, 3).transpose_(2, 3),
                match="images after the call")
answers.mistake("0.1", "a NumPy copy", lambda images: torch.tensor(images.numpy().transpose(0, 3, 1, 2)),
                match="a copy")

answers.gaming("0.1", "an object equal to anything", lambda images: Anything(), match="a torch.Tensor")
answers.gaming("0.1", "a tensor that says every comparison is equal",
               lambda images: images.reshape(images.shape[0], images.shape[3], images.shape[1],
                                             images.shape[2]).as_subclass(Liar), match="a torch.Tensor")


# --- Exercise 0.2: mse -------------------------------------------------------------------------------
answers.correct("0.2", "reshape, then mean", lambda pred, target: ((pred.reshape(-1) - target.reshape(-1)) ** 2).mean())
answers.correct("0.2", "F.mse_loss on flattened tensors", lambda pred, target: F.mse_loss(pred.flatten(), target.flatten()))
answers.correct("0.2", "view_as and a sum", lambda pred, target: (pred - target.view_as(pred)).pow(2).sum() / pred.numel())
answers.correct("0.2", "float64 inside", lambda pred, target: torch.mean(
    torch.square(pred.double().view(-1) - target.double().view(-1))))

answers.mistake("0.2", "the broadcasting bug", lambda pred, target: ((pred - target) ** 2).mean(),
                match="broadcast to \\(n, n\\)")
answers.mistake("0.2", "F.mse_loss without reshaping", lambda pred, target: F.mse_loss(pred, target),
                match="broadcast")
answers.mistake("0.2", "squeeze only pred", lambda pred, target: ((pred.squeeze(-1) - target) ** 2).mean(),
                match="broadcast")
answers.mistake("0.2", "no reduction", lambda pred, target: (pred.reshape(-1) - target.reshape(-1)) ** 2,
                match="reduce to one number")
answers.mistake("0.2", "sum instead of mean", lambda pred, target: ((pred.reshape(-1) - target.reshape(-1)) ** 2).sum(),
                match="the sum, not the mean")
answers.mistake("0.2", "root mean squared error",
                lambda pred, target: ((pred.reshape(-1) - target.reshape(-1)) ** 2).mean().sqrt(),
                match="square root")
answers.mistake("0.2", "mean absolute error", lambda pred, target: (pred.reshape(-1) - target.reshape(-1)).abs().mean(),
                match="mean absolute error")
answers.mistake("0.2", ".item()", lambda pred, target: ((pred.reshape(-1) - target.reshape(-1)) ** 2).mean().item(),
                match="cannot be backpropagated")
answers.mistake("0.2", "detached", lambda pred, target: ((pred.detach().reshape(-1) - target.reshape(-1)) ** 2).mean(),
                match="cut the loss off")
answers.mistake("0.2", "through NumPy", lambda pred, target: torch.tensor(
    ((pred.numpy().reshape(-1) - target.numpy().reshape(-1)) ** 2).mean()), match="in-place|raised")


@answers.mistake("0.2", "squeezes target in place", match="target after the call")
def mse_in_place(pred, target):
    target.squeeze_()
    return ((pred.reshape(-1) - target) ** 2).mean()


@answers.mistake("0.2", "squeezes pred in place", match="in-place methods")
def mse_pred_in_place(pred, target):
    pred.squeeze_()
    return ((pred - target.reshape(-1)) ** 2).mean()


@answers.gaming("0.2", "a new tensor that requires grad, not connected to pred", match="not connected to pred")
def mse_fake_graph(pred, target):
    value = ((pred.detach().reshape(-1) - target.reshape(-1)) ** 2).mean().item()
    return torch.tensor(value, requires_grad=True)


answers.gaming("0.2", "an object equal to anything", lambda pred, target: Anything(), match="a torch.Tensor")


# --- Exercise 0.3: standardize_rows --------------------------------------------------------------------
answers.correct("0.3", "keepdim and unbiased=False",
                lambda x: (x - x.mean(dim=1, keepdim=True)) / x.std(dim=1, keepdim=True, unbiased=False))
answers.correct("0.3", "var_mean with correction=0", lambda x: (lambda v, m: (x - m) / v.sqrt())(
    *torch.var_mean(x, dim=1, keepdim=True, correction=0)))
answers.correct("0.3", "unsqueeze and a hand-written variance",
                lambda x: (x - x.mean(1).unsqueeze(1)) / ((x - x.mean(1).unsqueeze(1)) ** 2).mean(1).sqrt()[:, None])
answers.correct("0.3", "F.layer_norm without eps", lambda x: F.layer_norm(x, x.shape[-1:], eps=0.0))
answers.correct("0.3", "on the transpose", lambda x: ((x.T - x.T.mean(0)) / x.T.std(0, unbiased=False)).T)

answers.mistake("0.3", "std's default divides by d - 1",
                lambda x: (x - x.mean(dim=1, keepdim=True)) / x.std(dim=1, keepdim=True), match="divides by d - 1")
answers.mistake("0.3", "no keepdim", lambda x: (x - x.mean(dim=1)) / x.std(dim=1, unbiased=False),
                match="keepdim")
answers.mistake("0.3", "columns instead of rows",
                lambda x: (x - x.mean(dim=0, keepdim=True)) / x.std(dim=0, keepdim=True, unbiased=False),
                match="standardises the columns")
answers.mistake("0.3", "one mean and std for everything", lambda x: (x - x.mean()) / x.std(unbiased=False),
                match="whole tensor")
answers.mistake("0.3", "only centred", lambda x: x - x.mean(dim=1, keepdim=True), match="not scaled")
answers.mistake("0.3", "divides by the variance",
                lambda x: (x - x.mean(dim=1, keepdim=True)) / x.var(dim=1, keepdim=True, unbiased=False),
                match="divides by the variance")
answers.mistake("0.3", "float32 from NumPy", lambda x: torch.tensor(
    (x.numpy() - x.numpy().mean(1, keepdims=True)) / x.numpy().std(1, keepdims=True), dtype=torch.float32),
    match="dtype")


@answers.mistake("0.3", "in place", match="x after the call")
def standardize_in_place(x):
    x -= x.mean(dim=1, keepdim=True)
    x /= x.std(dim=1, keepdim=True, unbiased=False)
    return x


@answers.correct("0.3", "a loop over rows")
def standardize_loop(x):
    rows = []
    for row in x:
        rows.append((row - row.mean()) / row.std(unbiased=False))
    return torch.stack(rows)


@answers.gaming("0.3", "in place, then torch.equal patched to hide it", match="x after the call")
def standardize_in_place_hidden(x):
    torch.equal = lambda *args: True
    return standardize_in_place(x)


answers.gaming("0.3", "a tensor that says every comparison is equal", lambda x: x.clone().as_subclass(Liar),
               match="a torch.Tensor")
answers.gaming("0.3", "NumPy's result as an array", lambda x: (x.numpy() - x.numpy().mean(1, keepdims=True))
               / x.numpy().std(1, keepdims=True), match="a torch.Tensor")


# --- Exercise 0.4: pairwise_sq_dists -------------------------------------------------------------------
answers.correct("0.4", "broadcasting", lambda a, b: ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))
answers.correct("0.4", "the expansion with @",
                lambda a, b: (a * a).sum(1)[:, None] - 2 * a @ b.T + (b * b).sum(1)[None, :])
answers.correct("0.4", "cdist squared", lambda a, b: torch.cdist(a, b) ** 2)
answers.correct("0.4", "unsqueeze and pow", lambda a, b: (a.unsqueeze(1) - b.unsqueeze(0)).pow(2).sum(dim=2))


@answers.correct("0.4", "a loop over the rows of a")
def dists_loop(a, b):
    return torch.stack([((row - b) ** 2).sum(1) for row in a])


answers.mistake("0.4", "no None: a[i] meets only b[i]", lambda a, b: ((a - b) ** 2).sum(1),
                match="pairs a\\[i\\] with b\\[i\\] only|raised")
answers.mistake("0.4", "no sum", lambda a, b: (a[:, None, :] - b[None, :, :]) ** 2, match="one number per pair")
answers.mistake("0.4", "distances, not squared", lambda a, b: ((a[:, None] - b[None]) ** 2).sum(-1).sqrt(),
                match="no sqrt")
answers.mistake("0.4", "cdist", lambda a, b: torch.cdist(a, b), match="no sqrt")
answers.mistake("0.4", "b against a", lambda a, b: ((b[:, None] - a[None]) ** 2).sum(-1),
                match="rows of the result belong to a|not b\\[i\\] with a\\[j\\]")
answers.mistake("0.4", "dot products only", lambda a, b: a @ b.T, match="dot products")
answers.mistake("0.4", "the factor 2 forgotten", lambda a, b: (a * a).sum(1)[:, None] - a @ b.T + (b * b).sum(1)[None, :],
                match="factor 2")
answers.mistake("0.4", "float32 always", lambda a, b: ((a[:, None] - b[None]) ** 2).sum(-1).float(), match="dtype")
answers.mistake("0.4", "sum over the wrong dimension", lambda a, b: ((a[:, None] - b[None]) ** 2).sum(0),
                match="shape")

answers.gaming("0.4", "an object equal to anything", lambda a, b: Anything(), match="a torch.Tensor")


@answers.gaming("0.4", "swallows its exception and returns zeros of the right shape", match="values of")
def dists_swallowed(a, b):
    try:
        return ((a - b) ** 2).sum(1)
    except RuntimeError:
        return torch.zeros(len(a), len(b), dtype=a.dtype)


test_answer = answers.test()


def test_messages_name_the_input_and_give_a_hint():
    with pytest.raises(AssertionError) as failure:
        check.to_channels_first(lambda images: images.reshape(images.shape[0], images.shape[3], *images.shape[1:3]))
    message = str(failure.value)
    assert "Exercise 0.1" in message and "(N, H, W, C) = (2, 4, 5, 3)" in message and "hint:" in message


def test_a_student_exception_becomes_the_check_message():
    with pytest.raises(AssertionError) as failure:
        check.pairwise_sq_dists(lambda a, b: ((a - b) ** 2).sum(1))
    message = str(failure.value)
    assert "raised an exception" in message and "RuntimeError" in message and "Traceback" not in message
