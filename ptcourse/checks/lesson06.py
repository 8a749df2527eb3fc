"""Checks for lesson 06 — collate_fn."""
from __future__ import annotations

import torch
from PIL import Image

from ptcourse.checks._core import exercise, expect, max_diff, passed, private_rng, progress_of
from ptcourse.i18n import N_
from ptcourse.lessons.collate import image_collate as reference_image_collate
from ptcourse.lessons.collate import pad_collate as reference_pad_collate

# (lengths of the samples, padding value or None for the default): the longest sample never comes
# first, so a collate that sorts by length changes the order.
PAD_CASES = [
    ([3, 7, 1, 5], None),
    ([2, 9, 9, 4, 6, 1], 7),
    ([5, 5, 5], -1),
    ([4], 99),
    ([1, 6, 2, 8, 3], 0),
]


def _pad_batch(lengths: list[int], pad_value: int) -> list[tuple[torch.Tensor, int]]:
    """Token sequences that contain the padding value itself, so a mask must come from the lengths."""
    batch = []
    for length in lengths:
        tokens = torch.randint(0, 12, (length,))
        tokens[torch.rand(length) < 0.3] = pad_value
        batch.append((tokens, int(torch.randint(0, 5, ()))))
    return batch


def _describe(x) -> str:
    if isinstance(x, torch.Tensor):
        return f"{x.dtype} tensor of shape {tuple(x.shape)}: {x.tolist()}"
    return f"{type(x).__name__}: {x!r}"


@exercise("6.1", N_("a padding collate"))
def pad_collate(student_pad_collate) -> None:
    """pad_collate(batch, pad_value=0) -> (tokens [B, T], lengths [B], mask [B, T] bool, labels [B])."""
    ex = "6.1"
    with private_rng(601):
        for lengths, pad_value in PAD_CASES:
            batch = _pad_batch(lengths, 0 if pad_value is None else pad_value)
            copies = [tokens.clone() for tokens, _ in batch]
            want = reference_pad_collate(batch, 0 if pad_value is None else pad_value)
            if pad_value is None:
                out, call = student_pad_collate(batch), "pad_collate(batch)"
                pad_value = 0
            else:
                out, call = student_pad_collate(batch, pad_value=pad_value), f"pad_collate(batch, pad_value={pad_value})"
            what = f"{call} for sequences of lengths {lengths}"
            expect(
                isinstance(out, (tuple, list)) and len(out) == 4, ex, f"what {what} returns",
                "4 things: (tokens, lengths, mask, labels)", _describe(out) if not isinstance(out, (tuple, list))
                else f"{len(out)} things", "return tokens, lengths, mask, labels",
            )
            tokens, got_lengths, mask, labels = out
            B, T = len(lengths), max(lengths)
            expect(
                isinstance(tokens, torch.Tensor) and tuple(tokens.shape) == (B, T), ex, f"shape of tokens from {what}",
                f"(batch, longest) = {(B, T)}", _describe(tokens),
                "pad_sequence(..., batch_first=True): without it the result is (longest, batch)",
            )
            real = want[2]
            expect(
                torch.equal(tokens[real], want[0][real]), ex, f"the real tokens in the rows of tokens from {what}",
                _describe(want[0]), _describe(tokens),
                "keep the samples in the order they arrived (do not sort them) and each one's tokens in order",
            )
            expect(
                torch.equal(tokens, want[0]), ex, f"the padded positions of tokens from {what}",
                f"{pad_value} after each sequence: {want[0].tolist()}", tokens.tolist(),
                "pass padding_value=pad_value to pad_sequence (its default is 0)",
            )
            expect(
                isinstance(got_lengths, torch.Tensor) and not got_lengths.is_floating_point()
                and got_lengths.tolist() == lengths, ex, f"lengths from {what}",
                f"an integer tensor {lengths}", _describe(got_lengths),
                "torch.tensor([len(tokens) for tokens, _ in batch]), in the batch's order",
            )
            expect(
                isinstance(mask, torch.Tensor) and mask.dtype == torch.bool and tuple(mask.shape) == (B, T), ex,
                f"the mask from {what}", f"a bool tensor of shape {(B, T)}", _describe(mask),
                "compare positions with lengths: torch.arange(T) < lengths[:, None] gives a bool (B, T) tensor",
            )
            expect(
                torch.equal(mask, want[2]), ex, f"the mask from {what} (some real tokens equal the padding value)",
                want[2].int().tolist(), mask.int().tolist(),
                "True marks a real token, False padding; build it from the lengths, not from tokens != pad_value, "
                "since a real token can have the padding value's id",
            )
            expect(
                isinstance(labels, torch.Tensor) and labels.dtype == torch.int64 and torch.equal(labels, want[3]), ex,
                f"labels from {what}", f"int64 tensor {want[3].tolist()}", _describe(labels),
                "torch.tensor([label for _, label in batch]) (int64, as cross_entropy wants)",
            )
            expect(
                all(torch.equal(tokens, copy) for (tokens, _), copy in zip(batch, copies)), ex,
                f"the samples after {what}", "unchanged", "modified in place",
                "build new tensors; do not write into the samples' tensors",
            )
    passed(ex, f"padding, padding value, lengths, mask and order are right on {len(PAD_CASES)} batches")


def _image_batch(size: int, mode: str, height: int, width: int) -> list[tuple[Image.Image, int]]:
    channels = {"L": 1, "RGB": 3}[mode]
    batch = []
    for _ in range(size):
        pixels = torch.randint(0, 256, (height, width, channels), dtype=torch.uint8).numpy()
        image = Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels, mode=mode)
        batch.append((image, int(torch.randint(0, 10, ()))))
    return batch


IMAGE_CASES = [(4, "L", 8, 8), (3, "RGB", 5, 7), (1, "L", 6, 3), (5, "RGB", 4, 4)]


@exercise("6.2", N_("a collate for (image, label) pairs"))
def image_collate(student_image_collate) -> None:
    """image_collate([(PIL image, label), ...]) -> (images [B, C, H, W] float in [0, 1], labels [B] int64)."""
    ex = "6.2"
    with private_rng(602):
        for size, mode, height, width in IMAGE_CASES:
            batch = _image_batch(size, mode, height, width)
            what = f"image_collate on {size} {'greyscale' if mode == 'L' else 'colour'} images ({mode!r}), {height} high × {width} wide"
            want_images, want_labels = reference_image_collate(batch)
            out = student_image_collate(batch)
            expect(
                isinstance(out, (tuple, list)) and len(out) == 2, ex, f"what {what} returns",
                "2 things: (images, labels)", _describe(out) if not isinstance(out, (tuple, list)) else f"{len(out)} things",
                "return one tensor of images and one of labels, not a list of pairs",
            )
            images, labels = out
            expect(
                isinstance(images, torch.Tensor) and tuple(images.shape) == tuple(want_images.shape), ex,
                f"shape of the images from {what}", f"(B, C, H, W) = {tuple(want_images.shape)}",
                _describe(images) if not isinstance(images, torch.Tensor) else f"shape {tuple(images.shape)}",
                "stack one (C, H, W) tensor per image; a PIL image as a NumPy array is (H, W) or (H, W, C), "
                "so move the channels first (to_tensor does) and keep a channel of 1 for greyscale",
            )
            expect(
                images.dtype == torch.float32, ex, f"dtype of the images from {what}", torch.float32, images.dtype,
                "divide the uint8 pixels by 255 as float32 (to_tensor does both)",
            )
            expect(
                torch.allclose(images, want_images, atol=1e-6), ex, f"pixel values of the images from {what}",
                f"pixel / 255, in [0, 1] (max {want_images.max().item():.4f})",
                f"values in [{images.min().item():.4f}, {images.max().item():.4f}], {max_diff(images, want_images)}",
                "divide the uint8 pixels by 255; move the channels first with permute(2, 0, 1) (reshape or view "
                "keeps the shape but scrambles the pixels); keep the images in the batch's order",
            )
            expect(
                isinstance(labels, torch.Tensor) and labels.dtype == torch.int64 and torch.equal(labels, want_labels),
                ex, f"labels from {what}", f"int64 tensor {want_labels.tolist()}", _describe(labels),
                "torch.tensor([label for _, label in batch])",
            )
    passed(ex, f"images stacked as (B, C, H, W) floats in [0, 1] and labels as int64 on {len(IMAGE_CASES)} batches")


progress = progress_of(__name__)
