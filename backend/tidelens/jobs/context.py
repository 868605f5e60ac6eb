"""Shared worker-side helpers: the engine Dataset of a run, devices, models."""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path

from tidelens.store import datasets as dataset_repo
from tidelens.store.objects import ObjectStore

log = logging.getLogger(__name__)


def pick_device(name: str):
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def engine_dataset(session, objects: ObjectStore, run, progress=None):
    """The run's dataset as the engine's Dataset, with database ids.

    Image ids are ``images.id`` and annotation ids ``ground_truth.id``, so TIDE's
    rows point straight at database rows. Categories follow ``run.classes`` so
    model label ``i`` is ``categories[i - 1]``. Images are made local first
    (a no-op for the local store; a cached download for S3).
    """
    from tidelens.engine.datasets import Category, Dataset, GroundTruthBox, ImageRecord

    dataset = dataset_repo.get(session, run.dataset_id)
    by_name = {c["name"]: int(c["id"]) for c in dataset.categories}
    categories = [Category(by_name[name], name) for name in run.classes]
    images = dataset_repo.all_images(session, dataset.id)
    root: Path | None = None
    for i, image in enumerate(images):
        path = objects.local_path(image.object_key)
        if root is None:
            root = Path(str(path)[: -len(image.file_name)])
        if progress:
            progress(i + 1, len(images))
    wanted = set(by_name[name] for name in run.classes)
    annotations = [
        GroundTruthBox(g.id, g.image_id, g.category_id, tuple(g.bbox), bool(g.iscrowd))
        for g in dataset_repo.all_ground_truth(session, dataset.id)
        if g.category_id in wanted
    ]
    return Dataset(
        root=root or Path("."),
        categories=categories,
        images=[ImageRecord(im.id, im.file_name, im.width, im.height) for im in images],
        annotations=annotations,
    )


_MODELS: OrderedDict = OrderedDict()
_MODEL_CACHE_SIZE = 2


def load_model_cached(key, path: Path, architecture: str, classes: list[str], device):
    """Keep the last few models of this worker process (heatmap requests tend to
    come in bursts for one checkpoint)."""
    from tidelens.engine.checkpoints import load_model

    cache_key = (key, str(device))
    if cache_key in _MODELS:
        _MODELS.move_to_end(cache_key)
        return _MODELS[cache_key]
    model = load_model(path, architecture, classes, device)
    _MODELS[cache_key] = model
    while len(_MODELS) > _MODEL_CACHE_SIZE:
        _MODELS.popitem(last=False)
    return model
