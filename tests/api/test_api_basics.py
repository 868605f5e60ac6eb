"""API: health, config, auth, the error envelope, datasets and runs."""

import io
import zipfile

import pytest


def _envelope(resp, status, code=None):
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {
        "code",
        "message",
        "details",
    }
    if code:
        assert body["error"]["code"] == code
    text = resp.text
    assert "Traceback" not in text and "/work/" not in text and "/tmp/" not in text
    return body["error"]


def test_health_ready_config(client, test_arch):
    assert client.get("/api/health").json() == {"status": "ok"}
    ready = client.get("/api/ready").json()
    assert ready["checks"] == {"database": "ok", "storage": "ok", "broker": "ok"}
    config = client.get("/api/config").json()
    assert config["auth_required"] is True
    assert "gradcam" in config["methods"]
    assert any(a["name"] == test_arch and a["layers"] for a in config["architectures"])
    assert client.get("/docs").status_code == 200
    assert "/api/runs/{run_id}/errors" in client.get("/openapi.json").json()["paths"]


def test_writes_need_the_token(client):
    body = {"name": "x", "path": "/nonexistent"}
    _envelope(client.post("/api/datasets/register", json=body), 401, "auth_required")
    _envelope(
        client.post(
            "/api/datasets/register",
            json=body,
            headers={"Authorization": "Bearer wrong"},
        ),
        403,
        "forbidden",
    )
    _envelope(
        client.post(
            "/api/datasets/register", json=body, headers={"Authorization": "Basic abc"}
        ),
        401,
    )
    # With the token the same request reaches validation.
    _envelope(
        client.post("/api/datasets/register", json=body, headers=client.hdrs),
        422,
        "not_a_folder",
    )


def test_error_envelope_for_404_422_and_unknown_routes(client):
    _envelope(client.get("/api/datasets/999"), 404, "not_found")
    _envelope(client.get("/api/runs/999/series"), 404, "not_found")
    _envelope(client.get("/api/jobs/abc"), 422, "validation_error")
    _envelope(client.get("/api/no/such/thing"), 404, "not_found")
    err = _envelope(
        client.post("/api/runs", headers=client.hdrs, json={"name": ""}),
        422,
        "validation_error",
    )
    fields = {f["field"] for f in err["details"]["fields"]}
    assert {"name", "dataset_id", "architecture"} <= fields


def test_dataset_register_list_and_images(client, dataset, small_voc):
    assert dataset["image_count"] == 6
    assert [c["name"] for c in dataset["categories"]] == ["Platelets", "RBC", "WBC"]
    assert [d["id"] for d in client.get("/api/datasets").json()] == [dataset["id"]]
    first = client.get(
        f"/api/datasets/{dataset['id']}/images", params={"limit": 4}
    ).json()
    assert first["total"] == 6 and len(first["items"]) == 4 and first["next_cursor"]
    rest = client.get(
        f"/api/datasets/{dataset['id']}/images",
        params={"limit": 4, "cursor": first["next_cursor"]},
    ).json()
    assert rest["next_cursor"] is None
    ids = [i["id"] for i in first["items"] + rest["items"]]
    assert ids == sorted(ids) and len(set(ids)) == 6
    image = first["items"][0]
    assert image["ground_truth"] and len(image["ground_truth"][0]["bbox"]) == 4
    thumb = client.get(image["thumbnail_url"])
    assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"
    full = client.get(image["url"])
    stem = image["file_name"]
    assert full.content == (small_voc / stem).read_bytes()
    _envelope(
        client.get(f"/api/datasets/{dataset['id']}/images", params={"cursor": "!!"}),
        422,
        "bad_cursor",
    )


def test_runs_create_list_get_delete(client, dataset, run, test_arch):
    assert run["classes"] == ["Platelets", "RBC", "WBC"]
    assert run["checkpoint_count"] == 0
    assert [r["id"] for r in client.get("/api/runs").json()] == [run["id"]]
    _envelope(
        client.post(
            "/api/runs",
            headers=client.hdrs,
            json={"name": "x", "dataset_id": dataset["id"], "architecture": "nope"},
        ),
        422,
        "unknown_architecture",
    )
    _envelope(
        client.post(
            "/api/runs",
            headers=client.hdrs,
            json={
                "name": "x",
                "dataset_id": dataset["id"],
                "architecture": test_arch,
                "classes": ["Cat"],
            },
        ),
        422,
        "bad_classes",
    )
    _envelope(client.delete(f"/api/runs/{run['id']}"), 401)
    assert (
        client.delete(f"/api/runs/{run['id']}", headers=client.hdrs).status_code == 204
    )
    _envelope(client.get(f"/api/runs/{run['id']}"), 404)


def test_series_and_errors_empty_before_analysis(client, run):
    assert client.get(f"/api/runs/{run['id']}/series").json() == {"epochs": []}
    page = client.get(f"/api/runs/{run['id']}/errors").json()
    assert page == {"items": [], "next_cursor": None, "total": 0}
    _envelope(client.get(f"/api/runs/{run['id']}/errors", params={"type": "Nope"}), 422)


def _zip(entries: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _voc_zip(small_voc) -> bytes:
    entries = {}
    for path in small_voc.rglob("*"):
        if path.is_file():
            entries["bccd/" + str(path.relative_to(small_voc))] = path.read_bytes()
    return _zip(entries)


def test_dataset_zip_upload(client, small_voc):
    resp = client.post(
        "/api/datasets",
        headers=client.hdrs,
        data={"name": "zipped", "split": "train"},
        files={"file": ("bccd.zip", _voc_zip(small_voc))},
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["image_count"] == 12


def _objects(client):
    root = client.settings.objects_dir
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    "payload, code",
    [
        (b"not a zip at all", "bad_zip"),
        (None, "bad_zip"),  # truncated, filled in below
        ({"../evil.txt": b"x"}, "unsafe_zip"),
        ({"/abs/evil.txt": b"x"}, "unsafe_zip"),
        ({"bomb.xml": b"\0" * (30 * 1024 * 1024)}, "unsafe_zip"),
        ({"readme.txt": b"hello"}, "bad_dataset"),
    ],
)
def test_hostile_or_broken_zips_are_refused_cleanly(client, small_voc, payload, code):
    if payload is None:
        payload = _voc_zip(small_voc)[:-2000]
    elif isinstance(payload, dict):
        payload = _zip(payload)
    before = _objects(client)
    resp = client.post(
        "/api/datasets",
        headers=client.hdrs,
        data={"name": "bad"},
        files={"file": ("d.zip", payload)},
    )
    _envelope(resp, 422, code)
    assert client.get("/api/datasets").json() == []
    assert _objects(client) == before
    assert list(client.settings.tmp_dir.iterdir()) == []


def test_upload_size_limit(client, monkeypatch):
    monkeypatch.setattr(client.settings, "max_dataset_zip_bytes", 1000)
    resp = client.post(
        "/api/datasets",
        headers=client.hdrs,
        data={"name": "big"},
        files={"file": ("d.zip", b"x" * 5000)},
    )
    _envelope(resp, 413, "too_large")
    assert list(client.settings.tmp_dir.iterdir()) == []


def test_non_multipart_upload(client):
    _envelope(client.post("/api/datasets", headers=client.hdrs, json={"a": 1}), 415)


def test_signed_urls_refuse_tampering_and_expiry(client, dataset):
    image = client.get(f"/api/datasets/{dataset['id']}/images").json()["items"][0]
    url = image["url"]
    assert client.get(url).status_code == 200
    tampered = url.replace("sig=", "sig=0")
    _envelope(client.get(tampered), 403, "bad_signature")
    other = url.replace("/images/", "/thumbnails/", 1)
    _envelope(client.get(other), 403)
    store = client.app.state.objects
    key = url.split("/api/objects/")[1].split("?")[0]
    expired = store.signed_url(key, ttl=10).split("expires=")[0]
    from tidelens.store.objects import _sign

    sig = _sign(store.secret, key, 1000)
    _envelope(client.get(f"{expired}expires=1000&sig={sig}"), 403)
    _envelope(client.get("/api/objects/../secret-key?expires=99999999999&sig=x"), 404)


def test_checkpoint_upload_refuses_non_checkpoints(client, run, tiny_checkpoint):
    url = f"/api/runs/{run['id']}/checkpoints"
    _envelope(
        client.post(
            url,
            headers=client.hdrs,
            data={"epoch": "1"},
            files={"file": ("x.pt", b"hello")},
        ),
        422,
        "bad_checkpoint",
    )
    cut = tiny_checkpoint.read_bytes()[:100_000]
    _envelope(
        client.post(
            url, headers=client.hdrs, data={"epoch": "1"}, files={"file": ("x.pt", cut)}
        ),
        422,
        "bad_checkpoint",
    )
    _envelope(
        client.post(
            url,
            headers=client.hdrs,
            data={"epoch": "x"},
            files={"file": ("x.pt", b"1")},
        ),
        422,
        "bad_epoch",
    )
    _envelope(
        client.post(
            url,
            headers=client.hdrs,
            data={"epoch": "1"},
            files={"weights": ("x.pt", b"1")},
        ),
        422,
        "missing_file",
    )
    assert client.get(url).json() == []
    assert client.get("/api/jobs").json() == []
    assert list(client.settings.tmp_dir.iterdir()) == []


def test_web_app_fallback(client, tmp_path):
    from fastapi.testclient import TestClient
    from tidelens.api.app import create_app

    web = tmp_path / "web"
    (web / "assets").mkdir(parents=True)
    (web / "index.html").write_text("<html>app</html>")
    (web / "assets" / "a.js").write_text("js")
    with TestClient(create_app(client.settings, web_dir=web)) as c:
        assert c.get("/").text == "<html>app</html>"
        assert c.get("/runs/3/images/4?epoch=2").text == "<html>app</html>"
        assert c.get("/assets/a.js").text == "js"
        assert c.get("/api/nothing").status_code == 404
        assert c.get("/../secret-key").text == "<html>app</html>"
