#!/usr/bin/env bash
# FFI tests: the C ABI driven from C (plain and AddressSanitizer), C++ (the header-only RAII
# wrapper) and C# (the Unity binding on mono), each running a real probe against beacon-sim
# beacons on loopback (ffi/tests/scenario.toml) plus the misuse cases.
# Called by scripts/test.sh after `cargo test --workspace`; runs on its own too.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
LIB_DIR="$TARGET_DIR/debug"
INCLUDE="$ROOT/ffi/include"
CPP_INCLUDE="$ROOT/ffi/bindings/unreal/Source/EdgegapProbe/Public"

step() { printf '\n--> %s\n' "$*"; }

for tool in gcc g++ mcs mono; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "error: $tool is needed (Debian: gcc g++ mono-mcs mono-runtime; scripts/test.sh installs them)" >&2
    exit 1
  fi
done
if [ ! -e /usr/lib/mono/4.5/System.Net.Http.dll ]; then
  echo "error: mono's System.Net.Http is needed (Debian: libmono-system-net-http4.0-cil; scripts/test.sh installs it)" >&2
  exit 1
fi

step "building libedgegap_probe (cdylib + staticlib) and beacon-sim"
cargo build -q -p edgegap-probe-ffi
cargo build -q -p edgegap-beacon-sim --bin beacon-sim

WORK="$(mktemp -d)"
SIM_PID=""
MM_PIDS=()
cleanup() {
  for pid in $SIM_PID "${MM_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

step "starting beacon-sim on ffi/tests/scenario.toml"
LIST="$WORK/beacons.json"
"$TARGET_DIR/debug/beacon-sim" ffi/tests/scenario.toml --list-out "$LIST" --ignore-stdin \
  >"$WORK/sim.log" 2>&1 &
SIM_PID=$!
for _ in $(seq 1 300); do
  [ -s "$LIST" ] && break
  if ! kill -0 "$SIM_PID" 2>/dev/null; then
    echo "error: beacon-sim exited early:" >&2
    cat "$WORK/sim.log" >&2
    exit 1
  fi
  sleep 0.1
done
if [ ! -s "$LIST" ]; then
  echo "error: beacon-sim wrote no beacon list within 30 s" >&2
  cat "$WORK/sim.log" >&2
  exit 1
fi

# A simulated matchmaker (127.0.0.1) for one flow test: its base URL goes into MM_URL. Each test
# gets its own, so the injected faults (one 429 with Retry-After: 1, then one 503 on the
# first ticket polls) meet that test's first ticket.
MM_TOKEN="ffi-flow-token-8d2e"
MM_CONFIG='{"token": "'"$MM_TOKEN"'", "faults": [
  {"method": "GET", "path_prefix": "tickets/", "status": 429, "retry_after": 1},
  {"method": "GET", "path_prefix": "tickets/", "status": 503}]}'
start_matchmaker() {
  local url_file="$WORK/mm-$1.url"
  "$TARGET_DIR/debug/beacon-sim" matchmaker --config "$MM_CONFIG" --url-out "$url_file" \
    --ignore-stdin >"$WORK/mm-$1.log" 2>&1 &
  MM_PIDS+=($!)
  for _ in $(seq 1 300); do
    [ -s "$url_file" ] && break
    sleep 0.1
  done
  if [ ! -s "$url_file" ]; then
    echo "error: beacon-sim matchmaker wrote no URL within 30 s" >&2
    cat "$WORK/mm-$1.log" >&2
    exit 1
  fi
  MM_URL="$(cat "$url_file")"
}

declare -a RESULTS=()
FAILED=0
run_test() {
  local name="$1"
  shift
  step "$name"
  if "$@"; then
    RESULTS+=("PASS  $name")
  else
    RESULTS+=("FAIL  $name")
    FAILED=1
  fi
}

# C against the shared library.
gcc -std=c11 -Wall -Wextra -Werror -I "$INCLUDE" ffi/tests/c/test_probe.c \
  -o "$WORK/test_c" -L "$LIB_DIR" -ledgegap_probe
run_test "C (cdylib)" env LD_LIBRARY_PATH="$LIB_DIR" "$WORK/test_c" "$LIST"

# C with AddressSanitizer, against the static library (so every Rust allocation and every
# buffer the library writes into is in the instrumented process). Leak detection stays on:
# the shared runtime and the registry live in statics and are still reachable at exit, which
# LeakSanitizer does not report.
gcc -std=c11 -Wall -Wextra -Werror -g -fsanitize=address -fno-omit-frame-pointer \
  -I "$INCLUDE" ffi/tests/c/test_probe.c -o "$WORK/test_c_asan" \
  "$LIB_DIR/libedgegap_probe.a" -lpthread -ldl -lm
run_test "C (staticlib, AddressSanitizer)" \
  env ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 "$WORK/test_c_asan" "$LIST"

# C driving the matchmaking flow (egp_flow_*) with its own HTTP/1.1 client against the
# simulated matchmaker: ticket through 429/503 to the assignment, cancel, 409, a party.
gcc -std=c11 -Wall -Wextra -Werror -I "$INCLUDE" ffi/tests/c/test_flow.c \
  -o "$WORK/test_flow" -L "$LIB_DIR" -ledgegap_probe
start_matchmaker c
run_test "C flow (cdylib)" env LD_LIBRARY_PATH="$LIB_DIR" "$WORK/test_flow" "$MM_URL" "$MM_TOKEN"
gcc -std=c11 -Wall -Wextra -Werror -g -fsanitize=address -fno-omit-frame-pointer \
  -I "$INCLUDE" ffi/tests/c/test_flow.c -o "$WORK/test_flow_asan" \
  "$LIB_DIR/libedgegap_probe.a" -lpthread -ldl -lm
start_matchmaker c-asan
run_test "C flow (staticlib, AddressSanitizer)" \
  env ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 "$WORK/test_flow_asan" "$MM_URL" "$MM_TOKEN"

# C from 8 threads for a few seconds: probes created, started, polled, cancelled and freed
# concurrently, callbacks that re-enter the library and free other probes and themselves, two
# callbacks freeing each other's probe; then a last probe must still finish. A watchdog in the
# test turns a deadlock into a failure. Against the cdylib, then under AddressSanitizer (which
# also catches a callback touching its user_data after egp_probe_free returned).
THREAD_SECONDS="${EGP_THREAD_TEST_SECONDS:-3}"
gcc -std=c11 -Wall -Wextra -Werror -pthread -I "$INCLUDE" ffi/tests/c/test_threads.c \
  -o "$WORK/test_threads" -L "$LIB_DIR" -ledgegap_probe
run_test "C threads (cdylib)" \
  env LD_LIBRARY_PATH="$LIB_DIR" "$WORK/test_threads" "$LIST" "$THREAD_SECONDS"
gcc -std=c11 -Wall -Wextra -Werror -pthread -g -fsanitize=address -fno-omit-frame-pointer \
  -I "$INCLUDE" ffi/tests/c/test_threads.c -o "$WORK/test_threads_asan" \
  "$LIB_DIR/libedgegap_probe.a" -lpthread -ldl -lm
run_test "C threads (staticlib, AddressSanitizer)" \
  env ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 "$WORK/test_threads_asan" "$LIST" \
  "$THREAD_SECONDS"

# C++ through the header-only RAII wrapper.
g++ -std=c++17 -Wall -Wextra -Werror -I "$INCLUDE" -I "$CPP_INCLUDE" ffi/tests/cpp/test_probe.cpp \
  -o "$WORK/test_cpp" -L "$LIB_DIR" -ledgegap_probe -pthread
run_test "C++ (header-only wrapper)" env LD_LIBRARY_PATH="$LIB_DIR" "$WORK/test_cpp" "$LIST"

# C# through the Unity binding's non-Unity files (the MonoBehaviour is #if UNITY_5_3_OR_NEWER).
mcs -nologo -warnaserror+ -r:System.Net.Http -out:"$WORK/ProbeTest.exe" \
  ffi/bindings/unity/Runtime/*.cs ffi/tests/csharp/ProbeTest.cs
run_test "C# (Unity binding on mono)" env LD_LIBRARY_PATH="$LIB_DIR" mono "$WORK/ProbeTest.exe" "$LIST"

# C# matchmaking: probe, then ticket, cancel and a party through HttpClientTransport against the
# simulated matchmaker.
mcs -nologo -warnaserror+ -r:System.Net.Http -out:"$WORK/MatchmakingTest.exe" \
  ffi/bindings/unity/Runtime/*.cs ffi/tests/csharp/MatchmakingTest.cs
start_matchmaker csharp
run_test "C# matchmaking (HttpClient transport on mono)" \
  env LD_LIBRARY_PATH="$LIB_DIR" mono "$WORK/MatchmakingTest.exe" "$LIST" "$MM_URL" "$MM_TOKEN"

printf '\nFFI test summary:\n'
printf '  %s\n' "${RESULTS[@]}"
if [ "$FAILED" -ne 0 ]; then
  echo "FFI tests FAILED" >&2
  exit 1
fi
echo "FFI tests passed"
