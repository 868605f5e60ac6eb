"""Heatmaps: signed URLs of the maps that exist; the missing ones are queued, so
a viewer that polls this endpoint fills in as maps arrive."""

from __future__ import annotations

from fastapi import APIRouter, Query

from tidelens.api.deps import DB_INT_MAX, DbInt, DispatcherDep, ObjectsDep, SessionDep
from tidelens.api.errors import ERROR_RESPONSES, Invalid, NotFound
from tidelens.api.health import METHODS
from tidelens.api.runs import get_run_or_404
from tidelens.store import datasets as dataset_repo
from tidelens.store import heatmaps as heatmap_repo
from tidelens.store import jobs as job_repo
from tidelens.store import runs as run_repo
from tidelens.store.models import Detection

router = APIRouter(prefix="/runs", tags=["heatmaps"], responses=ERROR_RESPONSES)


def _csv(raw: str | None) -> list[str]:
    return [p.strip() for p in (raw or "").split(",") if p.strip()]


def _is_db_int(raw: str) -> bool:
    return raw.isascii() and raw.isdigit() and int(raw) <= DB_INT_MAX


def _check_target(session, run, image_id: int, target: str) -> None:
    kind, _, raw = target.partition(":")
    if kind not in ("det", "gt") or not _is_db_int(raw):
        raise Invalid(
            "target must be det:<detection id> or gt:<annotation id>", code="bad_target"
        )
    if kind == "det":
        det = session.get(Detection, int(raw))
        ckpt = det and run_repo.get_checkpoint(session, det.checkpoint_id)
        if det is None or ckpt.run_id != run.id or det.image_id != image_id:
            raise NotFound(
                f"{target} is not a detection of this run on image {image_id}"
            )
    else:
        gt = dataset_repo.get_ground_truth(session, int(raw))
        if gt is None or gt.image_id != image_id:
            raise NotFound(f"{target} is not a ground-truth box of image {image_id}")


@router.get("/{run_id}/heatmaps")
def heatmaps(
    run_id: DbInt,
    session: SessionDep,
    objects: ObjectsDep,
    dispatcher: DispatcherDep,
    image_id: DbInt,
    target: str,
    epochs: str | None = Query(None, description="comma-separated; default all"),
    layers: str | None = Query(None, description="comma-separated; default deepest"),
    method: str = Query("gradcam", pattern="^(" + "|".join(METHODS) + ")$"),
) -> dict:
    run = get_run_or_404(session, run_id)
    image = dataset_repo.get_image(session, image_id)
    if image is None or image.dataset_id != run.dataset_id:
        raise NotFound(f"image {image_id} is not in this run's dataset")
    _check_target(session, run, image_id, target)
    from tidelens.engine.models import get_architecture

    ladder = get_architecture(run.architecture).layers
    wanted_layers = _csv(layers) or [ladder[-1]]
    unknown = [x for x in wanted_layers if x not in ladder]
    if unknown:
        raise Invalid(
            f"unknown layers {unknown}; this architecture has {ladder}",
            code="bad_layers",
        )
    checkpoints = run_repo.checkpoints(session, run_id)
    wanted = _csv(epochs)
    if wanted:
        if not all(_is_db_int(e) for e in wanted):
            raise Invalid("epochs must be comma-separated numbers", code="bad_epochs")
        numbers = {int(e) for e in wanted}
        checkpoints = [c for c in checkpoints if c.epoch in numbers]

    items, to_queue = [], []
    with_weights = [c for c in checkpoints if c.object_key]
    rows = heatmap_repo.find(
        session, [c.id for c in with_weights], image_id, target, wanted_layers, method
    )
    have = {(r.checkpoint_id, r.layer): r for r in rows}
    for ckpt in checkpoints:
        if not ckpt.object_key:
            items += [
                _item(
                    ckpt.epoch,
                    layer,
                    method,
                    "failed",
                    error="imported detections have no weights",
                )
                for layer in wanted_layers
            ]
            continue
        missing = [x for x in wanted_layers if (ckpt.id, x) not in have]
        claimed = (
            heatmap_repo.claim_pending(
                session, ckpt.id, image_id, target, missing, method
            )
            if missing
            else []
        )
        if claimed:
            job = job_repo.create(
                session,
                "heatmaps",
                run_id=run_id,
                checkpoint_id=ckpt.id,
                epoch=ckpt.epoch,
                params={
                    "checkpoint_id": ckpt.id,
                    "image_id": image_id,
                    "target": target,
                    "layers": claimed,
                    "method": method,
                },
            )
            to_queue.append(job)
        for layer in wanted_layers:
            row = have.get((ckpt.id, layer))
            if row is None:
                items.append(_item(ckpt.epoch, layer, method, "pending"))
            else:
                items.append(
                    _item(
                        ckpt.epoch,
                        layer,
                        method,
                        row.status,
                        url=objects.signed_url(row.object_key)
                        if row.status == "ready"
                        else None,
                        min=row.min,
                        max=row.max,
                        width=row.width,
                        height=row.height,
                        error=row.error,
                    )
                )
    session.commit()
    for job in to_queue:
        dispatcher.send(job.id, "heatmaps")
    return {"items": items}


def _item(
    epoch,
    layer,
    method,
    status,
    url=None,
    min=None,
    max=None,
    width=None,
    height=None,
    error=None,
) -> dict:
    return {
        "epoch": epoch,
        "layer": layer,
        "method": method,
        "status": status,
        "url": url,
        "min": min,
        "max": max,
        "width": width,
        "height": height,
        "error": error,
    }
