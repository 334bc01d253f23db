"""The wheel carries everything the product opens at run time, and the code finds it once installed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from heatmaps_testing.loopback import REPO

pytestmark = pytest.mark.slow

# Files the code opens by path (beside its packages), not imports; every name below must be in the wheel.
RUN_TIME_FILES = [
    "streamlit_app.py",
    ".streamlit/config.toml",
    *(f"app_pages/{page}.py" for page in ("pages", "heatmap", "session", "mobile", "screenshots")),
    "dashboard/cartesian_chart.py",
    "static/favicon.svg",
    "static/plotly-cartesian-4.1.1.min.js",
    "tracker/tracker.js",
    "tracker/record.js",
    "static/rrweb-record-2.1.6.min.js",
    "static/rrweb-record-2.1.6.LICENSE.txt",
    "static/rrweb-player-2.1.7.min.js",
    "static/rrweb-player-2.1.7.min.css",
    "static/rrweb-player-2.1.7.LICENSE.txt",
    "data_layer/capture/pin.js",
    "data_layer/capture/scroll.js",
    "migrations/env.py",
    "migrations/script.py.mako",
    "migrations/versions/0001_initial_schema.py",
    "proto/heatmap/v1/heatmap.proto",
    "demo_site/loader.py",
    "heatmaps_cli/app.py",
    "api/app.py",
]
# Where each module looks for its files, printed by a fresh interpreter that imports the installed copy.
LOOKUPS = """
import json, sys
sys.path.insert(0, sys.argv[1])
from api.app import TRACKER_PATH
from api.recorder_script import RECORDER_GLUE, RRWEB_RECORD_BUNDLE
from dashboard.cartesian_chart import PLOTLY_BUNDLE
from dashboard.recording_player import RRWEB_PLAYER_JS, STATIC_DIR
from data_layer.capture import photograph
from data_layer.migrate import MIGRATIONS_DIR, upgrade
from heatmaps_cli.app import PROJECT_ROOT
upgrade(sys.argv[2])
print(json.dumps({
    "tracker": str(TRACKER_PATH),
    "recorder": str(RRWEB_RECORD_BUNDLE),
    "recorder glue": str(RECORDER_GLUE),
    "migrations": str(MIGRATIONS_DIR / "env.py"),
    "entry point": str(PROJECT_ROOT / "streamlit_app.py"),
    "plotly bundle": str(PROJECT_ROOT / "static" / PLOTLY_BUNDLE),
    "rrweb player": str(STATIC_DIR / RRWEB_PLAYER_JS),
    "dashboard config": str(PROJECT_ROOT / ".streamlit" / "config.toml"),
    "capture scripts": photograph.__file__,
}))
"""


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "-q", *args], check=True, timeout=300)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built offline from a copy of the checkout, since setuptools writes build/ into the source tree."""
    source = tmp_path_factory.mktemp("source") / "heatmaps"
    shutil.copytree(
        REPO,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "data",
            "test-artifacts", "out",
        ),
    )  # fmt: skip
    out = tmp_path_factory.mktemp("wheel")
    _pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "--wheel-dir", str(out), str(source))
    return next(out.glob("heatmaps-*.whl"))


def test_the_wheel_holds_every_file_opened_at_run_time(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert [name for name in RUN_TIME_FILES if name not in names] == []


def test_the_installed_code_finds_its_files_in_site_packages(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    _pip("install", "--no-deps", "--no-index", "--target", str(site), str(wheel))
    database_url = f"sqlite:///{tmp_path / 'installed.db'}"
    found = subprocess.run(
        [sys.executable, "-c", LOOKUPS, str(site), database_url],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert found.returncode == 0, found.stderr[-3000:]
    paths = {what: Path(path) for what, path in json.loads(found.stdout).items()}
    misplaced = {what: str(path) for what, path in paths.items() if not path.is_relative_to(site)}
    missing = {what: str(path) for what, path in paths.items() if not path.is_file()}
    assert (misplaced, missing) == ({}, {})


def test_the_package_asks_for_every_pinned_run_time_requirement() -> None:
    """``pip install .`` (a wheel, no requirements file) gets what ``requirements.txt`` pins, each pin
    inside the package's own range: a requirement missing there only fails once the code needs it."""
    declared = {
        (requirement := Requirement(line)).name.lower(): requirement.specifier
        for line in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    }
    pins = [
        Requirement(line)
        for line in (REPO / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "-"))
    ]
    assert pins
    for pin in pins:
        assert pin.name.lower() in declared, f"{pin.name} is pinned but not a dependency of the package"
        [version] = [spec.version for spec in pin.specifier]
        assert declared[pin.name.lower()].contains(version), f"{pin} outside {declared[pin.name.lower()]}"
