"""Checks for lesson 07 — torchvision transforms."""
from __future__ import annotations

import torch
from PIL import Image
from torch import allclose as _allclose
from torch import equal as _equal
from torchvision import transforms as T
from torchvision import tv_tensors
from torchvision.transforms import v2

from ptcourse.checks._core import (
    describe, exercise, expect, fail, max_diff, passed, plain, private_rng, progress_of, student_code,
)
from ptcourse.i18n import N_, _

# --- Exercise 7.1: train and eval pipelines ----------------------------------------------------------
MIN_AREA = 0.3
SMALL_AREA = 0.4  # with scale=(0.3, 1.0), the smallest of 48 seeded crops measures 0.28-0.32; (0.5, 1.0) gives 0.47-0.48
TRAIN_SEEDS = range(48)
EVAL_SEEDS = range(1, 8)
EVAL_ATOL = 1.5 / 255  # resizing before or after the conversion to float differs by up to 1/255
# (size, mean, std) and the photos (width, height) each pipeline meets: landscape, portrait, odd sizes,
# one whose shorter side is already `size`, one smaller than `size`.
PIPELINE_CASES = [
    (24, [0.5, 0.4, 0.3], [0.2, 0.25, 0.3], [(50, 37), (30, 45), (24, 31)]),
    (32, [0.45, 0.45, 0.45], [0.27, 0.27, 0.27], [(61, 43), (20, 27)]),
]


def _random_photo(width: int, height: int) -> Image.Image:
    return Image.fromarray(torch.randint(0, 256, (height, width, 3), dtype=torch.uint8).numpy())


def _gradient_photo(width: int, height: int) -> Image.Image:
    """Red grows from left (0) to right (255), green from top to bottom: a crop shows where it came from."""
    x = torch.linspace(0, 255, width).round().to(torch.uint8)
    y = torch.linspace(0, 255, height).round().to(torch.uint8)
    pixels = torch.stack([x.expand(height, width), y[:, None].expand(height, width),
                          torch.full((height, width), 128, dtype=torch.uint8)], dim=2)
    return Image.fromarray(pixels.numpy())


def _eval_reference(photo: Image.Image, size: int) -> torch.Tensor:
    """The specification in [0, 1], from torchvision itself: Resize(size), CenterCrop(size), ToTensor()."""
    return T.Compose([T.Resize(size), T.CenterCrop(size), T.ToTensor()])(photo)


PIPELINE_HINT = N_(
    "mind the order: ToTensor() (v2: ToImage(), then ToDtype(torch.float32, scale=True)) comes before "
    "Normalize(mean, std), which needs a float tensor, not a PIL image; Resize, crops and flips work on both")


def _run(ex: str, pipeline, photo: Image.Image, seed: int, what: str) -> torch.Tensor:
    """`pipeline(photo)` after `torch.manual_seed(seed)`, validated as a float32 image tensor."""
    torch.manual_seed(seed)
    with student_code(ex, _("calling the {what}").format(what=what), _(PIPELINE_HINT)):
        out = pipeline(photo)
    expect(isinstance(out, torch.Tensor), ex, _("what the {what} returns").format(what=what), _("a tensor"),
           describe(out), _("end with ToTensor() and Normalize(mean, std) (v2: ToImage(), ToDtype(torch.float32, "
                            "scale=True), Normalize(mean, std)), so that the output is a tensor"))
    return plain(out)


def _as_image_tensor(out: torch.Tensor, ex: str, what: str, size: int) -> None:
    expect(
        tuple(out.shape) == (3, size, size) and out.dtype == torch.float32, ex, what,
        _("a float32 tensor of shape (3, {size}, {size})").format(size=size),
        _("{dtype} tensor of shape {shape}").format(dtype=out.dtype, shape=tuple(out.shape)),
        _("train: RandomResizedCrop(size, ...) gives size × size; eval: Resize(size) then CenterCrop(size); "
          "both end with ToTensor() (or v2.ToImage(), v2.ToDtype(torch.float32, scale=True)) and Normalize"),
    )


@exercise("7.1", N_("train and eval pipelines"))
def pipelines(make_pipelines) -> None:
    """make_pipelines(size, mean, std) -> (train, eval), as specified in Exercise 7.1."""
    ex = "7.1"
    with private_rng(701):
        for size, mean, std, photos in PIPELINE_CASES:
            call = "make_pipelines({size}, {mean}, {std})".format(size=size, mean=mean, std=std)
            with student_code(ex, _("calling {call}").format(call=call), _("build two Compose pipelines and return them")):
                made = make_pipelines(size, mean, std)
            expect(type(made) in (tuple, list) and len(made) == 2 and all(callable(p) for p in made), ex,
                   _("what {call} returns").format(call=call), _("a tuple (train, evaluate) of two transforms"),
                   describe(made), _("return train, evaluate"))
            train, evaluate = made
            m, s = torch.tensor(mean)[:, None, None], torch.tensor(std)[:, None, None]
            for width, height in photos:
                photo = _random_photo(width, height)
                what = _("eval pipeline (size={size}) on a {width}×{height} photo").format(size=size, width=width, height=height)
                first = _run(ex, evaluate, photo, 0, what)
                _as_image_tensor(first, ex, _("output of the {what}").format(what=what), size)
                for seed in EVAL_SEEDS:
                    other = _run(ex, evaluate, photo, seed, what)
                    expect(
                        _equal(first, other), ex, _("the {what}, run after torch.manual_seed(0) and again after torch.manual_seed({seed})").format(
                            what=what, seed=seed),
                        _("the same output"), max_diff(first, other),
                        _("evaluation must not be random: no Random* transforms in eval"),
                    )
                # Compared in [0, 1], before Normalize: resizing a uint8 image (PIL) or a float tensor
                # (ToTensor or v2.ToImage first) rounds differently, by up to 1/255.
                seen, want = first * s + m, _eval_reference(photo, size)
                if not _allclose(seen, want, rtol=0, atol=EVAL_ATOL):
                    hint = _("Resize(size) with one number keeps the aspect ratio (Resize((size, size)) squashes the "
                             "photo); normalise after ToTensor, with the given mean and std")
                    if _allclose(first, want, rtol=0, atol=EVAL_ATOL):
                        hint = _("the values are those of ToTensor() alone: add Normalize(mean, std) at the end")
                    elif float(seen.max()) > 2:
                        hint = _("the values are in 0–255: convert to [0, 1] before Normalize (ToTensor(), or "
                                 "v2.ToDtype(torch.float32, scale=True): without scale=True the values stay 0–255)")
                    fail(ex, _("values from the {what}, un-normalised").format(what=what),
                         _("Resize(size) (shorter side), CenterCrop(size), ToTensor(), Normalize(mean, std), "
                           "within {tol:.1f}/255").format(tol=EVAL_ATOL * 255),
                         max_diff(seen, want), hint)
                what = _("train pipeline (size={size}) on a {width}×{height} photo").format(size=size, width=width, height=height)
                first = _run(ex, train, photo, 3, what)
                _as_image_tensor(first, ex, _("output of the {what}").format(what=what), size)
                expect(
                    _equal(first, _run(ex, train, photo, 3, what)), ex,
                    _("the {what}, run twice after torch.manual_seed(3)").format(what=what),
                    _("the same output"), _("different outputs"),
                    _("use torchvision's random transforms: they draw from torch's generator, so a seed reproduces them"),
                )

            colour = tuple(int(c) for c in torch.randint(0, 256, (3,)))
            flat = Image.new("RGB", (41, 29), colour)
            want = (torch.tensor(colour)[:, None, None] / 255 - m) / s
            what = _("train pipeline (size={size}) on a photo of one colour {colour}").format(size=size, colour=colour)
            for seed in range(4):
                out = _run(ex, train, flat, seed, what)
                _as_image_tensor(out, ex, _("output of the {what}").format(what=what), size)
                expect(
                    _allclose(out, want.expand_as(out), atol=1e-5), ex, what,
                    _("every pixel (colour / 255 - mean) / std = {want}").format(want=[round(v, 4) for v in want.flatten().tolist()]),
                    _("values from {low:.4f} to {high:.4f}").format(low=out.min().item(), high=out.max().item()),
                    _("train crops and flips only (no colour changes), then ToTensor() and Normalize(mean, std) "
                      "with the given mean and std"),
                )

            gradient = _gradient_photo(64, 48)
            flips, areas = 0, []
            what = _("train pipeline (size={size}) on a 64×48 photo").format(size=size)
            for seed in TRAIN_SEEDS:
                out = _run(ex, train, gradient, seed, what)
                _as_image_tensor(out, ex, _("output of the {what}").format(what=what), size)
                red, green, _blue = (out * s + m).unbind(0)  # back to [0, 1]
                flipped = bool(red[:, -1].mean() < red[:, 0].mean())
                upright = bool(green[-1].mean() > green[0].mean())
                expect(
                    upright, ex, _("train pipeline (size={size}): the top of the photo after augmentation").format(size=size),
                    _("still at the top"), _("upside down or turned"), _("flip horizontally only (no vertical flips or rotations)"),
                )
                flips += flipped
                areas.append(float((red.max() - red.min()) * (green.max() - green.min())))
            n = len(TRAIN_SEEDS)
            expect(
                0 < flips < n, ex, _("train pipeline (size={size}): horizontally flipped outputs in {n} seeded runs").format(size=size, n=n),
                _("some flipped, some not (RandomHorizontalFlip: half the time)"), _("{flips} of {n}").format(flips=flips, n=n),
                _("add RandomHorizontalFlip() (p=0.5) to train"),
            )
            expect(
                max(areas) - min(areas) > 0.2, ex, _("train pipeline (size={size}): share of the photo each output shows").format(size=size),
                _("a random crop: a different region each time"),
                _("from {low:.2f} to {high:.2f} of the area").format(low=min(areas), high=max(areas)),
                _("train starts with RandomResizedCrop(size, scale=(0.3, 1.0)), not Resize or CenterCrop"),
            )
            expect(
                min(areas) > 0.85 * MIN_AREA, ex, _("train pipeline (size={size}): the smallest crop in {n} seeded runs").format(size=size, n=n),
                _("at least {area:.0%} of the photo's area").format(area=MIN_AREA), f"{min(areas):.0%}",
                _("pass scale=({area}, 1.0) to RandomResizedCrop (its default lets crops shrink to 8 %)").format(area=MIN_AREA),
            )
            expect(
                min(areas) < SMALL_AREA, ex, _("train pipeline (size={size}): the smallest crop in {n} seeded runs").format(size=size, n=n),
                _("below {small:.0%} of the photo's area (crops cover 30–100 %)").format(small=SMALL_AREA), f"{min(areas):.0%}",
                _("scale=({area}, 1.0): some crops should be small").format(area=MIN_AREA),
            )
    passed(ex, _("eval is deterministic and matches the specification; train crops (30–100 %), flips and normalises, "
                 "reproducibly per seed"))


# --- Exercise 7.2: AddGaussianNoise ------------------------------------------------------------------
NOISE_HINT = N_("__init__(self, std, generator=None) stores both; calling it on x returns "
                "x + std * torch.randn(x.shape, generator=self.generator, dtype=x.dtype)")
V2_METHOD = "transform" if "transform" in vars(v2.Transform) else "_transform"  # renamed in torchvision 0.21


def _noise_sample(generator: torch.Generator, height: int = 40, width: int = 50):
    """A detection-style sample: a float tv_tensors.Image, two boxes on it, a mask and a label."""
    image = tv_tensors.Image(torch.rand(3, height, width, generator=generator))
    boxes = tv_tensors.BoundingBoxes([[2, 3, 20, 30], [10, 5, 45, 38]], format="XYXY", canvas_size=(height, width))
    mask = tv_tensors.Mask(torch.zeros(height, width, dtype=torch.uint8))
    return {"image": image, "boxes": boxes, "mask": mask, "label": 3}


def _noise_of(ex: str, out, x: torch.Tensor, std: float, what: str) -> None:
    """`out - x` has mean 0 and standard deviation `std`."""
    noise = plain(out).double() - plain(x).double()
    hint = _("std is the standard deviation: multiply standard normal noise (torch.randn) by std, not std**2 "
             "or sqrt(std); torch.rand is uniform, not Gaussian")
    if noise.abs().max().item() == 0:
        hint = _("the output equals the input: add the noise, x + std * torch.randn(x.shape, ...)")
    elif noise.numel() > 1 and noise.std().item() < 1e-4 * std:
        hint = _("the same value was added everywhere (one number for the whole tensor): draw noise of x's shape, "
                 "torch.randn(x.shape, ...)")
    expect(
        abs(noise.mean().item()) < 0.03 * std and abs(noise.std().item() / std - 1) < 0.05, ex,
        _("the noise added by {what}").format(what=what), _("mean 0 and standard deviation {std}").format(std=std),
        _("mean {mean:.4f}, standard deviation {sd:.4f}").format(mean=noise.mean().item(), sd=noise.std().item()),
        hint,
    )


def _check_v2(ex: str, cls, std: float, generator: torch.Generator) -> None:
    """A v2.Transform subclass in a v2 sample: the image gets noise and stays an Image; the rest passes through."""
    hint = _("noise only images: in {method}(self, inpt, params), return inpt unchanged unless it is a "
             "tv_tensors.Image (or a plain tensor), and wrap the result: tv_tensors.wrap(out, like=inpt)").format(method=V2_METHOD)
    with student_code(ex, _("AddGaussianNoise({std}, generator=...)").format(std=std), _(NOISE_HINT)):
        add_noise = cls(std, generator=generator)
    sample = _noise_sample(generator)
    what = _("AddGaussianNoise({std}) on (image, label), an Image and the label 7").format(std=std)
    with student_code(ex, what, hint):
        out = add_noise(sample["image"], 7)
    expect(type(out) is tuple and len(out) == 2, ex, _("what {what} returns").format(what=what),
           _("a pair (image, label)"), describe(out), hint)
    image, label = out
    expect(type(label) is int and label == 7, ex, _("the label after {what}").format(what=what), "7", describe(label), hint)
    expect(type(image) is tv_tensors.Image, ex, _("the image after {what}").format(what=what), _("a tv_tensors.Image"),
           type(image).__name__, hint)
    _noise_of(ex, image, sample["image"], std, what)

    what = _("AddGaussianNoise({std}) on a dict sample with an Image, BoundingBoxes, a Mask and a label").format(std=std)
    with student_code(ex, what, hint):
        out = add_noise(sample)
    expect(type(out) is dict and set(out) == set(sample), ex, _("what {what} returns").format(what=what),
           _("a dict with the same keys {keys}").format(keys=sorted(sample)), describe(out), hint)
    for key in ("boxes", "mask"):
        got, want = out[key], sample[key]
        expect(type(got) is type(want) and _equal(plain(got), plain(want)), ex,
               _("the {key} after {what}").format(key=key, what=what), _("unchanged {kind}").format(kind=type(want).__name__),
               type(got).__name__ if type(got) is not type(want) else max_diff(got, want), hint)
    expect(type(out["label"]) is int and out["label"] == 3, ex, _("the label after {what}").format(what=what), "3",
           describe(out["label"]), hint)
    expect(type(out["image"]) is tv_tensors.Image, ex, _("the image after {what}").format(what=what),
           _("a tv_tensors.Image"), type(out["image"]).__name__, hint)
    _noise_of(ex, out["image"], sample["image"], std, what)


@exercise("7.2", N_("a transform of your own"))
def gaussian_noise(AddGaussianNoise) -> None:
    """AddGaussianNoise(std, generator=None): x + std * N(0, 1) noise drawn from the generator; as a
    v2.Transform subclass, also noise only the image of a v2 sample."""
    ex = "7.2"
    expect(isinstance(AddGaussianNoise, type), ex, _("AddGaussianNoise"), _("a class"), describe(AddGaussianNoise),
           _("define a class: class AddGaussianNoise: ... (or class AddGaussianNoise(v2.Transform): ...)"))
    is_v2 = issubclass(AddGaussianNoise, v2.Transform)
    if is_v2:
        overridden = getattr(AddGaussianNoise, V2_METHOD) is not getattr(v2.Transform, V2_METHOD)
        expect(overridden or AddGaussianNoise.forward is not v2.Transform.forward, ex,
               _("the v2.Transform subclass AddGaussianNoise"),
               _("a method {method}(self, inpt, params), which this torchvision calls for each input").format(method=V2_METHOD),
               _("no {method} method").format(method=V2_METHOD),
               _("torchvision 0.21 renamed _transform to transform: define transform(self, inpt, params) and add "
                 "_transform = transform, so the class works with every version"))
    hint = _(NOISE_HINT)
    if is_v2:
        hint = _("a v2.Transform is an nn.Module: call super().__init__() first in __init__; then ") + hint
    with private_rng(702):
        for std in [0.1, 0.5]:
            x = torch.rand(3, 100, 100)
            original = x.clone()
            with student_code(ex, _("AddGaussianNoise({std}, generator=...)").format(std=std), hint):
                add_noise = AddGaussianNoise(std, generator=torch.Generator().manual_seed(5))
            expect(callable(add_noise), ex, _("AddGaussianNoise({std}, generator=...)").format(std=std),
                   _("a callable transform"), describe(add_noise), _("define __call__(self, x)"))
            global_state = torch.get_rng_state()
            what = _("AddGaussianNoise({std}, generator=...) on a float32 tensor of shape {shape}").format(std=std, shape=tuple(x.shape))
            with student_code(ex, what, hint):
                y = add_noise(x)
            expect(
                isinstance(y, torch.Tensor) and y.shape == x.shape and y.dtype == x.dtype, ex, _("output of {what}").format(what=what),
                _("a float32 tensor of shape {shape}").format(shape=tuple(x.shape)),
                _("{dtype} tensor of shape {shape}").format(dtype=y.dtype, shape=tuple(y.shape)) if isinstance(y, torch.Tensor) else describe(y),
                _("return x + noise, with noise shaped like x"),
            )
            y = plain(y)
            expect(
                _equal(x, original), ex, _("the input after {what}").format(what=what), _("unchanged"), _("modified in place"),
                _("return x + noise (a new tensor); x.add_(...) changes the caller's tensor"),
            )
            expect(
                _equal(torch.get_rng_state(), global_state), ex, _("torch's global generator after {what}").format(what=what),
                _("untouched: the noise comes from the given generator"), _("advanced"),
                _("pass generator=self.generator to torch.randn"),
            )
            _noise_of(ex, y, x, std, what)
            noise = y - x
            expect(
                not _allclose(noise[0], noise[1], atol=1e-5 * std), ex, _("the noise of {what} in different channels").format(what=what),
                _("independent noise for every element"), _("the same noise in every channel"),
                _("draw noise of x's full shape: torch.randn(x.shape, ...)"),
            )
            with student_code(ex, _("a second call of the same {what}").format(what=what), hint):
                second = plain(add_noise(x)) - x
            expect(
                not _allclose(second, noise, atol=1e-5 * std), ex, _("two calls of the same {what}").format(what=what),
                _("fresh noise each call"), _("the same noise twice"),
                _("create the generator once (it is passed in); do not re-seed it in __call__"),
            )
            with student_code(ex, _("a twin of {what} whose generator has the same seed").format(what=what), hint):
                twin = AddGaussianNoise(std, generator=torch.Generator().manual_seed(5))
                twins = [plain(twin(x)), plain(twin(x))]
            expect(
                _equal(twins[0], y) and _equal(twins[1] - x, second), ex,
                _("{what} and a twin whose generator has the same seed").format(what=what),
                _("the same noises, call after call"), _("different noises"), _("draw every random number from self.generator"),
            )
            odd = torch.rand(1, 37, 29)
            what_odd = _("AddGaussianNoise({std}) on a float32 tensor of shape {shape}").format(std=std, shape=tuple(odd.shape))
            with student_code(ex, what_odd, hint):
                unseeded = AddGaussianNoise(std)
                torch.manual_seed(9)
                first = unseeded(odd)
                torch.manual_seed(9)
                again = unseeded(odd)
            expect(
                isinstance(first, torch.Tensor) and first.shape == odd.shape, ex, _("output of {what}").format(what=what_odd),
                _("a float32 tensor of shape {shape}").format(shape=tuple(odd.shape)),
                _("{dtype} tensor of shape {shape}").format(dtype=first.dtype, shape=tuple(first.shape))
                if isinstance(first, torch.Tensor) else describe(first),
                _("return x + noise, with noise shaped like x"),
            )
            expect(
                isinstance(again, torch.Tensor) and _equal(plain(first), plain(again)) and not _equal(plain(first), odd), ex,
                _("{what} without a generator, after torch.manual_seed(9) twice").format(what=what_odd),
                _("noise from torch's global generator (the same noise after the same seed)"),
                _("not reproducible with torch.manual_seed") if not _equal(plain(first), odd) else _("no noise"),
                _("generator=None makes torch.randn use the global generator"),
            )
            if is_v2:
                _check_v2(ex, AddGaussianNoise, std, torch.Generator().manual_seed(11))
    message = _("fresh N(0, std²) noise per element and per call, from the given generator, reproducible, input untouched")
    if is_v2:
        message += _("; as a v2 transform it noises only the image of a sample (still an Image), and passes labels, "
                     "boxes and masks through")
    passed(ex, message)

progress = progress_of(__name__)
