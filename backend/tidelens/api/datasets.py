"""Datasets: zip upload, server-folder registration, listing, images."""

from __future__ import annotations

import base64
import shutil
import tempfile
from pathlib import Path

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from tidelens.api.deps import (
    DB_INT_MAX,
    DbInt,
    ObjectsDep,
    SessionDep,
    SettingsDep,
    WriteAuth,
)
from tidelens.api.errors import ERROR_RESPONSES, Invalid, NotFound
from tidelens.api.uploads import extract_zip, read_form, require_file
from tidelens.api.views import dataset_view, gt_view, image_view
from tidelens.store import datasets as dataset_repo

router = APIRouter(prefix="/datasets", tags=["datasets"], responses=ERROR_RESPONSES)


class RegisterFolder(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    path: str = Field(min_length=1)
    split: str | None = None
    format: str | None = Field(None, pattern="^(coco|voc|yolo)$")


def _import(session, objects, name, folder, split, fmt, source, shown="the dataset"):
    from tidelens.engine.datasets import DatasetError

    try:
        row = dataset_repo.import_dataset(
            session, objects, name, folder, split=split, format=fmt, source=source
        )
    except DatasetError as exc:
        session.rollback()
        raise Invalid(_relative(str(exc), folder, shown), code="bad_dataset") from None
    except (OSError, ValueError) as exc:
        session.rollback()
        raise Invalid(
            f"the dataset could not be read: {_relative(str(exc), folder, shown)}",
            code="bad_dataset",
        ) from None
    if row.image_count == 0:
        session.rollback()
        raise Invalid(
            "the dataset has no images (check the split name and layout)",
            code="empty_dataset",
        )
    session.commit()
    return row


def _relative(message: str, folder: Path, shown: str) -> str:
    """Name files relative to the dataset, never where the server keeps them."""
    for prefix in {str(folder.resolve()), str(folder)}:
        message = message.replace(prefix + "/", "").replace(prefix, shown)
    return message


@router.post("", status_code=201, dependencies=WriteAuth)
async def upload_dataset(
    request: Request, session: SessionDep, objects: ObjectsDep, settings: SettingsDep
) -> dict:
    """Multipart ``name`` and ``file`` (a zip of images + COCO JSON, VOC XML or
    YOLO txt); optional ``split`` and ``format``."""
    form = await read_form(request, settings.tmp_dir, settings.max_dataset_zip_bytes)
    workdir = Path(tempfile.mkdtemp(dir=settings.tmp_dir, prefix="dataset-"))
    try:
        upload = require_file(form)
        name = form.fields.get("name", "").strip() or Path(upload.filename).stem
        root = await run_in_threadpool(
            extract_zip,
            upload.path,
            workdir,
            max_files=settings.max_dataset_files,
            max_unpacked=settings.max_dataset_unpacked_bytes,
        )
        fmt = form.fields.get("format") or None
        if fmt not in (None, "coco", "voc", "yolo"):
            raise Invalid("format must be coco, voc or yolo")
        row = await run_in_threadpool(
            _import,
            session,
            objects,
            name[:200],
            root,
            form.fields.get("split") or None,
            fmt,
            "upload",
            "the zip",
        )
        return dataset_view(row)
    finally:
        form.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)


@router.post("/register", status_code=201, dependencies=WriteAuth)
def register_dataset(body: RegisterFolder, session: SessionDep, objects: ObjectsDep):
    """Import a dataset folder that already is on the server."""
    folder = Path(body.path).expanduser()
    if not folder.is_dir():
        raise Invalid(f"{body.path} is not a folder on the server", code="not_a_folder")
    row = _import(
        session,
        objects,
        body.name,
        folder,
        body.split,
        body.format,
        "folder",
        body.path,
    )
    return dataset_view(row)


@router.get("")
def list_datasets(session: SessionDep) -> list[dict]:
    return [dataset_view(d) for d in dataset_repo.list_all(session)]


def get_dataset_or_404(session, dataset_id: int):
    row = dataset_repo.get(session, dataset_id)
    if row is None:
        raise NotFound(f"dataset {dataset_id} does not exist")
    return row


@router.get("/{dataset_id}")
def get_dataset(dataset_id: DbInt, session: SessionDep) -> dict:
    return dataset_view(get_dataset_or_404(session, dataset_id))


def _decode_id_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        after = int(base64.urlsafe_b64decode(cursor.encode()).decode())
        if abs(after) > DB_INT_MAX:
            raise ValueError(after)
        return after
    except ValueError:
        raise Invalid(
            "cursor is not valid; start again without it", code="bad_cursor"
        ) from None


@router.get("/{dataset_id}/images")
def list_images(
    dataset_id: DbInt,
    session: SessionDep,
    objects: ObjectsDep,
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=500),
) -> dict:
    """Images in id order with ground truth; ``next_cursor`` continues the list."""
    dataset = get_dataset_or_404(session, dataset_id)
    after = _decode_id_cursor(cursor)
    images = dataset_repo.images_page(session, dataset_id, after, limit + 1)
    more = len(images) > limit
    images = images[:limit]
    gts = dataset_repo.ground_truth_for(session, [i.id for i in images])
    names = dataset_repo.category_names(dataset)
    items = [
        {
            **image_view(img, objects),
            "ground_truth": [gt_view(g, names) for g in gts[img.id]],
        }
        for img in images
    ]
    next_cursor = (
        base64.urlsafe_b64encode(str(images[-1].id).encode()).decode() if more else None
    )
    return {"items": items, "next_cursor": next_cursor, "total": dataset.image_count}
