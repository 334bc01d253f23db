"""The capture program: opens one page in headless Chromium and writes its full-page PNG.

Run by ``runner`` as a child process (``python -m data_layer.capture.photograph``) with a JSON request on
stdin; prints one JSON line. A hung or crashed browser, or a page that eats memory, then costs this
process only, and the runner's hard timeout kills it with its whole process group.

What makes a good backdrop (CONTRACT 12): the breakpoint's nominal width with a device scale of 1 (one
image px per CSS px, so clicks in document px land where they were); load and network idle, bounded;
the page scrolled down in viewport steps and back, so lazy content loads; animations off; fixed and
sticky elements pinned where a visitor sees them on arrival, once, instead of wherever a tall
screenshot would stretch or repeat them (and fixed ones out of view on arrival hidden); the scrolling
element's size recorded as the document size.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from data_layer import breakpoints
from data_layer.capture.origins import url_origin
from data_layer.screenshots import MAX_BYTES, MAX_HEIGHT, MAX_PIXELS, MAX_WIDTH

CHROMIUM_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--disable-gpu",
    "--disable-dev-shm-usage",
]
NETWORK_IDLE_MS = 5_000  # waited for after load and after the scroll; a page that never idles goes on
SCROLL_STEP_MS = 100  # per viewport step: lazy loaders fire on scroll and intersection (a frame or two)
NO_MOTION_CSS = """*, *::before, *::after {
  animation-duration: 0s !important; animation-delay: 0s !important; animation-iteration-count: 1 !important;
  transition: none !important; scroll-behavior: auto !important; caret-color: transparent !important;
}"""


def _script(name: str) -> str:
    """A page function kept in a .js file beside this one; its leading comment lines are dropped
    (Playwright recognises a function only by how the text starts)."""
    lines = (Path(__file__).resolve().parent / name).read_text().splitlines()
    return "\n".join(line for line in lines if not line.startswith("//"))


SCROLL_JS = _script("scroll.js")
PIN_JS = _script("pin.js")
SIZE_JS = """() => {
  const root = document.scrollingElement || document.documentElement;
  return [Math.max(root.scrollWidth, 1), Math.max(root.scrollHeight, 1)];
}"""


class CaptureFailed(Exception):
    """The capture did not give a backdrop; ``retry`` says whether trying again later may help."""

    def __init__(self, reason: str, *, retry: bool) -> None:
        super().__init__(reason)
        self.retry = retry


@dataclass(frozen=True)
class Request:
    url: str
    breakpoint: str
    width: int
    chromium: str
    allowed: tuple[str, ...]
    timeout_s: float
    out: Path


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


def mobile_user_agent(version: str) -> str:
    """A current Android Chrome user agent: pages serve their phone layout to it."""
    return (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{version} Mobile Safari/537.36"
    )


class NavigationGuard:
    """Fails every top-level document request (redirect hops included) that leaves the allowed origins,
    before it is sent. Chromium's Fetch domain pauses each hop; Playwright's own routing would follow a
    redirect without asking."""

    def __init__(self, context: Any, page: Any, allowed: tuple[str, ...]) -> None:
        self.allowed = allowed
        self.refused: str | None = None
        self.cdp = context.new_cdp_session(page)
        self.main_frame = self.cdp.send("Page.getFrameTree")["frameTree"]["frame"]["id"]
        self.cdp.on("Fetch.requestPaused", self._paused)
        pattern = {"urlPattern": "*", "resourceType": "Document", "requestStage": "Request"}
        self.cdp.send("Fetch.enable", {"patterns": [pattern]})

    def _paused(self, event: dict[str, Any]) -> None:
        url = event["request"]["url"]
        if event.get("frameId") == self.main_frame and url_origin(url) not in self.allowed:
            self.refused = self.refused or (url_origin(url) or url[:100])
            self.cdp.send(
                "Fetch.failRequest", {"requestId": event["requestId"], "errorReason": "BlockedByClient"}
            )
        else:
            self.cdp.send("Fetch.continueRequest", {"requestId": event["requestId"]})

    def check(self) -> None:
        if self.refused:
            raise CaptureFailed(
                f"the page navigated to {self.refused}, which is not an allowed capture origin", retry=False
            )


def fit_png(png: bytes) -> bytes:
    """A screenshot over the size limit is re-encoded with a 256-colour palette, then cut shorter until
    it fits: a too-big page gets a (partial) backdrop rather than none."""
    from PIL import Image

    if len(png) <= MAX_BYTES:
        return png
    with Image.open(BytesIO(png)) as image:
        picture = image.convert("RGB")
    keep = picture.height
    while True:
        out = BytesIO()
        part = picture.crop((0, 0, picture.width, keep)) if keep < picture.height else picture
        part.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(out, "PNG", optimize=True)
        if out.tell() <= MAX_BYTES or keep <= 256:
            return out.getvalue()
        keep = int(keep * MAX_BYTES / out.tell() * 0.95)


def photograph(request: Request) -> dict[str, Any]:
    """Capture ``request.url``; write the PNG to ``request.out``; describe it. Raises CaptureFailed."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    deadline = time.monotonic() + request.timeout_s

    def left_ms(cap: float | None = None) -> float:
        remaining = max(1.0, (deadline - time.monotonic()) * 1000)
        return min(remaining, cap) if cap else remaining

    mobile = request.breakpoint == "mobile"
    with sync_playwright() as driver:
        try:
            browser = driver.chromium.launch(
                executable_path=request.chromium,
                args=CHROMIUM_ARGS,
                chromium_sandbox=False,
                timeout=left_ms(),
            )
        except PlaywrightError as exc:
            raise CaptureFailed(f"Chromium did not start: {_first_line(exc)}", retry=True) from None
        try:
            context = browser.new_context(
                viewport={"width": request.width, "height": breakpoints.DEVICE_HEIGHT_PX[request.breakpoint]},
                device_scale_factor=1,
                is_mobile=mobile,
                has_touch=request.breakpoint != "desktop",
                user_agent=mobile_user_agent(browser.version) if mobile else None,
                reduced_motion="reduce",
                service_workers="block",
                accept_downloads=False,
            )
            page = context.new_page()
            guard = NavigationGuard(context, page, request.allowed)
            try:
                response = page.goto(request.url, wait_until="load", timeout=left_ms())
            except PlaywrightTimeout:
                raise CaptureFailed(
                    f"the page did not load within {request.timeout_s:g} s", retry=True
                ) from None
            except PlaywrightError as exc:
                guard.check()
                raise CaptureFailed(f"the page could not be opened: {_first_line(exc)}", retry=True) from None
            guard.check()
            if response is not None and response.status >= 400:
                raise CaptureFailed(f"the page answered HTTP {response.status}", retry=response.status >= 500)
            # A page that polls or streams never idles; what it has shown by then is the page.
            with contextlib.suppress(PlaywrightTimeout):
                page.wait_for_load_state("networkidle", timeout=left_ms(NETWORK_IDLE_MS))
            page.add_style_tag(content=NO_MOTION_CSS)
            scroll_deadline = time.time() * 1000 + left_ms() * 0.5
            page.evaluate(
                SCROLL_JS, {"maxHeight": MAX_HEIGHT, "stepMs": SCROLL_STEP_MS, "deadline": scroll_deadline}
            )
            with contextlib.suppress(PlaywrightTimeout):
                page.wait_for_load_state("networkidle", timeout=left_ms(NETWORK_IDLE_MS))
            guard.check()
            page.evaluate(PIN_JS)
            document_width, document_height = page.evaluate(SIZE_JS)
            width = min(document_width, MAX_WIDTH)
            height = min(document_height, MAX_HEIGHT, MAX_PIXELS // width)
            png = page.screenshot(
                full_page=True,
                clip={"x": 0, "y": 0, "width": width, "height": height},
                animations="disabled",
                caret="hide",
                timeout=left_ms(),
            )
            guard.check()
            final_url = page.url
        except PlaywrightTimeout:
            raise CaptureFailed(f"the capture took longer than {request.timeout_s:g} s", retry=True) from None
        except PlaywrightError as exc:
            raise CaptureFailed(f"Chromium failed: {_first_line(exc)}", retry=True) from None
        finally:
            browser.close()
    request.out.write_bytes(fit_png(png))
    return {"url": final_url, "documentWidth": document_width, "documentHeight": document_height}


def main() -> None:
    """stdin: the request as JSON; stdout: ``{"ok": true, ...}`` or ``{"ok": false, "error", "retry"}``."""
    raw = json.loads(sys.stdin.read())
    request = Request(**{**raw, "allowed": tuple(raw["allowed"]), "out": Path(raw["out"])})
    try:
        result = {"ok": True, **photograph(request)}
    except CaptureFailed as exc:
        result = {"ok": False, "error": str(exc), "retry": exc.retry}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
