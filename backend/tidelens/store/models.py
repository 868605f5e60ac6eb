"""Database tables. Boxes are COCO xywh in pixels, stored as four float columns
or a JSON list of four floats. Category ids are the dataset's ids.

Unique keys make jobs idempotent: a retried analysis replaces the rows of its
checkpoint (detections, errors, summary) instead of adding a second copy, and a
heatmap exists once per (checkpoint, image, target, layer, method).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict: JSON, list: JSON}


class Dataset(Base):
    __tablename__ = "datasets"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(20))  # upload | folder
    source_path: Mapped[str | None] = mapped_column(Text)
    format: Mapped[str | None] = mapped_column(String(20))
    split: Mapped[str | None] = mapped_column(String(100))
    categories: Mapped[list] = mapped_column(JSON)  # [{"id", "name"}] by id
    dropped: Mapped[list] = mapped_column(JSON, default=list)
    image_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )


class Image(Base):
    __tablename__ = "images"
    __table_args__ = (UniqueConstraint("dataset_id", "file_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    file_name: Mapped[str] = mapped_column(String(500))
    source_id: Mapped[int | None] = mapped_column(Integer)  # id in the annotations
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    object_key: Mapped[str] = mapped_column(String(700))
    thumbnail_key: Mapped[str | None] = mapped_column(String(700))


class GroundTruth(Base):
    __tablename__ = "ground_truth"
    id: Mapped[int] = mapped_column(primary_key=True)
    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), index=True
    )
    category_id: Mapped[int] = mapped_column(Integer)
    bbox: Mapped[list] = mapped_column(JSON)  # xywh px
    iscrowd: Mapped[bool] = mapped_column(Boolean, default=False)


class Run(Base):
    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    architecture: Mapped[str] = mapped_column(String(100))
    classes: Mapped[list] = mapped_column(JSON)  # model label i -> classes[i - 1]
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )


class Checkpoint(Base):
    """One epoch of a run: a weights file, or an imported detections file."""

    __tablename__ = "checkpoints"
    __table_args__ = (
        UniqueConstraint("run_id", "epoch"),
        UniqueConstraint("run_id", "sha256"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), index=True
    )
    epoch: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20))  # upload | watch | detections
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(BigInteger)
    object_key: Mapped[str | None] = mapped_column(String(700))
    file_name: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )


class Detection(Base):
    __tablename__ = "detections"
    __table_args__ = (UniqueConstraint("checkpoint_id", "index"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    checkpoint_id: Mapped[int] = mapped_column(
        ForeignKey("checkpoints.id", ondelete="CASCADE"), index=True
    )
    index: Mapped[int] = mapped_column(Integer)  # position in the results list
    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), index=True
    )
    category_id: Mapped[int] = mapped_column(Integer)
    bbox: Mapped[list] = mapped_column(JSON)
    score: Mapped[float] = mapped_column(Float)


class EpochSummary(Base):
    __tablename__ = "epoch_summaries"
    id: Mapped[int] = mapped_column(primary_key=True)
    checkpoint_id: Mapped[int] = mapped_column(
        ForeignKey("checkpoints.id", ondelete="CASCADE"), unique=True
    )
    run_id: Mapped[int] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), index=True
    )
    epoch: Mapped[int] = mapped_column(Integer)
    ap50: Mapped[float] = mapped_column(Float)
    ap50_95: Mapped[float | None] = mapped_column(Float)
    dap: Mapped[dict] = mapped_column(JSON)
    dap_special: Mapped[dict] = mapped_column(JSON)
    counts: Mapped[dict] = mapped_column(JSON)
    per_class_dap: Mapped[dict] = mapped_column(JSON, default=dict)
    detections: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )


class Error(Base):
    __tablename__ = "errors"
    __table_args__ = (
        Index("ix_errors_page", "run_id", "epoch", "type", "image_id", "id"),
        Index("ix_errors_image", "run_id", "image_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    checkpoint_id: Mapped[int] = mapped_column(
        ForeignKey("checkpoints.id", ondelete="CASCADE"), index=True
    )
    epoch: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(10))
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"))
    detection_id: Mapped[int | None] = mapped_column(
        ForeignKey("detections.id", ondelete="CASCADE")
    )
    gt_id: Mapped[int | None] = mapped_column(
        ForeignKey("ground_truth.id", ondelete="CASCADE")
    )
    pred_category_id: Mapped[int | None] = mapped_column(Integer)
    gt_category_id: Mapped[int | None] = mapped_column(Integer)
    score: Mapped[float | None] = mapped_column(Float)
    iou: Mapped[float | None] = mapped_column(Float)


class Heatmap(Base):
    __tablename__ = "heatmaps"
    __table_args__ = (
        UniqueConstraint("checkpoint_id", "image_id", "target", "layer", "method"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    checkpoint_id: Mapped[int] = mapped_column(
        ForeignKey("checkpoints.id", ondelete="CASCADE"), index=True
    )
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(40))  # det:<id> | gt:<id>
    layer: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))  # pending | ready | failed
    object_key: Mapped[str | None] = mapped_column(String(700))
    min: Mapped[float | None] = mapped_column(Float)
    max: Mapped[float | None] = mapped_column(Float)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_run_state", "run_id", "state"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # analyze | heatmaps | import | ...
    state: Mapped[str] = mapped_column(String(12), default="queued")
    stage: Mapped[str | None] = mapped_column(String(40))
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    timings: Mapped[dict] = mapped_column(JSON, default=dict)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE")
    )
    checkpoint_id: Mapped[int | None] = mapped_column(
        ForeignKey("checkpoints.id", ondelete="CASCADE"), index=True
    )
    epoch: Mapped[int | None] = mapped_column(Integer)
    task_id: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WatchedFolder(Base):
    __tablename__ = "watched_folders"
    __table_args__ = (UniqueConstraint("run_id", "path"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # file name -> [size, mtime_ns] of files already registered or rejected
    seen: Mapped[dict] = mapped_column(JSON, default=dict)
    last_scan_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )
