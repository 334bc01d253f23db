"""A database that cannot be reached or opened stops every command at startup with exit 2 and one line
on stderr, never a traceback: the API and the dashboard refuse to start (docs/reliability.md).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from heatmaps_cli import app as cli
from heatmaps_testing.loopback import REPO
from tests.live import free_port, product_env

COMMANDS = [
    ("init",),
    ("api",),
    ("dashboard",),
    ("serve",),
    ("demo", "--events", "10"),
    ("keys", "list"),
    ("purge", "--older-than", "30"),
    ("forget", "--visitor", "v1"),
]


def unreachable_urls(tmp_path: Path) -> dict[str, str]:
    """A PostgreSQL port where nothing listens; SQLite under a file, so its directory cannot exist."""
    (tmp_path / "a-file").write_text("")
    return {
        "postgres-refused": f"postgresql+psycopg://heatmaps:s3cret@127.0.0.1:{free_port()}/heatmaps",
        "sqlite-no-directory": f"sqlite:///{tmp_path / 'a-file' / 'heatmaps.db'}",
        "unparsable": "not a database url",
    }


def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No HEATMAPS_* setting of the calling shell leaks in (the test switches stay)."""
    for key in list(os.environ):
        if key.startswith("HEATMAPS_") and not key.startswith("HEATMAPS_TEST_"):
            monkeypatch.delenv(key)


def assert_one_line_reason(code: int, stderr: str) -> None:
    assert code == 2, stderr
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot open the database"), stderr
    assert "s3cret" not in stderr, "the password is never shown"


@pytest.mark.parametrize("kind", ["postgres-refused", "sqlite-no-directory", "unparsable"])
@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_unreachable_database_exits_2_with_one_line(
    args: tuple[str, ...], kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean_env(monkeypatch)
    monkeypatch.setenv("HEATMAPS_DATABASE_URL", unreachable_urls(tmp_path)[kind])
    monkeypatch.setenv("HEATMAPS_REPLICA_DIR", str(tmp_path / "replica"))
    cli.get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, list(args))
    finally:
        cli.get_settings.cache_clear()
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert_one_line_reason(result.exit_code, result.stderr)


@pytest.mark.live
@pytest.mark.parametrize("kind", ["postgres-refused", "sqlite-no-directory"])
def test_api_process_refuses_to_start_without_a_traceback(kind: str, tmp_path: Path) -> None:
    """The real console entry point, as a service manager runs it."""
    env = product_env(database_url=unreachable_urls(tmp_path)[kind], api_port=str(free_port()))
    done = subprocess.run(
        [sys.executable, "-m", "heatmaps_cli.app", "api"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert_one_line_reason(done.returncode, done.stderr)
    assert done.stdout == ""


def test_database_lost_mid_command_exits_2_with_one_line(
    settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Started fine, then the database went away: the console script reports it on one line too."""

    def lost(_engine):  # what the driver raises when the server closes the connection mid-query
        raise OperationalError("SELECT", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(cli.auth, "list_tokens", lost)
    monkeypatch.setattr(sys, "argv", ["heatmaps", "keys", "list"])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 2
    stderr = capsys.readouterr().err
    assert stderr.strip().splitlines() == [
        "error: the database became unavailable: server closed the connection unexpectedly"
    ]
