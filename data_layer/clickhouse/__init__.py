"""The scale-out event store (CONTRACT 16): the events in a ClickHouse cluster, SQL keeping the rest.

One module per concern:

- :mod:`~data_layer.clickhouse.target`: the ``HEATMAPS_CLICKHOUSE_URL`` setting parsed (password kept
  secret), clients, and driver errors turned into the product's 503;
- :mod:`~data_layer.clickhouse.tables`: the shards of a cluster and the tables on each (``init``);
- :mod:`~data_layer.clickhouse.shipper`: events moved from SQL by sequence number, exactly once;
- :mod:`~data_layer.clickhouse.erasure`: purge and forget reaching every shard;
- :mod:`~data_layer.clickhouse.store`: :class:`ClickHouseStore`, the ``EventStore`` reading the cluster.
"""
