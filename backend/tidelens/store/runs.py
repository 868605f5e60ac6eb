"""Runs, checkpoints and watched folders."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tidelens.store.models import Checkpoint, Dataset, Run, WatchedFolder


class ClassMappingError(ValueError):
    """A run's class names do not all exist in its dataset."""


def create_run(
    session: Session,
    name: str,
    dataset: Dataset,
    architecture: str,
    classes: list[str] | None = None,
) -> Run:
    """A run; ``classes`` (model label i -> classes[i-1]) defaults to the dataset's
    category names in id order and must name dataset categories."""
    names = [c["name"] for c in sorted(dataset.categories, key=lambda c: c["id"])]
    classes = list(classes) if classes else names
    unknown = [c for c in classes if c not in names]
    if unknown or len(set(classes)) != len(classes):
        raise ClassMappingError(
            f"classes must be distinct names of the dataset's categories {names}; "
            f"not found: {unknown}"
        )
    run = Run(
        name=name, dataset_id=dataset.id, architecture=architecture, classes=classes
    )
    session.add(run)
    session.flush()
    return run


def get(session: Session, run_id: int) -> Run | None:
    return session.get(Run, run_id)


def list_all(session: Session) -> list[Run]:
    return list(session.scalars(select(Run).order_by(Run.id)))


def delete_run(session: Session, run: Run) -> None:
    # Children are deleted explicitly too, for SQLite files made without FKs on.
    from tidelens.store.models import (
        Detection,
        EpochSummary,
        Error,
        Heatmap,
        Job,
    )

    ckpt_ids = select(Checkpoint.id).where(Checkpoint.run_id == run.id)
    for model in (Heatmap, Error, Detection, EpochSummary):
        session.execute(delete(model).where(model.checkpoint_id.in_(ckpt_ids)))
    session.execute(delete(Job).where(Job.run_id == run.id))
    session.execute(delete(WatchedFolder).where(WatchedFolder.run_id == run.id))
    session.execute(delete(Checkpoint).where(Checkpoint.run_id == run.id))
    session.delete(run)
    session.flush()


def checkpoint_count(session: Session, run_id: int) -> int:
    return session.scalar(
        select(func.count()).select_from(Checkpoint).where(Checkpoint.run_id == run_id)
    )


def checkpoints(session: Session, run_id: int) -> list[Checkpoint]:
    return list(
        session.scalars(
            select(Checkpoint)
            .where(Checkpoint.run_id == run_id)
            .order_by(Checkpoint.epoch)
        )
    )


def get_checkpoint(session: Session, checkpoint_id: int) -> Checkpoint | None:
    return session.get(Checkpoint, checkpoint_id)


def checkpoint_by_sha(session: Session, run_id: int, sha256: str) -> Checkpoint | None:
    return session.scalar(
        select(Checkpoint).where(
            Checkpoint.run_id == run_id, Checkpoint.sha256 == sha256
        )
    )


def checkpoint_by_epoch(session: Session, run_id: int, epoch: int) -> Checkpoint | None:
    return session.scalar(
        select(Checkpoint).where(Checkpoint.run_id == run_id, Checkpoint.epoch == epoch)
    )


def next_epoch(session: Session, run_id: int) -> int:
    last = session.scalar(
        select(func.max(Checkpoint.epoch)).where(Checkpoint.run_id == run_id)
    )
    return 1 if last is None else last + 1


def add_checkpoint(session: Session, **fields) -> Checkpoint:
    ckpt = Checkpoint(**fields)
    session.add(ckpt)
    session.flush()
    return ckpt


def watch_folder(session: Session, run_id: int, path: str) -> WatchedFolder:
    """Register (or re-activate) a folder to watch for a run's checkpoints."""
    folder = session.scalar(
        select(WatchedFolder).where(
            WatchedFolder.run_id == run_id, WatchedFolder.path == path
        )
    )
    if folder is None:
        folder = WatchedFolder(run_id=run_id, path=path, seen={})
        session.add(folder)
    folder.active = True
    session.flush()
    return folder


def watched_folders(session: Session, run_id: int | None = None) -> list[WatchedFolder]:
    query = select(WatchedFolder).where(WatchedFolder.active.is_(True))
    if run_id is not None:
        query = query.where(WatchedFolder.run_id == run_id)
    return list(session.scalars(query.order_by(WatchedFolder.id)))


def get_watched_folder(session: Session, folder_id: int) -> WatchedFolder | None:
    return session.get(WatchedFolder, folder_id)
