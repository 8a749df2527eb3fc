"""Words to token ids for the one-line reviews in `data/reviews.tsv` (lesson 06)."""
from __future__ import annotations

import re
from collections import Counter
from typing import Iterable

import torch

PAD, UNK = "<pad>", "<unk>"
WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")  # "didn't" stays one word; punctuation is dropped


def tokenize(text: str) -> list[str]:
    """Lower-cased words: `"Too long, too loud."` → `['too', 'long', 'too', 'loud']`."""
    return WORD.findall(text.lower())


class Vocab:
    """Token ↔ id. Id 0 is the padding token, id 1 stands for every word the vocabulary lacks.

    Calling it encodes a text as a LongTensor, so it can be a dataset's transform:
    `ReviewsDataset(transform=vocab)`; being a module-level class, it pickles for spawned workers.
    """

    pad_id, unk_id = 0, 1

    def __init__(self, texts: Iterable[str], min_freq: int = 1):
        counts = Counter(token for text in texts for token in tokenize(text))
        # Most frequent first, ties alphabetical: the same texts always give the same ids.
        words = sorted((w for w, n in counts.items() if n >= min_freq), key=lambda w: (-counts[w], w))
        self.itos = [PAD, UNK, *words]
        self.stoi = {token: i for i, token in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> list[int]:
        return [self.stoi.get(token, self.unk_id) for token in tokenize(text)]

    def decode(self, ids: Iterable[int]) -> str:
        return " ".join(self.itos[int(i)] for i in ids)

    def __call__(self, text: str) -> torch.Tensor:
        return torch.tensor(self.encode(text), dtype=torch.long)
