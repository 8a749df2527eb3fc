"""Lesson 03's checks reject the classic mistakes (the lecture's among them) with the hint each deserves,
accept correct answers written differently (float32, other APIs, other orders), and cannot be gamed."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from checklib import Answers
from ptcourse.checks import lesson03 as check

answers = Answers(check)
test_answer = answers.test()

class Anything:
    """Equal to everything, with any shape it is asked for."""

    shape = (1, 1)

    def __eq__(self, other):
        return True

    def __hash__(self):
        return 0


class Liar(torch.Tensor):
    """A tensor that reports every comparison as a match and every number as 0."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.Tensor.allclose, torch.equal, torch.Tensor.equal):
            return True
        if func is torch.Tensor.item:
            return 0.0
        return super().__torch_function__(func, types, args, kwargs or {})


def always_close(*args, **kwargs):
    return True


test_a_stub_is_reported_as_not_done = answers.stub_test(check.lr_forward, check.bce_loss, check.lr_backward, check.lr_optimize, check.lr_step)


def test_checks_leave_the_global_random_stream_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    check.lr_forward(lambda w, b, x: torch.sigmoid(w.T @ x + b))
    check.bce_loss(F.binary_cross_entropy)
    check.lr_backward(lambda x, yhat, y: {"dw": x @ (yhat - y).T / x.shape[1], "db": (yhat - y).mean()})
    check.lr_optimize(lambda w, b, g, lr: (w - lr * g["dw"], b - lr * g["db"]))
    check.lr_step(good_step)
    assert torch.equal(torch.rand(3), expected)


# --- Exercise 3.1: forward --------------------------------------------------------------------------
answers.correct("3.1", "torch.sigmoid", lambda w, b, x: torch.sigmoid(w.T @ x + b))
answers.correct("3.1", "1/(1+exp) with mm", lambda w, b, x: 1 / (1 + torch.exp(-(torch.mm(w.t(), x) + b))))
answers.correct("3.1", "float32 and einsum",
                lambda w, b, x: torch.special.expit(torch.einsum("dk,dm->km", w.float(), x.float()) + b.float()))
answers.correct("3.1", "bias first, tanh form", lambda w, b, x: 0.5 * (1 + torch.tanh((b + (x * w).sum(0, keepdim=True)) / 2)))

answers.mistake("3.1", "the lecture's forward: no + b", lambda w, b, x: torch.sigmoid(w.T @ x), match="forgets the bias")
answers.mistake("3.1", "returns z, no sigmoid", lambda w, b, x: w.T @ x + b, match="that is z")
answers.mistake("3.1", "samples as rows", lambda w, b, x: torch.sigmoid(x.T @ w + b), match="samples are columns")
answers.mistake("3.1", "minus b", lambda w, b, x: torch.sigmoid(w.T @ x - b), match="the sign of b")
answers.mistake("3.1", "exp(z) instead of exp(-z)", lambda w, b, x: 1 / (1 + torch.exp(w.T @ x + b)),
                match="minus sign in the exponent")
answers.mistake("3.1", "returns a numpy array", lambda w, b, x: torch.sigmoid(w.T @ x + b).numpy(), match="a tensor")
answers.mistake("3.1", "w @ x: shapes do not match", lambda w, b, x: torch.sigmoid(w @ x + b),
                match=r"raised an exception.*RuntimeError")
answers.mistake("3.1", "softmax instead of sigmoid", lambda w, b, x: torch.softmax(w.T @ x + b, dim=1),
                match=r"torch\.sigmoid\(w\.T @ x \+ b\)")


@answers.mistake("3.1", "transposes w in place", match="do not write into the inputs")
def transposes_w_in_place(w, b, x):
    return torch.sigmoid(w.t_() @ x + b)  # right numbers, but the caller's w is now (1, dim)


answers.gaming("3.1", "returns an object equal to anything", lambda w, b, x: Anything(), match="a tensor")
answers.gaming("3.1", "a tensor that reports every comparison as a match",
               lambda w, b, x: torch.zeros(1, x.shape[1], dtype=x.dtype).as_subclass(Liar), match="σ")


@answers.gaming("3.1", "patches torch.allclose, returns zeros", match="σ")
def patches_allclose(w, b, x):
    torch.allclose = always_close
    return torch.zeros(1, x.shape[1], dtype=x.dtype)


# --- Exercise 3.2: loss -----------------------------------------------------------------------------
def bce(yhat, y, eps=1e-7, reduce=torch.mean):
    yhat = yhat.clamp(eps, 1 - eps)
    return -reduce(y * torch.log(yhat) + (1 - y) * torch.log(1 - yhat))


@answers.correct("3.2", "log-sigmoid of clamped logits")
def logit_loss(yhat, y):
    p = yhat.clamp(1e-6, 1 - 1e-6)
    z = torch.log(p) - torch.log1p(-p)
    return -(y * F.logsigmoid(z) + (1 - y) * F.logsigmoid(-z)).sum() / y.shape[1]


answers.correct("3.2", "the notebook's clamp at 1e-7", bce)
answers.correct("3.2", "F.binary_cross_entropy (logs clamped at -100)", F.binary_cross_entropy)
answers.correct("3.2", "logs clamped, computed in float32, torch.where",
                lambda yhat, y: -torch.where(y.float() == 1, yhat.float().log(), (1 - yhat.float()).log())
                .clamp(min=-30).mean())
answers.correct("3.2", "clamp 1e-4, zero-dim via sum / m", lambda yhat, y: bce(yhat, y, eps=1e-4, reduce=torch.sum)
                / y.shape[1])


@answers.mistake("3.2", "the lecture's naive loss", match="clamp ŷ")
def naive(yhat, y):
    m = y.size()[1]
    return -(1 / m) * torch.sum(y * torch.log(yhat) + (1 - y) * torch.log(1 - yhat))


answers.mistake("3.2", "ε = 1e-8, too small for float32", lambda yhat, y: bce(yhat, y, eps=1e-8), match="3e-8")
answers.mistake("3.2", "ε = 0.01, too large", lambda yhat, y: bce(yhat, y, eps=0.01), match="ε is too large")
answers.mistake("3.2", "ε = 0.005, changes ŷ = 0.001", lambda yhat, y: bce(yhat, y, eps=0.005),
                match="must not change any ŷ in")
answers.mistake("3.2", "the sum, not the mean", lambda yhat, y: bce(yhat, y, reduce=torch.sum), match="the sum over samples")
answers.mistake("3.2", "the sign", lambda yhat, y: -bce(yhat, y), match="the sign")
answers.mistake("3.2", "one term only", lambda yhat, y: -torch.mean(y * torch.log(yhat.clamp(1e-7, 1 - 1e-7))),
                match="both terms")
answers.mistake("3.2", "no reduction", lambda yhat, y: bce(yhat, y, reduce=lambda t: t), match="one element")
answers.mistake("3.2", "returns a Python float", lambda yhat, y: bce(yhat, y).item(), match="one element")
answers.mistake("3.2", "log10", lambda yhat, y: bce(yhat, y) / torch.log(torch.tensor(10.0)), match="natural logarithm")
answers.mistake("3.2", "xlogy without clamping",
                lambda yhat, y: -(torch.xlogy(y, yhat) + torch.xlogy(1 - y, 1 - yhat)).mean(), match="clamp ŷ")
answers.mistake("3.2", "nan_to_num after the logs (the mean of two float maxima overflows)",
                lambda yhat, y: -torch.nan_to_num(y * torch.log(yhat) + (1 - y) * torch.log(1 - yhat)).mean(),
                match="clamp ŷ")
answers.mistake("3.2", "nan_to_num with a huge stand-in for -inf",
                lambda yhat, y: -torch.nan_to_num(y * torch.log(yhat) + (1 - y) * torch.log(1 - yhat),
                                                  neginf=-1e6).mean(), match="nan_to_num")


@answers.mistake("3.2", "clamps in place", match="clamp_")
def clamps_in_place(yhat, y):
    yhat.clamp_(1e-7, 1 - 1e-7)
    return bce(yhat, y)


@answers.gaming("3.2", "patches F.binary_cross_entropy to agree with a sum", match="the sum over samples")
def patches_the_reference(yhat, y):
    F.binary_cross_entropy = lambda p, t, *a, **k: bce(p, t, reduce=torch.sum)
    return bce(yhat, y, reduce=torch.sum)


answers.gaming("3.2", "a tensor subclass that reports 0 and every match",
               lambda yhat, y: torch.tensor(42.0).as_subclass(Liar), match="the formula")
answers.gaming("3.2", "an object equal to anything", lambda yhat, y: Anything(), match="a tensor with one element")


# --- Exercise 3.3: backward -------------------------------------------------------------------------
def grads(dw, db):
    return lambda x, yhat, y: {"dw": dw(x, yhat - y, x.shape[1]), "db": db(yhat - y, x.shape[1])}


answers.correct("3.3", "the notebook's", grads(lambda x, r, m: x @ r.T / m, lambda r, m: r.sum() / m))


@answers.correct("3.3", "einsum and mean, keys in the other order")
def einsum_backward(x, yhat, y):
    r = (yhat - y).squeeze(0)
    return {"db": r.mean(), "dw": torch.einsum("dm,m->d", x, r).unsqueeze(1) / x.shape[1]}


@answers.correct("3.3", "autograd on the scores, in float32")
def autograd_on_scores(x, yhat, y):
    p = yhat.float().clamp(1e-7, 1 - 1e-7)
    z = (torch.log(p) - torch.log1p(-p)).requires_grad_()
    F.binary_cross_entropy_with_logits(z, y.float()).backward()
    return {"dw": (x.float() @ z.grad.T).to(x.dtype), "db": z.grad.sum().to(x.dtype)}


answers.correct("3.3", "torch.mm and broadcasting", lambda x, yhat, y: {
    "dw": torch.mm(x, (yhat - y).t()).div(x.shape[1]), "db": torch.mean(yhat - y)})

answers.mistake("3.3", "dw not divided by m", grads(lambda x, r, m: x @ r.T, lambda r, m: r.sum() / m), match="divide by m")
answers.mistake("3.3", "db is the sum", grads(lambda x, r, m: x @ r.T / m, lambda r, m: r.sum()),
                match="the mean of ŷ − y, not its sum")
answers.mistake("3.3", "the sign", grads(lambda x, r, m: -x @ r.T / m, lambda r, m: -r.mean()), match="the sign")
answers.mistake("3.3", "dw transposed", grads(lambda x, r, m: (r @ x.T) / m, lambda r, m: r.mean()),
                match="dw has w's shape")
answers.mistake("3.3", "db per sample", grads(lambda x, r, m: x @ r.T / m, lambda r, m: r.mean(dim=0)),
                match="0-dim, like b")
answers.mistake("3.3", "db of shape (1,)", grads(lambda x, r, m: x @ r.T / m, lambda r, m: r.mean(dim=1)),
                match=r"a db of shape \(1,\)")
answers.mistake("3.3", "dw as an outer product of means",
                grads(lambda x, r, m: x.mean(1, keepdim=True) * r.mean(), lambda r, m: r.mean()), match=r"x @ \(ŷ − y\)\.T / m")
answers.mistake("3.3", "db over m + 1", grads(lambda x, r, m: x @ r.T / m, lambda r, m: r.sum() / (m + 1)),
                match=r"db = \(ŷ − y\)\.sum\(\) / m")
answers.mistake("3.3", "divides by the number of features",
                lambda x, yhat, y: {"dw": x @ (yhat - y).T / x.shape[0], "db": (yhat - y).mean()},
                match=r"x\.shape\[0\] is the number of features")
answers.mistake("3.3", "returns a tuple", lambda x, yhat, y: (x @ (yhat - y).T / x.shape[1], (yhat - y).mean()),
                match=r'a dict \{"dw"')
answers.mistake("3.3", "db as a Python float", grads(lambda x, r, m: x @ r.T / m, lambda r, m: r.mean().item()),
                match="db is a tensor")

answers.gaming("3.3", "dw equal to anything", grads(lambda x, r, m: Anything(), lambda r, m: r.mean()), match="dw is a tensor")


@answers.gaming("3.3", "a dict subclass that answers the reference", match="autograd")
def lying_dict(x, yhat, y):
    class Lies(dict):
        def __getitem__(self, key):
            return super().__getitem__(key).as_subclass(Liar)

        get = __getitem__

    return Lies(dw=torch.zeros(x.shape[0], 1, dtype=x.dtype), db=torch.zeros((), dtype=x.dtype))


# --- Exercise 3.4: optimize -------------------------------------------------------------------------
@answers.correct("3.4", "in place, as the lecture does (corrected)")
def in_place_optimize(w, b, grads, lr):
    w -= lr * grads["dw"]
    b -= lr * grads["db"]
    return w, b


answers.correct("3.4", "out of place", lambda w, b, g, lr: (w - lr * g["dw"], b - lr * g["db"]))
answers.correct("3.4", "torch.sub with alpha, as a list", lambda w, b, g, lr: [torch.sub(w, g["dw"], alpha=lr),
                                                                               torch.sub(b, g["db"], alpha=lr)])
answers.correct("3.4", "in float32", lambda w, b, g, lr: ((w.float() - lr * g["dw"].float()).to(w.dtype),
                                                           (b.float() - lr * g["db"].float()).to(b.dtype)))


@answers.mistake("3.4", "the lecture's optimize: db subtracted from w", match="the lecture's optimize")
def lecture_optimize(w, b, grads, lr):
    w -= lr * grads["dw"]
    w -= lr * grads["db"]
    return w, b


answers.mistake("3.4", "b frozen", lambda w, b, g, lr: (w - lr * g["dw"], b), match="b did not move")
answers.mistake("3.4", "ascent", lambda w, b, g, lr: (w + lr * g["dw"], b + lr * g["db"]), match="subtracts")
answers.mistake("3.4", "no learning rate", lambda w, b, g, lr: (w - g["dw"], b - g["db"]), match="scale the gradient")
answers.mistake("3.4", "b with dw", lambda w, b, g, lr: (w - lr * g["dw"], b - lr * g["dw"]), match="its own gradient")
answers.mistake("3.4", "returns nothing", lambda w, b, g, lr: in_place_optimize(w, b, g, lr) and None, match="a pair")
answers.mistake("3.4", "returns (b, w)", lambda w, b, g, lr: (b - lr * g["db"], w - lr * g["dw"]), match="its own gradient")
answers.mistake("3.4", "lr squared", lambda w, b, g, lr: (w - lr * lr * g["dw"], b - lr * lr * g["db"]),
                match=r"w − lr \* grads\['dw'\] and b")
answers.mistake("3.4", "grads['w'] key", lambda w, b, g, lr: (w - lr * g["w"], b - lr * g["b"]),
                match=r"raised an exception.*KeyError")

answers.gaming("3.4", "returns objects equal to anything", lambda w, b, g, lr: (Anything(), Anything()),
               match="return w, b as tensors")


@answers.gaming("3.4", "patches torch.allclose, leaves w and b alone", match="b did not move|lecture|w − lr")
def patches_allclose_optimize(w, b, grads, lr):
    torch.allclose = always_close
    return w, b


# --- Exercise 3.5: one training step from the four pieces ---------------------------------------------
@answers.correct("3.5", "autograd does the backward pass")
def good_step(w, b, x, y, lr):
    w, b = w.clone().requires_grad_(), b.clone().requires_grad_()
    loss = F.binary_cross_entropy(torch.sigmoid(w.T @ x + b), y)
    dw, db = torch.autograd.grad(loss, (w, b))
    return (w - lr * dw).detach(), (b - lr * db).detach(), loss.item()


@answers.correct("3.5", "the four pieces, by hand")
def by_hand(w, b, x, y, lr):
    m = x.shape[1]
    yhat = torch.sigmoid(w.T @ x + b)
    loss = bce(yhat, y)
    return w - lr * (x @ (yhat - y).T / m), b - lr * (yhat - y).mean(), loss


@answers.correct("3.5", "nn.Linear, BCEWithLogitsLoss and optim.SGD, in float32")
def torch_nn_step(w, b, x, y, lr):
    linear = nn.Linear(w.shape[0], 1)
    with torch.no_grad():
        linear.weight.copy_(w.T)
        linear.bias.copy_(b)
    optimizer = torch.optim.SGD(linear.parameters(), lr=lr)
    loss = nn.BCEWithLogitsLoss()(linear(x.T.float()), y.T.float())
    loss.backward()
    optimizer.step()
    return linear.weight.detach().T.to(w.dtype), linear.bias.detach().reshape(()).to(b.dtype), loss.detach()


def lecture_step(forward_bias, update_b):
    def step(w, b, x, y, lr):
        m = x.shape[1]
        yhat = torch.sigmoid(w.T @ x + (b if forward_bias else 0))
        loss = bce(yhat, y)
        dw, db = x @ (yhat - y).T / m, (yhat - y).sum() / m
        w = w - lr * dw
        if update_b:
            b = b - lr * db
        else:
            w = w - lr * db  # the lecture's optimize: `self.w -= self.lr * self.grads["db"]`
        return w, b, loss

    return step


@answers.mistake("3.5", "the loss after the step", match="before optimizing")
def loss_after_step(w, b, x, y, lr):
    new_w, new_b, _ = by_hand(w, b, x, y, lr)
    return new_w, new_b, bce(torch.sigmoid(new_w.T @ x + new_b), y)


@answers.mistake("3.5", "two steps", match="once each, in that order")
def two_steps(w, b, x, y, lr):
    w, b, loss = by_hand(w, b, x, y, lr)
    w, b, _ = by_hand(w, b, x, y, lr)
    return w, b, loss


@answers.mistake("3.5", "db from a forward pass with the new w", match="from the same w and b")
def stale_forward(w, b, x, y, lr):
    m = x.shape[1]
    yhat = torch.sigmoid(w.T @ x + b)
    loss = bce(yhat, y)
    w = w - lr * (x @ (yhat - y).T / m)
    b = b - lr * (torch.sigmoid(w.T @ x + b) - y).mean()
    return w, b, loss


answers.mistake("3.5", "the lecture's forward", lecture_step(forward_bias=False, update_b=True), match="drops \\+ b")
answers.mistake("3.5", "the lecture's optimize", lecture_step(forward_bias=True, update_b=False),
                match="lecture's optimize")
answers.mistake("3.5", "both lecture mistakes", lecture_step(forward_bias=False, update_b=False),
                match="both lecture mistakes")
answers.mistake("3.5", "returns (w, b) only", lambda w, b, x, y, lr: by_hand(w, b, x, y, lr)[:2], match="a triple")
answers.mistake("3.5", "db of shape (1,)", lambda w, b, x, y, lr: (
    lambda r: (w - lr * x @ r.T / x.shape[1], b - lr * r.mean(dim=1), bce(torch.sigmoid(w.T @ x + b), y)))(
    torch.sigmoid(w.T @ x + b) - y), match="b, 0-dim")

answers.gaming("3.5", "returns objects equal to anything", lambda w, b, x, y, lr: (Anything(), Anything(), Anything()),
               match="return w, b, loss")


@answers.gaming("3.5", "patches torch.allclose, returns the inputs", match="the step autograd and SGD take")
def patches_allclose_step(w, b, x, y, lr):
    torch.allclose = always_close
    return w, b, torch.tensor(0.0)
