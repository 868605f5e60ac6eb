"""Analysis results: the per-epoch series, pages of errors, one image's story."""

from __future__ import annotations

from fastapi import APIRouter, Query

from tidelens.api.deps import DbInt, ObjectsDep, SessionDep
from tidelens.api.errors import ERROR_RESPONSES, Invalid, NotFound
from tidelens.api.runs import get_run_or_404
from tidelens.api.views import detection_view, error_parts, gt_view, image_view
from tidelens.store import datasets as dataset_repo
from tidelens.store import results as result_repo

router = APIRouter(prefix="/runs", tags=["results"], responses=ERROR_RESPONSES)

ERROR_TYPE_PATTERN = "^(" + "|".join(result_repo.ERROR_TYPES) + ")$"


@router.get("/{run_id}/series")
def series(run_id: DbInt, session: SessionDep) -> dict:
    """One entry per analysed epoch, by epoch; AP and dAP in AP points (0-100)."""
    get_run_or_404(session, run_id)
    return {
        "epochs": [
            {
                "epoch": s.epoch,
                "checkpoint_id": s.checkpoint_id,
                "ap50": s.ap50,
                "ap50_95": s.ap50_95,
                "dap": s.dap,
                "dap_special": s.dap_special,
                "counts": s.counts,
                "detections": s.detections,
            }
            for s in result_repo.series(session, run_id)
        ]
    }


@router.get("/{run_id}/errors")
def errors(
    run_id: DbInt,
    session: SessionDep,
    objects: ObjectsDep,
    epoch: DbInt | None = None,
    type: str | None = Query(None, pattern=ERROR_TYPE_PATTERN),
    class_id: DbInt | None = None,
    image_id: DbInt | None = None,
    cursor: str | None = None,
    limit: int = Query(48, ge=1, le=500),
) -> dict:
    """A page of error rows, the most confident mistakes first (Misses, which
    have no score, last); pass ``next_cursor`` back as ``cursor`` for the next page."""
    run = get_run_or_404(session, run_id)
    after = None
    if cursor:
        try:
            after = result_repo.decode_cursor(cursor)
        except ValueError:
            raise Invalid(
                "cursor is not valid; start again without it", code="bad_cursor"
            ) from None
    flt = result_repo.ErrorFilter(run_id, epoch, type, class_id, image_id)
    rows, total = result_repo.errors_page(session, flt, after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    names = dataset_repo.category_names(dataset_repo.get(session, run.dataset_id))
    dets = result_repo.detections_by_id(
        session, [e.detection_id for e in rows if e.detection_id]
    )
    gts = result_repo.ground_truth_by_id(session, [e.gt_id for e in rows if e.gt_id])
    images = result_repo.images_by_id(session, list({e.image_id for e in rows}))
    items = [
        {
            **error_parts(e, dets, gts, names),
            "image": image_view(images[e.image_id], objects),
        }
        for e in rows
    ]
    next_cursor = (
        result_repo.encode_cursor(result_repo.page_key(rows[-1])) if more else None
    )
    return {"items": items, "next_cursor": next_cursor, "total": total}


@router.get("/{run_id}/images/{image_id}")
def image_story(
    run_id: DbInt,
    image_id: DbInt,
    session: SessionDep,
    objects: ObjectsDep,
    min_score: float = Query(0.0, ge=0.0, le=1.0),
) -> dict:
    """The image, its ground truth, and per analysed epoch its detections (score
    >= min_score) and error rows."""
    run = get_run_or_404(session, run_id)
    image = dataset_repo.get_image(session, image_id)
    if image is None or image.dataset_id != run.dataset_id:
        raise NotFound(f"image {image_id} is not in this run's dataset")
    names = dataset_repo.category_names(dataset_repo.get(session, run.dataset_id))
    gts = dataset_repo.ground_truth_for(session, [image_id])[image_id]
    epochs = {
        s.epoch: {
            "epoch": s.epoch,
            "checkpoint_id": s.checkpoint_id,
            "detections": [],
            "errors": [],
        }
        for s in result_repo.series(session, run_id)
    }
    all_dets = {}
    for epoch, det in result_repo.image_detections(session, run_id, image_id):
        all_dets[det.id] = det
        if epoch in epochs and det.score >= min_score:
            epochs[epoch]["detections"].append(detection_view(det, names))
    gt_by_id = {g.id: g for g in gts}
    for err in result_repo.image_errors(session, run_id, image_id):
        if err.epoch in epochs:
            epochs[err.epoch]["errors"].append(
                error_parts(err, all_dets, gt_by_id, names)
            )
    return {
        "image": image_view(image, objects),
        "ground_truth": [gt_view(g, names) for g in gts],
        "epochs": [epochs[k] for k in sorted(epochs)],
    }
