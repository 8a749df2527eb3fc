"""Collate functions that DataLoader workers can import (lesson 06).

A worker started with *spawn* (macOS, Windows; forkserver on Linux from Python 3.14) receives the
collate function by pickling, and re-imports it by name: a function from a notebook cell, a lambda or
a closure cannot travel that way; a module-level function or an instance of a module-level class can.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import default_collate

from ptcourse.lessons.datasets import pil_to_pixels


def pad_collate(batch: Sequence[tuple[torch.Tensor, int]], pad_value: int = 0):
    """`[(tokens, label), ...]` → `(tokens [B, T], lengths [B], mask [B, T], labels [B])`, samples in order.

    `T` is the longest sequence in the batch; shorter ones are filled with `pad_value` on the right,
    and `mask[i, t]` is True where sample `i` has a real token.
    """
    sequences = [tokens for tokens, _ in batch]
    lengths = torch.tensor([len(s) for s in sequences])
    tokens = pad_sequence(sequences, batch_first=True, padding_value=pad_value)
    mask = torch.arange(tokens.shape[1]) < lengths[:, None]  # from the lengths: a real token may equal pad_value
    labels = torch.tensor([label for _, label in batch])
    return tokens, lengths, mask, labels


class PadCollate:
    """`pad_collate` with its padding value fixed: `DataLoader(..., collate_fn=PadCollate(vocab.pad_id))`.

    An instance of a module-level class pickles by reference to its class, so spawned workers can use
    it; `lambda batch: pad_collate(batch, pad_id)` cannot be pickled.
    """

    def __init__(self, pad_value: int = 0):
        self.pad_value = pad_value

    def __call__(self, batch):
        return pad_collate(batch, self.pad_value)

    def __repr__(self) -> str:
        return f"PadCollate(pad_value={self.pad_value})"


def collate_dicts(batch: Sequence[dict[str, Any]], pad_value: int = 0) -> dict[str, Any]:
    """Dict samples with a variable-length `"tokens"` entry: pad that key, `default_collate` the others."""
    rest = default_collate([{k: v for k, v in sample.items() if k != "tokens"} for sample in batch])
    tokens, lengths, mask, _ = pad_collate([(sample["tokens"], 0) for sample in batch], pad_value)
    return {**rest, "tokens": tokens, "lengths": lengths, "mask": mask}


class SkipNone:
    """Drop the samples a dataset returned as `None` (unreadable files), then collate the rest.

    The batch gets smaller; a batch with nothing left becomes `None`, which the training loop skips.
    """

    def __init__(self, collate_fn: Callable = default_collate):
        self.collate_fn = collate_fn

    def __call__(self, batch):
        kept = [sample for sample in batch if sample is not None]
        return self.collate_fn(kept) if kept else None


def image_collate(batch):
    """`[(PIL image, label), ...]` → `(images [B, C, H, W] float in [0, 1], labels [B] int64)`."""
    images = torch.stack([pil_to_pixels(image).float().div(255) for image, _ in batch])
    labels = torch.tensor([label for _, label in batch])
    return images, labels
