"""Tracker-shaped ingestion: many connections, each POSTing small batches, against a live ``heatmaps api``.

A site's tracker sends a few events every 5 s from each open page, so real ingestion is thousands of
small requests. For each database and connection count this prints, from the same server in the same
run: ``GET /tracker.js`` (the reference: the cheapest request the server answers), ``POST
/rest/v1/events`` with 5 events a request and ``POST /rest/v1/recordings`` with one 5 s chunk a
request: requests/s, events/s, p50/p99 latency, errors, the ratio to the GET, and the exact count
check (every acknowledged event stored once, none lost, none counted twice, re-sends included).

    .venv/bin/python -m benchmarks.tracker_load                       # SQLite and PostgreSQL, 16 and 64
    .venv/bin/python -m benchmarks.tracker_load --databases sqlite --connections 16 --seconds 10
    .venv/bin/python -m benchmarks.tracker_load --workers 2            # passed to `heatmaps api`
    .venv/bin/python -m benchmarks.tracker_load --repo /tmp/before     # another checkout's server

The load comes from wrk (``apt-get install wrk``) with ``benchmarks/wrk/*.lua``, one thread per
connection, so the client costs little and never measures itself; without wrk a Python client
(:mod:`heatmaps_testing.tracker_load`) stands in, says so, and takes CPU from the server. Every 10th
request re-sends the connection's previous batch, and every 7th sends the next connection's batch of
the same number, which that connection sends at about the same time: duplicates arriving together.
Each database is a fresh scratch one (a SQLite file, or a schema on ``HEATMAPS_TEST_PG_URL``), with
rate limits out of the way.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.load import scratch_database
from heatmaps_testing.loopback import REPO, ApiServer, make_tokens
from heatmaps_testing.tracker_load import (
    BASE_AGO_MS,
    EVENTS_PER_BATCH,
    Kind,
    LoadShape,
    RunRecord,
    check,
    parse_wrk_output,
    run_python_client,
    run_python_gets,
)

WRK_DIR = Path(__file__).resolve().parent / "wrk"
SCRIPTS: dict[Kind, str] = {"events": "events.lua", "recordings": "recordings.lua"}
RESEND_EVERY, CROSS_EVERY = 10, 7


@dataclass(frozen=True)
class Client:
    """How load is sent: wrk when installed, else the Python client (``wrk`` is None)."""

    wrk: str | None

    def get(self, base: str, path: str, connections: int, seconds: float, out: Path) -> RunRecord:
        """Plain GETs of ``path`` as fast as ``connections`` connections can send them."""
        if self.wrk is None:
            return run_python_gets(base, path, connections, seconds)
        self._wrk(base + path, connections, seconds, out, "report.lua", ())
        return parse_wrk_output(out)

    def post(self, base: str, kind: Kind, shape: LoadShape, seconds: float, out: Path) -> RunRecord:
        """Keyed batches of ``kind`` (see :mod:`heatmaps_testing.tracker_load`)."""
        if self.wrk is None:
            return run_python_client(base, kind, shape, seconds)
        args = (
            shape.run,
            shape.connections,
            shape.base_ms,
            shape.token,
            shape.resend_every,
            shape.cross_every,
        )
        self._wrk(base, shape.connections, seconds, out, SCRIPTS[kind], tuple(map(str, args)))
        return parse_wrk_output(out)

    def _wrk(
        self, url: str, connections: int, seconds: float, out: Path, script: str, args: Sequence[str]
    ) -> None:
        command = [
            self.wrk, "-t", str(connections), "-c", str(connections), "-d", f"{seconds:g}s",
            "--timeout", "10s", "-s", str(WRK_DIR / script), url, "--", *args,
        ]  # fmt: skip
        env = {**os.environ, "HEATMAPS_WRK_OUT": str(out)}
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the API's worker processes)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [pid, *(p for child in children for p in process_tree(int(child)))]


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process tree of ``pid`` has used so far: what the server spends per
    request, whatever else the machine runs meanwhile."""
    total = 0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def load() -> str:
    return "load {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def line(
    label: str, record: RunRecord, cpu: float, reference: float | None, events_per_request: int = 0
) -> str:
    """One printed figure: requests/s (and events/s), latency, errors, the server's CPU per request, the
    ratio to the GET."""
    rate = record.requests_per_s
    events = f"  {rate * events_per_request:9,.0f} events/s" if events_per_request else " " * 20
    errors = record.socket_errors + sum(n for status, n in record.statuses().items() if status != 200)
    ratio = f"  ratio {rate / reference:.2f}" if reference else ""
    latency = record.latency_ms
    return (
        f"  {label:<28}{rate:9,.0f} req/s{events}  p50 {latency['p50']:6.1f} ms  p99 {latency['p99']:6.1f} ms"
        f"  errors {errors}  server CPU {cpu * 1000 / max(1, record.requests):.2f} ms/req{ratio}"
    )


def verdict_line(database_url: str, kind: Kind, run: str, record: RunRecord) -> str:
    verdict = check(database_url, kind, run, record)
    unit = "events" if kind == "events" else "chunks"
    return (
        f"    exact: {verdict.sent:,} {unit} acknowledged, {verdict.stored:,} stored, reported new "
        f"{verdict.reported_new:,}; lost {verdict.lost}, double counted {verdict.double_counted}, "
        f"miscounted {verdict.miscounted}, partial {verdict.partial}, unexpected {verdict.unexpected}: "
        f"{'OK' if verdict.ok else 'FAILED'}"
    )


def measure(
    client: Client, database_url: str, server: ApiServer, token: str, args: argparse.Namespace, tmp: Path
) -> bool:
    """Every path at every connection count against ``server``; True when every exact check passed."""
    base, ok = server.base, True
    for connections in args.connections:
        print(f" {connections} connections, {args.seconds:g} s each ({load()})", flush=True)
        reference = None
        if "tracker" in args.paths:
            before = cpu_seconds(server.pid)
            record = client.get(base, "/tracker.js", connections, args.seconds, tmp / "get.out")
            reference = record.requests_per_s
            print(line("GET /tracker.js", record, cpu_seconds(server.pid) - before, None), flush=True)
        for kind in ("events", "recordings"):
            if kind not in args.paths:
                continue
            run = f"r{uuid.uuid4().hex[:8]}"
            shape = LoadShape(
                token, connections, run, int(time.time() * 1000) - BASE_AGO_MS, RESEND_EVERY, CROSS_EVERY
            )
            before = cpu_seconds(server.pid)
            record = client.post(base, kind, shape, args.seconds, tmp / f"{kind}.out")
            cpu = cpu_seconds(server.pid) - before
            label = (
                f"POST {kind} ({EVENTS_PER_BATCH}/req)" if kind == "events" else "POST recordings (1 chunk)"
            )
            print(
                line(label, record, cpu, reference, EVENTS_PER_BATCH if kind == "events" else 0), flush=True
            )
            time.sleep(0.5)  # the answers are in; let nothing still be committing
            verdict = verdict_line(database_url, kind, run, record)
            ok = ok and verdict.endswith("OK")
            print(verdict, flush=True)
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--databases", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"]
    )
    parser.add_argument("--connections", nargs="+", type=int, default=[16, 64])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument(
        "--paths",
        nargs="+",
        choices=("tracker", "events", "recordings"),
        default=["tracker", "events", "recordings"],
    )
    parser.add_argument("--workers", type=int, help="heatmaps api --workers (default: the command's own)")
    parser.add_argument("--repo", type=Path, default=REPO, help="checkout whose `heatmaps api` runs")
    parser.add_argument("--client", choices=("auto", "python"), default="auto", help="python: never use wrk")
    args = parser.parse_args(argv)
    wrk = shutil.which("wrk") if args.client == "auto" else None
    if wrk is None:
        reason = "asked for" if args.client == "python" else "wrk is not installed (apt-get install wrk)"
        print(
            f"note: a Python client sends the load ({reason}); it shares the CPU with the server, so every "
            "figure is lower than the server can do"
        )
    client = Client(wrk)
    extra = ("--workers", str(args.workers)) if args.workers else ()
    ok = True
    for database in args.databases:
        with (
            tempfile.TemporaryDirectory(prefix="heatmaps-tracker-load-") as tmp,
            scratch_database(database, Path(tmp)) as url,
        ):
            token = make_tokens(url)[0]
            with ApiServer(url, Path(tmp), args=extra, repo=args.repo) as server:
                print(
                    f"{database}, heatmaps api {' '.join(extra) or '(default workers)'} from {args.repo}",
                    flush=True,
                )
                client.get(server.base, "/tracker.js", 4, 2, Path(tmp) / "warm.out")  # warm up
                ok = measure(client, url, server, token, args, Path(tmp)) and ok
                tracebacks = server.log_text().count("Traceback")
            print(f"  server tracebacks: {tracebacks} ({load()})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
