#!/usr/bin/env bash
# Latency a person feels: the real server (release binary, `revoke-role-bot serve`) against the
# emulators (scripts/emulators.sh: moto for IAM/STS, DynamoDB Local for DynamoDB) with every IAM/STS
# call delayed 150 ms and every DynamoDB call 10 ms, and a fake Slack that records when each call
# arrives. Prints p50/p90/max of command → card and approving click → verified policy over ROUNDS
# rounds, and the calls on each path with how many ran one after the other (bench/latency.py).
#   bash bench/latency.sh   (ROUNDS, WARMUP, IAM_DELAY_MS, DDB_DELAY_MS, THINK_MS, SLACK_DELAY_MS
#                            override; BIN=path/to/revoke-role-bot skips the release build;
#                            DDB=moto uses moto's DynamoDB instead of DynamoDB Local)
set -euo pipefail
cd "$(dirname "$0")/.."
EMULATOR_LOGS=target/bench
source scripts/emulators.sh
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet --bin revoke-role-bot
  BIN=${CARGO_TARGET_DIR:-target}/release/revoke-role-bot
fi
DDB_ARGS=(--ddb-port "$DDB_PORT")
[ "${DDB:-}" = moto ] && DDB_ARGS=()
"$MOTO_PYTHON" bench/latency.py --bin "$BIN" --moto-port "$MOTO_PORT" "${DDB_ARGS[@]}" --out target/bench |
  tee target/bench/latency.txt
