"""The ``heatmaps`` command (CONTRACT 9). Exit 0 on success, 2 with a one-line reason on bad input."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from alembic.util import CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from data_layer import auth, breakpoints, leases
from data_layer.clickhouse import erasure, rollup, tables, tail
from data_layer.clickhouse.shipper import Shipper
from data_layer.clickhouse.target import ClickHouseTarget
from data_layer.db import get_engine
from data_layer.errors import ServiceError, database_unavailable
from data_layer.event_models import MAX_BATCH_EVENTS, BatchValidationError
from data_layer.ingest import ingest_web_batch
from data_layer.migrate import upgrade
from data_layer.retention import DeletionResult, forget_visitor, purge_cutoff, purge_older_than
from data_layer.screenshots import get_screenshot
from data_layer.settings import Settings, get_settings
from data_layer.urls import InvalidUrlError, normalize_page_key

PROJECT_ROOT = Path(__file__).resolve().parent.parent
app = typer.Typer(help="Self-hosted heatmap analytics.", no_args_is_help=True, add_completion=False)
keys_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
clickhouse_app = typer.Typer(help="The ClickHouse event store (CONTRACT 16).", no_args_is_help=True)
app.add_typer(clickhouse_app, name="clickhouse")
err = Console(stderr=True, soft_wrap=True)  # reasons stay on one line in logs and pipes
out = Console()


def fail(reason: str) -> NoReturn:
    """Bad input: one line on stderr, exit status 2."""
    err.print(f"error: {reason}", markup=False, highlight=False)
    raise typer.Exit(2)


def load_settings() -> Settings:
    try:
        return get_settings()
    except Exception as exc:  # pydantic ValidationError: report it on one line
        fail(f"invalid settings: {' '.join(str(exc).split())}")


def one_line(exc: BaseException) -> str:
    """The reason of ``exc`` on one line: the driver's message, without SQL or help links."""
    reason = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    return " ".join(str(reason).split()) or type(reason).__name__


def shown_url(url: str) -> str:
    """``url`` fit for a message: password hidden, nothing shown when it does not parse."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "HEATMAPS_DATABASE_URL"


def ready_engine(settings: Settings):
    """The engine of a database migrated to the newest schema.

    A database that cannot be reached, opened or migrated stops every command here with exit 2 and a
    one-line reason: the API and the dashboard refuse to start rather than serve 503s on a database
    they never verified (docs/reliability.md); a service manager's restart policy retries.
    """
    try:
        upgrade(settings.database_url)
        return get_engine(settings.database_url)
    except (SQLAlchemyError, OSError, CommandError) as exc:
        fail(f"cannot open the database {shown_url(settings.database_url)}: {one_line(exc)}")


def progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )


@app.command()
def init() -> None:
    """Create or migrate the database (Alembic)."""
    settings = load_settings()
    ready_engine(settings)
    out.print(f"database ready: {get_engine(settings.database_url).url.render_as_string()}")
    target = settings.clickhouse_target()
    if target is not None:
        found = clickhouse_call(target, lambda: tables.create_all(target))
        out.print(f"ClickHouse ready: {target.redacted()}, {len(found)} shard(s)")


def clickhouse_call(target: ClickHouseTarget, action: Any, then: str = "") -> Any:
    """``action()``, a ClickHouse that cannot do it ending the command with exit 2 and the reason
    (never the password), followed by ``then``: what the user should do about it."""
    try:
        return action()
    except (ServiceError, ValueError, TimeoutError) as exc:
        fail(f"ClickHouse {target.redacted()}: {getattr(exc, 'details', None) or exc}{then}")


ERASE_AGAIN = (
    "; the SQL database no longer holds them, ClickHouse still does: run this command again once every "
    "shard answers (it then erases them there)"
)


def clickhouse_target(settings: Settings) -> ClickHouseTarget:
    target = settings.clickhouse_target()
    if target is None:
        fail("HEATMAPS_CLICKHOUSE_URL is not set")
    return target


@clickhouse_app.command("backfill")
def clickhouse_backfill() -> None:
    """Copy the events stored in SQL into ClickHouse (resumable, idempotent)."""
    settings = load_settings()
    target = clickhouse_target(settings)
    engine = ready_engine(settings)
    clickhouse_call(target, lambda: tables.create_all(target))
    holder = leases.holder_id()
    if not leases.hold(engine, Shipper.LEASE, holder, 3600):
        fail(f"{leases.holder_of(engine, Shipper.LEASE)} is shipping events to ClickHouse now")
    shipper = Shipper(engine, target)
    try:
        lag = shipper.lag()
        with progress() as bar:
            task = bar.add_task("shipping", total=sum(lag.values()))
            sent = clickhouse_call(target, lambda: shipper.ship(lambda rows: bar.advance(task, rows)))
            bar.update(task, completed=sum(lag.values()))
    finally:
        shipper.close()
        leases.release(engine, Shipper.LEASE, holder)
    out.print(f"shipped {sent['web']} web events and {sent['touch']} touch events to {target.redacted()}")


@clickhouse_app.command("status")
def clickhouse_status() -> None:
    """Each shard (host, reachable, rows, bytes on disk) and how far ClickHouse lags behind SQL."""
    settings = load_settings()
    target = clickhouse_target(settings)
    engine = ready_engine(settings)
    found = clickhouse_call(target, lambda: tables.shards(target))
    down = []
    for shard in found:
        state = tables.shard_state(target, shard)
        if state is None:
            down.append(shard)
            out.print(f"shard {shard.number} {shard.host}:{shard.port}: unreachable")
        else:
            rows, size = state
            out.print(f"shard {shard.number} {shard.host}:{shard.port}: reachable, {rows} rows, {size} bytes")
    lag = Shipper(engine, target).lag()
    out.print(f"lag behind ingestion: {lag['web']} web events, {lag['touch']} touch events")
    with engine.connect() as conn:
        built, shipped_days = rollup.built_days(conn)
    out.print(f"daily rollup: {built} of {shipped_days} days built (the others are scanned)")
    with engine.connect() as conn:
        cut = tail.horizon(conn)
    held = tail.sql_rows(engine)
    kept = "every event" if cut is None else f"the events of {cut} on (older ones in ClickHouse alone)"
    out.print(f"SQL tail: {held['web']} web and {held['touch']} touch events, {kept}")
    if down:
        fail(f"{len(down)} of {len(found)} ClickHouse shard(s) unreachable")


@app.command()
def demo(
    events: Annotated[int, typer.Option(min=1, help="Web events to generate.")] = 100_000,
    days: Annotated[int, typer.Option(min=1, max=365, help="Days of history, ending today.")] = 30,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = 7,
) -> None:
    """Fill the database with a realistic demo site and mobile app (idempotent per seed)."""
    from demo_site.loader import load_demo

    settings = load_settings()
    engine = ready_engine(settings)
    with progress() as bar:
        summary = load_demo(engine, settings, events=events, days=days, seed=seed, progress=bar)
    out.print(summary)


def _is_ndjson(path: Path) -> bool:
    """NDJSON when the first line alone is one event object; else one JSON document."""
    with path.open("rb") as handle:
        first = handle.readline().strip()
    if first.startswith(b"["):
        return False
    try:
        item = json.loads(first)
    except (ValueError, RecursionError):
        return False
    return isinstance(item, dict) and "events" not in item


def _read_events(path: Path) -> Iterator[tuple[int, Any]]:
    """(line or item number, raw event) from an NDJSON file, a JSON array or {"events": [...]}."""
    if not _is_ndjson(path):
        try:
            document = json.loads(path.read_bytes())
        except (ValueError, RecursionError) as exc:
            fail(f"{path} is neither NDJSON nor a JSON document: {exc}")
        items = document.get("events") if isinstance(document, dict) else document
        if not isinstance(items, list):
            fail(f'{path}: expected NDJSON, a JSON array of events or {{"events": [...]}}')
        yield from enumerate(items, start=1)
        return
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except (ValueError, RecursionError):
                yield number, None  # reported by validation as "must be an object"


@app.command()
def ingest(
    file: Annotated[Path, typer.Argument(help="NDJSON file or JSON array of WebEvents.")],
    batch_size: Annotated[int, typer.Option(min=1, max=MAX_BATCH_EVENTS)] = MAX_BATCH_EVENTS,
) -> None:
    """Load WebEvents from a file with the API's rules, in batches; report counts and first errors."""
    if not file.is_file():
        fail(f"{file} is not a readable file")
    settings = load_settings()
    engine = ready_engine(settings)
    total = ingested = duplicates = rejected = 0
    errors: list[str] = []

    def flush(batch: list[tuple[int, Any]]) -> None:
        nonlocal ingested, duplicates, rejected
        try:
            result = ingest_web_batch(engine, settings, [event for _, event in batch])
        except BatchValidationError as exc:
            rejected += len(batch)
            errors.append(f"items {batch[0][0]}-{batch[-1][0]}: {exc.details}")
            return
        ingested += result.ingested
        duplicates += result.duplicates

    with progress() as bar:
        task = bar.add_task(f"ingesting {file.name}", total=None)
        batch: list[tuple[int, Any]] = []
        for item in _read_events(file):
            batch.append(item)
            total += 1
            if len(batch) == batch_size:
                flush(batch)
                batch = []
                bar.update(task, completed=total)
        if batch:
            flush(batch)
        bar.update(task, completed=total, total=total)
    out.print(f"read {total} events: {ingested} ingested, {duplicates} duplicates, {rejected} rejected")
    for line in errors[:5]:
        err.print(line[:2000], markup=False, highlight=False)
    if rejected:
        fail(
            f"{rejected} events in {len(errors)} batch(es) were rejected; nothing of those batches was stored"
        )


@keys_app.command("create")
def keys_create(
    user: Annotated[str, typer.Option(help="User id the token belongs to.")],
    permissions: Annotated[
        str, typer.Option(help="Comma-separated: VIEW_HEATMAPS, MANAGE_HEATMAPS, ADMIN. Empty = ingest only.")
    ] = "",
) -> None:
    """Create a token; the token is printed once, as the last line."""
    try:
        perms = auth.parse_permissions(permissions)
    except ValueError as exc:
        fail(str(exc))
    engine = ready_engine(load_settings())
    try:
        token_id, token = auth.create_token(engine, user, perms)
    except ValueError as exc:
        fail(str(exc))
    granted = ",".join(sorted(perms)) or "ingest only"
    err.print(f"created token {token_id} for {user} ({granted}); store it now, it is not shown again")
    print(token)


@keys_app.command("list")
def keys_list() -> None:
    """List tokens (never the tokens themselves)."""
    engine = ready_engine(load_settings())
    for info in auth.list_tokens(engine):
        state = f"revoked {info.revoked_at:%Y-%m-%d %H:%M}" if info.revoked_at else "active"
        perms = ",".join(info.permissions) or "ingest only"
        print(
            f"{info.id}\t{info.prefix}…\t{info.user_id}\t{perms}\t{info.created_at:%Y-%m-%d %H:%M}\t{state}"
        )


@keys_app.command("revoke")
def keys_revoke(token_id: Annotated[int, typer.Argument(help="Id shown by `heatmaps keys list`.")]) -> None:
    """Revoke a token at once."""
    engine = ready_engine(load_settings())
    if not auth.revoke_token(engine, token_id):
        fail(f"no active token with id {token_id}")
    print(f"revoked token {token_id}")


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="Bind address (default from settings).")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535)] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="Processes serving requests (default HEATMAPS_API_WORKERS, else one per core on PostgreSQL, "
            "one on SQLite).",
        ),
    ] = None,
) -> None:
    """Serve the REST API, the HeatmapService and /tracker.js."""
    settings = load_settings()
    ready_engine(settings)
    processes = workers or settings.api_processes()
    # Every process reads its settings from the environment: they divide the rate limits by this.
    os.environ["HEATMAPS_API_WORKERS"] = str(processes)
    get_settings.cache_clear()
    serve_api(host or settings.api_host, port or settings.api_port, processes)


def serve_api(host: str, port: int, processes: int) -> None:
    """uvicorn serving ``api.app:create_app`` from ``processes`` processes; more than one run under
    uvicorn's supervisor, which restarts a worker that dies (:func:`api.supervision.serve_workers`)."""
    import uvicorn

    from api.supervision import serve_workers

    options: dict[str, Any] = {
        "factory": True,
        "host": host,
        "port": port,
        "workers": processes,
        "log_level": "info",
        "access_log": False,  # request lines would carry query strings; nothing sensitive is logged
    }
    if processes == 1:
        uvicorn.run("api.app:create_app", **options)
        return
    serve_workers(uvicorn.Config("api.app:create_app", **options))


def _dashboard_command(port: int, host: str) -> list[str]:
    """Streamlit reads the rest of its configuration from ``.streamlit/`` beside ``streamlit_app.py``."""
    return [
        sys.executable, "-m", "streamlit", "run", str(PROJECT_ROOT / "streamlit_app.py"),
        "--server.port", str(port), "--server.address", host,
    ]  # fmt: skip


@app.command()
def dashboard(
    port: Annotated[int | None, typer.Option(min=1, max=65535)] = None,
    host: Annotated[str, typer.Option(help="Bind address.")] = "127.0.0.1",
) -> None:
    """Serve the Streamlit dashboard."""
    settings = load_settings()
    ready_engine(settings)
    raise typer.Exit(subprocess.call(_dashboard_command(port or settings.dashboard_port, host)))


@app.command()
def serve() -> None:
    """Run the API and the dashboard together for a local run; Ctrl-C stops both."""
    settings = load_settings()
    ready_engine(settings)
    api_cmd = [sys.executable, "-m", "heatmaps_cli.app", "api"]
    children = [
        subprocess.Popen(api_cmd),
        subprocess.Popen(_dashboard_command(settings.dashboard_port, settings.api_host)),
    ]
    out.print(f"API:       {settings.api_url}  (OpenAPI at {settings.api_url}/docs)")
    out.print(f"Dashboard: {settings.dashboard_url}")
    out.print("Press Ctrl-C to stop.")

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    # Ctrl-C and a service manager's SIGTERM both stop the pair, even when the shell that started this
    # process made it ignore SIGINT (as non-interactive shells do for background jobs).
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT if os.name != "nt" else signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
    codes = [child.returncode for child in children]
    raise typer.Exit(0 if all(code in (0, -2, 130, None) for code in codes) else 1)


@app.command()
def capture(
    urls: Annotated[
        list[str], typer.Argument(help="Page URLs of allowed origins (HEATMAPS_CAPTURE_ORIGINS).")
    ],
    breakpoint: Annotated[
        list[str] | None,
        typer.Option("--breakpoint", help="desktop, tablet or mobile; repeatable; default all."),
    ] = None,
) -> None:
    """Photograph pages as heatmap backdrops with headless Chromium and store them; one line per capture."""
    from data_layer.capture import jobs
    from data_layer.capture.origins import OriginNotAllowedError, check_allowed
    from data_layer.capture.worker import run_job

    logging.getLogger("heatmaps.capture").setLevel(logging.ERROR)  # failures are reported below, once
    settings = load_settings()
    names = list(dict.fromkeys(breakpoint or breakpoints.NAMES))
    unknown = [name for name in names if name not in breakpoints.NAMES]
    if unknown:
        fail(f"--breakpoint must be one of {', '.join(breakpoints.NAMES)}, got {unknown[0]!r}")
    targets = []
    for url in urls:
        try:
            targets.append((url, normalize_page_key(url, settings.page_key_rules)))
        except InvalidUrlError as exc:
            fail(f"{url[:200]}: {exc}")
    engine = ready_engine(settings)
    failures = []
    for url, key in targets:
        for name in names:
            try:
                check_allowed(url, settings.allowed_capture_origins)
            except OriginNotAllowedError as exc:
                failures.append(f"{key} ({name}): {exc}")
                continue
            job = jobs.enqueue(engine, key, name, url, requested_by="cli")
            claimed = jobs.claim(engine, job.id)
            if claimed is None:  # the API's worker is on it already
                failures.append(f"{key} ({name}): a capture of this page is already running (id {job.id})")
                continue
            done = run_job(engine, settings, claimed, retries=False)
            if done.status == "done":
                shot = get_screenshot(engine, done.screenshot_id or "")
                size = f"{shot['width']}x{shot['height']} px" if shot else ""
                print(f"captured {key} ({name}): {size}, screenshot {done.screenshot_id}")
            else:
                failures.append(f"{key} ({name}): {done.error}")
    for line in failures:
        err.print(f"failed {line}", markup=False, highlight=False)
    if failures:
        raise typer.Exit(2)


@app.command()
def purge(
    older_than: Annotated[int | None, typer.Option("--older-than", min=1, help="Age in days.")] = None,
) -> None:
    """Delete events and recordings older than DAYS (default: the retention_days setting)."""
    settings = load_settings()
    days = older_than or settings.retention_days
    if days is None:
        fail("give --older-than DAYS or set HEATMAPS_RETENTION_DAYS")
    today = datetime.now(UTC).date()  # one day for both halves, even across midnight
    engine = ready_engine(settings)
    target = settings.clickhouse_target()
    result = purge_older_than(engine, settings, days, today=today, clickhouse=target)
    if target is not None:
        cutoff = purge_cutoff(days, today)
        clickhouse_call(target, lambda: erasure.purge_before(target, cutoff, engine), ERASE_AGAIN)
    print(deleted(result))


def deleted(result: DeletionResult) -> str:
    return (
        f"deleted {result.web_events} web events, {result.touch_events} touch events and "
        f"{result.recording_chunks} recording chunks"
    )


@app.command()
def forget(visitor: Annotated[str, typer.Option("--visitor", help="visitorId (or mobile user id).")]) -> None:
    """Erase every event and recording of one visitor (right to erasure)."""
    if not visitor.strip():
        fail("--visitor must not be empty")
    settings = load_settings()
    engine = ready_engine(settings)
    target = settings.clickhouse_target()
    result = forget_visitor(engine, visitor, settings, target)
    if target is not None:
        clickhouse_call(target, lambda: erasure.forget(target, visitor, engine), ERASE_AGAIN)
    print(f"{deleted(result)} of {visitor}")


def main() -> None:
    """The console script: a database lost in the middle of a command ends it like bad input, exit 2."""
    try:
        app()
    except DBAPIError as exc:
        if not database_unavailable(exc):
            raise
        err.print(f"error: the database became unavailable: {one_line(exc)}", markup=False, highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
