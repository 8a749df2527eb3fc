"""Open an image from a URL, falling back to the bundled copy in `data/` when offline (lesson 07)."""
from __future__ import annotations

import io
from pathlib import Path

import requests
from PIL import Image

from ptcourse.lessons.paths import DATA

# The same bytes as data/images/grace_hopper.jpg (matplotlib's sample data, public domain).
GRACE_HOPPER_URL = (
    "https://raw.githubusercontent.com/matplotlib/matplotlib/main/"
    "lib/matplotlib/mpl-data/sample_data/grace_hopper.jpg"
)


def open_image(path: str | Path) -> Image.Image:
    """A PIL image read completely from `path`, with its file closed again."""
    with Image.open(path) as image:
        image.load()
        return image


def load_image(url: str, fallback: str | Path, timeout: float = 3.0) -> tuple[Image.Image, str]:
    """`(image, where it came from)`: the image at `url`, or the local copy `fallback` if that fails.

    `timeout` bounds the connection and each read (seconds), so an offline machine falls back quickly.
    Any failure (no network, an HTTP error status, bytes that are not an image) prints one line saying
    so, and the bundled copy is used; where it came from is then the copy's path from the course's
    root (`data/images/...`), the same in a clone and in an installed package.
    """
    try:
        # Read the whole body here: a server that stalls or hangs up mid-body then raises a requests
        # exception (reading `response.raw` instead would let urllib3's own exceptions escape).
        response = requests.get(url, timeout=timeout)
        response.raise_for_status()              # a 404 page is not an image
        with Image.open(io.BytesIO(response.content)) as image:
            image.load()
            return image, url
    except (requests.RequestException, OSError) as error:
        local = Path(fallback).resolve()
        where = local.relative_to(DATA.parent).as_posix() if local.is_relative_to(DATA) else local.name
        print(f"could not download the image ({type(error).__name__}); using the bundled copy {where}")
        return open_image(local), where
