"""Analysis of one checkpoint: load -> inference -> TIDE -> store -> heatmaps.

The results of an epoch are written in one transaction that first removes what
an earlier attempt wrote, so a retried or redelivered job never duplicates rows
and a worker that dies before the commit leaves nothing visible.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

from tidelens.jobs.context import engine_dataset, load_model_cached, pick_device
from tidelens.jobs.heatmaps import compute_for_checkpoint
from tidelens.jobs.runner import JobCancelled, JobContext, JobFailed
from tidelens.store import jobs as job_repo
from tidelens.store import results as result_repo
from tidelens.store import runs as run_repo
from tidelens.store.objects import make_object_store

log = logging.getLogger(__name__)


def _job_checkpoint(ctx: JobContext):
    with ctx.session() as s:
        job = job_repo.get(s, ctx.job_id)
        ckpt = run_repo.get_checkpoint(s, job.checkpoint_id)
        if ckpt is None:
            raise JobFailed("the checkpoint of this job was deleted")
        return ckpt.id, ckpt.run_id, ckpt.epoch, ckpt.object_key, dict(job.params)


def _checkpoint_name(ctx: JobContext, checkpoint_id: int, key: str) -> str:
    """The name the user gave the file (stored files are named by checksum)."""
    with ctx.session() as s:
        ckpt = run_repo.get_checkpoint(s, checkpoint_id)
        return (ckpt and ckpt.file_name) or Path(key).name


def evaluate_and_store(ctx: JobContext, checkpoint_id: int, dataset, detections):
    """TIDE on ``detections`` (database ids) and one transaction of results."""
    from tidelens.engine.tide import evaluate

    with ctx.stage("tide"):
        result = evaluate(dataset.to_coco(), detections)
    with ctx.stage("store"):
        with ctx.session() as s:
            ckpt = run_repo.get_checkpoint(s, checkpoint_id)
            result_repo.replace_analysis(s, ckpt, detections, result)
    return result


def analyze_job(ctx: JobContext) -> None:
    from tidelens.engine.checkpoints import CheckpointError

    objects = make_object_store(ctx.settings)
    checkpoint_id, run_id, epoch, key, params = _job_checkpoint(ctx)
    if not key:
        raise JobFailed(f"epoch {epoch} has no weights file to analyse")

    with ctx.stage("load"):
        with ctx.session() as s:
            run = run_repo.get(s, run_id)
            arch, classes = run.architecture, list(run.classes)
            dataset = engine_dataset(s, objects, run)
        device = pick_device(ctx.settings.device)
        try:
            model = load_model_cached(
                checkpoint_id, objects.local_path(key), arch, classes, device
            )
        except CheckpointError as exc:
            name = _checkpoint_name(ctx, checkpoint_id, key)
            raise JobFailed(
                f"epoch {epoch}: " + str(exc).replace(Path(key).name, name)
            ) from exc

    from tidelens.engine.inference import InferenceCancelled, run_inference

    total = len(dataset.images)
    with ctx.stage("inference", total=total):
        try:
            detections = run_inference(
                model,
                dataset,
                batch_size=ctx.settings.inference_batch_size,
                device=device,
                classes=classes,
                progress=lambda done, n: ctx.progress("inference", done, n),
                should_stop=ctx.should_stop,
            )
        except InferenceCancelled:
            raise JobCancelled() from None
        ctx.progress("inference", total, total, force=True)
    log.info(
        "analysis.inference run=%s epoch=%s detections=%s",
        run_id,
        epoch,
        len(detections),
    )

    evaluate_and_store(ctx, checkpoint_id, dataset, detections)

    per_type = int(params.get("heatmaps_per_type", ctx.settings.heatmaps_per_type))
    if per_type > 0:
        precompute_heatmaps(ctx, checkpoint_id, arch, model, per_type)


def precompute_heatmaps(ctx: JobContext, checkpoint_id, arch_name, model, per_type):
    """Maps at every layer of the ladder for the top errors of each type; a
    failing map is recorded on its row and does not fail the analysis."""
    from tidelens.engine.models import get_architecture

    layers = get_architecture(arch_name).layers
    method = ctx.settings.heatmap_method
    with ctx.session() as s:
        targets = [
            (e.image_id, f"det:{e.detection_id}" if e.detection_id else f"gt:{e.gt_id}")
            for e in result_repo.top_errors(s, checkpoint_id, per_type)
            if e.detection_id or e.gt_id
        ]
    targets = list(dict.fromkeys(targets))
    with ctx.stage("heatmaps", total=len(targets)):
        for i, (image_id, target) in enumerate(targets):
            try:
                compute_for_checkpoint(
                    ctx.settings,
                    checkpoint_id,
                    image_id,
                    target,
                    layers,
                    method,
                    model=model,
                )
            except Exception as exc:  # recorded on the rows; keep going
                log.warning(
                    "analysis.heatmap_failed ckpt=%s target=%s error=%s",
                    checkpoint_id,
                    target,
                    exc,
                )
            ctx.progress("heatmaps", i + 1, len(targets))


def import_job(ctx: JobContext) -> None:
    """Params: object_key of an uploaded COCO results file for the job's epoch."""
    objects = make_object_store(ctx.settings)
    checkpoint_id, run_id, epoch, _, params = _job_checkpoint(ctx)
    with ctx.stage("load"):
        raw = objects.get_bytes(params["object_key"])
        with ctx.session() as s:
            run = run_repo.get(s, run_id)
            dataset = engine_dataset(s, objects, run)
            from tidelens.store import datasets as dataset_repo

            images = dataset_repo.all_images(s, run.dataset_id)
        detections = parse_results(raw, images, {c.id for c in dataset.categories})
    evaluate_and_store(ctx, checkpoint_id, dataset, detections)


def _is_number(value) -> bool:
    """A finite int or float; JSON NaN/Infinity and booleans are not numbers."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def parse_results(raw: bytes, images, category_ids: set[int]) -> list[dict]:
    """COCO results JSON -> detections with database image ids.

    ``image_id`` is matched against the ids of the dataset's annotation file
    (``images.source_id``), or against a file name when it is a string.
    """
    try:
        entries = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise JobFailed(f"results file is not JSON: {exc}") from None
    except RecursionError:
        raise JobFailed("results file is not JSON: nested too deeply") from None
    if isinstance(entries, dict) and "annotations" in entries:
        entries = entries["annotations"]
    if not isinstance(entries, list):
        raise JobFailed("results file must be a JSON list of detections")
    by_source = {im.source_id: im.id for im in images}
    by_name = {im.file_name: im.id for im in images}
    out = []
    for i, entry in enumerate(entries):
        where = f"entry {i}"
        if not isinstance(entry, dict):
            raise JobFailed(f"{where}: not an object")
        missing = [
            k for k in ("image_id", "category_id", "bbox", "score") if k not in entry
        ]
        if missing:
            raise JobFailed(f"{where}: missing {', '.join(missing)}")
        ref = entry["image_id"]
        image_id = by_name.get(ref) if isinstance(ref, str) else by_source.get(ref)
        if image_id is None:
            raise JobFailed(f"{where}: image_id {ref!r} is not in the run's dataset")
        if (
            isinstance(entry["category_id"], bool)
            or entry["category_id"] not in category_ids
        ):
            raise JobFailed(
                f"{where}: category_id {entry['category_id']!r} is not one of the "
                f"run's classes {sorted(category_ids)}"
            )
        bbox = entry["bbox"]
        if (
            not isinstance(bbox, list)
            or len(bbox) != 4
            or not all(_is_number(v) for v in bbox)
            or bbox[2] < 0
            or bbox[3] < 0
        ):
            raise JobFailed(
                f"{where}: bbox must be [x, y, w, h], finite numbers with w, h >= 0;"
                f" got {bbox!r}"
            )
        if not _is_number(entry["score"]):
            raise JobFailed(f"{where}: score must be a finite number")
        out.append(
            {
                "image_id": image_id,
                "category_id": int(entry["category_id"]),
                "bbox": [float(v) for v in bbox],
                "score": float(entry["score"]),
            }
        )
    out.sort(key=lambda d: (d["image_id"], -d["score"]))
    return out
