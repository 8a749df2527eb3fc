"""Checks for lesson 01 — nn.Module and nn.Parameter."""
from __future__ import annotations

import torch
from torch import nn

from ptcourse.checks._core import close, exercise, expect, max_diff, passed, private_rng, progress_of
from ptcourse.i18n import N_

LINEAR_CASES = [(3, 2, True), (5, 4, True), (4, 1, False), (1, 6, True), (7, 3, False)]


def _registered(module: nn.Module) -> dict[str, tuple[int, ...]]:
    return {name: tuple(p.shape) for name, p in module.named_parameters()}


@exercise("1.1", N_("MyLinear"))
def my_linear(MyLinear) -> None:
    """MyLinear(in_features, out_features, bias=True) must behave exactly like nn.Linear."""
    ex = "1.1"
    with private_rng(101):
        for in_f, out_f, bias in LINEAR_CASES:
            layer = MyLinear(in_f, out_f, bias=bias)
            want = {"weight": (out_f, in_f), **({"bias": (out_f,)} if bias else {})}
            got = _registered(layer)
            expect(
                got == want, ex, f"registered parameters of MyLinear({in_f}, {out_f}, bias={bias})",
                want, got or "none (plain tensors are not registered)",
                "assign nn.Parameter(...) to self.weight (shape (out_features, in_features), like nn.Linear) "
                "and to self.bias only when bias=True",
            )
            reference = nn.Linear(in_f, out_f, bias=bias)
            layer.load_state_dict(reference.state_dict())
            for shape in [(8, in_f), (2, 3, in_f)]:
                x = torch.randn(shape)
                y, y_ref = layer(x), reference(x)
                expect(
                    close(y, y_ref), ex, f"output for an input of shape {shape}, with nn.Linear's weights",
                    f"nn.Linear's output {tuple(y_ref.shape)}", max_diff(y, y_ref),
                    "compute x @ self.weight.T + self.bias (skip the bias when there is none); "
                    "the matmul operator @ also handles extra leading dimensions",
                )
            x = torch.randn(8, in_f)
            layer(x).pow(2).sum().backward()
            reference(x).pow(2).sum().backward()
            expect(
                layer.weight.grad is not None and close(layer.weight.grad, reference.weight.grad),
                ex, "gradient of the weight after backward()", "the same gradient as nn.Linear",
                "no gradient" if layer.weight.grad is None else max_diff(layer.weight.grad, reference.weight.grad),
                "use the parameter itself in forward (not a copy, .data or .detach())",
            )
    passed(ex, f"MyLinear matches nn.Linear (parameters, outputs, gradients) in {len(LINEAR_CASES)} configurations")


class _Tied(nn.Module):
    """An embedding and an output layer that share one weight matrix (counted once)."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.out = nn.Linear(4, 10, bias=False)
        self.out.weight = self.embed.weight


def _count_cases() -> list[tuple[str, nn.Module, int, int]]:
    """(description, model, all parameters, trainable parameters)."""
    frozen = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    frozen[0].requires_grad_(False)
    nested = nn.Sequential(nn.Sequential(nn.Linear(2, 3), nn.Tanh()), nn.Linear(3, 1))
    return [
        ("nn.Linear(3, 2)", nn.Linear(3, 2), 8, 8),
        ("an MLP with its first layer frozen", frozen, 26, 10),
        ("a model with BatchNorm (whose running statistics are buffers)", nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)), 21, 21),
        ("a model whose output layer shares the embedding's weight", _Tied(), 40, 40),
        ("nested nn.Sequential", nested, 13, 13),
        ("a module with no parameters", nn.ReLU(), 0, 0),
    ]


@exercise("1.3", N_("count_parameters"))
def count_parameters(count) -> None:
    """count(model, trainable_only=False) -> number of scalar parameters, each shared tensor once."""
    ex = "1.3"
    for description, model, total, trainable in _count_cases():
        for trainable_only, want in [(False, total), (True, trainable)]:
            got = count(model, trainable_only=trainable_only)
            expect(
                got == want, ex, f"count(model, trainable_only={trainable_only}) for {description}",
                want, got,
                "sum p.numel() over model.parameters() (it lists every parameter once, including nested and "
                "shared ones, and no buffers); with trainable_only, keep only p.requires_grad",
            )
    passed(ex, "counts match on 6 models (frozen, buffers, shared weights, nesting), with and without trainable_only")


def _tiny_net_reference(sizes: tuple[int, ...]) -> int:
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])) + sizes[-1]


@exercise("1.2", N_("repair TinyNet"))
def repaired_net(RepairedNet) -> None:
    """RepairedNet(sizes) must expose every weight to parameters(), the optimizer, state_dict and .to()."""
    ex = "1.2"
    with private_rng(103):
        for sizes in [(4, 8, 3), (2, 5, 5, 1), (3, 2)]:
            model = RepairedNet(sizes)
            want = _tiny_net_reference(sizes)
            got = sum(p.numel() for p in model.parameters())
            expect(
                got == want, ex, f"number of parameters of RepairedNet({sizes})", want, got,
                "a Python list hides its layers from the module: use nn.ModuleList; "
                "a plain tensor is not a parameter: wrap self.scale in nn.Parameter",
            )
            expect(
                len(model.state_dict()) == 2 * (len(sizes) - 1) + 1, ex,
                f"entries in state_dict() of RepairedNet({sizes})",
                2 * (len(sizes) - 1) + 1, len(model.state_dict()),
                "store scale as a parameter (a buffer is saved but never trained)",
            )
            before = {name: p.detach().clone() for name, p in model.named_parameters()}
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            x, target = torch.randn(16, sizes[0]), torch.randn(16, sizes[-1])
            loss = nn.functional.mse_loss(model(x), target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            unchanged = [name for name, p in model.named_parameters() if torch.equal(p, before[name])]
            expect(
                not unchanged, ex, "every parameter changes after one optimizer step", "all of them change",
                f"unchanged: {unchanged}", "keep requires_grad=True (the default for nn.Parameter) and use "
                "every parameter in forward",
            )
            doubled = model.double()
            dtypes = sorted({str(p.dtype) for p in doubled.parameters()})
            expect(
                dtypes == ["torch.float64"], ex, "dtype of every parameter after model.double()",
                ["torch.float64"], dtypes, "only registered parameters and buffers follow .to()/.double()",
            )
    passed(ex, "every weight is registered, saved in state_dict, trained by SGD and moved by .double()")


progress = progress_of(__name__)
