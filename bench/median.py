"""Reads wrk RESULT lines from stdin and prints the median run of one workload."""
import sys

name, per, peak_kb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3] or 0)
rows = [dict(kv.split("=") for kv in line.split()[1:]) for line in sys.stdin if line.strip()]
rows.sort(key=lambda r: float(r["rps"]))
m = rows[len(rows) // 2]
rps = float(m["rps"])
entries = f"  entries/s {rps * per:>9,.0f}" if "append" in name else ""
bad = sum(int(r["non2xx"]) + int(r["errors"]) for r in rows)
runs = ", ".join(str(round(float(r["rps"]))) for r in rows)
p50, p99 = float(m["p50_ms"]), float(m["p99_ms"])
print(
    f"{name:<20} req/s {rps:>9,.0f}{entries}  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms"
    f"  (runs {runs}; non-2xx/errors {bad}; peak RSS {peak_kb // 1024} MiB)"
)
