#!/usr/bin/env bash
# Regenerates the README's output of `locations --app`, `probe --deployable-for`, `storage
# endpoint list --fields`, `ticket`, `group` and `servers` against stand-ins on 127.0.0.1:
# the demo scenario's simulated beacons (127.0.0.11-20) and fake_services.py (a matchmaker,
# the Integration API and a server browser). Usage, from the repository root:
#   BIN=target/release/edgegap-probe crates/cli/tests/readme/run.sh
set -u
BIN=${BIN:-target/release/edgegap-probe}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
PORT=${PORT:-8731}

"$BIN" beacon --scenario crates/sim/scenarios/demo.toml --shape matchmaker > "$WORK/beacons.json" &
SIM=$!
sleep 1
python3 "$HERE/fake_services.py" "$PORT" "$WORK/beacons.json" &
FAKE=$!
trap 'kill "$SIM" "$FAKE" 2>/dev/null; rm -rf "$WORK"' EXIT
sleep 1

export EDGEGAP_MATCHMAKER_TOKEN=readme-mm-token
export EDGEGAP_API_TOKEN=readme-api-token
export EDGEGAP_SERVER_BROWSER_TOKEN=readme-sb-token
MM=http://127.0.0.1:$PORT/mm
API=http://127.0.0.1:$PORT/api
SB=http://127.0.0.1:$PORT/sb

show() {
    echo "\$ edgegap-probe $*"
    "$BIN" "$@" 2>&1
    echo "[exit $?]"
    echo
}

show locations --app my-game --version v1.2 --api-url "$API"
show probe --deployable-for my-game/v1.2 --matchmaker-url "$MM" --api-url "$API"
show storage endpoint list --fields name,bucket --api-url "$API"
show ticket --profile casual --poll-interval-ms 200 --matchmaker-url "$MM"
show group create --profile casual --matchmaker-url "$MM"
show group join g-7f3a --profile casual --matchmaker-url "$MM"
show group ready g-7f3a m-2 --matchmaker-url "$MM"
show group status g-7f3a --matchmaker-url "$MM"
show servers list --probe --matchmaker-url "$MM" --server-browser-url "$SB"
show servers reserve --policy default --user alice --user bob --server-browser-url "$SB"
