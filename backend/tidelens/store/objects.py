"""Object storage: images, thumbnails, checkpoints, heatmaps.

Keys are relative POSIX paths such as ``datasets/3/images/a.jpg``. Two backends
share one interface: a local folder whose objects are served by the API under
HMAC-signed, expiring URLs, and an S3-compatible bucket with presigned URLs.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol
from urllib.parse import quote, urlencode

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024


class ObjectNotFound(KeyError):
    """No object under that key."""


class InvalidKey(ValueError):
    """A key that would leave the store (absolute, `..`, empty parts)."""


def check_key(key: str) -> str:
    path = PurePosixPath(key)
    if (
        not key
        or path.is_absolute()
        or any(part in ("", ".", "..") for part in key.split("/"))
        or "\\" in key
        or "\x00" in key
    ):
        raise InvalidKey(f"invalid object key {key!r}")
    return key


class ObjectStore(Protocol):
    def put_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        """Store a local file under key (moved when possible for local storage)."""

    def put_stream(
        self, key: str, stream: BinaryIO, content_type: str | None = None
    ) -> int:
        """Store bytes read in chunks from stream; return the byte count."""

    def put_bytes(
        self, key: str, data: bytes, content_type: str | None = None
    ) -> None: ...

    def get_bytes(self, key: str) -> bytes: ...

    def local_path(self, key: str) -> Path:
        """A readable local file with the object's bytes (downloaded if needed)."""

    def signed_url(self, key: str, ttl: int | None = None) -> str: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def delete_prefix(self, prefix: str) -> None: ...

    def check(self) -> None:
        """Raise if the store cannot be reached (readiness)."""


def _sign(secret: str, key: str, expires: int) -> str:
    msg = f"{key}\n{expires}".encode()
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()


class LocalObjectStore:
    """Objects as files under root; URLs point at the API's `/api/objects/{key}`.

    Expiry times are rounded up to a whole multiple of the TTL so that the same
    object gets the same URL for a while and browsers can cache it.
    """

    def __init__(self, root: Path, secret: str, base_url: str = "", ttl: int = 3600):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.secret = secret
        self.base_url = base_url.rstrip("/")
        self.ttl = ttl

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _tmp(self, key: str) -> Path:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        os.close(fd)
        return Path(tmp)

    def put_file(self, key, path, content_type=None):
        dest = self._path(key)
        tmp = self._tmp(key)
        shutil.copyfile(path, tmp)
        os.replace(tmp, dest)

    def put_stream(self, key, stream, content_type=None):
        dest = self._path(key)
        tmp = self._tmp(key)
        size = 0
        try:
            with open(tmp, "wb") as out:
                while chunk := stream.read(CHUNK):
                    out.write(chunk)
                    size += len(chunk)
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
        return size

    def put_bytes(self, key, data, content_type=None):
        tmp = self._tmp(key)
        tmp.write_bytes(data)
        os.replace(tmp, self._path(key))

    def get_bytes(self, key):
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    def local_path(self, key):
        path = self._path(key)
        if not path.is_file():
            raise ObjectNotFound(key)
        return path

    def signed_url(self, key, ttl=None):
        ttl = ttl or self.ttl
        expires = (int(time.time()) // ttl + 2) * ttl
        query = urlencode({"expires": expires, "sig": _sign(self.secret, key, expires)})
        return f"{self.base_url}/api/objects/{quote(key)}?{query}"

    def verify(self, key: str, expires: int, sig: str) -> bool:
        if expires < time.time():
            return False
        return hmac.compare_digest(_sign(self.secret, key, expires), sig)

    def exists(self, key):
        return self._path(key).is_file()

    def delete(self, key):
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix):
        path = self._path(prefix.rstrip("/"))
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)

    def check(self):
        if not os.access(self.root, os.W_OK):
            raise OSError("object folder is not writable")


class S3ObjectStore:
    """Objects in an S3 bucket; presigned GET URLs are signed for the public
    endpoint (browsers' address) since a signature covers the host."""

    def __init__(
        self,
        endpoint: str,
        bucket: str,
        access_key: str,
        secret_key: str,
        region: str = "us-east-1",
        public_endpoint: str | None = None,
        ttl: int = 3600,
        cache_dir: Path | None = None,
    ):
        import boto3
        from botocore.config import Config

        cfg = Config(signature_version="s3v4", s3={"addressing_style": "path"})
        kwargs = dict(
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=region,
            config=cfg,
        )
        self.client = boto3.client("s3", endpoint_url=endpoint, **kwargs)
        self.signer = boto3.client(
            "s3", endpoint_url=public_endpoint or endpoint, **kwargs
        )
        self.bucket = bucket
        self.ttl = ttl
        self.cache_dir = Path(cache_dir or tempfile.gettempdir()) / "s3-objects"

    def ensure_bucket(self) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self.client.create_bucket(Bucket=self.bucket)

    def _extra(self, content_type):
        return {"ContentType": content_type} if content_type else {}

    def put_file(self, key, path, content_type=None):
        self.client.upload_file(
            str(path), self.bucket, check_key(key), ExtraArgs=self._extra(content_type)
        )

    def put_stream(self, key, stream, content_type=None):
        counter = _CountingReader(stream)
        self.client.upload_fileobj(
            counter, self.bucket, check_key(key), ExtraArgs=self._extra(content_type)
        )
        return counter.count

    def put_bytes(self, key, data, content_type=None):
        self.client.put_object(
            Bucket=self.bucket,
            Key=check_key(key),
            Body=data,
            **self._extra(content_type),
        )

    def get_bytes(self, key):
        from botocore.exceptions import ClientError

        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
                raise ObjectNotFound(key) from None
            raise
        return obj["Body"].read()

    def local_path(self, key):
        dest = self.cache_dir / check_key(key)
        if dest.is_file():
            return dest
        if not self.exists(key):
            raise ObjectNotFound(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-")
        os.close(fd)
        try:
            self.client.download_file(self.bucket, key, tmp)
            os.replace(tmp, dest)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return dest

    def signed_url(self, key, ttl=None):
        return self.signer.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": check_key(key)},
            ExpiresIn=ttl or self.ttl,
        )

    def exists(self, key):
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=check_key(key))
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def delete(self, key):
        self.client.delete_object(Bucket=self.bucket, Key=check_key(key))

    def delete_prefix(self, prefix):
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys})

    def check(self):
        self.client.head_bucket(Bucket=self.bucket)


class _CountingReader:
    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.count += len(data)
        return data


def make_object_store(settings) -> ObjectStore:
    """The backend the settings choose."""
    if settings.storage == "s3":
        store = S3ObjectStore(
            endpoint=settings.s3_endpoint,
            bucket=settings.s3_bucket,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            region=settings.s3_region,
            public_endpoint=settings.s3_public_endpoint,
            ttl=settings.url_ttl_seconds,
            cache_dir=settings.cache_dir,
        )
        return store
    return LocalObjectStore(
        settings.objects_dir,
        settings.secret_key,
        base_url=settings.public_url or "",
        ttl=settings.url_ttl_seconds,
    )
