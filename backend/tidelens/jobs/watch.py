"""Watched folders: new complete checkpoint files are registered and analysed.

A file counts as complete once it has not changed for ``watch_settle_seconds``
and the engine can read it; a file that is still being written (or was cut
short) is left for a later scan and only given up on after it stayed unreadable
and unchanged for a minute.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

from tidelens.jobs.dispatch import Dispatcher, EpochConflict, register_checkpoint
from tidelens.settings import Settings
from tidelens.store import runs as run_repo
from tidelens.store.db import session_scope
from tidelens.store.models import utcnow
from tidelens.store.objects import make_object_store

log = logging.getLogger(__name__)

SUFFIXES = (".pt", ".pth", ".ckpt")
GIVE_UP_SECONDS = 60.0  # unreadable and unchanged this long: not a checkpoint
_EPOCH_IN_NAME = re.compile(r"(\d+)(?!.*\d)")


def epoch_from_name(name: str) -> int | None:
    match = _EPOCH_IN_NAME.search(Path(name).stem)
    return int(match.group(1)) if match else None


def candidates(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix in SUFFIXES and not p.name.startswith(".")
    )


def scan_folder(settings: Settings, dispatcher: Dispatcher, folder_id: int) -> int:
    """Register the folder's new complete checkpoints; return how many."""
    from tidelens.engine.checkpoints import CheckpointError, read_checkpoint

    with session_scope(settings.database_url) as s:
        folder = run_repo.get_watched_folder(s, folder_id)
        if folder is None or not folder.active:
            return 0
        run_id, path, seen = folder.run_id, Path(folder.path), dict(folder.seen or {})
    objects = make_object_store(settings)
    registered = 0
    now = time.time()
    for file in candidates(path):
        stat = file.stat()
        signature = [stat.st_size, stat.st_mtime_ns]
        if seen.get(file.name) == signature:
            continue
        age = now - stat.st_mtime
        if age < settings.watch_settle_seconds:
            continue
        try:
            ckpt = read_checkpoint(file)
        except (CheckpointError, OSError, RuntimeError, EOFError, ValueError) as exc:
            if age >= GIVE_UP_SECONDS:
                log.warning("watch.unreadable file=%s error=%s", file, exc)
                seen[file.name] = signature
            continue
        epoch = ckpt.epoch if ckpt.epoch is not None else epoch_from_name(file.name)
        try:
            register_checkpoint(
                settings,
                objects,
                dispatcher,
                run_id,
                file,
                epoch=epoch,
                source="watch",
                file_name=file.name,
            )
            registered += 1
        except EpochConflict as exc:
            log.warning("watch.epoch_conflict file=%s error=%s", file, exc)
        seen[file.name] = signature
    with session_scope(settings.database_url) as s:
        folder = run_repo.get_watched_folder(s, folder_id)
        if folder is not None:
            folder.seen = seen
            folder.last_scan_at = utcnow()
    if registered:
        log.info("watch.registered folder=%s run=%s count=%s", path, run_id, registered)
    return registered


def scan_all(settings: Settings, dispatcher: Dispatcher) -> int:
    with session_scope(settings.database_url) as s:
        ids = [f.id for f in run_repo.watched_folders(s)]
    return sum(scan_folder(settings, dispatcher, i) for i in ids)
