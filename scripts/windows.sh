#!/usr/bin/env bash
# Windows, tested: builds edgegap_probe.dll for x86_64-pc-windows-gnu the way it ships
# (release-ffi), cross-compiles the C, C threads and C++ FFI tests with mingw-w64, and runs
# them under wine against a Linux beacon-sim on loopback; also runs the edgegap-ping unit tests
# (which hold the Windows-only socket, timer and ICMP tests) under wine; and checks the DLL's
# size. Installs what it needs when missing (rustup target, Debian mingw-w64 and wine, as
# root). Called by scripts/test.sh; runs on its own too.
#
# Nothing here is ever skipped: a missing tool that cannot be installed is an error, so a run
# that did not test Windows never reports that it passed.
#
# wine 8 (Debian 12) lacks bcryptprimitives.dll!ProcessPrng, which Rust's standard library
# imports on Windows; ffi/tests/windows/process_prng_shim.c builds a TEST-ONLY stand-in that is
# copied beside the test programs and nowhere else (real Windows 10 and later has it).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
TARGET=x86_64-pc-windows-gnu
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
DLL_DIR="$TARGET_DIR/$TARGET/release-ffi"
INCLUDE="$ROOT/ffi/include"
CPP_INCLUDE="$ROOT/ffi/bindings/unreal/Source/EdgegapProbe/Public"
# Largest acceptable DLL (the goal in ffi/README.md).
MAX_DLL_BYTES=1500000

step() { printf '\n--> %s\n' "$*"; }
die() {
  printf '\nerror: %s\nWindows: NOT TESTED\n' "$*" >&2
  exit 1
}

declare -a TIMES=()
# timed NAME COMMAND...: runs the command, prints and records how long it took.
timed() {
  local name="$1"
  shift
  step "$name"
  local start=$SECONDS
  "$@"
  local took=$((SECONDS - start))
  TIMES+=("$(printf '%4d s  %s' "$took" "$name")")
  printf '    (%d s)\n' "$took"
}

# --- what it needs --------------------------------------------------------------------
install_tools() {
  if ! rustup target list --installed | grep -qx "$TARGET"; then
    rustup target add "$TARGET" || die "rustup target add $TARGET failed"
  fi
  local need=()
  command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || need+=(gcc-mingw-w64-x86-64)
  command -v x86_64-w64-mingw32-gcc-posix >/dev/null 2>&1 || need+=(gcc-mingw-w64-x86-64)
  command -v x86_64-w64-mingw32-g++-posix >/dev/null 2>&1 || need+=(g++-mingw-w64-x86-64)
  command -v wine >/dev/null 2>&1 || need+=(wine)
  [ -x /usr/lib/wine/wine64 ] || command -v wine64 >/dev/null 2>&1 || need+=(wine64)
  if [ "${#need[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "installing ${need[*]}"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq || true
      apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
        die "apt-get install ${need[*]} failed"
    else
      die "the Windows tests need these Debian packages: ${need[*]} (sudo apt-get install -y ${need[*]})"
    fi
  fi
  command -v wine >/dev/null 2>&1 || die "wine is still missing after the install"
  command -v x86_64-w64-mingw32-g++-posix >/dev/null 2>&1 ||
    die "x86_64-w64-mingw32-g++-posix is still missing after the install"
  wine --version
}
timed "tools: rustup target $TARGET, mingw-w64, wine" install_tools

# --- builds ---------------------------------------------------------------------------
# The shipping DLL: only the crate types that ship (see ffi/README.md, "Size").
timed "edgegap_probe.dll (release-ffi, $TARGET)" \
  cargo rustc -q -p edgegap-probe-ffi --target "$TARGET" --profile release-ffi \
  --crate-type cdylib --crate-type staticlib
[ -f "$DLL_DIR/edgegap_probe.dll" ] || die "no $DLL_DIR/edgegap_probe.dll"
[ -f "$DLL_DIR/libedgegap_probe.dll.a" ] || die "no import library libedgegap_probe.dll.a"

build_ping_tests() {
  PING_TESTS=$(cargo test -q -p edgegap-ping --lib --target "$TARGET" --no-run \
    --message-format=json | grep -o '"executable":"[^"]*"' | cut -d'"' -f4 | tail -n 1)
  [ -n "$PING_TESTS" ] && [ -f "$PING_TESTS" ] || die "edgegap-ping's test program was not built"
}
timed "edgegap-ping unit tests ($TARGET, debug)" build_ping_tests

timed "beacon-sim (Linux)" cargo build -q -p edgegap-beacon-sim --bin beacon-sim

WORK="$(mktemp -d)"
SIM_PID=""
export WINEPREFIX="$WORK/wineprefix"
cleanup() {
  if [ -n "$SIM_PID" ]; then
    kill "$SIM_PID" 2>/dev/null || true
    wait "$SIM_PID" 2>/dev/null || true
  fi
  # Only the wineserver of this run's own prefix.
  [ -d "$WINEPREFIX" ] && wineserver -k >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

BIN="$WORK/bin"
mkdir -p "$BIN"
build_c() {
  # TEST-ONLY ProcessPrng stand-in, beside the test programs (see the top of this file).
  x86_64-w64-mingw32-gcc -O2 -Wall -Wextra -Werror -shared -s \
    -o "$BIN/bcryptprimitives.dll" ffi/tests/windows/process_prng_shim.c -ladvapi32
  cp "$DLL_DIR/edgegap_probe.dll" "$BIN/"
  cp "$PING_TESTS" "$BIN/edgegap_ping_tests.exe"
  # The posix thread model (winpthreads) for C11 atomics with pthreads and for std::thread ids
  # in C++; -static keeps the mingw runtime inside the test programs.
  x86_64-w64-mingw32-gcc-posix -std=c11 -Wall -Wextra -Werror -I "$INCLUDE" \
    ffi/tests/c/test_probe.c -o "$BIN/test_probe.exe" "$DLL_DIR/libedgegap_probe.dll.a" \
    -static -pthread
  x86_64-w64-mingw32-gcc-posix -std=c11 -Wall -Wextra -Werror -I "$INCLUDE" \
    ffi/tests/c/test_threads.c -o "$BIN/test_threads.exe" "$DLL_DIR/libedgegap_probe.dll.a" \
    -static -pthread
  x86_64-w64-mingw32-g++-posix -std=c++17 -Wall -Wextra -Werror -I "$INCLUDE" -I "$CPP_INCLUDE" \
    ffi/tests/cpp/test_probe.cpp -o "$BIN/test_cpp.exe" "$DLL_DIR/libedgegap_probe.dll.a" \
    -static -pthread
}
timed "mingw: ProcessPrng shim (TEST-ONLY), C, C threads and C++ tests" build_c

# --- wine -----------------------------------------------------------------------------
# Quiet and headless: no debug channels, no display, no Mono/Gecko install prompts, a prefix
# of its own; our bcryptprimitives.dll (beside the programs) before any built-in one.
export WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml=;bcryptprimitives=n,b"
unset DISPLAY WAYLAND_DISPLAY
timed "wine prefix" wineboot --init

step "starting beacon-sim on ffi/tests/scenario.toml"
LIST="$WORK/beacons.json"
"$TARGET_DIR/debug/beacon-sim" ffi/tests/scenario.toml --list-out "$LIST" --ignore-stdin \
  >"$WORK/sim.log" 2>&1 &
SIM_PID=$!
for _ in $(seq 1 300); do
  [ -s "$LIST" ] && break
  if ! kill -0 "$SIM_PID" 2>/dev/null; then
    cat "$WORK/sim.log" >&2
    die "beacon-sim exited early"
  fi
  sleep 0.1
done
[ -s "$LIST" ] || die "beacon-sim wrote no beacon list within 30 s"
WIN_LIST="Z:$LIST"

declare -a RESULTS=()
FAILED=0
# run_wine NAME PASS_PATTERN PROGRAM ARGS...: passes when the program exits 0 AND prints the
# line that says its tests passed (so a program that could not even load fails).
run_wine() {
  local name="$1" pattern="$2"
  shift 2
  local log="$WORK/$name.log" start=$SECONDS rc=0
  step "wine: $name"
  (cd "$BIN" && wine "$@") >"$log.raw" 2>&1 || rc=$?
  tr -d '\r' <"$log.raw" >"$log" # the console's CRLF line ends
  tail -n 5 "$log"
  local took=$((SECONDS - start))
  TIMES+=("$(printf '%4d s  wine: %s' "$took" "$name")")
  if [ "$rc" -eq 0 ] && grep -Eq "$pattern" "$log"; then
    RESULTS+=("PASS  $name")
  else
    echo "exit status $rc; full output:" >&2
    cat "$log" >&2
    RESULTS+=("FAIL  $name")
    FAILED=1
  fi
}
run_wine "edgegap-ping unit tests" '^test result: ok\. [0-9]+ passed; 0 failed' \
  edgegap_ping_tests.exe
run_wine "C (DLL)" '^C: [0-9]+ passed, 0 failed$' test_probe.exe "$WIN_LIST"
run_wine "C threads (DLL)" '^C threads: [0-9]+ passed, 0 failed$' \
  test_threads.exe "$WIN_LIST" "${EGP_THREAD_TEST_SECONDS:-3}"
run_wine "C++ (header-only wrapper)" '^C\+\+: [0-9]+ passed, 0 failed$' \
  test_cpp.exe "$WIN_LIST"

# --- size -----------------------------------------------------------------------------
step "size"
DLL_BYTES=$(stat -c %s "$DLL_DIR/edgegap_probe.dll")
printf 'edgegap_probe.dll: %d bytes (%d KiB); goal <= %d\n' "$DLL_BYTES" $((DLL_BYTES / 1024)) \
  "$MAX_DLL_BYTES"
if [ "$DLL_BYTES" -le "$MAX_DLL_BYTES" ]; then
  RESULTS+=("PASS  DLL size $DLL_BYTES bytes")
else
  RESULTS+=("FAIL  DLL size $DLL_BYTES bytes > $MAX_DLL_BYTES")
  FAILED=1
fi

printf '\nWindows step times:\n'
printf '  %s\n' "${TIMES[@]}"
printf '\nWindows (%s under %s) summary:\n' "$TARGET" "$(wine --version)"
printf '  %s\n' "${RESULTS[@]}"
if [ "$FAILED" -ne 0 ]; then
  echo "Windows tests FAILED" >&2
  exit 1
fi
echo "Windows tests passed"
