"""Transforms for lesson 07: a custom one, and the reference train/eval pipelines for photos.

Module-level classes, so that datasets using them can go to spawned DataLoader workers.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
from torchvision import transforms as T
from torchvision import tv_tensors
from torchvision.transforms import v2


class AddGaussianNoise(v2.Transform):
    """Add `N(0, std²)` noise to a float image, drawn from `generator` (torch's global one if None).

    A v2 transform: in a sample such as `(image, label)` or `{"image": ..., "boxes": ...}` it adds noise
    to the image (a plain tensor or a `tv_tensors.Image`, which stays one) and passes the rest through.
    Each call draws fresh noise; the input is left unchanged.
    """

    def __init__(self, std: float, generator: torch.Generator | None = None):
        super().__init__()
        self.std = std
        self.generator = generator

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if isinstance(inpt, tv_tensors.TVTensor) and not isinstance(inpt, (tv_tensors.Image, tv_tensors.Video)):
            return inpt  # boxes, masks: noise would move or corrupt them
        if not isinstance(inpt, torch.Tensor) or not inpt.is_floating_point():
            raise TypeError(f"{type(self).__name__} needs a float image tensor, got {type(inpt).__name__}"
                            f"{'' if not isinstance(inpt, torch.Tensor) else f' of dtype {inpt.dtype}'}: "
                            "put it after ToDtype(torch.float32, scale=True)")
        noise = torch.randn(inpt.shape, generator=self.generator, dtype=inpt.dtype, device=inpt.device)
        noisy = inpt + self.std * noise  # a plain tensor: arithmetic unwraps tv_tensors
        return tv_tensors.wrap(noisy, like=inpt) if isinstance(inpt, tv_tensors.TVTensor) else noisy

    # torchvision 0.21 renamed the method a v2 transform overrides from `_transform` to `transform`.
    _transform = transform

    # A torch.Generator pickles only from torch 2.4 on; DataLoader workers started with spawn (macOS,
    # Windows) receive the transform pickled, so keep the generator as its device and state instead.
    def __getstate__(self):
        state = super().__getstate__()
        if isinstance(self.generator, torch.Generator):
            state = {**state, "generator": (str(self.generator.device), self.generator.get_state())}
        return state

    def __setstate__(self, state):
        if isinstance(state.get("generator"), tuple):
            device, rng_state = state["generator"]
            generator = torch.Generator(device=device)
            generator.set_state(rng_state)
            state = {**state, "generator": generator}
        super().__setstate__(state)


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
