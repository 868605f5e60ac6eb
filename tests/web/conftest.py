"""Fixtures for the browser end-to-end tests: a tiny trained detector, a small
BCCD dataset zip, a real `tidelens serve` on a free port and headless Chromium."""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "web"
ARCHITECTURE = "fasterrcnn_mobilenet_v3_large_320_fpn"
# A handful of validation images keeps training, analysis and heatmaps to seconds
# on a CPU while still giving several error types per epoch.
IMAGE_COUNT = 6
EPOCHS = 2


def val_ids(bccd_root: Path, count: int) -> list[str]:
    lines = (bccd_root / "ImageSets" / "Main" / "val.txt").read_text().split()
    return lines[:count]


@pytest.fixture(scope="session")
def architecture() -> str:
    return ARCHITECTURE


@pytest.fixture(scope="session")
def dataset_zip(bccd_root, tmp_path_factory) -> Path:
    """A Pascal VOC zip of the first BCCD validation images."""
    root = bccd_root
    path = tmp_path_factory.mktemp("dataset") / "bccd-mini.zip"
    ids = val_ids(bccd_root, IMAGE_COUNT)
    with zipfile.ZipFile(path, "w") as zf:
        for name in ids:
            zf.write(root / "Annotations" / f"{name}.xml", f"Annotations/{name}.xml")
            zf.write(root / "JPEGImages" / f"{name}.jpg", f"JPEGImages/{name}.jpg")
        zf.writestr("ImageSets/Main/val.txt", "\n".join(ids) + "\n")
    return path


@pytest.fixture(scope="session")
def tiny_checkpoints(bccd_root, tmp_path_factory) -> list[Path]:
    """Checkpoints of a detector trained from scratch for EPOCHS epochs on the same
    few validation images, so that the analysis finds detections and errors."""
    from tidelens.engine.datasets import load_dataset
    from tidelens.engine.training import train

    dataset = load_dataset(bccd_root, split="val")
    keep = {f"JPEGImages/{i}.jpg" for i in val_ids(bccd_root, IMAGE_COUNT)}
    images = [im for im in dataset.images if im.file_name in keep]
    ids = {im.id for im in images}
    subset = dataclasses.replace(
        dataset,
        images=images,
        annotations=[a for a in dataset.annotations if a.image_id in ids],
    )
    out = tmp_path_factory.mktemp("checkpoints")
    return train(
        ARCHITECTURE,
        subset,
        out,
        epochs=EPOCHS,
        image_size=256,
        batch_size=3,
        lr=1e-3,
        seed=0,
        warmup_steps=2,
    )


@pytest.fixture()
def server(tmp_path, free_port):
    """`tidelens serve` on a fresh data folder and a free loopback port.

    Yields (base_url, api_token); stops the server (and its worker) afterwards."""
    if not (REPO / "backend" / "tidelens" / "web" / "index.html").is_file():
        pytest.fail("the web app is not built: run scripts/setup.sh first")
    port = free_port
    token = secrets.token_urlsafe(24)
    # No precomputed heatmaps: analysis stays quick and the image view exercises
    # the on-demand path (pending maps that fill in).
    env = {
        **os.environ,
        "TIDELENS_API_TOKEN": token,
        "TIDELENS_HEATMAPS_PER_TYPE": "0",
    }
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tidelens.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "data"),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{base}/api/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(
                "tidelens serve did not start:\n"
                + (tmp_path / "serve.log").read_text()[-3000:]
            )
        time.sleep(0.5)
    yield base, token
    os.killpg(proc.pid, 15)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait()
    log.close()
    keep = ARTIFACTS / "serve.log"
    keep.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(tmp_path / "serve.log", keep)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=executable,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        yield b
        b.close()


@pytest.fixture()
def shots():
    """Saves full-page screenshots under test-artifacts/web/ in step order."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def shot(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shot
