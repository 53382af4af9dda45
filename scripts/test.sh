#!/usr/bin/env bash
# The one test command: formatting, lints, the Rust test suite, the C/C#/C++ FFI tests, the
# other platforms (clippy per target, Windows under wine) and a short fuzz run.
# Installs what the tests need when it is missing (Debian packages, as root).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# --- what the tests need -------------------------------------------------------------
need_pkgs=()
command -v gcc >/dev/null 2>&1 || need_pkgs+=(gcc)
command -v g++ >/dev/null 2>&1 || need_pkgs+=(g++)
command -v mcs >/dev/null 2>&1 || need_pkgs+=(mono-mcs)
command -v mono >/dev/null 2>&1 || need_pkgs+=(mono-runtime)
[ -e /usr/lib/mono/4.5/System.Net.Http.dll ] || need_pkgs+=(libmono-system-net-http4.0-cil)
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    step "installing ${need_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || true
    apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}"
  else
    echo "error: the FFI tests need these Debian packages: ${need_pkgs[*]}" >&2
    echo "       install them with: sudo apt-get install -y ${need_pkgs[*]}" >&2
    exit 1
  fi
fi
for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    step "installing rust component $component"
    rustup component add "$component"
  fi
done

# --- Rust ----------------------------------------------------------------------------
step "cargo fmt --all -- --check"
cargo fmt --all -- --check

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "dependencies: each declared one is used; rank and core pull no network stack"
scripts/check-deps.sh
for crate in edgegap-core edgegap-rank; do
  if cargo tree -p "$crate" -e normal --prefix none | grep -E '^(tokio|socket2|libc) '; then
    echo "error: $crate depends on a network stack (see above)" >&2
    exit 1
  fi
done

step "cargo test --workspace"
cargo test --workspace

# --- C ABI ---------------------------------------------------------------------------
if [ -x ffi/tests/run.sh ]; then
  step "FFI tests (C, C++, C#)"
  ffi/tests/run.sh
fi

# --- the other platforms ----------------------------------------------------------------
# Clippy for macOS, iOS, Android and Windows, and the Linux cdylib's size (scripts/platforms.sh);
# then Windows for real: the DLL and the C/C++ tests under wine (scripts/windows.sh installs
# mingw-w64 and wine when missing and fails, never skips, when it cannot).
step "other platforms: clippy per target, library size"
scripts/platforms.sh

step "Windows: edgegap_probe.dll and the C/C++ tests under wine"
scripts/windows.sh

# --- fuzzing ---------------------------------------------------------------------------
# A short run of every fuzz target (beacon lists, reports, probe replies, the C ABI's JSON)
# when a nightly toolchain is present; scripts/fuzz.sh says "fuzz: SKIPPED (...)" plainly
# otherwise, and fails on any crash.
step "fuzz (${FUZZ_SECONDS:-30} s per target)"
FUZZ_SECONDS=${FUZZ_SECONDS:-30} scripts/fuzz.sh

step "all tests passed"
