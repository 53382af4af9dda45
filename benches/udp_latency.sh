#!/usr/bin/env bash
# What the probe engine adds to a UDP round trip on loopback: the p50 the engine reports for
# 1,000 targets (3 probes each, 1 ms gap, one-thread runtime as in the CLI) against the p50 of a
# plain blocking UDP ping-pong at the same pace (the machine's floor), both against the same
# blocking echo thread on 127.0.0.1. Target: engine p50 <= floor p50 + 50 us.
#
#   benches/udp_latency.sh [TARGETS=1000] [COUNT=3]      # GAP_US=1000 by default
#
# Loopback only (127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p edgegap-ping --example udp_latency
"${CARGO_TARGET_DIR:-target}/release/examples/udp_latency" "${1:-1000}" "${2:-3}"
