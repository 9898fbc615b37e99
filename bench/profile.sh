#!/usr/bin/env bash
# Where the fast paths spend their CPU:   bash bench/profile.sh [help] [unsigned]
#
# Starts the release build of examples/bench_server.rs (the bot's real router; TARGET=bare profiles
# examples/bare_ceiling.rs instead) on 127.0.0.1, loads it with the same signed `/revoke-role help` or unsigned
# request as bench/run.sh (wrk -t2 -c32), and samples the server with `perf record -g` (999 Hz, user and kernel)
# for the middle of the load. Writes per scenario target/bench/profile/TARGET.SCENARIO.perf.data and .txt: the
# top entries by self time (`perf report --no-children`), by symbol and by shared object. Does not build: run
# `cargo build --release --examples` (or bench/run.sh) first.
#
# Needs perf: Debian's package is `linux-perf` (apt-get install linux-perf), wrk as for bench/run.sh.
# Environment: DURATION (12, seconds of load; perf samples DURATION - 4 of them), TARGET (bot | bare), BIN (the
# server binary, e.g. a copy of an earlier build).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${DURATION:-12}
TARGET=${TARGET:-bot}
OUT=$ROOT/target/bench/profile
PY=${PYTHON:-python3}
BENCH_PY="$PY $ROOT/bench/bench.py"
SCENARIOS=("$@")
((${#SCENARIOS[@]})) || SCENARIOS=(help unsigned)

case $TARGET in
bot) BIN=${BIN:-$ROOT/target/release/examples/bench_server} ;;
bare) BIN=${BIN:-$ROOT/target/release/examples/bare_ceiling} ;;
*)
  echo "TARGET is bot or bare" >&2
  exit 2
  ;;
esac
for tool in perf wrk; do
  command -v "$tool" >/dev/null || {
    echo "$tool is not installed (perf: apt-get install linux-perf)" >&2
    exit 1
  }
done
[[ -x $BIN ]] || {
  echo "$BIN is missing: cargo build --release --examples" >&2
  exit 1
}

mkdir -p "$OUT"
SLACK_SIGNING_SECRET=$(openssl rand -hex 16)
export SLACK_SIGNING_SECRET
SERVER_PID=""
trap '[[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null || true' EXIT

port=$($BENCH_PY port)
"$BIN" "$port" >"$OUT/$TARGET.log" 2>&1 &
SERVER_PID=$!
URL=http://127.0.0.1:$port/slack/commands
for ((i = 0; i < 100; i++)); do
  [[ $(curl -s -o /dev/null -w '%{http_code}' -X POST --max-time 2 "$URL" || true) != 000 ]] && break
  sleep 0.1
done

for scenario in "${SCENARIOS[@]}"; do
  $BENCH_PY check "$scenario" "$URL" >/dev/null || {
    echo "$TARGET answered the $scenario request wrongly" >&2
    exit 1
  }
  lua=$OUT/$TARGET.$scenario.lua
  $BENCH_PY lua "$scenario" "$lua"
  data=$OUT/$TARGET.$scenario.perf.data
  read -r load _ </proc/loadavg
  wrk -t2 -c32 -d"${DURATION}s" -s "$lua" "$URL" >"$OUT/$TARGET.$scenario.wrk.txt" 2>&1 &
  wrk_pid=$!
  sleep 2
  perf record -F 999 -g -p "$SERVER_PID" -o "$data" -- sleep $((DURATION - 4)) >/dev/null 2>&1
  wait "$wrk_pid"
  {
    echo "# $TARGET, $scenario: $(date -u +%Y-%m-%dT%H:%M:%SZ), load average $load at the start"
    grep -E 'Requests/sec' "$OUT/$TARGET.$scenario.wrk.txt" || true
    echo "## by symbol (self time)"
    perf report -i "$data" --no-children -g none --sort symbol --stdio 2>/dev/null >"$data.sym" || true
    grep -E '^ +[0-9]' "$data.sym" | sed 's/ *$//' | head -40 || true
    echo "## by shared object"
    perf report -i "$data" --no-children -g none --sort dso --stdio 2>/dev/null >"$data.dso" || true
    grep -E '^ +[0-9]' "$data.dso" | sed 's/ *$//' | head -10 || true
  } >"$OUT/$TARGET.$scenario.txt"
  cat "$OUT/$TARGET.$scenario.txt"
done
