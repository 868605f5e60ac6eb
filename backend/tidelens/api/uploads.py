"""Streaming multipart uploads and safe zip extraction.

A file part is written chunk by chunk to a temporary file while it is hashed;
the body is never held in memory, and the size limit is enforced while reading
(and up front from Content-Length), so an oversized upload stops early.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

from tidelens.api.errors import ApiError, Invalid, TooLarge

log = logging.getLogger(__name__)

MAX_TEXT_FIELD = 64 * 1024


@dataclass
class UploadedFile:
    path: Path
    filename: str
    size: int
    sha256: str


@dataclass
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)

    def cleanup(self) -> None:
        for f in self.files.values():
            f.path.unlink(missing_ok=True)


async def read_form(request: Request, tmp_dir: Path, max_bytes: int) -> Form:
    """Parse a multipart/form-data body; file parts go to files in tmp_dir."""
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise ApiError(
            "send the upload as multipart/form-data", code="not_multipart", status=415
        )
    # The whole body may exceed the file limit by the other fields and part headers.
    max_body = max_bytes + 64 * 1024
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_body:
        raise TooLarge(
            f"upload is larger than the limit of {max_bytes} bytes",
            details={"limit": max_bytes},
        )
    form = Form()
    state: dict = {}
    error: list[ApiError] = []

    def on_part_begin():
        state.update(headers={}, field=b"", value=b"", out=None, buf=b"", size=0)

    def on_header_field(data, start, end):
        state["field"] += data[start:end]

    def on_header_value(data, start, end):
        state["value"] += data[start:end]

    def on_header_end():
        state["headers"][state["field"].decode("latin-1").lower()] = state["value"]
        state["field"], state["value"] = b"", b""

    def on_headers_finished():
        _, disp = parse_options_header(state["headers"].get("content-disposition", b""))
        state["name"] = disp.get(b"name", b"").decode("utf-8", "replace")
        filename = disp.get(b"filename")
        if filename is not None:
            fd, path = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
            state["out"] = os.fdopen(fd, "wb")
            state["path"] = Path(path)
            state["hash"] = hashlib.sha256()
            state["filename"] = PurePosixPath(
                filename.decode("utf-8", "replace").replace("\\", "/")
            ).name

    def on_part_data(data, start, end):
        if error:
            return
        chunk = data[start:end]
        state["size"] += len(chunk)
        if state["out"] is not None:
            if state["size"] > max_bytes:
                error.append(
                    TooLarge(
                        f"file is larger than the limit of {max_bytes} bytes",
                        details={"limit": max_bytes},
                    )
                )
                return
            state["out"].write(chunk)
            state["hash"].update(chunk)
        else:
            if state["size"] > MAX_TEXT_FIELD:
                error.append(Invalid(f"form field {state['name']!r} is too long"))
                return
            state["buf"] += chunk

    def on_part_end():
        if state.get("out") is not None:
            state["out"].close()
            replaced = form.files.get(state["name"])
            if replaced is not None:  # a repeated field: the last one counts
                replaced.path.unlink(missing_ok=True)
            form.files[state["name"]] = UploadedFile(
                state["path"],
                state["filename"],
                state["size"],
                state["hash"].hexdigest(),
            )
            state["out"] = None
        else:
            form.fields[state["name"]] = state["buf"].decode("utf-8", "replace")

    parser = MultipartParser(
        params[b"boundary"],
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    ended = False
    received = 0
    try:
        async for chunk in request.stream():
            # Many parts, each under the file limit, must not add up to more
            # (chunked bodies carry no Content-Length to check up front).
            received += len(chunk)
            if received > max_body:
                error.append(
                    TooLarge(
                        f"upload is larger than the limit of {max_bytes} bytes",
                        details={"limit": max_bytes},
                    )
                )
                break
            parser.write(chunk)
            if error:
                break
        parser.finalize()
        if not error and state.get("out") is not None:
            error.append(
                Invalid(
                    "the upload ended before the file was complete; send it again",
                    code="bad_upload",
                )
            )
        ended = True
    except ApiError:
        raise
    except Exception as exc:  # malformed multipart or a client that went away
        error.append(
            Invalid(
                f"the upload could not be read ({type(exc).__name__}); send it again",
                code="bad_upload",
            )
        )
    finally:
        out = state.get("out")
        if out is not None:
            out.close()
            state["path"].unlink(missing_ok=True)
        if error or not ended:
            form.cleanup()
    if error:
        raise error[0]
    return form


def require_file(form: Form, name: str = "file") -> UploadedFile:
    if name not in form.files:
        raise Invalid(f"the form needs a file field {name!r}", code="missing_file")
    upload = form.files[name]
    if upload.size == 0:
        raise Invalid("the uploaded file is empty", code="empty_file")
    return upload


class UnsafeZip(Invalid):
    code = "unsafe_zip"


# A ratio above this is far beyond images and annotation text (JPEG and PNG
# hardly compress; XML and JSON reach ~10-30x) and is what zip bombs look like.
MAX_COMPRESSION_RATIO = 200


def extract_zip(path: Path, dest: Path, *, max_files: int, max_unpacked: int) -> Path:
    """Extract a zip safely into dest and return the dataset folder within it.

    Refused: non-zip files, encrypted entries, absolute or ``..`` paths, links,
    more than max_files entries, more than max_unpacked bytes (counted while
    writing, not trusted from the headers), and suspicious compression ratios.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise Invalid(
            "the file is not a readable zip archive (truncated or another format)",
            code="bad_zip",
        ) from None
    with archive:
        infos = archive.infolist()
        if len(infos) > max_files:
            raise UnsafeZip(
                f"the zip has {len(infos)} entries; the limit is {max_files}"
            )
        declared = 0
        for info in infos:
            name = info.filename.replace("\\", "/")
            parts = PurePosixPath(name).parts
            if name.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
                raise UnsafeZip(f"the zip entry {name!r} points outside the archive")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise UnsafeZip(f"the zip entry {name!r} is a symbolic link")
            if info.flag_bits & 0x1:
                raise UnsafeZip(f"the zip entry {name!r} is encrypted")
            declared += info.file_size
            if info.file_size > 1024 * 1024 and (
                info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1)
            ):
                raise UnsafeZip(
                    f"the zip entry {name!r} expands suspiciously (zip bomb?)"
                )
        if declared > max_unpacked:
            raise UnsafeZip(
                f"the zip unpacks to {declared} bytes; the limit is {max_unpacked}"
            )
        written = 0
        root = dest.resolve()
        for info in infos:
            name = info.filename.replace("\\", "/")
            target = (root / name).resolve()
            if not target.is_relative_to(root):
                raise UnsafeZip(f"the zip entry {name!r} points outside the archive")
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(info) as src, open(target, "wb") as out:
                    while chunk := src.read(1024 * 1024):
                        written += len(chunk)
                        if written > max_unpacked:
                            raise UnsafeZip(
                                "the zip unpacks to more than the limit of "
                                f"{max_unpacked} bytes"
                            )
                        out.write(chunk)
            except (zipfile.BadZipFile, EOFError, zlib_error()):
                raise Invalid(
                    f"the zip entry {name!r} is damaged", code="bad_zip"
                ) from None
    return dataset_root(root)


def zlib_error():
    import zlib

    return zlib.error


def dataset_root(folder: Path) -> Path:
    """Skip single wrapper folders (``bccd.zip`` holding ``bccd/``) and macOS
    metadata folders."""
    shutil.rmtree(folder / "__MACOSX", ignore_errors=True)
    entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_dir():
        return dataset_root(entries[0])
    return folder
