"""Replica files of an older data generation still hold deleted rows: a replica that finds them for its
own database deletes them when it rebuilds, also where retention did not look (another replica dir)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from data_layer.ingest import ingest_web_batch
from data_layer.replica import ReplicaStore, runs
from data_layer.retention import forget_visitor
from heatmaps_testing.dataset import generate

END = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def loaded(engine, settings, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """1,500 events; the replica compacts (and writes its file) from 700 new events on."""
    monkeypatch.setattr(runs, "COMPACT_MIN_TAIL", 700)
    monkeypatch.setattr(runs, "COMPACT_TAIL_SHARE", 0.0)
    events = list(generate(events=1500, days=5, seed=11, end=END))
    for start in range(0, len(events), 500):
        ingest_web_batch(engine, settings, events[start : start + 500])
    return events


def replica_files(directory) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def test_rebuild_deletes_the_files_of_an_older_generation(
    engine, loaded, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "other-replica"  # not settings.replica_dir: retention does not clean it
    ReplicaStore(engine, directory).refresh()
    assert len(replica_files(directory)) == 2, "the compacted base and its metadata"

    forget_visitor(engine, loaded[0]["visitorId"])  # a new generation
    monkeypatch.setattr(runs, "COMPACT_MIN_TAIL", 10**9)  # the rebuild writes no new file
    rebuilt = ReplicaStore(engine, directory)
    rebuilt.refresh()
    assert replica_files(directory) == [], "the stale generation's files are gone"
    assert rebuilt.last_seq() > 0


def test_a_newer_generation_file_is_kept(engine, loaded, tmp_path) -> None:
    """A reader that has not yet seen the newest generation must not delete the newer file."""
    directory = tmp_path / "other-replica"
    store = ReplicaStore(engine, directory)
    store.refresh()
    assert store.files is not None
    files = replica_files(directory)
    meta = next(directory.glob("*.json"))
    generation = json.loads(meta.read_text())["generation"]
    assert store.files.load(str(int(generation) - 1)) is None
    assert replica_files(directory) == files
