"""What every exercise check shares: the success line, the failure message, a private RNG."""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

import torch

PASS_MARK = "✔"


class CheckFailed(AssertionError):
    """An exercise check that found a wrong answer (an AssertionError, as notebook readers expect)."""


def passed(exercise: str, message: str) -> None:
    """Print the one line a check prints when the answer is right."""
    print(f"{PASS_MARK} Exercise {exercise} passed: {message}")


def fail(exercise: str, what: str, expected: Any, got: Any, hint: str) -> None:
    """Raise the failure a student sees: what was checked, expected, what came out, and a hint."""
    raise CheckFailed(
        f"Exercise {exercise}: {what}\n"
        f"  expected: {expected}\n"
        f"  got:      {got}\n"
        f"  hint:     {hint}"
    )


def expect(condition: bool, exercise: str, what: str, expected: Any, got: Any, hint: str) -> None:
    """`fail(...)` unless `condition` holds."""
    if not condition:
        fail(exercise, what, expected, got, hint)


def plain(t) -> torch.Tensor:
    """`t` as a plain tensor: a subclass that overrides `__torch_function__` cannot fake a comparison."""
    return torch.as_tensor(t).as_subclass(torch.Tensor)


def close(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-6, rtol: float = 1e-5) -> bool:
    """Same shape and values within tolerance (False instead of an error on a shape mismatch)."""
    a, b = plain(a), plain(b)
    return a.shape == b.shape and torch.allclose(a.to(b.dtype), b, atol=atol, rtol=rtol)


def max_diff(a: torch.Tensor, b: torch.Tensor) -> str:
    """A short description of how far apart two tensors are, for failure messages."""
    a, b = plain(a), plain(b)
    if a.shape != b.shape:
        return f"shape {tuple(a.shape)} instead of {tuple(b.shape)}"
    return f"max |difference| = {(a.double() - b.double()).abs().max().item():.3g}"


@contextlib.contextmanager
def private_rng(seed: int) -> Iterator[torch.Generator]:
    """Seed torch's global RNG for the check only; the notebook's random stream is left as it was.

    Checks build fresh inputs and models with this, so a notebook's later outputs do not depend on
    whether (or how often) a check ran.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield torch.Generator().manual_seed(seed)
