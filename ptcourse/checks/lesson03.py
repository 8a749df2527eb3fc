"""Checks for lesson 03 — logistic regression with a hand-written backward pass.

Inputs are stored as columns, as in the lecture: x is (dim, m), w is (dim, 1), b a scalar, and
labels and probabilities are rows (1, m).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ptcourse.checks._core import close, exercise, expect, fail, max_diff, passed, private_rng, progress_of
from ptcourse.i18n import N_

EDGE_SHAPES = [(1, 1), (1, 7), (6, 1)]  # (dim, m): one feature, one sample


def _shapes(n_random: int = 3) -> list[tuple[int, int]]:
    """The edge shapes and a few random ones (drawn inside the caller's private_rng)."""
    return EDGE_SHAPES + [(int(torch.randint(2, 9, ())), int(torch.randint(2, 13, ()))) for _ in range(n_random)]


def _problem(dim: int, m: int, dtype=torch.float64):
    """Random parameters (b clearly away from 0), inputs as columns, 0/1 labels as a row."""
    w = torch.randn(dim, 1, dtype=dtype)
    b = ((torch.rand((), dtype=dtype) + 0.5) * torch.randint(0, 2, ()).mul(2).sub(1)).to(dtype)
    x = torch.randn(dim, m, dtype=dtype)
    y = torch.randint(0, 2, (1, m)).to(dtype)
    return w, b, x, y


def _same(a, b, atol=1e-10, rtol=1e-7) -> bool:
    return close(a, b, atol=atol, rtol=rtol)


# --- Exercise 3.1 -----------------------------------------------------------------------------------
@exercise("3.1", N_("lr_forward"))
def lr_forward(forward) -> None:
    """lr_forward(w, b, x) -> σ(wᵀx + b), shape (1, m)."""
    ex = "3.1"
    with private_rng(301):
        shapes = _shapes()
        for dim, m in shapes:
            w, b, x, _ = _problem(dim, m)
            given = [t.clone() for t in (w, b, x)]  # the references below keep the originals
            got = forward(*given)
            want = torch.sigmoid(w.T @ x + b)
            what = f"lr_forward(w, b, x) for w {tuple(w.shape)}, b = {b.item():.3f}, x {tuple(x.shape)}"
            expect(isinstance(got, torch.Tensor), ex, what, "a tensor", type(got).__name__, "return ŷ, a tensor")
            expect(
                tuple(got.shape) == (1, m), ex, f"shape of {what}", (1, m), tuple(got.shape),
                "samples are columns: w.T @ x is (1, dim) @ (dim, m) = (1, m); x.T @ w would give (m, 1)",
            )
            if not _same(got, want):
                if _same(got, torch.sigmoid(w.T @ x)):
                    hint = "this is the lecture's forward, which forgets the bias: z = w.T @ x + b"
                elif _same(got, w.T @ x + b):
                    hint = "that is z; the probability is σ(z) = 1 / (1 + exp(-z)) (torch.sigmoid)"
                else:
                    hint = "ŷ = torch.sigmoid(w.T @ x + b)"
                fail(ex, what, "σ(wᵀx + b)", max_diff(got, want), hint)
            expect(
                all(torch.equal(s, t) for s, t in zip(given, (w, b, x))), ex, "w, b and x after the call",
                "unchanged", "modified in place", "compute a new tensor; do not write into the inputs",
            )
    passed(ex, f"σ(wᵀx + b) with the right shape for {len(shapes)} shapes, one feature and one sample included")


# --- Exercise 3.2 -----------------------------------------------------------------------------------
FLOAT32_HINT = ("clamp ŷ into [ε, 1 − ε] before taking logs; in float32, 1 − ε rounds back to 1 unless ε is more "
                "than half the gap below 1 (about 3e-8); 1e-7 is a safe choice")
LARGE_EPS_HINT = "ε is too large: clamping then changes confident predictions a lot; use a small ε such as 1e-7"


def _call_loss(ex: str, loss, yhat: torch.Tensor, y: torch.Tensor, what: str) -> torch.Tensor:
    """The student's loss as a 0-dim tensor, after checking that it left its inputs alone."""
    saved = yhat.clone(), y.clone()
    got = torch.as_tensor(loss(yhat, y))
    expect(torch.equal(yhat, saved[0]) and torch.equal(y, saved[1]), ex, f"yhat and y after {what}", "unchanged",
           "modified in place", "use yhat.clamp(...) (a new tensor), not yhat.clamp_(...), which changes the "
           "caller's ŷ")
    expect(got.numel() == 1, ex, what, "one number (a 0-dim tensor)", f"shape {tuple(got.shape)}",
           "average over the samples with .mean()")
    return got.reshape(())


@exercise("3.2", N_("bce_loss"))
def bce_loss(loss) -> None:
    """bce_loss(yhat, y) -> the mean binary cross-entropy, finite even where ŷ is exactly 0 or 1."""
    ex = "3.2"
    with private_rng(302):
        for dtype in (torch.float32, torch.float64):
            for m in (1, 9):
                yhat = (torch.rand(1, m) * 0.96 + 0.02).to(dtype)
                y = torch.randint(0, 2, (1, m)).to(dtype)
                what = f"bce_loss on {m} {dtype} probabilities in (0.02, 0.98)"
                got = _call_loss(ex, loss, yhat, y, what)
                want = F.binary_cross_entropy(yhat, y)
                if not close(got, want, atol=1e-6, rtol=1e-5):
                    if close(got, -want, atol=1e-6, rtol=1e-5):
                        hint = "the sign: log ŷ is negative, so the loss is −mean(y log ŷ + (1 − y) log(1 − ŷ))"
                    elif m > 1 and close(got, want * m, atol=1e-6, rtol=1e-5):
                        hint = "that is the sum over samples; the loss is the mean (divide by m)"
                    else:
                        hint = "−mean(y · log ŷ + (1 − y) · log(1 − ŷ)), both terms, over all samples"
                    fail(ex, what, f"{want.item():.6f} (F.binary_cross_entropy)", f"{got.item():.6f}", hint)
            nan_hint = FLOAT32_HINT if dtype == torch.float32 else "clamp ŷ into [ε, 1 − ε] before taking logs"
            certain = torch.tensor([[0.0, 1.0, 1.0, 0.0]], dtype=dtype)
            what = f"bce_loss for {dtype} predictions ŷ = [0, 1, 1, 0] that are exactly right"
            got = _call_loss(ex, loss, certain, certain.clone(), what)
            expect(torch.isfinite(got) and got < 1e-2, ex, what, "a finite number near 0", f"{got.item()}",
                   nan_hint if not torch.isfinite(got) else LARGE_EPS_HINT)
            what = f"bce_loss for {dtype} predictions ŷ = [1, 0] that are certain and wrong (labels [0, 1])"
            got = _call_loss(ex, loss, torch.tensor([[1.0, 0.0]], dtype=dtype), torch.tensor([[0.0, 1.0]], dtype=dtype),
                             what)
            expect(torch.isfinite(got) and got > 5, ex, what, "a large finite number (over 5)", f"{got.item()}",
                   nan_hint if not torch.isfinite(got) else LARGE_EPS_HINT)
    passed(ex, "matches F.binary_cross_entropy, and stays finite at ŷ = 0 and ŷ = 1 in float32 and float64")


# --- Exercise 3.3 -----------------------------------------------------------------------------------
@exercise("3.3", N_("lr_backward"))
def lr_backward(backward) -> None:
    """lr_backward(x, yhat, y) -> {"dw": (dim, 1), "db": scalar}, equal to autograd's gradients."""
    ex = "3.3"
    with private_rng(303):
        shapes = _shapes(4)
        for dim, m in shapes:
            w, b, x, y = _problem(dim, m)
            yhat = torch.sigmoid(w.T @ x + b)
            w_, b_ = w.clone().requires_grad_(), b.clone().requires_grad_()
            F.binary_cross_entropy_with_logits(w_.T @ x + b_, y).backward()
            got = backward(x.clone(), yhat.clone(), y.clone())
            what = f"lr_backward for x {tuple(x.shape)}"
            expect(isinstance(got, dict) and {"dw", "db"} <= set(got), ex, what,
                   'a dict {"dw": ..., "db": ...}', repr(got)[:80], 'return {"dw": dw, "db": db}')
            dw, db = torch.as_tensor(got["dw"]), torch.as_tensor(got["db"])
            expect(
                tuple(dw.shape) == (dim, 1), ex, f"shape of dw in {what}", (dim, 1), tuple(dw.shape),
                "dw has w's shape: x @ (ŷ − y).T is (dim, m) @ (m, 1) = (dim, 1)",
            )
            if not _same(dw, w_.grad):
                if _same(dw, -w_.grad):
                    hint = "the sign: the gradient uses ŷ − y, not y − ŷ"
                elif m > 1 and _same(dw, m * w_.grad):
                    hint = "divide by m = x.shape[1], the number of samples (the loss is a mean)"
                else:
                    hint = "dw = x @ (ŷ − y).T / m"
                fail(ex, f"dw in {what}, compared with autograd", "autograd's w.grad", max_diff(dw, w_.grad), hint)
            expect(db.numel() == 1, ex, f"db in {what}", "one number", f"shape {tuple(db.shape)}",
                   "db = (ŷ − y).sum() / m, a scalar like b")
            if not _same(db.reshape(()), b_.grad):
                if _same(db.reshape(()), m * b_.grad):
                    hint = "divide by m: db is the mean of ŷ − y, not its sum"
                else:
                    hint = "db = (ŷ − y).sum() / m, the mean of ŷ − y"
                fail(ex, f"db in {what}, compared with autograd", f"{b_.grad.item():.6f}",
                     f"{db.reshape(()).item():.6f}", hint)
    passed(ex, f"dw and db equal autograd's gradients of the mean BCE for {len(shapes)} random shapes")


# --- Exercise 3.4 -----------------------------------------------------------------------------------
@exercise("3.4", N_("lr_optimize"))
def lr_optimize(optimize) -> None:
    """lr_optimize(w, b, grads, lr) -> (w − lr·dw, b − lr·db)."""
    ex = "3.4"
    with private_rng(304):
        shapes = _shapes()
        for dim, _ in shapes:
            w, b, _, _ = _problem(dim, 1)
            dw = torch.randn(dim, 1, dtype=torch.float64)
            db = _problem(1, 1)[1]  # a scalar clearly away from 0
            lr = float(torch.rand(()) * 0.5 + 0.05)
            want_w, want_b = w - lr * dw, b - lr * db
            start_w, start_b = w.clone(), b.clone()
            got = optimize(w.clone(), b.clone(), {"dw": dw.clone(), "db": db.clone()}, lr)
            what = f"lr_optimize for w {tuple(w.shape)} with lr = {lr:.3f}"
            expect(isinstance(got, (tuple, list)) and len(got) == 2, ex, what, "a pair (new w, new b)",
                   repr(got)[:80], "return w, b after the update")
            new_w, new_b = torch.as_tensor(got[0]), torch.as_tensor(got[1])
            expect(tuple(new_w.shape) == (dim, 1) and new_b.shape == b.shape, ex, f"shapes returned by {what}",
                   f"w {(dim, 1)} and b {tuple(b.shape)}", f"w {tuple(new_w.shape)}, b {tuple(new_b.shape)}",
                   "update each parameter with its own gradient: w with dw, b with db")
            if _same(new_w, want_w) and _same(new_b, want_b):
                continue
            if _same(new_w, start_w - lr * dw - lr * db) and _same(new_b, start_b):
                hint = ("this is the lecture's optimize: its second line subtracts lr * db from w; it must "
                        "update b (b - lr * db), and w only once")
            elif _same(new_w, want_w) and _same(new_b, start_b):
                hint = "b did not move: b - lr * grads['db']"
            elif _same(new_w, start_w + lr * dw) or _same(new_b, start_b + lr * db):
                hint = "gradient descent subtracts: w - lr * dw"
            else:
                hint = "w - lr * grads['dw'] and b - lr * grads['db']"
            fail(ex, what, "(w − lr·dw, b − lr·db)",
                 f"w: {max_diff(new_w, want_w)}, b: {new_b.item():.6f} instead of {want_b.item():.6f}", hint)
    passed(ex, f"w − lr·dw and b − lr·db for {len(shapes)} shapes")


# --- Exercise 3.5 -----------------------------------------------------------------------------------
def _autograd_step(w, b, x, y, lr):
    """(w, b) after one SGD step on the mean BCE, and the loss before it, all by autograd."""
    w_, b_ = w.clone().requires_grad_(), b.clone().requires_grad_()
    loss = F.binary_cross_entropy_with_logits(w_.T @ x + b_, y)
    loss.backward()
    return (w - lr * w_.grad), (b - lr * b_.grad), loss.detach()


def _lecture_step(w, b, x, y, lr, forward_bias: bool, update_b: bool):
    """A step with the lecture's mistakes switched on: forward without + b, and/or db applied to w."""
    m = x.shape[1]
    yhat = torch.sigmoid(w.T @ x + (b if forward_bias else 0))
    dw, db = x @ (yhat - y).T / m, (yhat - y).sum() / m
    return (w - lr * dw, b - lr * db) if update_b else (w - lr * dw - lr * db, b)


@exercise("3.5", N_("lr_step"))
def lr_step(step) -> None:
    """lr_step(w, b, x, y, lr) -> (new w, new b, loss before the step), checked against autograd + SGD.

    This is where the lecture's two mistakes show: a forward pass without `+ b`, and an optimize that
    subtracts `db` from `w`. Each is recognised and named in the hint.
    """
    ex = "3.5"
    with private_rng(305):
        shapes = _shapes()
        for dim, m in shapes:
            w, b, x, y = _problem(dim, m)
            lr = float(torch.rand(()) * 0.5 + 0.05)
            want_w, want_b, want_loss = _autograd_step(w, b, x, y, lr)
            got = step(w.clone(), b.clone(), x.clone(), y.clone(), lr)
            what = f"lr_step for w {tuple(w.shape)}, b = {b.item():.3f}, x {tuple(x.shape)}, lr = {lr:.3f}"
            expect(isinstance(got, (tuple, list)) and len(got) == 3, ex, what, "a triple (new w, new b, loss)",
                   repr(got)[:80], "return w, b, loss: the updated parameters and the loss before the update")
            new_w, new_b, loss = (torch.as_tensor(t).detach() for t in got)
            expect(new_w.shape == w.shape and new_b.numel() == 1, ex, f"shapes returned by {what}",
                   f"w {tuple(w.shape)} and a scalar b", f"w {tuple(new_w.shape)}, b {tuple(new_b.shape)}",
                   "lr_optimize returns w (dim, 1) and b (a scalar)")
            if not (_same(new_w, want_w) and _same(new_b.reshape(()), want_b)):
                hints = {
                    (False, True): "your forward drops + b, as one version of the lecture's forward does: "
                                   "ŷ = σ(wᵀx + b)",
                    (True, False): "your update subtracts lr·db from w and never moves b, as the lecture's "
                                   "optimize does: w − lr·dw and b − lr·db",
                    (False, False): "both lecture mistakes at once: forward without + b, and db subtracted from w",
                }
                hint = "forward, backward and optimize in that order, from the same w and b"
                for (forward_bias, update_b), text in hints.items():
                    lw, lb = _lecture_step(w, b, x, y, lr, forward_bias, update_b)
                    if _same(new_w, lw) and _same(new_b.reshape(()), lb):
                        hint = text
                        break
                fail(ex, what, "the step autograd and SGD take",
                     f"w: {max_diff(new_w, want_w)}, b: {new_b.reshape(()).item():.6f} instead of {want_b.item():.6f}",
                     hint)
            expect(_same(loss.reshape(()), want_loss, atol=1e-7, rtol=1e-6), ex, f"loss returned by {what}",
                   f"{want_loss.item():.6f} (the mean BCE before the step)", f"{loss.reshape(()).item():.6f}",
                   "compute the loss on the forward pass you use for the gradients, before optimizing")
    passed(ex, f"forward, backward and optimize together take autograd's SGD step for {len(shapes)} shapes, b ≠ 0")


progress = progress_of(__name__)
