#!/usr/bin/env bash
# The full flow against moto: click-to-policy latency beside moto's own per-call latency, then the
# full-size load (10,000 signed slash commands and 1,000 approvals, audit verify, counts).
#   bash bench/flow.sh            (LOAD_COMMANDS / LOAD_APPROVALS / ROUNDS override the sizes)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
if ! "$VENV/bin/python" -c "import moto, werkzeug" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'moto[server]>=5.2,<6'
fi
mkdir -p target/bench
PORT=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$VENV/bin/python" scripts/moto_server.py "$PORT" >target/bench/moto.log 2>&1 &
MOTO_PID=$!
trap 'kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/_test/calls', timeout=1)" 2>/dev/null && break
  sleep 0.1
done
export MOTO_ENDPOINT="http://127.0.0.1:$PORT"
case $VENV in /*) MOTO_PYTHON=$VENV/bin/python ;; *) MOTO_PYTHON=$PWD/$VENV/bin/python ;; esac
export MOTO_PYTHON
"$VENV/bin/python" scripts/check_moto_transactions.py "$MOTO_ENDPOINT"

echo "== click to verified policy, against moto (${ROUNDS:-30} rounds)"
cargo run --release --quiet --example click_to_policy -- "${ROUNDS:-30}" | tee target/bench/click_to_policy.md

echo "== load: ${LOAD_COMMANDS:-10000} signed commands (${LOAD_REQUESTS:-1000} of them requests), ${LOAD_APPROVALS:-1000} approvals"
LOAD_COMMANDS=${LOAD_COMMANDS:-10000} LOAD_REQUESTS=${LOAD_REQUESTS:-1000} LOAD_APPROVALS=${LOAD_APPROVALS:-1000} \
  LOAD_WAIT_SECS=${LOAD_WAIT_SECS:-3600} \
  cargo test --release --test api load_many -- --nocapture 2>&1 | grep -E "^load:|test result|panicked|FAILED|timed out|assert" | tee target/bench/load.txt
