#!/usr/bin/env bash
# Latency a person feels: the real server (release binary, `revoke-role-bot serve`) against moto with
# every IAM/STS call delayed 150 ms and every DynamoDB call 10 ms, and a fake Slack that records
# when each call arrives. Prints p50/p90/max of command → card and approving click → verified
# policy over ROUNDS rounds, and the IAM calls on each path (bench/latency.py).
#   bash bench/latency.sh          (ROUNDS, WARMUP, IAM_DELAY_MS, DDB_DELAY_MS, THINK_MS override;
#                                   BIN=path/to/revoke-role-bot skips the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
if ! "$VENV/bin/python" -c "import moto, werkzeug, boto3" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'moto[server]>=5.2,<6'
fi
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet --bin revoke-role-bot
  BIN=${CARGO_TARGET_DIR:-target}/release/revoke-role-bot
fi
mkdir -p target/bench
PORT=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$VENV/bin/python" scripts/moto_server.py "$PORT" >target/bench/latency-moto.log 2>&1 &
MOTO_PID=$!
trap 'kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/_test/calls', timeout=1)" 2>/dev/null && break
  kill -0 "$MOTO_PID" 2>/dev/null || { echo "moto_server did not start:"; cat target/bench/latency-moto.log; exit 1; }
  sleep 0.1
done
"$VENV/bin/python" bench/latency.py --bin "$BIN" --moto-port "$PORT" --out target/bench | tee target/bench/latency.txt
