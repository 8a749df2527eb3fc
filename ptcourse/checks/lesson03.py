"""Checks for lesson 03 — logistic regression with a hand-written backward pass.

Inputs are stored as columns, as in the lecture: x is (dim, m), w is (dim, 1), b a 0-dim tensor, and
labels and probabilities are rows (1, m). Every check runs its exercise on float32 and on float64
inputs and accepts a float32-accurate answer (`FLOAT32` tolerances) against a float64 reference.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ptcourse.checks._core import (EQUAL, describe, digits, exercise, expect, fail, max_diff, near, passed,
                                   plain, private_rng, progress_of, same, student_code)
from ptcourse.i18n import N_, _

# The references, taken when this module is imported: an answer that patches torch later cannot move them.
_SIGMOID, _BCE_WITH_LOGITS = torch.sigmoid, F.binary_cross_entropy_with_logits

DTYPES = (torch.float32, torch.float64)
EDGE_SHAPES = [(1, 1), (1, 7), (6, 1)]  # (dim, m): one feature, one sample


def _shapes(n_random: int = 3) -> list[tuple[int, int]]:
    """The edge shapes and a few random ones (drawn inside the caller's private_rng)."""
    return EDGE_SHAPES + [(int(torch.randint(2, 9, ())), int(torch.randint(2, 13, ()))) for _ in range(n_random)]


def _problem(dim: int, m: int, dtype: torch.dtype):
    """Random parameters (|b| in [0.5, 1.5], so a missing bias shows), inputs as columns, 0/1 labels as a row.

    Drawn in float64 and rounded to `dtype`: the references are computed in float64 from the very values
    the student's code receives.
    """
    w = torch.randn(dim, 1, dtype=torch.float64)
    b = (torch.rand((), dtype=torch.float64) + 0.5) * (torch.randint(0, 2, ()) * 2 - 1)
    x = torch.randn(dim, m, dtype=torch.float64)
    y = torch.randint(0, 2, (1, m)).double()
    return tuple(t.to(dtype) for t in (w, b, x, y))


def _tensor(ex: str, what: str, value, hint: str) -> torch.Tensor:
    """`value` validated as a tensor, as a plain detached tensor (a subclass cannot fake a comparison)."""
    if not isinstance(value, torch.Tensor):
        fail(ex, what, _("a tensor"), describe(value), hint)
    return plain(value).detach()


def _one_number(ex: str, what: str, value, hint: str, *, python_float: bool = False) -> float:
    """A tensor holding one number (or, with `python_float`, also a Python float) as a float."""
    if python_float and type(value) in (float, int):
        return float(value)
    expected = _("a tensor with one element, or a float") if python_float else _("a tensor with one element")
    if not isinstance(value, torch.Tensor):
        fail(ex, what, expected, describe(value), hint)
    value = plain(value).detach()
    expect(value.numel() == 1, ex, what, expected, _("a tensor of shape {shape}").format(shape=tuple(value.shape)),
           hint)
    return float(value.reshape(()).double().item())


def _sequence(ex: str, what: str, value, length: int, expected: str, hint: str) -> list:
    """`value` validated as a tuple (or list) of `length` items."""
    ok = type(value) in (tuple, list) and len(value) == length
    expect(ok, ex, what, expected, describe(value), hint)
    return list(value)


def _unchanged(ex: str, what: str, before, after, hint: str) -> None:
    """The inputs the student's code received still hold their values."""
    same = all(a.shape == b.shape and EQUAL(plain(a), b) for a, b in zip(after, before))
    expect(same, ex, what, _("unchanged"), _("modified in place"), hint)


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


# --- Exercise 3.1 -----------------------------------------------------------------------------------
@exercise("3.1", N_("lr_forward"))
def lr_forward(forward) -> None:
    """lr_forward(w, b, x) -> σ(wᵀx + b), a tensor of shape (1, m); w, b and x left unchanged."""
    ex = "3.1"
    cases = 0
    with private_rng(301):
        shapes = _shapes()
        for dtype in DTYPES:
            for dim, m in shapes:
                w, b, x, _y = _problem(dim, m, dtype)
                given = [t.clone() for t in (w, b, x)]
                what = _("lr_forward(w, b, x) for {dtype} w {w}, b = {b}, x {x}").format(
                    dtype=_dtype_name(dtype), w=tuple(w.shape), b=digits(b.item()), x=tuple(x.shape))
                hint = _("ŷ = torch.sigmoid(w.T @ x + b): w.T @ x is (1, dim) @ (dim, m) = (1, m)")
                with student_code(ex, what, hint):
                    got = forward(*given)
                got = _tensor(ex, what, got, _("return ŷ as a tensor: torch.sigmoid(w.T @ x + b)"))
                _unchanged(ex, _("w, b and x after {what}").format(what=what), (w, b, x), given,
                           _("compute a new tensor; do not write into the inputs (no in-place operations such as "
                             "w.t_() or x.add_())"))
                expect(tuple(got.shape) == (1, m), ex, _("the shape of {what}").format(what=what), (1, m),
                       tuple(got.shape),
                       _("samples are columns: w.T @ x is (1, dim) @ (dim, m) = (1, m); x.T @ w would give (m, 1)"))
                w64, b64, x64 = w.double(), b.double(), x.double()
                z = w64.T @ x64 + b64
                want = _SIGMOID(z)
                if not same(got, want):
                    if same(got, _SIGMOID(w64.T @ x64)):
                        hint = _("this is the lecture's forward, which forgets the bias: z = w.T @ x + b")
                    elif same(got, z):
                        hint = _("that is z; the probability is σ(z) = 1 / (1 + exp(−z)) (torch.sigmoid)")
                    elif same(got, _SIGMOID(-z)):
                        hint = _("that is σ(−z) = 1 − ŷ: σ(z) = 1 / (1 + exp(−z)), with a minus sign in the exponent")
                    elif same(got, _SIGMOID(w64.T @ x64 - b64)):
                        hint = _("the sign of b: z = w.T @ x + b")
                    else:
                        hint = _("ŷ = torch.sigmoid(w.T @ x + b)")
                    fail(ex, what, _("σ(wᵀx + b)"), max_diff(got, want), hint)
                cases += 1
    passed(ex, _("σ(wᵀx + b) of shape (1, m), inputs unchanged, in {n} cases: float32 and float64, one feature "
                 "and one sample included").format(n=cases))


# --- Exercise 3.2 -----------------------------------------------------------------------------------
FLOAT32_HINT = N_("clamp ŷ into [ε, 1 − ε] before taking logs; in float32, 1 − ε rounds back to 1 unless ε is "
                  "more than half the gap below 1 (about 3e-8); 1e-7 is a safe choice")
NAN_HINT = N_("clamp ŷ into [ε, 1 − ε] before taking logs (ε = 1e-7): log(0) is −inf, and 0 · (−inf) is nan")
LARGE_EPS_HINT = N_("ε is too large: clamping must not change any ŷ in [0.001, 0.999]; use a small ε such as 1e-7")
EXTREME = 0.001  # the loss must equal the formula for every ŷ in [EXTREME, 1 − EXTREME]
CONFIDENT_WRONG = (5.0, 100.0)  # what a certain, wrong prediction may cost (−log 1e-7 ≈ 16.1; torch's 100)


def _bce64(yhat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The mean binary cross-entropy, in float64, for probabilities strictly inside (0, 1)."""
    yhat, y = yhat.double(), y.double()
    return -(y * torch.log(yhat) + (1 - y) * torch.log1p(-yhat)).mean()


def _call_loss(ex: str, loss, yhat: torch.Tensor, y: torch.Tensor, what: str) -> float:
    """The student's loss as a float, after checking its type and that it left its inputs alone."""
    given = yhat.clone(), y.clone()
    with student_code(ex, what, _("−mean(y · log ŷ + (1 − y) · log(1 − ŷ)), with ŷ clamped first")):
        got = loss(*given)
    _unchanged(ex, _("yhat and y after {what}").format(what=what), (yhat, y), given,
               _("use yhat.clamp(...) (a new tensor), not yhat.clamp_(...), which changes the caller's ŷ"))
    return _one_number(ex, what, got, _("return the mean over the samples, a tensor with one element: "
                                        "(...).mean(); not .item(), and not one loss per sample"))


@exercise("3.2", N_("bce_loss"))
def bce_loss(loss) -> None:
    """bce_loss(yhat, y) -> the mean binary cross-entropy as a one-element tensor; the formula's value for
    every ŷ in [0.001, 0.999]; finite where ŷ is exactly 0 or 1; yhat left unchanged."""
    ex = "3.2"
    with private_rng(302):
        for dtype in DTYPES:
            name = _dtype_name(dtype)
            for m in (1, 2, 9):
                yhat = (torch.rand(1, m, dtype=torch.float64) * 0.96 + 0.02).to(dtype)
                y = torch.randint(0, 2, (1, m)).to(dtype)
                what = _("bce_loss on {dtype} ŷ of shape (1, {m}), values in (0.02, 0.98)").format(m=m, dtype=name)
                got = _call_loss(ex, loss, yhat, y, what)
                want = _bce64(yhat, y).item()
                if not near(got, want):
                    per_sample = (-(y.double() * yhat.double().log() + (1 - y.double()) * (-yhat.double()).log1p()))
                    if near(got, -want):
                        hint = _("the sign: log ŷ is negative, so the loss is −mean(y log ŷ + (1 − y) log(1 − ŷ))")
                    elif m > 1 and near(got, want * m):
                        hint = _("that is the sum over samples; the loss is the mean (divide by m)")
                    elif near(got, want / math.log(10)) or near(got, want / math.log(2)):
                        hint = _("use the natural logarithm, torch.log (not log10 or log2)")
                    elif m > 1 and near(got, (y.double() * per_sample).mean().item()):
                        hint = _("both terms: (1 − y) · log(1 − ŷ) is the cost of the benign samples")
                    else:
                        hint = _("−mean(y · log ŷ + (1 − y) · log(1 − ŷ)), both terms, over all samples")
                    fail(ex, what, _("{want} (the formula, in float64)").format(want=digits(want)), digits(got), hint)
            yhat = torch.tensor([[EXTREME, 1 - EXTREME, 0.5, EXTREME, 1 - EXTREME]], dtype=dtype)
            y = torch.tensor([[1.0, 0.0, 1.0, 0.0, 1.0]], dtype=dtype)
            what = _("bce_loss on {dtype} ŷ = [0.001, 0.999, 0.5, 0.001, 0.999], y = [1, 0, 1, 0, 1]").format(
                dtype=name)
            got, want = _call_loss(ex, loss, yhat, y, what), _bce64(yhat, y).item()
            if not near(got, want):
                fail(ex, what, _("{want} (the formula, in float64)").format(want=digits(want)), digits(got),
                     _(LARGE_EPS_HINT) if math.isfinite(got) else _(NAN_HINT))
            nan_hint = _(FLOAT32_HINT) if dtype == torch.float32 else _(NAN_HINT)
            certain = torch.tensor([[0.0, 1.0, 1.0, 0.0]], dtype=dtype)
            what = _("bce_loss for {dtype} predictions ŷ = [0, 1, 1, 0] that are certain and right "
                     "(labels [0, 1, 1, 0])").format(dtype=name)
            got = _call_loss(ex, loss, certain, certain.clone(), what)
            expect(math.isfinite(got) and 0 <= got < 0.01, ex, what, _("a finite number near 0 (under 0.01)"),
                   digits(got), nan_hint if not math.isfinite(got) else _(LARGE_EPS_HINT))
            what = _("bce_loss for {dtype} predictions ŷ = [1, 0] that are certain and wrong (labels [0, 1])").format(
                dtype=name)
            got = _call_loss(ex, loss, torch.tensor([[1.0, 0.0]], dtype=dtype), torch.tensor([[0.0, 1.0]], dtype=dtype),
                             what)
            low, high = CONFIDENT_WRONG
            if not math.isfinite(got):
                hint = nan_hint
            elif got > high:
                hint = _("clamp ŷ into [ε, 1 − ε] with ε = 1e-7, so that a certain, wrong prediction costs −log ε "
                         "≈ 16.1; replacing inf or nan afterwards (nan_to_num) gives an absurdly large loss")
            else:
                hint = _(LARGE_EPS_HINT)
            expect(math.isfinite(got) and low <= got <= high, ex, what,
                   _("a large finite number, between {low} and {high}").format(low=low, high=high), digits(got), hint)
    passed(ex, _("the mean BCE equals the formula for ŷ in [0.001, 0.999], is finite at ŷ = 0 and ŷ = 1, and leaves "
                 "yhat unchanged, in float32 and float64"))


# --- Exercise 3.3 -----------------------------------------------------------------------------------
@exercise("3.3", N_("lr_backward"))
def lr_backward(backward) -> None:
    """lr_backward(x, yhat, y) -> {"dw": tensor (dim, 1), "db": 0-dim tensor}, equal to autograd's gradients."""
    ex = "3.3"
    cases = 0
    with private_rng(303):
        shapes = _shapes(4)
        for dtype in DTYPES:
            for dim, m in shapes:
                w, b, x, y = _problem(dim, m, dtype)
                yhat = _SIGMOID(w.T @ x + b)
                w_, b_ = w.double().requires_grad_(), b.double().requires_grad_()
                _BCE_WITH_LOGITS(w_.T @ x.double() + b_, y.double()).backward()
                want_dw, want_db = w_.grad, b_.grad
                what = _("lr_backward(x, yhat, y) for {dtype} x {x}").format(dtype=_dtype_name(dtype),
                                                                             x=tuple(x.shape))
                with student_code(ex, what, _("dw = x @ (yhat − y).T / m and db = (yhat − y).sum() / m, "
                                              "with m = x.shape[1]")):
                    got = backward(x.clone(), yhat.clone(), y.clone())
                ok = isinstance(got, dict) and "dw" in dict.keys(got) and "db" in dict.keys(got)
                expect(ok, ex, what, _('a dict {"dw": ..., "db": ...}'), describe(got),
                       _('return {"dw": dw, "db": db}, a dict with exactly these keys'))
                dw = _tensor(ex, _("dw in {what}").format(what=what), dict.get(got, "dw"),
                             _("dw is a tensor: x @ (yhat − y).T / m"))
                db = _tensor(ex, _("db in {what}").format(what=what), dict.get(got, "db"),
                             _("db is a tensor: (yhat − y).sum() / m"))
                expect(tuple(dw.shape) == (dim, 1), ex, _("the shape of dw in {what}").format(what=what), (dim, 1),
                       tuple(dw.shape), _("dw has w's shape: x @ (ŷ − y).T is (dim, m) @ (m, 1) = (dim, 1)"))
                if not same(dw, want_dw):
                    if same(dw, -want_dw):
                        hint = _("the sign: the gradient uses ŷ − y, not y − ŷ")
                    elif (m > 1 and same(dw, m * want_dw)) or (m != dim and same(dw, want_dw * m / dim)):
                        hint = _("divide by m = x.shape[1], the number of samples (the loss is a mean); x.shape[0] "
                                 "is the number of features")
                    else:
                        hint = _("dw = x @ (ŷ − y).T / m")
                    fail(ex, _("dw in {what}, compared with autograd").format(what=what), _("autograd's w.grad"),
                         max_diff(dw, want_dw), hint)
                expect(db.ndim == 0, ex, _("the shape of db in {what}").format(what=what),
                       _("() — a 0-dim tensor, like b"), tuple(db.shape),
                       _("db = (ŷ − y).sum() / m is 0-dim, like b; a db of shape {shape} would change b's shape "
                         "in b − lr · db").format(shape=tuple(db.shape)))
                if not same(db, want_db):
                    if m > 1 and same(db, m * want_db):
                        hint = _("divide by m: db is the mean of ŷ − y, not its sum")
                    elif same(db, -want_db):
                        hint = _("the sign: the gradient uses ŷ − y, not y − ŷ")
                    else:
                        hint = _("db = (ŷ − y).sum() / m, the mean of ŷ − y")
                    fail(ex, _("db in {what}, compared with autograd").format(what=what),
                         _("{want} (autograd's b.grad)").format(want=digits(want_db.item())), digits(db.item()), hint)
                cases += 1
    passed(ex, _("dw (dim, 1) and a 0-dim db equal autograd's gradients of the mean BCE in {n} cases, float32 and "
                 "float64").format(n=cases))


# --- Exercise 3.4 -----------------------------------------------------------------------------------
@exercise("3.4", N_("lr_optimize"))
def lr_optimize(optimize) -> None:
    """lr_optimize(w, b, grads, lr) -> the pair (w − lr·dw, b − lr·db), with w's and b's shapes."""
    ex = "3.4"
    cases = 0
    with private_rng(304):
        shapes = _shapes()
        for dtype in DTYPES:
            for dim, _m in shapes:
                w, b, _x, _y = _problem(dim, 1, dtype)
                dw = torch.randn(dim, 1, dtype=torch.float64).to(dtype)
                db = _problem(1, 1, dtype)[1]  # a 0-dim tensor clearly away from 0
                lr = round(float(torch.rand(()) * 0.5 + 0.05), 3)
                w64, b64 = w.double(), b.double()
                want_w, want_b = w64 - lr * dw.double(), b64 - lr * db.double()
                what = _("lr_optimize for {dtype} w {w}, b = {b}, lr = {lr}").format(
                    dtype=_dtype_name(dtype), w=tuple(w.shape), b=digits(b.item()), lr=lr)
                with student_code(ex, what, _("w − lr * grads['dw'] and b − lr * grads['db']")):
                    got = optimize(w.clone(), b.clone(), {"dw": dw.clone(), "db": db.clone()}, lr)
                new_w, new_b = _sequence(ex, what, got, 2, _("a pair (new w, new b)"),
                                         _("return w, b after the update"))
                new_w = _tensor(ex, _("the new w from {what}").format(what=what), new_w, _("return w, b as tensors"))
                new_b = _tensor(ex, _("the new b from {what}").format(what=what), new_b, _("return w, b as tensors"))
                expect(tuple(new_w.shape) == (dim, 1) and new_b.shape == b.shape, ex,
                       _("the shapes returned by {what}").format(what=what),
                       _("w {w} and b {b}").format(w=(dim, 1), b=tuple(b.shape)),
                       _("w {w} and b {b}").format(w=tuple(new_w.shape), b=tuple(new_b.shape)),
                       _("update each parameter with its own gradient: w with dw, b with db"))
                if same(new_w, want_w) and same(new_b, want_b):
                    cases += 1
                    continue
                if same(new_w, w64 - lr * dw.double() - lr * db.double()) and same(new_b, b64):
                    hint = _("this is the lecture's optimize: its second line subtracts lr * db from w; it must "
                             "update b (b − lr * db), and w only once")
                elif same(new_w, want_w) and same(new_b, b64):
                    hint = _("b did not move: b − lr * grads['db']")
                elif same(new_w, w64 + lr * dw.double()) or same(new_b, b64 + lr * db.double()):
                    hint = _("gradient descent subtracts: w − lr * dw")
                elif same(new_w, w64 - dw.double()) or same(new_b, b64 - db.double()):
                    hint = _("scale the gradient by the learning rate: w − lr * grads['dw']")
                else:
                    hint = _("w − lr * grads['dw'] and b − lr * grads['db']")
                fail(ex, what, _("(w − lr·dw, b − lr·db)"),
                     _("w: {w}; b: {b} instead of {want_b}").format(
                         w=max_diff(new_w, want_w), b=digits(new_b.double().item()), want_b=digits(want_b.item())),
                     hint)
    passed(ex, _("w − lr·dw and b − lr·db with w's and b's shapes in {n} cases, float32 and float64").format(n=cases))


# --- Exercise 3.5 -----------------------------------------------------------------------------------
def _autograd_step(w, b, x, y, lr):
    """(w, b) after one SGD step on the mean BCE, and the loss before it: by autograd, in float64."""
    w_, b_ = w.double().requires_grad_(), b.double().requires_grad_()
    loss = _BCE_WITH_LOGITS(w_.T @ x.double() + b_, y.double())
    loss.backward()
    return (w_ - lr * w_.grad).detach(), (b_ - lr * b_.grad).detach(), loss.item()


def _lecture_step(w, b, x, y, lr, forward_bias: bool, update_b: bool):
    """A float64 step with the lecture's mistakes switched on: forward without + b, and/or db applied to w."""
    w, b, x, y = (t.double() for t in (w, b, x, y))
    m = x.shape[1]
    yhat = _SIGMOID(w.T @ x + (b if forward_bias else 0))
    dw, db = x @ (yhat - y).T / m, (yhat - y).sum() / m
    return (w - lr * dw, b - lr * db) if update_b else (w - lr * dw - lr * db, b)


@exercise("3.5", N_("lr_step"))
def lr_step(step) -> None:
    """lr_step(w, b, x, y, lr) -> (new w, new b, loss before the step), checked against autograd + SGD.

    Checks 3.1 and 3.4 already name the lecture's two mistakes where they sit; this one checks the assembly:
    forward, loss, backward and optimize in that order, from the same w and b, with the loss measured
    before the update. It still names a lecture mistake if a step shows one.
    """
    ex = "3.5"
    cases = 0
    with private_rng(305):
        shapes = _shapes()
        for dtype in DTYPES:
            for dim, m in shapes:
                w, b, x, y = _problem(dim, m, dtype)
                lr = round(float(torch.rand(()) * 0.5 + 0.05), 3)
                want_w, want_b, want_loss = _autograd_step(w, b, x, y, lr)
                what = _("lr_step for {dtype} w {w}, b = {b}, x {x}, lr = {lr}").format(
                    dtype=_dtype_name(dtype), w=tuple(w.shape), b=digits(b.item()), x=tuple(x.shape), lr=lr)
                with student_code(ex, what, _("lr_forward, bce_loss, lr_backward and lr_optimize, in that order")):
                    got = step(w.clone(), b.clone(), x.clone(), y.clone(), lr)
                new_w, new_b, loss = _sequence(ex, what, got, 3, _("a triple (new w, new b, loss)"),
                                               _("return w, b, loss: the updated parameters and the loss before "
                                                 "the update"))
                new_w = _tensor(ex, _("the new w from {what}").format(what=what), new_w, _("return w, b, loss"))
                new_b = _tensor(ex, _("the new b from {what}").format(what=what), new_b, _("return w, b, loss"))
                expect(new_w.shape == w.shape and new_b.shape == b.shape, ex,
                       _("the shapes returned by {what}").format(what=what),
                       _("w {w} and b {b}").format(w=tuple(w.shape), b=tuple(b.shape)),
                       _("w {w} and b {b}").format(w=tuple(new_w.shape), b=tuple(new_b.shape)),
                       _("lr_optimize returns w (dim, 1) and b, 0-dim"))
                if not (same(new_w, want_w) and same(new_b, want_b)):
                    hints = {
                        (False, True): _("your forward drops + b, as one version of the lecture's forward does: "
                                         "ŷ = σ(wᵀx + b)"),
                        (True, False): _("your update subtracts lr·db from w and never moves b, as the lecture's "
                                         "optimize does: w − lr·dw and b − lr·db"),
                        (False, False): _("both lecture mistakes at once: forward without + b, and db subtracted "
                                          "from w"),
                    }
                    hint = _("forward, loss, backward and optimize, once each, in that order, from the same w and b")
                    for (forward_bias, update_b), text in hints.items():
                        lecture_w, lecture_b = _lecture_step(w, b, x, y, lr, forward_bias, update_b)
                        if same(new_w, lecture_w) and same(new_b, lecture_b):
                            hint = text
                            break
                    fail(ex, what, _("the step autograd and SGD take"),
                         _("w: {w}; b: {b} instead of {want_b}").format(
                             w=max_diff(new_w, want_w), b=digits(new_b.double().item()),
                             want_b=digits(want_b.item())),
                         hint)
                loss = _one_number(ex, _("the loss returned by {what}").format(what=what), loss,
                                   _("return the loss as bce_loss gives it"), python_float=True)
                expect(near(loss, want_loss), ex, _("the loss returned by {what}").format(what=what),
                       _("{want} (the mean BCE before the step)").format(want=digits(want_loss)), digits(loss),
                       _("compute the loss on the forward pass you use for the gradients, before optimizing"))
                cases += 1
    passed(ex, _("forward, loss, backward and optimize take autograd's SGD step in {n} cases, float32 and float64, "
                 "b ≠ 0").format(n=cases))


progress = progress_of(__name__)
