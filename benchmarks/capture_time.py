"""How long a backdrop capture takes: one page at the three breakpoints, as the capture worker does it
(one child process and one Chromium per breakpoint, one after the other). Prints figures.

.venv/bin/python -m benchmarks.capture_time                       # a documentation-like page of its own
.venv/bin/python -m benchmarks.capture_time --url https://docs.example.com/guide/ --runs 5

The built-in page is served on loopback and looks like a chapter of a documentation site: a sticky
top bar, a fixed sidebar of 60 links, 24 sections of text and code, 4 lazy images below the fold
(11,400 px tall on a desktop, 14,500 px on a tablet or phone). Times include starting Python,
Playwright and Chromium (about 1.5 s of each capture).
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO

from PIL import Image

from data_layer import breakpoints
from data_layer.capture.origins import url_origin
from data_layer.capture.runner import capture_page
from data_layer.settings import Settings


def _image() -> bytes:
    out = BytesIO()
    Image.new("RGB", (640, 360), (70, 110, 170)).save(out, "PNG")
    return out.getvalue()


def _chapter() -> str:
    links = "".join(f'<li><a href="#s{i}">Section {i}</a></li>' for i in range(60))
    sections = "".join(
        f'<h2 id="s{i}">Section {i}</h2>'
        + "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. " * 6
        + '</p><pre><code>fn main() {\n    println!("hello");\n}</code></pre>'
        + (f'<img loading="lazy" src="/fig-{i}.png" width="640" height="360">' if i % 6 == 5 else "")
        for i in range(24)
    )
    return f"""<!doctype html><html><head><meta name="viewport" content="width=device-width">
<style>
  body {{ margin: 0; font: 16px/1.6 sans-serif; }}
  .bar {{ position: sticky; top: 0; height: 50px; background: #223; color: #fff; z-index: 2; }}
  nav {{ position: fixed; top: 50px; bottom: 0; width: 240px; overflow: auto; background: #f4f4f8; }}
  main {{ margin-left: 260px; max-width: 800px; padding: 0 16px; }}
  img {{ max-width: 100%; height: auto; }}
  @media (max-width: 767px) {{ nav {{ display: none; }} main {{ margin-left: 0; }} }}
</style></head><body><div class="bar">Guide</div><nav><ul>{links}</ul></nav>
<main><h1>A chapter</h1>{sections}</main></body></html>"""


def serve_chapter() -> tuple[ThreadingHTTPServer, str]:
    page, image = _chapter().encode(), _image()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body, kind = (image, "image/png") if self.path.endswith(".png") else (page, "text/html")
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/guide/chapter.html"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an http(s) page to capture instead of the built-in chapter")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    server = None
    url = args.url
    if url is None:
        server, url = serve_chapter()
    settings = Settings(capture_origins=url_origin(url))  # type: ignore[call-arg]
    totals: list[float] = []
    per_breakpoint: dict[str, list[float]] = {name: [] for name in breakpoints.NAMES}
    for _ in range(args.runs):
        started = time.perf_counter()
        for name in breakpoints.NAMES:
            began = time.perf_counter()
            shot = capture_page(settings, url, name)
            per_breakpoint[name].append(time.perf_counter() - began)
            size = f"{shot.document_width}x{shot.document_height} px, PNG {len(shot.png) / 1024:,.0f} KiB"
            print(f"  {name:8} {per_breakpoint[name][-1]:5.2f} s   document {size}")
        totals.append(time.perf_counter() - started)
    print(f"capture of {url}, {args.runs} runs (median, range):")
    for name, times in per_breakpoint.items():
        print(f"  {name:8} {statistics.median(times):5.2f} s  ({min(times):.2f}-{max(times):.2f})")
    print(f"  3 breakpoints {statistics.median(totals):5.2f} s  ({min(totals):.2f}-{max(totals):.2f})")
    if server is not None:
        server.shutdown()


if __name__ == "__main__":
    main()
