#!/usr/bin/env bash
# Every platform the game-engine library ships to compiles clean: `cargo clippy -D warnings`
# of edgegap-probe-ffi (and so of the engine under it) for macOS, iOS, Android and Windows.
# Clippy needs only each target's standard library (rustup target add), no linker or SDK.
# Windows' unit tests are linted too (they hold Windows-only code); scripts/windows.sh runs
# them. Then the size of the stripped Linux x86_64 cdylib, built the way it ships.
# Called by scripts/test.sh; runs on its own too. Prints the time of each step.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

TARGETS=(
  aarch64-apple-darwin
  x86_64-apple-darwin
  aarch64-apple-ios
  aarch64-linux-android
  armv7-linux-androideabi
  x86_64-pc-windows-gnu
)
# Largest acceptable cdylib (the goal in ffi/README.md).
MAX_SO_BYTES=1500000

declare -a RESULTS=()
FAILED=0
record() { # record STATUS SECONDS WHAT
  RESULTS+=("$(printf '%-4s %4d s  %s' "$1" "$2" "$3")")
  [ "$1" = PASS ] || FAILED=1
}

installed=$(rustup target list --installed)
for target in "${TARGETS[@]}"; do
  printf '\n--> clippy -p edgegap-probe-ffi --target %s\n' "$target"
  start=$SECONDS
  if ! grep -qx "$target" <<<"$installed"; then
    rustup target add "$target"
  fi
  extra=()
  if [ "$target" = x86_64-pc-windows-gnu ]; then
    extra=(-p edgegap-ping --all-targets)
  fi
  if cargo clippy -q -p edgegap-probe-ffi "${extra[@]}" --target "$target" -- -D warnings; then
    record PASS $((SECONDS - start)) "clippy $target"
  else
    record FAIL $((SECONDS - start)) "clippy $target"
  fi
done

printf '\n--> size of the stripped Linux x86_64 cdylib (release-ffi)\n'
start=$SECONDS
cargo rustc -q -p edgegap-probe-ffi --profile release-ffi --crate-type cdylib --crate-type staticlib
so="$TARGET_DIR/release-ffi/libedgegap_probe.so"
bytes=$(stat -c %s "$so")
printf 'libedgegap_probe.so: %d bytes (%d KiB); goal <= %d\n' "$bytes" $((bytes / 1024)) \
  "$MAX_SO_BYTES"
if [ "$bytes" -le "$MAX_SO_BYTES" ]; then
  record PASS $((SECONDS - start)) "Linux cdylib $bytes bytes"
else
  record FAIL $((SECONDS - start)) "Linux cdylib $bytes bytes > $MAX_SO_BYTES"
fi

printf '\nPlatforms summary:\n'
printf '  %s\n' "${RESULTS[@]}"
if [ "$FAILED" -ne 0 ]; then
  echo "platform checks FAILED" >&2
  exit 1
fi
echo "every platform compiles clean"
