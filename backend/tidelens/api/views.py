"""Rows -> JSON shapes of the HTTP API (see docs/ARCHITECTURE.md)."""

from __future__ import annotations

from datetime import datetime

from tidelens.store.models import (
    Checkpoint,
    Dataset,
    Detection,
    Error,
    GroundTruth,
    Image,
    Job,
    Run,
    WatchedFolder,
)
from tidelens.store.objects import ObjectStore

DROPPED_SHOWN = 200


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def dataset_view(d: Dataset) -> dict:
    return {
        "id": d.id,
        "name": d.name,
        "source": d.source,
        "format": d.format,
        "split": d.split,
        "categories": d.categories,
        "image_count": d.image_count,
        "dropped": (d.dropped or [])[:DROPPED_SHOWN],
        "dropped_count": len(d.dropped or []),
        "created_at": iso(d.created_at),
    }


def image_view(img: Image, objects: ObjectStore) -> dict:
    return {
        "id": img.id,
        "file_name": img.file_name,
        "width": img.width,
        "height": img.height,
        "url": objects.signed_url(img.object_key),
        "thumbnail_url": objects.signed_url(img.thumbnail_key or img.object_key),
    }


def gt_view(g: GroundTruth, names: dict[int, str]) -> dict:
    return {
        "id": g.id,
        "bbox": g.bbox,
        "category_id": g.category_id,
        "class_name": names.get(g.category_id),
        "iscrowd": g.iscrowd,
    }


def detection_view(d: Detection, names: dict[int, str]) -> dict:
    return {
        "id": d.id,
        "bbox": d.bbox,
        "category_id": d.category_id,
        "class_name": names.get(d.category_id),
        "score": d.score,
    }


def run_view(r: Run, checkpoints: int | None = None, latest=None) -> dict:
    out = {
        "id": r.id,
        "name": r.name,
        "dataset_id": r.dataset_id,
        "architecture": r.architecture,
        "classes": r.classes,
        "created_at": iso(r.created_at),
    }
    if checkpoints is not None:
        out["checkpoint_count"] = checkpoints
    if latest is not None:
        out["latest"] = {"epoch": latest.epoch, "ap50": latest.ap50}
    return out


def checkpoint_view(c: Checkpoint, job: Job | None = None) -> dict:
    out = {
        "id": c.id,
        "run_id": c.run_id,
        "epoch": c.epoch,
        "source": c.source,
        "sha256": c.sha256,
        "size": c.size,
        "file_name": c.file_name,
        "created_at": iso(c.created_at),
    }
    if job is not None:
        out["analysis"] = {"job_id": job.id, "state": job.state}
    return out


def job_view(j: Job) -> dict:
    return {
        "id": j.id,
        "kind": j.kind,
        "state": j.state,
        "stage": j.stage,
        "done": j.done,
        "total": j.total,
        "error": j.error,
        "timings": j.timings or {},
        "created_at": iso(j.created_at),
        "started_at": iso(j.started_at),
        "finished_at": iso(j.finished_at),
        "run_id": j.run_id,
        "checkpoint_id": j.checkpoint_id,
        "epoch": j.epoch,
        "attempts": j.attempts,
    }


def watch_view(w: WatchedFolder) -> dict:
    return {
        "id": w.id,
        "run_id": w.run_id,
        "path": w.path,
        "active": w.active,
        "files_seen": len(w.seen or {}),
        "last_scan_at": iso(w.last_scan_at),
    }


def error_parts(
    e: Error,
    dets: dict[int, Detection],
    gts: dict[int, GroundTruth],
    names: dict[int, str],
) -> dict:
    det = dets.get(e.detection_id) if e.detection_id else None
    gt = gts.get(e.gt_id) if e.gt_id else None
    return {
        "id": e.id,
        "epoch": e.epoch,
        "type": e.type,
        "pred": None
        if det is None
        else {
            "detection_id": det.id,
            "bbox": det.bbox,
            "category_id": det.category_id,
            "class_name": names.get(det.category_id),
            "score": det.score,
        },
        "gt": None
        if gt is None
        else {
            "id": gt.id,
            "bbox": gt.bbox,
            "category_id": gt.category_id,
            "class_name": names.get(gt.category_id),
        },
        "iou": e.iou,
    }
