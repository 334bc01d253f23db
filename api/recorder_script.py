"""``/tracker-record.js`` (CONTRACT 13): the vendored rrweb recorder and our glue as one script.

The tracker loads it only when its tag says ``data-record="on"`` and the session is sampled in. The
recorder is ``static/rrweb-record-<version>.min.js``, the npm package ``@rrweb/record``'s browser build
(MIT, notice beside it), kept byte for byte as published: the version and the file's SHA-256 below are
the one place that names it, and a test holds the file to them. Upgrading means ``npm pack
@rrweb/record@<new>``, copying its ``umd/record.min.js`` here under the new name with its licence
notice, and changing the two constants.

The served script runs the bundle in a function scope that hides a page's AMD or CommonJS loader
(``define``, ``module``, ``exports``), so the UMD always takes its global branch, on a private object
rather than ``window``: the host page gets no ``rrwebRecord`` global, and a page's own copy of rrweb
is left alone. ``tracker/record.js`` then starts it with privacy by default and uploads the chunks.
"""

from __future__ import annotations

import gzip
import re
from functools import cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RRWEB_RECORD_VERSION = "2.1.6"
RRWEB_RECORD_SHA256 = "fde9a5c5c38fc23c9f8d6429b4e74c8996156e1632f132693b68e32509dc92f0"
RRWEB_RECORD_BUNDLE = PROJECT_ROOT / "static" / f"rrweb-record-{RRWEB_RECORD_VERSION}.min.js"
RRWEB_RECORD_LICENSE = RRWEB_RECORD_BUNDLE.with_name(f"rrweb-record-{RRWEB_RECORD_VERSION}.LICENSE.txt")
RECORDER_GLUE = PROJECT_ROOT / "tracker" / "record.js"

# The bundle names source maps that are not shipped: a browser's developer tools would ask for them.
_SOURCE_MAP = re.compile(rb"^//# sourceMappingURL=.*$", re.MULTILINE)


def recorder_script() -> bytes:
    """The script's bytes (UTF-8 JavaScript): a banner, the rrweb bundle, the glue."""
    return _build(RRWEB_RECORD_BUNDLE, RECORDER_GLUE)[0]


def recorder_script_gzip() -> bytes:
    """The same script compressed once per process, for clients that accept gzip (most of its 80 KB
    is the recorder, which compresses to about a third)."""
    return _build(RRWEB_RECORD_BUNDLE, RECORDER_GLUE)[1]


@cache
def _build(bundle_path: Path, glue_path: Path) -> tuple[bytes, bytes]:
    bundle = _SOURCE_MAP.sub(b"", bundle_path.read_bytes())
    script = b"".join(
        [
            f"/* Heatmaps session recorder: @rrweb/record {RRWEB_RECORD_VERSION} (MIT, "
            f"https://github.com/rrweb-io/rrweb) and tracker/record.js. */\n".encode(),
            b"(function (define, module, exports) {\n",
            b"var rrwebRecord = (function () {\nvar holder = {};\n(function () {\n",
            bundle,
            b"\n}).call(holder);\nreturn holder.rrwebRecord;\n})();\n",
            glue_path.read_bytes(),
            b"})();\n",
        ]
    )
    return script, gzip.compress(script, compresslevel=9, mtime=0)
