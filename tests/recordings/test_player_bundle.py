"""The vendored rrweb player (static/): the published files of its version, its licence notice beside them."""

from __future__ import annotations

import hashlib

from dashboard.recording_player import (
    RRWEB_PLAYER_CSS,
    RRWEB_PLAYER_JS,
    RRWEB_PLAYER_LICENSE,
    RRWEB_PLAYER_SHA256,
    RRWEB_PLAYER_VERSION,
    STATIC_DIR,
)


def test_the_vendored_player_is_the_published_files_of_its_version() -> None:
    """Upgrading means new files (new names) and new constants in dashboard/recording_player.py, never an
    edited copy: the digests are those of umd/rrweb-player.min.js and dist/style.min.css in the npm package
    rrweb-player at the version."""
    assert f"rrweb-player-{RRWEB_PLAYER_VERSION}.min.js" == RRWEB_PLAYER_JS
    assert f"rrweb-player-{RRWEB_PLAYER_VERSION}.min.css" == RRWEB_PLAYER_CSS
    digests = {
        name: hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest() for name in RRWEB_PLAYER_SHA256
    }
    assert digests == RRWEB_PLAYER_SHA256
    # One version only: an upgrade removes the old files and their notice.
    assert sorted(path.name for path in STATIC_DIR.glob("rrweb-player-*")) == sorted(
        [RRWEB_PLAYER_CSS, RRWEB_PLAYER_LICENSE, RRWEB_PLAYER_JS]
    )


def test_the_bundle_is_the_umd_build_that_sets_a_global() -> None:
    """The component loads it as a classic script and takes ``window.rrwebPlayer``."""
    bundle = (STATIC_DIR / RRWEB_PLAYER_JS).read_text(encoding="utf-8")
    assert 'g["rrwebPlayer"] = f()' in bundle
    assert "cdn." not in bundle  # it names no CDN of its own to load anything from


def test_the_player_s_licence_notice_is_beside_it() -> None:
    notice = (STATIC_DIR / RRWEB_PLAYER_LICENSE).read_text(encoding="utf-8")
    assert f"rrweb-player {RRWEB_PLAYER_VERSION}" in notice
    assert "MIT License" in notice
    assert "Permission is hereby granted, free of charge" in notice
    assert "rrweb-io/rrweb" in notice
