"""Checks for lesson 02 — autograd and the training loop."""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ptcourse.checks._core import (ALLCLOSE, EQUAL, FLOAT32, describe, digits, exercise, expect, fail, near, number,
                                   passed, plain, private_rng, progress_of, student_code)
from ptcourse.i18n import N_, _

# 44 samples in batches of 8: five full batches and a last one of 4, so a mean over batches differs
# from a mean over samples, and a loop that stops early is visible. Everything is float32, as in the lesson.
N_SAMPLES, N_FEATURES, N_CLASSES, BATCH = 44, 5, 3, 8
N_BATCHES = -(-N_SAMPLES // BATCH)


class _CountingDataset(TensorDataset):
    """A TensorDataset that counts the samples a loop draws from it."""

    def __init__(self, *tensors):
        super().__init__(*tensors)
        self.drawn = 0

    def __getitem__(self, index):
        self.drawn += 1
        return super().__getitem__(index)


def _problem(seed: int):
    """A small float32 classification problem: a model with BatchNorm, a loader, a criterion."""
    with private_rng(seed):
        inputs = torch.randn(N_SAMPLES, N_FEATURES)
        labels = torch.randint(0, N_CLASSES, (N_SAMPLES,))
        model = nn.Sequential(nn.Linear(N_FEATURES, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, N_CLASSES))
        # Running statistics far from a fresh layer's, so train and eval modes give different numbers.
        model[1].running_mean.copy_(torch.randn(8))
        model[1].running_var.copy_(torch.rand(8) + 0.5)
    loader = DataLoader(_CountingDataset(inputs, labels), batch_size=BATCH)
    # Label smoothing: a loop that builds its own criterion instead of using this one is visible.
    return model, loader, nn.CrossEntropyLoss(label_smoothing=0.1)


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items() if v.is_floating_point()}


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    """Parameters and buffers as close as two float32 computations of the same step in another order get."""
    return all(ALLCLOSE(plain(a[k]), plain(b[k]), **FLOAT32) for k in b)


def _diff(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> str:
    return _("max |difference| = {diff:.3g}").format(diff=max((a[k] - b[k]).abs().max().item() for k in b))


class _Run(NamedTuple):
    result: object
    state: dict[str, torch.Tensor]
    drawn: int
    steps: int
    training: bool


# --- Exercise 2.1 -----------------------------------------------------------------------------------
LOOP_HINT = N_("for each batch: optimizer.zero_grad(); outputs = model(inputs); loss = criterion(outputs, labels) "
               "with the criterion you were given; loss.backward(); optimizer.step()")


def _train_reference(model, loader, criterion, optimizer, *, train_mode=True, zero_grad=True, own_criterion=False):
    """One epoch of training; the keyword arguments switch on classic mistakes, for diagnosis."""
    model.train(train_mode)
    if own_criterion:
        criterion = nn.CrossEntropyLoss()
    losses = []
    for inputs, labels in loader:
        if zero_grad:
            optimizer.zero_grad()
        loss = criterion(model(inputs), labels)
        loss.backward()
        optimizer.step()
        losses.append((loss.item(), len(labels)))
    return losses  # (loss before the step, batch size) per batch


def _train_run(train_fn, seed: int, ex: str | None = None, **mistake) -> _Run:
    model, loader, criterion = _problem(seed)
    model.eval()  # as `evaluate` leaves it: an epoch of training must switch back to train mode
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    steps = []
    optimizer.register_step_post_hook(lambda *args: steps.append(1))
    with private_rng(seed):  # whatever the code under test draws, the notebook's random stream is untouched
        if ex is None:
            result = train_fn(model, loader, criterion, optimizer, **mistake)
        else:
            with student_code(ex, _("calling train_one_epoch(model, loader, criterion, optimizer)"), _(LOOP_HINT)):
                result = train_fn(model, loader, criterion, optimizer)
    return _Run(result, _state(model), loader.dataset.drawn, len(steps), model.training)


@exercise("2.1", N_("train_one_epoch"))
def train_one_epoch(train_fn) -> None:
    """train_one_epoch(model, loader, criterion, optimizer) -> mean training loss per sample, as a number."""
    ex, seed = "2.1", 201
    run = _train_run(train_fn, seed, ex)
    want = _train_run(_train_reference, seed)
    loss = number(
        ex, _("the value returned by train_one_epoch"), run.result,
        _("return a number: add up loss.item() (a float), not loss (a tensor that keeps every batch's graph alive)"),
        tensor=True,
    )
    expect(
        run.drawn >= N_SAMPLES, ex,
        _("samples drawn from a loader of {n} samples ({b} batches)").format(n=N_SAMPLES, b=N_BATCHES),
        _("all {n}").format(n=N_SAMPLES), run.drawn,
        _("loop over every batch: `for inputs, labels in loader:` with no `break`, and `return` after the loop, "
          "not inside it"),
    )
    expect(run.steps > 0, ex, _("calls to optimizer.step()"), N_BATCHES, 0,
           _("without optimizer.step() the gradients are computed and thrown away: nothing learns"))
    expect(run.steps == N_BATCHES, ex, _("calls to optimizer.step() in one epoch"),
           _("{n} (one per batch)").format(n=N_BATCHES), run.steps,
           _("call optimizer.step() once per batch, after loss.backward()"))
    if not _same(run.state, want.state):
        start_model = _problem(seed)[0]
        start = _state(start_model)
        if all(EQUAL(run.state[name], start[name]) for name, _p in start_model.named_parameters()):
            hint = _("the parameters never changed although step() ran: call loss.backward() before "
                     "optimizer.step(), and do not zero the gradients between the two")
        elif _same(run.state, _train_run(_train_reference, seed, zero_grad=False).state):
            hint = _("this is what training without optimizer.zero_grad() gives: the gradients add up across "
                     "batches; zero them at the start of every batch")
        elif not run.training or _same(run.state, _train_run(_train_reference, seed, train_mode=False).state):
            hint = _("the model stayed in eval mode, so BatchNorm used its running statistics: call "
                     "model.train() at the start of the epoch")
        elif _same(run.state, _train_run(_train_reference, seed, own_criterion=True).state):
            hint = _("use the criterion you were given (here it smooths the labels), not one of your own")
        else:
            hint = _(LOOP_HINT)
        fail(ex, _("parameters and BatchNorm statistics after one epoch (same start and batches as a reference loop)"),
             _("the reference loop's"), _diff(run.state, want.state), hint)
    losses = [loss for loss, _n in want.result]
    per_sample = sum(loss * n for loss, n in want.result) / N_SAMPLES
    if not near(loss, per_sample):
        misreadings = [
            (sum(losses) / len(losses), N_("that is the mean over batches; weight each batch's loss by its size "
                                           "(the last batch here is smaller): add loss.item() * len(labels) per "
                                           "batch and divide by the number of samples")),
            (sum(losses) / N_SAMPLES, N_("each batch's loss is already a mean over its samples: multiply it by "
                                         "len(labels) before adding it up")),
            (sum(loss * n for loss, n in want.result), N_("divide the sum by the number of samples")),
            (losses[-1], N_("that is the last batch's loss: add up every batch's, then divide")),
        ]
        hint = next((_(h) for value, h in misreadings if near(loss, value)),
                    _("add loss.item() * len(labels) for each batch, as computed in its forward pass (before its "
                      "step), and divide by the number of samples"))
        fail(ex, _("the returned mean training loss per sample"), digits(per_sample), digits(loss), hint)
    passed(ex, _("one epoch over {b} batches matches a reference loop (parameters, BatchNorm statistics, mean loss "
                 "per sample)").format(b=N_BATCHES))


# --- Exercise 2.2 -----------------------------------------------------------------------------------
EVAL_HINT = N_("model.eval(); then, inside `with torch.no_grad():`, for each batch add criterion(outputs, labels)"
               ".item() * len(labels) and the number of samples whose outputs.argmax(dim=1) equals the label")


def _evaluate_reference(model, loader, criterion):
    """Per batch: (mean loss, correct predictions, batch size)."""
    model.eval()
    batches = []
    with torch.no_grad():
        for inputs, labels in loader:
            outputs = model(inputs)
            batches.append((criterion(outputs, labels).item(), (outputs.argmax(dim=1) == labels).sum().item(),
                            len(labels)))
    return batches


@exercise("2.2", N_("evaluate"))
def evaluate(evaluate_fn) -> None:
    """evaluate(model, loader, criterion) -> (mean loss per sample, accuracy), in eval mode, without a graph."""
    ex, seed = "2.2", 202
    model, loader, criterion = _problem(seed)  # in train mode, as after a training epoch
    start = _state(model)
    grad_modes = []
    model.register_forward_hook(lambda *args: grad_modes.append(torch.is_grad_enabled()))
    with private_rng(seed), student_code(ex, _("calling evaluate(model, loader, criterion)"), _(EVAL_HINT)):
        result = evaluate_fn(model, loader, criterion)
    expect(isinstance(result, (tuple, list)) and len(result) == 2, ex, _("the value returned by evaluate"),
           _("a pair (mean loss, accuracy)"), describe(result), _("end with `return mean_loss, accuracy`"))
    expect(loader.dataset.drawn >= N_SAMPLES, ex, _("samples drawn from a loader of {n} samples").format(n=N_SAMPLES),
           _("all {n}").format(n=N_SAMPLES), loader.dataset.drawn, _("evaluate on every batch of the loader, and return after the loop"))
    expect(
        not any(grad_modes), ex, _("torch.is_grad_enabled() during the forward passes"), False, True,
        _("run the loop inside `with torch.no_grad():` so that no graph is built (less memory, faster)"),
    )
    hint = _("return two numbers: .item() turns a one-element tensor into a Python float")
    loss = number(ex, _("the mean loss returned by evaluate"), result[0], hint, tensor=True)
    accuracy = number(ex, _("the accuracy returned by evaluate"), result[1], hint, tensor=True)
    changed = sorted(k for k in start if not EQUAL(start[k], plain(model.state_dict()[k])))
    expect(
        not changed, ex, _("parameters and buffers after evaluate"), _("unchanged"),
        _("changed: {names}").format(names=changed),
        _("call model.eval() first: in train mode BatchNorm normalises with the batch's statistics and updates its "
          "running statistics (and Dropout drops units)"),
    )
    with private_rng(seed):  # iterating a DataLoader draws a seed from the global generator
        batches = _evaluate_reference(model, loader, criterion)
    want_loss = sum(l * n for l, _c, n in batches) / N_SAMPLES
    want_accuracy = sum(c for _l, c, _n in batches) / N_SAMPLES
    expect(0 <= accuracy <= 1, ex, _("the accuracy"), _("{value} (a fraction)").format(value=digits(want_accuracy)),
           digits(accuracy), _("return a fraction between 0 and 1, not a percentage"))
    per_batch = _("that is the mean over batches; weight each batch by its size (the last batch here has {n} "
                  "samples): sum over samples, then divide by the number of samples").format(n=N_SAMPLES % BATCH)
    loss_misreadings = [
        (sum(l for l, _c, _n in batches) / len(batches), per_batch),
        (sum(l for l, _c, _n in batches) / N_SAMPLES,
         _("each batch's loss is already a mean over its samples: multiply it by len(labels) before adding it up")),
    ]
    accuracy_misreadings = [
        (sum(c / n for _l, c, n in batches) / len(batches), per_batch),
        (batches[-1][1] / batches[-1][2], _("that is the last batch's accuracy: count over every batch")),
        (batches[-1][1] / N_SAMPLES, _("only the last batch's correct predictions were counted: keep a running "
                                       "count of correct predictions and add it up with += per batch")),
    ]
    for name, got, want, misreadings, generic in [
        (N_("mean loss"), loss, want_loss, loss_misreadings,
         N_("loss: criterion(outputs, labels) with the criterion given, weighted by the batch's size")),
        (N_("accuracy"), accuracy, want_accuracy, accuracy_misreadings,
         N_("accuracy: the fraction of all samples whose outputs.argmax(dim=1) equals the label")),
    ]:
        if not near(got, want):
            hint = next((h for value, h in misreadings if near(got, value)), _(generic))
            fail(ex, _("the {name} over {n} samples").format(name=_(name), n=N_SAMPLES), digits(want), digits(got),
                 hint)
    passed(ex, _("eval mode, no graph, per-sample mean loss and accuracy over every batch"))


# --- Exercise 2.3 -----------------------------------------------------------------------------------
ACCUMULATION_CASES = [(22, 8), (13, 4), (6, 10)]  # (batch size, micro-batch size): uneven last micro-batches
STEP_HINT = N_("zero the gradients once, then for each micro-batch backward() its loss times len(micro-batch) / "
               "len(batch), then step once")


def _accumulation_problem(seed: int, n: int):
    with private_rng(seed):
        inputs = torch.randn(n, N_FEATURES)
        labels = torch.randint(0, N_CLASSES, (n,))
        model = nn.Sequential(nn.Linear(N_FEATURES, 8), nn.Tanh(), nn.Linear(8, N_CLASSES))
        for p in model.parameters():
            p.grad = torch.randn_like(p)  # gradients left over from an earlier batch
    return model, inputs, labels


def _accumulate_reference(model, criterion, optimizer, inputs, labels, micro_batch_size, *,
                          scale="size", zero="start", step="end", keep_last=True):
    """One accumulated step; the keyword arguments switch on classic mistakes, for diagnosis."""
    chunks = list(zip(inputs.split(micro_batch_size), labels.split(micro_batch_size)))
    if not keep_last:
        chunks = chunks[: len(inputs) // micro_batch_size]
    if zero == "start":
        optimizer.zero_grad()
    total = 0.0
    for xs, ys in chunks:
        if zero == "each":
            optimizer.zero_grad()
        weight = {"size": len(xs) / len(inputs), "count": 1 / len(chunks), "none": 1.0}[scale]
        loss = criterion(model(xs), ys) * weight
        loss.backward()
        total += loss.item()
        if step == "each":
            optimizer.step()
    if step == "end":
        optimizer.step()
    return total


ACCUMULATION_MISTAKES = [
    (dict(scale="none"), N_("each micro-batch's mean loss counts in full, so the gradient is several times too "
                            "large: multiply each loss by len(micro-batch) / len(batch) before backward()")),
    (dict(scale="count"), N_("dividing by the number of micro-batches is right only when they all have the same "
                             "size; here the last one is smaller: multiply by len(micro-batch) / len(batch)")),
    (dict(zero="each"), N_("zero_grad() inside the loop keeps only the last micro-batch's gradient: zero once, "
                           "before the loop")),
    (dict(zero="never"), N_("the gradients already in .grad before the call were added in: call "
                            "optimizer.zero_grad() once, before the loop")),
]


class _Accumulation(NamedTuple):
    result: object
    state: dict[str, torch.Tensor]
    sizes: list[int]  # the number of samples of each forward pass
    steps: int


def _accumulation_run(step_fn, seed, n, micro, ex: str | None = None, **mistake) -> _Accumulation:
    model, inputs, labels = _accumulation_problem(seed, n)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    sizes, steps = [], []
    model.register_forward_pre_hook(lambda module, args: sizes.append(len(args[0])))
    optimizer.register_step_post_hook(lambda *args: steps.append(1))
    with private_rng(seed):
        if ex is None:
            result = step_fn(model, nn.CrossEntropyLoss(), optimizer, inputs, labels, micro, **mistake)
        else:
            with student_code(ex, _("calling accumulated_step(model, criterion, optimizer, inputs, labels, {m}) on a "
                                    "batch of {n}").format(m=micro, n=n), _(STEP_HINT)):
                result = step_fn(model, nn.CrossEntropyLoss(), optimizer, inputs, labels, micro)
    return _Accumulation(result, _state(model), sizes, len(steps))


@exercise("2.3", N_("accumulated_step"))
def accumulated_step(step_fn) -> None:
    """accumulated_step(model, criterion, optimizer, inputs, labels, micro_batch_size) == one step on the batch."""
    ex = "2.3"
    for case, (n, micro) in enumerate(ACCUMULATION_CASES):
        seed = 230 + case
        run = _accumulation_run(step_fn, seed, n, micro, ex)
        want = _accumulation_run(_accumulate_reference, seed, n, n)  # one step on the whole batch
        split = [len(chunk) for chunk in torch.arange(n).split(micro)]
        expect(
            sum(run.sizes) == n and all(size <= micro for size in run.sizes), ex,
            _("samples per forward pass, for a batch of {n} in micro-batches of at most {m}").format(n=n, m=micro),
            split, run.sizes,
            _("call the model on one micro-batch at a time, each sample once: zip(inputs.split(micro_batch_size), "
              "labels.split(micro_batch_size)) keeps the last, smaller micro-batch"),
        )
        expect(run.steps == 1, ex, _("calls to optimizer.step() for a batch of {n}").format(n=n), 1, run.steps,
               _("a step per micro-batch is ordinary small-batch training: step once, after the loop")
               if run.steps > 1 else _("call optimizer.step() once, after the loop"))
        what = _("parameters after accumulated_step on a batch of {n} in micro-batches of {sizes}").format(
            n=n, sizes=split)
        if not _same(run.state, want.state):
            hint = next((_(h) for mistake, h in ACCUMULATION_MISTAKES
                         if _same(run.state, _accumulation_run(_accumulate_reference, seed, n, micro, **mistake).state)),
                        _(STEP_HINT))
            fail(ex, what, _("the parameters after one step on all {n} samples").format(n=n),
                 _diff(run.state, want.state), hint)
        loss = number(ex, _("the value returned by accumulated_step"), run.result,
                       _("return a number: add up the scaled losses' .item()"), tensor=True)
        expect(near(loss, want.result), ex,
               _("the returned loss of the batch of {n}, before the step").format(n=n), digits(want.result),
               digits(loss), _("return the loss of the whole batch before the step: the sum of the scaled "
                               "micro-batch losses (loss.item() of each, after scaling)"))
    passed(ex, _("{n} batches split unevenly give the one-batch step and loss").format(n=len(ACCUMULATION_CASES)))


progress = progress_of(__name__)
