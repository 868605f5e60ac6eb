"""Engine fixtures: a synthetic VOC dataset and quickly trained tiny checkpoints.

Random weights give vanishing gradients, so the heatmap and inference tests use
detectors trained for a few dozen steps on easy synthetic images (bright squares and
discs on a dark textured background).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("TIDELENS_SHARED_DATA", REPO.parent / "shared" / "data"))
CLASSES = ("disc", "square")
SIZE = (160, 120)  # width, height: not a multiple of 32, so padding is exercised


def write_synthetic_voc(root: Path, n_train: int = 16, n_val: int = 6, seed: int = 0):
    """A VOC folder with 1-3 objects per image; returns the root."""
    rng = np.random.default_rng(seed)
    for sub in ("Annotations", "JPEGImages", "ImageSets/Main"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    stems = {"train": [], "val": []}
    for i in range(n_train + n_val):
        split = "train" if i < n_train else "val"
        stem = f"img_{i:03d}"
        stems[split].append(stem)
        noise = rng.integers(0, 40, size=(SIZE[1], SIZE[0], 3), dtype=np.uint8)
        image = Image.fromarray(noise)
        draw = ImageDraw.Draw(image)
        objects = []
        for _ in range(rng.integers(1, 4)):
            name = CLASSES[int(rng.integers(0, 2))]
            side = int(rng.integers(24, 48))
            x = int(rng.integers(0, SIZE[0] - side))
            y = int(rng.integers(0, SIZE[1] - side))
            box = (x, y, x + side, y + side)
            if name == "disc":
                draw.ellipse(box, fill=(230, 60, 60))
            else:
                draw.rectangle(box, fill=(60, 90, 230))
            objects.append((name, box))
        image.save(root / "JPEGImages" / f"{stem}.jpg", quality=95)
        xml_objects = "".join(
            f"<object><name>{n}</name><difficult>0</difficult><bndbox>"
            f"<xmin>{b[0]}</xmin><ymin>{b[1]}</ymin><xmax>{b[2]}</xmax>"
            f"<ymax>{b[3]}</ymax></bndbox></object>"
            for n, b in objects
        )
        (root / "Annotations" / f"{stem}.xml").write_text(
            f"<annotation><filename>{stem}.jpg</filename><size><width>{SIZE[0]}"
            f"</width><height>{SIZE[1]}</height><depth>3</depth></size>"
            f"{xml_objects}</annotation>"
        )
    for split, names in stems.items():
        (root / "ImageSets" / "Main" / f"{split}.txt").write_text("\n".join(names))
    return root


@pytest.fixture(scope="session")
def synthetic_voc(tmp_path_factory) -> Path:
    return write_synthetic_voc(tmp_path_factory.mktemp("synthetic") / "VOC")


@pytest.fixture(scope="session")
def synthetic_val(synthetic_voc):
    from tidelens.engine.datasets import load_dataset

    return load_dataset(synthetic_voc, split="val")


def _train_tiny(arch: str, voc: Path, out: Path, epochs: int) -> list[Path]:
    from tidelens.engine.datasets import load_dataset
    from tidelens.engine.training import train

    threads = torch.get_num_threads()
    try:
        return train(
            arch,
            load_dataset(voc, split="train"),
            out,
            epochs=epochs,
            image_size=128,
            batch_size=4,
            lr=2e-3,
            seed=0,
            warmup_steps=4,
            num_threads=1,
        )
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def frcnn_checkpoints(synthetic_voc, tmp_path_factory) -> list[Path]:
    """Two epochs of Faster R-CNN MobileNetV3-320 FPN on the synthetic train split."""
    out = tmp_path_factory.mktemp("frcnn")
    return _train_tiny("fasterrcnn_mobilenet_v3_large_320_fpn", synthetic_voc, out, 2)


@pytest.fixture(scope="session")
def ssdlite_checkpoint(synthetic_voc, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ssdlite")
    return _train_tiny("ssdlite320_mobilenet_v3_large", synthetic_voc, out, 1)[-1]


@pytest.fixture(scope="session")
def coco128_root() -> Path:
    root = SHARED / "coco128"
    if not (root / "annotations").is_dir():
        pytest.skip(f"coco128 not found under {SHARED} (set TIDELENS_SHARED_DATA)")
    return root
