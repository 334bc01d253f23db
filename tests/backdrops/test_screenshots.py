"""Screenshot validation and storage (CONTRACT 6); storage tests run on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zlib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import Engine, func, select

from data_layer.schema import screenshots
from data_layer.screenshots import (
    PngInfo,
    ScreenshotError,
    get_screenshot,
    inspect_png,
    latest_page_screenshot,
    list_page_screenshots,
    list_screen_screenshots,
    read_screenshot_file,
    save_screenshot,
)
from data_layer.settings import Settings

MIB = 1024 * 1024
T0 = datetime(2024, 3, 1, 12, 30, tzinfo=UTC)


def _png(width: int = 50, height: int = 40, mode: str = "RGB", color: int | tuple[int, ...] = 0) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


def _chunk(chunk_type: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + chunk_type + data + struct.pack(">I", zlib.crc32(chunk_type + data))


def _png_header_only(width: int, height: int) -> bytes:
    """A well-formed PNG prefix (valid CRCs) that claims ``width`` x ``height`` RGB pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _refused(data: bytes, **declared: int) -> str:
    with pytest.raises(ScreenshotError) as caught:
        inspect_png(data, **declared)
    return str(caught.value)


# --- inspect_png ---------------------------------------------------------------------------------------


def test_valid_png_described() -> None:
    data = _png(50, 40)
    assert inspect_png(data) == PngInfo(width=50, height=40, sha256=_sha(data), size_bytes=len(data))
    assert inspect_png(data, declared_width=50, declared_height=40) == inspect_png(data)


def test_declared_size_must_match() -> None:
    data = _png(50, 40)
    assert _refused(data, declared_width=40) == "width: declared 40 px but the image is 50 px wide"
    assert _refused(data, declared_height=50) == "height: declared 50 px but the image is 40 px high"
    # A proto3 request without width/height carries 0, which never matches.
    assert _refused(data, declared_width=0, declared_height=0) == (
        "width: declared 0 px but the image is 50 px wide"
    )


def test_jpeg_refused_even_if_named_png(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (50, 40)).save(buffer, "JPEG")
    (tmp_path / "shot.png").write_bytes(buffer.getvalue())
    assert _refused((tmp_path / "shot.png").read_bytes()) == (
        "the image must be a PNG file (its first bytes are not a PNG signature)"
    )


@pytest.mark.parametrize("data", [b"", b"hello", b"GIF89a" + b"\x00" * 40, b"\x89PNG\r\n\x1a\n"])
def test_other_bytes_refused(data: bytes) -> None:
    assert _refused(data) == "the image must be a PNG file (its first bytes are not a PNG signature)"


def test_png_signature_with_jpeg_body_refused() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (50, 40)).save(buffer, "JPEG")
    forged = b"\x89PNG\r\n\x1a\n" + buffer.getvalue()
    assert _refused(forged) == "the image is not a valid PNG file (its header is damaged)"


def test_truncated_png_refused() -> None:
    data = _png(50, 40)
    assert _refused(data[:-30]).startswith("the image is not a valid PNG file: ")
    assert _refused(data[:40]).startswith("the image is not a valid PNG file")


def test_corrupted_pixel_data_refused() -> None:
    data = _png(50, 40, color=(200, 10, 10))
    at = data.index(b"IDAT") + 6
    corrupted = data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]
    assert _refused(corrupted) == (
        "the image is not a valid PNG file: broken PNG file (bad header checksum in b'IDAT')"
    )


@pytest.mark.parametrize(
    ("width", "height", "message"),
    [
        (4001, 1, "the image is 4001 x 1 px; at most 4000 px wide and 40000 px high is accepted"),
        (1, 40001, "the image is 1 x 40001 px; at most 4000 px wide and 40000 px high is accepted"),
        (
            4000,
            15001,
            "the image is 4000 x 15001 px = 60,004,000 pixels; at most 60,000,000 pixels (60 megapixels) "
            "is accepted",
        ),
        (
            100000,
            100000,
            "the image is 100000 x 100000 px; at most 4000 px wide and 40000 px high is accepted",
        ),
        (
            3000,
            30000,
            "the image is 3000 x 30000 px = 90,000,000 pixels; at most 60,000,000 pixels (60 megapixels) "
            "is accepted",
        ),
    ],
)
def test_oversized_header_refused_without_decoding(
    width: int, height: int, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def must_not_run(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("an oversized image reached Pillow")

    monkeypatch.setattr(Image, "open", must_not_run)
    monkeypatch.setattr(Image.Image, "load", must_not_run)
    assert _refused(_png_header_only(width, height)) == message


@pytest.mark.parametrize(
    ("width", "height", "mode"),
    [
        (4000, 15000, "1"),  # 60,000,000 pixels exactly; mode "1" keeps the decoded image at 60 MB
        (4000, 1, "RGB"),
        (1, 40000, "RGB"),
    ],
)
def test_images_at_the_limits_accepted(width: int, height: int, mode: str) -> None:
    data = _png(width, height, mode=mode)
    assert inspect_png(data) == PngInfo(width, height, _sha(data), len(data))


def test_header_within_limits_but_missing_pixels_refused() -> None:
    assert _refused(_png_header_only(4000, 15000)).startswith("the image is not a valid PNG file: ")


def test_size_limit_is_10_mib() -> None:
    small = _png(50, 40)
    # Pad with a private ancillary chunk (lower-case first letter: readers skip it) to exactly 10 MiB.
    padding = _chunk(b"prVt", b"\x00" * (10 * MIB - len(small) - 12))
    exactly = small[:33] + padding + small[33:]
    assert len(exactly) == 10 * MIB
    assert inspect_png(exactly) == PngInfo(50, 40, _sha(exactly), 10 * MIB)
    assert _refused(exactly + b"\x00") == "the image is 10,485,761 bytes; at most 10,485,760 bytes (10 MiB)"


# --- storage -------------------------------------------------------------------------------------------


def _stored_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file()) if directory.exists() else []


def _row_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(screenshots)).scalar_one()


def test_save_mobile_screenshot(engine: Engine, settings: Settings) -> None:
    data = _png(50, 40)
    sha = _sha(data)
    saved = save_screenshot(
        engine,
        settings.screenshot_dir,
        data,
        kind="mobile",
        screen_name="Home",
        declared_width=50,
        declared_height=40,
        created_by="u1",
        now=T0.replace(microsecond=250_000),
    )
    assert re.fullmatch(r"[0-9a-f]{32}", saved["id"])
    assert saved == {
        "id": saved["id"],
        "screenName": "Home",
        "width": 50,
        "height": 40,
        "sizeBytes": len(data),
        "sha256": sha,
        "createdAt": "2024-03-01T12:30:00.250Z",
    }
    assert get_screenshot(engine, saved["id"]) == saved
    assert list_screen_screenshots(engine, "Home") == [saved]
    assert _stored_files(settings.screenshot_dir) == [settings.screenshot_dir / sha[:2] / f"{sha}.png"]
    assert read_screenshot_file(settings.screenshot_dir, sha) == data
    with engine.connect() as conn:
        assert conn.execute(select(screenshots.c.kind, screenshots.c.created_by)).one() == ("mobile", "u1")


def test_same_image_twice_is_one_file_and_two_rows(engine: Engine, settings: Settings) -> None:
    data = _png(50, 40)
    first = save_screenshot(engine, settings.screenshot_dir, data, kind="mobile", screen_name="Home", now=T0)
    second = save_screenshot(
        engine, settings.screenshot_dir, data, kind="mobile", screen_name="Home", now=T0 + timedelta(hours=1)
    )
    assert first["id"] != second["id"]
    assert list_screen_screenshots(engine, "Home") == [second, first]
    sha = _sha(data)
    # One file and no temporary files left behind.
    assert _stored_files(settings.screenshot_dir) == [settings.screenshot_dir / sha[:2] / f"{sha}.png"]


def test_screen_screenshots_newest_first(engine: Engine, settings: Settings) -> None:
    def save(screen: str, color: int, minutes: int) -> dict[str, object]:
        return save_screenshot(
            engine,
            settings.screenshot_dir,
            _png(20, 30, mode="L", color=color),
            kind="mobile",
            screen_name=screen,
            now=T0 + timedelta(minutes=minutes),
        )

    middle, newest, oldest, other = (
        save("Home", 1, 10),
        save("Home", 2, 20),
        save("Home", 3, 0),
        save("Cart", 4, 30),
    )
    assert list_screen_screenshots(engine, "Home") == [newest, middle, oldest]
    assert list_screen_screenshots(engine, "Cart") == [other]
    assert list_screen_screenshots(engine, "Nowhere") == []
    assert [s["createdAt"] for s in (newest, middle, oldest)] == [
        "2024-03-01T12:50:00Z",
        "2024-03-01T12:40:00Z",
        "2024-03-01T12:30:00Z",
    ]
    assert len(_stored_files(settings.screenshot_dir)) == 4


def test_page_screenshots(engine: Engine, settings: Settings) -> None:
    def save(page: str, breakpoint: str, color: int, minutes: int) -> dict[str, object]:
        return save_screenshot(
            engine,
            settings.screenshot_dir,
            _png(30, 20, mode="L", color=color),
            kind="web",
            page_key=page,
            breakpoint=breakpoint,
            now=T0 + timedelta(minutes=minutes),
        )

    pricing_old = save("https://example.com/pricing", "desktop", 1, 0)
    pricing_new = save("https://example.com/pricing", "desktop", 2, 5)
    pricing_mobile = save("https://example.com/pricing", "mobile", 3, 10)
    home = save("https://example.com/", "desktop", 4, 1)
    save_screenshot(engine, settings.screenshot_dir, _png(), kind="mobile", screen_name="Home", now=T0)

    data = _png(30, 20, mode="L", color=2)
    assert pricing_new == {
        "id": pricing_new["id"],
        "pageKey": "https://example.com/pricing",
        "breakpoint": "desktop",
        "width": 30,
        "height": 20,
        "sizeBytes": len(data),
        "sha256": _sha(data),
        "createdAt": "2024-03-01T12:35:00Z",
        "source": "upload",
        "url": None,
        "documentWidth": None,
        "documentHeight": None,
    }
    assert latest_page_screenshot(engine, "https://example.com/pricing", "desktop") == pricing_new
    assert latest_page_screenshot(engine, "https://example.com/pricing", "mobile") == pricing_mobile
    assert latest_page_screenshot(engine, "https://example.com/pricing", "tablet") is None
    assert list_page_screenshots(engine) == [pricing_mobile, pricing_new, home, pricing_old]
    assert get_screenshot(engine, home["id"]) == home


def test_created_at_is_utc(engine: Engine, settings: Settings) -> None:
    plus_two = timezone(timedelta(hours=2))
    saved = save_screenshot(
        engine,
        settings.screenshot_dir,
        _png(),
        kind="mobile",
        screen_name="Home",
        now=datetime(2024, 3, 1, 14, 0, 0, 123456, tzinfo=plus_two),
    )
    assert saved["createdAt"] == "2024-03-01T12:00:00.123456Z"
    assert get_screenshot(engine, saved["id"]) == saved


def test_refused_upload_stores_nothing(engine: Engine, settings: Settings) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (50, 40)).save(buffer, "JPEG")
    with pytest.raises(ScreenshotError):
        save_screenshot(engine, settings.screenshot_dir, buffer.getvalue(), kind="mobile", screen_name="Home")
    with pytest.raises(ScreenshotError, match="width: declared 51 px"):
        save_screenshot(
            engine,
            settings.screenshot_dir,
            _png(50, 40),
            kind="mobile",
            screen_name="Home",
            declared_width=51,
        )
    assert (_row_count(engine), _stored_files(settings.screenshot_dir)) == (0, [])


@pytest.mark.parametrize(
    ("owner", "message"),
    [
        ({"kind": "mobile"}, "screen_name: required, 1-200 characters"),
        ({"kind": "mobile", "screen_name": ""}, "screen_name: required, 1-200 characters"),
        ({"kind": "mobile", "screen_name": "s" * 201}, "screen_name: required, 1-200 characters"),
        ({"kind": "web", "breakpoint": "desktop"}, "pageKey: required, 1-2048 characters"),
        ({"kind": "web", "page_key": "https://example.com/"}, "breakpoint: required"),
    ],
)
def test_owner_required(engine: Engine, settings: Settings, owner: dict[str, str], message: str) -> None:
    with pytest.raises(ScreenshotError) as caught:
        save_screenshot(engine, settings.screenshot_dir, _png(), **owner)  # type: ignore[arg-type]
    assert str(caught.value) == message
    assert _row_count(engine) == 0


def test_lookups_of_missing_things(engine: Engine, settings: Settings) -> None:
    assert get_screenshot(engine, "0" * 32) is None
    with pytest.raises(FileNotFoundError):
        read_screenshot_file(settings.screenshot_dir, "0" * 64)
    with pytest.raises(ValueError, match="not a lowercase hex SHA-256"):
        read_screenshot_file(settings.screenshot_dir, "../../etc/passwd")
