"""Checks for lesson 07 — torchvision transforms."""
from __future__ import annotations

import torch
from PIL import Image

from ptcourse.checks._core import exercise, expect, max_diff, passed, private_rng, progress_of
from ptcourse.i18n import N_
from ptcourse.lessons.transforms import photo_pipelines

MIN_AREA = 0.3
SMALL_AREA = 0.4  # with scale=(0.3, 1.0), the smallest of 48 seeded crops measures 0.28-0.32; (0.5, 1.0) gives 0.47-0.48
TRAIN_SEEDS = range(48)
EVAL_SEEDS = range(1, 8)
EVAL_ATOL = 1.5 / 255  # resizing before or after the conversion to float differs by up to 1/255


def _random_photo(width: int, height: int) -> Image.Image:
    return Image.fromarray(torch.randint(0, 256, (height, width, 3), dtype=torch.uint8).numpy(), mode="RGB")


def _gradient_photo(width: int, height: int) -> Image.Image:
    """Red grows from left (0) to right (255), green from top to bottom: a crop shows where it came from."""
    x = torch.linspace(0, 255, width).round().to(torch.uint8)
    y = torch.linspace(0, 255, height).round().to(torch.uint8)
    pixels = torch.stack([x.expand(height, width), y[:, None].expand(height, width), torch.full((height, width), 128, dtype=torch.uint8)], dim=2)
    return Image.fromarray(pixels.numpy(), mode="RGB")


def _call(transform, image, seed: int) -> torch.Tensor:
    torch.manual_seed(seed)
    return transform(image)


def _as_image_tensor(out, ex: str, what: str, size: int) -> None:
    expect(
        isinstance(out, torch.Tensor) and tuple(out.shape) == (3, size, size) and out.dtype == torch.float32, ex,
        what, f"a float32 tensor of shape (3, {size}, {size})",
        f"{out.dtype} tensor of shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else type(out).__name__,
        "end with ToTensor() then Normalize(mean, std) (or v2.ToImage(), v2.ToDtype(torch.float32, scale=True), "
        "v2.Normalize); train: RandomResizedCrop(size, ...); eval: Resize(size) then CenterCrop(size)",
    )


@exercise("7.1", N_("train and eval pipelines"))
def pipelines(make_pipelines) -> None:
    """make_pipelines(size, mean, std) -> (train, eval), as specified in Exercise 7.1."""
    ex = "7.1"
    with private_rng(701):
        for size, mean, std in [(24, [0.5, 0.4, 0.3], [0.2, 0.25, 0.3]), (32, [0.45, 0.45, 0.45], [0.27, 0.27, 0.27])]:
            train, evaluate = make_pipelines(size, mean, std)
            _, want_eval = photo_pipelines(size, mean, std)
            m, s = torch.tensor(mean)[:, None, None], torch.tensor(std)[:, None, None]
            for width, height in [(50, 37), (30, 45)]:
                photo = _random_photo(width, height)
                what = f"eval pipeline (size={size}) on a {width}×{height} photo"
                first = _call(evaluate, photo, 0)
                _as_image_tensor(first, ex, f"output of the {what}", size)
                for seed in EVAL_SEEDS:
                    other = _call(evaluate, photo, seed)
                    expect(
                        torch.equal(first, other), ex, f"the {what}, after torch.manual_seed(0) and ({seed})",
                        "the same output", max_diff(first, other),
                        "evaluation must not be random: no Random* transforms in eval",
                    )
                # Compared in [0, 1], before Normalize: resizing a uint8 image (PIL) or a float tensor
                # (ToTensor or v2.ToImage first) rounds differently, by up to 1/255.
                seen, want = first * s + m, want_eval(photo) * s + m
                expect(
                    torch.allclose(seen, want, rtol=0, atol=EVAL_ATOL), ex, f"values from the {what}, un-normalised",
                    f"Resize(size) (shorter side), CenterCrop(size), ToTensor(), Normalize(mean, std), "
                    f"within {EVAL_ATOL * 255:.1f}/255",
                    max_diff(seen, want),
                    "Resize(size) with one number keeps the aspect ratio (Resize((size, size)) squashes the photo); "
                    "normalise after ToTensor, with the given mean and std",
                )
                what = f"train pipeline (size={size}) on a {width}×{height} photo"
                first = _call(train, photo, 3)
                _as_image_tensor(first, ex, f"output of the {what}", size)
                expect(
                    torch.equal(first, _call(train, photo, 3)), ex, f"the {what}, run twice after torch.manual_seed(3)",
                    "the same output", "different outputs",
                    "use torchvision's random transforms: they draw from torch's generator, so a seed reproduces them",
                )

            colour = tuple(int(c) for c in torch.randint(0, 256, (3,)))
            flat = Image.new("RGB", (41, 29), colour)
            want = (torch.tensor(colour)[:, None, None] / 255 - m) / s
            for seed in range(4):
                out = _call(train, flat, seed)
                expect(
                    torch.allclose(out, want.expand_as(out), atol=1e-5), ex,
                    f"train pipeline (size={size}) on a photo of one colour {colour}",
                    f"every pixel (colour / 255 - mean) / std = {[round(v, 4) for v in want.flatten().tolist()]}",
                    f"values from {out.min().item():.4f} to {out.max().item():.4f}",
                    "train crops and flips only (no colour changes), then ToTensor() and Normalize(mean, std) "
                    "with the given mean and std",
                )

            gradient = _gradient_photo(64, 48)
            flips, areas = 0, []
            for seed in TRAIN_SEEDS:
                red, green, _ = (_call(train, gradient, seed) * s + m).unbind(0)  # back to [0, 1]
                flipped = bool(red[:, -1].mean() < red[:, 0].mean())
                upright = bool(green[-1].mean() > green[0].mean())
                expect(
                    upright, ex, f"train pipeline (size={size}): the top of the photo after augmentation",
                    "still at the top", "upside down or turned", "flip horizontally only (no vertical flips or rotations)",
                )
                flips += flipped
                areas.append(float((red.max() - red.min()) * (green.max() - green.min())))
            n = len(TRAIN_SEEDS)
            expect(
                0 < flips < n, ex, f"train pipeline (size={size}): horizontally flipped outputs in {n} seeded runs",
                "some flipped, some not (RandomHorizontalFlip: half the time)", f"{flips} of {n}",
                "add RandomHorizontalFlip() (p=0.5) to train",
            )
            expect(
                max(areas) - min(areas) > 0.2, ex, f"train pipeline (size={size}): share of the photo each output shows",
                "a random crop: a different region each time", f"from {min(areas):.2f} to {max(areas):.2f} of the area",
                "train starts with RandomResizedCrop(size, scale=(0.3, 1.0)), not Resize or CenterCrop",
            )
            expect(
                min(areas) > 0.85 * MIN_AREA, ex, f"train pipeline (size={size}): the smallest crop in {n} seeded runs",
                f"at least {MIN_AREA:.0%} of the photo's area", f"{min(areas):.0%}",
                f"pass scale=({MIN_AREA}, 1.0) to RandomResizedCrop (its default lets crops shrink to 8 %)",
            )
            expect(
                min(areas) < SMALL_AREA, ex, f"train pipeline (size={size}): the smallest crop in {n} seeded runs",
                f"below {SMALL_AREA:.0%} of the photo's area (crops cover 30–100 %)", f"{min(areas):.0%}",
                f"scale=({MIN_AREA}, 1.0): some crops should be small",
            )
    passed(ex, "eval is deterministic and matches the specification; train crops (30–100 %), flips and normalises, reproducibly per seed")


@exercise("7.2", N_("a transform of your own"))
def gaussian_noise(AddGaussianNoise) -> None:
    """AddGaussianNoise(std, generator=None): x + std * N(0, 1) noise drawn from the generator."""
    ex = "7.2"
    with private_rng(702):
        for std in [0.1, 0.5]:
            x = torch.rand(3, 100, 100)
            original = x.clone()
            add_noise = AddGaussianNoise(std, generator=torch.Generator().manual_seed(5))
            global_state = torch.get_rng_state()
            y = add_noise(x)
            what = f"AddGaussianNoise({std}, generator=...) on a tensor of shape {tuple(x.shape)}"
            expect(
                isinstance(y, torch.Tensor) and y.shape == x.shape and y.dtype == x.dtype, ex, f"output of {what}",
                f"a float32 tensor of shape {tuple(x.shape)}",
                f"{y.dtype} tensor of shape {tuple(y.shape)}" if isinstance(y, torch.Tensor) else type(y).__name__,
                "return x + noise, with noise shaped like x",
            )
            expect(
                torch.equal(x, original), ex, f"the input after {what}", "unchanged", "modified in place",
                "return x + noise (a new tensor); x.add_(...) changes the caller's tensor",
            )
            expect(
                torch.equal(torch.get_rng_state(), global_state), ex, f"torch's global generator after {what}",
                "untouched: the noise comes from the given generator", "advanced",
                "pass generator=self.generator to torch.randn",
            )
            noise = y - x
            expect(
                abs(noise.mean().item()) < 0.03 * std and abs(noise.std().item() / std - 1) < 0.05, ex,
                f"the noise added by {what}", f"mean 0 and standard deviation {std}",
                f"mean {noise.mean().item():.4f}, standard deviation {noise.std().item():.4f}",
                "std is the standard deviation: multiply standard normal noise (torch.randn) by std, not std**2 "
                "or sqrt(std); torch.rand is uniform, not Gaussian",
            )
            expect(
                not torch.allclose(noise[0], noise[1], atol=1e-5 * std), ex, f"the noise of {what} in different channels",
                "independent noise for every element", "the same noise in every channel",
                "draw noise of x's full shape: torch.randn(x.shape, ...)",
            )
            second = add_noise(x) - x
            expect(
                not torch.allclose(second, noise, atol=1e-5 * std), ex, f"two calls of the same {what}", "fresh noise each call",
                "the same noise twice", "create the generator once (it is passed in); do not re-seed it in __call__",
            )
            twin = AddGaussianNoise(std, generator=torch.Generator().manual_seed(5))
            expect(
                torch.equal(twin(x), y) and torch.equal(twin(x) - x, second), ex,
                f"{what} and a twin whose generator has the same seed", "the same noises, call after call",
                "different noises", "draw every random number from self.generator",
            )
            unseeded = AddGaussianNoise(std)
            expect(
                torch.equal(_call(unseeded, x, 9), _call(unseeded, x, 9)), ex, f"AddGaussianNoise({std}) without a generator",
                "noise from torch's global generator (reproducible with torch.manual_seed)",
                "not reproducible with torch.manual_seed", "generator=None makes torch.randn use the global generator",
            )
    passed(ex, "fresh N(0, std²) noise per element and per call, from the given generator, reproducible, input untouched")


progress = progress_of(__name__)
