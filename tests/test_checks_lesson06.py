"""The lesson 06 checks pass on correct collates (the course's and others) and reject the classic mistakes."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, default_collate
from torchvision.transforms.functional import pil_to_tensor, to_tensor

from ptcourse.lessons import collate, text
from ptcourse.checks import lesson06 as check
from ptcourse.lessons.datasets import ReviewsDataset
from ptcourse.lessons.samplers import BucketBatchSampler


# --- Exercise 6.1: pad_collate ------------------------------------------------------------------

def pad_by_hand(batch, pad_value=0):
    """Correct, without pad_sequence: fill a (B, T) tensor row by row."""
    lengths = torch.tensor([len(tokens) for tokens, _ in batch], dtype=torch.int32)
    tokens = torch.full((len(batch), int(lengths.max())), pad_value, dtype=torch.long)
    mask = torch.zeros(tokens.shape, dtype=torch.bool)
    for row, (sequence, _) in enumerate(batch):
        tokens[row, : len(sequence)] = sequence
        mask[row, : len(sequence)] = True
    return tokens, lengths, mask, torch.tensor([label for _, label in batch])


def time_first(batch, pad_value=0):
    tokens, lengths, mask, labels = collate.pad_collate(batch, pad_value)
    return tokens.T, lengths, mask, labels


def ignores_pad_value(batch, pad_value=0):
    return collate.pad_collate(batch, 0)


def mask_from_tokens(batch, pad_value=0):
    tokens, lengths, _, labels = collate.pad_collate(batch, pad_value)
    return tokens, lengths, tokens != pad_value, labels


def inverted_mask(batch, pad_value=0):
    tokens, lengths, mask, labels = collate.pad_collate(batch, pad_value)
    return tokens, lengths, ~mask, labels


def integer_mask(batch, pad_value=0):
    tokens, lengths, mask, labels = collate.pad_collate(batch, pad_value)
    return tokens, lengths, mask.long(), labels


def sorted_by_length(batch, pad_value=0):
    """What pack_padded_sequence(enforce_sorted=True) used to require; it reorders the samples."""
    return collate.pad_collate(sorted(batch, key=lambda s: -len(s[0])), pad_value)


def lengths_as_list(batch, pad_value=0):
    tokens, lengths, mask, labels = collate.pad_collate(batch, pad_value)
    return tokens, lengths.tolist(), mask, labels


def float_labels(batch, pad_value=0):
    tokens, lengths, mask, labels = collate.pad_collate(batch, pad_value)
    return tokens, lengths, mask, labels.float()


def no_mask(batch, pad_value=0):
    tokens, lengths, _, labels = collate.pad_collate(batch, pad_value)
    return tokens, lengths, labels


def pads_in_place(batch, pad_value=0):
    """Grows each sample's own tensor to the longest length: the dataset's tensors change too."""
    lengths = [len(tokens) for tokens, _ in batch]
    for (tokens, _), n in zip(batch, lengths):
        tokens.resize_(max(lengths))
        tokens[n:] = pad_value
    tokens = torch.stack([tokens for tokens, _ in batch])
    mask = torch.arange(tokens.shape[1]) < torch.tensor(lengths)[:, None]
    return tokens, torch.tensor(lengths), mask, torch.tensor([label for _, label in batch])


@pytest.mark.parametrize("solution", [collate.pad_collate, pad_by_hand])
def test_pad_collate_accepts_correct_solutions(solution, capsys):
    check.pad_collate(solution)
    assert "Exercise 6.1 passed" in capsys.readouterr().out


@pytest.mark.parametrize("mistake", [
    time_first, ignores_pad_value, mask_from_tokens, inverted_mask, integer_mask, sorted_by_length,
    lengths_as_list, float_labels, no_mask, pads_in_place,
])
def test_pad_collate_rejects_mistake(mistake):
    with pytest.raises(AssertionError):
        check.pad_collate(mistake)


def test_pad_collate_lets_the_stub_error_through():
    def stub(batch, pad_value=0):
        raise NotImplementedError("Exercise 6.1 — a padding collate is not done yet")

    with pytest.raises(NotImplementedError):
        check.pad_collate(stub)


# --- Exercise 6.2: image_collate ----------------------------------------------------------------

def image_collate_torchvision(batch):
    """Correct, with torchvision's to_tensor."""
    return torch.stack([to_tensor(image) for image, _ in batch]), torch.tensor([label for _, label in batch])


def image_collate_uint8_first(batch):
    """Correct, the solution notebook's way: stack uint8 pixels, then scale the whole batch."""
    pixels = [torch.as_tensor(np.array(image)) for image, _ in batch]
    images = torch.stack([p.unsqueeze(0) if p.ndim == 2 else p.permute(2, 0, 1) for p in pixels])
    return images.float() / 255, torch.tensor([label for _, label in batch])


def list_of_pairs(batch):
    return [(to_tensor(image), label) for image, label in batch]


def uint8_images(batch):
    return torch.stack([pil_to_tensor(image) for image, _ in batch]), torch.tensor([l for _, l in batch])


def channels_last(batch):
    images = torch.stack([torch.from_numpy(np.asarray(image, dtype=np.float32) / 255) for image, _ in batch])
    return images, torch.tensor([l for _, l in batch])


def float64_images(batch):
    images = torch.stack([to_tensor(image).double() for image, _ in batch])
    return images, torch.tensor([l for _, l in batch])


def labels_as_list(batch):
    return torch.stack([to_tensor(image) for image, _ in batch]), [l for _, l in batch]


def reshaped_not_permuted(batch):
    """view(C, H, W) on (H, W, C) data keeps the shape right and scrambles the pixels."""
    images = []
    for image, _ in batch:
        x = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255)
        images.append(x.reshape(-1, x.shape[0], x.shape[1]) if x.ndim == 3 else x[None])
    return torch.stack(images), torch.tensor([l for _, l in batch])


@pytest.mark.parametrize("solution", [collate.image_collate, image_collate_torchvision, image_collate_uint8_first])
def test_image_collate_accepts_correct_solutions(solution, capsys):
    check.image_collate(solution)
    assert "Exercise 6.2 passed" in capsys.readouterr().out


@pytest.mark.parametrize("mistake", [
    list_of_pairs, uint8_images, channels_last, float64_images, labels_as_list, reshaped_not_permuted,
])
def test_image_collate_rejects_mistake(mistake):
    with pytest.raises(AssertionError):
        check.image_collate(mistake)


# --- the modules the lesson imports -------------------------------------------------------------

def test_collates_pickle_for_spawned_workers():
    for fn in [collate.pad_collate, collate.PadCollate(3), collate.collate_dicts, collate.SkipNone(), collate.image_collate]:
        assert pickle.loads(pickle.dumps(fn)) is not None


def test_collate_dicts_and_skip_none():
    samples = [{"text": "a b", "tokens": torch.tensor([4, 5]), "label": 1},
               {"text": "c", "tokens": torch.tensor([6]), "label": 0}]
    batch = collate.collate_dicts(samples, pad_value=9)
    assert batch["text"] == ["a b", "c"] and batch["label"].tolist() == [1, 0]
    assert batch["tokens"].tolist() == [[4, 5], [6, 9]] and batch["mask"].tolist() == [[True, True], [True, False]]
    assert collate.SkipNone()([None, None]) is None
    xs, ys = collate.SkipNone()([None, (torch.ones(2), 1), None, (torch.zeros(2), 0)])
    assert xs.shape == (2, 2) and ys.tolist() == [1, 0]


def test_vocab_and_reviews():
    assert text.tokenize("Too long, too loud -- and didn't care.") == ["too", "long", "too", "loud", "and", "didn't", "care"]
    vocab = text.Vocab(["b a", "a c"])
    assert vocab.itos == ["<pad>", "<unk>", "a", "b", "c"]
    assert vocab.encode("c a zzz") == [4, 2, vocab.unk_id] and vocab.decode([3, 2]) == "b a"
    assert torch.equal(vocab("a b"), torch.tensor([2, 3])) and pickle.loads(pickle.dumps(vocab)).itos == vocab.itos
    reviews = ReviewsDataset(transform=text.Vocab(ReviewsDataset().texts))
    assert len(reviews) == 80 and sorted(set(reviews.labels)) == [0, 1]
    assert all(len(tokens) > 0 and tokens.dtype == torch.long for tokens, _ in reviews)


def test_bucketing_cuts_padding():
    reviews = ReviewsDataset(transform=text.Vocab(ReviewsDataset().texts))
    lengths = [len(tokens) for tokens, _ in reviews]

    def padding(loader):
        masks = [mask for _, _, mask, _ in loader]
        return 1 - sum(int(m.sum()) for m in masks) / sum(m.numel() for m in masks)

    pad = collate.PadCollate(0)
    shuffled = DataLoader(reviews, batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(0), collate_fn=pad)
    bucketed = DataLoader(reviews, collate_fn=pad,
                          batch_sampler=BucketBatchSampler(lengths, 8, generator=torch.Generator().manual_seed(0)))
    assert padding(bucketed) < padding(shuffled) / 3
