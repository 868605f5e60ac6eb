"""`tidelens demo`: the embedded app with BCCD imported and a detector training live.

The demo drives the app the way a user would, through its HTTP API: it starts
`tidelens serve`, registers the BCCD validation split as a dataset, creates a
run, asks the app to watch a checkpoint folder, and trains a small detector from
scratch into that folder, one checkpoint per epoch. Each checkpoint is picked up
and analysed as it is written, so the error-evolution chart fills in live.
Running it again reuses the dataset, the run and the checkpoints already there.
"""

import argparse
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

log = logging.getLogger(__name__)

DEMO_ARCHITECTURE = "fasterrcnn_mobilenet_v3_large_320_fpn"
DEMO_EPOCHS = 8


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="start the app with BCCD imported and a detector training live",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--data-dir", type=Path, default=Path(".tidelens"), help="app state folder"
    )
    parser.add_argument(
        "--dataset",
        type=Path,
        default=None,
        help="a Pascal VOC folder with Annotations/, JPEGImages/ and "
        "ImageSets/Main/{train,val}.txt (default: BCCD from the shared data)",
    )
    parser.add_argument("--epochs", type=int, default=DEMO_EPOCHS)
    parser.add_argument(
        "--no-train", action="store_true", help="serve what exists, train nothing"
    )
    parser.set_defaults(func=run_demo)


def default_dataset() -> Path:
    shared = os.environ.get("TIDELENS_SHARED_DATA")
    base = (
        Path(shared)
        if shared
        else Path(__file__).resolve().parents[3].parent / "shared/data"
    )
    return base / "bccd" / "BCCD"


class DemoError(RuntimeError):
    """Something the person starting the demo has to fix; the message says what."""


class ApiClient:
    """A small JSON client for the app's own HTTP API (standard library only)."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token

    def request(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            try:
                detail = json.loads(detail)["error"]["message"]
            except (ValueError, KeyError, TypeError):
                pass
            raise DemoError(f"{method} {path} failed ({exc.code}): {detail}") from exc

    def wait_ready(self, server: subprocess.Popen, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise DemoError("the server exited during start-up; see its log above")
            try:
                with urllib.request.urlopen(self.base_url + "/api/ready", timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        raise DemoError(f"the server did not become ready within {timeout_s:.0f} s")


def _load_state(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _ensure_token(data_dir: Path) -> str:
    token = os.environ.get("TIDELENS_API_TOKEN")
    if token:
        return token
    path = data_dir / "demo-token"
    if path.exists():
        return path.read_text().strip()
    token = secrets.token_urlsafe(24)
    path.write_text(token)
    path.chmod(0o600)
    return token


def _ensure_run(api: ApiClient, state_path: Path, dataset: Path) -> dict:
    """Returns the demo's `{dataset_id, run_id}`, creating what is missing."""
    state = _load_state(state_path)
    if state.get("run_id"):
        try:
            api.request("GET", f"/api/runs/{state['run_id']}")
            return state
        except DemoError:
            log.info("demo.run_missing run_id=%s, creating it again", state["run_id"])
    found = api.request(
        "POST",
        "/api/datasets/register",
        {"name": "BCCD val", "path": str(dataset), "split": "val"},
    )
    run = api.request(
        "POST",
        "/api/runs",
        {
            "name": f"BCCD demo ({DEMO_ARCHITECTURE}, from scratch)",
            "dataset_id": found["id"],
            "architecture": DEMO_ARCHITECTURE,
        },
    )
    state = {"dataset_id": found["id"], "run_id": run["id"]}
    state_path.write_text(json.dumps(state))
    return state


def _start_training(
    dataset: Path, out_dir: Path, epochs: int
) -> subprocess.Popen | None:
    done = sorted(out_dir.glob("epoch_*.pt"))
    if len(done) >= epochs:
        log.info("demo.training_complete checkpoints=%d", len(done))
        return None
    cmd = [
        sys.executable, "-m", "tidelens.cli", "train",
        "--dataset", str(dataset), "--split", "train",
        "--architecture", DEMO_ARCHITECTURE,
        "--epochs", str(epochs), "--out", str(out_dir), "--resume",
    ]  # fmt: skip
    print(
        f"Training {DEMO_ARCHITECTURE} on BCCD train: "
        f"{len(done)}/{epochs} epochs so far"
    )
    return subprocess.Popen(cmd)


def run_demo(args: argparse.Namespace) -> int:
    dataset = (args.dataset or default_dataset()).resolve()
    if not (dataset / "Annotations").is_dir() or not (dataset / "JPEGImages").is_dir():
        print(
            f"tidelens demo: no Pascal VOC dataset at {dataset}.\n"
            "The demo uses BCCD from the shared data folder (../shared/data/bccd/BCCD "
            "beside the repository, or $TIDELENS_SHARED_DATA/bccd/BCCD).\n"
            "Pass another VOC folder with --dataset DIR (Annotations/, JPEGImages/, "
            "ImageSets/Main/train.txt and val.txt), or start the empty app with "
            "`tidelens serve` and upload your own data.",
            file=sys.stderr,
        )
        return 2

    data_dir = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    checkpoints = data_dir / "demo-checkpoints"
    checkpoints.mkdir(exist_ok=True)
    token = _ensure_token(data_dir)
    try:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((args.host, args.port))
    except OSError:
        print(
            f"tidelens demo: {args.host}:{args.port} is already in use "
            "(another TideLens?). Stop it or pass --port N.",
            file=sys.stderr,
        )
        return 1
    env = {**os.environ, "TIDELENS_API_TOKEN": token}
    server = subprocess.Popen(
        [
            sys.executable, "-m", "tidelens.cli", "serve",
            "--host", args.host, "--port", str(args.port),
            "--data-dir", str(data_dir),
        ],
        env=env,
    )  # fmt: skip
    trainer = None
    # SIGTERM (a service manager, `kill`) stops the demo like Ctrl+C does, so
    # the server, its worker and the trainer are never left behind.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        api = ApiClient(f"http://{args.host}:{args.port}", token)
        api.wait_ready(server)
        state = _ensure_run(api, data_dir / "demo.json", dataset)
        api.request(
            "POST", f"/api/runs/{state['run_id']}/watch", {"path": str(checkpoints)}
        )
        if not args.no_train:
            trainer = _start_training(dataset, checkpoints, args.epochs)
        shown = "localhost" if args.host in ("0.0.0.0", "::") else args.host
        url = f"http://{shown}:{args.port}/runs/{state['run_id']}#token={token}"
        print(f"\nTideLens demo is running: {url}\nPress Ctrl+C to stop.\n", flush=True)
        return _wait(server, trainer)
    except DemoError as exc:
        print(f"tidelens demo: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for proc in (trainer, server):
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in (trainer, server):
            if proc is not None:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _wait(server: subprocess.Popen, trainer: subprocess.Popen | None) -> int:
    while server.poll() is None:
        if trainer is not None and trainer.poll() is not None:
            if trainer.returncode != 0:
                print(
                    "tidelens demo: training stopped with an error (see above)",
                    file=sys.stderr,
                )
            else:
                print("Training finished; every epoch is being analysed.", flush=True)
            trainer = None
        time.sleep(1)
    return server.returncode or 0
