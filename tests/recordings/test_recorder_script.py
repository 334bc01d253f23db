"""The vendored rrweb recorder (static/) and /tracker-record.js as the API serves it."""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient

from api.app import create_app
from api.recorder_script import (
    RECORDER_GLUE,
    RRWEB_RECORD_BUNDLE,
    RRWEB_RECORD_LICENSE,
    RRWEB_RECORD_SHA256,
    RRWEB_RECORD_VERSION,
    recorder_script,
)
from data_layer.settings import Settings


def test_the_vendored_recorder_is_the_published_file_of_its_version() -> None:
    """Upgrading means a new file (a new name) and new constants in api/recorder_script.py, never an
    edited copy: the digest is that of umd/record.min.js in the npm package @rrweb/record at the version."""
    assert RRWEB_RECORD_BUNDLE.name == f"rrweb-record-{RRWEB_RECORD_VERSION}.min.js"
    assert hashlib.sha256(RRWEB_RECORD_BUNDLE.read_bytes()).hexdigest() == RRWEB_RECORD_SHA256
    # One version only: an upgrade removes the old file and its notice.
    assert sorted(p.name for p in RRWEB_RECORD_BUNDLE.parent.glob("rrweb-record-*")) == [
        f"rrweb-record-{RRWEB_RECORD_VERSION}.LICENSE.txt",
        f"rrweb-record-{RRWEB_RECORD_VERSION}.min.js",
    ]


def test_the_recorder_s_licence_notice_is_beside_it() -> None:
    notice = RRWEB_RECORD_LICENSE.read_text(encoding="utf-8")
    assert f"@rrweb/record {RRWEB_RECORD_VERSION}" in notice
    assert "MIT License" in notice
    assert "Permission is hereby granted, free of charge" in notice
    assert "rrweb-io/rrweb" in notice


def test_the_served_script_wraps_the_bundle_and_the_glue_without_a_global() -> None:
    script = recorder_script().decode()
    bundle = RRWEB_RECORD_BUNDLE.read_text(encoding="utf-8")
    assert 'g["rrwebRecord"] = f()' in bundle  # the UMD's global branch, which the wrapper points at a holder
    assert "sourceMappingURL" not in script  # the maps are not shipped
    assert bundle.replace("//# sourceMappingURL=record.umd.min.cjs.map", "").strip()[:2000] in script
    assert RECORDER_GLUE.read_text(encoding="utf-8") in script
    assert script.index("(function (define, module, exports) {") < script.index(bundle[:200])
    assert script.rstrip().endswith("})();")


def test_the_api_serves_the_recorder_cached_and_compressed(tmp_path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'r.db'}", screenshot_dir=str(tmp_path / "s"))
    client = TestClient(create_app(settings))
    plain = client.get("/tracker-record.js", headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200
    assert plain.headers["content-type"] == "application/javascript; charset=utf-8"
    assert plain.headers["cache-control"] == client.get("/tracker.js").headers["cache-control"]
    assert plain.headers["vary"] == "Accept-Encoding"
    assert "content-encoding" not in plain.headers
    assert plain.content == recorder_script()

    packed = client.get("/tracker-record.js", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.content == recorder_script()  # httpx decoded it
    assert int(packed.headers["content-length"]) < len(recorder_script()) / 2
