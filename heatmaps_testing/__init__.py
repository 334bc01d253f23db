"""Running the product as real processes on loopback, and driving it: shared by the tests and the
benchmarks, shipped with neither the product nor its wheel.

- :mod:`~heatmaps_testing.loopback`: free ports, waiting until a server answers, the API as a process;
- :mod:`~heatmaps_testing.browser`: the Chromium that browser tests and benchmarks drive, and its flags;
- :mod:`~heatmaps_testing.load`: ingest and query clients against live servers, and the exactly-once check;
- :mod:`~heatmaps_testing.dataset`: deterministic events shaped like the benchmark data set.
"""
