#!/usr/bin/env bash
# How the probe scales with the number of beacons: 1k, 4k, 16k and 64k targets on loopback
# (127.1.0.1 and up), each silent, refused or answering, one probe per beacon, 20 µs between
# sends. Prints wall time, CPU time and peak RSS per size, so the slope is visible.
# Mode `deadline` (not in the default MODES): silent beacons probed with the CLI's defaults
# under `--deadline-ms ${DEADLINE_MS:-5000}`: the whole run, parse to output, must end within
# the deadline + 200 ms; the line says `ok` or `OVER` (the script exits 1 when one is over).
#
#   benches/scale.sh            # all sizes and modes
#   SIZES="1000 4000" MODES=answering benches/scale.sh
#   BIN=/tmp/edgegap-probe-before benches/scale.sh   # a given binary, no build (A/B runs)
#   ENGINE=1 benches/scale.sh   # the probe engine alone (crates/ping/examples/engine_scale.rs):
#                               # same targets and settings, no ranking, no report
#
# Loopback only: the peer is bound to 0.0.0.0 on one port and answers from the address each
# probe was sent to. Needs python3 and GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"1000 4000 16000 64000"}
MODES=${MODES:-"silent refused answering"}
DEADLINE_MS=${DEADLINE_MS:-5000}
over=0
PORT=${PORT:-47000}
if [ -z "${BIN:-}" ]; then
  if [ -n "${ENGINE:-}" ]; then
    cargo build --release -q -p edgegap-ping --example engine_scale
    BIN=${CARGO_TARGET_DIR:-target}/release/examples/engine_scale
  else
    cargo build --release -q -p edgegap-probe-cli
    BIN=${CARGO_TARGET_DIR:-target}/release/edgegap-probe
  fi
fi

TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "scale: needs GNU time (apt-get install time)" >&2; exit 1; }
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

list() { # N PORT -> beacon list on 127.1.0.1 ...
  python3 - "$1" "$2" <<'PY'
import json, sys
n, port = int(sys.argv[1]), int(sys.argv[2])
def ip(i):
    i += 1
    return f"127.{1 + i // 65536}.{(i // 256) % 256}.{i % 256}"
beacons = [{"host": ip(i), "udp_port": port,
            "location": {"city": f"City {i}", "country": "Loopback"}} for i in range(n)]
print(json.dumps({"count": n, "locations": beacons}))
PY
}

printf '%-10s %7s %9s %9s %10s %9s\n' mode beacons wall_s cpu_s peak_rss_mb rss_kb/b
for mode in $MODES; do
  peer=""
  case $mode in
    silent|answering|deadline)
      python3 benches/scale_peer.py "$([ "$mode" = answering ] && echo echo || echo silent)" "$PORT" > "$work/peer" &
      peer=$!
      for _ in $(seq 50); do grep -q ready "$work/peer" 2>/dev/null && break; sleep 0.1; done
      port=$PORT ;;
    refused) port=$((PORT + 1)) ;;   # nothing listens: ICMP port unreachable
  esac
  for n in $SIZES; do
    if [ -n "${ENGINE:-}" ]; then
      "$TIME" -f '%e %U %S %M' -o "$work/time" "$BIN" "$n" "$port" 2>/dev/null || true
    elif [ "$mode" = deadline ]; then
      list "$n" "$port" > "$work/list.json"
      "$TIME" -f '%e %U %S %M' -o "$work/time" \
        "$BIN" probe --beacons-file "$work/list.json" --deadline-ms "$DEADLINE_MS" --json \
          > "$work/out.json" 2>/dev/null || true
    else
      list "$n" "$port" > "$work/list.json"
      "$TIME" -f '%e %U %S %M' -o "$work/time" \
        "$BIN" probe --beacons-file "$work/list.json" --payload --count 1 --gap-us 20 \
          --timeout-ms 300 --deadline-ms 20000 > "$work/out.json" 2>/dev/null || true
    fi
    read -r wall user sys rss < <(tail -n 1 "$work/time")
    cpu=$(echo "$user + $sys" | bc)
    printf '%-10s %7d %9.2f %9.2f %10.1f %9.2f\n' "$mode" "$n" "$wall" "$cpu" \
      "$(echo "$rss / 1024" | bc -l)" "$(echo "$rss / $n" | bc -l)"
    if [ "$mode" = deadline ]; then
      limit=$(echo "($DEADLINE_MS + 200) / 1000" | bc -l)
      if [ "$(echo "$wall <= $limit" | bc)" = 1 ]; then verdict=ok; else verdict=OVER; over=1; fi
      printf '  --deadline-ms %d: whole run %.2f s, limit %.2f s: %s\n' "$DEADLINE_MS" "$wall" "$limit" "$verdict"
    fi
  done
  [ -n "$peer" ] && kill "$peer" 2>/dev/null || true
  wait 2>/dev/null || true
done
exit "$over"
