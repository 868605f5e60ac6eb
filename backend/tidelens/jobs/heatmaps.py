"""Heatmap jobs: one image, one target, several layers in one pass per epoch.

Each map is stored as an 8-bit grayscale PNG at feature resolution holding
``(raw - min) / (max - min)``; the raw ``min``/``max`` go into the row so a client
can put several maps on one shared scale.
"""

from __future__ import annotations

import io
import logging

import numpy as np
from PIL import Image as PILImage

from tidelens.jobs.context import load_model_cached, pick_device
from tidelens.jobs.runner import JobContext, JobFailed
from tidelens.store import datasets as dataset_repo
from tidelens.store import heatmaps as heatmap_repo
from tidelens.store import runs as run_repo
from tidelens.store.models import Detection
from tidelens.store.objects import make_object_store

log = logging.getLogger(__name__)


def encode_png(values: np.ndarray) -> tuple[bytes, float, float]:
    """(h, w) float map -> (PNG bytes of the normalised map, raw min, raw max)."""
    values = np.nan_to_num(np.asarray(values, dtype=np.float32))
    lo, hi = float(values.min()), float(values.max())
    scaled = np.zeros_like(values) if hi <= lo else (values - lo) / (hi - lo)
    img = PILImage.fromarray(np.round(scaled * 255).astype(np.uint8), mode="L")
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue(), lo, hi


def parse_target(session, target: str):
    """``det:<detection id>`` or ``gt:<ground-truth id>`` -> (kind, bbox, category)."""
    from tidelens.store.models import GroundTruth

    kind, _, raw = target.partition(":")
    if not raw.isdigit() or kind not in ("det", "gt"):
        raise JobFailed(f"target {target!r} is not det:<id> or gt:<id>")
    row = session.get(Detection if kind == "det" else GroundTruth, int(raw))
    if row is None:
        raise JobFailed(f"target {target} no longer exists")
    return (
        "prediction" if kind == "det" else "ground_truth",
        tuple(float(v) for v in row.bbox),
        int(row.category_id),
    )


def compute_for_checkpoint(
    settings, checkpoint_id: int, image_id: int, target: str, layers, method, model=None
) -> int:
    """Compute and store the maps of one checkpoint; return how many were stored.

    Failures are stored on the rows (status ``failed`` with the message) and
    re-raised.
    """
    from tidelens.engine.heatmaps import Target, compute_heatmaps
    from tidelens.engine.models import get_architecture

    objects = make_object_store(settings)
    with JobContext(settings, 0).session() as s:
        ckpt = run_repo.get_checkpoint(s, checkpoint_id)
        run = run_repo.get(s, ckpt.run_id)
        image = dataset_repo.get_image(s, image_id)
        kind, bbox, category_id = parse_target(s, target)
        if not ckpt.object_key:
            raise JobFailed(
                f"epoch {ckpt.epoch} was imported as detections; heatmaps need weights"
            )
        classes, arch_name = list(run.classes), run.architecture
        dataset = dataset_repo.get(s, run.dataset_id)
        names = dataset_repo.category_names(dataset)
        ckpt_key, image_key = ckpt.object_key, image.object_key
    class_index = {
        cid: classes.index(name) + 1 for cid, name in names.items() if name in classes
    }
    try:
        device = pick_device(settings.device)
        if model is None:
            model = load_model_cached(
                checkpoint_id, objects.local_path(ckpt_key), arch_name, classes, device
            )
        with PILImage.open(objects.local_path(image_key)) as img:
            rgb = np.asarray(img.convert("RGB"))
        raw_maps = compute_heatmaps(
            model,
            get_architecture(arch_name),
            rgb,
            Target(bbox=bbox, category_id=category_id, kind=kind),
            list(layers),
            method,
            class_index,
        )
        stored = 0
        for raw in raw_maps:
            png, lo, hi = encode_png(raw.values)
            key = heatmap_repo.object_key(
                checkpoint_id, image_id, target, raw.layer, method
            )
            objects.put_bytes(key, png, "image/png")
            with JobContext(settings, 0).session() as s:
                heatmap_repo.store_result(
                    s,
                    checkpoint_id,
                    image_id,
                    target,
                    raw.layer,
                    method,
                    status="ready",
                    object_key=key,
                    min=lo,
                    max=hi,
                    width=int(raw.values.shape[1]),
                    height=int(raw.values.shape[0]),
                    error=None,
                )
            stored += 1
        return stored
    except Exception as exc:
        message = str(exc) or type(exc).__name__
        with JobContext(settings, 0).session() as s:
            for layer in layers:
                heatmap_repo.store_result(
                    s,
                    checkpoint_id,
                    image_id,
                    target,
                    layer,
                    method,
                    status="failed",
                    error=message[:2000],
                )
        raise


def heatmaps_job(ctx: JobContext) -> None:
    """Params: checkpoint_id, image_id, target, layers, method."""
    with ctx.session() as s:
        from tidelens.store import jobs as job_repo

        params = dict(job_repo.get(s, ctx.job_id).params)
    with ctx.stage("heatmaps", total=len(params["layers"])):
        stored = compute_for_checkpoint(
            ctx.settings,
            params["checkpoint_id"],
            params["image_id"],
            params["target"],
            params["layers"],
            params["method"],
        )
        ctx.progress("heatmaps", stored, len(params["layers"]), force=True)
