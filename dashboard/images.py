"""Screenshot bytes turned into what the browser needs: compact data URIs and thumbnails (pure Pillow)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from io import BytesIO

from PIL import Image

DISPLAY_MAX_WIDTH_PX = 1280
THUMBNAIL_SIZE_PX = (240, 160)
JPEG_QUALITY = 85


@dataclass(frozen=True)
class DisplayImage:
    """A data URI for ``go.Image(source=...)`` and the pixel size of the image it encodes."""

    uri: str
    width: int
    height: int


def _jpeg_uri(image: Image.Image) -> str:
    out = BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def display_image(png: bytes, max_width: int = DISPLAY_MAX_WIDTH_PX) -> DisplayImage:
    """The screenshot as a JPEG data URI, scaled down to ``max_width`` (aspect kept) to keep pages light.

    Callers place it by the returned size: one image pixel spans ``document width / width`` CSS px.
    Transparent areas become white (JPEG has no alpha).
    """
    with Image.open(BytesIO(png)) as image:
        picture = image.convert("RGBA")
    if picture.width > max_width:
        picture = picture.resize(
            (max_width, max(1, round(picture.height * max_width / picture.width))), Image.Resampling.LANCZOS
        )
    flat = Image.new("RGB", picture.size, "white")
    flat.paste(picture, mask=picture.getchannel("A"))
    return DisplayImage(_jpeg_uri(flat), flat.width, flat.height)


def thumbnail_uri(png: bytes, size: tuple[int, int] = THUMBNAIL_SIZE_PX) -> str:
    """A small JPEG data URI of the top of the screenshot (tall pages show their first screen)."""
    with Image.open(BytesIO(png)) as image:
        picture = image.convert("RGBA")
    box_w, box_h = size
    top = picture.crop((0, 0, picture.width, min(picture.height, round(picture.width * box_h / box_w))))
    top.thumbnail(size, Image.Resampling.LANCZOS)
    flat = Image.new("RGB", top.size, "white")
    flat.paste(top, mask=top.getchannel("A"))
    return _jpeg_uri(flat)
