"""Datasets, images and ground truth: queries and the import of a folder.

Images are copied into object storage (``datasets/{id}/images/...``) with a small
JPEG thumbnail beside them, so workers on other machines read the same bytes.
"""

from __future__ import annotations

import io
import logging
import mimetypes
from pathlib import Path

from PIL import Image as PILImage
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tidelens.store.models import Dataset, GroundTruth, Image
from tidelens.store.objects import ObjectStore

log = logging.getLogger(__name__)

THUMBNAIL_SIZE = 256  # longest side, pixels: enough for a grid cell at 2x
INTEGER_MAX = 2**31 - 1  # ids from annotation files go into INTEGER columns


def _check_ids(loaded) -> None:
    """Refuse ids the database cannot hold, naming the first one."""
    for kind, ids in (
        ("category", [c.id for c in loaded.categories]),
        ("image", [im.id for im in loaded.images]),
    ):
        bad = next((i for i in ids if abs(i) > INTEGER_MAX), None)
        if bad is not None:
            raise ValueError(
                f"{kind} id {bad} is too large (at most {INTEGER_MAX}); renumber them"
            )


def _relative(file: str, folder: Path) -> str:
    """Dropped entries name files relative to the dataset, not server paths."""
    try:
        return Path(file).resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return Path(file).name


def make_thumbnail(path: Path) -> bytes:
    """A JPEG at most THUMBNAIL_SIZE px on its longest side."""
    with PILImage.open(path) as img:
        img = img.convert("RGB")
        img.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=80)
        return buf.getvalue()


def import_dataset(
    session: Session,
    objects: ObjectStore,
    name: str,
    folder: Path,
    *,
    split: str | None = None,
    format: str | None = None,
    source: str = "folder",
) -> Dataset:
    """Load a dataset folder with the engine, copy images into storage, add rows.

    Raises the engine's DatasetError for unreadable annotations. The caller's
    transaction makes the rows appear all at once; objects of a failed import
    are deleted.
    """
    from tidelens.engine.datasets import load_dataset

    loaded = load_dataset(folder, split=split, format=format)
    _check_ids(loaded)
    row = Dataset(
        name=name,
        source=source,
        source_path=str(folder) if source == "folder" else None,
        format=format,
        split=split,
        categories=[{"id": c.id, "name": c.name} for c in loaded.categories],
        dropped=[
            {"file": _relative(d.file, folder), "entry": d.entry, "reason": d.reason}
            for d in loaded.dropped
        ],
        image_count=len(loaded.images),
    )
    session.add(row)
    session.flush()
    prefix = f"datasets/{row.id}"
    try:
        by_image = loaded.annotations_by_image()
        for record in loaded.images:
            path = loaded.image_path(record)
            if not path.is_file():
                raise ValueError(
                    f"image {record.file_name} named in the annotations is missing"
                )
            key = f"{prefix}/images/{record.file_name}"
            content_type = mimetypes.guess_type(record.file_name)[0]
            objects.put_file(key, path, content_type)
            thumb_key = f"{prefix}/thumbnails/{record.file_name}.jpg"
            try:
                thumbnail = make_thumbnail(path)
            except (OSError, ValueError) as exc:
                raise ValueError(
                    f"image {record.file_name} is not a readable image"
                ) from exc
            objects.put_bytes(thumb_key, thumbnail, "image/jpeg")
            image = Image(
                dataset_id=row.id,
                file_name=record.file_name,
                source_id=record.id,
                width=record.width,
                height=record.height,
                object_key=key,
                thumbnail_key=thumb_key,
            )
            session.add(image)
            session.flush()
            session.add_all(
                GroundTruth(
                    image_id=image.id,
                    category_id=box.category_id,
                    bbox=[float(v) for v in box.bbox],
                    iscrowd=bool(box.iscrowd),
                )
                for box in by_image.get(record.id, [])
            )
        session.flush()
    except BaseException:
        objects.delete_prefix(prefix)
        raise
    log.info("dataset.imported id=%s images=%s", row.id, row.image_count)
    return row


def get(session: Session, dataset_id: int) -> Dataset | None:
    return session.get(Dataset, dataset_id)


def list_all(session: Session) -> list[Dataset]:
    return list(session.scalars(select(Dataset).order_by(Dataset.id)))


def images_page(
    session: Session, dataset_id: int, after_id: int | None, limit: int
) -> list[Image]:
    query = select(Image).where(Image.dataset_id == dataset_id)
    if after_id is not None:
        query = query.where(Image.id > after_id)
    return list(session.scalars(query.order_by(Image.id).limit(limit)))


def ground_truth_for(session: Session, image_ids: list[int]) -> dict[int, list]:
    out: dict[int, list[GroundTruth]] = {i: [] for i in image_ids}
    if not image_ids:
        return out
    rows = session.scalars(
        select(GroundTruth)
        .where(GroundTruth.image_id.in_(image_ids))
        .order_by(GroundTruth.id)
    )
    for gt in rows:
        out[gt.image_id].append(gt)
    return out


def all_images(session: Session, dataset_id: int) -> list[Image]:
    return list(
        session.scalars(
            select(Image).where(Image.dataset_id == dataset_id).order_by(Image.id)
        )
    )


def all_ground_truth(session: Session, dataset_id: int) -> list[GroundTruth]:
    return list(
        session.scalars(
            select(GroundTruth)
            .join(Image, Image.id == GroundTruth.image_id)
            .where(Image.dataset_id == dataset_id)
            .order_by(GroundTruth.id)
        )
    )


def get_image(session: Session, image_id: int) -> Image | None:
    return session.get(Image, image_id)


def get_ground_truth(session: Session, gt_id: int) -> GroundTruth | None:
    return session.get(GroundTruth, gt_id)


def count_images(session: Session, dataset_id: int) -> int:
    return session.scalar(
        select(func.count()).select_from(Image).where(Image.dataset_id == dataset_id)
    )


def category_names(dataset: Dataset) -> dict[int, str]:
    return {int(c["id"]): c["name"] for c in dataset.categories}
