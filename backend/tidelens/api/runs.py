"""Runs, their checkpoints (streaming upload), watched folders and imported
detections."""

from __future__ import annotations

import zipfile
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError

from tidelens.api.deps import (
    DB_INT_MAX,
    DbInt,
    DispatcherDep,
    ObjectsDep,
    SessionDep,
    SettingsDep,
    WriteAuth,
)
from tidelens.api.errors import ERROR_RESPONSES, Conflict, Invalid, NotFound
from tidelens.api.uploads import read_form, require_file
from tidelens.api.views import checkpoint_view, job_view, run_view, watch_view
from tidelens.jobs.dispatch import EpochConflict, register_checkpoint
from tidelens.store import datasets as dataset_repo
from tidelens.store import jobs as job_repo
from tidelens.store import results as result_repo
from tidelens.store import runs as run_repo

router = APIRouter(prefix="/runs", tags=["runs"], responses=ERROR_RESPONSES)

MAX_RESULTS_BYTES = 512 * 1024**2


class CreateRun(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    dataset_id: DbInt
    architecture: str
    classes: list[str] | None = None


class WatchRequest(BaseModel):
    path: str = Field(min_length=1)


def get_run_or_404(session, run_id: int):
    run = run_repo.get(session, run_id)
    if run is None:
        raise NotFound(f"run {run_id} does not exist")
    return run


def _run_summary(session, run):
    summaries = result_repo.series(session, run.id)
    return run_view(
        run,
        run_repo.checkpoint_count(session, run.id),
        summaries[-1] if summaries else None,
    )


@router.post("", status_code=201, dependencies=WriteAuth)
def create_run(body: CreateRun, session: SessionDep) -> dict:
    dataset = dataset_repo.get(session, body.dataset_id)
    if dataset is None:
        raise Invalid(
            f"dataset {body.dataset_id} does not exist", code="unknown_dataset"
        )
    try:
        from tidelens.engine.models import get_architecture

        get_architecture(body.architecture)
    except KeyError as exc:
        raise Invalid(str(exc.args[0]), code="unknown_architecture") from None
    try:
        run = run_repo.create_run(
            session, body.name, dataset, body.architecture, body.classes
        )
    except run_repo.ClassMappingError as exc:
        raise Invalid(str(exc), code="bad_classes") from None
    session.commit()
    return _run_summary(session, run)


@router.get("")
def list_runs(session: SessionDep) -> list[dict]:
    return [_run_summary(session, r) for r in run_repo.list_all(session)]


@router.get("/{run_id}")
def get_run(run_id: DbInt, session: SessionDep) -> dict:
    return _run_summary(session, get_run_or_404(session, run_id))


@router.delete("/{run_id}", status_code=204, dependencies=WriteAuth)
def delete_run(
    run_id: DbInt, session: SessionDep, objects: ObjectsDep, dispatcher: DispatcherDep
):
    run = get_run_or_404(session, run_id)
    checkpoints = run_repo.checkpoints(session, run.id)
    for job in job_repo.list_jobs(session, run_id=run.id, limit=10_000):
        if job.state in job_repo.ACTIVE and job.task_id:
            dispatcher.revoke(job.task_id)
    run_repo.delete_run(session, run)
    session.commit()
    for ckpt in checkpoints:
        objects.delete_prefix(f"heatmaps/{ckpt.id}")
    objects.delete_prefix(f"checkpoints/{run_id}")
    objects.delete_prefix(f"detections/{run_id}")
    return Response(status_code=204)


def _looks_like_torch_file(path: Path) -> bool:
    """torch.save writes a zip with a ``data.pkl`` record; a cut-off upload has no
    readable central directory."""
    try:
        with zipfile.ZipFile(path) as zf:
            return any(n.endswith("data.pkl") for n in zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _epoch_field(form) -> int | None:
    raw = form.fields.get("epoch", "").strip()
    if not raw:
        return None
    # isdigit() alone lets superscripts such as '²' through to int()
    if not (raw.isascii() and raw.isdigit()) or int(raw) > DB_INT_MAX:
        raise Invalid(
            f"epoch must be a whole number from 0 to {DB_INT_MAX}", code="bad_epoch"
        )
    return int(raw)


@router.post("/{run_id}/checkpoints", status_code=201, dependencies=WriteAuth)
async def upload_checkpoint(
    run_id: DbInt,
    request: Request,
    response: Response,
    session: SessionDep,
    objects: ObjectsDep,
    settings: SettingsDep,
    dispatcher: DispatcherDep,
) -> dict:
    """Multipart ``epoch`` and ``file`` (a state dict saved with torch.save).

    The body is streamed to disk while hashed; an identical file (sha256) is not
    stored twice. Returns ``{checkpoint, job}`` (200 when it already existed).
    """
    get_run_or_404(session, run_id)
    session.close()
    form = await read_form(request, settings.tmp_dir, settings.max_checkpoint_bytes)
    try:
        upload = require_file(form)
        epoch = _epoch_field(form)
        if not await run_in_threadpool(_looks_like_torch_file, upload.path):
            raise Invalid(
                "the file is not a complete PyTorch checkpoint (torch.save zip "
                "format); it may be truncated or another kind of file",
                code="bad_checkpoint",
            )
        try:
            ckpt_id, job_id, created = await run_in_threadpool(
                register_checkpoint,
                settings,
                objects,
                dispatcher,
                run_id,
                upload.path,
                epoch=epoch,
                source="upload",
                file_name=upload.filename,
                sha256=upload.sha256,
                move=True,
            )
        except EpochConflict as exc:
            raise Conflict(str(exc), code="epoch_taken") from None
        except IntegrityError:
            raise Conflict(
                "this checkpoint is being registered by another request",
                code="duplicate",
            ) from None
    finally:
        form.cleanup()
    if not created:
        response.status_code = 200
    ckpt = run_repo.get_checkpoint(session, ckpt_id)
    job = job_repo.get(session, job_id) if job_id else None
    return {
        "checkpoint": checkpoint_view(ckpt),
        "job": job and job_view(job),
        "created": created,
    }


@router.get("/{run_id}/checkpoints")
def list_checkpoints(run_id: DbInt, session: SessionDep) -> list[dict]:
    get_run_or_404(session, run_id)
    return [
        checkpoint_view(
            c,
            job_repo.latest_for_checkpoint(
                session, c.id, "import" if c.source == "detections" else "analyze"
            ),
        )
        for c in run_repo.checkpoints(session, run_id)
    ]


@router.post("/{run_id}/watch", status_code=201, dependencies=WriteAuth)
def watch_folder(
    run_id: DbInt, body: WatchRequest, session: SessionDep, dispatcher: DispatcherDep
) -> dict:
    """Watch a server folder: each new complete ``*.pt``/``*.pth`` file becomes a
    checkpoint of this run and is analysed."""
    get_run_or_404(session, run_id)
    folder = Path(body.path).expanduser()
    if not folder.is_dir():
        raise Invalid(f"{body.path} is not a folder on the server", code="not_a_folder")
    row = run_repo.watch_folder(session, run_id, str(folder.resolve()))
    session.commit()
    from tidelens.jobs.app import TASK_SCAN

    try:
        dispatcher.app.send_task(TASK_SCAN)
    except Exception:  # the periodic scan will pick it up
        pass
    return watch_view(row)


@router.get("/{run_id}/watch")
def list_watched(run_id: DbInt, session: SessionDep) -> list[dict]:
    get_run_or_404(session, run_id)
    return [watch_view(w) for w in run_repo.watched_folders(session, run_id)]


@router.post("/{run_id}/detections", status_code=201, dependencies=WriteAuth)
async def import_detections(
    run_id: DbInt,
    request: Request,
    session: SessionDep,
    objects: ObjectsDep,
    settings: SettingsDep,
    dispatcher: DispatcherDep,
) -> dict:
    """Multipart ``epoch`` and ``file`` (COCO results JSON: a list of
    ``{image_id, category_id, bbox: [x, y, w, h] px, score}``)."""
    from tidelens.jobs.analysis import parse_results
    from tidelens.jobs.runner import JobFailed

    run = get_run_or_404(session, run_id)
    form = await read_form(request, settings.tmp_dir, MAX_RESULTS_BYTES)
    try:
        upload = require_file(form)
        epoch = _epoch_field(form)
        images = dataset_repo.all_images(session, run.dataset_id)
        dataset = dataset_repo.get(session, run.dataset_id)
        names = dataset_repo.category_names(dataset)
        class_ids = {cid for cid, n in names.items() if n in run.classes}
        try:
            # parsing a large file takes seconds: keep it off the event loop
            await run_in_threadpool(
                parse_results, upload.path.read_bytes(), images, class_ids
            )
        except JobFailed as exc:
            raise Invalid(f"{upload.filename}: {exc}", code="bad_detections") from None
        if epoch is None:
            epoch = run_repo.next_epoch(session, run_id)
        ckpt = run_repo.checkpoint_by_epoch(session, run_id, epoch)
        if ckpt is not None and ckpt.source != "detections":
            raise Conflict(
                f"epoch {epoch} of this run already has a checkpoint",
                code="epoch_taken",
            )
        key = f"detections/{run_id}/{upload.sha256}.json"
        objects.put_file(key, upload.path, "application/json")
        if ckpt is None:
            ckpt = run_repo.add_checkpoint(
                session,
                run_id=run_id,
                epoch=epoch,
                source="detections",
                sha256=None,
                size=upload.size,
                object_key=None,
                file_name=upload.filename,
            )
        else:
            ckpt.size, ckpt.file_name = upload.size, upload.filename
        job = job_repo.create(
            session,
            "import",
            run_id=run_id,
            checkpoint_id=ckpt.id,
            epoch=epoch,
            params={"object_key": key},
        )
        session.commit()
    finally:
        form.cleanup()
    dispatcher.send(job.id, "import")
    session.refresh(job)
    return {"checkpoint": checkpoint_view(ckpt), "job": job_view(job)}
