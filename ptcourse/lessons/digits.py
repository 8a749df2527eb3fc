"""Lesson 08's pieces: a stratified split, a batch-transforming collate, and the reference answers.

Module-level, so that DataLoader workers can import them under any start method (lesson 04), and so
that later cells of the lesson never depend on a student's exercise answers:

    stratified_split   each class split in the same proportion (lesson 05's stratification, for a split)
    TransformBatch     a collate function: `default_collate`, then one transform on the whole image batch
    make_mlp           Exercise 8.1: Flatten, then Linear layers with ReLU between them
    confusion_matrix   Exercise 8.2: counts of (true class, predicted class)
    save_checkpoint    Exercise 8.3: everything training needs to continue exactly ...
    load_checkpoint    ... and restoring it, with `torch.load(..., weights_only=True)`
"""
from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Callable, Sequence

import torch
from torch import nn
from torch.utils.data import default_collate


def stratified_split(labels: torch.Tensor, val_fraction: float, generator: torch.Generator) -> tuple[list[int], list[int]]:
    """`(train indices, validation indices)`: from each class, `round(n_c * val_fraction)` random samples
    for validation and the rest for training, so both parts keep the classes' proportions. Each list is
    sorted; the draw comes from `generator` only."""
    labels = torch.as_tensor(labels)
    train, val = [], []
    for c in labels.unique().tolist():
        members = (labels == c).nonzero().flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        n_val = round(len(members) * val_fraction)
        val += members[:n_val].tolist()
        train += members[n_val:].tolist()
    return sorted(train), sorted(val)


class TransformBatch:
    """A collate function: stack `(image, label)` samples with `default_collate`, then apply `transform`
    to the whole image batch `(B, C, H, W)` in one call.

    Only for transforms that treat every pixel of every image alike (`Normalize`, added noise): on a
    batch they compute exactly what they compute image by image, at a fraction of the cost. A random
    crop, flip or rotation would draw once and move every image of the batch the same way. A module-level
    class, so that it pickles for spawned workers (lesson 06).
    """

    def __init__(self, transform: Callable[[torch.Tensor], torch.Tensor]):
        self.transform = transform

    def __call__(self, batch):
        images, labels = default_collate(batch)
        return self.transform(images), labels

    def __repr__(self) -> str:
        return f"TransformBatch({self.transform!r})"


def make_mlp(sizes: Sequence[int]) -> nn.Sequential:
    """`Flatten`, then `Linear(sizes[i], sizes[i + 1])` for each step, with `ReLU` between two of them
    but not after the last: the model returns logits."""
    layers: list[nn.Module] = [nn.Flatten()]
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if i:
            layers.append(nn.ReLU())
        layers.append(nn.Linear(n_in, n_out))
    return nn.Sequential(*layers)


def confusion_matrix(predictions: torch.Tensor, targets: torch.Tensor, num_classes: int) -> torch.Tensor:
    """An int64 `(num_classes, num_classes)` tensor: entry `[t, p]` counts the samples of true class `t`
    predicted as class `p`. Rows are true classes, columns predictions."""
    pairs = targets.long() * num_classes + predictions.long()
    return torch.bincount(pairs, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def save_checkpoint(path: str | Path | BinaryIO, model: nn.Module, optimizer: torch.optim.Optimizer,
                    generator: torch.Generator, epoch: int) -> None:
    """Write what training needs to continue exactly after `epoch` epochs: tensors and numbers only."""
    torch.save({
        "epoch": epoch,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),   # Adam's running averages, momentum buffers, step counts
        "generator": generator.get_state(),    # the training loader's shuffling
        "torch_rng": torch.get_rng_state(),    # torch's global generator: noise, dropout
    }, path)


def load_checkpoint(path: str | Path | BinaryIO, model: nn.Module, optimizer: torch.optim.Optimizer,
                    generator: torch.Generator) -> int:
    """Restore a `save_checkpoint` file into the given objects; return the number of epochs it had done."""
    checkpoint = torch.load(path, weights_only=True)  # tensors, numbers, dicts: no code runs on loading
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    generator.set_state(checkpoint["generator"])
    torch.set_rng_state(checkpoint["torch_rng"])
    return checkpoint["epoch"]
