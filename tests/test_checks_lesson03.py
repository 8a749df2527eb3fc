"""Lesson 03's checks reject the classic mistakes (the lecture's among them) and accept correct answers
written differently."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ptcourse.checks import lesson03 as check


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise 3.N is not done yet")


@pytest.mark.parametrize("run", [check.lr_forward, check.bce_loss, check.lr_backward, check.lr_optimize])
def test_a_stub_is_reported_as_not_done(run):
    with pytest.raises(NotImplementedError):
        run(stub)


def test_checks_leave_the_global_random_stream_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    check.lr_forward(lambda w, b, x: torch.sigmoid(w.T @ x + b))
    check.bce_loss(F.binary_cross_entropy)
    check.lr_backward(lambda x, yhat, y: {"dw": x @ (yhat - y).T / x.shape[1], "db": (yhat - y).mean()})
    check.lr_optimize(lambda w, b, g, lr: (w - lr * g["dw"], b - lr * g["db"]))
    assert torch.equal(torch.rand(3), expected)


def rejects(run, wrong, exercise, message):
    with pytest.raises(AssertionError, match=f"Exercise {exercise}") as error:
        run(wrong)
    assert message in str(error.value)


# --- Exercise 3.1: forward --------------------------------------------------------------------------
def test_forward_accepts_a_different_correct_answer(capsys):
    check.lr_forward(lambda w, b, x: 1 / (1 + torch.exp(-(torch.mm(w.t(), x) + b))))
    assert "Exercise 3.1 passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda w, b, x: torch.sigmoid(w.T @ x), "forgets the bias"),  # the lecture's forward
        (lambda w, b, x: w.T @ x + b, "σ(z)"),
        (lambda w, b, x: torch.sigmoid(x.T @ w + b), "samples are columns"),
        (lambda w, b, x: torch.sigmoid(w.T @ x - b), "torch.sigmoid(w.T @ x + b)"),
    ],
    ids=["lecture-no-bias", "no-sigmoid", "rows-not-columns", "minus-b"],
)
def test_forward_rejects_mistakes(wrong, message):
    rejects(check.lr_forward, wrong, "3.1", message)


def test_forward_rejects_writing_into_its_inputs():
    def transposes_w_in_place(w, b, x):
        return torch.sigmoid(w.t_() @ x + b)  # right numbers, but the caller's w is now (1, dim)

    rejects(check.lr_forward, transposes_w_in_place, "3.1", "do not write into the inputs")


# --- Exercise 3.2: loss -----------------------------------------------------------------------------
def logit_loss(yhat, y):
    """Correct, written differently: back to logits (clamped), then the log-sigmoid form."""
    p = yhat.clamp(1e-6, 1 - 1e-6)
    z = torch.log(p) - torch.log1p(-p)
    return -(y * F.logsigmoid(z) + (1 - y) * F.logsigmoid(-z)).sum() / y.shape[1]


@pytest.mark.parametrize("good", [F.binary_cross_entropy, logit_loss], ids=["torch", "log-sigmoid"])
def test_loss_accepts_different_correct_answers(good, capsys):
    check.bce_loss(good)
    assert "Exercise 3.2 passed" in capsys.readouterr().out


def bce(yhat, y, eps=1e-7, reduce=torch.mean):
    yhat = yhat.clamp(eps, 1 - eps)
    return -reduce(y * torch.log(yhat) + (1 - y) * torch.log(1 - yhat))


def naive(yhat, y):  # the lecture's loss
    m = y.size()[1]
    return -(1 / m) * torch.sum(y * torch.log(yhat) + (1 - y) * torch.log(1 - yhat))


def clamps_in_place(yhat, y):
    yhat.clamp_(1e-7, 1 - 1e-7)
    return bce(yhat, y)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (naive, "clamp ŷ"),
        (lambda yhat, y: bce(yhat, y, eps=1e-8), "3e-8"),  # 1 - 1e-8 rounds to 1 in float32
        (lambda yhat, y: bce(yhat, y, eps=0.01), "small ε"),
        (lambda yhat, y: bce(yhat, y, reduce=torch.sum), "the sum over samples"),
        (lambda yhat, y: -bce(yhat, y), "the sign"),
        (lambda yhat, y: -torch.mean(y * torch.log(yhat.clamp(1e-7, 1 - 1e-7))), "both terms"),
        (lambda yhat, y: bce(yhat, y, reduce=lambda t: t), "average over the samples"),
        (clamps_in_place, "clamp_"),
    ],
    ids=["lecture-naive", "eps-too-small-for-float32", "eps-too-large", "sum", "sign", "one-term", "no-reduction",
         "in-place"],
)
def test_loss_rejects_mistakes(wrong, message):
    rejects(check.bce_loss, wrong, "3.2", message)


# --- Exercise 3.3: backward -------------------------------------------------------------------------
def einsum_backward(x, yhat, y):
    """Correct, written differently: einsum and mean, db as a (1,)-shaped tensor."""
    r = (yhat - y).squeeze(0)
    return {"db": r.mean(dim=0, keepdim=True), "dw": torch.einsum("dm,m->d", x, r).unsqueeze(1) / x.shape[1]}


def test_backward_accepts_a_different_correct_answer(capsys):
    check.lr_backward(einsum_backward)
    assert "Exercise 3.3 passed" in capsys.readouterr().out


def grads(dw, db):
    return lambda x, yhat, y: {"dw": dw(x, yhat - y, x.shape[1]), "db": db(yhat - y, x.shape[1])}


@pytest.mark.parametrize(
    "wrong, message",
    [
        (grads(lambda x, r, m: x @ r.T, lambda r, m: r.sum() / m), "divide by m"),
        (grads(lambda x, r, m: x @ r.T / m, lambda r, m: r.sum()), "the mean of ŷ − y, not its sum"),
        (grads(lambda x, r, m: -x @ r.T / m, lambda r, m: -r.mean()), "the sign"),
        (grads(lambda x, r, m: (r @ x.T) / m, lambda r, m: r.mean()), "dw has w's shape"),
        (grads(lambda x, r, m: x @ r.T / m, lambda r, m: r.mean(dim=0)), "a scalar like b"),
        (grads(lambda x, r, m: x.mean(1, keepdim=True) * r.mean(), lambda r, m: r.mean()), "x @ (ŷ − y).T / m"),
        (grads(lambda x, r, m: x @ r.T / m, lambda r, m: r.sum() / (m + 1)), "db = (ŷ − y).sum() / m"),
    ],
    ids=["dw-sum", "db-sum", "sign", "dw-transposed", "db-per-sample", "dw-outer-of-means", "db-wrong-scale"],
)
def test_backward_rejects_mistakes(wrong, message):
    rejects(check.lr_backward, wrong, "3.3", message)


# --- Exercise 3.4: optimize -------------------------------------------------------------------------
def in_place_optimize(w, b, grads, lr):
    """Correct, written differently: in place, as the lecture does."""
    w -= lr * grads["dw"]
    b -= lr * grads["db"]
    return w, b


def test_optimize_accepts_a_different_correct_answer(capsys):
    check.lr_optimize(in_place_optimize)
    assert "Exercise 3.4 passed" in capsys.readouterr().out


def lecture_optimize(w, b, grads, lr):
    """The lecture's optimize, word for word apart from `self`."""
    w -= lr * grads["dw"]
    w -= lr * grads["db"]
    return w, b


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lecture_optimize, "the lecture's optimize"),
        (lambda w, b, g, lr: (w - lr * g["dw"], b), "b did not move"),
        (lambda w, b, g, lr: (w + lr * g["dw"], b + lr * g["db"]), "subtracts"),
        (lambda w, b, g, lr: (w - g["dw"], b - g["db"]), "w - lr * grads['dw']"),
        (lambda w, b, g, lr: (w - lr * g["dw"], b - lr * g["dw"]), "its own gradient"),
        (lambda w, b, g, lr: in_place_optimize(w, b, g, lr) and None, "a pair"),
    ],
    ids=["lecture-db-into-w", "b-frozen", "ascent", "no-lr", "b-with-dw", "returns-nothing"],
)
def test_optimize_rejects_mistakes(wrong, message):
    rejects(check.lr_optimize, wrong, "3.4", message)


# --- Exercise 3.5: one training step from the four pieces ---------------------------------------------
def good_step(w, b, x, y, lr):
    """Correct, written differently: let autograd do the backward pass."""
    w, b = w.clone().requires_grad_(), b.clone().requires_grad_()
    loss = F.binary_cross_entropy(torch.sigmoid(w.T @ x + b), y)
    dw, db = torch.autograd.grad(loss, (w, b))
    return (w - lr * dw).detach(), (b - lr * db).detach(), loss.item()


def lecture_step(forward_bias, update_b):
    def step(w, b, x, y, lr):
        m = x.shape[1]
        yhat = torch.sigmoid(w.T @ x + (b if forward_bias else 0))
        loss = F.binary_cross_entropy(yhat, y)
        dw, db = x @ (yhat - y).T / m, (yhat - y).sum() / m
        w = w - lr * dw
        if update_b:
            b = b - lr * db
        else:
            w = w - lr * db  # the lecture's optimize: `self.w -= self.lr * self.grads["db"]`
        return w, b, loss

    return step


def loss_after_step(w, b, x, y, lr):
    new_w, new_b, _ = good_step(w, b, x, y, lr)
    return new_w, new_b, F.binary_cross_entropy(torch.sigmoid(new_w.T @ x + new_b), y)


def test_lr_step_accepts_a_different_correct_answer(capsys):
    check.lr_step(good_step)
    assert "Exercise 3.5 passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lecture_step(forward_bias=False, update_b=True), "drops + b"),
        (lecture_step(forward_bias=True, update_b=False), "lecture's optimize"),
        (lecture_step(forward_bias=False, update_b=False), "both lecture mistakes"),
        (loss_after_step, "before optimizing"),
    ],
    ids=["lecture_forward", "lecture_optimize", "lecture_both", "loss_after_step"],
)
def test_lr_step_rejects_and_names_the_lecture_mistakes(wrong, hint):
    with pytest.raises(AssertionError, match="Exercise 3.5") as error:
        check.lr_step(wrong)
    assert hint in str(error.value)


def test_lr_step_stub_is_reported_as_not_done():
    with pytest.raises(NotImplementedError):
        check.lr_step(stub)
