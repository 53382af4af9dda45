#!/usr/bin/env bash
# Side-by-side with fping: the same loopback targets, the same probe count and pacing, over ICMP.
# Runs each RUNS times (default 5, alternating) and prints the median wall time, CPU time (user +
# system, from wait4: exact to the microsecond) and peak memory of each, the CPU ratio to fping, and the median RTT each reports.
# `edgegap-probe` does the same work as fping (--no-early-decision: every probe of every target);
# `edgegap-default` is the default run, which stops targets that can no longer win.
#
#   benches/fping_compare.sh [TARGETS=256] [COUNT=10]        # RUNS=5 by default
#
# Needs root (raw ICMP) or net.ipv4.ping_group_range opened, and fping (apt-get install fping).
# Every target is a 127.0.x.y address: no packet leaves the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=${1:-256}
count=${2:-10}
runs=${RUNS:-5}
command -v fping >/dev/null || { echo "fping is not installed: apt-get install -y fping" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "GNU time is not installed: apt-get install -y time" >&2; exit 1; }

cargo build --release -q -p edgegap-probe-cli
bin=${CARGO_TARGET_DIR:-target}/release/edgegap-probe
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

addresses=()
for i in $(seq 1 "$targets"); do
  addresses+=("127.0.$((10 + i / 250)).$((1 + i % 250))")
done
printf '%s\n' "${addresses[@]}" >"$work/targets.txt"
python3 - "$work/targets.txt" >"$work/beacons.json" <<'PY'
import json, sys
hosts = [line.strip() for line in open(sys.argv[1]) if line.strip()]
print(json.dumps({"count": len(hosts), "locations": [
    {"host": h, "location": {"city": f"T{i:04d}", "country": "Loopback"}} for i, h in enumerate(hosts)]}))
PY

# One run of a command, its "wall cpu rss_kb" appended to $work/name.runs. The CPU time (user +
# system) is from wait4() on GNU time, which waits for the command: exact to the microsecond
# (GNU time's own %U and %S are in hundredths of a second, about a tenth of these runs), with
# GNU time's own few hundred microseconds in both columns alike. The peak memory is GNU time's
# %M, the command's own.
cat >"$work/run.py" <<'PY'
import os, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
started = time.monotonic()
pid = os.fork()
if pid == 0:
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    os.dup2(os.open(out + ".out", flags, 0o644), 1)
    os.dup2(os.open(out + ".err", flags, 0o644), 2)
    os.execv("/usr/bin/time", ["time", "-f", "%M", "-o", out + ".rss", *cmd])
_, status, usage = os.wait4(pid, 0)
rss = open(out + ".rss").read().split()[-1]
print(f"{time.monotonic() - started:.4f} {usage.ru_utime + usage.ru_stime:.6f} {rss}")
PY
measure() { # name, command...: one run, its "wall cpu rss_kb" appended to $work/name.runs
  local name=$1; shift
  python3 "$work/run.py" "$work/$name" "$@" >>"$work/$name.runs"
}

echo "== $targets loopback targets x $count ICMP probes, 20 ms per-target interval, 1 ms global gap, median of $runs runs"
for _ in $(seq "$runs"); do
  measure fping fping -q -C "$count" -p 20 -i 1 -f "$work/targets.txt"
  measure edgegap-probe "$bin" probe --beacons-file "$work/beacons.json" --protocol icmp \
    --count "$count" --interval-ms 20 --no-early-decision --json
  measure edgegap-default "$bin" probe --beacons-file "$work/beacons.json" --protocol icmp \
    --count "$count" --interval-ms 20 --json
done
python3 - "$work" <<'PY'
import statistics, sys
work = sys.argv[1]
def runs(name):
    rows = [[float(v) for v in line.split()] for line in open(f"{work}/{name}.runs")]
    return [statistics.median(col) for col in zip(*rows)]
fping_cpu = runs("fping")[1]
for name in ["fping", "edgegap-probe", "edgegap-default"]:
    wall, cpu, rss = runs(name)
    ratio = f"   cpu/fping {cpu / fping_cpu:4.2f}" if fping_cpu > 0 else ""
    print(f"{name:<16} wall {wall:6.2f} s   cpu {cpu * 1000:6.1f} ms   peak {rss / 1024:6.1f} MB{ratio}")
PY
python3 - "$work" <<'PY'
import json, statistics, sys
work = sys.argv[1]
vals = []
for line in open(f"{work}/fping.err"):
    if ":" in line:
        vals += [float(v) for v in line.split(":", 1)[1].split() if v != "-"]
print(f"fping          median RTT {statistics.median(vals) * 1000:.0f} us over {len(vals)} replies" if vals else "fping: no replies")
try:
    report = json.load(open(f"{work}/edgegap-probe.out"))
    p50 = [loc["rtt_ms"]["p50"] for loc in report["locations"]]
    print(f"edgegap-probe  median of per-target p50 {statistics.median(p50) * 1000:.0f} us over {len(p50)} targets, "
          f"{len(report['unreachable'])} unreachable")
except Exception as exc:  # noqa: BLE001
    print("edgegap-probe: no report:", exc, open(f"{work}/edgegap-probe.err").read()[-500:])
PY
