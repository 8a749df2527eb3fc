"""Checks for lesson 01 — nn.Module and nn.Parameter."""
from __future__ import annotations

import torch
from torch import nn

from ptcourse.checks._core import (ALLCLOSE, EQUAL, FLOAT32, describe, exercise, expect, fail, integer, max_diff,
                                   passed, plain, private_rng, progress_of, student_code)
from ptcourse.i18n import N_, _


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Same shape and dtype, values as close as a float32 computation in another order gets."""
    a, b = plain(a), plain(b)
    return a.shape == b.shape and a.dtype == b.dtype and ALLCLOSE(a, b, **FLOAT32)


def _params(ex: str, module: nn.Module, doing: str, hint: str) -> dict[str, torch.Tensor]:
    """The module's registered parameters by name, read with nn.Module's own method (an override cannot hide one)."""
    with student_code(ex, doing, hint):
        return dict(nn.Module.named_parameters(module))


# --- Exercise 1.1 -----------------------------------------------------------------------------------
# (in_features, out_features, bias): a square layer shows a forgotten transpose, one input or output feature
# shows broadcasting slips, and None means "leave bias at its default".
LINEAR_CASES = [(3, 2, True), (5, 4, None), (4, 4, True), (4, 1, False), (1, 6, True), (7, 3, False)]
MM_HINT = N_("torch.mm, torch.addmm and Tensor.mm accept only 2-D inputs: use the @ operator (torch.matmul) or "
             "nn.functional.linear, which handle any number of leading dimensions, including none")
FORWARD_HINT = N_("x has shape (..., in_features) and self.weight (out_features, in_features): compute "
                  "x @ self.weight.T, then add self.bias when there is one")
GRAD_HINT = N_("use the parameters themselves in forward, and keep their requires_grad=True: .data, .detach() or "
               "a copy of self.weight cuts the output off from them, so backward() cannot reach them")


@exercise("1.1", N_("MyLinear"))
def my_linear(MyLinear) -> None:
    """MyLinear(in_features, out_features, bias=True) must behave exactly like nn.Linear."""
    ex = "1.1"
    with private_rng(101):
        for in_f, out_f, bias in LINEAR_CASES:
            call = (f"MyLinear({in_f}, {out_f})" if bias is None else f"MyLinear({in_f}, {out_f}, bias={bias})")
            with student_code(ex, _("creating {call}").format(call=call),
                              _("assign nn.Parameter(...) to self.weight and self.bias (or self.bias = None); an "
                                "attribute that holds a Parameter only accepts another Parameter or None")):
                layer = MyLinear(in_f, out_f) if bias is None else MyLinear(in_f, out_f, bias=bias)
            expect(isinstance(layer, nn.Module) and not isinstance(layer, nn.Linear), ex,
                   _("what {call} creates").format(call=call), _("your own subclass of nn.Module"), describe(layer),
                   _("write the layer yourself: subclass nn.Module, not nn.Linear, and create its parameters "
                     "with nn.Parameter"))
            with_bias = bias is not False
            want = {"weight": (out_f, in_f), **({"bias": (out_f,)} if with_bias else {})}
            params = _params(ex, layer, _("listing the parameters of {call}").format(call=call), _(FORWARD_HINT))
            got = {name: tuple(p.shape) for name, p in params.items()}
            expect(
                got == want, ex, _("registered parameters of {call}").format(call=call), want,
                got or _("none (plain tensors are not registered)"),
                _("assign nn.Parameter(...) to self.weight (shape (out_features, in_features), like nn.Linear) "
                  "and to self.bias only when bias=True (bias defaults to True)"),
            )
            dtypes = {name: p.dtype for name, p in params.items() if p.dtype != torch.float32}
            expect(not dtypes, ex, _("dtype of the parameters of {call}").format(call=call),
                   _("torch.float32, like nn.Linear's"), dtypes,
                   _("create them from float32 tensors: torch.randn(...) gives float32 unless asked otherwise"))
            reference = nn.Linear(in_f, out_f, bias=with_bias)
            with torch.no_grad():  # nn.Linear's values into the student's parameters, whatever else the layer holds
                for name, p in params.items():
                    p.copy_(getattr(reference, name))
            for shape in [(8, in_f), (2, 3, in_f), (in_f,)]:
                x = torch.randn(shape)
                with student_code(ex, _("calling {call} on an input of shape {shape}").format(call=call, shape=shape),
                                  _(FORWARD_HINT) if len(shape) == 2 else _(MM_HINT)):
                    y = layer(x)
                y_ref = reference(x).detach()
                expect(isinstance(y, torch.Tensor), ex,
                       _("what {call} returns for an input of shape {shape}").format(call=call, shape=shape),
                       _("a tensor"), describe(y), _("return the output tensor from forward"))
                expect(
                    _close(y.detach(), y_ref), ex,
                    _("output of {call} for an input of shape {shape}, with nn.Linear's weights").format(
                        call=call, shape=shape),
                    _("nn.Linear's output: shape {shape}, {dtype}").format(shape=tuple(y_ref.shape), dtype=y_ref.dtype),
                    _("{dtype}, {diff}").format(dtype=y.dtype, diff=max_diff(y.detach(), y_ref)),
                    _(FORWARD_HINT) if len(shape) == 2 else _(MM_HINT),
                )
            x = torch.randn(8, in_f)
            with student_code(ex, _("calling {call} on an input of shape (8, {n})").format(call=call, n=in_f),
                              _(FORWARD_HINT)):
                y = layer(x)
            expect(y.requires_grad, ex, _("the output of {call}").format(call=call),
                   _("a tensor that autograd connects to the parameters"), _("a tensor with no graph"), _(GRAD_HINT))
            with student_code(ex, _("backward() through the output of {call}").format(call=call), _(GRAD_HINT)):
                y.pow(2).sum().backward()
            reference(x).pow(2).sum().backward()
            for name, p in params.items():
                want_grad = getattr(reference, name).grad
                expect(
                    p.grad is not None and _close(p.grad, want_grad), ex,
                    _("gradient of {name} after backward() through {call}").format(name=name, call=call),
                    _("the same gradient as nn.Linear's {name}").format(name=name),
                    _("no gradient") if p.grad is None else max_diff(p.grad, want_grad), _(GRAD_HINT),
                )
    passed(ex, _("MyLinear matches nn.Linear (parameters, outputs for 0 to 2 leading dimensions, gradients) in "
                 "{n} configurations").format(n=len(LINEAR_CASES)))


# --- Exercise 1.2 -----------------------------------------------------------------------------------
REPAIR_SIZES = [None, (2, 5, 5, 1), (3, 2), [6, 3, 4]]  # None: the default sizes=(4, 8, 3)
LIST_HINT = N_("a Python list hides its layers from the module: store them in nn.ModuleList (or nn.Sequential)")
SCALE_HINT = N_("a plain tensor is not a parameter: wrap self.scale in nn.Parameter")
SIZES_HINT = N_("build nn.Linear(a, b) for each pair of neighbouring sizes (a, b) of the sizes given, and a scale "
                "of shape (sizes[-1],), as TinyNet does")
BUFFER_HINT = N_("a buffer is saved and moved but never trained: make self.scale an nn.Parameter")


def _tiny_forward(layers, scale, x):
    """TinyNet's forward pass, as the check computes it from the student's layers and scale."""
    layers = list(layers)
    for i, layer in enumerate(layers):
        x = layer(x)
        if i < len(layers) - 1:
            x = torch.relu(x)
    return x * scale


@exercise("1.2", N_("repair TinyNet"))
def repaired_net(RepairedNet) -> None:
    """RepairedNet(sizes) must expose every weight to parameters(), the optimizer, state_dict and .to()."""
    ex = "1.2"
    with private_rng(103):
        for sizes in REPAIR_SIZES:
            shape = (4, 8, 3) if sizes is None else tuple(sizes)
            call = "RepairedNet()" if sizes is None else f"RepairedNet({sizes!r})"
            with student_code(ex, _("creating {call}").format(call=call), _(LIST_HINT)):
                model = RepairedNet() if sizes is None else RepairedNet(sizes)
            expect(isinstance(model, nn.Module), ex, _("what {call} creates").format(call=call),
                   _("an nn.Module"), describe(model), _("RepairedNet subclasses nn.Module, as TinyNet does"))
            params = _params(ex, model, _("listing the parameters of {call}").format(call=call), _(LIST_HINT))
            with student_code(ex, _("reading model.layers and model.scale of {call}").format(call=call),
                              _("keep the attribute names of TinyNet: self.layers and self.scale")):
                layers, scale = list(model.layers), model.scale
            want = sum(a * b + b for a, b in zip(shape[:-1], shape[1:])) + shape[-1]
            got = sum(p.numel() for p in params.values())
            if got != want:
                registered = {id(p) for p in params.values()}
                if not all(id(p) in registered for layer in layers if isinstance(layer, nn.Module)
                           for p in nn.Module.parameters(layer)):
                    hint = _(LIST_HINT)
                elif isinstance(scale, torch.Tensor) and any(b is scale for b in nn.Module.buffers(model)):
                    hint = _(BUFFER_HINT)
                elif id(scale) not in registered:
                    hint = _(SCALE_HINT)
                else:
                    hint = _(SIZES_HINT)
                fail(ex, _("number of scalar parameters of {call}").format(call=call), want, got, hint)
            dtypes = sorted({str(p.dtype) for p in params.values()})
            expect(dtypes == ["torch.float32"], ex, _("dtype of the parameters of {call}").format(call=call),
                   ["torch.float32"], dtypes, _("create them from float32 tensors, as TinyNet does"))
            expect(isinstance(scale, nn.Parameter) and scale.requires_grad, ex,
                   _("model.scale of {call}").format(call=call), _("a Parameter with requires_grad=True"),
                   _("a Parameter with requires_grad=False") if isinstance(scale, nn.Parameter) else describe(scale),
                   _("keep requires_grad=True (nn.Parameter's default): a frozen scale is "
                                      "never trained"))
            with student_code(ex, _("calling state_dict() of {call}").format(call=call), _(LIST_HINT)):
                keys = sorted(nn.Module.state_dict(model))
            expect(keys == sorted(params), ex, _("the keys of state_dict() of {call}").format(call=call),
                   sorted(params), keys, _("keep scale a parameter, not a buffer, and add no other state"))

            with torch.no_grad():  # a scale that is not all ones, so a forward pass that skips it shows
                scale.copy_(torch.rand(scale.shape) + 0.5)
            x = torch.randn(16, shape[0])
            with student_code(ex, _("calling {call} on an input of shape {shape}").format(
                    call=call, shape=tuple(x.shape)), _("only __init__ needs to change: keep TinyNet's forward")):
                y = model(x)
                want_y = _tiny_forward(layers, scale, x)
            expect(isinstance(y, torch.Tensor) and _close(y.detach(), want_y.detach()), ex,
                   _("the output of {call}").format(call=call), _("TinyNet's forward pass on the same weights"),
                   max_diff(y.detach(), want_y.detach()) if isinstance(y, torch.Tensor) else describe(y),
                   _("only __init__ needs to change: keep TinyNet's forward, and nn.Linear(a, b) for each pair "
                     "of neighbouring sizes"))

            before = {name: p.detach().clone() for name, p in params.items()}
            optimizer = torch.optim.SGD(params.values(), lr=0.1)
            with student_code(ex, _("one training step of {call}").format(call=call),
                              _("use every parameter in forward, and keep requires_grad=True")):
                loss = nn.functional.mse_loss(model(x), torch.randn_like(want_y))
                optimizer.zero_grad()
                loss.backward()
            optimizer.step()
            unchanged = [name for name, p in params.items() if EQUAL(plain(p), before[name])]
            expect(not unchanged, ex, _("parameters of {call} after one optimizer step").format(call=call),
                   _("all of them change"), _("unchanged: {names}").format(names=unchanged),
                   _("keep requires_grad=True (nn.Parameter's default) and use every parameter in forward"))

            with student_code(ex, _("{call}.double() and a float64 forward pass").format(call=call),
                              _("only registered parameters and buffers follow .to() and .double()")):
                nn.Module.double(model)
                y64 = model(x.double())
            dtypes = sorted({str(p.dtype) for p in nn.Module.parameters(model)} | {str(scale.dtype)})
            expect(dtypes == ["torch.float64"] and isinstance(y64, torch.Tensor) and y64.dtype == torch.float64,
                   ex, _("dtype of every parameter, and of the output, after {call}.double()").format(call=call),
                   ["torch.float64"], dtypes, _("only registered parameters and buffers follow .to() and .double()"))
    passed(ex, _("every weight is registered, saved in state_dict, trained by SGD and moved by .double(), "
                 "for {n} sizes").format(n=len(REPAIR_SIZES)))


# --- Exercise 1.3 -----------------------------------------------------------------------------------
class _Tied(nn.Module):
    """An embedding and an output layer that share one weight matrix (counted once)."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.out = nn.Linear(4, 10, bias=False)
        self.out.weight = self.embed.weight


class _OwnAndChild(nn.Module):
    """A parameter of its own (a 0-dim one: a single learnable number) next to a child with two."""

    def __init__(self):
        super().__init__()
        self.temperature = nn.Parameter(torch.tensor(1.0))
        self.offset = nn.Parameter(torch.zeros(3), requires_grad=False)
        self.child = nn.Linear(3, 2)


def _count_cases() -> list[tuple[str, nn.Module]]:
    frozen = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    frozen[0].requires_grad_(False)
    nested = nn.Sequential(nn.Sequential(nn.Linear(2, 3), nn.Tanh()), nn.Linear(3, 1))
    return [
        (N_("nn.Linear(3, 2)"), nn.Linear(3, 2)),
        (N_("an MLP with its first layer frozen"), frozen),
        (N_("a model with BatchNorm (whose running statistics are buffers)"),
         nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))),
        (N_("a model whose output layer shares the embedding's weight"), _Tied()),
        (N_("nested nn.Sequential"), nested),
        (N_("a module with a 0-dim parameter and a frozen one of its own, and a child"), _OwnAndChild()),
        (N_("a fully frozen model"), nn.Linear(5, 2).requires_grad_(False)),
        (N_("a module with no parameters"), nn.ReLU()),
    ]


COUNT_HINT = N_("sum p.numel() over model.parameters(): it lists every parameter once (nested, shared and "
                "frozen ones too) and no buffers; with trainable_only, keep only those with p.requires_grad")


def _kept(model: nn.Module, trainable_only: bool) -> list[torch.Tensor]:
    return [p for p in model.parameters() if p.requires_grad or not trainable_only]


# The classic miscounts, each as a function of (model, trainable_only), with the hint that names it.
MISCOUNTS = [
    (lambda m, t: sum(x.numel() for x in m.state_dict().values()),
     N_("state_dict() also holds buffers (BatchNorm's running statistics) and names a shared tensor once per "
        "layer: count model.parameters()")),
    (lambda m, t: sum(p.numel() for p in m.parameters()),
     N_("with trainable_only=True, count only parameters with p.requires_grad")),
    (lambda m, t: sum(p.numel() for p in m.parameters() if p.requires_grad == t),
     N_("trainable_only=False counts every parameter, frozen ones too; trainable_only=True only those with "
        "p.requires_grad")),
    (lambda m, t: sum(p.numel() for sub in m.modules() for p in sub.parameters() if p.requires_grad or not t),
     N_("m.parameters() already includes every submodule's parameters, so looping over model.modules() counts "
        "them again: iterate model.parameters() once")),
    (lambda m, t: sum(p.numel() for _, p in m.named_parameters(remove_duplicate=False) if p.requires_grad or not t),
     N_("a weight shared by two layers is one tensor: count it once (model.parameters() does)")),
    (lambda m, t: sum(p.numel() for c in m.children() for p in c.parameters() if p.requires_grad or not t),
     N_("model.children() misses the parameters a module holds itself: use model.parameters()")),
    (lambda m, t: len(_kept(m, t)), N_("count numbers, not tensors: add p.numel() for each parameter")),
]


@exercise("1.3", N_("count_parameters"))
def count_parameters(count) -> None:
    """count(model, trainable_only=False) -> number of scalar parameters, each shared tensor once, as an int."""
    ex = "1.3"
    with private_rng(104):
        cases = _count_cases()
    calls = []  # (what, model, trainable_only, want, got) for every call, so a miscount is named by all of them
    for description, model in cases:
        for keyword in (None, False, True):
            call = _("count(model)") if keyword is None else _("count(model, trainable_only={flag})").format(flag=keyword)
            what = _("{call} for {model}").format(call=call, model=_(description))
            with student_code(ex, _("calling {what}").format(what=what), _(COUNT_HINT)):
                got = count(model) if keyword is None else count(model, trainable_only=keyword)
            got = integer(ex, what, got, _("return the count as a Python int: the sum of p.numel() is one"))
            want = sum(p.numel() for p in _kept(model, bool(keyword)))
            calls.append((what, model, bool(keyword), want, got))
    wrong = [call for call in calls if call[3] != call[4]]
    if wrong:
        hint = next((_(hint) for miscount, hint in MISCOUNTS
                     if all(miscount(model, flag) == got for _what, model, flag, _want, got in calls)), _(COUNT_HINT))
        what, _model, _flag, want, got = wrong[0]
        fail(ex, what, want, got, hint)
    passed(ex, _("counts match on {n} models (frozen, buffers, shared weights, nesting, 0-dim and own parameters), "
                 "with and without trainable_only").format(n=len(cases)))


progress = progress_of(__name__)
