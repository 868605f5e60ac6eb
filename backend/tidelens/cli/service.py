"""`tidelens serve` (embedded mode: API, web app and a worker child process) and
`tidelens worker` (team mode).

``start_embedded`` is also the building block for commands that need a running
server in-process (e.g. a demo that trains while the web app shows progress).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass
class EmbeddedServer:
    """Handles of a running embedded server; ``stop()`` ends both parts."""

    url: str
    token: str
    settings: object
    worker: subprocess.Popen
    server: object
    thread: threading.Thread

    @property
    def url_with_token(self) -> str:
        return f"{self.url}/#token={self.token}"

    def stop(self, timeout: float = 20.0) -> None:
        self.server.should_exit = True
        stop_process(self.worker, timeout)
        self.thread.join(timeout)


def stop_process(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """SIGTERM (a Celery warm shutdown), then SIGKILL after timeout."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def worker_command(
    settings, *, beat: bool, concurrency: int, pool: str, loglevel: str = "INFO"
) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "tidelens.jobs.worker",
        "--quiet",
        "worker",
        "--loglevel",
        loglevel,
        "--concurrency",
        str(concurrency),
        "--pool",
        pool,
        "-Q",
        "tidelens",
        "--without-gossip",
        "--without-mingle",
        "--hostname",
        f"tidelens-{os.getpid()}@{socket.gethostname()}",
    ]
    if beat:
        schedule = Path(settings.data_dir).resolve() / "beat-schedule"
        cmd += ["--beat", "--schedule", str(schedule)]
    return cmd


def start_worker_process(settings, env: dict | None = None) -> subprocess.Popen:
    """A Celery worker child for the embedded broker (with the folder-watch beat)."""
    child_env = {**os.environ, **(env or {})}
    child_env["TIDELENS_DATA_DIR"] = str(Path(settings.data_dir).resolve())
    return subprocess.Popen(
        # The embedded worker shares the terminal with the server: without
        # --verbose it only speaks up for warnings (no banner, no per-scan lines).
        worker_command(
            settings,
            beat=True,
            concurrency=1,
            pool="solo",
            loglevel="DEBUG" if log.isEnabledFor(logging.DEBUG) else "WARNING",
        ),
        env=child_env,
    )


def start_embedded(
    data_dir: Path | str,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    web_dir: Path | None = None,
) -> EmbeddedServer:
    """Migrate, start a worker child and uvicorn (in a thread); return handles.

    Raises SettingsError for a bad configuration and OSError when the port is
    taken.
    """
    import uvicorn

    from tidelens.api.app import create_app
    from tidelens.jobs.dispatch import recover_interrupted
    from tidelens.settings import load_settings

    os.environ["TIDELENS_DATA_DIR"] = str(Path(data_dir).resolve())
    os.environ.setdefault("TIDELENS_MODE", "embedded")
    settings = load_settings(data_dir=Path(data_dir).resolve())
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    app = create_app(settings, web_dir=web_dir)
    recover_interrupted(settings, app.state.dispatcher)
    worker = start_worker_process(settings)
    config = uvicorn.Config(
        app, host=host, port=port, log_level="info", access_log=False
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        stop_process(worker)
        raise OSError(f"the server did not start on {host}:{port}")
    # Print the address as given, so both printed links share one browser origin
    # (the API token is kept per origin); a wildcard bind is shown as localhost.
    shown = "localhost" if host in ("0.0.0.0", "::") else host
    return EmbeddedServer(
        f"http://{shown}:{port}", settings.api_token, settings, worker, server, thread
    )


def _serve(args) -> int:
    from tidelens.settings import SettingsError

    try:
        handle = start_embedded(args.data_dir, args.host, args.port)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    except OSError as exc:
        print(
            f"cannot start on {args.host}:{args.port}: {exc.strerror or exc}. "
            "Is another TideLens running? Stop it or pass --port N.",
            file=sys.stderr,
        )
        return 1
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(f"TideLens is running at {handle.url_with_token}", flush=True)
    print(f"API docs: {handle.url}/docs   data: {handle.settings.data_dir}", flush=True)
    try:
        while not stop.is_set():
            if handle.worker.poll() is not None:
                log.error("serve.worker_exited code=%s", handle.worker.returncode)
                break
            if not handle.thread.is_alive():
                break
            stop.wait(0.5)
    finally:
        handle.stop()
    return 0


def _worker(args) -> int:
    from tidelens.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    cmd = worker_command(
        settings, beat=args.beat, concurrency=args.concurrency, pool=args.pool
    )
    os.execv(cmd[0], cmd)
    return 0  # not reached


def _migrate(_args) -> int:
    from tidelens.settings import SettingsError, load_settings
    from tidelens.store.db import migrate

    try:
        migrate(load_settings().database_url)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


def register(subparsers) -> None:
    serve = subparsers.add_parser(
        "serve", help="run TideLens on this machine (API, web app and a worker)"
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("TIDELENS_DATA_DIR", ".tidelens")),
        help="database, objects and queue (default .tidelens)",
    )
    serve.set_defaults(func=_serve)

    worker = subparsers.add_parser(
        "worker", help="run a job worker (team mode: settings from TIDELENS_*)"
    )
    worker.add_argument("--concurrency", type=int, default=1)
    worker.add_argument(
        "--pool", default="prefork", choices=["prefork", "solo", "threads"]
    )
    worker.add_argument(
        "--beat",
        action="store_true",
        help="also schedule the watched-folder scans (one worker)",
    )
    worker.set_defaults(func=_worker)

    mig = subparsers.add_parser("migrate", help="apply database migrations")
    mig.set_defaults(func=_migrate)


__all__ = ["EmbeddedServer", "start_embedded", "register"]
