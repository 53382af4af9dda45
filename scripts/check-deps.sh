#!/usr/bin/env bash
# Fails when a crate of the workspace declares a dependency its code never names (the check
# cargo-machete makes, without installing it): every `[dependencies]`, `[dev-dependencies]` and
# `[build-dependencies]` entry must appear as `name::` or `use name` (dashes as underscores) in
# that crate's sources (src/, tests/, benches/, examples/, build.rs), or be listed below with
# the reason it is needed without being named.
set -euo pipefail
cd "$(dirname "$0")/.."

# crate-dir:dependency pairs that are used without being named in the code.
allowed=(
  # the facade package is imported as `probe` by the FFI (`package = "edgegap-probe"`).
  "ffi:probe"
)

status=0
for manifest in Cargo.toml crates/*/Cargo.toml ffi/Cargo.toml; do
  dir=$(dirname "$manifest")
  deps=$(awk '
    /^\[(dev-|build-)?dependencies\]/ { on = 1; next }
    /^\[/ { on = 0 }
    on && /^[A-Za-z0-9_-]+[[:space:]]*(=|\.)/ { sub(/[[:space:]]*[=.].*/, ""); print }
  ' "$manifest")
  sources=()
  for sub in src tests benches examples build.rs; do
    [ -e "$dir/$sub" ] && sources+=("$dir/$sub")
  done
  # The root package's sources must not include the member crates below it.
  for dep in $deps; do
    name=${dep//-/_}
    skip=0
    for a in "${allowed[@]}"; do [ "$a" = "$dir:$dep" ] && skip=1; done
    [ "$skip" = 1 ] && continue
    if ! grep -rqE "(\b${name}::|use ${name}\b|extern crate ${name}\b)" "${sources[@]}" 2>/dev/null; then
      echo "unused dependency: $dep in $manifest" >&2
      status=1
    fi
  done
done
if [ "$status" = 0 ]; then
  echo "every declared dependency is used"
fi
exit "$status"
