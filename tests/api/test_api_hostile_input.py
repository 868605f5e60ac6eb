"""API: hostile and malformed input gets a clear 4xx envelope and leaves nothing
behind (regression tests named after what broke)."""

import base64
import io
import json
import zipfile

import pytest

BIG = 2**63


def _error(resp, status, code=None):
    assert resp.status_code == status, resp.text
    error = resp.json()["error"]
    if code:
        assert error["code"] == code, error
    assert "Traceback" not in resp.text and "/tmp/" not in resp.text
    return error


def test_ids_beyond_integer_columns_are_422_not_500(client, run):
    rid = run["id"]
    for path in (
        f"/api/datasets/{BIG}",
        f"/api/jobs/{BIG}",
        f"/api/runs/{BIG}/series",
        f"/api/runs/{rid}/errors?epoch={BIG}",
        f"/api/runs/{rid}/images/{2**31}",
    ):
        _error(client.get(path), 422, "validation_error")
    body = {"name": "x", "dataset_id": BIG, "architecture": "x"}
    _error(client.post("/api/runs", headers=client.hdrs, json=body), 422)
    heatmaps = f"/api/runs/{rid}/heatmaps?image_id=1&target=det:{BIG}"
    _error(client.get(heatmaps), 422, "bad_target")


def test_cursor_with_huge_numbers_is_refused(client, run, dataset):
    huge = base64.urlsafe_b64encode(f"{BIG}:1".encode()).decode()
    _error(
        client.get(f"/api/runs/{run['id']}/errors", params={"cursor": huge}),
        422,
        "bad_cursor",
    )
    huge = base64.urlsafe_b64encode(str(BIG).encode()).decode()
    _error(
        client.get(f"/api/datasets/{dataset['id']}/images", params={"cursor": huge}),
        422,
        "bad_cursor",
    )


@pytest.mark.parametrize("epoch", ["²", str(BIG), "-1", "1.5"])
def test_epoch_that_is_not_a_small_whole_number_is_refused(client, run, epoch):
    resp = client.post(
        f"/api/runs/{run['id']}/checkpoints",
        headers=client.hdrs,
        data={"epoch": epoch},
        files={"file": ("a.pt", b"x", "application/octet-stream")},
    )
    _error(resp, 422, "bad_epoch")


def _detections(client, run, payload: bytes, epoch="3"):
    return client.post(
        f"/api/runs/{run['id']}/detections",
        headers=client.hdrs,
        data={"epoch": epoch},
        files={"file": ("r.json", payload, "application/json")},
    )


@pytest.mark.parametrize(
    "bbox, score",
    [
        ("[NaN, 10, 40, 40]", "0.9"),
        ("[10, 10, Infinity, 40]", "0.9"),
        ("[10, 10, -40, 40]", "0.9"),
        ("[true, 10, 40, 40]", "0.9"),
        ("[10, 10, 40, 40]", "NaN"),
    ],
)
def test_detections_with_nan_negative_or_bool_boxes_are_refused_up_front(
    client, run, bbox, score
):
    payload = f'[{{"image_id": 1, "category_id": 1, "bbox": {bbox}, "score": {score}}}]'
    message = _error(_detections(client, run, payload.encode()), 422, "bad_detections")
    assert "entry 0" in message["message"]
    # nothing was stored for the refused file
    assert client.get(f"/api/runs/{run['id']}/checkpoints").json() == []


def test_deeply_nested_detections_json_is_a_clear_error(client, run):
    payload = b"[" * 100_000 + b"]" * 100_000
    error = _error(_detections(client, run, payload), 422, "bad_detections")
    assert "nested too deeply" in error["message"]


def _multipart(parts: list[tuple[str, str | None, bytes]], end=True) -> bytes:
    out = b""
    for name, filename, data in parts:
        disp = f'form-data; name="{name}"'
        if filename is not None:
            disp += f'; filename="{filename}"'
        out += f"--BB\r\nContent-Disposition: {disp}\r\n\r\n".encode() + data + b"\r\n"
    return out + (b"--BB--\r\n" if end else b"")


def _tmp_files(client):
    return sorted(p.name for p in client.settings.tmp_dir.iterdir())


def test_repeated_file_field_leaves_no_temp_file(client, run):
    body = _multipart([("file", "a.pt", b"abc"), ("file", "b.pt", b"def")])
    resp = client.post(
        f"/api/runs/{run['id']}/checkpoints",
        headers={**client.hdrs, "content-type": "multipart/form-data; boundary=BB"},
        content=body,
    )
    _error(resp, 422, "bad_checkpoint")
    assert _tmp_files(client) == []


def test_truncated_multipart_says_the_upload_ended_early(client, run):
    body = _multipart([("file", "a.pt", b"x" * 1000)], end=False)[:-2]
    resp = client.post(
        f"/api/runs/{run['id']}/checkpoints",
        headers={**client.hdrs, "content-type": "multipart/form-data; boundary=BB"},
        content=body,
    )
    _error(resp, 422, "bad_upload")
    assert _tmp_files(client) == []


def test_many_small_file_parts_cannot_exceed_the_upload_limit(client, run):
    client.settings.max_checkpoint_bytes = 1024 * 1024
    parts = [(f"f{i}", "x", b"\1" * 400_000) for i in range(5)]  # 2 MB in all
    body = _multipart(parts)

    def chunks():  # no Content-Length, as a chunked upload would send
        for i in range(0, len(body), 65536):
            yield body[i : i + 65536]

    resp = client.post(
        f"/api/runs/{run['id']}/checkpoints",
        headers={**client.hdrs, "content-type": "multipart/form-data; boundary=BB"},
        content=chunks(),
    )
    _error(resp, 413, "too_large")
    assert _tmp_files(client) == []


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _voc_zip(small_voc) -> dict[str, bytes]:
    return {
        f"BCCD/{p.relative_to(small_voc).as_posix()}": p.read_bytes()
        for p in small_voc.rglob("*")
        if p.is_file()
    }


def test_split_with_a_path_cannot_read_files_outside_the_zip(client, small_voc):
    secret = client.settings.data_dir / "secret-split.txt"
    secret.write_text("TOPSECRET\n")
    split = "../" * 12 + str(secret.with_suffix("")).lstrip("/")
    resp = client.post(
        "/api/datasets",
        headers=client.hdrs,
        data={"name": "s", "split": split},
        files={"file": ("d.zip", _zip(_voc_zip(small_voc)), "application/zip")},
    )
    assert resp.status_code == 422, resp.text  # the message echoes the split given
    assert "not a plain name" in resp.json()["error"]["message"]
    assert "TOPSECRET" not in resp.text
    assert client.get("/api/datasets").json() == []


def test_register_with_a_split_path_is_refused(client, small_voc):
    resp = client.post(
        "/api/datasets/register",
        headers=client.hdrs,
        json={"name": "s", "path": str(small_voc), "split": "../../etc/x"},
    )
    assert resp.status_code == 422, resp.text  # names the folder the user gave
    assert "not a plain name" in resp.json()["error"]["message"]


def _coco_zip(small_voc, images, annotations, categories=None) -> bytes:
    jpg = next((small_voc / "JPEGImages").glob("*.jpg")).read_bytes()
    data = {
        "images": images,
        "annotations": annotations,
        "categories": categories or [{"id": 1, "name": "cell"}],
    }
    return _zip({"ds/annotations/i.json": json.dumps(data), "ds/images/a.jpg": jpg})


def _upload(client, payload: bytes):
    return client.post(
        "/api/datasets",
        headers=client.hdrs,
        data={"name": "c"},
        files={"file": ("c.zip", payload, "application/zip")},
    )


IMAGE = {"id": 1, "file_name": "a.jpg", "width": 640, "height": 480}
BOX = {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 50, 50]}


@pytest.mark.parametrize(
    "image, annotation, category, needle",
    [
        ({"file_name": "/etc/hostname"}, {}, None, "inside the dataset"),
        ({"file_name": "../../../etc/hostname"}, {}, None, "inside the dataset"),
        ({"width": float("inf")}, {}, None, "positive numbers"),
        ({"width": 1e300}, {}, None, "positive numbers"),
        ({"width": -5}, {}, None, "positive numbers"),
        ({"id": 2**70}, {"image_id": 2**70}, None, "too large"),
        ({}, {"category_id": 2**70}, {"id": 2**70, "name": "cell"}, "too large"),
        ({"file_name": "b.jpg"}, {}, None, "b.jpg named in the annotations"),
    ],
)
def test_hostile_coco_fields_are_refused_with_the_reason(
    client, small_voc, image, annotation, category, needle
):
    payload = _coco_zip(
        small_voc,
        [{**IMAGE, **image}],
        [{**BOX, **annotation}],
        [category] if category else None,
    )
    error = _error(_upload(client, payload), 422, "bad_dataset")
    assert needle in error["message"]
    assert client.get("/api/datasets").json() == []
    objects = client.settings.objects_dir / "datasets"
    assert not objects.exists() or not any(objects.rglob("*.*"))


def test_dropped_entries_name_files_inside_the_dataset_not_server_paths(
    client, small_voc
):
    payload = _coco_zip(small_voc, [IMAGE], [{**BOX, "bbox": [10, 10, 0, 5]}])
    resp = _upload(client, payload)
    assert resp.status_code == 201, resp.text
    assert resp.json()["dropped"][0]["file"] == "annotations/i.json"
    assert str(client.settings.data_dir) not in resp.text


def test_wrong_method_message_says_what_to_do(client):
    error = _error(client.put("/api/datasets", headers=client.hdrs), 405)
    assert "PUT" in error["message"] and "/docs" in error["message"]


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_write_to_an_unknown_api_path_is_404_not_405(client, method):
    resp = getattr(client, method)("/api/no-such-thing", headers=client.hdrs)
    _error(resp, 404)
