"""Checks for lesson 02 — autograd and the training loop."""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ptcourse.checks._core import exercise, expect, fail, passed, private_rng, progress_of
from ptcourse.i18n import N_

# 44 samples in batches of 8: five full batches and a last one of 4, so a mean over batches differs
# from a mean over samples, and a loop that stops early is visible.
N_SAMPLES, N_FEATURES, N_CLASSES, BATCH = 44, 5, 3, 8
N_BATCHES = -(-N_SAMPLES // BATCH)
SAME = 1e-9  # float64 results of the same computation in a different order agree far better than this


class _CountingDataset(TensorDataset):
    """A TensorDataset that counts the samples a loop draws from it."""

    def __init__(self, *tensors):
        super().__init__(*tensors)
        self.drawn = 0

    def __getitem__(self, index):
        self.drawn += 1
        return super().__getitem__(index)


def _problem(seed: int):
    """A small classification problem in float64: a model with BatchNorm, a loader, a criterion."""
    with private_rng(seed):
        inputs = torch.randn(N_SAMPLES, N_FEATURES, dtype=torch.float64)
        labels = torch.randint(0, N_CLASSES, (N_SAMPLES,))
        model = nn.Sequential(
            nn.Linear(N_FEATURES, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, N_CLASSES)
        ).double()
        # Running statistics far from a fresh layer's, so train and eval modes give different numbers.
        model[1].running_mean.copy_(torch.randn(8))
        model[1].running_var.copy_(torch.rand(8) + 0.5)
    loader = DataLoader(_CountingDataset(inputs, labels), batch_size=BATCH)
    # Label smoothing: a loop that builds its own criterion instead of using this one is visible.
    return model, loader, nn.CrossEntropyLoss(label_smoothing=0.1)


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items() if v.is_floating_point()}


def _diff(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    return max((a[k] - b[k]).abs().max().item() for k in a)


def _number(ex: str, what: str, value, hint: str) -> float:
    """A returned number as a float; a tensor that still holds a graph is a mistake worth naming."""
    if isinstance(value, torch.Tensor):
        expect(not value.requires_grad, ex, what, "a Python float", "a tensor that requires grad", hint)
        expect(value.numel() == 1, ex, what, "one number", f"a tensor of shape {tuple(value.shape)}", hint)
    try:
        return float(value)
    except (TypeError, ValueError):
        fail(ex, what, "a number", repr(value)[:80], hint)


class _Run(NamedTuple):
    result: object
    state: dict[str, torch.Tensor]
    drawn: int
    steps: int
    training: bool


# --- Exercise 2.1 -----------------------------------------------------------------------------------
def _train_reference(model, loader, criterion, optimizer, *, train_mode=True, zero_grad=True):
    """One epoch of training; the keyword arguments switch on classic mistakes, for diagnosis."""
    model.train(train_mode)
    total = 0.0
    for inputs, labels in loader:
        if zero_grad:
            optimizer.zero_grad()
        loss = criterion(model(inputs), labels)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(labels)
    return total / len(loader.dataset)


def _train_run(train_fn, seed: int, **mistake) -> _Run:
    model, loader, criterion = _problem(seed)
    model.eval()  # as `evaluate` leaves it: an epoch of training must switch back to train mode
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    steps = []
    optimizer.register_step_post_hook(lambda *args: steps.append(1))
    with private_rng(seed):  # whatever the code under test draws, the notebook's random stream is untouched
        result = train_fn(model, loader, criterion, optimizer, **mistake)
    return _Run(result, _state(model), loader.dataset.drawn, len(steps), model.training)


@exercise("2.1", N_("train_one_epoch"))
def train_one_epoch(train_fn) -> None:
    """train_one_epoch(model, loader, criterion, optimizer) -> mean training loss per sample."""
    ex, seed = "2.1", 201
    run = _train_run(train_fn, seed)
    want = _train_run(_train_reference, seed)
    loss = _number(
        ex, "the value returned by train_one_epoch", run.result,
        "return a Python number: add up loss.item() (a float), not loss (a tensor that keeps every batch's "
        "graph alive)",
    )
    expect(
        run.drawn == N_SAMPLES, ex, f"samples drawn from a loader of {N_SAMPLES} samples ({N_BATCHES} batches)",
        N_SAMPLES, run.drawn,
        "loop over every batch: `for inputs, labels in loader:` with no `break`, and `return` after the loop, "
        "not inside it",
    )
    expect(run.steps > 0, ex, "calls to optimizer.step()", N_BATCHES, 0,
           "without optimizer.step() the gradients are computed and thrown away: nothing learns")
    expect(run.steps == N_BATCHES, ex, "calls to optimizer.step() in one epoch", f"{N_BATCHES} (one per batch)",
           run.steps, "call optimizer.step() once per batch, after loss.backward()")
    if _diff(run.state, want.state) > SAME:
        start_model = _problem(seed)[0]
        start = _state(start_model)
        if all(torch.equal(run.state[name], start[name]) for name, _ in start_model.named_parameters()):
            hint = ("the parameters never changed although step() ran: call loss.backward() before "
                    "optimizer.step(), and do not zero the gradients between the two")
        elif _diff(run.state, _train_run(_train_reference, seed, zero_grad=False).state) < SAME:
            hint = ("this is what training without optimizer.zero_grad() gives: the gradients add up across "
                    "batches; zero them at the start of every batch")
        elif not run.training or _diff(run.state, _train_run(_train_reference, seed, train_mode=False).state) < SAME:
            hint = ("the model stayed in eval mode, so BatchNorm used its running statistics: call "
                    "model.train() at the start of the epoch")
        else:
            hint = ("for each batch: optimizer.zero_grad(); outputs = model(inputs); loss = criterion(outputs, "
                    "labels) with the criterion you were given; loss.backward(); optimizer.step()")
        fail(ex, "parameters after one epoch (same start and batches as a reference loop)",
             "the reference loop's parameters", f"max |difference| = {_diff(run.state, want.state):.3g}", hint)
    expect(
        abs(loss - want.result) < SAME, ex, "the returned mean training loss", f"{want.result:.6f}", f"{loss:.6f}",
        "average over samples, not batches: add loss.item() * len(labels) per batch and divide by the number "
        "of samples (the last batch here is smaller)",
    )
    passed(ex, f"one epoch over {N_BATCHES} batches matches a reference loop (parameters, BatchNorm statistics, "
               "mean loss)")


# --- Exercise 2.2 -----------------------------------------------------------------------------------
def _evaluate_reference(model, loader, criterion, *, per_batch=False):
    model.eval()
    losses, correct, sizes = [], [], []
    with torch.no_grad():
        for inputs, labels in loader:
            outputs = model(inputs)
            losses.append(criterion(outputs, labels).item())
            correct.append((outputs.argmax(dim=1) == labels).sum().item())
            sizes.append(len(labels))
    if per_batch:
        return sum(losses) / len(losses), sum(c / s for c, s in zip(correct, sizes)) / len(sizes)
    return sum(l * s for l, s in zip(losses, sizes)) / sum(sizes), sum(correct) / sum(sizes)


@exercise("2.2", N_("evaluate"))
def evaluate(evaluate_fn) -> None:
    """evaluate(model, loader, criterion) -> (mean loss per sample, accuracy), in eval mode, without a graph."""
    ex, seed = "2.2", 202
    model, loader, criterion = _problem(seed)  # in train mode, as after a training epoch
    start = _state(model)
    grad_modes = []
    model.register_forward_hook(lambda *args: grad_modes.append(torch.is_grad_enabled()))
    with private_rng(seed):
        result = evaluate_fn(model, loader, criterion)
    expect(
        isinstance(result, (tuple, list)) and len(result) == 2, ex, "the value returned by evaluate",
        "a pair (mean loss, accuracy)", repr(result)[:80], "end with `return mean_loss, accuracy`",
    )
    expect(loader.dataset.drawn == N_SAMPLES, ex, f"samples drawn from a loader of {N_SAMPLES} samples",
           N_SAMPLES, loader.dataset.drawn, "evaluate on every batch of the loader")
    expect(
        not any(grad_modes), ex, "torch.is_grad_enabled() during the forward passes", False, True,
        "run the loop inside `with torch.no_grad():` so no graph is built (less memory, faster)",
    )
    hint = "return Python numbers (use .item())"
    loss = _number(ex, "the mean loss returned by evaluate", result[0], hint)
    accuracy = _number(ex, "the accuracy returned by evaluate", result[1], hint)
    changed = sorted(k for k in start if not torch.equal(start[k], model.state_dict()[k]))
    expect(
        not changed, ex, "parameters and buffers after evaluate", "unchanged", f"changed: {changed}",
        "call model.eval() first: in train mode BatchNorm normalises with the batch's statistics and updates "
        "its running statistics (and Dropout drops units)",
    )
    with private_rng(seed):  # iterating a DataLoader draws a seed from the global generator
        want_loss, want_accuracy = _evaluate_reference(model, loader, criterion)
        per_batch = _evaluate_reference(model, loader, criterion, per_batch=True)
    expect(0 <= accuracy <= 1, ex, "the accuracy", f"{want_accuracy:.6f} (a fraction)", f"{accuracy:.6f}",
           "return a fraction between 0 and 1, not a percentage")
    for name, got, want, batch_mean in [("mean loss", loss, want_loss, per_batch[0]),
                                         ("accuracy", accuracy, want_accuracy, per_batch[1])]:
        if abs(got - batch_mean) < SAME:
            hint = ("that is the mean over batches; weight each batch by its size (the last batch here has "
                    f"{N_SAMPLES % BATCH} samples): sum over samples, then divide by the number of samples")
        else:
            hint = ("loss: criterion(outputs, labels) with the criterion given; accuracy: the fraction of "
                    "samples whose outputs.argmax(dim=1) equals the label")
        expect(abs(got - want) < SAME, ex, f"the {name} over {N_SAMPLES} samples", f"{want:.6f}", f"{got:.6f}", hint)
    passed(ex, "eval mode, no graph, per-sample mean loss and accuracy over every batch")


# --- Exercise 2.3 -----------------------------------------------------------------------------------
ACCUMULATION_CASES = [(22, 8), (13, 4), (6, 10)]  # (batch size, micro-batch size): uneven last micro-batches


def _accumulation_problem(seed: int, n: int):
    with private_rng(seed):
        inputs = torch.randn(n, N_FEATURES, dtype=torch.float64)
        labels = torch.randint(0, N_CLASSES, (n,))
        model = nn.Sequential(nn.Linear(N_FEATURES, 8), nn.Tanh(), nn.Linear(8, N_CLASSES)).double()
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
    (dict(scale="none"), "each micro-batch's mean loss counts in full, so the gradient is several times too "
                         "large: multiply each loss by len(micro-batch) / len(batch) before backward()"),
    (dict(scale="count"), "dividing by the number of micro-batches is right only when they all have the same "
                          "size; here the last one is smaller: multiply by len(micro-batch) / len(batch)"),
    (dict(zero="each"), "zero_grad() inside the loop keeps only the last micro-batch's gradient: zero once, "
                        "before the loop"),
    (dict(zero="never"), "the gradients already in .grad before the call were added in: call "
                         "optimizer.zero_grad() once, before the loop"),
    (dict(step="each"), "a step per micro-batch is ordinary small-batch training: step once, after the loop"),
    (dict(keep_last=False), "the last, smaller micro-batch was skipped: inputs.split(micro_batch_size) keeps it"),
]


def _accumulation_run(step_fn, seed, n, micro, **mistake):
    model, inputs, labels = _accumulation_problem(seed, n)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    with private_rng(seed):
        result = step_fn(model, nn.CrossEntropyLoss(), optimizer, inputs, labels, micro, **mistake)
    return result, _state(model)


@exercise("2.3", N_("accumulated_step"))
def accumulated_step(step_fn) -> None:
    """accumulated_step(model, criterion, optimizer, inputs, labels, micro_batch_size) == one step on the batch."""
    ex = "2.3"
    for case, (n, micro) in enumerate(ACCUMULATION_CASES):
        seed = 230 + case
        result, state = _accumulation_run(step_fn, seed, n, micro)
        want_loss, want = _accumulation_run(_accumulate_reference, seed, n, n)  # one step on the whole batch
        sizes = [len(chunk) for chunk in torch.arange(n).split(micro)]
        what = f"parameters after accumulated_step on a batch of {n} in micro-batches of {sizes}"
        if _diff(state, want) > SAME:
            hint = next(
                (h for mistake, h in ACCUMULATION_MISTAKES
                 if _diff(state, _accumulation_run(_accumulate_reference, seed, n, micro, **mistake)[1]) < SAME),
                "zero the gradients once, then for each micro-batch backward() its loss times "
                "len(micro-batch) / len(batch), then step once",
            )
            fail(ex, what, f"the parameters after one step on all {n} samples",
                 f"max |difference| = {_diff(state, want):.3g}", hint)
        loss = _number(ex, "the value returned by accumulated_step", result,
                       "return a Python number: add up the scaled losses' .item()")
        expect(abs(loss - want_loss) < SAME, ex, f"the returned loss of the batch of {n}", f"{want_loss:.6f}",
               f"{loss:.6f}", "return the loss of the whole batch: the sum of the scaled micro-batch losses")
    passed(ex, f"{len(ACCUMULATION_CASES)} batches split unevenly give exactly the one-batch step and loss")


progress = progress_of(__name__)
