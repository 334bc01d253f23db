"""The replica on disk, so a restarted reader loads its runs instead of copying every row from SQL.

Every run is written once as an Arrow IPC file (zstd) and a small JSON listing names the runs with the
mark their rage flags are current at, for one data generation. Files are replaced atomically, so several
reader processes can share the directory. Files are only a cache: SQL stays the source of truth, and
damaged, foreign or missing files just mean a rebuild. Files of an older generation still hold deleted
rows (purge, forget), so a reader that finds them removes them.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import URL

from data_layer.deletions import REPLICA_FILE_PREFIX
from data_layer.replica.runs import Run, Snapshot, empty

FORMAT_VERSION = 5
_LOAD_ATTEMPTS = 3


@dataclass(frozen=True)
class RunFiles:
    """The files of one database's replica in ``directory``, all named ``<stem>...``."""

    directory: Path
    stem: str

    @classmethod
    def of(cls, directory: Path, database: URL) -> RunFiles:
        """The files for ``database``: several databases (tests, benchmarks) may share a directory."""
        digest = hashlib.sha256(database.render_as_string(hide_password=True).encode()).hexdigest()
        return cls(directory, f"{REPLICA_FILE_PREFIX}{digest[:16]}")

    @property
    def listing(self) -> Path:
        return self.directory / f"{self.stem}.json"

    def _run_paths(self) -> list[Path]:
        return list(self.directory.glob(f"{self.stem}-*.arrow"))

    def discard(self) -> None:
        """Remove every file of this replica."""
        for path in self._run_paths():
            path.unlink(missing_ok=True)
        self.listing.unlink(missing_ok=True)

    def load(self, generation: str) -> Snapshot | None:
        """The runs written for ``generation``; None (rebuild from SQL) when absent, foreign or damaged.

        A writer in another process may replace the files while they are read: the listing is read
        again a few times before giving up. Files of an older generation are removed.
        """
        for _ in range(_LOAD_ATTEMPTS):
            try:
                meta = json.loads(self.listing.read_text())
            except (OSError, ValueError):
                return None
            if meta.get("format") != FORMAT_VERSION or meta.get("generation") != generation:
                if str(meta.get("generation", "")).isdigit() and int(meta["generation"]) < int(generation):
                    self.discard()
                return None
            try:
                # Reading and decompressing release the GIL: one thread per core reads the runs.
                with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
                    runs = tuple(pool.map(self._read_run, meta["runs"]))
            except FileNotFoundError:
                continue  # replaced by another process since the listing was read
            except (OSError, ValueError, KeyError, TypeError, pl.exceptions.PolarsError):
                return None
            last = int(meta["last_seq"])
            mark = min((run.saved_mark for run in runs), default=last)
            return Snapshot(runs, empty(), last, generation, flags_mark=mark)
        return None

    def _read_run(self, entry: dict[str, Any]) -> Run:
        frame = pl.read_ipc(self.directory / entry["file"])
        if frame.schema != empty().schema:
            raise ValueError("a replica file of another layout")
        return Run.indexed(frame, entry["file"], int(entry["mark"]))

    def save(self, snap: Snapshot) -> Snapshot:
        """``snap`` with every run on disk and listed; files no longer listed are removed.

        Only runs without a file (new since the last save) are written: a run's flags may have changed
        since, which its mark tells a reader loading it.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        runs = []
        for run in snap.runs:
            if run.file is None or not (self.directory / run.file).exists():
                name = f"{self.stem}-{uuid.uuid4().hex[:12]}.arrow"
                _write_atomically(
                    self.directory / name,
                    lambda temp, frame=run.frame: frame.write_ipc(temp, compression="zstd"),
                )
                run = replace(run, file=name, saved_mark=snap.last_seq)
            runs.append(run)
        meta = {
            "format": FORMAT_VERSION,
            "generation": snap.generation,
            "last_seq": snap.last_seq,
            "runs": [{"file": run.file, "mark": run.saved_mark} for run in runs],
        }
        _write_atomically(self.listing, lambda temp: temp.write_text(json.dumps(meta)))
        listed = {run.file for run in runs}
        for path in self._run_paths():
            if path.name not in listed:
                path.unlink(missing_ok=True)
        return replace(snap, runs=tuple(runs))


def _write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Write ``path`` through ``write(temporary path)``, so a reader sees the old file or the new one."""
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as handle:
        temp = Path(handle.name)
    try:
        write(temp)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
