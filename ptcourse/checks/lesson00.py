"""Checks for lesson 00 — tensors: views, broadcasting, reductions with keepdim, and `@`."""
from __future__ import annotations

import math

import torch

from ptcourse.checks._core import (EQUAL, FLOAT32, close, describe, digits, exercise, expect, fail, max_diff, near,
                                   passed, private_rng, progress_of, student_code)
from ptcourse.i18n import N_, _


def _tensor(ex: str, what: str, value, hint: str) -> torch.Tensor:
    """`value` validated as a plain `torch.Tensor` (a subclass could fake its own comparisons)."""
    expect(type(value) is torch.Tensor, ex, what, _("a torch.Tensor"), describe(value), hint)
    return value


def _shape(t: torch.Tensor) -> tuple[int, ...]:
    return tuple(t.shape)


def _unchanged(ex: str, name: str, tensor: torch.Tensor, before: torch.Tensor, hint: str) -> None:
    """The student's function left its input `tensor` as it was (`before` is a clone taken earlier)."""
    if _shape(tensor) != _shape(before):
        got = _("shape {shape}").format(shape=_shape(tensor))
    elif not EQUAL(tensor.detach(), before):
        got = _("changed values")
    else:
        return
    fail(ex, _("{name} after the call").format(name=name),
         _("unchanged: shape {shape}, the same values").format(shape=_shape(before)), got, hint)


def _same_memory(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


# --- Exercise 0.1 -----------------------------------------------------------------------------------
# (N, H, W, C, dtype, contiguous): uint8 as images load; one square single-channel image; a batch that is
# itself a view with permuted strides (where view() fails); square images, where swapping H and W keeps
# the shape and only the values tell.
CHANNEL_CASES = [
    (2, 4, 5, 3, torch.uint8, True),
    (1, 4, 4, 1, torch.float32, True),
    (3, 2, 7, 4, torch.float32, False),
    (2, 5, 5, 3, torch.float64, True),
]
CHANNELS_HINT = N_("images.permute(0, 3, 1, 2) moves the channel dimension to position 1 and returns a view")


def _images(n: int, h: int, w: int, c: int, dtype: torch.dtype, contiguous: bool) -> torch.Tensor:
    """A batch (N, H, W, C) of distinct values (uint8 values repeat only after 256 elements)."""
    if contiguous:
        values = torch.randperm(n * h * w * c).reshape(n, h, w, c)
    else:
        values = torch.randperm(n * h * w * c).reshape(n, w, h, c).transpose(1, 2)  # strides of another layout
    return (values % 256).to(dtype) if dtype == torch.uint8 else values.to(dtype) + torch.rand(()).to(dtype)


@exercise("0.1", N_("to_channels_first"))
def to_channels_first(fn) -> None:
    """fn(images (N, H, W, C)) -> the same images as (N, C, H, W): a view, no copy."""
    ex = "0.1"
    with private_rng(1):
        for n, h, w, c, dtype, contiguous in CHANNEL_CASES:
            images = _images(n, h, w, c, dtype, contiguous)
            before = images.clone()
            described = _("images of shape (N, H, W, C) = {shape}, dtype {dtype}{layout}").format(
                shape=(n, h, w, c), dtype=dtype, layout="" if contiguous else _(", not contiguous"))
            with student_code(ex, _("calling to_channels_first on {images}").format(images=described),
                              _(CHANNELS_HINT) + _(" (view() and reshape() regroup the numbers in memory order: "
                                                   "not what this needs, and view() fails on a non-contiguous batch)")):
                out = fn(images)
            what = _("the result for {images}").format(images=described)
            out = _tensor(ex, what, out, _("return a tensor: ") + _(CHANNELS_HINT))
            _unchanged(ex, "images", images, before,
                       _("leave images as they are: in-place methods such as transpose_() change the caller's "
                         "tensor; ") + _(CHANNELS_HINT))
            want = images.permute(0, 3, 1, 2)
            if _shape(out) == (n, c, w, h) and h != w:
                hint = _("height and width have traded places (transpose(1, 3) swaps C with W); ") + _(CHANNELS_HINT)
            elif _shape(out) == (c, w, h, n):
                hint = _(".T reverses all four dimensions; ") + _(CHANNELS_HINT)
            elif _shape(out) == (n, w, c, h):
                hint = _("permute(dims) names, for each position of the result, the input dimension that goes "
                         "there: (N, C, H, W) takes input dimensions (0, 3, 1, 2); ") + _(CHANNELS_HINT)
            else:
                hint = _(CHANNELS_HINT)
            expect(_shape(out) == (n, c, h, w), ex, _("shape of {what}").format(what=what), (n, c, h, w),
                   _shape(out), hint)
            expect(out.dtype == dtype, ex, _("dtype of {what}").format(what=what), dtype, out.dtype,
                   _("keep the images' dtype: a conversion such as .float() changes it (and copies); ")
                   + _(CHANNELS_HINT))
            if not EQUAL(out, want):
                if EQUAL(out, images.reshape(n, c, h, w)):
                    hint = _("reshape and view keep the numbers in memory order and only regroup them, which mixes "
                             "pixels and channels; ") + _(CHANNELS_HINT)
                elif EQUAL(out, images.permute(0, 3, 2, 1)):
                    hint = _("the height and width are swapped: result[n, c, h, w] must be images[n, h, w, c]; ") \
                           + _(CHANNELS_HINT)
                else:
                    hint = _("result[n, c, h, w] must be images[n, h, w, c]; ") + _(CHANNELS_HINT)
                fail(ex, _("values of {what}").format(what=what), _("result[n, c, h, w] == images[n, h, w, c]"),
                     _("{count} of {total} values elsewhere").format(
                         count=int((out != want).sum()), total=want.numel()), hint)
            view_hint = _(".contiguous(), .clone(), torch.tensor(...) and dtype conversions copy; ") + _(CHANNELS_HINT)
            expect(_same_memory(out, images), ex, _("memory of {what}").format(what=what),
                   _("a view: the images' own memory"), _("a copy"), view_hint)
            marker = 0 if out[0, c - 1, h - 1, 0].item() != 0 else 1  # a value that fits every dtype
            with torch.no_grad():
                out[0, c - 1, h - 1, 0] = marker
            expect(images[0, h - 1, 0, c - 1].item() == marker, ex,
                   _("a value written into {what}").format(what=what),
                   _("visible in images[0, H-1, 0, C-1]"), _("not visible"), view_hint)
    passed(ex, _("{count} batches (uint8, one image, a non-contiguous batch, square images) come back as "
                 "(N, C, H, W) views with every value in place").format(count=len(CHANNEL_CASES)))


# --- Exercise 0.2 -----------------------------------------------------------------------------------
# (n, pred shape, target shape): every pairing of (n,) and (n, 1); n = 1, where broadcasting hides the bug.
MSE_CASES = [
    (5, (5, 1), (5,)),
    (6, (6,), (6, 1)),
    (4, (4, 1), (4, 1)),
    (7, (7,), (7,)),
    (1, (1, 1), (1,)),
]
MSE_HINT = N_("reshape both to (n,) first, e.g. pred.reshape(-1) - target.reshape(-1), then square and take .mean()")


@exercise("0.2", N_("mse"))
def mse(fn) -> None:
    """fn(pred, target), each (n,) or (n, 1) -> mean squared error over n samples, a 0-dim tensor with a graph."""
    ex = "0.2"
    with private_rng(2):
        for n, pred_shape, target_shape in MSE_CASES:
            pred = torch.randn(pred_shape, requires_grad=True)
            target = torch.randn(target_shape)
            pred_before, target_before = pred.detach().clone(), target.clone()
            shapes = _("pred of shape {pred} (requires grad) and target of shape {target}").format(
                pred=pred_shape, target=target_shape)
            with student_code(ex, _("calling mse on {shapes}").format(shapes=shapes),
                              _("pred requires grad: in-place methods such as squeeze_() and .numpy() fail on it; ")
                              + _(MSE_HINT)):
                out = fn(pred, target)
            what = _("mse for {shapes}").format(shapes=shapes)
            out = _tensor(ex, what, out, _("return the loss as a tensor (what .mean() gives): a Python number "
                                           "such as .item() cannot be backpropagated"))
            _unchanged(ex, "target", target, target_before,
                       _("leave target as it is: target.squeeze_() changes the caller's tensor; ") + _(MSE_HINT))
            _unchanged(ex, "pred", pred, pred_before, _(MSE_HINT))
            if out.dim() != 0:
                hint = (_("an (n, n) result: (n, 1) - (n,) broadcasts to (n, n); ") if _shape(out) == (n, n) and n > 1
                        else _("reduce to one number; ")) + _(MSE_HINT)
                fail(ex, _("shape of {what}").format(what=what), _("() (a 0-dim tensor)"), _shape(out), hint)
            expect(out.requires_grad, ex, _("the graph of {what}").format(what=what), _("a result that requires grad"),
                   _("a tensor cut off from pred"),
                   _(".item(), .detach(), torch.tensor(...) and NumPy cut the loss off from pred: compute it with "
                     "tensor operations on pred"))
            p, t = pred_before.double(), target_before.double()
            want = ((p.reshape(-1) - t.reshape(-1)) ** 2).mean().item()
            got = out.detach().double().item()
            if not near(got, want):
                candidates = [
                    (((p.reshape(-1, 1) - t.reshape(1, -1)) ** 2).mean().item(),
                     _("that is the mean over all n × n pairs: (n, 1) and (n,) broadcast to (n, n); ")),
                    (((p.reshape(-1) - t.reshape(-1)) ** 2).sum().item(), _("that is the sum, not the mean; ")),
                    (math.sqrt(want), _("that is the root of the mean squared error: do not take the square root; ")),
                    ((p.reshape(-1) - t.reshape(-1)).abs().mean().item(),
                     _("that is the mean absolute error: square the differences; ")),
                ]
                hint = next((h for value, h in candidates if near(got, value)), "") + _(MSE_HINT)
                fail(ex, _("value of {what}").format(what=what), digits(want), digits(got), hint)
            with student_code(ex, _("calling backward() on the result of {what}").format(what=what), _(MSE_HINT)):
                out.backward()
            want_grad = 2 * (p.reshape(-1) - t.reshape(-1)).reshape(pred_shape) / n
            expect(pred.grad is not None and close(pred.grad, want_grad, **FLOAT32), ex,
                   _("pred.grad after backward() on {what}").format(what=what), _("the gradient of the MSE"),
                   _("no gradient") if pred.grad is None else max_diff(pred.grad, want_grad),
                   _("the loss must be computed from pred itself with tensor operations (a new tensor made with "
                     "requires_grad=True is not connected to pred)"))
    passed(ex, _("the right value and gradient for every pairing of (n,) and (n, 1) shapes, n = 1 included"))


# --- Exercise 0.3 -----------------------------------------------------------------------------------
# (n, d, dtype, contiguous): square (where a missing keepdim is silently wrong), one row, two columns,
# a transposed (non-contiguous) input, float64.
ROW_CASES = [
    (4, 4, torch.float32, True),
    (3, 7, torch.float32, True),
    (1, 5, torch.float32, True),
    (6, 2, torch.float32, True),
    (5, 3, torch.float32, False),
    (3, 6, torch.float64, True),
]
ROWS_HINT = N_("subtract x.mean(dim=1, keepdim=True) and divide by x.std(dim=1, keepdim=True, unbiased=False)")


def _rows(n: int, d: int, dtype: torch.dtype, contiguous: bool) -> torch.Tensor:
    """Rows with different means and spreads."""
    scale = torch.rand(n, 1) * 2.5 + 0.5
    offset = torch.rand(n, 1) * 10 - 5
    x = torch.randn(n, d) * scale + offset if contiguous else (torch.randn(d, n) * scale.T + offset.T).T
    return x.to(dtype)


def _standardized(x: torch.Tensor, dim: int | None = 1, keepdim: bool = True, unbiased: bool = False,
                  divide: str = "std") -> torch.Tensor:
    """Reference (defaults) and the classic mistakes, for diagnosis."""
    x = x.double()
    if dim is None:
        mean, std = x.mean(), x.std(unbiased=unbiased)
    else:
        mean, std = x.mean(dim=dim, keepdim=keepdim), x.std(dim=dim, keepdim=keepdim, unbiased=unbiased)
    return {"std": (x - mean) / std, "var": (x - mean) / std ** 2, "none": x - mean}[divide]


@exercise("0.3", N_("standardize_rows"))
def standardize_rows(fn) -> None:
    """fn(x (n, d)) -> a new tensor, each row shifted and scaled to mean 0 and (population) std 1."""
    ex = "0.3"
    with private_rng(3):
        for n, d, dtype, contiguous in ROW_CASES:
            x = _rows(n, d, dtype, contiguous)
            before = x.clone()
            described = _("x of shape {shape}, dtype {dtype}{layout}").format(
                shape=(n, d), dtype=dtype, layout="" if contiguous else _(", not contiguous"))
            with student_code(ex, _("calling standardize_rows on {x}").format(x=described),
                              _("(n, d) - (n,) cannot broadcast: keep the reduced dimension; ") + _(ROWS_HINT)):
                out = fn(x)
            what = _("the result for {x}").format(x=described)
            out = _tensor(ex, what, out, _("return a tensor; ") + _(ROWS_HINT))
            _unchanged(ex, "x", x, before, _("x -= ... and x /= ... write into the caller's tensor: compute a new "
                                             "one, (x - mean) / std; ") + _(ROWS_HINT))
            expect(_shape(out) == (n, d), ex, _("shape of {what}").format(what=what), (n, d), _shape(out),
                   _("the result has x's shape; ") + _(ROWS_HINT))
            expect(out.dtype == dtype, ex, _("dtype of {what}").format(what=what), dtype, out.dtype,
                   _("keep x's dtype (float64 stays float64): compute with tensor operations on x"))
            want = _standardized(before).to(dtype)
            if not close(out, want, **FLOAT32):
                mistakes = [
                    (dict(unbiased=True), _("x.std() divides by d - 1 by default; the population standard deviation "
                                            "divides by d; ")),
                    (dict(keepdim=False), _("without keepdim=True the (n,) row statistics broadcast along the rows "
                                            "of a square x, so row i's mean is subtracted from column i; ")),
                    (dict(dim=0), _("that standardises the columns (dim=0); each row is standardised across its d "
                                    "values: dim=1; ")),
                    (dict(dim=None), _("that uses one mean and std for the whole tensor; ")),
                    (dict(divide="none"), _("the rows are centred but not scaled: divide by the standard deviation; ")),
                    (dict(divide="var"), _("that divides by the variance; divide by its square root, the standard "
                                           "deviation; ")),
                ]
                hint = next((h for mistake, h in mistakes if close(out, _standardized(before, **mistake), **FLOAT32)),
                            "")
                fail(ex, _("values of {what}").format(what=what), _("rows with mean 0 and std 1"),
                     max_diff(out, want), hint + _(ROWS_HINT))
    passed(ex, _("{count} inputs (square, one row, two columns, non-contiguous, float64) standardised row by row, "
                 "x untouched").format(count=len(ROW_CASES)))


# --- Exercise 0.4 -----------------------------------------------------------------------------------
# (n, m, d, dtype): n ≠ m and n = m (where a transposed result keeps its shape), one point on either side,
# d = 1, float64; a shares one point with b (distance exactly 0) and is not contiguous in one case.
DIST_CASES = [
    (4, 6, 3, torch.float32),
    (5, 5, 2, torch.float32),
    (1, 4, 3, torch.float32),
    (3, 1, 5, torch.float32),
    (4, 3, 1, torch.float32),
    (6, 6, 4, torch.float64),
]
DIST_HINT = N_("a[:, None, :] - b[None, :, :] broadcasts to (n, m, d): square it and sum over the last dimension "
               "(or expand ||a||² - 2 a·b + ||b||² with @)")


@exercise("0.4", N_("pairwise_sq_dists"))
def pairwise_sq_dists(fn) -> None:
    """fn(a (n, d), b (m, d)) -> (n, m) with [i, j] = squared Euclidean distance of a[i] and b[j]."""
    ex = "0.4"
    with private_rng(4):
        for case, (n, m, d, dtype) in enumerate(DIST_CASES):
            a = torch.randn(n, 2 * d)[:, ::2] if case == 0 else torch.randn(n, d)
            b = torch.randn(m, d)
            b[m // 2] = a[n // 2]  # a shared point: one distance is exactly 0
            a, b = a.to(dtype), b.to(dtype)
            a_before, b_before = a.clone(), b.clone()
            shapes = _("a of shape {a} and b of shape {b}, {dtype}").format(a=(n, d), b=(m, d), dtype=dtype)
            with student_code(ex, _("calling pairwise_sq_dists on {shapes}").format(shapes=shapes), _(DIST_HINT)):
                out = fn(a, b)
            what = _("pairwise_sq_dists for {shapes}").format(shapes=shapes)
            out = _tensor(ex, what, out, _("return a tensor; ") + _(DIST_HINT))
            _unchanged(ex, "a", a, a_before, _("leave a and b as they are; ") + _(DIST_HINT))
            _unchanged(ex, "b", b, b_before, _("leave a and b as they are; ") + _(DIST_HINT))
            if _shape(out) == (m, n) and n != m:
                hint = _("the rows of the result belong to a and its columns to b: result[i, j] compares a[i] with "
                         "b[j]; ")
            elif _shape(out) == (n, m, d) and d != 1:
                hint = _("one number per pair: ")
            elif _shape(out) in ((n,), (n, d)):
                hint = _("a - b pairs a[i] with b[i] only: insert dimensions of size 1 so that every pair meets; ")
            else:
                hint = ""
            expect(_shape(out) == (n, m), ex, _("shape of {what}").format(what=what), (n, m), _shape(out),
                   hint + _(DIST_HINT))
            expect(out.dtype == dtype, ex, _("dtype of {what}").format(what=what), dtype, out.dtype,
                   _("keep the inputs' dtype (float64 stays float64): compute with tensor operations on a and b"))
            want = ((a_before.double()[:, None, :] - b_before.double()[None, :, :]) ** 2).sum(-1)
            # The expansion ||a||² - 2a·b + ||b||² loses absolute precision in proportion to the squared norms.
            scale = 1.0 + (a_before.double() ** 2).sum(1).max().item() + (b_before.double() ** 2).sum(1).max().item()
            tolerance = dict(rtol=FLOAT32["rtol"], atol=FLOAT32["atol"] * scale)
            if not close(out, want.to(dtype), **tolerance):
                dots = a_before.double() @ b_before.double().T
                candidates = [
                    (want.sqrt(), _("those are the distances; the exercise asks for their squares (no sqrt); ")),
                    (want.T, _("result[i, j] compares a[i] with b[j], not b[i] with a[j]; ")),
                    (dots, _("a @ b.T alone gives the dot products; ")),
                    (want + dots, _("the expansion is ||a||² - 2 a·b + ||b||²: the factor 2 is missing; ")),
                ]
                hint = next((h for value, h in candidates if close(out, value.to(dtype), **tolerance)), "")
                fail(ex, _("values of {what}").format(what=what), _("squared distances"), max_diff(out, want),
                     hint + _(DIST_HINT))
    passed(ex, _("{count} pairs of point sets (n ≠ m and n = m, one point, d = 1, a shared point, float64) give "
                 "every squared distance").format(count=len(DIST_CASES)))


progress = progress_of(__name__)
