"""Fuzzing the whole HTTP surface from its own OpenAPI document (schemathesis), in process.

For every operation of ``/openapi.json`` (the REST API, the four Connect methods and ``/healthz``),
schemathesis generates requests that follow the document (positive) and requests that break it
(negative), sent with a token holding every permission. Each response must pass schemathesis' checks
(no 5xx; status codes, content types, headers and bodies as documented; schema-breaking requests
refused with a 4xx) and ours: every non-2xx body is the contract's error shape, ``{"error",
"details"}`` on REST and Connect's ``{"code", "message"}`` on the HeatmapService, and a refused
ingestion request stores nothing.

Left out: schemathesis' ``positive_data_acceptance``, which expects every request that matches the
document to succeed. The document cannot express all of the contract's rules (a timestamp at most
5 minutes ahead, a window of at most 60 days, an absolute http(s) pageKey), so a 400 for a
document-valid request is right.

Runtime is bounded by ``max_examples`` per operation and mode (about 25 s per database on 2 cores).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance
from schemathesis.core.failures import Failure
from sqlalchemy import Engine, func, select

from data_layer.schema import captures, page_groups, recording_chunks, screenshots, touch_events, web_events
from tests.conftest import bearer

pytestmark = pytest.mark.slow  # schema-driven fuzzing of every operation

MAX_EXAMPLES = 25
OPERATIONS = {
    ("GET", "/healthz"),
    ("POST", "/rest/v1/events"),
    ("GET", "/rest/v1/heatmap-pages"),
    ("GET", "/rest/v1/heatmap-pages/summary"),
    ("GET", "/rest/v1/heatmap-pages/elements"),
    ("GET", "/rest/v1/page-groups"),
    ("POST", "/rest/v1/page-groups"),
    ("DELETE", "/rest/v1/page-groups/{group_id}"),
    ("PUT", "/rest/v1/heatmap-pages/screenshot"),
    ("GET", "/rest/v1/heatmap-pages/screenshots"),
    ("GET", "/rest/v1/screenshots/{screenshot_id}"),
    ("POST", "/rest/v1/heatmap-pages/capture"),
    ("GET", "/rest/v1/captures/{capture_id}"),
    ("POST", "/rest/v1/recordings"),
    ("GET", "/rest/v1/sessions/{sessionId}/recording"),
    ("GET", "/rest/v1/sessions"),
    ("POST", "/heatmap.v1.HeatmapService/IngestTouchEvents"),
    ("POST", "/heatmap.v1.HeatmapService/QueryHeatmapData"),
    ("POST", "/heatmap.v1.HeatmapService/ListScreenshots"),
    ("POST", "/heatmap.v1.HeatmapService/UploadScreenshot"),
}
WRITES = {
    "/rest/v1/events": web_events,
    "/heatmap.v1.HeatmapService/IngestTouchEvents": touch_events,
    "/heatmap.v1.HeatmapService/UploadScreenshot": screenshots,
    "/rest/v1/heatmap-pages/screenshot": screenshots,
    "/rest/v1/heatmap-pages/capture": captures,
    "/rest/v1/recordings": recording_chunks,
    "/rest/v1/page-groups": page_groups,
}


class ErrorShape(Failure):
    """A non-2xx answer whose body is not the contract's error shape."""

    def __init__(self, operation: str, status: int, body: str) -> None:
        super().__init__(
            operation=operation,
            title="Error body not in the contract's shape",
            message=f"status {status}, body {body[:300]!r}",
            code="error_shape",
        )


def error_shape(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> bool | None:
    """REST: {"error": str, "details": str}; Connect: {"code": str, "message": str}; nothing else."""
    if response.status_code < 300:
        return None
    keys = ("code", "message") if case.operation.path.startswith("/heatmap.v1.") else ("error", "details")
    try:
        body = response.json()
    except ValueError:
        body = None
    if not (
        isinstance(body, dict) and set(body) == set(keys) and all(isinstance(body[k], str) for k in keys)
    ):
        raise ErrorShape(case.operation.label, response.status_code, response.text)
    return True


@pytest.fixture
def schema(api_app, unlimited) -> Any:
    """The app's own OpenAPI document, with rate limits out of the way (429 is tested elsewhere)."""
    return schemathesis.openapi.from_asgi("/openapi.json", api_app)


def rows(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(table))


def test_the_document_describes_every_endpoint(schema) -> None:
    found = {(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()}
    assert found == OPERATIONS


def fuzz_operation(operation: Any, mode: GenerationMode, headers: dict[str, str], engine: Engine) -> None:
    """Run schemathesis' generated requests for one operation; raises on the first (shrunk) failure."""
    written = WRITES.get(operation.path)

    @settings(
        max_examples=MAX_EXAMPLES,
        database=None,
        # A fixed sequence: a random one once sent a "negative" object parameter that serialises to an
        # empty, valid query value (``?tag=``) and failed a run on an accepted request.
        derandomize=True,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case: schemathesis.Case) -> None:
        before = rows(engine, written) if written is not None else None
        response = case.call_and_validate(
            headers=headers, excluded_checks=[positive_data_acceptance], additional_checks=[error_shape]
        )
        if written is not None and response.status_code >= 300:
            assert rows(engine, written) == before, "a refused request stored something"

    fuzz()


@pytest.mark.parametrize(
    "mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"]
)
def test_fuzz_every_operation(schema, tokens, engine: Engine, mode: GenerationMode) -> None:
    for result in schema.get_all_operations():
        operation = result.ok()
        if mode is GenerationMode.NEGATIVE and operation.path == "/healthz":
            continue  # nothing to break: no parameters, no body
        fuzz_operation(operation, mode, bearer(tokens["all"]), engine)
