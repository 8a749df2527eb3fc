"""Lesson 08's checks reject the classic mistakes and accept correct answers written differently."""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from checklib import Answers, Anything, Liar
from ptcourse.checks import lesson08 as check
from ptcourse.lessons import digits


class PairAnswers(Answers):
    """Exercise 8.3's check takes two functions: its answers are registered as `(save, load)` pairs.

    Some gaming answers replace torch.equal and torch.allclose; they are put back after every answer, so
    that one answer cannot change how the next is judged.
    """

    def check(self, exercise):
        run = super().check(exercise)

        def judge(answer):
            saved = torch.equal, torch.allclose
            try:
                return run(*answer) if exercise == "8.3" else run(answer)
            finally:
                torch.equal, torch.allclose = saved

        return judge


answers = PairAnswers(check)


def say_yes():
    """What a gaming answer does: make every tensor comparison say "equal"."""
    torch.equal = lambda *args, **kwargs: True
    torch.allclose = lambda *args, **kwargs: True


test_a_stub_is_reported_as_not_done = answers.stub_test(check.make_mlp, check.confusion_matrix, lambda f: check.resume(f, f))


def test_checks_leave_the_global_random_stream_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    check.make_mlp(digits.make_mlp)
    check.confusion_matrix(digits.confusion_matrix)
    check.resume(digits.save_checkpoint, digits.load_checkpoint)
    assert torch.equal(torch.rand(3), expected)


# --- Exercise 8.1: make_mlp ---------------------------------------------------------------------------
def mlp_with(activation=nn.ReLU, last=None, first=None, flatten=True, bias=True, reverse=False):
    """A make_mlp with one mistake switched on."""

    def make_mlp(sizes):
        layers = [nn.Flatten()] if flatten is True else [flatten] if flatten else []
        if first is not None:
            layers.append(first())
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            if i and activation is not None:
                layers.append(activation())
            layers.append(nn.Linear(b, a) if reverse else nn.Linear(a, b, bias=bias))
        if last is not None:
            layers.append(last())
        return nn.Sequential(*layers)

    return make_mlp


@answers.correct("8.1", "a list of layers")
def mlp_list(sizes):
    layers = [nn.Flatten()]
    for n_in, n_out in zip(sizes, sizes[1:]):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


@answers.correct("8.1", "named layers in an OrderedDict")
def mlp_named(sizes):
    named = [("flatten", nn.Flatten())]
    for i in range(len(sizes) - 1):
        if i:
            named.append((f"relu{i}", nn.ReLU()))
        named.append((f"fc{i + 1}", nn.Linear(sizes[i], sizes[i + 1])))
    return nn.Sequential(OrderedDict(named))


class ModuleListMLP(nn.Module):
    """Correct, written as a class: x.flatten(1), F.relu between the layers."""

    def __init__(self, sizes):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, x):
        x = x.flatten(1)
        for i, layer in enumerate(self.layers):
            x = layer(F.relu(x) if i else x)
        return x


answers.correct("8.1", "an nn.Module with a ModuleList", ModuleListMLP)
answers.correct("8.1", "the course's reference", digits.make_mlp)

answers.mistake("8.1", "a ReLU after the last layer", mlp_with(last=nn.ReLU), match="no ReLU after the last Linear")
answers.mistake("8.1", "Softmax at the end (the lecture's nn.Softmax)", mlp_with(last=lambda: nn.Softmax(dim=1)),
                match="no Softmax at the end")
answers.mistake("8.1", "LogSoftmax at the end", mlp_with(last=lambda: nn.LogSoftmax(dim=1)), match="no Softmax")
answers.mistake("8.1", "no activation", mlp_with(activation=None), match="put an nn.ReLU\\(\\) between")
answers.mistake("8.1", "Sigmoid instead of ReLU", mlp_with(activation=nn.Sigmoid), match="activation between the layers is nn.ReLU")
answers.mistake("8.1", "no Flatten", mlp_with(flatten=False), match="raised an exception.*start with nn.Flatten")
answers.mistake("8.1", "flattens the batch dimension too", mlp_with(flatten=nn.Flatten(0)), match="nn.Flatten")
answers.mistake("8.1", "Linear layers without bias", mlp_with(bias=False), match="keeps its bias")
answers.mistake("8.1", "in and out sizes swapped", mlp_with(reverse=True), match="one nn.Linear\\(sizes\\[i\\], sizes\\[i \\+ 1\\]\\)")
answers.mistake("8.1", "a ReLU on the input", mlp_with(first=nn.ReLU), match="a ReLU between two Linear layers")


@answers.mistake("8.1", "torch.flatten(x) merges a batch of one", match="keeps the batch dimension")
def mlp_flatten_all(sizes):
    class Whole(nn.Module):
        def forward(self, x):
            return torch.flatten(x) if len(x) == 1 else x.flatten(1)

    return nn.Sequential(Whole(), *list(digits.make_mlp(sizes))[1:])


@answers.mistake("8.1", "drops the last bias, adds a parameter of its size", match="keeps its bias")
def mlp_bias_elsewhere(sizes):
    model = mlp_with()(sizes[:-1]) if len(sizes) > 2 else nn.Sequential(nn.Flatten())
    last = nn.Linear(sizes[-2], sizes[-1], bias=False)
    if len(sizes) > 2:
        model.append(nn.ReLU())
    model.append(last)
    model.register_parameter("offset", nn.Parameter(torch.zeros(sizes[-1])))
    return model


class Hidden(nn.Module):
    """Gaming: the right function with its weights in plain tensors the check cannot reach."""

    def __init__(self, sizes):
        super().__init__()
        self.reference = [digits.make_mlp(sizes)]  # a list: not a registered submodule

    def forward(self, x):
        return self.reference[0](x)


answers.gaming("8.1", "an object equal to anything", lambda sizes: Anything(), match="an nn.Module")
answers.gaming("8.1", "no ReLU, and torch.allclose patched to say yes",
               lambda sizes: (say_yes(), mlp_with(activation=None)(sizes))[1], match="put an nn.ReLU")
answers.gaming("8.1", "weights the optimizer would never see", Hidden, match="nn.Linear layers")


@answers.gaming("8.1", "logits that claim to equal anything", match="put an nn.ReLU")
def mlp_liar(sizes):
    class Lying(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = mlp_with(activation=None)(sizes)

        def forward(self, x):
            return self.inner(x).as_subclass(Liar)

    return Lying()


# --- Exercise 8.2: confusion_matrix -------------------------------------------------------------------
@answers.correct("8.2", "a loop over the samples")
def matrix_loop(predictions, targets, num_classes):
    matrix = torch.zeros(num_classes, num_classes, dtype=torch.long)
    for t, p in zip(targets.tolist(), predictions.tolist()):
        matrix[t, p] += 1
    return matrix


answers.correct("8.2", "bincount (the course's)", digits.confusion_matrix)
answers.correct("8.2", "index_put_ with accumulate=True", lambda predictions, targets, num_classes: torch.zeros(
    num_classes, num_classes, dtype=torch.long).index_put_((targets, predictions), torch.ones_like(targets), accumulate=True))
answers.correct("8.2", "one-hot matrix product", lambda predictions, targets, num_classes:
                F.one_hot(targets, num_classes).T @ F.one_hot(predictions, num_classes))

answers.mistake("8.2", "rows are predictions", lambda predictions, targets, num_classes:
                digits.confusion_matrix(targets, predictions, num_classes), match="rows are the true classes")
answers.mistake("8.2", "sized by the largest label", lambda predictions, targets, num_classes:
                digits.confusion_matrix(predictions, targets, int(max(predictions.max(), targets.max())) + 1),
                match="even when some classes never occur")
answers.mistake("8.2", "float counts", lambda predictions, targets, num_classes:
                digits.confusion_matrix(predictions, targets, num_classes).float(), match="counts are integers")
answers.mistake("8.2", "rows as fractions", lambda predictions, targets, num_classes:
                (lambda m: m / m.sum(1, keepdim=True).clamp(min=1))(digits.confusion_matrix(predictions, targets, num_classes)),
                match="counts are integers")
answers.mistake("8.2", "only the correct predictions", lambda predictions, targets, num_classes:
                torch.diag(torch.bincount(targets[predictions == targets], minlength=num_classes)),
                match="count every sample")


@answers.mistake("8.2", "advanced-index += counts a repeated pair once", match="adds exactly 1")
def matrix_index_add(predictions, targets, num_classes):
    matrix = torch.zeros(num_classes, num_classes, dtype=torch.long)
    matrix[targets, predictions] += 1
    return matrix


@answers.mistake("8.2", "changes the targets in place", match="in-place methods")
def matrix_in_place(predictions, targets, num_classes):
    return torch.bincount(targets.mul_(num_classes).add_(predictions),
                          minlength=num_classes * num_classes).reshape(num_classes, num_classes)


answers.mistake("8.2", "a list of lists", lambda predictions, targets, num_classes:
                digits.confusion_matrix(predictions, targets, num_classes).tolist(), match="return a tensor")
answers.gaming("8.2", "an object equal to anything", lambda predictions, targets, num_classes: Anything(),
               match="a torch.Tensor")
answers.gaming("8.2", "transposed, and torch.equal patched to say yes", lambda predictions, targets, num_classes: (
    say_yes(), digits.confusion_matrix(targets, predictions, num_classes))[1], match="rows are the true classes")
answers.gaming("8.2", "a transposed matrix that claims to equal anything", lambda predictions, targets, num_classes:
               digits.confusion_matrix(targets, predictions, num_classes).as_subclass(Liar),
               match="rows are the true classes")


# --- Exercise 8.3: save and resume -------------------------------------------------------------------
def saver(parts=("model", "optimizer", "generator", "torch_rng"), whole=False, seed=False, epoch_as=int):
    def save_checkpoint(path, model, optimizer, generator, epoch):
        if whole:
            torch.save({"model": model, "optimizer": optimizer, "epoch": epoch}, path)
            return
        if seed:
            torch.manual_seed(0)
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                 "generator": generator.get_state(), "torch_rng": torch.get_rng_state()}
        torch.save({"epoch": epoch_as(epoch), **{k: state[k] for k in parts}}, path)

    return save_checkpoint


def loader(parts=("model", "optimizer", "generator", "torch_rng"), reseed=False, returns=True):
    def load_checkpoint(path, model, optimizer, generator):
        checkpoint = torch.load(path, weights_only=True)
        model.load_state_dict(checkpoint["model"])
        if "optimizer" in parts:
            optimizer.load_state_dict(checkpoint["optimizer"])
        if "generator" in parts:
            generator.set_state(checkpoint["generator"])
        if reseed:
            generator.manual_seed(0)
        if "torch_rng" in parts:
            torch.set_rng_state(checkpoint["torch_rng"])
        return checkpoint["epoch"] if returns else None

    return load_checkpoint


def nested_save(path, model, optimizer, generator, epoch):
    """Correct, written differently: nested dicts, the random states first."""
    torch.save({"rng": {"torch": torch.get_rng_state(), "loader": generator.get_state()},
                "state": {"net": model.state_dict(), "opt": optimizer.state_dict()}, "meta": {"epoch": epoch}}, path)


def nested_load(path, model, optimizer, generator):
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    torch.set_rng_state(checkpoint["rng"]["torch"])
    generator.set_state(checkpoint["rng"]["loader"])
    optimizer.load_state_dict(checkpoint["state"]["opt"])
    model.load_state_dict(checkpoint["state"]["net"], strict=True)
    return int(checkpoint["meta"]["epoch"])


def tuple_save(path, model, optimizer, generator, epoch):
    """Correct, written differently: an open file and a tuple."""
    with open(path, "wb") as f:
        torch.save((epoch, model.state_dict(), optimizer.state_dict(), generator.get_state(), torch.get_rng_state()), f)


def tuple_load(path, model, optimizer, generator):
    with open(path, "rb") as f:
        epoch, weights, optimizer_state, generator_state, rng_state = torch.load(f, weights_only=True)
    model.load_state_dict(weights)
    optimizer.load_state_dict(optimizer_state)
    generator.set_state(generator_state)
    torch.set_rng_state(rng_state)
    return epoch


answers.correct("8.3", "the course's reference", (digits.save_checkpoint, digits.load_checkpoint))
answers.correct("8.3", "nested dicts, loaded to the CPU", (nested_save, nested_load))
answers.correct("8.3", "a tuple through open files", (tuple_save, tuple_load))

answers.mistake("8.3", "only the model", (saver(parts=("model",)), loader(parts=())),
                match="optimizer.load_state_dict")
answers.mistake("8.3", "model and optimizer only", (saver(parts=("model", "optimizer")), loader(parts=("optimizer",))),
                match="generator.set_state")
answers.mistake("8.3", "forgets torch's global random state",
                (saver(parts=("model", "optimizer", "generator")), loader(parts=("optimizer", "generator"))),
                match="torch.set_rng_state")
answers.mistake("8.3", "seeds the loader's generator again", (saver(), loader(reseed=True)),
                match="seeding it again")
answers.mistake("8.3", "pickles the model and optimizer objects", (saver(whole=True), loader()),
                match="weights_only=True loads tensors")
answers.mistake("8.3", "returns nothing", (saver(), loader(returns=False)), match="as a Python int")
answers.mistake("8.3", "stores the epoch as a tensor", (saver(epoch_as=torch.tensor), loader()),
                match="as a Python int")
answers.mistake("8.3", "seeds torch while saving", (saver(seed=True), loader()), match="saving only reads")

_last = {}


def memory_save(path, model, optimizer, generator, epoch):
    """Gaming: an empty-looking checkpoint on disk, the real state kept in this process."""
    digits.save_checkpoint(path, model, optimizer, generator, epoch)
    _last["file"] = path


def memory_load(path, model, optimizer, generator):
    return digits.load_checkpoint(_last["file"], model, optimizer, generator)


answers.gaming("8.3", "loads whatever was saved last, whatever the path", (memory_save, memory_load),
               match="the model's weights")
answers.gaming("8.3", "an epoch equal to anything", (digits.save_checkpoint,
               lambda path, model, optimizer, generator: (digits.load_checkpoint(path, model, optimizer, generator),
                                                          Anything())[1]), match="a Python int")



def load_model_and_say_yes(path, model, optimizer, generator):
    checkpoint = torch.load(path, weights_only=True)
    model.load_state_dict(checkpoint["model"])
    say_yes()
    return checkpoint["epoch"]


answers.gaming("8.3", "restores only the model, with tensor comparisons patched to say yes",
               (digits.save_checkpoint, load_model_and_say_yes), match="optimizer.load_state_dict")

test_answer = answers.test()


def test_gaming_answers_leave_torch_as_it_was():
    assert torch.equal(torch.zeros(1), torch.zeros(1)) and not torch.equal(torch.zeros(1), torch.ones(1))
    assert not torch.allclose(torch.zeros(1), torch.ones(1))
