"""Lesson 01's checks reject the classic mistakes and accept correct answers written differently."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from ptcourse.checks import lesson01 as check


# --- Exercise 1.1: MyLinear -------------------------------------------------------------------------
class GoodLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None
        nn.init.kaiming_uniform_(self.weight)
        if bias:
            nn.init.zeros_(self.bias)

    def forward(self, x):
        return nn.functional.linear(x, self.weight, self.bias)  # a different, correct formula


class LectureLinear(nn.Module):
    """The lecture's layout: weight (in, out), x @ W."""

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_features, out_features))
        self.bias = nn.Parameter(torch.randn(out_features)) if bias else None

    def forward(self, x):
        return x @ self.weight + (self.bias if self.bias is not None else 0)


class NoBiasInForward(GoodLinear):
    def forward(self, x):
        return x @ self.weight.T


class PlainTensors(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.weight = torch.randn(out_features, in_features, requires_grad=True)
        self.bias = torch.randn(out_features, requires_grad=True) if bias else None

    def forward(self, x):
        return x @ self.weight.T + (self.bias if self.bias is not None else 0)


class AlwaysBias(GoodLinear):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__(in_features, out_features, bias=True)


class Only2D(GoodLinear):
    def forward(self, x):
        return torch.addmm(self.bias, x, self.weight.T) if self.bias is not None else torch.mm(x, self.weight.T)


class DetachedWeight(GoodLinear):
    def forward(self, x):
        return nn.functional.linear(x, self.weight.detach(), self.bias)


def test_my_linear_accepts_a_different_correct_answer(capsys):
    check.my_linear(GoodLinear)
    assert "Exercise 1.1 passed" in capsys.readouterr().out


@pytest.mark.parametrize("wrong", [LectureLinear, NoBiasInForward, PlainTensors, AlwaysBias, DetachedWeight])
def test_my_linear_rejects_mistakes(wrong):
    with pytest.raises(AssertionError, match="Exercise 1.1"):
        check.my_linear(wrong)


def test_my_linear_wants_leading_dimensions():
    with pytest.raises((AssertionError, RuntimeError)):
        check.my_linear(Only2D)


# --- Exercise 1.2: RepairedNet ----------------------------------------------------------------------
class SequentialNet(nn.Module):
    """Correct, written differently: nn.Sequential instead of nn.ModuleList."""

    def __init__(self, sizes=(4, 8, 3)):
        super().__init__()
        self.layers = nn.Sequential(*(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])))
        self.scale = nn.Parameter(torch.ones(sizes[-1]))

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = torch.relu(x)
        return x * self.scale


class OnlyListFixed(SequentialNet):
    def __init__(self, sizes=(4, 8, 3)):
        super().__init__(sizes)
        del self.scale
        self.scale = torch.ones(sizes[-1])


class ScaleAsBuffer(SequentialNet):
    def __init__(self, sizes=(4, 8, 3)):
        super().__init__(sizes)
        del self.scale
        self.register_buffer("scale", torch.ones(sizes[-1]))


class FrozenScale(SequentialNet):
    def __init__(self, sizes=(4, 8, 3)):
        super().__init__(sizes)
        self.scale.requires_grad_(False)


class OnlyScaleFixed(SequentialNet):
    def __init__(self, sizes=(4, 8, 3)):
        super().__init__(sizes)
        layers = list(self.layers)
        del self.layers
        self.layers = layers


def test_repaired_net_accepts_a_different_correct_answer(capsys):
    check.repaired_net(SequentialNet)
    assert "Exercise 1.2 passed" in capsys.readouterr().out


@pytest.mark.parametrize("wrong", [OnlyListFixed, ScaleAsBuffer, FrozenScale, OnlyScaleFixed])
def test_repaired_net_rejects_mistakes(wrong):
    with pytest.raises(AssertionError, match="Exercise 1.2"):
        check.repaired_net(wrong)


# --- Exercise 1.3: count_parameters ------------------------------------------------------------------
def good_count(model, trainable_only=False):
    seen = {}
    for p in model.parameters():
        if p.requires_grad or not trainable_only:
            seen[id(p)] = p.numel()
    return sum(seen.values())


def test_count_parameters_accepts_a_different_correct_answer(capsys):
    check.count_parameters(good_count)
    assert "Exercise 1.3 passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong",
    [
        lambda m, trainable_only=False: sum(t.numel() for t in m.state_dict().values()),  # counts buffers, shared twice
        lambda m, trainable_only=False: sum(p.numel() for p in m.parameters()),  # ignores trainable_only
        lambda m, trainable_only=False: sum(p.numel() for mod in m.modules() for p in mod.parameters()),  # double counts
        lambda m, trainable_only=False: len(list(m.parameters())),  # counts tensors, not scalars
    ],
    ids=["state_dict", "ignores_trainable_only", "modules_double_count", "tensors_not_scalars"],
)
def test_count_parameters_rejects_mistakes(wrong):
    with pytest.raises(AssertionError, match="Exercise 1.3"):
        check.count_parameters(wrong)
