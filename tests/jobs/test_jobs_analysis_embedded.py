"""Analysis end to end in embedded mode: API upload -> real worker on the
filesystem broker -> inference, TIDE, stored results and heatmaps."""

import pytest

pytestmark = pytest.mark.slow


def test_upload_analyse_and_read_results(
    client, small_voc, tiny_checkpoint, start_worker, wait, test_arch, api_setup
):
    dataset, run = api_setup.dataset_and_run(client, small_voc, test_arch)
    worker = start_worker(client.settings)
    with open(tiny_checkpoint, "rb") as f:
        resp = client.post(
            f"/api/runs/{run['id']}/checkpoints",
            headers=client.hdrs,
            data={"epoch": "1"},
            files={"file": ("e1.pt", f)},
        )
    assert resp.status_code == 201, resp.text
    job_id = resp.json()["job"]["id"]

    def finished():
        job = client.get(f"/api/jobs/{job_id}").json()
        return job if job["state"] in ("succeeded", "failed", "cancelled") else None

    job = wait(finished, timeout=240, what="analysis job")
    assert job["state"] == "succeeded", (job, worker.output()[-3000:])
    # The last stage (precomputing heatmaps) ran to its end.
    assert job["stage"] == "heatmaps" and job["done"] == job["total"]
    assert {"load", "inference", "tide", "store"} <= set(job["timings"])

    series = client.get(f"/api/runs/{run['id']}/series").json()["epochs"]
    assert [e["epoch"] for e in series] == [1]
    entry = series[0]
    assert set(entry["dap"]) == {"Cls", "Loc", "Both", "Dupe", "Bkg", "Miss"}
    assert set(entry["dap_special"]) == {"FalsePos", "FalseNeg"}
    total_errors = sum(entry["counts"].values())

    page = client.get(f"/api/runs/{run['id']}/errors", params={"epoch": 1}).json()
    assert page["total"] == total_errors > 0
    item = page["items"][0]
    assert set(item) >= {"id", "epoch", "type", "image", "pred", "gt", "iou"}
    assert item["image"]["thumbnail_url"].startswith("/api/objects/")
    assert client.get(item["image"]["thumbnail_url"]).status_code == 200

    story = client.get(f"/api/runs/{run['id']}/images/{item['image']['id']}").json()
    assert [e["epoch"] for e in story["epochs"]] == [1]
    assert any(e["id"] == item["id"] for e in story["epochs"][0]["errors"])

    # Precomputed maps exist for the top error of a type; fetch one.
    target = (
        f"det:{item['pred']['detection_id']}"
        if item["pred"]
        else f"gt:{item['gt']['id']}"
    )
    layers = next(
        a["layers"]
        for a in client.get("/api/config").json()["architectures"]
        if a["name"] == test_arch
    )
    params = {
        "image_id": item["image"]["id"],
        "target": target,
        "layers": ",".join(layers),
    }

    def maps_done():
        items = client.get(f"/api/runs/{run['id']}/heatmaps", params=params).json()
        items = items["items"]
        return items if all(i["status"] != "pending" for i in items) else None

    maps = wait(maps_done, timeout=120, what="heatmaps")
    assert [m["layer"] for m in maps] == layers
    assert all(m["status"] == "ready" for m in maps), maps
    png = client.get(maps[-1]["url"])
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert maps[-1]["min"] <= maps[-1]["max"]

    # Uploading the same bytes again is de-duplicated.
    with open(tiny_checkpoint, "rb") as f:
        again = client.post(
            f"/api/runs/{run['id']}/checkpoints",
            headers=client.hdrs,
            data={"epoch": "2"},
            files={"file": ("e1.pt", f)},
        )
    assert again.status_code == 200
    assert again.json()["checkpoint"]["epoch"] == 1
