"""Access control, table-driven (CONTRACT 7): every endpoint x every kind of caller, on SQLite and
PostgreSQL; tokens never accepted outside the Authorization header (or the sendBeacon body), never
logged, never returned after creation.

Permissions are independent: VIEW_HEATMAPS reads, MANAGE_HEATMAPS uploads backdrops, ADMIN manages
tokens (from the command line) and implies neither of the others; every valid token may ingest.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from typer.testing import CliRunner

from data_layer.auth import Permission, create_token, revoke_token
from data_layer.page_groups import saved_groups
from data_layer.schema import api_tokens
from heatmaps_cli.app import app as cli
from heatmaps_testing.loopback import ApiServer
from tests.conftest import bearer
from tests.factories import recording_chunk, touch, web_click

SERVICE = "/heatmap.v1.HeatmapService"
PAGE = "https://example.com/pricing"
DAY = {"from": "2026-04-10", "to": "2026-04-10"}
ROLES = ("none", "revoked", "ingest", "view", "manage", "admin")
# Which roles get a 200; the others get 401 (no or revoked token) or 403 (a valid token lacking the right).
PUBLIC = set(ROLES)
ANY_TOKEN = {"ingest", "view", "manage", "admin"}
VIEW = {"view"}
MANAGE = {"manage"}


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 8), (1, 2, 3)).save(buffer, "PNG")
    return buffer.getvalue()


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str
    allowed: set[str]
    kwargs: dict[str, Any] = field(default_factory=dict)
    ok: int = 200

    @property
    def connect(self) -> bool:
        return self.path.startswith(SERVICE)


BACKDROP = {"pageKey": PAGE, "breakpoint": "desktop"}
UPLOAD = {"screenName": "home_feed", "imageData": base64.b64encode(png()).decode(), "width": 4, "height": 8}
ENDPOINTS = [
    Endpoint("ingest", "POST", "/rest/v1/events", ANY_TOKEN, {"json": {"events": [web_click(eventId=None)]}}),
    Endpoint("pages", "GET", "/rest/v1/heatmap-pages", VIEW, {"params": DAY}),
    Endpoint("summary", "GET", "/rest/v1/heatmap-pages/summary", VIEW, {"params": {**DAY, **BACKDROP}}),
    Endpoint("elements", "GET", "/rest/v1/heatmap-pages/elements", VIEW, {"params": {**DAY, **BACKDROP}}),
    Endpoint(
        "upload backdrop", "PUT", "/rest/v1/heatmap-pages/screenshot", MANAGE,
        {"params": BACKDROP, "content": png(), "headers": {"Content-Type": "image/png"}},
    ),
    Endpoint("list backdrops", "GET", "/rest/v1/heatmap-pages/screenshots", VIEW, {"params": BACKDROP}),
    Endpoint("screenshot bytes", "GET", "/rest/v1/screenshots/{id}", VIEW),
    Endpoint(
        "IngestTouchEvents", "POST", f"{SERVICE}/IngestTouchEvents", ANY_TOKEN,
        {"json": {"events": [touch(eventId=None)]}},
    ),
    Endpoint("QueryHeatmapData", "POST", f"{SERVICE}/QueryHeatmapData", VIEW, {"json": {"screenName": "x"}}),
    Endpoint("ListScreenshots", "POST", f"{SERVICE}/ListScreenshots", VIEW, {"json": {"screenName": "x"}}),
    Endpoint("UploadScreenshot", "POST", f"{SERVICE}/UploadScreenshot", MANAGE, {"json": UPLOAD}),
    Endpoint("tracker", "GET", "/tracker.js", PUBLIC),
    Endpoint("recorder", "GET", "/tracker-record.js", PUBLIC),
    Endpoint("upload recording", "POST", "/rest/v1/recordings", ANY_TOKEN, {"json": recording_chunk(seq=1)}),
    Endpoint("recording", "GET", "/rest/v1/sessions/{sessionId}/recording", VIEW),
    Endpoint("sessions", "GET", "/rest/v1/sessions", VIEW, {"params": DAY}),
    Endpoint(
        "create group", "POST", "/rest/v1/page-groups", MANAGE,
        {"json": {"name": "Blog", "pattern": "https://example.com/blog/*"}}, ok=201,
    ),
    Endpoint("groups", "GET", "/rest/v1/page-groups", VIEW, {"params": DAY}),
    Endpoint("delete group", "DELETE", "/rest/v1/page-groups/{groupId}", MANAGE, ok=204),
    Endpoint("openapi", "GET", "/openapi.json", PUBLIC),
    Endpoint("docs", "GET", "/docs", PUBLIC),
    Endpoint("health", "GET", "/healthz", PUBLIC),
]  # fmt: skip


@pytest.fixture
def callers(api_app, tokens) -> dict[str, str | None]:
    """role -> token (None for no token); 'revoked' held every permission before it was revoked."""
    engine = api_app.state.ctx.engine
    revoked_id, revoked = create_token(engine, "user-revoked", frozenset(Permission))
    assert revoke_token(engine, revoked_id)
    return {
        "none": None,
        "revoked": revoked,
        **{role: tokens[role] for role in ("ingest", "view", "manage", "admin")},
    }


@pytest.fixture
def seeded(client: TestClient, tokens) -> str:
    """A page with a click, a recorded session (s1) and a backdrop; returns the backdrop's screenshot id."""
    assert (
        client.post(
            "/rest/v1/events", json={"events": [web_click()]}, headers=bearer(tokens["ingest"])
        ).status_code
        == 200
    )
    recorded = client.post("/rest/v1/recordings", json=recording_chunk(), headers=bearer(tokens["ingest"]))
    assert recorded.json() == {"stored": True}
    shot = client.put(
        "/rest/v1/heatmap-pages/screenshot",
        params={"pageKey": PAGE, "breakpoint": "desktop"},
        content=png(),
        headers={**bearer(tokens["manage"]), "Content-Type": "image/png"},
    )
    group = client.post(
        "/rest/v1/page-groups",
        json={"name": "Pricing", "pattern": "https://example.com/pric*"},
        headers=bearer(tokens["manage"]),
    )
    assert group.status_code == 201, group.text
    return shot.json()["id"]


def send(
    client: TestClient, endpoint: Endpoint, token: str | None, shot_id: str, **extra: Any
) -> httpx.Response:
    """``endpoint`` called by ``token``; ``{groupId}`` is the seeded group's id."""
    kwargs = {key: value for key, value in endpoint.kwargs.items()}
    headers = dict(kwargs.pop("headers", {}))
    if token is not None:
        headers.update(bearer(token))
    headers.update(extra.pop("headers", {}))
    params = {**kwargs.pop("params", {}), **extra.pop("params", {})}
    path = endpoint.path.replace("{id}", shot_id).replace("{sessionId}", "s1")
    if "{groupId}" in path:  # the seeded group, until a caller allowed to delete it did
        groups = saved_groups(client.app.state.ctx.engine).filter(pl.col("name") == "Pricing")
        path = path.replace("{groupId}", groups.get_column("id").first() or "0" * 32)
    return client.request(endpoint.method, path, headers=headers, params=params, **kwargs, **extra)


def expected_status(endpoint: Endpoint, role: str) -> int:
    if role in endpoint.allowed:
        return endpoint.ok
    return 401 if role in ("none", "revoked") else 403


def assert_denied(endpoint: Endpoint, response: httpx.Response, status: int) -> None:
    assert response.status_code == status, (endpoint.name, response.status_code, response.text)
    body = response.json()
    if endpoint.connect:
        code = {401: "unauthenticated", 403: "permission_denied"}[status]
        assert body == {"code": code, "message": body["message"]}
    else:
        assert body == {"error": {401: "unauthorized", 403: "forbidden"}[status], "details": body["details"]}
        if status == 401:
            assert response.headers["www-authenticate"] == "Bearer"


def test_every_endpoint_for_every_caller(client, callers, seeded) -> None:
    table = {}
    for endpoint in ENDPOINTS:
        for role in ROLES:
            response = send(client, endpoint, callers[role], seeded)
            table[(endpoint.name, role)] = response.status_code
            status = expected_status(endpoint, role)
            if role not in endpoint.allowed:
                assert_denied(endpoint, response, status)
    assert table == {(e.name, role): expected_status(e, role) for e in ENDPOINTS for role in ROLES}


def test_the_matrix_covers_every_route(api_app) -> None:
    routes = {
        (method, route.path.replace(":path", ""))
        for route in api_app.routes
        for method in getattr(route, "methods", ()) or ()
        if method not in ("HEAD", "OPTIONS") and "{method}" not in route.path
    }
    covered = {(e.method, e.path.replace("{id}", "{screenshot_id}")) for e in ENDPOINTS}
    assert routes - covered <= {("GET", "/docs/oauth2-redirect"), ("GET", "/redoc")}, routes - covered


QUERY_NAMES = ("token", "key", "access_token", "api_key", "apiKey", "authorization", "bearer")


def test_tokens_are_never_accepted_outside_the_header(client, tokens, seeded) -> None:
    everything = tokens["all"]
    for endpoint in ENDPOINTS:
        if endpoint.allowed == PUBLIC:
            continue
        in_query = {name: everything for name in QUERY_NAMES} | {"authorization": f"Bearer {everything}"}
        attempts = [
            {"params": in_query},
            {"headers": {"Cookie": f"token={everything}; session={everything}"}},
            {"headers": {"X-Api-Key": everything, "X-Auth-Token": everything}},
            {"headers": {"Authorization": everything}},  # no scheme
            {"headers": {"Authorization": f"Basic {base64.b64encode(everything.encode()).decode()}"}},
            {"headers": {"Authorization": f"Token {everything}"}},
            {"headers": {"Authorization": "Bearer"}},
        ]
        for attempt in attempts:
            assert_denied(endpoint, send(client, endpoint, None, seeded, **attempt), 401)
    # The scheme is case-insensitive (RFC 9110), as any HTTP client may send it.
    assert (
        client.get(
            "/rest/v1/heatmap-pages", params=DAY, headers={"Authorization": f"bearer {everything}"}
        ).status_code
        == 200
    )
    # A key in the body counts only for a text/plain sendBeacon batch, never in JSON, never on Connect.
    batch = {"events": [web_click(eventId=None)], "key": tokens["ingest"]}
    assert client.post("/rest/v1/events", json=batch).status_code == 401
    for method in ("IngestTouchEvents", "QueryHeatmapData"):
        body = {
            "events": [touch(eventId=None)],
            "screenName": "home_feed",
            "key": everything,
            "token": everything,
        }
        assert client.post(f"{SERVICE}/{method}", json=body).status_code == 401


def test_tokens_are_never_in_logs_or_responses(client, callers, tokens, seeded, caplog) -> None:
    secrets = [token for token in [*callers.values(), tokens["all"]] if token]
    responses = []
    with caplog.at_level(logging.DEBUG):
        for endpoint in ENDPOINTS:
            for token in secrets:
                responses.append(send(client, endpoint, token, seeded))
                responses.append(send(client, endpoint, None, seeded, params={"token": token}))
        responses.append(client.post("/rest/v1/events", content=b"{", headers=bearer(tokens["ingest"])))
        responses.append(
            client.post(
                "/rest/v1/events",
                content=f'{{"key": "{tokens["ingest"]}"',
                headers={"Content-Type": "text/plain"},
            )
        )
    for response in responses:
        shown = response.text + "".join(f"{k}: {v}" for k, v in response.headers.items())
        assert not any(secret in shown for secret in secrets), response.request.url
    server_side = [
        r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))
    ]  # not the client
    leaked = [
        (r.name, r.getMessage())
        for r in server_side
        if any(s in r.getMessage() + (r.exc_text or "") for s in secrets)
    ]
    assert not leaked, leaked[:3]


@pytest.mark.live
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_live_server_never_logs_a_token(database_url: str, api_app, tokens, tmp_path: Path) -> None:
    with ApiServer(database_url, tmp_path) as server, httpx.Client(base_url=server.base) as http:
        for token in tokens.values():
            http.get("/rest/v1/heatmap-pages", params=DAY, headers=bearer(token))
            http.get("/rest/v1/heatmap-pages", params={**DAY, "token": token})
            http.post(
                "/rest/v1/events",
                content=f'{{"key": "{token}", "events": []}}',
                headers={"Content-Type": "text/plain"},
            )
            http.post("/rest/v1/events", content=b"\xff", headers=bearer(token))
            http.post(f"{SERVICE}/QueryHeatmapData", json={"screenName": 5}, headers=bearer(token))
    log = server.log_text()
    assert "Started server process" in log
    assert not any(token in log or token[10:] in log for token in tokens.values())


def test_tokens_are_shown_once_and_stored_only_as_a_hash(settings, engine) -> None:
    runner = CliRunner()
    created = runner.invoke(cli, ["keys", "create", "--user", "alice", "--permissions", "VIEW_HEATMAPS"])
    token = created.stdout.strip().splitlines()[-1]
    listed = runner.invoke(cli, ["keys", "list"])
    assert listed.exit_code == 0 and token not in listed.stdout and token[:10] in listed.stdout
    assert token[10:] not in listed.stdout
    with engine.connect() as conn:
        rows = [dict(row._mapping) for row in conn.execute(select(api_tokens))]
    assert [row["token_hash"] for row in rows] == [hashlib.sha256(token.encode()).hexdigest()]
    assert not any(token in str(value) for row in rows for value in row.values())
    assert len(token) >= 43 + 3  # 32 random bytes in URL-safe base64, after the hm_ prefix
