"""A columnar, in-memory replica of the web events, kept fresh from SQL (the source of truth).

Reading raw rows out of SQL for every query cannot answer at the speed of thought; Polars over compact
in-memory frames can. One module per concern:

- :mod:`~data_layer.replica.runs`: the events in memory, compacted runs sorted by page plus a tail of
  recent events, and the compaction between them (pure);
- :mod:`~data_layer.replica.catchup`: what is read from SQL to stay fresh (new rows by sequence number,
  rage flags changed since a mark, the data generation that deletions bump);
- :mod:`~data_layer.replica.files`: the runs as Arrow files, for fast restarts, and stale files;
- :mod:`~data_layer.replica.store`: :class:`ReplicaStore`, the store the API and the dashboard read.
"""

from data_layer.replica.store import ReplicaStore

__all__ = ["ReplicaStore"]
