#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a fixed time each and fails if any finds a crash.
#
#   scripts/fuzz.sh                  # every target, 30 s each
#   FUZZ_SECONDS=300 scripts/fuzz.sh # longer
#   scripts/fuzz.sh report payload   # only these targets
#
# Needs a nightly toolchain (`cargo +nightly`, for the sanitizer flags) and cargo-fuzz, which it
# installs when missing (`cargo install cargo-fuzz --locked`). Without nightly, or when
# cargo-fuzz cannot be installed, it prints "fuzz: SKIPPED (reason)" and exits 0: the caller
# decides whether that is acceptable.
#
# The committed seeds in fuzz/corpus/<target>/ are only read: each run writes what it
# discovers into a temporary corpus (removed afterwards), so CI never changes the tree.
# A crash is kept in fuzz/artifacts/<target>/ (git-ignored); the script prints its path, its
# bytes (base64) and the command that replays it.
#
# Exit status: 0 all targets ran clean (or SKIPPED), 1 a target crashed, timed out or ran out
# of memory, 2 the targets do not build.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FUZZ_DIR="$ROOT/fuzz"
SECONDS_EACH=${FUZZ_SECONDS:-30}
# libFuzzer's limits for one input: a hang or a blow-up is a finding, not a stuck CI job.
PER_INPUT_TIMEOUT=${FUZZ_INPUT_TIMEOUT:-10}
RSS_LIMIT_MB=${FUZZ_RSS_LIMIT_MB:-2048}

say() { printf 'fuzz: %s\n' "$*"; }
skip() {
    echo "================================================================"
    echo "fuzz: SKIPPED ($*)"
    echo "================================================================"
    exit 0
}

case "$SECONDS_EACH" in
    '' | *[!0-9]* | 0) echo "fuzz: FUZZ_SECONDS must be a positive whole number of seconds, got '$SECONDS_EACH'" >&2; exit 2 ;;
esac

cd "$ROOT" || exit 2
start_all=$(date +%s)

# --- toolchain ---------------------------------------------------------------------------
command -v cargo >/dev/null 2>&1 || skip "cargo is not installed"
if ! nightly_version=$(cargo +nightly --version 2>/dev/null); then
    skip "no nightly toolchain: 'cargo +nightly' does not work (rustup toolchain install nightly)"
fi
say "toolchain: $nightly_version"

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    say "cargo-fuzz is missing: cargo install cargo-fuzz --locked"
    if ! cargo install cargo-fuzz --locked; then
        skip "cargo-fuzz is not installed and 'cargo install cargo-fuzz --locked' failed"
    fi
    cargo +nightly fuzz --version >/dev/null 2>&1 || skip "cargo-fuzz was installed but 'cargo +nightly fuzz' does not run"
fi
say "$(cargo +nightly fuzz --version 2>/dev/null)"

# --- targets -----------------------------------------------------------------------------
mapfile -t all_targets < <(cargo +nightly fuzz list --fuzz-dir "$FUZZ_DIR" 2>/dev/null)
if [ "${#all_targets[@]}" -eq 0 ]; then
    echo "fuzz: no targets found in $FUZZ_DIR (cargo fuzz list printed nothing)" >&2
    exit 2
fi
if [ "$#" -gt 0 ]; then
    targets=("$@")
    for t in "${targets[@]}"; do
        if ! printf '%s\n' "${all_targets[@]}" | grep -qx -- "$t"; then
            echo "fuzz: unknown target '$t' (targets: ${all_targets[*]})" >&2
            exit 2
        fi
    done
else
    targets=("${all_targets[@]}")
fi
say "targets: ${targets[*]}; ${SECONDS_EACH} s each"

# --- build once (release + debug assertions + AddressSanitizer, cargo-fuzz's defaults) ----
start_build=$(date +%s)
say "building the targets (the first build takes a few minutes)"
build_log="$(mktemp "${TMPDIR:-/tmp}/edgegap-fuzz-build.XXXXXX")"
build_failed=0
if [ "$#" -eq 0 ]; then
    # No target named: one build of all of them.
    cargo +nightly fuzz build --fuzz-dir "$FUZZ_DIR" >"$build_log" 2>&1 || build_failed=1
else
    for t in "${targets[@]}"; do
        cargo +nightly fuzz build --fuzz-dir "$FUZZ_DIR" "$t" >>"$build_log" 2>&1 || build_failed=1
    done
fi
if [ "$build_failed" -ne 0 ]; then
    tail -n 80 "$build_log" >&2
    rm -f "$build_log"
    echo "fuzz: FAILED: the fuzz targets do not build (see above)" >&2
    exit 2
fi
rm -f "$build_log"
build_secs=$(( $(date +%s) - start_build ))
say "built in ${build_secs} s"

# --- run ---------------------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/edgegap-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

failed=()
summary=()
for t in "${targets[@]}"; do
    seeds="$FUZZ_DIR/corpus/$t"
    mkdir -p "$work/$t"
    seed_args=()
    if [ -d "$seeds" ]; then
        seed_args=("$seeds")
        n_seeds=$(find "$seeds" -type f | wc -l)
    else
        n_seeds=0
    fi
    log="$work/$t.log"
    say "---- $t: running ${SECONDS_EACH} s (seeds: ${n_seeds} in fuzz/corpus/$t, read-only) ----"
    t0=$(date +%s)
    # The temporary corpus comes first: libFuzzer adds new inputs only to the first directory.
    cargo +nightly fuzz run --fuzz-dir "$FUZZ_DIR" "$t" "$work/$t" "${seed_args[@]}" -- \
        -max_total_time="$SECONDS_EACH" -timeout="$PER_INPUT_TIMEOUT" \
        -rss_limit_mb="$RSS_LIMIT_MB" -print_final_stats=1 >"$log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - t0 ))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -n 1 | grep -Eo '[0-9]+')
    # libFuzzer's own count of the time spent fuzzing (the wall time also has cargo's check
    # that the target is up to date, and a rebuild when sources changed since the build).
    fuzzed=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
    if [ "$rc" -eq 0 ]; then
        result="ok"
        say "$t: ok, ${execs:-?} inputs in ${fuzzed:-?} s of fuzzing (${secs} s wall), coverage ${cov:-?} edges"
    else
        result="CRASH (exit $rc)"
        failed+=("$t")
        echo "fuzz: $t: FAILED (exit $rc) after ${secs} s; the end of its log:" >&2
        tail -n 80 "$log" >&2
        artifact=$(grep -Eo "Test unit written to [^ ]+" "$log" | tail -n 1 | sed 's/^Test unit written to //')
        if [ -n "$artifact" ] && [ -f "$artifact" ]; then
            echo "fuzz: $t: reproducer: $artifact ($(wc -c <"$artifact") bytes), base64:" >&2
            head -c 4096 "$artifact" | base64 >&2
            echo "fuzz: $t: replay: cargo +nightly fuzz run $t $artifact" >&2
            echo "fuzz: $t: shrink: cargo +nightly fuzz tmin $t $artifact" >&2
        fi
    fi
    summary+=("$(printf '%-12s %-18s fuzzed %4s s (wall %4s s) %12s inputs' "$t" "$result" "${fuzzed:-?}" "$secs" "${execs:-?}")")
done

total_secs=$(( $(date +%s) - start_all ))
echo "================================================================"
say "summary (${SECONDS_EACH} s per target; build ${build_secs} s; total ${total_secs} s)"
printf 'fuzz:   %s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
    say "FAILED: ${failed[*]} (reproducers in fuzz/artifacts/, see above)"
    echo "================================================================"
    exit 1
fi
say "${#targets[@]} passed, 0 failed"
echo "================================================================"
