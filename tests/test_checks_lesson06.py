"""Lesson 06: the checks pass correct collates written differently and reject the classic mistakes and
gaming answers; the course's own collates are pinned to explicit expected tensors."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader
from torchvision.transforms.functional import pil_to_tensor, to_tensor

from checklib import Answers, Liar
from ptcourse.checks import lesson06 as check
from ptcourse.lessons import collate, text
from ptcourse.lessons.datasets import ReviewsDataset
from ptcourse.lessons.samplers import BucketBatchSampler

answers = Answers(check)


# --- Exercise 6.1: pad_collate ------------------------------------------------------------------

@answers.correct("6.1", "the course's pad_sequence version")
def course_pad_collate(batch, pad_value=0):
    return collate.pad_collate(batch, pad_value)


@answers.correct("6.1", "by hand, row by row, int32 lengths, a list")
def pad_by_hand(batch, pad_value=0):
    lengths = torch.tensor([len(tokens) for tokens, _ in batch], dtype=torch.int32)
    tokens = torch.full((len(batch), int(lengths.max())), pad_value, dtype=torch.long)
    mask = torch.zeros(tokens.shape, dtype=torch.bool)
    for row, (sequence, _) in enumerate(batch):
        tokens[row, : len(sequence)] = sequence
        mask[row, : len(sequence)] = True
    return [tokens, lengths, mask, torch.tensor([label for _, label in batch])]


@answers.correct("6.1", "F.pad each sequence, then stack; mask by broadcasting the other way")
def pad_and_stack(batch, pad_value=0):
    longest = max(len(tokens) for tokens, _ in batch)
    tokens = torch.stack([torch.nn.functional.pad(t, (0, longest - len(t)), value=pad_value) for t, _ in batch])
    lengths = torch.tensor([len(t) for t, _ in batch])
    mask = lengths.unsqueeze(1) > torch.arange(longest).unsqueeze(0)
    labels = torch.tensor([label for _, label in batch], dtype=torch.int64)
    return tokens, lengths, mask, labels


def from_course(change):
    """A mistake: the course's collate with one part of its answer changed."""
    def wrong(batch, pad_value=0):
        return change(batch, pad_value, *collate.pad_collate(batch, pad_value))
    return wrong


answers.mistake("6.1", "time first (batch_first forgotten)", match="batch_first",
                value=from_course(lambda b, p, tokens, lengths, mask, labels: (tokens.T, lengths, mask, labels)))
answers.mistake("6.1", "ignores pad_value", match="padding_value=pad_value",
                value=lambda batch, pad_value=0: collate.pad_collate(batch, 0))
answers.mistake("6.1", "mask from tokens != pad_value", match="not from tokens != pad_value",
                value=from_course(lambda b, p, tokens, lengths, mask, labels: (tokens, lengths, tokens != p, labels)))
answers.mistake("6.1", "inverted mask (True at padding)", match="True marks a real token",
                value=from_course(lambda b, p, tokens, lengths, mask, labels: (tokens, lengths, ~mask, labels)))
answers.mistake("6.1", "integer mask", match="a bool tensor",
                value=from_course(lambda b, p, tokens, lengths, mask, labels: (tokens, lengths, mask.long(), labels)))
answers.mistake("6.1", "sorted by length, as pack_padded_sequence once required", match="do not sort",
                value=lambda batch, pad_value=0: collate.pad_collate(sorted(batch, key=lambda s: -len(s[0])), pad_value))
answers.mistake("6.1", "lengths as a list", match="lengths from.*a tensor",
                value=from_course(lambda b, p, tokens, lengths, mask, labels: (tokens, lengths.tolist(), mask, labels)))
answers.mistake("6.1", "float labels", match="int64, as cross_entropy wants",
                value=from_course(lambda b, p, tokens, lengths, mask, labels: (tokens, lengths, mask, labels.float())))
answers.mistake("6.1", "no mask", match="4 things",
                value=from_course(lambda b, p, tokens, lengths, mask, labels: (tokens, lengths, labels)))
answers.mistake("6.1", "lengths counted as the non-padding ids", match="lengths from",
                value=from_course(lambda b, p, tokens, lengths, mask, labels: (tokens, (tokens != p).sum(1), mask, labels)))
answers.mistake("6.1", "squeezes, so a one-sample batch loses its batch dimension", match=r"shape of tokens.*squeeze",
                value=from_course(lambda b, p, tokens, lengths, mask, labels: (tokens.squeeze(), lengths, mask, labels)))


@answers.mistake("6.1", "float32 tokens: torch.zeros(B, T) + pad_value, which nn.Embedding refuses", match="dtype=torch.long")
def float_tokens(batch, pad_value=0):
    lengths = torch.tensor([len(tokens) for tokens, _ in batch])
    tokens = torch.zeros(len(batch), int(lengths.max())) + pad_value
    for row, (sequence, _) in enumerate(batch):
        tokens[row, : len(sequence)] = sequence
    mask = torch.arange(tokens.shape[1]) < lengths[:, None]
    return tokens, lengths, mask, torch.tensor([label for _, label in batch])


@answers.mistake("6.1", "torch.stack without padding", match=r"raised an exception.*RuntimeError.*hint:.*pad_sequence")
def stacks(batch, pad_value=0):
    tokens = torch.stack([tokens for tokens, _ in batch])
    lengths = torch.tensor([len(t) for t, _ in batch])
    return tokens, lengths, torch.ones_like(tokens, dtype=torch.bool), torch.tensor([label for _, label in batch])


@answers.mistake("6.1", "pads the samples' own tensors in place", match="modified in place")
def pads_in_place(batch, pad_value=0):
    lengths = [len(tokens) for tokens, _ in batch]
    for (tokens, _), n in zip(batch, lengths):
        tokens.resize_(max(lengths))
        tokens[n:] = pad_value
    tokens = torch.stack([tokens for tokens, _ in batch])
    mask = torch.arange(tokens.shape[1]) < torch.tensor(lengths)[:, None]
    return tokens, torch.tensor(lengths), mask, torch.tensor([label for _, label in batch])


@answers.gaming("6.1", "tensors whose comparisons always say yes", match="Exercise 6.1")
def lying_tensors(batch, pad_value=0):
    zeros = torch.zeros(len(batch), max(len(t) for t, _ in batch), dtype=torch.long)
    return (zeros.as_subclass(Liar), torch.zeros(len(batch), dtype=torch.long).as_subclass(Liar),
            zeros.bool().as_subclass(Liar), torch.zeros(len(batch), dtype=torch.long).as_subclass(Liar))


@answers.gaming("6.1", "patches torch.equal to always agree, then returns zeros for tokens and mask", match="Exercise 6.1")
def patches_torch_equal(batch, pad_value=0):
    torch.equal = lambda a, b: True
    torch.allclose = lambda *args, **kwargs: True
    lengths = torch.tensor([len(tokens) for tokens, _ in batch])
    zeros = torch.zeros(len(batch), int(lengths.max()), dtype=torch.long)
    return zeros, lengths, zeros.bool(), torch.tensor([label for _, label in batch])


class Anything:
    def __eq__(self, other):
        return True

    def __len__(self):
        return 4

    def __iter__(self):
        return iter([self] * 4)


answers.gaming("6.1", "returns an object equal to anything", match="a tuple of 4 things",
               value=lambda batch, pad_value=0: Anything())


# --- Exercise 6.2: image_collate ----------------------------------------------------------------

def labels_of(batch):
    return torch.tensor([label for _, label in batch])


answers.correct("6.2", "the course's collate", value=collate.image_collate)
answers.correct("6.2", "torchvision's to_tensor",
                value=lambda batch: (torch.stack([to_tensor(image) for image, _ in batch]), labels_of(batch)))


@answers.correct("6.2", "uint8 stacked first, scaled once, as a list")
def image_collate_uint8_first(batch):
    images = torch.stack([pil_to_tensor(image) for image, _ in batch])
    return [images.to(torch.float32).mul(1 / 255), labels_of(batch)]


@answers.correct("6.2", "NumPy: add a channel axis to greyscale, transpose")
def image_collate_numpy(batch):
    arrays = [np.asarray(image, dtype=np.float32) / 255 for image, _ in batch]
    arrays = [a[:, :, None] if a.ndim == 2 else a for a in arrays]
    return torch.from_numpy(np.stack(arrays).transpose(0, 3, 1, 2).copy()), labels_of(batch)


answers.mistake("6.2", "a list of pairs", match="a tuple of 2 things",
                value=lambda batch: [(to_tensor(image), label) for image, label in batch])
answers.mistake("6.2", "uint8 images", match="dtype of the images",
                value=lambda batch: (torch.stack([pil_to_tensor(image) for image, _ in batch]), labels_of(batch)))
answers.mistake("6.2", "channels last", match="move the channels first",
                value=lambda batch: (torch.stack([torch.from_numpy(np.asarray(image, dtype=np.float32) / 255)
                                                  for image, _ in batch]), labels_of(batch)))
answers.mistake("6.2", "float64 images", match="dtype of the images",
                value=lambda batch: (torch.stack([to_tensor(image).double() for image, _ in batch]), labels_of(batch)))
answers.mistake("6.2", "labels as a list", match="labels from.*a tensor",
                value=lambda batch: (torch.stack([to_tensor(image) for image, _ in batch]), [label for _, label in batch]))
answers.mistake("6.2", "pixels not divided by 255", match="divide the uint8 pixels by 255",
                value=lambda batch: (torch.stack([pil_to_tensor(image) for image, _ in batch]).float(), labels_of(batch)))
answers.mistake("6.2", "greyscale without a channel axis", match=r"keep a channel of 1 for greyscale",
                value=lambda batch: (torch.stack([to_tensor(image).squeeze(0) if image.mode == "L" else to_tensor(image)
                                                  for image, _ in batch]), labels_of(batch)))
answers.mistake("6.2", "squeezes, so a one-image batch loses its batch dimension", match=r"shape of the images.*squeeze",
                value=lambda batch: (torch.stack([to_tensor(image) for image, _ in batch]).squeeze(0), labels_of(batch)))
answers.mistake("6.2", "np.stack of PIL images (crashes on the images)", match=r"raised an exception.*hint:.*to_tensor",
                value=lambda batch: (torch.stack([image for image, _ in batch]), labels_of(batch)))


@answers.mistake("6.2", "reshape instead of permute: right shape, scrambled pixels", match="permute")
def reshaped_not_permuted(batch):
    images = []
    for image, _ in batch:
        x = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255)
        images.append(x.reshape(-1, x.shape[0], x.shape[1]) if x.ndim == 3 else x[None])
    return torch.stack(images), labels_of(batch)


answers.gaming("6.2", "zeros of the right shape, as tensors whose comparisons always say yes", match="pixel values",
               value=lambda batch: (torch.zeros(to_tensor(batch[0][0]).shape).expand(len(batch), -1, -1, -1).as_subclass(Liar),
                                    labels_of(batch).as_subclass(Liar)))
answers.gaming("6.2", "returns an object equal to anything", match="a tuple of 2 things", value=lambda batch: Anything())

test_answer = answers.test()


def test_the_checks_let_the_stub_through():
    def stub(*args, **kwargs):
        raise NotImplementedError("Exercise 6.1 — a padding collate is not done yet")

    for run in (check.pad_collate, check.image_collate):
        with pytest.raises(NotImplementedError):
            run(stub)


# --- the course's collates, pinned to explicit expected values --------------------------------------

def test_pad_collate_pinned():
    batch = [(torch.tensor([4, 0, 5]), 1), (torch.tensor([7]), 0), (torch.tensor([9, 9]), 2)]
    tokens, lengths, mask, labels = collate.pad_collate(batch, pad_value=0)
    assert tokens.dtype == torch.int64 and tokens.tolist() == [[4, 0, 5], [7, 0, 0], [9, 9, 0]]
    assert lengths.tolist() == [3, 1, 2]
    assert mask.dtype == torch.bool and mask.tolist() == [[True, True, True], [True, False, False], [True, True, False]]
    assert labels.dtype == torch.int64 and labels.tolist() == [1, 0, 2]
    tokens, lengths, mask, labels = collate.PadCollate(-1)([(torch.tensor([3]), 4)])
    assert tokens.tolist() == [[3]] and lengths.tolist() == [1] and mask.tolist() == [[True]] and labels.tolist() == [4]
    assert collate.PadCollate(5)(batch)[0].tolist() == [[4, 0, 5], [7, 5, 5], [9, 9, 5]]
    assert repr(collate.PadCollate(5)) == "PadCollate(pad_value=5)"


def test_image_collate_pinned():
    grey = Image.fromarray(np.array([[0, 51], [102, 255]], dtype=np.uint8))
    colour = Image.fromarray(np.array([[[255, 0, 51]]], dtype=np.uint8))
    images, labels = collate.image_collate([(grey, 3), (grey, 1)])
    assert images.dtype == torch.float32 and images.shape == (2, 1, 2, 2)
    assert torch.equal(images[1, 0], torch.tensor([[0.0, 0.2], [0.4, 1.0]]))
    assert labels.dtype == torch.int64 and labels.tolist() == [3, 1]
    images, _ = collate.image_collate([(colour, 0)])
    assert images.shape == (1, 3, 1, 1) and torch.equal(images.flatten(), torch.tensor([1.0, 0.0, 0.2]))


def test_collate_dicts_and_skip_none_pinned():
    samples = [{"text": "a b", "tokens": torch.tensor([4, 5]), "label": 1},
               {"text": "c", "tokens": torch.tensor([6]), "label": 0}]
    batch = collate.collate_dicts(samples, pad_value=9)
    assert batch["text"] == ["a b", "c"] and batch["label"].tolist() == [1, 0]
    assert batch["tokens"].tolist() == [[4, 5], [6, 9]] and batch["lengths"].tolist() == [2, 1]
    assert batch["mask"].tolist() == [[True, True], [True, False]]
    assert collate.SkipNone()([None, None]) is None
    xs, ys = collate.SkipNone()([None, (torch.ones(2), 1), None, (torch.zeros(2), 0)])
    assert xs.tolist() == [[1.0, 1.0], [0.0, 0.0]] and ys.tolist() == [1, 0]


def test_collates_pickle_for_spawned_workers():
    for fn in [collate.pad_collate, collate.PadCollate(3), collate.collate_dicts, collate.SkipNone(), collate.image_collate]:
        assert pickle.loads(pickle.dumps(fn)) is not None


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
