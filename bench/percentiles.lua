-- wrk reporter: p50/p95/p99 latency in microseconds and the request rate.
done = function(summary, latency, requests)
  for _, p in ipairs({50, 95, 99}) do
    io.write(string.format("P%d %d\n", p, latency:percentile(p)))
  end
  io.write(string.format("RPS %.1f\n", summary.requests / (summary.duration / 1e6)))
  io.write(string.format("ERRS %d\n", summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
