"""Lesson 01's checks reject the classic mistakes and accept correct answers written differently."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from checklib import Answers
from ptcourse.checks import lesson01 as check

answers = Answers(check)
test_answer = answers.test()


class Anything:
    """Equal to anything: a check that compares `got == want` on it would pass."""

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


test_a_stub_is_reported_as_not_done = answers.stub_test(check.my_linear, check.repaired_net, check.count_parameters)


def test_checks_leave_the_global_random_stream_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    check.my_linear(SolutionLinear)
    check.repaired_net(SequentialNet)
    check.count_parameters(solution_count)
    assert torch.equal(torch.rand(3), expected)


def test_the_progress_lists_the_exercises_in_lesson_order(capsys):
    check.progress()
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines[1:4]] == ["1.1", "1.2", "1.3"]


# --- Exercise 1.1: MyLinear -------------------------------------------------------------------------
@answers.correct("1.1", "the lesson's solution: randn * 0.1, x @ W.T + b")
class SolutionLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) * 0.1)
        self.bias = nn.Parameter(torch.randn(out_features) * 0.1) if bias else None

    def forward(self, x):
        y = x @ self.weight.T
        return y if self.bias is None else y + self.bias


@answers.correct("1.1", "nn.functional.linear, kaiming init, register_parameter for no bias")
class FunctionalLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        nn.init.kaiming_uniform_(self.weight)
        if bias:
            self.bias = nn.Parameter(torch.zeros(out_features))
        else:
            self.register_parameter("bias", None)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)


@answers.correct("1.1", "einsum over any leading dimensions, bias first in the sum")
class EinsumLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.use_bias = bias
        self.weight = nn.Parameter(torch.rand(out_features, in_features) - 0.5)
        if bias:
            self.bias = nn.Parameter(torch.zeros(out_features))

    def forward(self, x):
        y = torch.einsum("...i,oi->...o", x, self.weight)
        return self.bias + y if self.use_bias else y


@answers.correct("1.1", "flattens to 2-D for torch.addmm / torch.mm and restores the leading dimensions")
class FlattenedMatmul(SolutionLinear):
    def forward(self, x):
        flat = x.reshape(-1, x.shape[-1])
        y = torch.addmm(self.bias, flat, self.weight.t()) if self.bias is not None else flat.mm(self.weight.t())
        return y.reshape(*x.shape[:-1], -1)


@answers.mistake("1.1", "the lecture's layout: weight (in, out) and x @ W", match=r"shape \(out_features, in_features\)")
class LectureLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_features, out_features))
        self.bias = nn.Parameter(torch.randn(out_features)) if bias else None

    def forward(self, x):
        return x @ self.weight + (self.bias if self.bias is not None else 0)


@answers.mistake("1.1", "forgets the bias in forward", match="then add self.bias")
class NoBiasInForward(SolutionLinear):
    def forward(self, x):
        return x @ self.weight.T


@answers.mistake("1.1", "plain tensors with requires_grad instead of nn.Parameter", match="assign nn.Parameter")
class PlainTensors(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.weight = torch.randn(out_features, in_features, requires_grad=True)
        self.bias = torch.randn(out_features, requires_grad=True) if bias else None

    def forward(self, x):
        return x @ self.weight.T + (self.bias if self.bias is not None else 0)


@answers.mistake("1.1", "always creates a bias", match="only when bias=True")
class AlwaysBias(SolutionLinear):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__(in_features, out_features, bias=True)


@answers.mistake("1.1", "torch.mm / torch.addmm, which accept only 2-D inputs (issue #12: was a raw RuntimeError)",
                 match="accept only 2-D inputs")
class Only2D(SolutionLinear):
    def forward(self, x):
        return torch.addmm(self.bias, x, self.weight.T) if self.bias is not None else torch.mm(x, self.weight.T)


@answers.mistake("1.1", "a detached weight in forward", match="cuts the output off")
class DetachedWeight(SolutionLinear):
    def forward(self, x):
        return F.linear(x, self.weight.detach(), self.bias)


@answers.mistake("1.1", ".data on every parameter in forward (issue #12: was a raw RuntimeError from backward)",
                 match="cuts the output off")
class DataEverywhere(SolutionLinear):
    def forward(self, x):
        return F.linear(x, self.weight.data, None if self.bias is None else self.bias.data)


@answers.mistake("1.1", "rescales with .data after creating the Parameter (issue #12: was a raw TypeError)",
                 match="only accepts another Parameter or None")
class RescaledData(SolutionLinear):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__(in_features, out_features, bias)
        self.weight = self.weight.data * 0.1


@answers.mistake("1.1", "float64 parameters", match="float32")
class Float64Linear(SolutionLinear):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__(in_features, out_features, bias)
        self.double()


@answers.mistake("1.1", "a bias of shape (out_features, 1)", match="registered parameters")
class ColumnBias(SolutionLinear):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__(in_features, out_features, bias)
        if bias:
            self.bias = nn.Parameter(torch.zeros(out_features, 1))

    def forward(self, x):
        return x @ self.weight.T + self.bias.T


@answers.gaming("1.1", "subclasses nn.Linear instead of writing the layer", match="not nn.Linear")
class SubclassedLinear(nn.Linear):
    pass


answers.gaming("1.1", "hands in nn.Linear itself", nn.Linear, match="not nn.Linear")


@answers.gaming("1.1", "forward returns an object equal to anything", match="a tensor")
class AnythingLinear(SolutionLinear):
    def forward(self, x):
        return Anything()


@answers.gaming("1.1", "patches torch.allclose and torch.equal, then returns zeros", match="nn.Linear's output")
class PatchingLinear(SolutionLinear):
    def forward(self, x):
        torch.allclose = lambda *args, **kwargs: True
        torch.equal = lambda *args, **kwargs: True
        return torch.zeros(*x.shape[:-1], self.weight.shape[0])


# --- Exercise 1.2: RepairedNet ----------------------------------------------------------------------
class TinyForward(nn.Module):
    """TinyNet's forward pass; subclasses write only __init__."""

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = torch.relu(x)
        return x * self.scale


@answers.correct("1.2", "the lesson's solution: nn.ModuleList and nn.Parameter")
class SolutionNet(TinyForward):
    def __init__(self, sizes=(4, 8, 3)):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.scale = nn.Parameter(torch.ones(sizes[-1]))


@answers.correct("1.2", "nn.Sequential instead of nn.ModuleList")
class SequentialNet(TinyForward):
    def __init__(self, sizes=(4, 8, 3)):
        super().__init__()
        self.layers = nn.Sequential(*(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])))
        self.scale = nn.Parameter(torch.ones(sizes[-1]))


@answers.correct("1.2", "scale first, register_parameter, a ModuleList filled with append")
class AppendNet(TinyForward):
    def __init__(self, sizes=(4, 8, 3)):
        super().__init__()
        self.register_parameter("scale", nn.Parameter(torch.ones(sizes[-1])))
        self.layers = nn.ModuleList()
        for i in range(len(sizes) - 1):
            self.layers.append(nn.Linear(sizes[i], sizes[i + 1]))


@answers.mistake("1.2", "fixes the list, leaves scale a plain tensor", match=r"wrap self\.scale in nn\.Parameter")
class OnlyListFixed(SolutionNet):
    def __init__(self, sizes=(4, 8, 3)):
        super().__init__(sizes)
        del self.scale
        self.scale = torch.ones(sizes[-1])


@answers.mistake("1.2", "scale as a buffer", match="buffer is saved and moved but never trained")
class ScaleAsBuffer(SolutionNet):
    def __init__(self, sizes=(4, 8, 3)):
        super().__init__(sizes)
        del self.scale
        self.register_buffer("scale", torch.ones(sizes[-1]))


@answers.mistake("1.2", "a frozen scale", match="keep requires_grad=True")
class FrozenScale(SolutionNet):
    def __init__(self, sizes=(4, 8, 3)):
        super().__init__(sizes)
        self.scale.requires_grad_(False)


@answers.mistake("1.2", "fixes scale, leaves the layers in a Python list", match="use|store them in nn.ModuleList")
class OnlyScaleFixed(SolutionNet):
    def __init__(self, sizes=(4, 8, 3)):
        super().__init__(sizes)
        layers = list(self.layers)
        del self.layers
        self.layers = layers


@answers.mistake("1.2", "ignores sizes: always (4, 8, 3)", match="each pair of neighbouring sizes")
class FixedSizes(SolutionNet):
    def __init__(self, sizes=(4, 8, 3)):
        super().__init__((4, 8, 3))


@answers.mistake("1.2", "layers built the wrong way round: nn.Linear(b, a)", match="each pair of neighbouring sizes")
class ReversedLayers(TinyForward):
    def __init__(self, sizes=(4, 8, 3)):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(b, a) for a, b in zip(sizes[:-1], sizes[1:]))
        self.scale = nn.Parameter(torch.ones(sizes[-1]))


@answers.mistake("1.2", "a float64 scale", match="float32 tensors")
class Float64Scale(SolutionNet):
    def __init__(self, sizes=(4, 8, 3)):
        super().__init__(sizes)
        self.scale = nn.Parameter(torch.ones(sizes[-1], dtype=torch.float64))


@answers.mistake("1.2", "changes forward: forgets the scale", match="keep TinyNet's forward")
class NoScaleForward(SolutionNet):
    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = torch.relu(x)
        return x


@answers.gaming("1.2", "overrides parameters(), state_dict() and double() to show the hidden list",
                match="store them in nn.ModuleList")
class OverridingNet(OnlyScaleFixed):
    def parameters(self, recurse=True):
        return iter([p for layer in self.layers for p in layer.parameters()] + [self.scale])

    def named_parameters(self, *args, **kwargs):
        return iter([(f"layers.{i}.{n}", p) for i, layer in enumerate(self.layers)
                     for n, p in layer.named_parameters()] + [("scale", self.scale)])

    def state_dict(self, *args, **kwargs):
        return dict(self.named_parameters())

    def double(self):
        for layer in self.layers:
            layer.double()
        return super().double()


# --- Exercise 1.3: count_parameters ------------------------------------------------------------------
def solution_count(model, trainable_only=False):
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


answers.correct("1.3", "the lesson's solution", solution_count)


@answers.correct("1.3", "deduplicates by id over named_parameters(remove_duplicate=False)")
def count_by_id(model, trainable_only=False):
    seen = {}
    for _, p in model.named_parameters(remove_duplicate=False):
        if p.requires_grad or not trainable_only:
            seen[id(p)] = p.numel()
    return sum(seen.values())


@answers.correct("1.3", "NumPy sum of the sizes (a NumPy integer)")
def count_with_numpy(model, trainable_only=False):
    sizes = [p.numel() for p in model.parameters() if not trainable_only or p.requires_grad]
    return np.sum(sizes, dtype=np.int64)


@answers.correct("1.3", "math.prod of each shape, filter()")
def count_with_prod(model, trainable_only=False):
    import math

    kept = filter(lambda p: p.requires_grad, model.parameters()) if trainable_only else model.parameters()
    return sum(math.prod(p.shape) for p in kept)


answers.mistake("1.3", "sums state_dict() (buffers, shared weights twice)",
                lambda model, trainable_only=False: sum(t.numel() for t in model.state_dict().values()),
                match="state_dict.. also holds buffers")
answers.mistake("1.3", "ignores trainable_only",
                lambda model, trainable_only=False: sum(p.numel() for p in model.parameters()),
                match="count only parameters with p.requires_grad")
answers.mistake("1.3", "loops over modules() and counts children again",
                lambda model, trainable_only=False: sum(
                    p.numel() for m in model.modules() for p in m.parameters()
                    if p.requires_grad or not trainable_only),
                match="counts them again")
answers.mistake("1.3", "counts tensors, not scalars",
                lambda model, trainable_only=False: len(
                    [p for p in model.parameters() if p.requires_grad or not trainable_only]),
                match="count numbers, not tensors")
answers.mistake("1.3", "trainable_only=False counts only the frozen ones",
                lambda model, trainable_only=False: sum(
                    p.numel() for p in model.parameters() if p.requires_grad == trainable_only),
                match="trainable_only=False counts every parameter")
answers.mistake("1.3", "counts the children's parameters only",
                lambda model, trainable_only=False: sum(
                    p.numel() for c in model.children() for p in c.parameters()
                    if p.requires_grad or not trainable_only),
                match="misses the parameters a module holds itself")
answers.mistake("1.3", "counts a shared weight twice",
                lambda model, trainable_only=False: sum(
                    p.numel() for _, p in model.named_parameters(remove_duplicate=False)
                    if p.requires_grad or not trainable_only),
                match="count it once")
answers.mistake("1.3", "len(p) per parameter: fails on a 0-dim one",
                lambda model, trainable_only=False: sum(
                    len(p) * (p[0].numel() if p.dim() > 1 else 1) for p in model.parameters()
                    if p.requires_grad or not trainable_only),
                match="raised an exception.*sum p.numel")
answers.mistake("1.3", "returns a float",
                lambda model, trainable_only=False: float(solution_count(model, trainable_only)),
                match="a Python int")
answers.mistake("1.3", "returns a tensor",
                lambda model, trainable_only=False: torch.tensor(solution_count(model, trainable_only)),
                match="a Python int")
answers.gaming("1.3", "returns an object equal to anything (issue #12: passed)",
               lambda model, trainable_only=False: Anything(), match="a Python int")


class AlwaysEqualInt(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


answers.gaming("1.3", "returns an int subclass equal to anything",
               lambda model, trainable_only=False: AlwaysEqualInt(0), match="a Python int")
