"""Lesson 07: the checks pass correct transforms written differently and reject the classic mistakes and
gaming answers; the course's transforms are pinned to explicit expected values; the image loader falls
back to the bundled copy, quickly and with the same image, when the download fails."""
from __future__ import annotations

import functools
import http.server
import pickle
import socket
import threading
import time

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import transforms as T
from torchvision import tv_tensors
from torchvision.transforms import v2

from checklib import Answers, Liar
from ptcourse.checks import lesson07 as check
from ptcourse.lessons.images import load_image, open_image
from ptcourse.lessons.paths import DATA
from ptcourse.lessons.transforms import AddGaussianNoise, photo_pipelines


answers = Answers(check)


# --- Exercise 7.1: train and eval pipelines -----------------------------------------------------

answers.correct("7.1", "the course's v1 pipelines", value=photo_pipelines)


@answers.correct("7.1", "transforms.v2, PIL in, ToImage late")
def pipelines_v2(size, mean, std):
    tail = [v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)]
    train = v2.Compose([v2.RandomResizedCrop(size, scale=(0.3, 1.0), antialias=True), v2.RandomHorizontalFlip(), *tail])
    return train, v2.Compose([v2.Resize(size, antialias=True), v2.CenterCrop(size), *tail])


@answers.correct("7.1", "flip before the crop, returned as a list")
def pipelines_flip_first(size, mean, std):
    tail = [T.ToTensor(), T.Normalize(mean, std)]
    train = T.Compose([T.RandomHorizontalFlip(), T.RandomResizedCrop(size, scale=(0.3, 1.0)), *tail])
    return [train, T.Compose([T.Resize(size), T.CenterCrop(size), *tail])]


@answers.correct("7.1", "ToTensor first, every step on the float tensor (rounds differently, < 1/255)")
def pipelines_tensor_first(size, mean, std):
    train = T.Compose([T.ToTensor(), T.RandomResizedCrop(size, scale=(0.3, 1.0)), T.RandomHorizontalFlip(), T.Normalize(mean, std)])
    return train, T.Compose([T.ToTensor(), T.Resize(size), T.CenterCrop(size), T.Normalize(mean, std)])


@answers.correct("7.1", "v2 the recommended way: ToImage first, uint8 resizing, ToDtype late")
def pipelines_v2_docs_order(size, mean, std):
    finish = [v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)]
    train = v2.Compose([v2.ToImage(), v2.RandomResizedCrop(size, scale=(0.3, 1.0), antialias=True), v2.RandomHorizontalFlip(), *finish])
    return train, v2.Compose([v2.ToImage(), v2.Resize(size, antialias=True), v2.CenterCrop(size), *finish])


def replace(train=None, evaluate=None):
    """A mistake: the reference pipelines with one of them swapped for a wrong one."""
    def make(size, mean, std):
        good_train, good_eval = photo_pipelines(size, mean, std)
        tail = [T.ToTensor(), T.Normalize(mean, std)]
        return (train(size, mean, std, tail) if train else good_train,
                evaluate(size, mean, std, tail) if evaluate else good_eval)
    return make


PIPELINE_MISTAKES = {
    "eval squashes with Resize((size, size))": ("aspect ratio", replace(evaluate=lambda s, m, d, tail: T.Compose([T.Resize((s, s)), *tail]))),
    "eval crops at random": ("must not be random", replace(evaluate=lambda s, m, d, tail: T.Compose([T.Resize(s), T.RandomCrop(s), *tail]))),
    "eval flips at random": ("must not be random", replace(evaluate=lambda s, m, d, tail: T.Compose([T.Resize(s), T.CenterCrop(s), T.RandomHorizontalFlip(), *tail]))),
    "eval not normalised": ("add Normalize\\(mean, std\\)", replace(evaluate=lambda s, m, d, tail: T.Compose([T.Resize(s), T.CenterCrop(s), T.ToTensor()]))),
    "eval mean and std swapped": ("given mean and std", replace(evaluate=lambda s, m, d, tail: T.Compose([T.Resize(s), T.CenterCrop(s), T.ToTensor(), T.Normalize(d, m)]))),
    "eval with ImageNet statistics": ("given mean and std", replace(evaluate=lambda s, m, d, tail: T.Compose(
        [T.Resize(s), T.CenterCrop(s), T.ToTensor(), T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])]))),
    "eval Normalize before ToTensor (the lecture's warning)": ("raised an exception.*TypeError.*hint:.*mind the order", replace(
        evaluate=lambda s, m, d, tail: T.Compose([T.Resize(s), T.CenterCrop(s), T.Normalize(m, d), T.ToTensor()]))),
    "train Normalize before ToTensor": ("train pipeline.*raised an exception.*mind the order", replace(
        train=lambda s, m, d, tail: T.Compose([T.RandomResizedCrop(s, scale=(0.3, 1.0)), T.RandomHorizontalFlip(), T.Normalize(m, d), T.ToTensor()]))),
    "eval v2 without ToDtype: Normalize on uint8": ("raised an exception.*ToDtype", replace(
        evaluate=lambda s, m, d, tail: v2.Compose([v2.Resize(s), v2.CenterCrop(s), v2.ToImage(), v2.Normalize(m, d)]))),
    "eval v2 ToDtype without scale=True": ("without scale=True", replace(
        evaluate=lambda s, m, d, tail: v2.Compose([v2.Resize(s), v2.CenterCrop(s), v2.ToImage(), v2.ToDtype(torch.float32), v2.Normalize(m, d)]))),
    "train not normalised": ("given mean and std", replace(train=lambda s, m, d, tail: T.Compose([T.RandomResizedCrop(s, scale=(0.3, 1.0)), T.RandomHorizontalFlip(), T.ToTensor()]))),
    "train with colour jitter": ("no colour changes", replace(train=lambda s, m, d, tail: T.Compose(
        [T.RandomResizedCrop(s, scale=(0.3, 1.0)), T.RandomHorizontalFlip(), T.ColorJitter(0.4, 0.4, 0.4), *tail]))),
    "train without flips": ("RandomHorizontalFlip", replace(train=lambda s, m, d, tail: T.Compose([T.RandomResizedCrop(s, scale=(0.3, 1.0)), *tail]))),
    "train with vertical flips": ("flip horizontally only", replace(train=lambda s, m, d, tail: T.Compose(
        [T.RandomResizedCrop(s, scale=(0.3, 1.0)), T.RandomHorizontalFlip(), T.RandomVerticalFlip(), *tail]))),
    "train without a random crop": ("RandomResizedCrop", replace(train=lambda s, m, d, tail: T.Compose([T.Resize((s, s)), T.RandomHorizontalFlip(), *tail]))),
    "train with a fixed-size random crop": ("RandomResizedCrop|random", replace(train=lambda s, m, d, tail: T.Compose([T.Resize(s), T.RandomCrop(s), T.RandomHorizontalFlip(), *tail]))),
    "train crop with scale=(0.5, 1.0)": ("some crops should be small", replace(train=lambda s, m, d, tail: T.Compose(
        [T.RandomResizedCrop(s, scale=(0.5, 1.0)), T.RandomHorizontalFlip(), *tail]))),
    "train crop with the default scale (8-100 %)": ("its default lets crops shrink", replace(train=lambda s, m, d, tail: T.Compose([T.RandomResizedCrop(s), T.RandomHorizontalFlip(), *tail]))),
    "train returns PIL images": ("a tensor", replace(train=lambda s, m, d, tail: T.Compose([T.RandomResizedCrop(s, scale=(0.3, 1.0)), T.RandomHorizontalFlip()]))),
    "train is the eval pipeline": ("RandomHorizontalFlip", replace(train=lambda s, m, d, tail: T.Compose([T.Resize(s), T.CenterCrop(s), *tail]))),
}
for name, (match, value) in PIPELINE_MISTAKES.items():
    answers.mistake("7.1", name, value=value, match=match)
answers.mistake("7.1", "returns one pipeline", match=r"a tuple \(train, evaluate\)",
                value=lambda size, mean, std: photo_pipelines(size, mean, std)[0])


@answers.gaming("7.1", "eval returns tensors whose comparisons always say yes", match="Exercise 7.1")
def lying_pipelines(size, mean, std):
    train, _ = photo_pipelines(size, mean, std)
    return train, lambda image: torch.zeros(3, size, size).as_subclass(Liar)


@answers.gaming("7.1", "patches torch.equal and torch.allclose to always agree", match="Exercise 7.1")
def patches_torch(size, mean, std):
    torch.equal = lambda a, b: True
    torch.allclose = lambda *args, **kwargs: True
    train, _ = photo_pipelines(size, mean, std)
    return train, T.Compose([T.Resize((size, size)), T.ToTensor()])


# --- Exercise 7.2: AddGaussianNoise -------------------------------------------------------------

answers.correct("7.2", "the course's v2.Transform", value=AddGaussianNoise)


@answers.correct("7.2", "a plain class with torch.normal")
class NoiseWithNormal:
    def __init__(self, std, generator=None):
        self.std, self.generator = std, generator

    def __call__(self, x):
        return x + torch.normal(0.0, self.std, size=x.shape, generator=self.generator)


@answers.correct("7.2", "a plain class, noise built with randn then scaled in place on the new tensor")
class NoiseInPlaceOnCopy:
    def __init__(self, std, generator=None):
        self.std = std
        self.generator = generator

    def __call__(self, x):
        noise = torch.randn(x.shape, generator=self.generator, dtype=x.dtype)
        return noise.mul_(self.std).add_(x)


@answers.correct("7.2", "a v2.Transform that picks images with isinstance and wraps with tv_tensors.wrap")
class NoiseV2(v2.Transform):
    def __init__(self, std, generator=None):
        super().__init__()
        self.std, self.generator = std, generator

    def transform(self, inpt, params):
        if isinstance(inpt, (tv_tensors.BoundingBoxes, tv_tensors.Mask)) or not isinstance(inpt, torch.Tensor):
            return inpt
        out = inpt + torch.normal(0.0, self.std, size=inpt.shape, generator=self.generator)
        return tv_tensors.wrap(out, like=inpt) if isinstance(inpt, tv_tensors.Image) else out

    _transform = transform


def noise_class(make_noise):
    """A mistake: an AddGaussianNoise whose noise is `make_noise(self, x)`."""
    class Wrong:
        def __init__(self, std, generator=None):
            self.std, self.generator = std, generator

        def __call__(self, x):
            return x + make_noise(self, x)
    return Wrong


NOISE_MISTAKES = {
    "ignores the generator": ("global generator", lambda self, x: self.std * torch.randn_like(x)),
    "variance for std": ("not std\\*\\*2", lambda self, x: self.std ** 2 * torch.randn(x.shape, generator=self.generator)),
    "square root of std": ("sqrt\\(std\\)", lambda self, x: self.std ** 0.5 * torch.randn(x.shape, generator=self.generator)),
    "uniform noise": ("uniform, not Gaussian", lambda self, x: self.std * torch.rand(x.shape, generator=self.generator)),
    "one noise image for all channels": ("the same noise in every channel", lambda self, x: self.std * torch.randn(x.shape[1:], generator=self.generator)),
    "one number for the whole tensor": ("one number for the whole tensor", lambda self, x: self.std * torch.randn(1, generator=self.generator)),
    "no noise": ("the output equals the input", lambda self, x: 0.0),
    "noise of a fixed (3, H, W) shape": ("noise shaped like x", lambda self, x: self.std * torch.randn(3, *x.shape[-2:], generator=self.generator)),
}
for name, (match, make) in NOISE_MISTAKES.items():
    answers.mistake("7.2", name, value=noise_class(make), match=match)


@answers.mistake("7.2", "adds the noise in place", match="modified in place")
class InPlace:
    def __init__(self, std, generator=None):
        self.std, self.generator = std, generator

    def __call__(self, x):
        return x.add_(self.std * torch.randn(x.shape, generator=self.generator))


@answers.mistake("7.2", "re-seeds a generator on each call", match="fresh noise each call")
class ReseededEachCall:
    def __init__(self, std, generator=None):
        self.std = std
        self.seed = None if generator is None else generator.initial_seed()

    def __call__(self, x):
        generator = None if self.seed is None else torch.Generator().manual_seed(self.seed)
        return x + self.std * torch.randn(x.shape, generator=generator)


@answers.mistake("7.2", "v2: noises the boxes and the mask too", match="the boxes after")
class NoisesEverything(v2.Transform):
    def __init__(self, std, generator=None):
        super().__init__()
        self.std, self.generator = std, generator

    def transform(self, inpt, params):
        noise = self.std * torch.randn(inpt.shape, generator=self.generator)
        return tv_tensors.wrap(inpt + noise, like=inpt) if isinstance(inpt, tv_tensors.TVTensor) else inpt + noise

    _transform = transform


@answers.mistake("7.2", "v2: the noisy image comes back as a plain tensor", match="tv_tensors.wrap")
class ForgetsToWrap(NoiseV2):
    def transform(self, inpt, params):
        out = super().transform(inpt, params)
        return out.as_subclass(torch.Tensor) if isinstance(out, tv_tensors.Image) else out

    _transform = transform


@answers.mistake("7.2", "v2: overrides only the method this torchvision does not call", match="renamed _transform to transform")
class WrongMethodName(v2.Transform):
    def __init__(self, std, generator=None):
        super().__init__()
        self.std, self.generator = std, generator

    def not_called(self, inpt, params):
        return inpt + self.std * torch.randn(inpt.shape, generator=self.generator)


setattr(WrongMethodName, "_transform" if check.V2_METHOD == "transform" else "transform", WrongMethodName.not_called)


@answers.mistake("7.2", "v2: forgets super().__init__()", match=r"raised an exception.*call super\(\).__init__\(\) first")
class NoSuperInit(NoiseV2):
    def __init__(self, std, generator=None):
        self.std, self.generator = std, generator


@answers.mistake("7.2", "assumes three channels (breaks on a 1-channel image)", match="raised an exception")
class AssumesThreeChannels:
    def __init__(self, std, generator=None):
        self.std, self.generator = std, generator

    def __call__(self, x):
        noise = torch.randn(x.shape, generator=self.generator)
        return x + self.std * noise.view(3, -1).view_as(x)


@answers.gaming("7.2", "returns tensors whose comparisons always say yes", match="Exercise 7.2")
class LyingNoise(NoiseWithNormal):
    def __call__(self, x):
        return x.clone().as_subclass(Liar)


@answers.gaming("7.2", "patches torch.equal and torch.allclose, returns the input's copy", match="Exercise 7.2")
class PatchesTorch(NoiseWithNormal):
    def __call__(self, x):
        torch.equal = lambda a, b: True
        torch.allclose = lambda *args, **kwargs: True
        return x + 0.0


test_answer = answers.test()


def test_the_checks_let_the_stub_through():
    def stub(*args, **kwargs):
        raise NotImplementedError("Exercise 7.1 — train and eval pipelines is not done yet")

    class Stub:
        def __init__(self, std, generator=None):
            raise NotImplementedError("Exercise 7.2 — a transform of your own is not done yet")

    with pytest.raises(NotImplementedError):
        check.pipelines(stub)
    with pytest.raises(NotImplementedError):
        check.gaussian_noise(Stub)


# --- the course's transforms, pinned to explicit expected values ------------------------------------

def test_photo_pipelines_pinned():
    """A 4 × 2 photo and size 2: Resize(2) keeps it, CenterCrop(2) keeps columns 1 and 2, then (x - 0.5) / 0.25."""
    pixels = np.array([[[0, 0, 0], [51, 102, 153], [204, 255, 0], [0, 0, 0]],
                       [[0, 0, 0], [255, 255, 255], [0, 51, 102], [0, 0, 0]]], dtype=np.uint8)
    photo = Image.fromarray(pixels)
    train, evaluate = photo_pipelines(2, [0.5] * 3, [0.25] * 3)
    want = torch.tensor([[[0.2, 0.8], [1.0, 0.0]], [[0.4, 1.0], [1.0, 0.2]], [[0.6, 0.0], [1.0, 0.4]]])
    assert torch.allclose(evaluate(photo), (want - 0.5) / 0.25, atol=1e-6)
    flat = Image.new("RGB", (9, 7), (51, 102, 204))
    torch.manual_seed(0)
    out = train(flat)
    assert out.shape == (3, 2, 2) and torch.allclose(out, ((torch.tensor([0.2, 0.4, 0.8]) - 0.5) / 0.25)[:, None, None].expand(3, 2, 2))


def test_add_gaussian_noise_pinned():
    noise = AddGaussianNoise(0.1, generator=torch.Generator().manual_seed(0))
    assert repr(noise) == "AddGaussianNoise(std=0.1)"
    x = torch.ones(2, 3)
    want = 1 + 0.1 * torch.randn(2, 3, generator=torch.Generator().manual_seed(0))
    out = noise(x)
    assert type(out) is torch.Tensor and torch.equal(out, want) and torch.equal(x, torch.ones(2, 3))
    image = tv_tensors.Image(torch.zeros(1, 2, 2))
    boxes = tv_tensors.BoundingBoxes([[0, 0, 1, 1]], format="XYXY", canvas_size=(2, 2))
    out = AddGaussianNoise(0.5, generator=torch.Generator().manual_seed(1))({"image": image, "boxes": boxes, "label": 4})
    assert type(out["image"]) is tv_tensors.Image and out["boxes"] is boxes and out["label"] == 4
    assert torch.equal(out["image"].as_subclass(torch.Tensor), 0.5 * torch.randn(1, 2, 2, generator=torch.Generator().manual_seed(1)))
    with pytest.raises(TypeError, match="float image tensor"):
        noise(torch.zeros(3, 2, 2, dtype=torch.uint8))


def test_reference_transforms_pickle_and_compose():
    noise = pickle.loads(pickle.dumps(AddGaussianNoise(0.1, generator=torch.Generator().manual_seed(0))))
    assert repr(noise) == "AddGaussianNoise(std=0.1)"
    image = open_image(DATA / "images" / "flower.jpg")
    train, evaluate = photo_pipelines(32, [0.5] * 3, [0.25] * 3)
    assert T.Compose([evaluate, noise])(image).shape == (3, 32, 32)
    noisy, label = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True), noise])(image, 3)
    assert type(noisy) is tv_tensors.Image and label == 3
    assert pickle.loads(pickle.dumps(train)) is not None


# --- ptcourse.lessons.images.load_image -----------------------------------------------------------------

FALLBACK = DATA / "images" / "grace_hopper.jpg"


@pytest.fixture(scope="module")
def data_server():
    """A local HTTP server for data/: the online path, tested without the internet."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(DATA)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_load_image_downloads_the_same_image_as_the_bundled_copy(data_server, capsys):
    image, source = load_image(f"{data_server}/images/grace_hopper.jpg", FALLBACK)
    assert source.endswith("grace_hopper.jpg") and source.startswith("http") and capsys.readouterr().out == ""
    bundled = open_image(FALLBACK)
    assert (image.size, image.mode) == (bundled.size, bundled.mode) == ((512, 600), "RGB")
    assert np.array_equal(np.asarray(image), np.asarray(bundled))


@pytest.mark.parametrize("path, error", [("/images/missing.jpg", "HTTPError"), ("/reviews.tsv", "UnidentifiedImageError")])
def test_load_image_falls_back_on_a_bad_response(data_server, path, error, capsys):
    image, source = load_image(data_server + path, FALLBACK)
    assert source == "data/images/grace_hopper.jpg" and image.size == (512, 600)
    assert capsys.readouterr().out == f"could not download the image ({error}); using the bundled copy {source}\n"


def test_load_image_falls_back_quickly_when_the_server_is_silent(capsys):
    """A server that accepts the connection and never answers: the timeout, not a hang."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        start = time.perf_counter()
        image, source = load_image(f"http://127.0.0.1:{silent.getsockname()[1]}/x.jpg", FALLBACK, timeout=0.5)
        assert time.perf_counter() - start < 3
    assert source == "data/images/grace_hopper.jpg" and "ReadTimeout" in capsys.readouterr().out


@pytest.mark.parametrize("sent, ending, error", [(0, "stall", "ConnectionError"), (1000, "hang up", "ChunkedEncodingError")])
def test_load_image_falls_back_when_the_body_breaks_off(sent, ending, error, capsys):
    """The headers (and `sent` bytes of the image) arrive, then the server stalls or hangs up: the bundled copy."""
    body, finished = FALLBACK.read_bytes(), threading.Event()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()

        def answer():
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n"
                                   b"Content-Length: %d\r\n\r\n" % len(body) + body[:sent])
                if ending == "stall":
                    finished.wait(5)  # silent until the client has given up

        server = threading.Thread(target=answer, daemon=True)
        server.start()
        start = time.perf_counter()
        image, source = load_image(f"http://127.0.0.1:{listener.getsockname()[1]}/x.jpg", FALLBACK, timeout=0.3)
        assert time.perf_counter() - start < 0.9  # the read timeout (0.3 s) ended the wait
        finished.set()
        server.join()
    assert source == "data/images/grace_hopper.jpg" and image.size == (512, 600)
    assert capsys.readouterr().out == f"could not download the image ({error}); using the bundled copy {source}\n"


def test_load_image_falls_back_when_nothing_listens(capsys):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, not listening: connections are refused
        image, source = load_image(f"http://127.0.0.1:{port}/x.jpg", FALLBACK)
    assert source == "data/images/grace_hopper.jpg" and "ConnectionError" in capsys.readouterr().out
