"""Checks for lesson 08 — end to end: a digit classifier."""
from __future__ import annotations

import copy
import re
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ptcourse.checks._core import (FLOAT32, close, describe, exercise, expect, fail, identical, integer, max_diff,
                                   passed, plain, private_rng, progress_of, student_code)
from ptcourse.i18n import N_, _
from ptcourse.lessons import digits


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Same shape and values within float32 tolerances, compared as plain tensors."""
    return close(a, b, **FLOAT32)


def _tensor(ex: str, what: str, value, hint: str) -> torch.Tensor:
    """`value` validated as a tensor, returned as a plain one (a subclass cannot fake its comparisons)."""
    expect(isinstance(value, torch.Tensor), ex, what, _("a torch.Tensor"), describe(value), hint)
    return plain(value)


# --- Exercise 8.1 -----------------------------------------------------------------------------------
# (sizes, input shape): one Linear (no ReLU at all), the lesson's model, three layers, an input of three
# channels, and a batch of one image (where flattening the batch dimension too goes unnoticed by shape alone).
MLP_CASES = [
    ((64, 10), (5, 1, 8, 8)),
    ((64, 32, 10), (6, 1, 8, 8)),
    ((12, 7, 5, 3), (4, 3, 2, 2)),
    ((27, 9, 4), (1, 3, 3, 3)),
]
MLP_HINT = N_("nn.Sequential(nn.Flatten(), nn.Linear(sizes[0], sizes[1]), nn.ReLU(), nn.Linear(sizes[1], sizes[2]), "
              "...): a ReLU between two Linear layers, none after the last")


def _linears(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def _mlp_outputs(x: torch.Tensor, reference: nn.Sequential, activation=torch.relu) -> torch.Tensor:
    """The reference MLP's output with another activation between its layers (for diagnosis)."""
    layers = _linears(reference)
    h = x.flatten(1)
    for i, layer in enumerate(layers):
        h = layer(h if i == 0 else activation(h))
    return h


@exercise("8.1", N_("make_mlp"))
def make_mlp(make) -> None:
    """make(sizes) -> Flatten, then Linear layers of the given sizes with ReLU between them (logits out)."""
    ex = "8.1"
    with private_rng(801):
        for sizes, shape in MLP_CASES:
            call = _("make_mlp({sizes})").format(sizes=list(sizes))
            with student_code(ex, _("calling {call}").format(call=call), _(MLP_HINT)):
                model = make(list(sizes))
            expect(isinstance(model, nn.Module), ex, _("what {call} returns").format(call=call),
                   _("an nn.Module (an nn.Sequential)"), describe(model), _(MLP_HINT))
            want_shapes = [(b, a) for a, b in zip(sizes[:-1], sizes[1:])]
            got_shapes = [tuple(layer.weight.shape) for layer in _linears(model)]
            expect(got_shapes == want_shapes, ex, _("the weight shapes of the nn.Linear layers of {call}").format(call=call),
                   want_shapes, got_shapes,
                   _("one nn.Linear(sizes[i], sizes[i + 1]) for each pair of neighbours in sizes, in order; ")
                   + _(MLP_HINT))
            reference = digits.make_mlp(sizes)
            want_count = sum(p.numel() for p in reference.parameters())
            got_count = sum(p.numel() for p in model.parameters())
            expect(got_count == want_count, ex, _("the number of parameters of {call}").format(call=call),
                   f"{want_count:,}", f"{got_count:,}",
                   _("every nn.Linear keeps its bias (bias=True, the default), and nothing else has parameters"))
            expect(all(layer.bias is not None for layer in _linears(model)), ex,
                   _("the biases of the nn.Linear layers of {call}").format(call=call), _("one per layer"),
                   _("a layer without bias"), _("every nn.Linear keeps its bias (bias=True, the default)"))
            with torch.no_grad():
                for mine, theirs in zip(_linears(reference), _linears(model)):
                    theirs.weight.copy_(mine.weight)
                    theirs.bias.copy_(mine.bias)
            x = torch.randn(shape)
            inputs = _("a batch of shape {shape}").format(shape=shape)
            with student_code(ex, _("calling the model of {call} on {inputs}").format(call=call, inputs=inputs),
                              _("start with nn.Flatten(): it turns each image into one row of sizes[0] numbers; ")
                              + _(MLP_HINT)):
                out = model(x)
            what = _("the output of the model of {call} on {inputs}").format(call=call, inputs=inputs)
            out = _tensor(ex, what, out, _(MLP_HINT))
            want = reference(x).detach()
            expect(tuple(out.shape) == tuple(want.shape), ex, _("the shape of {what}").format(what=what),
                   tuple(want.shape), tuple(out.shape),
                   _("nn.Flatten() keeps the batch dimension (it flattens from dimension 1); torch.flatten(x) and "
                     "x.view(-1) flatten the whole batch into one row"))
            out = out.detach()
            if _close(out, want):
                continue
            if _close(out, torch.relu(want)):
                hint = _("no ReLU after the last Linear: the model returns logits, and logits can be negative")
            elif _close(out, torch.softmax(want, dim=1)) or _close(out, F.log_softmax(want, dim=1)):
                hint = _("no Softmax at the end: the model returns logits, and nn.CrossEntropyLoss applies "
                         "log-softmax itself (section 8.3)")
            elif _close(out, _mlp_outputs(x, reference, lambda h: h).detach()):
                hint = _("put an nn.ReLU() between two Linear layers: without it, the layers make one linear map")
            elif any(_close(out, _mlp_outputs(x, reference, f).detach()) for f in (torch.sigmoid, torch.tanh)):
                hint = _("the activation between the layers is nn.ReLU()")
            else:
                hint = _(MLP_HINT)
            fail(ex, _("{what}, with the same weights as the reference").format(what=what),
                 _("the reference MLP's logits"), max_diff(out, want), hint)
    passed(ex, _("{count} size lists (1 to 3 Linear layers, a batch of one image): layers, parameter counts and "
                 "logits match").format(count=len(MLP_CASES)))


# --- Exercise 8.2 -----------------------------------------------------------------------------------
# (samples, classes, classes that occur): several classes missing from the targets (the last ones too), one
# sample, every prediction right, and ten classes of which only the first seven occur.
MATRIX_CASES = [(200, 5, (0, 1, 2, 4)), (1, 4, (2,)), (30, 3, (0, 1, 2)), (120, 10, tuple(range(7)))]
MATRIX_HINT = N_("for each sample add 1 at [its true class, its predicted class] of a (num_classes, num_classes) "
                 "int64 tensor of zeros")


def _matrix_inputs(n: int, classes: int, occurring: tuple[int, ...], case: int) -> tuple[torch.Tensor, torch.Tensor]:
    pool = torch.tensor(occurring)
    targets = pool[torch.randint(len(pool), (n,))]
    if case == 2:
        return targets.clone(), targets                       # every prediction right
    predictions = torch.where(torch.rand(n) < 0.6, targets, torch.randint(classes, (n,)))
    if case == 0:
        predictions[predictions == 1] = 0                     # class 1 occurs but is never predicted
    return predictions, targets


@exercise("8.2", N_("confusion_matrix"))
def confusion_matrix(matrix_fn) -> None:
    """matrix_fn(predictions, targets, num_classes) -> int64 (C, C) counts, rows true classes, columns predictions."""
    ex = "8.2"
    with private_rng(802):
        for case, (n, classes, occurring) in enumerate(MATRIX_CASES):
            predictions, targets = _matrix_inputs(n, classes, occurring, case)
            kept = predictions.clone(), targets.clone()
            missing = sorted(set(range(classes)) - set(targets.tolist()))
            described = _("{n} int64 predictions and targets, num_classes={classes} (classes never in the targets: "
                          "{missing})").format(n=n, classes=classes, missing=missing or _("none"))
            with student_code(ex, _("calling confusion_matrix on {inputs}").format(inputs=described), _(MATRIX_HINT)):
                matrix = matrix_fn(predictions, targets, classes)
            what = _("the confusion matrix of {inputs}").format(inputs=described)
            matrix = _tensor(ex, what, matrix, _("return a tensor: ") + _(MATRIX_HINT))
            expect(identical(predictions, kept[0]) and identical(targets, kept[1]), ex,
                   _("predictions and targets after the call"), _("unchanged"), _("changed"),
                   _("compute new tensors (targets * num_classes + predictions); in-place methods such as mul_() "
                     "change the caller's tensors"))
            want = digits.confusion_matrix(predictions, targets, classes)
            expect(tuple(matrix.shape) == (classes, classes), ex, _("the shape of {what}").format(what=what),
                   (classes, classes), tuple(matrix.shape),
                   _("the matrix is num_classes × num_classes even when some classes never occur: "
                     "bincount(..., minlength=num_classes * num_classes), or start from torch.zeros"))
            expect(matrix.dtype == torch.int64, ex, _("the dtype of {what}").format(what=what), torch.int64,
                   matrix.dtype, _("counts are integers: build the matrix as int64 (torch.zeros(..., dtype=torch.long) "
                                   "or bincount), not as fractions or floats"))
            if identical(matrix, want):
                continue
            if identical(matrix, want.T):
                hint = _("rows are the true classes and columns the predictions: matrix[target, prediction]")
            elif identical(matrix, torch.diag(want.diag())):
                hint = _("count every sample, the mistakes too: they are the entries off the diagonal")
            elif int(matrix.sum()) != n:
                hint = _("every sample adds exactly 1, so the entries add up to the number of samples; ") + _(MATRIX_HINT)
            else:
                hint = _(MATRIX_HINT)
            fail(ex, what, want.tolist() if classes <= 4 else _("the counts of each (target, prediction) pair"),
                 matrix.tolist() if classes <= 4 else max_diff(matrix, want), hint)
    passed(ex, _("{count} cases (classes that never occur, one sample, all right, 10 classes): int64 counts with true "
                 "classes as rows").format(count=len(MATRIX_CASES)))


# --- Exercise 8.3 -----------------------------------------------------------------------------------
RESUME_EPOCHS = 3  # the uninterrupted run; the interrupted one saves after 1 and after 2 epochs
SAVE_HINT = N_("save a dict of tensors and numbers: model.state_dict(), optimizer.state_dict(), generator.get_state(), "
               "torch.get_rng_state() and the epoch")


def _resume_data() -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(40, 6), torch.randint(0, 3, (40,))


def _start(data, seed: int):
    """A fresh model with dropout, an Adam optimizer and a shuffling loader: every random draw seeded by `seed`."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.25), nn.Linear(16, 3))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    loader = DataLoader(TensorDataset(*data), batch_size=8, shuffle=True,
                        generator=torch.Generator().manual_seed(seed + 1))
    return model, optimizer, loader


def _train(model, optimizer, loader, epochs: int) -> None:
    model.train()
    for _epoch in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optimizer.step()


def _snapshot(model, optimizer, loader) -> dict:
    return {"model": copy.deepcopy(model.state_dict()), "optimizer": copy.deepcopy(optimizer.state_dict()["state"]),
            "generator": loader.generator.get_state(), "torch_rng": torch.get_rng_state()}


def _same_model(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(identical(a[k], b[k]) for k in a)


def _same_optimizer_state(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        a[k].keys() == b[k].keys() and all(identical(torch.as_tensor(a[k][n]), torch.as_tensor(b[k][n])) for n in a[k])
        for k in a)


def _restored(ex: str, saved: dict, model, optimizer, loader, epoch, want_epoch: int, call: str) -> None:
    """Everything `saved` holds is back in the fresh objects, and the epoch came back."""
    what = _("after {call}, {part}")
    expect(_same_model(saved["model"], model.state_dict()), ex, what.format(call=call, part=_("the model's weights")),
           _("those at the time of saving"), _("different"), _("model.load_state_dict(checkpoint[...])"))
    expect(_same_optimizer_state(saved["optimizer"], optimizer.state_dict()["state"]), ex,
           what.format(call=call, part=_("the optimizer's state")), _("Adam's running averages at the time of saving"),
           _("different"), _("optimizer.load_state_dict(checkpoint[...]): Adam's running averages and step counts are "
                             "part of the training, and a fresh optimizer starts them at zero"))
    expect(identical(saved["generator"], loader.generator.get_state()), ex,
           what.format(call=call, part=_("the state of the loader's generator")), _("its state at the time of saving"),
           _("different"), _("generator.set_state(checkpoint[...]), with the state from generator.get_state(): it decides "
                             "the order of the next epochs (seeding it again would repeat the first epochs' order)"))
    expect(identical(saved["torch_rng"], torch.get_rng_state()), ex,
           what.format(call=call, part=_("torch's global random state")), _("its state at the time of saving"),
           _("different"), _("torch.set_rng_state(checkpoint[...]), with the state from torch.get_rng_state(): dropout "
                             "(and lesson 07's noise) draw from torch's global generator"))
    got = integer(ex, _("the value {call} returns").format(call=call), epoch,
                  _("return the epoch stored in the checkpoint, as a Python int"))
    expect(got == want_epoch, ex, _("the value {call} returns").format(call=call), want_epoch, got,
           _("return the number of epochs done when the checkpoint was saved (the epoch passed to save_checkpoint)"))


@exercise("8.3", N_("save and resume a training run"))
def resume(save_checkpoint, load_checkpoint) -> None:
    """save_checkpoint(path, model, optimizer, generator, epoch); load_checkpoint(path, model, optimizer, generator)
    -> epoch: training resumed from the file continues exactly as the uninterrupted run."""
    ex = "8.3"
    with private_rng(803), tempfile.TemporaryDirectory() as folder:
        data = _resume_data()
        model, optimizer, loader = _start(data, 11)
        _train(model, optimizer, loader, RESUME_EPOCHS)
        uninterrupted = copy.deepcopy(model.state_dict())

        model, optimizer, loader = _start(data, 11)
        saved = {}
        for epoch in (1, 2):
            _train(model, optimizer, loader, 1)
            path = str(Path(folder) / f"epoch{epoch}.pt")
            saved[epoch] = _snapshot(model, optimizer, loader)
            with student_code(ex, _("calling save_checkpoint after epoch {epoch}").format(epoch=epoch), _(SAVE_HINT)):
                save_checkpoint(path, model, optimizer, loader.generator, epoch)
            now = _snapshot(model, optimizer, loader)
            expect(all(_same_model(saved[epoch][k], now[k]) if k == "model" else
                       _same_optimizer_state(saved[epoch][k], now[k]) if k == "optimizer" else
                       identical(saved[epoch][k], now[k]) for k in now), ex,
                   _("the model, optimizer and random states after save_checkpoint"), _("unchanged"), _("changed"),
                   _("saving only reads: get_state() and state_dict() copy nothing back, and nothing is seeded"))
            expect(Path(path).is_file() and Path(path).stat().st_size > 0, ex,
                   _("the file save_checkpoint writes at the path it is given"), _("a file"), _("no file"),
                   _("torch.save(checkpoint, path)"))
            try:
                torch.load(path, weights_only=True)
            except Exception as error:  # noqa: BLE001 - any failure to load it safely is the answer's
                first = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip().split(". ")[0].splitlines()
                fail(ex, _("loading the checkpoint with torch.load(path, weights_only=True)"), _("a dict of tensors"),
                     f"{type(error).__name__}: {first[0] if first else ''}",
                     _("weights_only=True loads tensors, numbers, strings and containers of them, never other "
                       "objects: ") + _(SAVE_HINT))

        # A later session: fresh objects, other seeds. Loading epoch 1's file must give epoch 1's state
        # (not whatever was saved last), and loading epoch 2's file must let training continue exactly.
        for epoch in (1, 2):
            model, optimizer, loader = _start(data, 500 + epoch)
            call = _("load_checkpoint on the file saved after epoch {epoch}").format(epoch=epoch)
            with student_code(ex, _("calling {call}").format(call=call),
                              _("torch.load(path, weights_only=True), then load each state into the objects given")):
                done = load_checkpoint(str(Path(folder) / f"epoch{epoch}.pt"), model, optimizer, loader.generator)
            _restored(ex, saved[epoch], model, optimizer, loader, done, epoch, call)
        _train(model, optimizer, loader, RESUME_EPOCHS - 2)
        got = model.state_dict()
        expect(all(_close(got[k], uninterrupted[k]) for k in got), ex,
               _("the weights after resuming from epoch 2 and training to epoch {total}").format(total=RESUME_EPOCHS),
               _("those of the uninterrupted run"),
               _("max |difference| = {diff:.3g}").format(
                   diff=max((got[k].double() - uninterrupted[k].double()).abs().max().item() for k in got)),
               _("restore every state, then run nothing random before training goes on"))
    passed(ex, _("two checkpoints reload into fresh objects (weights_only=True), and the resumed run equals the "
                 "uninterrupted one: model, Adam, loader order and dropout"))


progress = progress_of(__name__)
