"""Heatmap rows: one per (checkpoint, image, target, layer, method).

The unique key lets the API insert ``pending`` rows for missing maps from any
number of requests at once without duplicates; the worker then fills them in.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tidelens.store.models import Heatmap, utcnow


def object_key(checkpoint_id: int, image_id: int, target: str, layer: str, method: str):
    return (
        f"heatmaps/{checkpoint_id}/{image_id}/{target.replace(':', '-')}/"
        f"{method}/{layer}.png"
    )


def find(
    session: Session,
    checkpoint_ids: list[int],
    image_id: int,
    target: str,
    layers: list[str],
    method: str,
) -> list[Heatmap]:
    if not checkpoint_ids or not layers:
        return []
    return list(
        session.scalars(
            select(Heatmap).where(
                Heatmap.checkpoint_id.in_(checkpoint_ids),
                Heatmap.image_id == image_id,
                Heatmap.target == target,
                Heatmap.layer.in_(layers),
                Heatmap.method == method,
            )
        )
    )


def claim_pending(
    session: Session,
    checkpoint_id: int,
    image_id: int,
    target: str,
    layers: list[str],
    method: str,
) -> list[str]:
    """Insert ``pending`` rows for layers that have none; return the layers this
    call inserted (the caller then queues exactly those)."""
    claimed = []
    for layer in layers:
        try:
            with session.begin_nested():
                session.add(
                    Heatmap(
                        checkpoint_id=checkpoint_id,
                        image_id=image_id,
                        target=target,
                        layer=layer,
                        method=method,
                        status="pending",
                    )
                )
            claimed.append(layer)
        except IntegrityError:
            continue
    return claimed


def store_result(
    session: Session,
    checkpoint_id: int,
    image_id: int,
    target: str,
    layer: str,
    method: str,
    **fields,
) -> Heatmap:
    """Create or update the row of one map (``status``, ``object_key``, ``min``...)."""
    row = session.scalar(
        select(Heatmap).where(
            Heatmap.checkpoint_id == checkpoint_id,
            Heatmap.image_id == image_id,
            Heatmap.target == target,
            Heatmap.layer == layer,
            Heatmap.method == method,
        )
    )
    if row is None:
        row = Heatmap(
            checkpoint_id=checkpoint_id,
            image_id=image_id,
            target=target,
            layer=layer,
            method=method,
        )
        session.add(row)
    for name, value in fields.items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    session.flush()
    return row
