"""Transforms for lesson 07: a custom one, and the reference train/eval pipelines for photos.

Module-level classes, so that datasets using them can go to spawned DataLoader workers.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torchvision import transforms as T


class AddGaussianNoise:
    """Add `N(0, std²)` noise to a float tensor, drawn from `generator` (torch's global one if None).

    Returns a new tensor of the same shape and dtype; the input is left unchanged. A seeded generator
    makes the sequence of noises reproducible; each call draws fresh noise from it.
    """

    def __init__(self, std: float, generator: torch.Generator | None = None):
        self.std = std
        self.generator = generator

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        noise = torch.randn(x.shape, generator=self.generator, dtype=x.dtype, device=x.device)
        return x + self.std * noise

    def __repr__(self) -> str:
        return f"{type(self).__name__}(std={self.std})"


def photo_pipelines(size: int, mean: Sequence[float], std: Sequence[float]) -> tuple[T.Compose, T.Compose]:
    """`(train, eval)` for RGB PIL images → normalised float tensors `(3, size, size)`.

    train: a random crop of 30–100 % of the image's area, resized to `size × size`; a horizontal flip
           half the time; to tensor; normalise.
    eval:  shorter side resized to `size`; centre crop `size × size`; to tensor; normalise. Deterministic.
    """
    to_normalised_tensor = [T.ToTensor(), T.Normalize(mean, std)]
    train = T.Compose([T.RandomResizedCrop(size, scale=(0.3, 1.0)), T.RandomHorizontalFlip(), *to_normalised_tensor])
    evaluate = T.Compose([T.Resize(size), T.CenterCrop(size), *to_normalised_tensor])
    return train, evaluate
