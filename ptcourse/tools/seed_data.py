"""One-off: copy the real data sets that ship inside scikit-learn and matplotlib into data/.

The course never imports scikit-learn at run time; this script documents where each file came from
(see data/README.md) and can rebuild them, from a clone:
`pip install scikit-learn==1.9.1 matplotlib && python -m ptcourse.tools.seed_data`.
"""
import csv
import shutil
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image
from sklearn import datasets

from ptcourse.tools.repo import REPO

DATA = REPO / "data"  # the clone's data/, which the wheel ships as ptcourse/data


def write_table(name, frame_x, target, feature_names, target_column):
    with open(DATA / name, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([n.replace(" ", "_") for n in feature_names] + [target_column])
        for row, label in zip(frame_x, target):
            writer.writerow([f"{v:g}" for v in row] + [int(label)])


def main():
    DATA.mkdir(exist_ok=True)
    cancer = datasets.load_breast_cancer()
    # scikit-learn codes 0 = malignant, 1 = benign; the course predicts "malignant" as the positive class.
    write_table("breast_cancer.csv", cancer.data, 1 - cancer.target, cancer.feature_names, "malignant")
    wine = datasets.load_wine()
    write_table("wine.csv", wine.data, wine.target, wine.feature_names, "cultivar")
    iris = datasets.load_iris()
    write_table("iris.csv", iris.data, iris.target, ["sepal_length", "sepal_width", "petal_length", "petal_width"], "species")

    digits = datasets.load_digits()
    folder = DATA / "digits"
    shutil.rmtree(folder, ignore_errors=True)
    counts = {}
    for image, label in zip(digits.images, digits.target):
        index = counts.get(label, 0)
        counts[label] = index + 1
        (folder / str(label)).mkdir(parents=True, exist_ok=True)
        pixels = np.round(image * 255 / 16).astype(np.uint8)  # 0..16 ink levels -> 0..255 grey
        Image.fromarray(pixels, mode="L").save(folder / str(label) / f"{index:03d}.png", optimize=True)

    images = DATA / "images"
    images.mkdir(exist_ok=True)
    sk_images = Path(datasets.__file__).parent / "images"
    for name in ("china.jpg", "flower.jpg"):
        shutil.copy(sk_images / name, images / name)
    shutil.copy(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg", images / "grace_hopper.jpg")


if __name__ == "__main__":
    main()
