-- wrk's figures for the benchmark: written to the file named by HEATMAPS_WRK_OUT when the run is over.
-- Alone it is the script of a plain GET run (wrk then sends one fixed request as fast as it can).

function write_report(summary, latency)
  local out = assert(io.open(os.getenv("HEATMAPS_WRK_OUT"), "w"))
  local errors = summary.errors
  out:write(string.format("summary %d %d %d %d %d %d %d\n", summary.duration, summary.requests,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout))
  out:write(string.format("latency_us %d %d %d %d\n", latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
  return out
end

function done(summary, latency, requests)
  write_report(summary, latency):close()
end
