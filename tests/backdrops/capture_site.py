"""A small website of the tests' own, served on loopback, with the behaviours captures must handle.

Pages: ``/`` (a sticky red header, a fixed magenta badge, a skip link fixed just past the right edge
of the viewport as Docusaurus places it until it gets focus, an orange toast in a fixed portal root
without a box of its own, a native lazy image in blue and a
script-lazy image in green far below the fold), ``/tall`` (taller than the 40,000 px image limit),
``/away`` (a redirect to another origin: the same server reached as ``localhost``), ``/slow`` (answers after
``SLOW_S``) and ``/missing`` (404). Every request's Host and path are recorded, so a test can prove a
refused address was never asked for.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO

from PIL import Image

SLOW_S = 12
RED, MAGENTA, BLUE, GREEN, ORANGE = (208, 0, 0), (255, 0, 255), (0, 0, 255), (0, 160, 0), (255, 136, 0)
HEADER_PX = 60
TALL_PX = 60_000


def _png(colour: tuple[int, int, int]) -> bytes:
    out = BytesIO()
    Image.new("RGB", (300, 200), colour).save(out, "PNG")
    return out.getvalue()


HOME = f"""<!doctype html><html><head><meta name="viewport" content="width=device-width">
<style>
  body {{ margin: 0; font: 16px sans-serif; background: #fff; }}
  header {{ position: sticky; top: 0; height: {HEADER_PX}px; background: rgb{RED}; }}
  #badge {{ position: fixed; right: 16px; bottom: 16px; width: 40px; height: 40px; background: rgb{MAGENTA};
            animation: pulse 1s infinite; }}
  @keyframes pulse {{ from {{ opacity: 0.2; }} to {{ opacity: 1; }} }}
  #skip {{ position: fixed; top: 16px; left: 100%; padding: 8px; white-space: nowrap; }}
  #skip:focus {{ left: 16px; }}
  #portal {{ position: fixed; top: 0; left: 0; width: 0; height: 0; }}
  #toast {{ position: absolute; top: 100px; left: 100px; width: 40px; height: 40px;
            background: rgb{ORANGE}; }}
  section {{ height: 1500px; padding: 16px; }}
  @media (max-width: 767px) {{ .wide {{ display: none; }} }}
</style></head><body>
<a id="skip" href="#main">Skip to main content</a>
<header></header>
<section id="main"><h1>Home</h1><p class="wide">Only on wide screens.</p></section>
<section><img loading="lazy" src="/blue.png" width="300" height="200" alt=""></section>
<section><img id="late" data-src="/green.png" width="300" height="200" alt=""></section>
<div id="badge"></div>
<div id="portal"><div id="toast"></div></div>
<script>
  new IntersectionObserver((entries, observer) => entries.forEach(entry => {{
    if (entry.isIntersecting) {{ entry.target.src = entry.target.dataset.src; observer.disconnect(); }}
  }})).observe(document.getElementById('late'));
</script>
</body></html>"""

TALL = f"""<!doctype html><html><head><style>body {{ margin: 0; }}</style></head>
<body><div style="height: {TALL_PX}px; background: linear-gradient(#fff, #ccc)"></div></body></html>"""


@dataclass
class Site:
    origin: str  # http://127.0.0.1:PORT
    other_origin: str  # the same server as http://localhost:PORT: another origin
    requests: list[tuple[str, str]] = field(default_factory=list)  # (Host header, path)


@contextmanager
def serve_site() -> Iterator[Site]:
    site: Site | None = None

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes, kind: str = "text/html", **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            assert site is not None
            site.requests.append((self.headers.get("Host", ""), self.path))
            path = self.path.split("?")[0]
            if path == "/":
                self._send(200, HOME.encode())
            elif path == "/tall":
                self._send(200, TALL.encode())
            elif path == "/away":
                self._send(302, b"", Location=f"{site.other_origin}/")
            elif path == "/slow":
                time.sleep(SLOW_S)
                self._send(200, b"<p>late</p>")
            elif path in ("/blue.png", "/green.png"):
                self._send(200, _png(BLUE if path == "/blue.png" else GREEN), "image/png")
            else:
                self._send(404, b"<p>not found</p>")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    site = Site(f"http://127.0.0.1:{port}", f"http://localhost:{port}")
    # serve_forever checks for shutdown every poll_interval: the default 0.5 s would be every test's wait.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
