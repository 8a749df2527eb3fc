"""Lesson 02's checks reject the classic mistakes and accept correct answers written differently."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ptcourse.checks import lesson02 as check


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise 2.N is not done yet")


@pytest.mark.parametrize("run", [check.train_one_epoch, check.evaluate, check.accumulated_step])
def test_a_stub_is_reported_as_not_done(run):
    with pytest.raises(NotImplementedError):
        run(stub)


def test_checks_leave_the_global_random_stream_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    check.train_one_epoch(good_epoch)
    check.evaluate(good_evaluate)
    check.accumulated_step(good_accumulated)
    assert torch.equal(torch.rand(3), expected)


# --- Exercise 2.1: train_one_epoch ------------------------------------------------------------------
def good_epoch(model, loader, criterion, optimizer):
    """Correct, written differently: zero_grad at the end (grads start as None), sample count by hand."""
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


def epoch(zero=True, step=True, step_first=False, break_early=False, train=True, item=True,
          per_batch=False, own_criterion=False):
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
            if step and not step_first:
                optimizer.step()
            total = total + (loss.item() if item else loss) * (1 if per_batch else len(y))
            batches += 1
            if break_early:
                return total / len(y)
        return total / (batches if per_batch else len(loader.dataset))

    return train_one_epoch


def test_train_one_epoch_accepts_a_different_correct_answer(capsys):
    check.train_one_epoch(good_epoch)
    assert "Exercise 2.1 passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "mistake, message",
    [
        (dict(zero=False), "without optimizer.zero_grad"),
        (dict(step=False), "optimizer.step"),
        (dict(step_first=True), "never changed"),
        (dict(break_early=True), "loop over every batch"),
        (dict(train=False), "model.train()"),
        (dict(item=False), "loss.item()"),
        (dict(per_batch=True), "average over samples"),
        (dict(own_criterion=True), "criterion you were given"),
    ],
    ids=lambda v: "-".join(v) if isinstance(v, dict) else None,
)
def test_train_one_epoch_rejects_mistakes(mistake, message):
    with pytest.raises(AssertionError, match="Exercise 2.1") as error:
        check.train_one_epoch(epoch(**mistake))
    assert message in str(error.value)


# --- Exercise 2.2: evaluate -------------------------------------------------------------------------
def good_evaluate(model, loader, criterion):
    """Correct, written differently: inference_mode, outputs gathered, one loss at the end."""
    model.eval()
    with torch.inference_mode():
        pairs = [(model(x), y) for x, y in loader]
        outputs = torch.cat([o for o, _ in pairs])
        labels = torch.cat([y for _, y in pairs])
        return criterion(outputs, labels).item(), (outputs.argmax(1) == labels).double().mean().item()


def evaluation(eval_mode=True, no_grad=True, per_batch=False, percent=False, item=True):
    """An evaluation with one classic mistake switched on."""

    def evaluate(model, loader, criterion):
        if eval_mode:
            model.eval()
        total, correct, count, batches = 0.0, 0, 0, 0
        with torch.set_grad_enabled(not no_grad):
            for x, y in loader:
                out = model(x)
                loss = criterion(out, y)
                hits = (out.argmax(1) == y).sum().item()
                if per_batch:
                    total, correct, batches = total + loss.item(), correct + hits / len(y), batches + 1
                else:
                    total = total + (loss.item() if item else loss) * len(y)
                    correct += hits
                count += len(y)
        n = batches if per_batch else count
        return total / n, correct / n * (100 if percent else 1)

    return evaluate


def test_evaluate_accepts_a_different_correct_answer(capsys):
    check.evaluate(good_evaluate)
    assert "Exercise 2.2 passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "mistake, message",
    [
        (dict(eval_mode=False), "model.eval()"),
        (dict(no_grad=False), "torch.no_grad()"),
        (dict(per_batch=True), "mean over batches"),
        (dict(percent=True), "not a percentage"),
        (dict(no_grad=False, item=False), "no_grad"),
    ],
    ids=["no-eval", "no-no_grad", "per-batch-mean", "percent", "tensor-with-graph"],
)
def test_evaluate_rejects_mistakes(mistake, message):
    with pytest.raises(AssertionError, match="Exercise 2.2") as error:
        check.evaluate(evaluation(**mistake))
    assert message in str(error.value)


# --- Exercise 2.3: accumulated_step -----------------------------------------------------------------
def good_accumulated(model, criterion, optimizer, inputs, labels, micro_batch_size):
    """Correct, written differently: index arithmetic, a summed-loss criterion divided by the batch size."""
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


def accumulation(**mistake):
    """An accumulated step with one classic mistake switched on (the check's own mistake switches)."""

    def accumulated_step(model, criterion, optimizer, inputs, labels, micro_batch_size):
        return check._accumulate_reference(model, criterion, optimizer, inputs, labels, micro_batch_size, **mistake)

    return accumulated_step


def test_accumulated_step_accepts_a_different_correct_answer(capsys):
    check.accumulated_step(good_accumulated)
    assert "Exercise 2.3 passed" in capsys.readouterr().out


@pytest.mark.parametrize("mistake, hint", check.ACCUMULATION_MISTAKES, ids=lambda v: str(v) if isinstance(v, dict) else "")
def test_accumulated_step_rejects_mistakes(mistake, hint):
    with pytest.raises(AssertionError, match="Exercise 2.3") as error:
        check.accumulated_step(accumulation(**mistake))
    assert hint in str(error.value)


def test_accumulated_step_rejects_a_tensor_with_its_graph():
    def keeps_graph(model, criterion, optimizer, inputs, labels, micro_batch_size):
        optimizer.zero_grad()
        total = 0
        for xs, ys in zip(inputs.split(micro_batch_size), labels.split(micro_batch_size)):
            loss = criterion(model(xs), ys) * len(xs) / len(inputs)
            loss.backward()
            total = total + loss
        optimizer.step()
        return total

    with pytest.raises(AssertionError, match="Exercise 2.3"):
        check.accumulated_step(keeps_graph)
