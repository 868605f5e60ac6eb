"""Object storage backends: local folder and a real S3 server (SeaweedFS)."""

import io
import time

import httpx
import pytest
from tidelens.store.objects import (
    InvalidKey,
    LocalObjectStore,
    ObjectNotFound,
    S3ObjectStore,
)


@pytest.fixture
def s3_store(s3_server, tmp_path):
    store = S3ObjectStore(
        s3_server["endpoint"],
        f"b{int(time.time() * 1000)}",
        s3_server["access_key"],
        s3_server["secret_key"],
        cache_dir=tmp_path,
    )
    store.ensure_bucket()
    return store


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalObjectStore(tmp_path / "objects", "secret")
    return request.getfixturevalue("s3_store")


def test_put_get_exists_delete(store, tmp_path):
    size = store.put_stream("a/b/c.bin", io.BytesIO(b"x" * 3_000_000))
    assert size == 3_000_000
    assert store.exists("a/b/c.bin") and not store.exists("a/b/none")
    assert store.get_bytes("a/b/c.bin") == b"x" * 3_000_000
    src = tmp_path / "src.txt"
    src.write_bytes(b"hello")
    store.put_file("a/d.txt", src)
    assert store.local_path("a/d.txt").read_bytes() == b"hello"
    store.delete("a/d.txt")
    assert not store.exists("a/d.txt")
    with pytest.raises(ObjectNotFound):
        store.get_bytes("a/d.txt")
    store.delete_prefix("a")
    assert not store.exists("a/b/c.bin")
    for bad in ("../x", "/abs", "a//b", "a/./b"):
        with pytest.raises(InvalidKey):
            store.put_bytes(bad, b"1")


@pytest.mark.s3
def test_s3_presigned_urls_are_checked(s3_store):
    s3_store.put_bytes("k/img.png", b"png-bytes", "image/png")
    url = s3_store.signed_url("k/img.png")
    ok = httpx.get(url)
    assert ok.status_code == 200 and ok.content == b"png-bytes"
    sig_start = url.index("X-Amz-Signature=") + len("X-Amz-Signature=")
    flipped = "0" if url[sig_start] != "0" else "1"
    tampered = url[:sig_start] + flipped + url[sig_start + 1 :]
    assert httpx.get(tampered).status_code == 403
    other_key = url.replace("k/img.png", "k/other.png")
    assert httpx.get(other_key).status_code == 403
    short = s3_store.signed_url("k/img.png", ttl=1)
    time.sleep(2.5)
    assert httpx.get(short).status_code == 403
    anonymous = url.split("?")[0]
    assert httpx.get(anonymous).status_code == 403


@pytest.mark.s3
def test_s3_public_endpoint_is_signed(s3_server, s3_store):
    public = S3ObjectStore(
        s3_server["endpoint"],
        s3_store.bucket,
        s3_server["access_key"],
        s3_server["secret_key"],
        public_endpoint="http://files.example:9000",
    )
    assert public.signed_url("k/x").startswith("http://files.example:9000/")
