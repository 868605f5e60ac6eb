"""Analysis results: detections, epoch summaries and error rows.

``replace_analysis`` writes one epoch's results in the caller's transaction after
deleting what a previous attempt wrote, so a retried job never duplicates rows
and readers see either the old or the new results, never half of them.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass

from sqlalchemy import and_, delete, func, insert, or_, select
from sqlalchemy.orm import Session

from tidelens.store.models import (
    Checkpoint,
    Detection,
    EpochSummary,
    Error,
    GroundTruth,
    Heatmap,
    Image,
)

ERROR_TYPES = ("Cls", "Loc", "Both", "Dupe", "Bkg", "Miss")
SPECIAL_TYPES = ("FalsePos", "FalseNeg")


def replace_analysis(
    session: Session,
    checkpoint: Checkpoint,
    detections: list[dict],
    result,
) -> EpochSummary:
    """Store detections (COCO results, image/category ids of the database), the
    TIDE result's summary and error rows for one checkpoint.

    ``result`` is the engine's TideResult computed on exactly ``detections``:
    ``ErrorRow.pred_index`` indexes that list and ``gt_id`` is a ground_truth id.
    """
    for model in (Heatmap, Error, Detection, EpochSummary):
        session.execute(delete(model).where(model.checkpoint_id == checkpoint.id))
    session.flush()

    if detections:
        session.execute(
            insert(Detection),
            [
                {
                    "checkpoint_id": checkpoint.id,
                    "index": i,
                    "image_id": int(d["image_id"]),
                    "category_id": int(d["category_id"]),
                    "bbox": [float(v) for v in d["bbox"]],
                    "score": float(d["score"]),
                }
                for i, d in enumerate(detections)
            ],
        )
    det_ids = dict(
        session.execute(
            select(Detection.index, Detection.id).where(
                Detection.checkpoint_id == checkpoint.id
            )
        ).all()
    )
    rows = [
        {
            "run_id": checkpoint.run_id,
            "checkpoint_id": checkpoint.id,
            "epoch": checkpoint.epoch,
            "type": e.type,
            "image_id": int(e.image_id),
            "detection_id": det_ids.get(e.pred_index)
            if e.pred_index is not None
            else None,
            "gt_id": int(e.gt_id) if e.gt_id is not None else None,
            "pred_category_id": e.pred_category_id,
            "gt_category_id": e.gt_category_id,
            "score": float(e.score) if e.score is not None else None,
            "iou": float(e.iou) if e.iou is not None else None,
        }
        for e in result.errors
    ]
    if rows:
        session.execute(insert(Error), rows)
    per_class = {}
    try:
        per_class = {str(k): v for k, v in result.per_class_dap().items()}
    except Exception:  # per-class dAP is a bonus; the summary must still land
        per_class = {}
    summary = EpochSummary(
        checkpoint_id=checkpoint.id,
        run_id=checkpoint.run_id,
        epoch=checkpoint.epoch,
        ap50=float(result.ap50),
        ap50_95=float(result.ap50_95) if result.ap50_95 is not None else None,
        dap={k: float(v) for k, v in result.dap.items()},
        dap_special={k: float(v) for k, v in result.dap_special.items()},
        counts={k: int(v) for k, v in result.counts.items()},
        per_class_dap=per_class,
        detections=len(detections),
    )
    session.add(summary)
    session.flush()
    return summary


def series(session: Session, run_id: int) -> list[EpochSummary]:
    return list(
        session.scalars(
            select(EpochSummary)
            .where(EpochSummary.run_id == run_id)
            .order_by(EpochSummary.epoch)
        )
    )


# A Miss has no prediction and so no score: it ranks below every detector score.
MISSING_SCORE = -1.0


def page_key(row: Error) -> tuple[float, int]:
    """Where an error stands in a page: most confident mistakes first, then by id."""
    return (row.score if row.score is not None else MISSING_SCORE, row.id)


def encode_cursor(key: tuple[float, int]) -> str:
    score, row_id = key
    return base64.urlsafe_b64encode(f"s:{score!r}:{row_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[float, int]:
    """Raise ValueError for anything that is not a cursor this module made."""
    raw = base64.urlsafe_b64decode(cursor.encode()).decode()
    tag, score_text, id_text = raw.split(":")
    score, row_id = float(score_text), int(id_text)
    if tag != "s" or not math.isfinite(score) or abs(row_id) > 2**31 - 1:
        raise ValueError(raw)
    return score, row_id


@dataclass
class ErrorFilter:
    run_id: int
    epoch: int | None = None
    type: str | None = None
    class_id: int | None = None
    image_id: int | None = None

    def clauses(self) -> list:
        out = [Error.run_id == self.run_id]
        if self.epoch is not None:
            out.append(Error.epoch == self.epoch)
        if self.type is not None:
            out.append(Error.type == self.type)
        if self.class_id is not None:
            out.append(
                or_(
                    Error.pred_category_id == self.class_id,
                    Error.gt_category_id == self.class_id,
                )
            )
        if self.image_id is not None:
            out.append(Error.image_id == self.image_id)
        return out


def errors_page(
    session: Session, flt: ErrorFilter, after: tuple[float, int] | None, limit: int
) -> tuple[list[Error], int]:
    """A page in ``page_key`` order after the cursor, and the filter's total."""
    clauses = flt.clauses()
    total = session.scalar(select(func.count()).select_from(Error).where(*clauses))
    rank = func.coalesce(Error.score, MISSING_SCORE)
    query = select(Error).where(*clauses)
    if after is not None:
        score, row_id = after
        query = query.where(or_(rank < score, and_(rank == score, Error.id > row_id)))
    rows = session.scalars(query.order_by(rank.desc(), Error.id).limit(limit))
    return list(rows), total


def detections_by_id(session: Session, ids: list[int]) -> dict[int, Detection]:
    if not ids:
        return {}
    rows = session.scalars(select(Detection).where(Detection.id.in_(ids)))
    return {d.id: d for d in rows}


def ground_truth_by_id(session: Session, ids: list[int]) -> dict[int, GroundTruth]:
    if not ids:
        return {}
    rows = session.scalars(select(GroundTruth).where(GroundTruth.id.in_(ids)))
    return {g.id: g for g in rows}


def images_by_id(session: Session, ids: list[int]) -> dict[int, Image]:
    if not ids:
        return {}
    return {i.id: i for i in session.scalars(select(Image).where(Image.id.in_(ids)))}


def image_detections(session: Session, run_id: int, image_id: int) -> list:
    """(epoch, Detection) pairs of every checkpoint of the run, by epoch, -score."""
    rows = session.execute(
        select(Checkpoint.epoch, Detection)
        .join(Checkpoint, Checkpoint.id == Detection.checkpoint_id)
        .where(Checkpoint.run_id == run_id, Detection.image_id == image_id)
        .order_by(Checkpoint.epoch, Detection.score.desc())
    )
    return list(rows.all())


def image_errors(session: Session, run_id: int, image_id: int) -> list[Error]:
    return list(
        session.scalars(
            select(Error)
            .where(Error.run_id == run_id, Error.image_id == image_id)
            .order_by(Error.epoch, Error.id)
        )
    )


def top_errors(session: Session, checkpoint_id: int, per_type: int) -> list[Error]:
    """The most informative errors of each type: highest-scoring predictions, and
    for Miss the largest missed boxes (ties by id for a stable choice)."""
    out: list[Error] = []
    for error_type in ERROR_TYPES:
        query = select(Error).where(
            Error.checkpoint_id == checkpoint_id, Error.type == error_type
        )
        if error_type == "Miss":
            query = query.order_by(Error.id)
        else:
            query = query.order_by(Error.score.desc(), Error.id)
        out.extend(session.scalars(query.limit(per_type)))
    return out


def summary_for(session: Session, checkpoint_id: int) -> EpochSummary | None:
    return session.scalar(
        select(EpochSummary).where(EpochSummary.checkpoint_id == checkpoint_id)
    )
