"""Checks for lesson 06 — collate_fn.

The expected batches are written out here from the statements, not taken from `ptcourse.lessons.collate`,
so a bug in the course's own collates cannot move the checks with it.
"""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch import allclose as _allclose
from torch import equal as _equal

from ptcourse.checks._core import (
    describe, exercise, expect, max_diff, passed, plain, private_rng, progress_of, student_code,
)
from ptcourse.i18n import N_, _

INTEGER_DTYPES = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)

# --- Exercise 6.1: pad_collate -----------------------------------------------------------------------
# (lengths of the samples, padding value or None for the default): the longest sample never comes
# first, so a collate that sorts by length changes the order; one sample, one-token texts, equal lengths.
PAD_CASES = [
    ([3, 7, 1, 5], None),
    ([2, 9, 9, 4, 6, 1], 7),
    ([5, 5, 5], -1),
    ([4], 99),
    ([1], 5),
    ([1, 1, 1], None),
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


def _padded(batch: list[tuple[torch.Tensor, int]], pad_value: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The statement's tokens and mask, row by row."""
    longest = max(len(tokens) for tokens, _label in batch)
    tokens = torch.full((len(batch), longest), pad_value, dtype=torch.int64)
    mask = torch.zeros(len(batch), longest, dtype=torch.bool)
    for row, (sequence, _label) in enumerate(batch):
        tokens[row, : len(sequence)] = sequence
        mask[row, : len(sequence)] = True
    return tokens, mask


def _describe(x) -> str:
    if isinstance(x, torch.Tensor):
        x = plain(x)
        return _("{dtype} tensor of shape {shape}: {values}").format(dtype=x.dtype, shape=tuple(x.shape), values=x.tolist())
    return describe(x)


PAD_HINT = N_("pad_sequence([tokens for tokens, _ in batch], batch_first=True, padding_value=pad_value); "
              "lengths and labels with torch.tensor([...]); the mask from the lengths")


@exercise("6.1", N_("a padding collate"))
def pad_collate(student_pad_collate) -> None:
    """pad_collate(batch, pad_value=0) -> (tokens [B, T] int64, lengths [B], mask [B, T] bool, labels [B] int64)."""
    ex = "6.1"
    with private_rng(601):
        for lengths, pad_value in PAD_CASES:
            pad = 0 if pad_value is None else pad_value
            batch = _pad_batch(lengths, pad)
            copies = [tokens.clone() for tokens, _label in batch]
            want_tokens, want_mask = _padded(batch, pad)
            want_labels = [label for _tokens, label in batch]
            call = "pad_collate(batch)" if pad_value is None else f"pad_collate(batch, pad_value={pad_value})"
            what = _("{call} for sequences of lengths {lengths}").format(call=call, lengths=lengths)
            with student_code(ex, what, _(PAD_HINT)):
                out = student_pad_collate(batch) if pad_value is None else student_pad_collate(batch, pad_value=pad_value)
            expect(
                type(out) in (tuple, list) and len(out) == 4, ex, _("what {what} returns").format(what=what),
                _("a tuple of 4 things: (tokens, lengths, mask, labels)"), describe(out),
                _("return tokens, lengths, mask, labels"),
            )
            names = [_("tokens"), _("lengths"), _("mask"), _("labels")]
            for name, item in zip(names, out):
                expect(isinstance(item, torch.Tensor), ex, _("{name} from {what}").format(name=name, what=what),
                       _("a tensor"), describe(item), _("build every part of the batch as a tensor: torch.tensor([...])"))
            tokens, got_lengths, mask, labels = (plain(item) for item in out)
            B, T = len(lengths), max(lengths)
            expect(
                tuple(tokens.shape) == (B, T), ex, _("shape of tokens from {what}").format(what=what),
                _("(batch, longest) = {shape}").format(shape=(B, T)), _describe(tokens),
                _("pad_sequence(..., batch_first=True): without it the result is (longest, batch)") if tokens.ndim == 2
                else _("keep both dimensions: a batch of one sample is (1, T), and squeeze() would drop the 1"),
            )
            expect(
                tokens.dtype == torch.int64, ex, _("dtype of tokens from {what}").format(what=what),
                _("torch.int64, like the token ids (nn.Embedding needs integer ids)"), tokens.dtype,
                _("keep the ids' dtype: pad_sequence does; a tensor you fill yourself needs dtype=torch.long "
                  "(torch.zeros(B, T) + pad_value is float32)"),
            )
            expect(
                _equal(tokens[want_mask], want_tokens[want_mask]), ex,
                _("the real tokens in the rows of tokens from {what}").format(what=what),
                want_tokens.tolist(), tokens.tolist(),
                _("keep the samples in the order they arrived (do not sort them) and each one's tokens in order"),
            )
            expect(
                _equal(tokens, want_tokens), ex, _("the padded positions of tokens from {what}").format(what=what),
                _("{pad} after each sequence: {want}").format(pad=pad, want=want_tokens.tolist()), tokens.tolist(),
                _("pass padding_value=pad_value to pad_sequence (its default is 0)"),
            )
            expect(
                got_lengths.dtype in INTEGER_DTYPES and tuple(got_lengths.shape) == (B,) and got_lengths.tolist() == lengths,
                ex, _("lengths from {what}").format(what=what), _("an integer tensor {lengths}").format(lengths=lengths),
                _describe(got_lengths), _("torch.tensor([len(tokens) for tokens, _ in batch]), in the batch's order"),
            )
            expect(
                mask.dtype == torch.bool and tuple(mask.shape) == (B, T), ex, _("the mask from {what}").format(what=what),
                _("a bool tensor of shape {shape}").format(shape=(B, T)), _describe(mask),
                _("compare positions with lengths: torch.arange(T) < lengths[:, None] gives a bool (B, T) tensor"),
            )
            expect(
                _equal(mask, want_mask), ex,
                _("the mask from {what} (some real tokens equal the padding value)").format(what=what),
                want_mask.int().tolist(), mask.int().tolist(),
                _("True marks a real token, False padding; build it from the lengths, not from tokens != pad_value, "
                  "since a real token can have the padding value's id"),
            )
            expect(
                labels.dtype == torch.int64 and tuple(labels.shape) == (B,) and labels.tolist() == want_labels, ex,
                _("labels from {what}").format(what=what), _("int64 tensor {labels}").format(labels=want_labels),
                _describe(labels), _("torch.tensor([label for _, label in batch]) (int64, as cross_entropy wants)"),
            )
            expect(
                all(_equal(tokens, copy) for (tokens, _label), copy in zip(batch, copies)), ex,
                _("the samples after {what}").format(what=what), _("unchanged"), _("modified in place"),
                _("build new tensors; do not write into the samples' tensors"),
            )
    passed(ex, _("padding, padding value, dtypes, lengths, mask and order are right on {n} batches, one-token and "
                 "one-sample batches included").format(n=len(PAD_CASES)))


# --- Exercise 6.2: image_collate ---------------------------------------------------------------------
# (batch size, mode, height, width): greyscale and colour, one image, odd and non-square sizes.
IMAGE_CASES = [(4, "L", 8, 8), (3, "RGB", 5, 7), (1, "L", 6, 3), (1, "RGB", 3, 5), (5, "RGB", 4, 4)]


def _image_batch(size: int, mode: str, height: int, width: int) -> list[tuple[Image.Image, int]]:
    channels = {"L": 1, "RGB": 3}[mode]
    batch = []
    for _index in range(size):
        pixels = torch.randint(0, 256, (height, width, channels), dtype=torch.uint8).numpy()
        image = Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels)
        batch.append((image, int(torch.randint(0, 10, ()))))
    return batch


def _stacked(batch: list[tuple[Image.Image, int]]) -> torch.Tensor:
    """The statement's images: (B, C, H, W) float32, pixel / 255."""
    pixels = [torch.from_numpy(np.array(image)) for image, _label in batch]
    return torch.stack([p[None] if p.ndim == 2 else p.permute(2, 0, 1) for p in pixels]).to(torch.float32) / 255


IMAGE_HINT = N_("torch.stack([to_tensor(image) for image, _ in batch]) and torch.tensor([label for _, label in batch])")


@exercise("6.2", N_("a collate for (image, label) pairs"))
def image_collate(student_image_collate) -> None:
    """image_collate([(PIL image, label), ...]) -> (images [B, C, H, W] float32 in [0, 1], labels [B] int64)."""
    ex = "6.2"
    with private_rng(602):
        for size, mode, height, width in IMAGE_CASES:
            batch = _image_batch(size, mode, height, width)
            kind = _("greyscale") if mode == "L" else _("colour")
            what = _("image_collate on a batch of {size}, {kind} images ({mode!r}) {height} high × {width} wide").format(
                size=size, kind=kind, mode=mode, height=height, width=width)
            want_images = _stacked(batch)
            want_labels = [label for _image, label in batch]
            with student_code(ex, what, _(IMAGE_HINT)):
                out = student_image_collate(batch)
            expect(
                type(out) in (tuple, list) and len(out) == 2, ex, _("what {what} returns").format(what=what),
                _("a tuple of 2 things: (images, labels)"), describe(out),
                _("return one tensor of images and one of labels, not a list of pairs"),
            )
            for name, item in zip([_("images"), _("labels")], out):
                expect(isinstance(item, torch.Tensor), ex, _("{name} from {what}").format(name=name, what=what),
                       _("a tensor"), describe(item), _(IMAGE_HINT))
            images, labels = (plain(item) for item in out)
            expect(
                tuple(images.shape) == tuple(want_images.shape), ex, _("shape of the images from {what}").format(what=what),
                _("(B, C, H, W) = {shape}").format(shape=tuple(want_images.shape)), _("shape {shape}").format(shape=tuple(images.shape)),
                _("stack one (C, H, W) tensor per image; a PIL image as a NumPy array is (H, W) or (H, W, C), "
                  "so move the channels first (to_tensor does) and keep a channel of 1 for greyscale")
                if images.ndim == 4 or size > 1 else
                _("keep all four dimensions: a batch of one image is (1, C, H, W), and squeeze() would drop a 1"),
            )
            expect(
                images.dtype == torch.float32, ex, _("dtype of the images from {what}").format(what=what), torch.float32,
                images.dtype, _("divide the uint8 pixels by 255 as float32 (to_tensor does both)"),
            )
            expect(
                _allclose(images, want_images, rtol=0, atol=1e-6), ex, _("pixel values of the images from {what}").format(what=what),
                _("pixel / 255, in [0, 1] (max {high:.4f})").format(high=want_images.max().item()),
                _("values in [{low:.4f}, {high:.4f}], {diff}").format(low=images.min().item(), high=images.max().item(),
                                                                    diff=max_diff(images, want_images)),
                _("divide the uint8 pixels by 255; move the channels first with permute(2, 0, 1) (reshape or view "
                  "keeps the shape but scrambles the pixels); keep the images in the batch's order"),
            )
            expect(
                labels.dtype == torch.int64 and tuple(labels.shape) == (size,) and labels.tolist() == want_labels,
                ex, _("labels from {what}").format(what=what), _("int64 tensor {labels}").format(labels=want_labels),
                _describe(labels), _("torch.tensor([label for _, label in batch])"),
            )
    passed(ex, _("images stacked as (B, C, H, W) float32 in [0, 1] and labels as int64 on {n} batches, greyscale and "
                 "colour, one-image batches included").format(n=len(IMAGE_CASES)))


progress = progress_of(__name__)
