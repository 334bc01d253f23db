"""The ``heatmaps`` command: exit codes, token management, file ingestion, retention (CONTRACT 9)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from data_layer.auth import authenticate
from data_layer.schema import touch_events, web_events
from heatmaps_cli.app import app
from tests.factories import web_click, web_scroll

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def web_count(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(web_events))


def test_init_is_repeatable(settings) -> None:
    assert run("init").exit_code == 0
    assert run("init").exit_code == 0


def test_keys_create_list_revoke(settings, engine) -> None:
    created = run("keys", "create", "--user", "alice", "--permissions", "view_heatmaps,MANAGE_HEATMAPS")
    assert created.exit_code == 0
    token = created.stdout.strip().splitlines()[-1]
    principal = authenticate(engine, token)
    assert principal is not None and principal.user_id == "alice"
    assert {p.value for p in principal.permissions} == {"VIEW_HEATMAPS", "MANAGE_HEATMAPS"}
    listing = run("keys", "list")
    assert "alice" in listing.stdout and token not in listing.stdout
    token_id = listing.stdout.split("\t", 1)[0]
    assert run("keys", "revoke", token_id).exit_code == 0
    assert authenticate(engine, token) is None
    assert "revoked" in run("keys", "list").stdout


def test_ingest_only_key(settings, engine) -> None:
    created = run("keys", "create", "--user", "site")
    principal = authenticate(engine, created.stdout.strip().splitlines()[-1])
    assert principal is not None and principal.permissions == frozenset()


@pytest.mark.parametrize(
    "args",
    [
        ("keys", "create", "--user", "a", "--permissions", "SUPERUSER"),
        ("keys", "create", "--user", ""),
        ("keys", "revoke", "999"),
        ("keys", "revoke", "abc"),
        ("ingest", "/nonexistent/file.ndjson"),
        ("purge",),
        ("purge", "--older-than", "0"),
        ("forget", "--visitor", " "),
        ("demo", "--events", "0"),
    ],
)
def test_bad_input_exits_2_with_one_line(settings, args: tuple[str, ...]) -> None:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 2, result.output
    assert result.stderr.strip(), "a reason is printed on stderr"


def test_ingest_ndjson_and_json_array(settings, engine, tmp_path: Path) -> None:
    ndjson = tmp_path / "events.ndjson"
    events = [web_click(), web_scroll(), web_click()]
    ndjson.write_text("\n".join(json.dumps(e) for e in events) + "\n\n")
    result = run("ingest", str(ndjson))
    assert result.exit_code == 0
    assert "3 ingested, 0 duplicates, 0 rejected" in result.stdout
    array = tmp_path / "events.json"
    array.write_text(json.dumps([*events, web_click()]))
    result = run("ingest", str(array))
    assert "1 ingested, 3 duplicates" in result.stdout
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"events": [web_click()]}, indent=2))
    assert "1 ingested" in run("ingest", str(wrapped)).stdout
    assert web_count(engine) == 5


def test_ingest_batches_with_errors(settings, engine, tmp_path: Path) -> None:
    path = tmp_path / "mixed.ndjson"
    good = [web_click() for _ in range(4)]
    lines = [json.dumps(e) for e in good[:2]] + ["{not json"] + [json.dumps(e) for e in good[2:]]
    path.write_text("\n".join(lines))
    result = runner.invoke(app, ["ingest", str(path), "--batch-size", "2"])
    assert result.exit_code == 2
    # batches: lines 1-2 stored, lines 3-4 (3 is broken) rejected whole, line 5 stored
    assert "read 5 events: 3 ingested, 0 duplicates, 2 rejected" in result.stdout
    assert "items 3-4" in result.stderr
    assert web_count(engine) == 3


def test_purge_and_forget(settings, engine, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    old = (now - timedelta(days=40)).isoformat().replace("+00:00", "Z")
    recent = (now - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    path = tmp_path / "e.ndjson"
    events = [
        web_click(timestamp=old),
        web_click(timestamp=recent),
        web_click(timestamp=recent, visitorId="v9"),
    ]
    path.write_text("\n".join(json.dumps(e) for e in events))
    run("ingest", str(path))
    result = run("purge", "--older-than", "30")
    assert result.exit_code == 0 and "deleted 1 web events" in result.stdout
    assert web_count(engine) == 2
    result = run("forget", "--visitor", "v9")
    assert "deleted 1 web events" in result.stdout
    with engine.connect() as conn:
        assert (
            conn.scalar(select(func.count()).select_from(web_events).where(web_events.c.visitor_id == "v9"))
            == 0
        )
        assert conn.scalar(select(func.count()).select_from(touch_events)) == 0
    assert web_count(engine) == 1
