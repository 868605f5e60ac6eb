"""Team mode end to end: Postgres, a Redis-backed worker, SeaweedFS S3 with
presigned URLs; plus the watched folder and cancellation."""

import shutil

import httpx
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis, pytest.mark.s3]


@pytest.fixture
def team_client(tmp_path, postgres_url, redis_url, s3_server):
    from fastapi.testclient import TestClient
    from tidelens.api.app import create_app
    from tidelens.settings import load_settings

    settings = load_settings(
        mode="team",
        data_dir=tmp_path / "team",
        database_url=postgres_url,
        broker_url=redis_url,
        storage="s3",
        s3_endpoint=s3_server["endpoint"],
        s3_access_key=s3_server["access_key"],
        s3_secret_key=s3_server["secret_key"],
        s3_bucket=f"team-{tmp_path.name[-6:].lower().replace('_', '-')}",
        api_token="t" * 32,
        device="cpu",
        heatmaps_per_type=1,
    )
    with TestClient(create_app(settings, web_dir=tmp_path / "noweb")) as c:
        c.hdrs = {"Authorization": f"Bearer {settings.api_token}"}
        c.settings = settings
        yield c


def test_team_mode_analysis_with_presigned_urls(
    team_client, small_voc, tiny_checkpoint, start_worker, wait, test_arch, api_setup
):
    c = team_client
    assert c.get("/api/ready").json()["checks"]["broker"] == "ok"
    ds, run = api_setup.dataset_and_run(c, small_voc, test_arch)
    worker = start_worker(c.settings, pool="prefork")
    with open(tiny_checkpoint, "rb") as f:
        job = c.post(
            f"/api/runs/{run['id']}/checkpoints",
            headers=c.hdrs,
            data={"epoch": "3"},
            files={"file": ("w.pt", f)},
        ).json()["job"]

    def done():
        j = c.get(f"/api/jobs/{job['id']}").json()
        return j if j["state"] not in ("queued", "running") else None

    final = wait(done, timeout=240, what="team analysis")
    assert final["state"] == "succeeded", (final, worker.output()[-3000:])
    page = c.get(f"/api/runs/{run['id']}/errors", params={"limit": 2}).json()
    url = page["items"][0]["image"]["thumbnail_url"]
    assert url.startswith(c.settings.s3_endpoint)
    assert httpx.get(url).status_code == 200
    assert (
        httpx.get(url.replace("X-Amz-Signature=", "X-Amz-Signature=0")).status_code
        == 403
    )
    series = c.get(f"/api/runs/{run['id']}/series").json()["epochs"]
    assert [e["epoch"] for e in series] == [3]


def test_watched_folder_registers_complete_files_only(
    client, small_voc, tiny_checkpoint, tmp_path, monkeypatch, test_arch, api_setup
):
    from tidelens.jobs.dispatch import Dispatcher
    from tidelens.jobs.watch import scan_all

    ds, run = api_setup.dataset_and_run(client, small_voc, test_arch)
    folder = tmp_path / "ckpts"
    folder.mkdir()
    resp = client.post(
        f"/api/runs/{run['id']}/watch", headers=client.hdrs, json={"path": str(folder)}
    )
    assert resp.status_code == 201, resp.text
    settings = client.settings
    monkeypatch.setattr(settings, "watch_settle_seconds", 0.0)
    sent = []
    dispatcher = Dispatcher(settings)
    monkeypatch.setattr(dispatcher, "send", lambda job_id, kind: sent.append(kind))

    data = tiny_checkpoint.read_bytes()
    (folder / "epoch_002.pt").write_bytes(data[: len(data) // 2])  # half written
    (folder / "notes.txt").write_text("not a checkpoint")
    assert scan_all(settings, dispatcher) == 0
    (folder / "epoch_002.pt").write_bytes(data)  # now complete
    assert scan_all(settings, dispatcher) == 1
    assert scan_all(settings, dispatcher) == 0  # seen: not registered twice
    ckpts = client.get(f"/api/runs/{run['id']}/checkpoints").json()
    assert [(c["epoch"], c["source"]) for c in ckpts] == [(1, "watch")] or [
        (c["epoch"], c["source"]) for c in ckpts
    ] == [(2, "watch")]
    assert sent == ["analyze"]
    shutil.rmtree(folder)


def test_cancel_and_retry(client, small_voc, tiny_checkpoint, test_arch, api_setup):
    ds, run = api_setup.dataset_and_run(client, small_voc, test_arch)
    with open(tiny_checkpoint, "rb") as f:
        job = client.post(
            f"/api/runs/{run['id']}/checkpoints",
            headers=client.hdrs,
            data={"epoch": "1"},
            files={"file": ("w.pt", f)},
        ).json()["job"]
    assert job["state"] == "queued"
    assert client.post(f"/api/jobs/{job['id']}/cancel").status_code == 401
    cancelled = client.post(f"/api/jobs/{job['id']}/cancel", headers=client.hdrs)
    assert cancelled.json()["state"] == "cancelled"
    again = client.post(f"/api/jobs/{job['id']}/cancel", headers=client.hdrs)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "job_not_active"
    retried = client.post(f"/api/jobs/{job['id']}/retry", headers=client.hdrs)
    assert retried.json()["state"] == "queued"
    listed = client.get("/api/jobs", params={"run_id": run["id"]}).json()
    assert [j["id"] for j in listed] == [job["id"]]
