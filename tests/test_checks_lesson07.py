"""The lesson 07 checks pass on correct transforms (the course's and others) and reject the classic mistakes;
the image loader falls back to the bundled copy, quickly and with the same image, when the download fails."""
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
from torchvision import transforms as T
from torchvision.transforms import v2

from ptcourse.checks import lesson07 as check
from ptcourse.lessons.images import load_image, open_image
from ptcourse.lessons.paths import DATA
from ptcourse.lessons.transforms import AddGaussianNoise, photo_pipelines


# --- Exercise 7.1: train and eval pipelines -----------------------------------------------------

def pipelines_v2(size, mean, std):
    """Correct, with torchvision.transforms.v2."""
    tail = [v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)]
    train = v2.Compose([v2.RandomResizedCrop(size, scale=(0.3, 1.0)), v2.RandomHorizontalFlip(), *tail])
    return train, v2.Compose([v2.Resize(size), v2.CenterCrop(size), *tail])


def pipelines_flip_first(size, mean, std):
    """Correct too: flipping before cropping gives the same distribution."""
    tail = [T.ToTensor(), T.Normalize(mean, std)]
    train = T.Compose([T.RandomHorizontalFlip(), T.RandomResizedCrop(size, scale=(0.3, 1.0)), *tail])
    return train, T.Compose([T.Resize(size), T.CenterCrop(size), *tail])


def pipelines_tensor_first(size, mean, std):
    """Correct too: ToTensor first, then every step on the float tensor (resizing it rounds differently, < 1/255)."""
    train = T.Compose([T.ToTensor(), T.RandomResizedCrop(size, scale=(0.3, 1.0)), T.RandomHorizontalFlip(), T.Normalize(mean, std)])
    return train, T.Compose([T.ToTensor(), T.Resize(size), T.CenterCrop(size), T.Normalize(mean, std)])


def pipelines_v2_docs_order(size, mean, std):
    """Correct too, in the order of torchvision's v2 docs: ToImage first, resize the uint8 tensor, ToDtype late."""
    finish = [v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)]
    train = v2.Compose([v2.ToImage(), v2.RandomResizedCrop(size, scale=(0.3, 1.0)), v2.RandomHorizontalFlip(), *finish])
    return train, v2.Compose([v2.ToImage(), v2.Resize(size), v2.CenterCrop(size), *finish])


def replace(train=None, evaluate=None):
    """A mistake: the reference pipelines with one of them swapped for a wrong one."""
    def make(size, mean, std):
        good_train, good_eval = photo_pipelines(size, mean, std)
        tail = [T.ToTensor(), T.Normalize(mean, std)]
        return (train(size, mean, std, tail) if train else good_train,
                evaluate(size, mean, std, tail) if evaluate else good_eval)
    return make


MISTAKES = {
    "eval squashes with Resize((size, size))": replace(evaluate=lambda s, m, d, tail: T.Compose([T.Resize((s, s)), *tail])),
    "eval crops at random": replace(evaluate=lambda s, m, d, tail: T.Compose([T.Resize(s), T.RandomCrop(s), *tail])),
    "eval flips at random": replace(evaluate=lambda s, m, d, tail: T.Compose([T.Resize(s), T.CenterCrop(s), T.RandomHorizontalFlip(), *tail])),
    "eval not normalised": replace(evaluate=lambda s, m, d, tail: T.Compose([T.Resize(s), T.CenterCrop(s), T.ToTensor()])),
    "eval mean and std swapped": replace(evaluate=lambda s, m, d, tail: T.Compose([T.Resize(s), T.CenterCrop(s), T.ToTensor(), T.Normalize(d, m)])),
    "eval with ImageNet statistics": replace(evaluate=lambda s, m, d, tail: T.Compose(
        [T.Resize(s), T.CenterCrop(s), T.ToTensor(), T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])),
    "train not normalised": replace(train=lambda s, m, d, tail: T.Compose([T.RandomResizedCrop(s, scale=(0.3, 1.0)), T.RandomHorizontalFlip(), T.ToTensor()])),
    "train with colour jitter": replace(train=lambda s, m, d, tail: T.Compose(
        [T.RandomResizedCrop(s, scale=(0.3, 1.0)), T.RandomHorizontalFlip(), T.ColorJitter(0.4, 0.4, 0.4), *tail])),
    "train without flips": replace(train=lambda s, m, d, tail: T.Compose([T.RandomResizedCrop(s, scale=(0.3, 1.0)), *tail])),
    "train with vertical flips": replace(train=lambda s, m, d, tail: T.Compose(
        [T.RandomResizedCrop(s, scale=(0.3, 1.0)), T.RandomHorizontalFlip(), T.RandomVerticalFlip(), *tail])),
    "train without a random crop": replace(train=lambda s, m, d, tail: T.Compose([T.Resize((s, s)), T.RandomHorizontalFlip(), *tail])),
    "train with a fixed-size random crop": replace(train=lambda s, m, d, tail: T.Compose([T.Resize(s), T.RandomCrop(s), T.RandomHorizontalFlip(), *tail])),
    "train crop with scale=(0.5, 1.0)": replace(train=lambda s, m, d, tail: T.Compose(
        [T.RandomResizedCrop(s, scale=(0.5, 1.0)), T.RandomHorizontalFlip(), *tail])),
    "train crop with the default scale (8-100 %)": replace(train=lambda s, m, d, tail: T.Compose([T.RandomResizedCrop(s), T.RandomHorizontalFlip(), *tail])),
    "train returns PIL images": replace(train=lambda s, m, d, tail: T.Compose([T.RandomResizedCrop(s, scale=(0.3, 1.0)), T.RandomHorizontalFlip()])),
    "train is the eval pipeline": replace(train=lambda s, m, d, tail: T.Compose([T.Resize(s), T.CenterCrop(s), *tail])),
}


@pytest.mark.parametrize("solution", [photo_pipelines, pipelines_v2, pipelines_flip_first, pipelines_tensor_first,
                                      pipelines_v2_docs_order], ids=lambda f: f.__name__)
def test_pipelines_accept_correct_solutions(solution, capsys):
    check.pipelines(solution)
    assert "Exercise 7.1 passed" in capsys.readouterr().out


@pytest.mark.parametrize("name", list(MISTAKES))
def test_pipelines_reject_mistake(name):
    with pytest.raises(AssertionError):
        check.pipelines(MISTAKES[name])


def test_pipelines_let_the_stub_error_through():
    def stub(size, mean, std):
        raise NotImplementedError("Exercise 7.1 — train and eval pipelines is not done yet")

    with pytest.raises(NotImplementedError):
        check.pipelines(stub)


# --- Exercise 7.2: AddGaussianNoise -------------------------------------------------------------

class NoiseWithNormal:
    """Correct, written differently: torch.normal with the generator."""

    def __init__(self, std, generator=None):
        self.std, self.generator = std, generator

    def __call__(self, x):
        return x + torch.normal(0.0, self.std, size=x.shape, generator=self.generator)


def noise_class(make_noise):
    """A mistake: an AddGaussianNoise whose noise is `make_noise(self, x)`."""
    class Wrong:
        def __init__(self, std, generator=None):
            self.std, self.generator = std, generator

        def __call__(self, x):
            return x + make_noise(self, x)
    return Wrong


class InPlace:
    def __init__(self, std, generator=None):
        self.std, self.generator = std, generator

    def __call__(self, x):
        return x.add_(self.std * torch.randn(x.shape, generator=self.generator))


class ReseededEachCall:
    def __init__(self, std, generator=None):
        self.std = std
        self.seed = None if generator is None else generator.initial_seed()

    def __call__(self, x):
        generator = None if self.seed is None else torch.Generator().manual_seed(self.seed)
        return x + self.std * torch.randn(x.shape, generator=generator)


NOISE_MISTAKES = {
    "ignores the generator": noise_class(lambda self, x: self.std * torch.randn_like(x)),
    "variance for std": noise_class(lambda self, x: self.std ** 2 * torch.randn(x.shape, generator=self.generator)),
    "square root of std": noise_class(lambda self, x: self.std ** 0.5 * torch.randn(x.shape, generator=self.generator)),
    "uniform noise": noise_class(lambda self, x: self.std * torch.rand(x.shape, generator=self.generator)),
    "one noise image for all channels": noise_class(lambda self, x: self.std * torch.randn(x.shape[1:], generator=self.generator)),
    "one number for the whole tensor": noise_class(lambda self, x: self.std * torch.randn(1, generator=self.generator)),
    "no noise": noise_class(lambda self, x: 0.0),
    "in place": InPlace,
    "re-seeded on each call": ReseededEachCall,
}


@pytest.mark.parametrize("solution", [AddGaussianNoise, NoiseWithNormal], ids=lambda c: c.__name__)
def test_gaussian_noise_accepts_correct_solutions(solution, capsys):
    check.gaussian_noise(solution)
    assert "Exercise 7.2 passed" in capsys.readouterr().out


@pytest.mark.parametrize("name", list(NOISE_MISTAKES))
def test_gaussian_noise_rejects_mistake(name):
    with pytest.raises(AssertionError):
        check.gaussian_noise(NOISE_MISTAKES[name])


def test_reference_transforms_pickle_and_compose():
    noise = pickle.loads(pickle.dumps(AddGaussianNoise(0.1, generator=torch.Generator().manual_seed(0))))
    assert repr(noise) == "AddGaussianNoise(std=0.1)"
    image = open_image(DATA / "images" / "flower.jpg")
    train, evaluate = photo_pipelines(32, [0.5] * 3, [0.25] * 3)
    assert T.Compose([evaluate, noise])(image).shape == (3, 32, 32)
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
