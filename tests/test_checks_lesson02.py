"""Lesson 02's checks reject the classic mistakes and accept correct answers written differently."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from checklib import Answers
from ptcourse.checks._core import CheckFailed
from ptcourse.checks import lesson02 as check

answers = Answers(check)
test_answer = answers.test()


class Anything:
    """Equal to anything: a check that compares `got == want` on it would pass."""

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


test_a_stub_is_reported_as_not_done = answers.stub_test(check.train_one_epoch, check.evaluate, check.accumulated_step)


def test_checks_leave_the_global_random_stream_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    check.train_one_epoch(solution_epoch)
    check.evaluate(solution_evaluate)
    check.accumulated_step(solution_accumulated)
    assert torch.equal(torch.rand(3), expected)


# --- Exercise 2.1: train_one_epoch ------------------------------------------------------------------
@answers.correct("2.1", "the lesson's solution")
def solution_epoch(model, loader, criterion, optimizer):
    model.train()
    total, count = 0.0, 0
    for inputs, labels in loader:
        optimizer.zero_grad()
        loss = criterion(model(inputs), labels)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(labels)
        count += len(labels)
    return total / count


@answers.correct("2.1", "zero_grad at the end (grads start as None), stacked detached losses")
def stacked_epoch(model, loader, criterion, optimizer):
    model.train()
    losses, n = [], 0
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=False)
        losses.append(loss.detach() * y.numel())
        n += y.numel()
    return (torch.stack(losses).sum() / n).item()


@answers.correct("2.1", "a float32 tensor accumulator (issue #12: was rejected, 'average over samples')")
def float32_accumulator(model, loader, criterion, optimizer):
    model.train()
    total = torch.zeros(())
    for inputs, labels in loader:
        optimizer.zero_grad()
        loss = criterion(model(inputs), labels)
        loss.backward()
        optimizer.step()
        total += loss.detach() * len(labels)
    return (total / len(loader.dataset)).item()


@answers.correct("2.1", "returns a 0-dim tensor without a graph (the statement says it is accepted)")
def tensor_result(model, loader, criterion, optimizer):
    model.train()
    total = torch.zeros(())
    for inputs, labels in loader:
        model.zero_grad()
        loss = criterion(model(inputs.float()), labels.long())
        loss.backward()
        optimizer.step()
        total = total + loss.detach() * len(labels)
    return total / len(loader.dataset)


@answers.correct("2.1", "np.average of the batch losses weighted by batch size (a NumPy float)")
def numpy_average(model, loader, criterion, optimizer):
    model.train()
    losses, sizes = [], []
    for inputs, labels in loader:
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        sizes.append(len(labels))
    return np.average(losses, weights=sizes)


@answers.correct("2.1", "counts the samples in a first pass over the loader, then trains")
def counting_first(model, loader, criterion, optimizer):
    n = sum(len(labels) for _, labels in loader)
    model.train()
    total = 0.0
    for inputs, labels in loader:
        optimizer.zero_grad()
        loss = criterion(model(inputs), labels)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(labels)
    return total / n


def epoch(zero=True, step=True, step_first=False, zero_before_step=False, break_early=False, train=True,
          item=True, per_batch=False, unweighted=False, own_criterion=False, loss_after_step=False,
          loader_batch_size=False):
    """A training epoch with one classic mistake switched on."""

    def train_one_epoch(model, loader, criterion, optimizer):
        if train:
            model.train()
        total, batches = 0.0, 0
        for x, y in loader:
            if zero:
                optimizer.zero_grad()
            loss = (F.cross_entropy if own_criterion else criterion)(model(x), y)
            if step and step_first:
                optimizer.step()
            loss.backward()
            if zero_before_step:
                optimizer.zero_grad()
            if step and not step_first:
                optimizer.step()
            if loss_after_step:
                with torch.no_grad():
                    loss = criterion(model(x), y)
            size = loader.batch_size if loader_batch_size else len(y)
            total = total + (loss.item() if item else loss) * (1 if per_batch or unweighted else size)
            batches += 1
            if break_early:
                return total / len(y)
        return total / (batches if per_batch else len(loader.dataset))

    return train_one_epoch


for mistake, match in [
    (dict(zero=False), "without optimizer.zero_grad"),
    (dict(step=False), r"optimizer\.step"),
    (dict(step_first=True), "never changed"),
    (dict(zero_before_step=True), "never changed"),
    (dict(break_early=True), "loop over every batch"),
    (dict(train=False), r"model\.train\(\)"),
    (dict(item=False), r"loss\.item\(\)"),
    (dict(per_batch=True), "mean over batches"),
    (dict(unweighted=True), r"multiply it by len\(labels\)"),
    (dict(own_criterion=True), "criterion you were given"),
    (dict(loss_after_step=True), "for each batch: optimizer.zero_grad"),  # its extra forward moves BatchNorm
    (dict(loader_batch_size=True), "before its step"),
]:
    answers.mistake("2.1", ", ".join(f"{k}={v}" for k, v in mistake.items()), epoch(**mistake), match=match)


@answers.gaming("2.1", "swallows the exception its loop raises and returns a plausible loss",
                match="loop over every batch")
def swallowing_epoch(model, loader, criterion, optimizer):
    try:
        for inputs, labels in loader:
            loss = criterion(model(inputs), labels.float())  # float labels: cross_entropy raises
            loss.backward()
    except Exception:  # noqa: BLE001 - the gaming answer
        pass
    return 1.1


@answers.gaming("2.1", "patches torch.allclose and torch.equal, then forgets zero_grad",
                match="without optimizer.zero_grad")
def patching_epoch(model, loader, criterion, optimizer):
    torch.allclose = lambda *args, **kwargs: True
    torch.equal = lambda *args, **kwargs: True
    return epoch(zero=False)(model, loader, criterion, optimizer)


class AlwaysEqualFloat(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


answers.gaming("2.1", "returns a float subclass equal to anything after a correct loop",
               lambda *args: AlwaysEqualFloat(solution_epoch(*args) + 1), match="a number")


# --- Exercise 2.2: evaluate -------------------------------------------------------------------------
@answers.correct("2.2", "the lesson's solution")
def solution_evaluate(model, loader, criterion):
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for inputs, labels in loader:
            outputs = model(inputs)
            total_loss += criterion(outputs, labels).item() * len(labels)
            correct += (outputs.argmax(dim=1) == labels).sum().item()
            count += len(labels)
    return total_loss / count, correct / count


@answers.correct("2.2", "inference_mode, outputs gathered, one loss at the end, float64 mean")
def gathered_evaluate(model, loader, criterion):
    model.eval()
    with torch.inference_mode():
        pairs = [(model(x), y) for x, y in loader]
        outputs = torch.cat([o for o, _ in pairs])
        labels = torch.cat([y for _, y in pairs])
        return criterion(outputs, labels).item(), (outputs.argmax(1) == labels).double().mean().item()


@answers.correct("2.2", "the lesson's own accuracy idiom: .float().mean().item() (issue #12: was rejected)")
def float_mean_evaluate(model, loader, criterion):
    model.eval()
    losses, hits = [], []
    with torch.no_grad():
        for inputs, labels in loader:
            outputs = model(inputs)
            losses.append(criterion(outputs, labels) * len(labels))
            hits.append(outputs.argmax(dim=1) == labels)
    accuracy = torch.cat(hits).float().mean().item()
    return (torch.stack(losses).sum() / len(loader.dataset)).item(), accuracy


@answers.correct("2.2", "correct / count on integer tensors: 0-dim float32 tensors, softmax before argmax, a list "
                        "(issue #12: was rejected)")
def tensor_count_evaluate(model, loader, criterion):
    model.eval()
    total, correct, count = torch.zeros(()), torch.zeros((), dtype=torch.long), 0
    with torch.no_grad():
        for inputs, labels in loader:
            outputs = model(inputs)
            total += criterion(outputs, labels) * labels.numel()
            correct += (outputs.softmax(dim=1).argmax(dim=1) == labels).sum()
            count += labels.numel()
    return [total / count, correct / count]


@answers.correct("2.2", "counts the samples in a first pass, then evaluates in eval mode under no_grad")
def counting_evaluate(model, loader, criterion):
    n = sum(len(labels) for _, labels in loader)
    model.eval()
    with torch.no_grad():
        results = [(criterion(model(x), y).item() * len(y), (model(x).argmax(1) == y).sum().item()) for x, y in loader]
    return sum(r[0] for r in results) / n, sum(r[1] for r in results) / n


def evaluation(eval_mode=True, no_grad=True, per_batch=False, unweighted=False, percent=False, item=True,
               overwrite=False, dim=1):
    """An evaluation with one classic mistake switched on."""

    def evaluate(model, loader, criterion):
        if eval_mode:
            model.eval()
        total, correct, count, batches = 0.0, 0, 0, 0
        with torch.set_grad_enabled(not no_grad):
            for x, y in loader:
                out = model(x)
                loss = criterion(out, y)
                hits = (out.argmax(dim) == y).sum().item()
                if per_batch:
                    total, correct, batches = total + loss.item(), correct + hits / len(y), batches + 1
                else:
                    total = total + (loss.item() if item else loss) * (1 if unweighted else len(y))
                    correct = hits if overwrite else correct + hits
                count += len(y)
        n = batches if per_batch else count
        return total / n, correct / n * (100 if percent else 1)

    return evaluate


for mistake, match in [
    (dict(eval_mode=False), r"model\.eval\(\)"),
    (dict(no_grad=False), r"torch\.no_grad\(\)"),
    (dict(per_batch=True), "mean over batches"),
    (dict(unweighted=True), r"multiply it by len\(labels\)"),
    (dict(percent=True), "not a percentage"),
    (dict(no_grad=False, item=False), r"torch\.no_grad\(\)"),
    (dict(overwrite=True), r"add it up with \+="),
    (dict(dim=0), "raised an exception.*argmax"),
]:
    answers.mistake("2.2", ", ".join(f"{k}={v}" for k, v in mistake.items()), evaluation(**mistake), match=match)

answers.mistake("2.2", "returns a dict", lambda model, loader, criterion: dict(
    zip(("loss", "accuracy"), solution_evaluate(model, loader, criterion))), match="a pair")


@answers.gaming("2.2", "returns two objects equal to anything", match="a Python float")
def anything_evaluate(model, loader, criterion):
    solution_evaluate(model, loader, criterion)
    return Anything(), Anything()


@answers.gaming("2.2", "stays in train mode and restores the BatchNorm statistics afterwards", match="mean loss")
def restoring_evaluate(model, loader, criterion):
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    result = evaluation(eval_mode=False)(model, loader, criterion)
    model.load_state_dict(saved)
    return result


@answers.gaming("2.2", "patches torch.equal, then skips model.eval()", match=r"model\.eval\(\)")
def patching_evaluate(model, loader, criterion):
    torch.equal = lambda *args, **kwargs: True
    return evaluation(eval_mode=False)(model, loader, criterion)


# --- Exercise 2.3: accumulated_step -----------------------------------------------------------------
@answers.correct("2.3", "the lesson's solution")
def solution_accumulated(model, criterion, optimizer, inputs, labels, micro_batch_size):
    optimizer.zero_grad()
    total = 0.0
    for xs, ys in zip(inputs.split(micro_batch_size), labels.split(micro_batch_size)):
        loss = criterion(model(xs), ys) * len(xs) / len(inputs)
        loss.backward()
        total += loss.item()
    optimizer.step()
    return total


@answers.correct("2.3", "index arithmetic, a summed-loss criterion divided by the batch size, grads set to None")
def summed_accumulated(model, criterion, optimizer, inputs, labels, micro_batch_size):
    for p in model.parameters():
        p.grad = None
    total = 0.0
    for start in range(0, len(inputs), micro_batch_size):
        xs, ys = inputs[start:start + micro_batch_size], labels[start:start + micro_batch_size]
        loss = F.cross_entropy(model(xs), ys, reduction="sum") / len(inputs)
        loss.backward()
        total += loss.item()
    optimizer.step()
    return total


@answers.correct("2.3", "sums unscaled per-sample losses, divides the gradients before the step, float32 tensor result")
def scaled_gradients(model, criterion, optimizer, inputs, labels, micro_batch_size):
    model.zero_grad()
    total = torch.zeros(())
    for xs, ys in zip(torch.split(inputs, micro_batch_size), torch.split(labels, micro_batch_size)):
        loss = criterion(model(xs), ys) * len(xs)
        loss.backward()
        total += loss.detach()
    with torch.no_grad():
        for p in model.parameters():
            p.grad /= len(inputs)
    optimizer.step()
    return total / len(inputs)


def accumulation(**mistake):
    """An accumulated step with one classic mistake switched on (the check's own mistake switches)."""

    def accumulated_step(model, criterion, optimizer, inputs, labels, micro_batch_size):
        return check._accumulate_reference(model, criterion, optimizer, inputs, labels, micro_batch_size, **mistake)

    return accumulated_step


for mistake, hint in check.ACCUMULATION_MISTAKES:
    answers.mistake("2.3", ", ".join(f"{k}={v}" for k, v in mistake.items()), accumulation(**mistake),
                    match=hint[:40].replace("(", r"\(").replace(")", r"\)").replace(".", r"\."))
answers.mistake("2.3", "a step per micro-batch", accumulation(step="each"), match="step once, after the loop")
answers.mistake("2.3", "drops the last, smaller micro-batch", accumulation(keep_last=False),
                match="keeps the last, smaller micro-batch")


@answers.mistake("2.3", "returns the summed loss as a tensor with its graph", match="a tensor that requires grad")
def keeps_graph(model, criterion, optimizer, inputs, labels, micro_batch_size):
    optimizer.zero_grad()
    total = 0
    for xs, ys in zip(inputs.split(micro_batch_size), labels.split(micro_batch_size)):
        loss = criterion(model(xs), ys) * len(xs) / len(inputs)
        loss.backward()
        total = total + loss
    optimizer.step()
    return total


@answers.mistake("2.3", "returns the loss after the step (one more forward pass)", match="one micro-batch at a time")
def loss_after_step(model, criterion, optimizer, inputs, labels, micro_batch_size):
    solution_accumulated(model, criterion, optimizer, inputs, labels, micro_batch_size)
    with torch.no_grad():
        return criterion(model(inputs), labels).item()


@answers.mistake("2.3", "returns the last micro-batch's unscaled loss", match="before the step")
def last_loss(model, criterion, optimizer, inputs, labels, micro_batch_size):
    optimizer.zero_grad()
    for xs, ys in zip(inputs.split(micro_batch_size), labels.split(micro_batch_size)):
        loss = criterion(model(xs), ys)
        (loss * len(xs) / len(inputs)).backward()
    optimizer.step()
    return loss.item()


@answers.gaming("2.3", "one step on the whole batch, ignoring micro_batch_size", match="one micro-batch at a time")
def whole_batch(model, criterion, optimizer, inputs, labels, micro_batch_size):
    optimizer.zero_grad()
    loss = criterion(model(inputs), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


@answers.gaming("2.3", "swallows the exception of a wrong loop and returns a plausible loss",
                match="one micro-batch at a time")
def swallowing_step(model, criterion, optimizer, inputs, labels, micro_batch_size):
    try:
        for xs, ys in zip(inputs.split(micro_batch_size), labels.split(micro_batch_size)):
            criterion(model(xs), ys.float()).backward()  # float labels: cross_entropy raises
        optimizer.step()
    except Exception:  # noqa: BLE001 - the gaming answer
        pass
    return 1.1


def test_a_wrong_number_is_printed_with_enough_digits_to_differ():
    """Issue #12: '2.2 expected: 0.295455 / got: 0.295455'. Every numeric mistake shows two different numbers."""
    numeric = [a for a in answers.items if a.kind == "mistake" and a.match and (
        "mean over batches" in a.match or "len\\(labels\\)" in a.match or "before" in a.match or "\\+=" in a.match)]
    assert len(numeric) >= 5
    for answer in numeric:
        with pytest.raises(CheckFailed) as failure:
            answers.check(answer.exercise)(answer.value)
        lines = {key: value.strip() for key, _, value in
                 (line.strip().partition(":") for line in str(failure.value).splitlines()[1:3])}
        assert lines["expected"] != lines["got"], (answer.name, str(failure.value))
