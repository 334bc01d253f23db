"""Screenshot backdrops: PNG validation, content-addressed files, metadata rows (CONTRACT 6).

Files live at ``screenshot_dir / sha[:2] / f"{sha}.png"`` and are stored exactly as uploaded; the same
image uploaded twice is one file and two metadata rows. The file is written before its row, so a row never
points at a missing file (a failed insert at worst leaves a file that the next identical upload reuses).

Untrusted images are checked from their IHDR header first: the size, the dimensions and the pixel count are
refused before Pillow is asked to decode anything, so a decompression bomb costs a few bytes of parsing.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any, Literal

from PIL import Image, UnidentifiedImageError
from sqlalchemy import Engine, insert, select

from data_layer.db import write_transaction
from data_layer.errors import BadRequest
from data_layer.schema import screenshots

MAX_BYTES = 10 * 1024 * 1024
MAX_WIDTH = 4_000
MAX_HEIGHT = 40_000
MAX_PIXELS = 60_000_000
MAX_SCREEN_NAME = 200
MAX_PAGE_KEY = 2048
MAX_BREAKPOINT = 16
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Signature, then the IHDR chunk: length 13, type, width and height as big-endian uint32.
_IHDR = struct.Struct(">8sI4sII")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

ScreenshotKind = Literal["mobile", "web"]


@dataclass(frozen=True)
class CaptureOrigin:
    """Where a captured backdrop came from: the URL the page ended on, its document size in CSS px."""

    url: str
    document_width: int
    document_height: int


class ScreenshotError(BadRequest):
    """The upload is refused; the message says why, in words fit for the person who uploaded it."""


@dataclass(frozen=True)
class PngInfo:
    """What an accepted PNG is: pixel size, lowercase hex SHA-256 of the bytes, byte size."""

    width: int
    height: int
    sha256: str
    size_bytes: int


def _header_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which the PNG format requires to come first."""
    if len(data) < _IHDR.size or not data.startswith(PNG_SIGNATURE):
        raise ScreenshotError("the image must be a PNG file (its first bytes are not a PNG signature)")
    _, length, chunk_type, width, height = _IHDR.unpack_from(data)
    if chunk_type != b"IHDR" or length != 13 or width == 0 or height == 0:
        raise ScreenshotError("the image is not a valid PNG file (its header is damaged)")
    return width, height


def _check_limits(width: int, height: int) -> None:
    if width > MAX_WIDTH or height > MAX_HEIGHT:
        raise ScreenshotError(
            f"the image is {width} x {height} px; at most {MAX_WIDTH} px wide and {MAX_HEIGHT} px high "
            "is accepted"
        )
    if width * height > MAX_PIXELS:
        raise ScreenshotError(
            f"the image is {width} x {height} px = {width * height:,} pixels; at most "
            f"{MAX_PIXELS:,} pixels (60 megapixels) is accepted"
        )


def _decode_fully(data: bytes) -> None:
    """Prove Pillow decodes every byte: chunk CRCs up to IEND (verify), then all pixels (load)."""
    try:
        with Image.open(BytesIO(data), formats=["PNG"]) as image:
            image.verify()
        with Image.open(BytesIO(data), formats=["PNG"]) as image:
            image.load()
    except UnidentifiedImageError as exc:
        raise ScreenshotError("the image is not a valid PNG file (it cannot be read as a PNG)") from exc
    # Pillow reports malformed files with many exception types (OSError, SyntaxError, ValueError,
    # EOFError, zlib and struct errors, DecompressionBombError); each means "not a usable PNG".
    except Exception as exc:
        raise ScreenshotError(f"the image is not a valid PNG file: {exc}") from exc


def inspect_png(
    data: bytes, *, declared_width: int | None = None, declared_height: int | None = None
) -> PngInfo:
    """Validate an uploaded screenshot and describe it; raise :class:`ScreenshotError` when refused.

    Rules: at most 10 MiB; a PNG (a JPEG or anything else is refused); at most 4,000 px wide, 40,000 px
    high and 60 megapixels, checked from the header before any decoding; the whole image must decode
    (truncated or corrupt files are refused); ``declared_width``/``declared_height``, when given, must
    equal the image's own size (UploadScreenshot passes the request's values, 0 when absent).
    Decoding an image at the limit briefly holds its pixels in memory (up to about 240 MB).
    """
    if len(data) > MAX_BYTES:
        raise ScreenshotError(f"the image is {len(data):,} bytes; at most {MAX_BYTES:,} bytes (10 MiB)")
    width, height = _header_size(data)
    _check_limits(width, height)
    _decode_fully(data)
    if declared_width is not None and declared_width != width:
        raise ScreenshotError(f"width: declared {declared_width} px but the image is {width} px wide")
    if declared_height is not None and declared_height != height:
        raise ScreenshotError(f"height: declared {declared_height} px but the image is {height} px high")
    return PngInfo(width, height, hashlib.sha256(data).hexdigest(), len(data))


def screenshot_path(screenshot_dir: Path, sha256: str) -> Path:
    """Where the PNG with this (lowercase hex) SHA-256 is stored."""
    if not _SHA256.match(sha256):
        raise ValueError(f"not a lowercase hex SHA-256: {sha256[:80]!r}")
    return screenshot_dir / sha256[:2] / f"{sha256}.png"


def _store_file(screenshot_dir: Path, sha256: str, data: bytes) -> None:
    """Write the file once, atomically: readers see either no file or the complete one."""
    path = screenshot_path(screenshot_dir, sha256)
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{sha256}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def read_screenshot_file(screenshot_dir: Path, sha256: str) -> bytes:
    """The stored PNG bytes; FileNotFoundError when the file is gone (e.g. the directory was wiped)."""
    return screenshot_path(screenshot_dir, sha256).read_bytes()


def _rfc3339(moment: datetime) -> str:
    """Naive UTC datetime as RFC 3339 with ``Z``, with 0, 3 or 6 fraction digits like proto3 JSON."""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond % 1000:
        text += f".{moment.microsecond:06d}"
    elif moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


def _as_utc_naive(moment: datetime | None) -> datetime:
    """Aware datetimes converted to UTC; naive ones are taken as UTC already."""
    if moment is None:
        moment = datetime.now(UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _entity(row: Mapping[str, Any]) -> dict[str, Any]:
    """A metadata row as the API shows it: ScreenScreenshot for mobile, pageKey + breakpoint for web."""
    entity = {"id": row["id"]}
    if row["kind"] == "mobile":
        entity["screenName"] = row["screen_name"]
    else:
        entity.update(pageKey=row["page_key"], breakpoint=row["breakpoint"])
    entity.update(
        width=row["width"],
        height=row["height"],
        sizeBytes=row["size_bytes"],
        sha256=row["sha256"],
        createdAt=_rfc3339(row["created_at"]),
    )
    if row["kind"] == "web":  # where a backdrop came from; the mobile ScreenScreenshot shape is fixed
        entity.update(
            source=row["source"],
            url=row["source_url"],
            documentWidth=row["document_width"],
            documentHeight=row["document_height"],
        )
    return entity


def _check_owner(
    kind: ScreenshotKind, screen_name: str | None, page_key: str | None, breakpoint: str | None
) -> None:
    if kind == "mobile":
        if not screen_name or len(screen_name) > MAX_SCREEN_NAME:
            raise ScreenshotError(f"screen_name: required, 1-{MAX_SCREEN_NAME} characters")
        return
    if not page_key or len(page_key) > MAX_PAGE_KEY:
        raise ScreenshotError(f"pageKey: required, 1-{MAX_PAGE_KEY} characters")
    if not breakpoint or len(breakpoint) > MAX_BREAKPOINT:
        raise ScreenshotError("breakpoint: required")


def save_screenshot(
    engine: Engine,
    screenshot_dir: Path,
    data: bytes,
    *,
    kind: ScreenshotKind,
    screen_name: str | None = None,
    page_key: str | None = None,
    breakpoint: str | None = None,
    declared_width: int | None = None,
    declared_height: int | None = None,
    created_by: str | None = None,
    now: datetime | None = None,
    capture: CaptureOrigin | None = None,
) -> dict[str, Any]:
    """Validate (see :func:`inspect_png`), store the file and a metadata row; return the entity.

    ``kind="mobile"`` needs ``screen_name``; ``kind="web"`` needs ``page_key`` (already normalised by the
    caller) and ``breakpoint`` (already validated by the caller). ``created_by`` is the uploading token's
    user id (stored, not returned). ``now`` defaults to the current time. ``capture`` marks a web backdrop
    photographed by the product (source ``capture``) rather than uploaded. Raises :class:`ScreenshotError`.
    """
    _check_owner(kind, screen_name, page_key, breakpoint)
    info = inspect_png(data, declared_width=declared_width, declared_height=declared_height)
    _store_file(screenshot_dir, info.sha256, data)
    row = {
        "id": uuid.uuid4().hex,
        "kind": kind,
        "screen_name": screen_name if kind == "mobile" else None,
        "page_key": page_key if kind == "web" else None,
        "breakpoint": breakpoint if kind == "web" else None,
        "width": info.width,
        "height": info.height,
        "size_bytes": info.size_bytes,
        "sha256": info.sha256,
        "created_at": _as_utc_naive(now),
        "created_by": created_by,
        "source": "capture" if capture else "upload",
        "source_url": capture.url if capture else None,
        "document_width": capture.document_width if capture else None,
        "document_height": capture.document_height if capture else None,
    }
    with write_transaction(engine) as conn:
        conn.execute(insert(screenshots).values(**row))
    return _entity(row)


def _query(engine: Engine, *conditions: Any, limit: int | None = None) -> list[dict[str, Any]]:
    """Matching rows as entities, newest first, ties by id."""
    query = (
        select(screenshots)
        .where(*conditions)
        .order_by(screenshots.c.created_at.desc(), screenshots.c.id.asc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return [_entity(row._mapping) for row in conn.execute(query)]


def list_screen_screenshots(engine: Engine, screen_name: str) -> list[dict[str, Any]]:
    """Screenshots of one mobile screen, newest first (ties by id); [] when there are none."""
    return _query(engine, screenshots.c.kind == "mobile", screenshots.c.screen_name == screen_name)


def list_page_screenshots(engine: Engine) -> list[dict[str, Any]]:
    """Every web screenshot (all pages and breakpoints), newest first (ties by id)."""
    return _query(engine, screenshots.c.kind == "web")


def latest_page_screenshot(engine: Engine, page_key: str, breakpoint: str) -> dict[str, Any] | None:
    """The backdrop of a (pageKey, breakpoint): its newest screenshot, or None."""
    found = _query(
        engine,
        screenshots.c.kind == "web",
        screenshots.c.page_key == page_key,
        screenshots.c.breakpoint == breakpoint,
        limit=1,
    )
    return found[0] if found else None


def get_screenshot(engine: Engine, screenshot_id: str) -> dict[str, Any] | None:
    """One screenshot (mobile or web shape) by id, or None; its bytes via :func:`read_screenshot_file`."""
    if "\x00" in screenshot_id:  # no id holds NUL, and PostgreSQL refuses it in a comparison
        return None
    found = _query(engine, screenshots.c.id == screenshot_id, limit=1)
    return found[0] if found else None
